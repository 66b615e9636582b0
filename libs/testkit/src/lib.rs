//! What Skillreel's tests share. Never a dependency of production code.
//!
//! - [`fixtures`]: real media files made by the `ffmpeg` CLI at test time (the test
//!   command installs it), healthy and deliberately broken.
//! - [`s3_settings`]: the S3 server the test command started (`s3s-fs`); a test that
//!   needs it fails loudly when it is missing rather than skipping.
//! - [`settings`] and [`token`]: settings for services under test, and tokens they accept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;

use std::time::Duration;

use skillreel_auth::{DevIdentity, DevTokenIssuer};
use skillreel_config::{Secret, Settings, StorageBackend};
use sqlx::postgres::PgConnectOptions;

pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256";
pub const MEDIA_KEY: &str = "test-media-signing-key-of-32-characters-or-more";

/// Settings of the S3 test server, with a fresh bucket per call.
pub fn s3_settings() -> skillreel_config::S3Settings {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the tests with scripts/test, which starts the S3 test server")
        })
    };
    skillreel_config::S3Settings {
        endpoint: Some(var("SKILLREEL_TEST_S3_ENDPOINT")),
        bucket: format!("test-{}", uuid::Uuid::new_v4().simple()),
        region: "us-east-1".into(),
        access_key_id: var("SKILLREEL_TEST_S3_ACCESS_KEY"),
        secret_access_key: Secret::new(var("SKILLREEL_TEST_S3_SECRET_KEY")),
        force_path_style: true,
        create_bucket: true,
    }
}

/// The URL of a `#[sqlx::test]` database, for services that build their own pool.
pub fn database_url(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    )
}

/// Where test media goes.
pub enum Store<'a> {
    Local(&'a std::path::Path),
    S3,
}

/// Settings for a service under test: port 0, HS256 auth, fast leases.
pub fn settings(database_url: &str, store: Store<'_>) -> Settings {
    let mut s = Settings::default();
    s.server.port = 0;
    s.database.url = Secret::new(database_url.to_owned());
    s.database.max_connections = 5;
    // Several instances share two loaded cores while the suite runs in parallel: a
    // request may wait its turn for a connection longer than production's 2 s refusal,
    // which `catalog::overload` tests with settings of its own.
    s.database.acquire_timeout_ms = 30_000;
    s.auth.hs256_secret = Some(Secret::new(JWT_SECRET.into()));
    s.media.signing_key = Secret::new(MEDIA_KEY.into());
    match store {
        Store::Local(root) => {
            s.storage.backend = StorageBackend::Local;
            s.storage.local_root = root.to_path_buf();
        }
        Store::S3 => {
            s.storage.backend = StorageBackend::S3;
            s.storage.s3 = s3_settings();
        }
    }
    s.transcoder.lease_seconds = 4;
    s.transcoder.heartbeat_seconds = 1;
    s.transcoder.poll_seconds = 1;
    s.transcoder.ladder = vec![240, 360];
    s
}

/// A token the services under [`settings`] accept.
pub fn token(sub: &str, roles: &[&str]) -> String {
    token_with_manager(sub, roles, None)
}

/// A token whose `manager` claim names the `sub` of the person's manager.
pub fn token_with_manager(sub: &str, roles: &[&str], manager: Option<&str>) -> String {
    token_in_team(sub, roles, manager, None)
}

/// A token for someone with a manager and a team, as the org chart says.
pub fn token_in_team(sub: &str, roles: &[&str], manager: Option<&str>, team: Option<&str>) -> String {
    let auth = skillreel_config::AuthSettings::default();
    DevTokenIssuer::new(JWT_SECRET, &auth.issuer, &auth.audience)
        .issue(
            &DevIdentity {
                sub: sub.into(),
                name: Some(format!("{sub} (test)")),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                manager: manager.map(str::to_owned),
                team: team.map(str::to_owned),
                ..DevIdentity::default()
            },
            Duration::from_secs(600),
        )
        .unwrap()
}
