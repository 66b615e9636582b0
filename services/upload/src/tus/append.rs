//! One PATCH's bytes: into numbered parts, the remainder into a pending object, the
//! new offset committed only when everything it counts is stored.

use std::time::{Duration, Instant};

use actix_web::web::Payload;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use skillreel_auth::AuthUser;
use skillreel_db::uploads::{self, Lease, UploadPart, UploadRecord};
use skillreel_db::videos;
use skillreel_storage::{ObjectKey, Storage, StorageError};
use skillreel_web::{ApiError, ErrorCode};
use uuid::Uuid;

use super::protocol::Checksum;
use crate::{UploadContext, checks};

/// Parts are cut at this size; memory per PATCH stays around it.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// A PATCH holds its lease this long past the last sign of life.
const LEASE_TTL: Duration = Duration::from_secs(60);
const LEASE_RENEW: Duration = Duration::from_secs(15);

/// Where bytes below the store's minimum part size wait for the next PATCH. Named by
/// the offset they end at, so a failed PATCH never overwrites the committed one.
pub(super) fn pending_key(upload: &UploadRecord, offset: i64) -> Result<ObjectKey, ApiError> {
    ObjectKey::parse(&format!("{}.pending-{offset}", upload.storage_key)).map_err(ApiError::internal)
}

fn storage_error(e: StorageError) -> ApiError {
    ApiError::unavailable(e)
}

/// What a PATCH asks for.
pub struct AppendRequest {
    pub offset: u64,
    pub length: Option<u64>,
    pub checksum: Option<Checksum>,
}

pub struct Appended {
    pub offset: i64,
    pub upload: UploadRecord,
}

/// Takes the upload's lease, appends, and always gives the lease back.
pub async fn append(
    ctx: &UploadContext,
    user: &AuthUser,
    id: Uuid,
    request: AppendRequest,
    body: Payload,
) -> Result<Appended, ApiError> {
    let token = Uuid::new_v4();
    let upload = match uploads::lease(&ctx.pool, id, user.id, token, LEASE_TTL).await? {
        Lease::Held(upload) => upload,
        Lease::Busy => {
            return Err(ApiError::conflict(
                "another request is uploading to this upload right now",
            ));
        }
        Lease::Unavailable => return Err(unavailable(ctx, user, id).await),
    };
    let result = Appender { ctx, upload, token }.run(request, body).await;
    if result.is_err() {
        let _ = uploads::release_lease(&ctx.pool, id, token).await;
    }
    result
}

/// Why an upload takes no bytes: missing, someone else's, finished, or gone.
pub async fn unavailable(ctx: &UploadContext, user: &AuthUser, id: Uuid) -> ApiError {
    let mut conn = match ctx.pool.acquire().await {
        Ok(conn) => conn,
        Err(e) => return e.into(),
    };
    match uploads::find_for_owner(&mut conn, id, user.id).await {
        Ok(Some(u)) if u.status == "complete" => ApiError::conflict("this upload is already complete"),
        Ok(Some(_)) => ApiError::new(ErrorCode::Gone, "this upload expired or was terminated"),
        Ok(None) => ApiError::not_found("upload"),
        Err(e) => e.into(),
    }
}

struct Appender<'a> {
    ctx: &'a UploadContext,
    upload: UploadRecord,
    token: Uuid,
}

