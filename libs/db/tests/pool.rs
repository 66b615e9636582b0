//! The pool hands out connections without a round trip per acquire, yet one the server
//! dropped while it sat idle is replaced before a request gets it.

use skillreel_config::DatabaseSettings;
use skillreel_db::PING_IF_IDLE_FOR;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::time::Duration;

async fn backend_pid(pool: &PgPool) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("select pg_backend_pid()").fetch_one(pool).await
}

#[sqlx::test(migrations = false)]
async fn a_connection_the_server_dropped_while_idle_is_replaced(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) -> Result<(), sqlx::Error> {
    let settings = DatabaseSettings {
        max_connections: 1,
        ..DatabaseSettings::default()
    };
    let pool = skillreel_db::pool_options(&settings)
        .connect_with(connect.clone())
        .await?;
    let first = backend_pid(&pool).await?;

    // The server ends the pooled connection's session (as a restart or an idle timeout would).
    let mut admin = connect.connect().await?;
    let ended: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&mut admin)
        .await?;
    assert!(ended, "the pooled connection's backend was not terminated");
    tokio::time::sleep(PING_IF_IDLE_FOR + Duration::from_millis(300)).await;

    let second = backend_pid(&pool).await?;
    assert_ne!(first, second, "the dropped connection was handed out again");
    Ok(())
}
