//! Fetching from other instances: actors and their keys (cached in
//! `federation_actor`), and finding an instance's actor from its URL. Every fetch is
//! signed by the instance actor (authorized fetch), goes through the egress policy,
//! follows no redirect and reads at most [`MAX_DOCUMENT`] bytes.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use url::Url;

use crate::FederationContext;
use crate::objects::{ACCEPT, RemoteActor};
use crate::signature::host_header;
use crate::store::{self, Actor};

/// How long a fetch (or a delivery) may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest document read from another instance.
const MAX_DOCUMENT: usize = 1024 * 1024;

/// Why something could not be fetched, in words an admin (or a peer) can act on.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Parses an http(s) URL from another instance.
pub fn parse_url(s: &str) -> Result<Url, FetchError> {
    let url = Url::parse(s).map_err(|_| FetchError::Invalid(format!("`{}` is not a URL", short(s))))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(FetchError::Invalid(format!("`{}` is not an http(s) URL", short(s))));
    }
    Ok(url)
}

/// The `host[:port]` of an http(s) URL.
pub fn host_of(s: &str) -> Option<String> {
    parse_url(s).ok().map(|url| host_header(&url))
}

fn short(s: &str) -> String {
    s.chars().take(100).collect()
}

/// A signed GET of an ActivityPub (or JRD) document.
pub async fn get_json(ctx: &FederationContext, url: &Url, accept: &str) -> Result<Value, FetchError> {
    let body = get_body(ctx, url, accept, true, MAX_DOCUMENT).await?;
    serde_json::from_slice(&body).map_err(|_| FetchError::Invalid(format!("{} did not send JSON", host_header(url))))
}

