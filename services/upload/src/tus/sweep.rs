//! Unfinished uploads expire: their parts and pending bytes are removed and their
//! video ends `failed` with the reason.

use skillreel_web::CancellationToken;
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
        let pending = super::append::pending_key(upload, upload.offset)?;
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

/// Finishes uploads whose object was assembled but whose completion was never
/// committed (the database failed right after assembly): the object is there at its
/// full length, so the video moves to `processing` and its job is queued. In-progress
/// uploads have no object yet (S3 multipart and the local staging file are invisible
/// until completion), so they are never touched. Returns how many it finished.
pub async fn finish_assembled(ctx: &UploadContext) -> Result<usize, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let idle = uploads::claim_idle(&mut tx, Duration::from_secs(60), 100).await?;
    let mut finished = 0;
    let mut unwanted = Vec::new();
    for upload in &idle {
        let Some(length) = upload.length else { continue };
        let key = ObjectKey::parse(&upload.storage_key).map_err(ApiError::internal)?;
        if ctx.storage.size(&key).await.ok() != Some(length as u64) {
            continue;
        }
        uploads::mark_received(&mut tx, upload.id, length).await?;
        if crate::complete_upload(&mut tx, upload.id, upload.video_id, length, ctx.max_attempts).await? {
            finished += 1;
        } else {
            unwanted.push(key);
        }
    }
    tx.commit().await?;
    // Their videos were deleted meanwhile: the bytes go too.
    for key in unwanted {
        if let Err(e) = ctx.storage.delete_prefix(&key).await {
            tracing::warn!(error = %e, "could not delete the bytes of a deleted video's upload");
        }
    }
    if finished > 0 {
        tracing::info!(finished, "finished uploads whose completion was interrupted");
    }
    Ok(finished)
}

/// Runs [`sweep_expired`] and [`finish_assembled`] every `every` until `stop`.
pub fn spawn_sweeper(ctx: Arc<UploadContext>, every: Duration, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = sweep_expired(&ctx).await {
                tracing::warn!(error = %e, "sweeping expired uploads failed");
            }
            if let Err(e) = finish_assembled(&ctx).await {
                tracing::warn!(error = %e, "finishing interrupted uploads failed");
            }
        }
    })
}
