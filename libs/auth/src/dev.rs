//! Development tokens: HS256 tokens signed with the development secret, for
//! `skillreel token` and the tests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};

use crate::Claims;

/// Signs HS256 development tokens that a [`crate::JwtVerifier`] with the same secret,
/// issuer and audience accepts. For `skillreel token` and tests; production tokens come
/// from the identity provider.
pub struct DevTokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

/// Who a development token is for.
#[derive(Debug, Clone, Default)]
pub struct DevIdentity {
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
    pub manager: Option<String>,
    pub team: Option<String>,
}

impl DevTokenIssuer {
    pub fn new(secret: &str, issuer: &str, audience: &str) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.as_bytes()),
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    pub fn issue(&self, who: &DevIdentity, ttl: Duration) -> Result<String, jsonwebtoken::errors::Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            sub: who.sub.clone(),
            name: who.name.clone(),
            email: who.email.clone(),
            roles: who.roles.clone(),
            manager: who.manager.clone(),
            team: who.team.clone(),
            exp: now + ttl.as_secs(),
            iss: self.issuer.clone(),
            aud: crate::verifier::Audience::One(self.audience.clone()),
            iat: Some(now),
        };
        encode(&Header::default(), &claims, &self.key)
    }
}