/// The body of a GET of `url` through the egress policy (signed when `signed`), at
/// most `limit` bytes.
pub async fn get_body(
    ctx: &FederationContext,
    url: &Url,
    accept: &str,
    signed: bool,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    if ctx.egress.refuses_literal(url.as_str()) {
        return Err(FetchError::Refused(format!(
            "{} is a private address; an operator can allow it in federation.allowed_private_hosts",
            host_header(url)
        )));
    }
    let mut request = ctx.client.get(url.clone()).header("accept", accept);
    if signed {
        let key = ctx
            .instance
            .key(&ctx.pool)
            .await
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        let headers = key
            .signer
            .headers("GET", url, None, SystemTime::now())
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        for (name, value) in headers {
            request = request.header(name, value);
        }
    }
    let mut response = request.send().await.map_err(|e| unreachable(url, &e))?;
    if !response.status().is_success() {
        return Err(FetchError::Unreachable(format!(
            "{} answered {}",
            host_header(url),
            response.status()
        )));
    }
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(FetchError::Invalid(format!(
            "{} would send more than {limit} bytes",
            host_header(url)
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(url, &e))? {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::Invalid(format!(
                "{} sent more than {limit} bytes",
                host_header(url)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn unreachable(url: &Url, e: &reqwest::Error) -> FetchError {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(cause) = source {
        if cause.is::<skillreel_web::egress::AddressNotAllowed>() {
            return FetchError::Refused(format!("{}: {cause}", host_header(url)));
        }
        source = cause.source();
    }
    tracing::info!(error = %e, url = %url, "federation fetch failed");
    FetchError::Unreachable(if e.is_timeout() {
        format!("{} did not answer within {} s", host_header(url), TIMEOUT.as_secs())
    } else {
        format!("could not reach {}", host_header(url))
    })
}

/// Fetches an actor, checks that it is what it says (its id is the one asked for, its
/// key and inbox on its own host), and caches it.
pub async fn fetch_actor(ctx: &FederationContext, id: &str) -> Result<Actor, FetchError> {
    let url = parse_url(id)?;
    let document = get_json(ctx, &url, ACCEPT).await?;
    keep_actor(ctx, &document, &url).await
}

/// Checks the actor document fetched from `url` and caches it.
async fn keep_actor(ctx: &FederationContext, document: &Value, url: &Url) -> Result<Actor, FetchError> {
    let actor = actor_from(document, url)?;
    let mut conn = ctx.pool.acquire().await?;
    store::save_actor(&mut conn, &actor).await?;
    Ok(actor)
}

/// Reads and checks an actor document fetched from `url`.
fn actor_from(document: &Value, url: &Url) -> Result<Actor, FetchError> {
    let remote: RemoteActor = serde_json::from_value(document.clone())
        .map_err(|e| FetchError::Invalid(format!("{} is not an actor: {e}", short(url.as_str()))))?;
    let host = host_header(url);
    let same_host = |s: &str| host_of(s).is_some_and(|h| h.eq_ignore_ascii_case(&host));
    if remote.id != url.as_str()
        && !(same_host(&remote.id) && remote.id.trim_end_matches('/') == url.as_str().trim_end_matches('/'))
    {
        return Err(FetchError::Invalid(format!(
            "{} names itself {}",
            short(url.as_str()),
            short(&remote.id)
        )));
    }
    let key = remote
        .public_key
        .ok_or_else(|| FetchError::Invalid(format!("{} has no public key", short(&remote.id))))?;
    if key.owner != remote.id || !same_host(&key.id) {
        return Err(FetchError::Invalid(format!(
            "the key of {} belongs elsewhere",
            short(&remote.id)
        )));
    }
    crate::keys::PublicKey::from_pem(&key.public_key_pem)
        .map_err(|e| FetchError::Invalid(format!("the key of {}: {e}", short(&remote.id))))?;
    let shared_inbox = remote.endpoints.and_then(|e| e.shared_inbox).filter(|s| same_host(s));
    if !same_host(&remote.inbox) {
        return Err(FetchError::Invalid(format!(
            "the inbox of {} is on another host",
            short(&remote.id)
        )));
    }
    Ok(Actor {
        id: remote.id,
        host,
        kind: remote.kind,
        inbox: remote.inbox,
        shared_inbox,
        key_id: key.id,
        public_key_pem: key.public_key_pem,
        fetched_at: time::OffsetDateTime::now_utc(),
    })
}

/// The actor that signs with `key_id`: cached, or fetched (the key id without its
/// fragment is the actor, or a key document naming its owner). `refresh` fetches
/// anew (the sender may have rotated its key).
pub async fn signer(ctx: &FederationContext, key_id: &str, refresh: bool) -> Result<Actor, FetchError> {
    if !refresh {
        let mut conn = ctx.pool.acquire().await?;
        if let Some(actor) = store::actor_by_key(&mut conn, key_id).await? {
            return Ok(actor);
        }
    }
    let mut url = parse_url(key_id)?;
    url.set_fragment(None);
    let document = get_json(ctx, &url, ACCEPT).await?;
    let owner = match document.get("owner").and_then(Value::as_str) {
        // A key document: its owner is the actor.
        Some(owner) if document.get("inbox").is_none() => owner.to_owned(),
        _ => url.to_string(),
    };
    let actor = if owner == url.as_str() {
        keep_actor(ctx, &document, &url).await?
    } else {
        fetch_actor(ctx, &owner).await?
    };
    if actor.key_id != key_id {
        return Err(FetchError::Invalid(format!(
            "{} does not sign with {}",
            short(&actor.id),
            short(key_id)
        )));
    }
    Ok(actor)
}

/// Finds the actor of the instance at `base` by WebFinger: the Mastodon convention
/// (`acct:host@host`), then the instance URL itself as the resource.
pub async fn resolve_instance(ctx: &FederationContext, base: &Url) -> Result<Actor, FetchError> {
    let host = host_header(base);
    let mut last = None;
    for resource in [format!("acct:{host}@{host}"), base.to_string()] {
        let mut finger = base
            .join("/.well-known/webfinger")
            .map_err(|e| FetchError::Invalid(e.to_string()))?;
        finger.query_pairs_mut().append_pair("resource", &resource);
        match get_json(ctx, &finger, "application/jrd+json, application/json").await {
            Ok(jrd) => match self_link(&jrd) {
                Some(actor) if host_of(&actor).is_some_and(|h| h.eq_ignore_ascii_case(&host)) => {
                    return fetch_actor(ctx, &actor).await;
                }
                _ => {
                    last = Some(FetchError::Invalid(format!(
                        "{host}'s WebFinger names no actor of its own"
                    )))
                }
            },
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| FetchError::Unreachable(format!("could not reach {host}"))))
}

/// The ActivityPub `self` link of a WebFinger answer.
fn self_link(jrd: &Value) -> Option<String> {
    jrd.get("links")?.as_array()?.iter().find_map(|link| {
        let is_self = link.get("rel").and_then(Value::as_str) == Some("self");
        let kind = link.get("type").and_then(Value::as_str).unwrap_or_default();
        (is_self && (kind.starts_with("application/activity+json") || kind.starts_with("application/ld+json")))
            .then(|| link.get("href").and_then(Value::as_str).map(str::to_owned))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn pem() -> String {
        crate::keys::PrivateKey::generate()
            .and_then(|key| key.public_key().to_pem())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_actor_must_be_who_and_where_it_says() {
        let pem = pem();
        let good = json!({
            "id": "https://a.example/actor", "type": "Application", "inbox": "https://a.example/inbox",
            "endpoints": {"sharedInbox": "https://a.example/shared"},
            "publicKey": {"id": "https://a.example/actor#main-key", "owner": "https://a.example/actor", "publicKeyPem": pem},
        });
        let actor = actor_from(&good, &url("https://a.example/actor")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(actor.delivery_inbox(), "https://a.example/shared");
        assert_eq!(actor.host, "a.example");

        let mut other_id = good.clone();
        other_id["id"] = json!("https://evil.example/actor");
        assert!(actor_from(&other_id, &url("https://a.example/actor")).is_err());
        let mut foreign_key = good.clone();
        foreign_key["publicKey"]["id"] = json!("https://evil.example/key");
        assert!(actor_from(&foreign_key, &url("https://a.example/actor")).is_err());
        let mut foreign_inbox = good.clone();
        foreign_inbox["inbox"] = json!("https://evil.example/inbox");
        assert!(actor_from(&foreign_inbox, &url("https://a.example/actor")).is_err());
        let mut keyless = good.clone();
        keyless.as_object_mut().map(|o| o.remove("publicKey"));
        assert!(actor_from(&keyless, &url("https://a.example/actor")).is_err());
        let mut short_key = good.clone();
        short_key["publicKey"]["publicKeyPem"] = json!(crate::keys::tests::SHORT);
        let refused = actor_from(&short_key, &url("https://a.example/actor")).map(|a| a.id);
        assert!(
            matches!(&refused, Err(FetchError::Invalid(why)) if why.contains("1024 bits")),
            "{refused:?}"
        );
        let mut bad_pem = good;
        bad_pem["publicKey"]["publicKeyPem"] = json!("nope");
        assert!(actor_from(&bad_pem, &url("https://a.example/actor")).is_err());
    }

    #[test]
    fn webfinger_self_links_are_found() {
        let jrd = json!({"links": [
            {"rel": "http://webfinger.net/rel/profile-page", "href": "https://a/"},
            {"rel": "self", "type": "application/activity+json", "href": "https://a/actor"},
        ]});
        assert_eq!(self_link(&jrd).as_deref(), Some("https://a/actor"));
        assert_eq!(self_link(&json!({"links": []})), None);
        assert_eq!(self_link(&json!([])), None);
    }
}
