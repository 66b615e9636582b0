//! Who this instance is to others: the URLs of its actor, inbox and collections, and
//! its key pair (made on first start, kept in the database so every replica signs
//! with the same key and peers' caches stay valid).

use skillreel_config::Settings;
use sqlx::PgPool;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::keys::PrivateKey;
use crate::signature::Signer;

/// This instance's identity.
#[derive(Debug)]
pub struct Instance {
    /// `scheme://host[:port]`, no trailing slash.
    origin: String,
    /// `host[:port]`, as other instances name it.
    host: String,
    key: OnceCell<InstanceKey>,
}

/// The key the instance signs with, and its public half as actors publish it.
#[derive(Debug, Clone)]
pub struct InstanceKey {
    pub signer: Signer,
    pub public_key_pem: String,
}

/// Why the instance's key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the instance key cannot be made or read: {0}")]
    Unusable(#[from] crate::keys::KeyError),
    /// The blocking task that makes the key did not finish.
    #[error("the instance key cannot be made: {0}")]
    Key(String),
}

impl Instance {
    /// The instance at `origin` (`https://learn.example.com`).
    pub fn new(origin: &str) -> Result<Self, String> {
        let url = url::Url::parse(origin.trim()).map_err(|e| format!("federation URL `{origin}`: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("federation URL `{origin}` must be http(s) with a host"));
        }
        let host = crate::signature::host_header(&url);
        Ok(Self {
            origin: format!("{}://{host}", url.scheme()),
            host,
            key: OnceCell::new(),
        })
    }

    /// The instance as configured: `federation.public_url`, else `server.public_url`,
    /// else the address the server is bound to (`port` being the one it got).
    pub fn resolve(settings: &Settings, port: u16) -> Result<Self, String> {
        match settings
            .federation
            .public_url
            .as_ref()
            .or(settings.server.public_url.as_ref())
        {
            Some(url) => Self::new(url),
            None => {
                let host = match settings.server.host.as_str() {
                    "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
                    other => other,
                };
                Self::new(&format!("http://{host}:{port}"))
            }
        }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn actor_id(&self) -> String {
        format!("{}/federation/actor", self.origin)
    }

    pub fn key_id(&self) -> String {
        format!("{}#main-key", self.actor_id())
    }

    /// The shared inbox, which every actor of this instance uses.
    pub fn inbox(&self) -> String {
        format!("{}/federation/inbox", self.origin)
    }

    pub fn collection(&self, name: &str) -> String {
        format!("{}/{name}", self.actor_id())
    }

    pub fn person_id(&self, user: Uuid) -> String {
        format!("{}/federation/users/{user}", self.origin)
    }

    /// A video as partners know it.
    pub fn video_id(&self, video: Uuid) -> String {
        format!("{}/federation/videos/{video}", self.origin)
    }

    /// A comment as partners know it.
    pub fn comment_id(&self, comment: Uuid) -> String {
        format!("{}/federation/comments/{comment}", self.origin)
    }

    /// A journey as partners know it (a `Playlist`).
    pub fn journey_id(&self, journey: Uuid) -> String {
        format!("{}/federation/journeys/{journey}", self.origin)
    }

    /// A new id for an activity this instance sends.
    pub fn new_activity_id(&self) -> String {
        format!("{}/federation/activities/{}", self.origin, Uuid::now_v7())
    }

    /// Whether `url` names this instance.
    pub fn is_self(&self, url: &url::Url) -> bool {
        crate::signature::host_header(url).eq_ignore_ascii_case(&self.host)
    }

    /// The key pair, loaded (or made, by whichever replica gets there first) once.
    pub async fn key(&self, pool: &PgPool) -> Result<&InstanceKey, KeyError> {
        self.key.get_or_try_init(|| load_or_create(pool, self.key_id())).await
    }
}

async fn load_or_create(pool: &PgPool, key_id: String) -> Result<InstanceKey, KeyError> {
    if let Some(pem) = sqlx::query_scalar!("select private_key_pem from federation_key")
        .fetch_optional(pool)
        .await?
    {
        return read(&pem, key_id);
    }
    // RSA key generation takes a while; keep it off the async workers.
    let pem = tokio::task::spawn_blocking(|| {
        let key = PrivateKey::generate()?;
        Ok::<_, crate::keys::KeyError>((key.to_pem()?, key.public_key().to_pem()?))
    })
    .await
    .map_err(|e| KeyError::Key(e.to_string()))??;
    // Two replicas starting together: the first insert wins and both read it back.
    sqlx::query!(
        "insert into federation_key (private_key_pem, public_key_pem) values ($1, $2) on conflict do nothing",
        pem.0,
        pem.1,
    )
    .execute(pool)
    .await?;
    let stored = sqlx::query_scalar!("select private_key_pem from federation_key")
        .fetch_one(pool)
        .await?;
    read(&stored, key_id)
}

fn read(private_pem: &str, key_id: String) -> Result<InstanceKey, KeyError> {
    let key = PrivateKey::from_pem(private_pem)?;
    let public_key_pem = key.public_key().to_pem()?;
    Ok(InstanceKey {
        signer: Signer::new(key, key_id),
        public_key_pem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_built_from_the_origin_without_doubling_slashes() {
        let instance = Instance::new("https://learn.example.com/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(instance.actor_id(), "https://learn.example.com/federation/actor");
        assert_eq!(instance.key_id(), "https://learn.example.com/federation/actor#main-key");
        assert_eq!(instance.host(), "learn.example.com");
        let local = Instance::new("http://127.0.0.1:8081").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(local.host(), "127.0.0.1:8081");
        assert_eq!(local.inbox(), "http://127.0.0.1:8081/federation/inbox");
        assert!(Instance::new("ftp://x").is_err());
        assert!(Instance::new("not a url").is_err());
    }
}
