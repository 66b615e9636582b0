//! Resumable uploads: their state, their parts, and the lease a PATCH holds.

use std::time::Duration;

use skillreel_domain::{UserId, VideoId};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct UploadRecord {
    pub id: Uuid,
    pub owner_id: UserId,
    pub video_id: VideoId,
    pub length: Option<i64>,
    pub offset: i64,
    pub storage_key: String,
    pub multipart_id: Option<String>,
    pub pending_size: i64,
    pub metadata: String,
    pub status: String,
    pub expires_at: OffsetDateTime,
}

/// A stored part of a multipart write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPart {
    pub number: i32,
    pub etag: String,
    pub size: i64,
}

#[derive(Debug, Clone)]
pub struct NewUpload<'a> {
    pub id: Uuid,
    pub owner_id: UserId,
    pub video_id: VideoId,
    pub length: Option<i64>,
    pub storage_key: &'a str,
    pub multipart_id: Option<&'a str>,
    pub metadata: &'a str,
    pub expires_at: OffsetDateTime,
}

struct Row {
    id: Uuid,
    owner_id: Uuid,
    video_id: Uuid,
    length: Option<i64>,
    upload_offset: i64,
    storage_key: String,
    multipart_id: Option<String>,
    pending_size: i64,
    metadata: String,
    status: String,
    expires_at: OffsetDateTime,
}

impl From<Row> for UploadRecord {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            owner_id: UserId::from_uuid(r.owner_id),
            video_id: VideoId::from_uuid(r.video_id),
            length: r.length,
            offset: r.upload_offset,
            storage_key: r.storage_key,
            multipart_id: r.multipart_id,
            pending_size: r.pending_size,
            metadata: r.metadata,
            status: r.status,
            expires_at: r.expires_at,
        }
    }
}

pub async fn create(conn: &mut PgConnection, upload: &NewUpload<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into upload (id, owner_id, video_id, length, storage_key, multipart_id, metadata, expires_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8)
        "#,
        upload.id,
        upload.owner_id.as_uuid(),
        upload.video_id.as_uuid(),
        upload.length,
        upload.storage_key,
        upload.multipart_id,
        upload.metadata,
        upload.expires_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The upload if `owner` owns it; someone else's is as good as missing.
pub async fn find_for_owner(
    conn: &mut PgConnection,
    id: Uuid,
    owner: UserId,
) -> Result<Option<UploadRecord>, sqlx::Error> {
    let row = sqlx::query_as!(
        Row,
        r#"
        select id, owner_id, video_id, length, upload_offset, storage_key, multipart_id, pending_size,
               metadata, status, expires_at
          from upload where id = $1 and owner_id = $2
        "#,
        id,
        owner.as_uuid(),
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(UploadRecord::from))
}

/// What trying to take an upload's PATCH lease gave.
#[derive(Debug)]
pub enum Lease {
    Held(UploadRecord),
    /// Another request holds it.
    Busy,
    /// No such upload for this owner, or it is no longer accepting bytes.
    Unavailable,
}

/// Takes the PATCH lease of an upload that is still receiving bytes.
pub async fn lease(pool: &PgPool, id: Uuid, owner: UserId, token: Uuid, ttl: Duration) -> Result<Lease, sqlx::Error> {
    let row = sqlx::query_as!(
        Row,
        r#"
        update upload set lock_token = $3, locked_until = now() + make_interval(secs => $4), updated_at = now()
         where id = $1 and owner_id = $2 and status = 'uploading' and expires_at > now()
           and (locked_until is null or locked_until < now())
        returning id, owner_id, video_id, length, upload_offset, storage_key, multipart_id, pending_size,
                  metadata, status, expires_at
        "#,
        id,
        owner.as_uuid(),
        token,
        ttl.as_secs_f64(),
    )
    .fetch_optional(pool)
    .await?;
    if let Some(row) = row {
        return Ok(Lease::Held(row.into()));
    }
    let busy = sqlx::query_scalar!(
        r#"select exists (select 1 from upload where id = $1 and owner_id = $2 and status = 'uploading'
                  and expires_at > now() and locked_until >= now()) as "busy!""#,
        id,
        owner.as_uuid(),
    )
    .fetch_one(pool)
    .await?;
    Ok(if busy { Lease::Busy } else { Lease::Unavailable })
}

