//! Direct-to-storage uploads (S3 only): the client sends the bytes to the object store
//! itself through presigned part URLs, and Skillreel only checks and finalises.
//!
//! `POST /api/v1/uploads/direct` → the video (`uploading`) and one presigned `PUT` URL
//! per part; the client uploads the parts and calls
//! `POST /api/v1/uploads/direct/{id}/complete` with their ETags. The server compares
//! them with what the store holds and with the declared size, assembles the object,
//! sniffs its first bytes, and queues the transcode.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_db::uploads::{self, Lease, NewUpload, UploadPart};
use skillreel_db::videos::{self, NewVideo};
use skillreel_domain::{VideoId, VideoStatus};
use skillreel_storage::{ObjectKey, StorageError, VideoFiles};
use skillreel_web::openapi::{Body, Doc, Success, schema};
use skillreel_web::{ApiError, ErrorCode, RouteSpec};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{UploadContext, checks};

const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;
/// S3's smallest part (but the last).
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// SigV4 presigned URLs live at most a week.
const MAX_URL_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The direct-to-bucket upload routes.
pub fn routes() -> [RouteSpec; 2] {
    use actix_web::http::Method;
    [
        RouteSpec::new(Method::POST, "/api/v1/uploads/direct", || {
            web::post().to(create_direct_upload)
        })
        .doc(
            Doc::new(
                "upload",
                "Direct-to-S3 upload: presigned part URLs",
                Success::Created(schema::<DirectUploadCreated>()),
            )
            .body(Body::Json(schema::<DirectUploadRequest>())),
        ),
        RouteSpec::new(Method::POST, "/api/v1/uploads/direct/{id}/complete", || {
            web::post().to(complete_direct_upload)
        })
        .doc(
            Doc::new(
                "upload",
                "Finish a direct upload with the part ETags",
                Success::Json(schema::<DirectCompleted>()),
            )
            .body(Body::Json(schema::<CompleteRequest>())),
        ),
    ]
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectUploadRequest {
    /// Default: the file's name (one of the two is needed).
    #[schema(
        max_length = 200,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x1f\\x7f-\\x9f\\s][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    title: Option<String>,
    #[schema(max_length = 5000, pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$")]
    description: Option<String>,
    /// Comma-separated, at most 20.
    #[schema(max_length = 1000, pattern = "^[\\w +#.,-]*$")]
    tags: Option<String>,
    filename: Option<String>,
    filetype: Option<String>,
    /// The file's exact size in bytes.
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "skillreel_web::integral")]
    size: u64,
    /// Bytes per part (5 MiB to 5 GiB); 16 MiB when absent.
    #[schema(minimum = 5242880, maximum = 5368709120_u64)]
    #[serde(default, deserialize_with = "skillreel_web::integral_option")]
    part_size: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PresignedPart {
    number: i32,
    url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DirectUploadCreated {
    upload_id: Uuid,
    video_id: VideoId,
    part_size: u64,
    parts: Vec<PresignedPart>,
    /// Where to send the ETags once every part is stored.
    complete_url: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

fn metadata(request: &DirectUploadRequest) -> HashMap<String, String> {
    [
        ("title", &request.title),
        ("description", &request.description),
        ("tags", &request.tags),
        ("filename", &request.filename),
        ("filetype", &request.filetype),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k.to_owned(), v)))
    .collect()
}

fn not_supported() -> ApiError {
    ApiError::conflict("direct uploads need S3 storage; upload with tus at /api/v1/uploads")
}