impl Appender<'_> {
    async fn run(self, request: AppendRequest, mut body: Payload) -> Result<Appended, ApiError> {
        let upload = &self.upload;
        let start = upload.offset;
        if request.offset != start as u64 {
            return Err(ApiError::conflict(format!(
                "`Upload-Offset` is {} but the upload is at {start}",
                request.offset
            )));
        }
        let length = match (upload.length, request.length) {
            (Some(known), Some(sent)) if known as u64 != sent => {
                return Err(ApiError::bad_request("`Upload-Length` cannot change once set"));
            }
            (Some(known), _) => Some(known as u64),
            (None, Some(sent)) if sent < start as u64 => {
                return Err(ApiError::bad_request(
                    "`Upload-Length` is below what was already received",
                ));
            }
            (None, sent) => sent,
        };
        if length.is_some_and(|l| l > self.ctx.max_size_bytes) {
            return Err(self.too_large());
        }
        let key = ObjectKey::parse(&upload.storage_key).map_err(ApiError::internal)?;
        let storage = self.ctx.storage.as_ref();
        let mut conn = self.ctx.pool.acquire().await?;
        let committed = uploads::parts(&mut conn, upload.id).await?;
        drop(conn);
        let mut next_part = committed.last().map_or(1, |p| p.number + 1);

        let mut buffer = BytesMut::new();
        // The object offset at which `buffer` begins.
        let mut buffer_at = (start - upload.pending_size) as u64;
        if upload.pending_size > 0 {
            let pending = read_all(storage, &pending_key(upload, start)?).await?;
            buffer.extend_from_slice(&pending);
        }
        // A deferred length was not reserved at creation: stop the body at what is left
        // (the reservation in `commit` is what counts; this refuses early).
        let quota = match upload.length {
            Some(_) => u64::MAX,
            None => {
                let mut conn = self.ctx.pool.acquire().await?;
                let left = checks::remaining_quota(&mut conn, upload.owner_id, self.ctx.quotas).await?;
                (start as u64).saturating_add(left)
            }
        };
        // The first bytes of an upload must look like a video container.
        let mut sniffed = buffer_at > 0;
        let mut checksum = request.checksum;
        let mut received: u64 = 0;
        let mut stored = Vec::new();
        let mut renewed = Instant::now();
        // One part is written while the next is received, so network and store work at
        // the same time. The write in flight is always awaited before this returns: no
        // stale write can land after the upload is handed back.
        let mut in_flight = None;
        let streamed: Result<(), ApiError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    // The client went away. Without a checksum, keep what arrived so it can
                    // resume from there; with one, the chunk is incomplete and unverifiable.
                    Err(_) if checksum.is_none() => break,
                    Err(e) => return Err(ApiError::bad_request(format!("the upload was interrupted: {e}"))),
                };
                received += chunk.len() as u64;
                let total = start as u64 + received;
                if length.is_some_and(|l| total > l) {
                    return Err(ApiError::bad_request("more bytes than `Upload-Length` announced"));
                }
                if total > self.ctx.max_size_bytes {
                    return Err(self.too_large());
                }
                if total > quota {
                    return Err(checks::over_quota(quota));
                }
                if let Some(c) = checksum.as_mut() {
                    c.update(&chunk);
                }
                buffer.extend_from_slice(&chunk);
                if !sniffed && buffer.len() >= checks::SNIFF_LEN {
                    checks::sniff(&buffer[..checks::SNIFF_LEN])?;
                    sniffed = true;
                }
                while buffer.len() >= PART_SIZE {
                    let part = buffer.split_to(PART_SIZE).freeze();
                    if let Some(previous) = in_flight.take() {
                        stored.push(joined(previous).await?);
                    }
                    in_flight = Some(self.spawn_part(&key, next_part, buffer_at, part));
                    buffer_at += PART_SIZE as u64;
                    next_part += 1;
                }
                if renewed.elapsed() > LEASE_RENEW {
                    if !uploads::extend_lease(&self.ctx.pool, upload.id, self.token, LEASE_TTL).await? {
                        return Err(ApiError::conflict("the upload was taken over by another request"));
                    }
                    renewed = Instant::now();
                }
            }
            Ok(())
        }
        .await;
        if let Some(last) = in_flight.take() {
            let written = joined(last).await;
            if streamed.is_ok() {
                stored.push(written?);
            }
        }
        streamed?;
        // A request that stalled past its lease must not write its tail over another's.
        if !uploads::extend_lease(&self.ctx.pool, upload.id, self.token, LEASE_TTL).await? {
            return Err(ApiError::conflict("the upload was taken over by another request"));
        }
        if checksum.is_some_and(|c| !c.matches()) {
            return Err(ApiError::new(
                ErrorCode::ChecksumMismatch,
                "the data does not match `Upload-Checksum`",
            ));
        }

        let offset = start + received as i64;
        let complete = length == Some(offset as u64);
        if !sniffed && complete {
            checks::sniff(&buffer)?;
        }
        let mut pending_size = 0;
        if complete || buffer.len() >= storage.min_part_size() {
            // The last part may be small; so may be the only part of a tiny file.
            if !buffer.is_empty() || (committed.is_empty() && stored.is_empty()) {
                stored.push(
                    self.put_part(&key, next_part, buffer_at, buffer.split().freeze())
                        .await?,
                );
            }
        } else if !buffer.is_empty() {
            pending_size = buffer.len() as i64;
            skillreel_storage::put_bytes(
                storage,
                &pending_key(upload, offset)?,
                buffer.freeze(),
                "application/octet-stream",
            )
            .await
            .map_err(storage_error)?;
        }
        if !stored.is_empty() {
            storage.sync_parts(&key).await.map_err(storage_error)?;
        }
        if complete {
            let all: Vec<(i32, String)> = committed
                .iter()
                .chain(&stored)
                .map(|p| (p.number, p.etag.clone()))
                .collect();
            storage
                .complete_parts(&key, upload.multipart_id.as_deref(), &all, offset as u64)
                .await
                .map_err(storage_error)?;
        }
        self.commit(offset, pending_size, length, &stored, complete).await?;
        if upload.pending_size > 0 && offset != start {
            let _ = storage.delete_prefix(&pending_key(upload, start)?).await;
        }
        Ok(Appended {
            offset,
            upload: self.upload,
        })
    }

    fn too_large(&self) -> ApiError {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("uploads are limited to {} bytes", self.ctx.max_size_bytes),
        )
    }

    /// Writes a part on its own task, so the request body keeps flowing meanwhile.
    fn spawn_part(&self, key: &ObjectKey, number: i32, offset: u64, body: Bytes) -> PartWrite {
        let storage = self.ctx.storage.clone();
        let (key, multipart) = (key.clone(), self.upload.multipart_id.clone());
        tokio::spawn(async move {
            let size = body.len() as i64;
            let etag = storage
                .put_part(&key, multipart.as_deref(), number, offset, body)
                .await
                .map_err(storage_error)?;
            Ok(UploadPart { number, etag, size })
        })
    }

    async fn put_part(&self, key: &ObjectKey, number: i32, offset: u64, body: Bytes) -> Result<UploadPart, ApiError> {
        let size = body.len() as i64;
        let etag = self
            .ctx
            .storage
            .put_part(key, self.upload.multipart_id.as_deref(), number, offset, body)
            .await
            .map_err(storage_error)?;
        Ok(UploadPart { number, etag, size })
    }

    /// The new offset and parts, and on completion the video's move to `processing`
    /// with its transcoding job, in one transaction.
    async fn commit(
        &self,
        offset: i64,
        pending_size: i64,
        length: Option<u64>,
        stored: &[UploadPart],
        complete: bool,
    ) -> Result<(), ApiError> {
        let upload = &self.upload;
        let mut tx = self.ctx.pool.begin().await?;
        if upload.length.is_none() {
            // A deferred length reserves its quota as bytes arrive (all of it once the
            // length is declared), as the video's source size.
            let reserved = length.unwrap_or(offset as u64);
            let more = reserved.saturating_sub(upload.offset.max(0) as u64);
            checks::reserve_quota(&mut tx, upload.owner_id, more, self.ctx.quotas).await?;
            videos::reserve_source_size(&mut tx, upload.video_id, reserved as i64).await?;
        }
        let length = length.map(|l| l as i64);
        if !uploads::record_progress(&mut tx, upload.id, self.token, offset, pending_size, length, stored).await? {
            return Err(ApiError::conflict("the upload was taken over by another request"));
        }
        let wanted = !complete
            || crate::finalize::complete_upload(&mut tx, upload.id, upload.video_id, offset, self.ctx.max_attempts)
                .await?;
        tx.commit().await?;
        if !wanted {
            let key = ObjectKey::parse(&upload.storage_key).map_err(ApiError::internal)?;
            if let Err(e) = self.ctx.storage.delete_prefix(&key).await {
                tracing::warn!(error = %e, "could not delete the bytes of a deleted video's upload");
            }
            return Err(crate::finalize::deleted_meanwhile());
        }
        Ok(())
    }
}

type PartWrite = tokio::task::JoinHandle<Result<UploadPart, ApiError>>;

async fn joined(write: PartWrite) -> Result<UploadPart, ApiError> {
    write.await.map_err(ApiError::internal)?
}

async fn read_all(storage: &dyn Storage, key: &ObjectKey) -> Result<Vec<u8>, ApiError> {
    let body = storage.get(key, None).await.map_err(storage_error)?;
    let mut out = Vec::with_capacity(body.total_size as usize);
    let mut stream = body.stream;
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.map_err(|e| storage_error(e.into()))?);
    }
    Ok(out)
}
