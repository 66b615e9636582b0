//! Unfinished uploads expire: their parts and pending bytes are removed and their
//! video ends `failed` with the reason.

use std::sync::Arc;
use std::time::Duration;

use skillreel_db::uploads::{self, UploadRecord};
use skillreel_db::videos;
use skillreel_storage::ObjectKey;
use skillreel_web::ApiError;

use crate::UploadContext;

/// Frees what an unfinished upload holds in storage.
pub(super) async fn discard(ctx: &UploadContext, upload: &UploadRecord) -> Result<(), ApiError> {
    let key = ObjectKey::parse(&upload.storage_key).map_err(ApiError::internal)?;
    ctx.storage
        .abort_parts(&key, upload.multipart_id.as_deref())
        .await
        .map_err(ApiError::unavailable)?;
    if upload.pending_size > 0 {
        let pending = ObjectKey::parse(&format!("{}.pending-{}", upload.storage_key, upload.offset))
            .map_err(ApiError::internal)?;
        ctx.storage
            .delete_prefix(&pending)
            .await
            .map_err(ApiError::unavailable)?;
    }
    Ok(())
}

/// Expires what is due; returns how many uploads it expired.
pub async fn sweep_expired(ctx: &UploadContext) -> Result<usize, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let due = uploads::claim_expired(&mut tx, 100).await?;
    for upload in &due {
        discard(ctx, upload).await?;
        uploads::finish(&mut tx, upload.id, "expired").await?;
        videos::fail_uploading(
            &mut tx,
            upload.video_id,
            "the upload expired before it was finished; please upload again",
        )
        .await?;
    }
    tx.commit().await?;
    if !due.is_empty() {
        tracing::info!(expired = due.len(), "expired abandoned uploads");
    }
    Ok(due.len())
}

/// Runs [`sweep_expired`] every `every` until the process ends.
pub fn spawn_sweeper(ctx: Arc<UploadContext>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = sweep_expired(&ctx).await {
                tracing::warn!(error = %e, "sweeping expired uploads failed");
            }
        }
    })
}
