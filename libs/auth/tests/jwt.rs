//! Every way a token can lie, checked against a real verifier. The JWKS is served over
//! a real socket, as an identity provider would. The authenticator, which keeps tokens
//! it verified, stops honouring one at its `exp`.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use skillreel_auth::{AuthError, Authenticator, JwtVerifier};
use skillreel_config::{AuthSettings, Secret};
use tokio::sync::Notify;

const RSA_PRIVATE: &[u8] = include_bytes!("keys/rsa.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("keys/rsa.pub.pem");
const RSA_OTHER: &[u8] = include_bytes!("keys/rsa-other.pem");
const EC_PRIVATE: &[u8] = include_bytes!("keys/ec.pk8.pem");
const JWKS: &str = include_str!("keys/jwks.json");
const SECRET: &str = "a-development-secret-of-enough-length";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn claims(exp: u64) -> serde_json::Value {
    json!({ "sub": "alice", "name": "Alice", "roles": ["employee"], "exp": exp, "iss": "skillreel-dev", "aud": "skillreel" })
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, body: &serde_json::Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, body, key).unwrap_or_default()
}

fn hs256_verifier() -> JwtVerifier {
    let settings = AuthSettings {
        hs256_secret: Some(Secret::new(SECRET.into())),
        ..AuthSettings::default()
    };
    JwtVerifier::from_settings(&settings).unwrap_or_else(|e| panic!("{e}"))
}

/// Serves the test JWKS on a free port and returns a verifier that trusts it.
fn jwks_verifier() -> JwtVerifier {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let server = HttpServer::new(|| {
        App::new().route(
            "/jwks.json",
            web::get().to(|| async { HttpResponse::Ok().content_type("application/json").body(JWKS) }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap_or_else(|e| panic!("{e}"))
    .run();
    tokio::spawn(server);
    let settings = AuthSettings {
        jwks_url: Some(format!("http://127.0.0.1:{port}/jwks.json")),
        ..AuthSettings::default()
    };
    JwtVerifier::from_settings(&settings).unwrap_or_else(|e| panic!("{e}"))
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_valid_hs256_token_is_accepted_in_development() {
    let token = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        &claims(now() + 60),
    );
    let verified = hs256_verifier().verify(&token).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verified.sub, "alice");
    assert_eq!(verified.roles, vec!["employee".to_owned()]);
}

#[tokio::test]
async fn alg_none_is_refused() {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(now() + 60).to_string());
    for token in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
        assert!(hs256_verifier().verify(&token).await.is_err());
        assert!(jwks_verifier().verify(&token).await.is_err());
    }
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let token = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(b"someone else's secret"),
        &claims(now() + 60),
    );
    assert!(matches!(hs256_verifier().verify(&token).await, Err(AuthError::Invalid(r)) if r == "bad signature"));
}

#[tokio::test]
async fn an_expired_token_is_refused_beyond_the_leeway() {
    let token = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        &claims(now() - 120),
    );
    assert!(matches!(hs256_verifier().verify(&token).await, Err(AuthError::Invalid(r)) if r == "expired"));
}

#[tokio::test]
async fn a_token_without_exp_is_refused() {
    let body = json!({ "sub": "alice", "iss": "skillreel-dev", "aud": "skillreel" });
    let token = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        &body,
    );
    assert!(hs256_verifier().verify(&token).await.is_err());
}

#[tokio::test]
async fn a_token_for_another_issuer_or_audience_is_refused() {
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let mut wrong_iss = claims(now() + 60);
    wrong_iss["iss"] = json!("https://evil.example");
    let mut wrong_aud = claims(now() + 60);
    wrong_aud["aud"] = json!("another-app");
    assert!(
        matches!(hs256_verifier().verify(&sign(Algorithm::HS256, None, &key, &wrong_iss)).await, Err(AuthError::Invalid(r)) if r == "wrong issuer")
    );
    assert!(
        matches!(hs256_verifier().verify(&sign(Algorithm::HS256, None, &key, &wrong_aud)).await, Err(AuthError::Invalid(r)) if r == "wrong audience")
    );
}

#[tokio::test]
async fn rs256_and_es256_tokens_verify_against_the_jwks() {
    let verifier = jwks_verifier();
    let rs = sign(Algorithm::RS256, Some("rsa-1"), &rsa_key(), &claims(now() + 60));
    assert_eq!(verifier.verify(&rs).await.map(|c| c.sub).ok(), Some("alice".into()));
    let ec_key = EncodingKey::from_ec_pem(EC_PRIVATE).unwrap_or_else(|e| panic!("{e}"));
    let es = sign(Algorithm::ES256, Some("ec-1"), &ec_key, &claims(now() + 60));
    assert_eq!(verifier.verify(&es).await.map(|c| c.sub).ok(), Some("alice".into()));
}

#[tokio::test]
async fn hs256_signed_with_the_public_rsa_key_is_refused() {
    // The classic confusion attack: the public key, which anyone has, used as an HMAC secret.
    let forged = sign(
        Algorithm::HS256,
        Some("rsa-1"),
        &EncodingKey::from_secret(RSA_PUBLIC),
        &claims(now() + 60),
    );
    assert!(matches!(
        jwks_verifier().verify(&forged).await,
        Err(AuthError::AlgorithmNotAllowed)
    ));
}

#[tokio::test]
async fn an_rs256_token_is_refused_when_only_hs256_is_configured() {
    let token = sign(Algorithm::RS256, None, &rsa_key(), &claims(now() + 60));
    assert!(matches!(
        hs256_verifier().verify(&token).await,
        Err(AuthError::AlgorithmNotAllowed)
    ));
}

