//! A video's life from upload to removal: created by the upload service, processed by
//! the transcoder, edited by its author.

use super::*;

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

/// Records the bytes an upload of unknown length has reserved of its owner's quota.
pub async fn reserve_source_size(conn: &mut PgConnection, id: VideoId, bytes: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update video set source_size = $2, updated_at = now() where id = $1 and status = 'uploading'",
        id.as_uuid(),
        bytes,
    )
    .execute(conn)
    .await?;
    Ok(())
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

/// What an author may change after upload; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct VideoChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub language: Option<String>,
    pub visibility: Option<Visibility>,
    /// `Some(None)` takes the video out of its community.
    pub community: Option<Option<CommunityId>>,
    /// A published video goes back to `pending_review` with the change (its
    /// community's policy wants a reviewer to see what is published).
    pub to_review: bool,
}

impl VideoChanges {
    /// Whether applying these changes alters what a reviewer approved of `video`:
    /// its text, tags, language or audience.
    pub fn alter_reviewed_content(&self, video: &VideoRecord) -> bool {
        let differs = |new: Option<&str>, old: &str| new.is_some_and(|new| new != old);
        differs(self.title.as_deref(), &video.title)
            || differs(self.description.as_deref(), &video.description)
            || differs(self.language.as_deref(), &video.language)
            || self.tags.as_ref().is_some_and(|tags| *tags != video.tags)
            || self.visibility.is_some_and(|v| v != video.visibility)
    }
}

pub async fn update(conn: &mut PgConnection, id: VideoId, changes: &VideoChanges) -> Result<bool, sqlx::Error> {
    let (set_community, community) = match changes.community {
        Some(c) => (true, c.map(|c| c.as_uuid())),
        None => (false, None),
    };
    let done = sqlx::query!(
        r#"
        update video
           set title = coalesce($2, title), description = coalesce($3, description),
               tags = coalesce($4, tags), language = coalesce($5, language),
               visibility = coalesce($6, visibility),
               community_id = case when $7 then $8 else community_id end,
               status = case when $9 and status = 'published' then 'pending_review' else status end,
               updated_at = now()
         where id = $1 and status <> 'removed'
        "#,
        id.as_uuid(),
        changes.title,
        changes.description,
        changes.tags.as_deref(),
        changes.language,
        changes.visibility.map(Visibility::as_str),
        set_community,
        community,
        changes.to_review,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
