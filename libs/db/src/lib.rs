//! Skillreel's PostgreSQL layer.
//!
//! [`connect`] builds the pool, [`MIGRATOR`] holds the one schema under `migrations/`,
//! and [`users`], [`videos`], [`uploads`] and [`notifications`] are the plain query functions more than one service
//! needs. Each takes `&mut PgConnection` (or an executor) so callers choose the
//! transaction. Queries are compile-time checked (`sqlx::query!`) against `.sqlx/`.

use std::time::Duration;

use skillreel_config::DatabaseSettings;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub mod captions;
pub mod comments;
pub mod communities;
pub mod engagement;
pub mod events;
pub mod notifications;
pub mod uploads;
pub mod users;
pub mod videos;
pub mod webhooks;

pub use sqlx;

/// The schema, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Builds the pool without connecting, so a service starts (and reports unready on
/// `/readyz`) while the database is still coming up.
pub fn connect(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose().parse()?;
    Ok(pool_options(settings).connect_lazy_with(options))
}

pub fn pool_options(settings: &DatabaseSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(5))
}

/// Runs pending migrations, retrying while the server is starting.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut attempt = 0;
    loop {
        match MIGRATOR.run(pool).await {
            Err(sqlx::migrate::MigrateError::Execute(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)))
                if attempt < 10 =>
            {
                attempt += 1;
                tracing::warn!(attempt, "database not reachable yet, retrying migrations");
                tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
            }
            other => return other,
        }
    }
}