#[tokio::test]
async fn a_token_signed_by_a_key_the_jwks_does_not_hold_is_refused() {
    let other = EncodingKey::from_rsa_pem(RSA_OTHER).unwrap_or_else(|e| panic!("{e}"));
    let verifier = jwks_verifier();
    let wrong_key_known_kid = sign(Algorithm::RS256, Some("rsa-1"), &other, &claims(now() + 60));
    assert!(matches!(verifier.verify(&wrong_key_known_kid).await, Err(AuthError::Invalid(r)) if r == "bad signature"));
    let unknown_kid = sign(Algorithm::RS256, Some("rotated-away"), &other, &claims(now() + 60));
    assert!(matches!(
        verifier.verify(&unknown_kid).await,
        Err(AuthError::UnknownKey)
    ));
    let no_kid = sign(Algorithm::RS256, None, &rsa_key(), &claims(now() + 60));
    assert!(matches!(verifier.verify(&no_kid).await, Err(AuthError::UnknownKey)));
}

/// Several identity providers send `aud` as an array; ours among them is enough.
#[tokio::test]
async fn an_audience_array_holding_ours_is_accepted_and_one_without_it_refused() {
    let verifier = hs256_verifier();
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let mut body = claims(now() + 600);
    body["aud"] = json!(["another-app", "skillreel"]);
    let accepted = verifier.verify(&sign(Algorithm::HS256, None, &key, &body)).await;
    assert_eq!(accepted.map(|c| c.sub).ok().as_deref(), Some("alice"));
    body["aud"] = json!(["another-app", "yet-another"]);
    let refused = verifier.verify(&sign(Algorithm::HS256, None, &key, &body)).await;
    assert!(matches!(refused, Err(AuthError::Invalid(_))), "{refused:?}");
}

#[tokio::test]
async fn garbage_is_refused_without_panicking() {
    let verifier = hs256_verifier();
    for token in ["", ".", "..", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", &"x".repeat(10_000)] {
        assert!(verifier.verify(token).await.is_err(), "{token:?} accepted");
    }
}

/// A JWKS server whose first answer is immediate and every later one waits until the
/// test releases it; it counts the fetches.
fn held_jwks_verifier() -> (JwtVerifier, Arc<AtomicUsize>, Arc<Notify>) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Notify::new());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let (counted, held) = (fetches.clone(), release.clone());
    let server = HttpServer::new(move || {
        let (counted, held) = (counted.clone(), held.clone());
        App::new().route(
            "/jwks.json",
            web::get().to(move || {
                let (counted, held) = (counted.clone(), held.clone());
                async move {
                    if counted.fetch_add(1, Ordering::SeqCst) > 0 {
                        held.notified().await;
                    }
                    HttpResponse::Ok().content_type("application/json").body(JWKS)
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap_or_else(|e| panic!("{e}"))
    .run();
    tokio::spawn(server);
    let settings = AuthSettings {
        jwks_url: Some(format!("http://127.0.0.1:{port}/jwks.json")),
        jwks_min_refresh_seconds: 0,
        ..AuthSettings::default()
    };
    let verifier = JwtVerifier::from_settings(&settings).unwrap_or_else(|e| panic!("{e}"));
    (verifier, fetches, release)
}

/// A token naming an unknown key makes the verifier fetch the JWKS again; while that
/// fetch waits on the identity provider, tokens with known keys still verify (the keys
/// are not locked across the fetch), and only the unknown one waits.
#[tokio::test]
async fn a_jwks_refresh_does_not_hold_up_tokens_with_known_keys() {
    let (verifier, fetches, release) = held_jwks_verifier();
    let verifier = Arc::new(verifier);
    let known = sign(Algorithm::RS256, Some("rsa-1"), &rsa_key(), &claims(now() + 600));
    assert!(verifier.verify(&known).await.is_ok());
    let unknown = sign(Algorithm::RS256, Some("rotated-away"), &rsa_key(), &claims(now() + 600));
    let waiting = {
        let verifier = verifier.clone();
        tokio::spawn(async move { verifier.verify(&unknown).await })
    };
    while fetches.load(Ordering::SeqCst) < 2 {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // The second fetch is held by the server: a known key must not wait for it. (The
    // timeout only turns a regression into a failure instead of a hang.)
    let verified = tokio::time::timeout(std::time::Duration::from_secs(20), verifier.verify(&known)).await;
    assert!(matches!(verified, Ok(Ok(_))), "a known key waited for the refresh");
    assert!(!waiting.is_finished(), "the unknown key did not wait for the fetch");
    release.notify_waiters();
    let outcome = waiting.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(outcome, Err(AuthError::UnknownKey)), "{outcome:?}");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_kept_token_is_refused_once_it_expires(pool: sqlx::PgPool) {
    let exp = now() + 2;
    let token = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        &claims(exp),
    );
    let settings = AuthSettings {
        hs256_secret: Some(Secret::new(SECRET.into())),
        leeway_seconds: 0,
        ..AuthSettings::default()
    };
    let verifier = JwtVerifier::from_settings(&settings).unwrap_or_else(|e| panic!("{e}"));
    let auth = Authenticator::new(verifier, pool);

    let first = auth.authenticate(&token).await.unwrap_or_else(|e| panic!("{e:?}"));
    let again = auth.authenticate(&token).await.unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((first.id, first.name.as_str()), (again.id, "Alice"));

    while now() <= exp {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        auth.authenticate(&token).await.is_err(),
        "an expired token was honoured because it had been verified before"
    );
}
