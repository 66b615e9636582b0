//! The popular and trending scores, kept up to date in the background: likes, views
//! and completions append deltas (database triggers), and one replica at a time folds
//! them in, so a burst of likes on one video costs one update of its score, not one
//! per like, and the lists that walk the scores' indexes stay cheap to read.

use std::time::Duration;

use skillreel_db::engagement;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Folds pending engagements every `interval` until `stop`.
pub fn spawn_folder(pool: PgPool, interval: Duration, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    skillreel_web::repeat(stop, move || {
        let pool = pool.clone();
        async move {
            if let Err(e) = fold(&pool).await {
                tracing::warn!(error = %e, "could not fold engagements into the video scores");
            }
            interval
        }
    })
}

async fn fold(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let moved = engagement::fold_scores(&mut conn).await?;
    if moved > 0 {
        tracing::debug!(moved, "folded engagements into the video scores");
    }
    Ok(())
}