/// Extends a held lease; false when it was lost.
pub async fn extend_lease(pool: &PgPool, id: Uuid, token: Uuid, ttl: Duration) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update upload set locked_until = now() + make_interval(secs => $3) where id = $1 and lock_token = $2",
        id,
        token,
        ttl.as_secs_f64(),
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn release_lease(pool: &PgPool, id: Uuid, token: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update upload set lock_token = null, locked_until = null where id = $1 and lock_token = $2",
        id,
        token
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Commits what a PATCH stored: the new parts, offset and pending tail, and releases
/// the lease. False when the lease was lost meanwhile (nothing is written then).
pub async fn record_progress(
    conn: &mut PgConnection,
    id: Uuid,
    token: Uuid,
    offset: i64,
    pending_size: i64,
    length: Option<i64>,
    parts: &[UploadPart],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update upload set upload_offset = $3, pending_size = $4, length = coalesce(length, $5),
               lock_token = null, locked_until = null, updated_at = now()
         where id = $1 and lock_token = $2
        "#,
        id,
        token,
        offset,
        pending_size,
        length,
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    for part in parts {
        sqlx::query!(
            r#"
            insert into upload_part (upload_id, part_number, etag, size) values ($1, $2, $3, $4)
            on conflict (upload_id, part_number) do update set etag = excluded.etag, size = excluded.size
            "#,
            id,
            part.number,
            part.etag,
            part.size,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

pub async fn parts(conn: &mut PgConnection, id: Uuid) -> Result<Vec<UploadPart>, sqlx::Error> {
    let rows = sqlx::query!(
        "select part_number, etag, size from upload_part where upload_id = $1 order by part_number",
        id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| UploadPart {
            number: r.part_number,
            etag: r.etag,
            size: r.size,
        })
        .collect())
}

/// Moves an upload to a final state (`complete`, `cancelled`, `expired`).
pub async fn finish(conn: &mut PgConnection, id: Uuid, status: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update upload set status = $2, lock_token = null, locked_until = null, updated_at = now() where id = $1",
        id,
        status,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Unfinished uploads past their expiry, claimed so two sweepers don't race.
pub async fn claim_expired(conn: &mut PgConnection, limit: i64) -> Result<Vec<UploadRecord>, sqlx::Error> {
    let rows = sqlx::query_as!(
        Row,
        r#"
        select id, owner_id, video_id, length, upload_offset, storage_key, multipart_id, pending_size,
               metadata, status, expires_at
          from upload
         where status = 'uploading' and expires_at < now() and (locked_until is null or locked_until < now())
         order by expires_at
         limit $1
         for update skip locked
        "#,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(UploadRecord::from).collect())
}

/// Unfinished uploads nobody has touched for `idle`, with a known length: candidates
/// whose object may already be assembled (a commit that failed after assembly).
pub async fn claim_idle(conn: &mut PgConnection, idle: Duration, limit: i64) -> Result<Vec<UploadRecord>, sqlx::Error> {
    let rows = sqlx::query_as!(
        Row,
        r#"
        select id, owner_id, video_id, length, upload_offset, storage_key, multipart_id, pending_size,
               metadata, status, expires_at
          from upload
         where status = 'uploading' and length is not null and expires_at > now()
           and updated_at < now() - make_interval(secs => $1)
           and (locked_until is null or locked_until < now())
         order by updated_at
         limit $2
         for update skip locked
        "#,
        idle.as_secs_f64(),
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(UploadRecord::from).collect())
}

/// Records an upload as fully received (its object is assembled).
pub async fn mark_received(conn: &mut PgConnection, id: Uuid, size: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update upload set upload_offset = $2, pending_size = 0, updated_at = now() where id = $1",
        id,
        size
    )
    .execute(conn)
    .await?;
    Ok(())
}
