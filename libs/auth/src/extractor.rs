//! The `AuthUser` extractor: the bearer token verified, the person provisioned from its
//! claims on first sight (and cached briefly), and what the access policy needs of them.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use skillreel_config::AuthSettings;
use skillreel_db::users::{self, UserClaims};
use skillreel_domain::access::Viewer;
use skillreel_domain::{Role, Roles, UserId};
use skillreel_web::ApiError;
use sqlx::PgPool;

use crate::{AuthError, JwtVerifier};

/// How long a provisioned person is trusted without asking the database again.
const SEEN_FOR: Duration = Duration::from_secs(60);
/// Entries kept before the cache starts over.
const SEEN_MAX: usize = 50_000;

/// People the authenticator knows for [`SEEN_FOR`], each under a key and with a tag
/// (`T`) that says when the entry still holds: at most [`SEEN_MAX`] entries, the map
/// starting over when full.
struct Kept<T>(Mutex<HashMap<String, (T, Instant, AuthUser)>>);

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self(Mutex::default())
    }
}

impl<T> Kept<T> {
    fn get(&self, key: &str, holds: impl FnOnce(&T) -> bool) -> Option<AuthUser> {
        let map = self.0.lock().ok()?;
        let (tag, at, user) = map.get(key)?;
        (at.elapsed() < SEEN_FOR && holds(tag)).then(|| user.clone())
    }

    fn put(&self, key: &str, tag: T, user: &AuthUser) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= SEEN_MAX {
                map.clear();
            }
            map.insert(key.to_owned(), (tag, Instant::now(), user.clone()));
        }
    }
}

/// People provisioned recently, by `sub`, tagged with their claims' fingerprint: a burst
/// of requests costs one provisioning query, not one per request. An entry counts only
/// while the token's claims are the ones it was made from, so a changed name or role is
/// written at once.
type Seen = Kept<u64>;

/// Tokens verified recently, tagged with their `exp`, with the person each speaks for: a
/// token's signature and claims are checked once, not on every request (the same bytes
/// always carry the same claims; decoding and verifying them was a tenth of a point
/// read's work). An entry counts only until the token's `exp` (the verifier's leeway is
/// not extended to it), so a person the database changed or a key the identity provider
/// withdrew is honoured for at most [`SEEN_FOR`], as with [`Seen`].
type Verified = Kept<u64>;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(u64::MAX, |d| d.as_secs())
}

fn fingerprint(claims: &UserClaims) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (
        &claims.name,
        &claims.email,
        claims.roles.as_strings(),
        &claims.manager_subject,
        &claims.team,
    )
        .hash(&mut hasher);
    hasher.finish()
}

/// The verifier and the database it provisions people into, shared by every handler.
#[derive(Clone)]
pub struct Authenticator {
    verifier: Arc<JwtVerifier>,
    pool: PgPool,
    seen: Arc<Seen>,
    verified: Arc<Verified>,
}

impl Authenticator {
    pub fn new(verifier: JwtVerifier, pool: PgPool) -> Self {
        Self {
            verifier: Arc::new(verifier),
            pool,
            seen: Arc::default(),
            verified: Arc::default(),
        }
    }

    pub fn from_settings(settings: &AuthSettings, pool: PgPool) -> Result<Self, AuthError> {
        Ok(Self::new(JwtVerifier::from_settings(settings)?, pool))
    }

    /// Verifies the token and returns the (possibly just created) person.
    pub async fn authenticate(&self, token: &str) -> Result<AuthUser, ApiError> {
        if let Some(user) = self.verified.get(token, |&expires| unix_now() <= expires) {
            return Ok(user);
        }
        let claims = self.verifier.verify(token).await.map_err(to_api_error)?;
        let expires = claims.exp;
        let name = claims
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(&claims.sub)
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let user_claims = UserClaims {
            subject: claims.sub,
            name,
            email: claims.email.filter(|e| e.len() <= 320),
            roles: Roles::from_claims(&claims.roles),
            manager_subject: claims.manager.filter(|m| !m.is_empty() && m.len() <= 255),
            team: claims.team.filter(|t| !t.is_empty() && t.len() <= 200),
        };
        let print = fingerprint(&user_claims);
        let user = match self.seen.get(&user_claims.subject, |&seen| seen == print) {
            Some(user) => user,
            None => {
                let mut conn = self.pool.acquire().await?;
                let user = AuthUser::from(users::provision(&mut conn, &user_claims).await?);
                self.seen.put(&user.subject, print, &user);
                user
            }
        };
        // (a token past its `exp`, accepted within the leeway, could never be taken)
        if unix_now() <= expires {
            self.verified.put(token, expires, &user);
        }
        Ok(user)
    }
}

fn to_api_error(e: AuthError) -> ApiError {
    match e {
        AuthError::KeysUnavailable(_) | AuthError::NotConfigured => ApiError::unavailable(e),
        other => ApiError::unauthenticated(other.to_string()),
    }
}

/// An authenticated person. Asking for it in a handler makes the endpoint require a
/// valid `Authorization: Bearer` token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: UserId,
    pub subject: String,
    pub name: String,
    pub roles: Roles,
    pub manager_subject: Option<String>,
    pub team: Option<String>,
}

/// A person as the access rules see them, whether they sent this request or not
/// (e.g. someone a comment mentions).
impl From<users::UserRecord> for AuthUser {
    fn from(user: users::UserRecord) -> Self {
        Self {
            id: user.id,
            subject: user.subject,
            name: user.name,
            roles: user.roles,
            manager_subject: user.manager_subject,
            team: user.team,
        }
    }
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.roles.contains(Role::Admin)
    }

    /// The caller as the access policy sees them.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            id: self.id,
            subject: self.subject.clone(),
            roles: self.roles.clone(),
        }
    }
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthenticated(AuthError::Missing.to_string()))?
        .to_str()
        .map_err(|_| ApiError::unauthenticated("authorization header is not text"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthenticated("expected `Authorization: Bearer <token>`"));
    }
    Ok(token.trim().to_owned())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let authenticator = req.app_data::<web::Data<Authenticator>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let authenticator = authenticator.ok_or_else(|| ApiError::internal("no Authenticator configured"))?;
            authenticator.authenticate(&token?).await
        })
    }
}
