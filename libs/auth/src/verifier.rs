//! JWT verification with the algorithm pinned by configuration: a shared HS256 secret in
//! development, the identity provider's JWKS (RS256/ES256) in production.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use skillreel_config::AuthSettings;
use tokio::sync::{Mutex, RwLock};

/// The subjects under which people of other instances are kept (see `app_user.origin`).
pub const REMOTE_SUBJECT_PREFIX: &str = "remote:";

/// What a token must carry. `sub` is the identity provider's stable id; the rest
/// provisions the person's profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// The `sub` of the person's manager.
    #[serde(default)]
    pub manager: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    pub exp: u64,
    pub iss: String,
    pub aud: Audience,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

/// `aud` as one string or, as several identity providers send it, an array (RFC 7519
/// §4.1.3 allows both); the verifier checks ours is among them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("token signed with an algorithm this server does not accept")]
    AlgorithmNotAllowed,
    #[error("token signed by an unknown key")]
    UnknownKey,
    #[error("the identity provider's keys are unavailable: {0}")]
    KeysUnavailable(String),
    #[error("auth is not configured: set auth.hs256_secret or auth.jwks_url")]
    NotConfigured,
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        let reason = match e.kind() {
            ErrorKind::ExpiredSignature => "expired",
            ErrorKind::ImmatureSignature => "not valid yet",
            ErrorKind::InvalidSignature => "bad signature",
            ErrorKind::InvalidIssuer => "wrong issuer",
            ErrorKind::InvalidAudience => "wrong audience",
            ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
            ErrorKind::InvalidAlgorithm => return Self::AlgorithmNotAllowed,
            _ => "malformed",
        };
        Self::Invalid(reason.into())
    }
}

enum KeySource {
    Shared(DecodingKey),
    Jwks(JwksCache),
}

struct JwksCache {
    url: String,
    client: reqwest::Client,
    /// The keys of the last fetch, by `kid`. Never held across the fetch, so tokens
    /// with known keys verify while a refresh waits on the identity provider.
    keys: RwLock<HashMap<String, (DecodingKey, Algorithm)>>,
    /// When the last fetch started; held during a fetch so only one runs at a time.
    last_fetch: Mutex<Option<Instant>>,
    /// Fetches at most this often (`auth.jwks_min_refresh_seconds`), so a flood of
    /// tokens with made-up `kid`s cannot turn us into a denial-of-service client of
    /// the identity provider.
    min_refresh: Duration,
}

pub struct JwtVerifier {
    source: KeySource,
    issuer: String,
    audience: String,
    leeway: u64,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match &self.source {
            KeySource::Shared(_) => "hs256",
            KeySource::Jwks(c) => c.url.as_str(),
        };
        f.debug_struct("JwtVerifier")
            .field("mode", &mode)
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// The one algorithm a JWK may verify; keys of other kinds are ignored.
fn jwk_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let declared = jwk.common.key_algorithm;
    match (&jwk.algorithm, declared) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Some(Algorithm::RS256),
        (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256)) if p.curve == EllipticCurve::P256 => {
            Some(Algorithm::ES256)
        }
        _ => None,
    }
}

impl JwksCache {
    async fn refresh(&self) -> Result<(), AuthError> {
        let mut last_fetch = self.last_fetch.lock().await;
        if last_fetch.is_some_and(|at| at.elapsed() < self.min_refresh) {
            return Ok(());
        }
        *last_fetch = Some(Instant::now());
        let set: JwkSet = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| AuthError::KeysUnavailable(e.to_string()))?
            .json()
            .await
            .map_err(|e| AuthError::KeysUnavailable(e.to_string()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Some(alg)) = (jwk.common.key_id.clone(), jwk_algorithm(jwk)) else {
                continue;
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (key, alg));
            }
        }
        tracing::info!(keys = keys.len(), url = %self.url, "loaded JWKS");
        *self.keys.write().await = keys;
        Ok(())
    }

    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), AuthError> {
        if let Some(found) = self.keys.read().await.get(kid) {
            return Ok(found.clone());
        }
        self.refresh().await?;
        self.keys.read().await.get(kid).cloned().ok_or(AuthError::UnknownKey)
    }
}

impl JwtVerifier {
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, AuthError> {
        let source = match (&settings.jwks_url, &settings.hs256_secret) {
            (Some(url), _) => KeySource::Jwks(JwksCache {
                url: url.clone(),
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| AuthError::KeysUnavailable(e.to_string()))?,
                keys: RwLock::new(HashMap::new()),
                last_fetch: Mutex::new(None),
                min_refresh: Duration::from_secs(settings.jwks_min_refresh_seconds),
            }),
            (None, Some(secret)) if !secret.expose().is_empty() => {
                KeySource::Shared(DecodingKey::from_secret(secret.expose().as_bytes()))
            }
            _ => return Err(AuthError::NotConfigured),
        };
        Ok(Self {
            source,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway: settings.leeway_seconds,
        })
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = self.leeway;
        v.validate_nbf = true;
        v
    }

    /// Verifies a compact JWS and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        // Refuses `alg: none` and unknown algorithms: they don't parse.
        let header = decode_header(token)?;
        let (key, alg) = match &self.source {
            KeySource::Shared(key) => (key.clone(), Algorithm::HS256),
            KeySource::Jwks(cache) => {
                let kid = header.kid.as_deref().ok_or(AuthError::UnknownKey)?;
                cache.key(kid).await?
            }
        };
        // The algorithm comes from our configuration, not the token (no HS/RS confusion).
        if header.alg != alg {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let data = decode::<Claims>(token, &key, &self.validation(alg))?;
        let claims = data.claims;
        if claims.sub.is_empty() || claims.sub.len() > 255 || claims.sub.chars().any(char::is_control) {
            return Err(AuthError::Invalid("bad subject".into()));
        }
        // People of other instances are kept under `remote:` subjects; no token speaks for them.
        if claims.sub.starts_with(REMOTE_SUBJECT_PREFIX) {
            return Err(AuthError::Invalid(
                "this subject is reserved for people of other instances".into(),
            ));
        }
        Ok(claims)
    }
}

impl From<AuthError> for skillreel_web::StartError {
    fn from(e: AuthError) -> Self {
        Self::Auth(e.to_string())
    }
}
