//! Who is calling: JWT verification and the [`AuthUser`] extractor.
//!
//! A [`JwtVerifier`] checks signature, `exp`, `nbf`, `iss` and `aud` with the algorithm
//! pinned by configuration, never by the token: in development a shared HS256 secret,
//! in production the identity provider's JWKS (RS256/ES256, refreshed when an unknown
//! `kid` appears). `alg: none`, a wrong key, an expired token and HS/RS confusion are all
//! refused. A handler that needs a person asks for [`AuthUser`]; the extractor verifies
//! the bearer token and provisions the person from its claims on first sight.
//! Authorisation (who may touch which object) stays with the handlers.

mod dev;
mod extractor;
mod verifier;

pub use dev::{DevIdentity, DevTokenIssuer};
pub use extractor::{AuthUser, Authenticator};
pub use verifier::{Audience, AuthError, Claims, JwtVerifier, REMOTE_SUBJECT_PREFIX};
