//! The one way an upload becomes a video.

use skillreel_contracts::{TRANSCODE_QUEUE, TranscodeRequest};
use skillreel_db::videos::{self, NewVideo};
use skillreel_domain::VideoId;
use sqlx::PgConnection;

/// Creates the video and enqueues its transcoding in the caller's transaction: either
/// both exist or neither does.
#[tracing::instrument(skip(conn, video), fields(video_id = %video.id))]
pub async fn finalize(conn: &mut PgConnection, video: &NewVideo<'_>, max_attempts: i32) -> Result<(), FinalizeError> {
    videos::insert(conn, video, skillreel_domain::VideoStatus::Processing).await?;
    skillreel_queue::enqueue(
        conn,
        TRANSCODE_QUEUE,
        &TranscodeRequest { video_id: video.id },
        max_attempts,
    )
    .await?;
    Ok(())
}

impl From<FinalizeError> for skillreel_web::ApiError {
    fn from(e: FinalizeError) -> Self {
        match e {
            FinalizeError::Database(e) => e.into(),
            other => skillreel_web::ApiError::internal(other),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FinalizeError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Queue(#[from] skillreel_queue::QueueError),
}

/// The last byte of a resumable or direct upload is stored: the upload is complete, the
/// video waits for the transcoder and its job is queued, all in the caller's transaction.
///
/// False when the video was deleted while its last bytes arrived: the upload is then
/// `cancelled`, nothing is queued, and the caller removes the stored bytes.
pub async fn complete_upload(
    conn: &mut PgConnection,
    upload: uuid::Uuid,
    video: VideoId,
    size: i64,
    max_attempts: i32,
) -> Result<bool, FinalizeError> {
    if !videos::start_processing(conn, video, size).await? {
        skillreel_db::uploads::finish(conn, upload, "cancelled").await?;
        return Ok(false);
    }
    skillreel_db::uploads::finish(conn, upload, "complete").await?;
    skillreel_queue::enqueue(
        conn,
        TRANSCODE_QUEUE,
        &TranscodeRequest { video_id: video },
        max_attempts,
    )
    .await?;
    Ok(true)
}

/// Creates an upload's video (`uploading`) and upload rows in one transaction, after
/// reserving `reserve` bytes of the owner's quota (see [`crate::checks::reserve_quota`]).
/// The storage work (the multipart upload) happens before, outside the transaction,
/// and the caller aborts it when this fails.
pub(crate) async fn begin_upload(
    ctx: &crate::UploadContext,
    video: &NewVideo<'_>,
    upload: &skillreel_db::uploads::NewUpload<'_>,
    reserve: Option<u64>,
) -> Result<(), skillreel_web::ApiError> {
    let mut tx = ctx.pool.begin().await?;
    if let Some(bytes) = reserve {
        crate::checks::reserve_quota(&mut tx, video.owner_id, bytes, ctx.quotas).await?;
    }
    videos::insert(&mut tx, video, skillreel_domain::VideoStatus::Uploading).await?;
    skillreel_db::uploads::create(&mut tx, upload).await?;
    tx.commit().await?;
    Ok(())
}

/// What a client is told when its video was deleted while the upload finished.
pub fn deleted_meanwhile() -> skillreel_web::ApiError {
    skillreel_web::ApiError::new(
        skillreel_web::ErrorCode::Gone,
        "the video was deleted while it was being uploaded; nothing was kept",
    )
}
