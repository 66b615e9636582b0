//! Videos: the rows every service reads or moves along their lifecycle.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use skillreel_domain::{Rendition, UserId, VideoId, VideoStatus};
use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct VideoRecord {
    pub id: VideoId,
    pub owner_id: UserId,
    pub owner_name: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub status: VideoStatus,
    pub failure_reason: Option<String>,
    pub source_key: Option<String>,
    pub source_size: Option<i64>,
    pub duration_ms: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub hls_key: Option<String>,
    pub thumbnail_key: Option<String>,
    pub storyboard_key: Option<String>,
    pub renditions: Vec<Rendition>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// While `uploading`: bytes received and expected (`None` while deferred).
    pub upload_progress: Option<(i64, Option<i64>)>,
    /// While `processing`: how far the transcode has come, 0 to 1.
    pub processing_progress: Option<f32>,
    /// When the first segments of every rendition were stored (watchable before `ready`).
    pub playable_at: Option<OffsetDateTime>,
    pub time_to_playable_ms: Option<i64>,
    pub time_to_complete_ms: Option<i64>,
}

/// What the upload service knows when a source has been stored.
#[derive(Debug, Clone)]
pub struct NewVideo<'a> {
    pub id: VideoId,
    pub owner_id: UserId,
    pub title: &'a str,
    pub description: &'a str,
    pub tags: &'a [String],
    pub source_key: &'a str,
    pub source_size: i64,
    pub source_filename: Option<&'a str>,
}

/// What a finished transcode produced.
#[derive(Debug, Clone)]
pub struct TranscodedMedia {
    pub duration_ms: i64,
    pub width: i32,
    pub height: i32,
    pub hls_key: String,
    pub thumbnail_key: String,
    pub storyboard_key: Option<String>,
    pub renditions: Vec<Rendition>,
    pub time_to_complete_ms: i64,
}

/// A position in a newest-first listing; opaque to clients and stable under inserts
/// because it names a row, not an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: OffsetDateTime,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.created_at.unix_timestamp_nanos(), self.id))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let (nanos, id) = text.split_once('|')?;
        let created_at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
        Some(Self {
            created_at,
            id: id.parse().ok()?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VideoQueryError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("row holds an unknown status: {0}")]
    Status(#[from] skillreel_domain::UnknownStatus),
}

struct VideoRow {
    id: Uuid,
    owner_id: Uuid,
    owner_name: String,
    title: String,
    description: String,
    tags: Vec<String>,
    status: String,
    failure_reason: Option<String>,
    source_key: Option<String>,
    source_size: Option<i64>,
    duration_ms: Option<i64>,
    width: Option<i32>,
    height: Option<i32>,
    hls_key: Option<String>,
    thumbnail_key: Option<String>,
    storyboard_key: Option<String>,
    renditions: Json<Vec<Rendition>>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    upload_offset: Option<i64>,
    upload_length: Option<i64>,
    processing_progress: Option<f32>,
    playable_at: Option<OffsetDateTime>,
    time_to_playable_ms: Option<i64>,
    time_to_complete_ms: Option<i64>,
}

impl TryFrom<VideoRow> for VideoRecord {
    type Error = VideoQueryError;

    fn try_from(r: VideoRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: VideoId::from_uuid(r.id),
            owner_id: UserId::from_uuid(r.owner_id),
            owner_name: r.owner_name,
            title: r.title,
            description: r.description,
            tags: r.tags,
            status: r.status.parse()?,
            failure_reason: r.failure_reason,
            source_key: r.source_key,
            source_size: r.source_size,
            duration_ms: r.duration_ms,
            width: r.width,
            height: r.height,
            hls_key: r.hls_key,
            thumbnail_key: r.thumbnail_key,
            storyboard_key: r.storyboard_key,
            renditions: r.renditions.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
            upload_progress: r.upload_offset.map(|received| (received, r.upload_length)),
            processing_progress: r.processing_progress,
            playable_at: r.playable_at,
            time_to_playable_ms: r.time_to_playable_ms,
            time_to_complete_ms: r.time_to_complete_ms,
        })
    }
}

