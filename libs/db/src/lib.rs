//! Skillreel's PostgreSQL layer.
//!
//! [`connect`] builds the pool, [`MIGRATOR`] holds the one schema under `migrations/`,
//! and [`users`], [`videos`], [`uploads`] and [`notifications`] are the plain query functions more than one service
//! needs. Each takes `&mut PgConnection` (or an executor) so callers choose the
//! transaction. Queries are compile-time checked (`sqlx::query!`) against `.sqlx/`.

use std::time::Duration;

use skillreel_config::DatabaseSettings;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};

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
/// `/readyz`) while the database is still coming up. Every connection carries the
/// configured `statement_timeout`: a request's statement that runs longer is cancelled
/// (SQLSTATE 57014) instead of holding a connection others queue for.
pub fn connect(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose().parse()?;
    let options = options.options([("statement_timeout", settings.statement_timeout_ms.to_string())]);
    Ok(pool_options(settings).connect_lazy_with(options))
}

/// A pooled connection idle at least this long is pinged before it is handed out.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// The pool's settings. A connection is checked (a round trip, `ping`) before it is
/// handed out only when it sat idle for [`PING_IF_IDLE_FOR`] or longer: one the server
/// dropped while it was idle (a restart, an idle timeout) is replaced, not handed to a
/// request. sqlx pings on every acquire by default, which under load is a second round
/// trip per statement for connections that were in use a moment ago.
pub fn pool_options(settings: &DatabaseSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms.max(1)))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IF_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// Runs pending migrations, retrying while the server is starting. They run on a
/// connection of their own without the requests' statement time limit: building an
/// index over a large table may take minutes.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut attempt = 0;
    loop {
        match migrate_once(pool).await {
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

async fn migrate_once(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut conn = unlimited_connection(pool).await?;
    MIGRATOR.run(&mut conn).await
}

/// A connection without the requests' statement time limit, for background work no
/// request waits on (migrations, the recommender's pass, `VACUUM`). Taken out of the
/// pool, not returned to it: no request may get a connection without its limit. It
/// closes when dropped.
pub async fn unlimited_connection(pool: &PgPool) -> Result<PgConnection, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    sqlx::query!("set statement_timeout = 0").execute(&mut conn).await?;
    Ok(conn)
}