#[tracing::instrument(skip_all, fields(user = %user.subject))]
async fn create_direct_upload(
    user: AuthUser,
    ctx: web::Data<UploadContext>,
    request: skillreel_web::JsonObject<DirectUploadRequest>,
) -> Result<HttpResponse, ApiError> {
    let meta = checks::validate_metadata(&metadata(&request))?;
    let size = request.size;
    if size == 0 {
        return Err(ApiError::validation("the file is empty"));
    }
    if size > ctx.max_size_bytes {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("uploads are limited to {} bytes", ctx.max_size_bytes),
        ));
    }
    let part_size = request.part_size.unwrap_or(DEFAULT_PART_SIZE);
    if !(MIN_PART_SIZE..=5 * 1024 * 1024 * 1024).contains(&part_size) {
        return Err(ApiError::validation("part_size must be between 5 MiB and 5 GiB"));
    }
    let count = size.div_ceil(part_size);
    if count > MAX_PARTS {
        return Err(ApiError::validation(format!(
            "at most {MAX_PARTS} parts: choose a larger part_size"
        )));
    }

    let (id, video_id) = (Uuid::now_v7(), VideoId::new());
    let key = VideoFiles::of(video_id).source();
    let multipart = ctx.storage.begin_parts(&key).await.map_err(ApiError::unavailable)?;
    let lifetime = ctx.upload_expiry.min(MAX_URL_LIFETIME);
    let mut parts = Vec::with_capacity(count as usize);
    for number in 1..=count as i32 {
        let url = ctx
            .storage
            .presign_part(&key, multipart.as_deref(), number, lifetime)
            .await;
        match url.map_err(ApiError::unavailable)? {
            Some(url) => parts.push(PresignedPart { number, url }),
            None => {
                let _ = ctx.storage.abort_parts(&key, multipart.as_deref()).await;
                return Err(not_supported());
            }
        }
    }
    let expires_at = OffsetDateTime::now_utc() + lifetime;
    let tags = meta.tags.as_strings();
    let video = NewVideo {
        id: video_id,
        owner_id: user.id,
        title: meta.title.as_str(),
        description: meta.description.as_str(),
        tags: &tags,
        source_key: key.as_str(),
        source_size: size as i64,
        source_filename: meta.filename.as_deref(),
    };
    let upload = NewUpload {
        id,
        owner_id: user.id,
        video_id,
        length: Some(size as i64),
        storage_key: key.as_str(),
        multipart_id: multipart.as_deref(),
        metadata: "",
        expires_at,
    };
    if let Err(e) = crate::finalize::begin_upload(&ctx, &video, &upload, Some(size)).await {
        let _ = ctx.storage.abort_parts(&key, multipart.as_deref()).await;
        return Err(e);
    }
    Ok(HttpResponse::Created().json(DirectUploadCreated {
        upload_id: id,
        video_id,
        part_size,
        parts,
        complete_url: format!("/api/v1/uploads/direct/{id}/complete"),
        expires_at,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletedPart {
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(deserialize_with = "skillreel_web::integral")]
    number: i32,
    etag: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    parts: Vec<CompletedPart>,
}

/// A finished direct upload: its video is being transcoded.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectCompleted {
    pub video_id: VideoId,
    pub status: VideoStatus,
}

fn unquote(etag: &str) -> &str {
    etag.trim().trim_matches('"')
}

/// The client's list must be every part, in order, as the store holds it, adding up to
/// the declared size.
fn verify_parts(
    claimed: &[CompletedPart],
    stored: &[(i32, u64, String)],
    size: u64,
) -> Result<Vec<UploadPart>, ApiError> {
    if claimed.is_empty() || claimed.iter().enumerate().any(|(i, p)| p.number != i as i32 + 1) {
        return Err(ApiError::validation("list every part, numbered from 1, in order"));
    }
    let mut verified = Vec::with_capacity(claimed.len());
    for part in claimed {
        let Some((_, bytes, etag)) = stored.iter().find(|(n, _, _)| *n == part.number) else {
            return Err(ApiError::validation(format!("part {} was not uploaded", part.number)));
        };
        // Some S3-compatible stores list parts without ETags; completion checks them anyway.
        if !etag.is_empty() && unquote(etag) != unquote(&part.etag) {
            return Err(ApiError::validation(format!(
                "part {} has another ETag in storage",
                part.number
            )));
        }
        verified.push(UploadPart {
            number: part.number,
            etag: part.etag.clone(),
            size: *bytes as i64,
        });
    }
    let total: u64 = verified.iter().map(|p| p.size as u64).sum();
    if total != size {
        return Err(ApiError::validation(format!(
            "the parts add up to {total} bytes, not the declared {size}"
        )));
    }
    Ok(verified)
}

#[tracing::instrument(skip_all, fields(user = %user.subject))]
async fn complete_direct_upload(
    user: AuthUser,
    ctx: web::Data<UploadContext>,
    path: web::Path<String>,
    request: skillreel_web::JsonObject<CompleteRequest>,
) -> Result<HttpResponse, ApiError> {
    let id: Uuid = path.parse().map_err(|_| ApiError::not_found("upload"))?;
    let token = Uuid::new_v4();
    let upload = match uploads::lease(&ctx.pool, id, user.id, token, Duration::from_secs(120)).await? {
        Lease::Held(upload) => upload,
        Lease::Busy => return Err(ApiError::conflict("this upload is being completed already")),
        Lease::Unavailable => return Err(crate::tus::unavailable(&ctx, &user, id).await),
    };
    let result = finish(&ctx, &upload, token, &request.parts).await;
    if result.is_err() {
        let _ = uploads::release_lease(&ctx.pool, id, token).await;
    }
    result?;
    Ok(HttpResponse::Ok().json(DirectCompleted {
        video_id: upload.video_id,
        status: VideoStatus::Processing,
    }))
}

async fn finish(
    ctx: &UploadContext,
    upload: &uploads::UploadRecord,
    token: Uuid,
    claimed: &[CompletedPart],
) -> Result<(), ApiError> {
    let key = ObjectKey::parse(&upload.storage_key).map_err(ApiError::internal)?;
    let multipart = upload.multipart_id.as_deref();
    let size = upload.length.unwrap_or(0) as u64;
    let stored = ctx
        .storage
        .list_parts(&key, multipart)
        .await
        .map_err(ApiError::unavailable)?;
    let parts = verify_parts(claimed, &stored, size)?;
    let numbered: Vec<(i32, String)> = parts.iter().map(|p| (p.number, p.etag.clone())).collect();
    ctx.storage
        .complete_parts(&key, multipart, &numbered, size)
        .await
        .map_err(|e| match e {
            // The store is the final judge of the ETags: a refusal here is the client's mistake.
            StorageError::Remote(detail) if detail.contains("InvalidPart") => {
                ApiError::validation("a part's ETag does not match what the store holds")
            }
            other => ApiError::unavailable(other),
        })?;
    // The bytes never passed through us: look at the first ones now.
    let head_len = (checks::SNIFF_LEN as u64).min(size);
    let head = ctx
        .storage
        .get(&key, Some((0, head_len - 1)))
        .await
        .map_err(ApiError::unavailable)?;
    let chunks: Vec<bytes::Bytes> = futures_util::TryStreamExt::try_collect(head.stream)
        .await
        .map_err(ApiError::unavailable)?;
    let head = chunks.concat();
    if let Err(refused) = checks::sniff(&head) {
        let _ = ctx.storage.delete_prefix(&key).await;
        let mut tx = ctx.pool.begin().await?;
        videos::delete_uploading(&mut tx, upload.video_id).await?;
        tx.commit().await?;
        return Err(refused);
    }
    let mut tx = ctx.pool.begin().await?;
    if !uploads::record_progress(&mut tx, upload.id, token, size as i64, 0, None, &parts).await? {
        return Err(ApiError::conflict("the upload was taken over by another request"));
    }
    let wanted = crate::complete_upload(&mut tx, upload.id, upload.video_id, size as i64, ctx.max_attempts).await?;
    tx.commit().await?;
    if !wanted {
        if let Err(e) = ctx.storage.delete_prefix(&key).await {
            tracing::warn!(error = %e, "could not delete the bytes of a deleted video's upload");
        }
        return Err(crate::finalize::deleted_meanwhile());
    }
    Ok(())
}
