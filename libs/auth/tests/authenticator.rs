//! The authenticator keeps tokens it verified, and stops honouring one at its `exp`
//! however recently it was verified.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;
use skillreel_auth::{Authenticator, JwtVerifier};
use skillreel_config::{AuthSettings, Secret};
use sqlx::PgPool;

const SECRET: &str = "a-development-secret-of-enough-length";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn authenticator(pool: PgPool) -> Authenticator {
    let settings = AuthSettings {
        hs256_secret: Some(Secret::new(SECRET.into())),
        leeway_seconds: 0,
        ..AuthSettings::default()
    };
    Authenticator::new(
        JwtVerifier::from_settings(&settings).unwrap_or_else(|e| panic!("{e}")),
        pool,
    )
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_kept_token_is_refused_once_it_expires(pool: PgPool) {
    let exp = now() + 2;
    let body = json!({ "sub": "alice", "name": "Alice", "roles": ["employee"], "exp": exp, "iss": "skillreel-dev", "aud": "skillreel" });
    let token = encode(&Header::default(), &body, &EncodingKey::from_secret(SECRET.as_bytes()))
        .unwrap_or_else(|e| panic!("{e}"));
    let auth = authenticator(pool);

    let first = auth.authenticate(&token).await.unwrap_or_else(|e| panic!("{e:?}"));
    let again = auth.authenticate(&token).await.unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((first.id, first.name.as_str()), (again.id, "Alice"));

    while now() <= exp {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        auth.authenticate(&token).await.is_err(),
        "an expired token was honoured because it had been verified before"
    );
}