/// Inserts a video: `processing` when its source is stored, `uploading` while a
/// resumable upload fills it.
#[tracing::instrument(skip(conn, video), fields(video_id = %video.id))]
pub async fn insert(conn: &mut PgConnection, video: &NewVideo<'_>, status: VideoStatus) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into video (id, owner_id, title, description, tags, status, source_key, source_size, source_filename)
        values ($1, $2, $3, $4, $5, $9, $6, $7, $8)
        "#,
        video.id.as_uuid(),
        video.owner_id.as_uuid(),
        video.title,
        video.description,
        video.tags,
        video.source_key,
        video.source_size,
        video.source_filename,
        status.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An upload finished: the video waits for the transcoder now.
pub async fn start_processing(conn: &mut PgConnection, id: VideoId, source_size: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update video set status = 'processing', source_size = $2, processing_progress = 0, updated_at = now() where id = $1 and status = 'uploading'",
        id.as_uuid(),
        source_size,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a video that never got past `uploading` (a terminated upload).
pub async fn delete_uploading(conn: &mut PgConnection, id: VideoId) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from video where id = $1 and status = 'uploading'", id.as_uuid())
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends an upload that never finished: the author sees why in their list.
pub async fn fail_uploading(conn: &mut PgConnection, id: VideoId, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update video set status = 'failed', failure_reason = $2, updated_at = now() where id = $1 and status = 'uploading'",
        id.as_uuid(),
        reason,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(skip(conn))]
pub async fn find(conn: &mut PgConnection, id: VideoId) -> Result<Option<VideoRecord>, VideoQueryError> {
    let row = sqlx::query_as!(
        VideoRow,
        r#"
        select v.id, v.owner_id, u.name as owner_name, v.title, v.description, v.tags, v.status,
               v.failure_reason, v.source_key, v.source_size, v.duration_ms, v.width, v.height,
               v.hls_key, v.thumbnail_key, v.storyboard_key, v.renditions as "renditions: Json<Vec<Rendition>>",
               v.created_at, v.updated_at, up.upload_offset as "upload_offset?", up.length as "upload_length?",
               v.processing_progress, v.playable_at, v.time_to_playable_ms, v.time_to_complete_ms
          from video v join app_user u on u.id = v.owner_id
          left join upload up on up.video_id = v.id and v.status = 'uploading'
         where v.id = $1
        "#,
        id.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    row.map(VideoRecord::try_from).transpose()
}

/// Newest first: the viewer's own videos in any state and everyone's ready or
/// published ones. `limit` rows after `after`.
#[tracing::instrument(skip(conn))]
pub async fn list_visible(
    conn: &mut PgConnection,
    viewer: UserId,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<VideoRecord>, VideoQueryError> {
    let (after_at, after_id) = match after {
        Some(c) => (Some(c.created_at), Some(c.id)),
        None => (None, None),
    };
    let rows = sqlx::query_as!(
        VideoRow,
        r#"
        select v.id, v.owner_id, u.name as owner_name, v.title, v.description, v.tags, v.status,
               v.failure_reason, v.source_key, v.source_size, v.duration_ms, v.width, v.height,
               v.hls_key, v.thumbnail_key, v.storyboard_key, v.renditions as "renditions: Json<Vec<Rendition>>",
               v.created_at, v.updated_at, up.upload_offset as "upload_offset?", up.length as "upload_length?",
               v.processing_progress, v.playable_at, v.time_to_playable_ms, v.time_to_complete_ms
          from video v join app_user u on u.id = v.owner_id
          left join upload up on up.video_id = v.id and v.status = 'uploading'
         where (v.owner_id = $1 or v.status in ('ready', 'published'))
           and v.status <> 'removed'
           and ($2::timestamptz is null or (v.created_at, v.id) < ($2, $3::uuid))
         order by v.created_at desc, v.id desc
         limit $4
        "#,
        viewer.as_uuid(),
        after_at,
        after_id,
        limit,
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(VideoRecord::try_from).collect()
}

/// Moves a processing video to ready with what the transcoder made. Returns false when
/// the video is no longer processing (deleted meanwhile), so the caller can clean up.
#[tracing::instrument(skip(conn, media))]
pub async fn mark_ready(conn: &mut PgConnection, id: VideoId, media: &TranscodedMedia) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video
           set status = 'ready', failure_reason = null, duration_ms = $2, width = $3, height = $4,
               hls_key = $5, thumbnail_key = $6, renditions = $7, processing_progress = 1,
               time_to_complete_ms = $8, playable_at = coalesce(playable_at, now()),
               time_to_playable_ms = coalesce(time_to_playable_ms, $8), storyboard_key = $9, updated_at = now()
         where id = $1 and status = 'processing'
        "#,
        id.as_uuid(),
        media.duration_ms,
        media.width,
        media.height,
        media.hls_key,
        media.thumbnail_key,
        Json(&media.renditions) as _,
        media.time_to_complete_ms,
        media.storyboard_key,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How far the transcode of a processing video has come.
pub async fn set_progress(conn: &mut PgConnection, id: VideoId, progress: f32) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update video set processing_progress = $2 where id = $1 and status = 'processing'",
        id.as_uuid(),
        progress.clamp(0.0, 1.0),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The first segments of every rendition are stored: the author can start watching
/// while the rest of the ladder is made. False when the video is no longer processing.
pub async fn mark_playable(
    conn: &mut PgConnection,
    id: VideoId,
    hls_key: &str,
    time_to_playable_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video set hls_key = $2, playable_at = now(), time_to_playable_ms = $3, updated_at = now()
         where id = $1 and status = 'processing'
        "#,
        id.as_uuid(),
        hls_key,
        time_to_playable_ms,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a video from every listing (its media is deleted by the caller). An
/// unfinished upload is made due for the expiry sweep, which frees its parts.
/// Returns false when there was nothing to remove.
pub async fn mark_removed(conn: &mut PgConnection, id: VideoId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video set status = 'removed', hls_key = null, thumbnail_key = null, storyboard_key = null,
               playable_at = null,
               updated_at = now()
         where id = $1 and status <> 'removed'
        "#,
        id.as_uuid(),
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query!(
        "update upload set expires_at = now() where video_id = $1 and status = 'uploading'",
        id.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// A failed video goes back to `processing` for another transcode (an operator's retry).
pub async fn retry_processing(conn: &mut PgConnection, id: VideoId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video set status = 'processing', failure_reason = null, processing_progress = 0, playable_at = null,
               time_to_playable_ms = null, time_to_complete_ms = null, updated_at = now()
         where id = $1 and status = 'failed'
        "#,
        id.as_uuid(),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a video as failed with a reason its author can read.
#[tracing::instrument(skip(conn))]
pub async fn mark_failed(conn: &mut PgConnection, id: VideoId, reason: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update video set status = 'failed', failure_reason = $2, updated_at = now() where id = $1 and status = 'processing'",
        id.as_uuid(),
        reason,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let c = Cursor {
            created_at: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not a cursor"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("12|nope")), None);
    }
}
