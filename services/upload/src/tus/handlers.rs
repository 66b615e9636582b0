//! One handler per tus request.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use skillreel_auth::AuthUser;
use skillreel_db::uploads::{self, Lease, NewUpload, UploadRecord};
use skillreel_db::videos::{self, NewVideo};
use skillreel_domain::VideoId;
use skillreel_storage::VideoFiles;
use skillreel_web::{ApiError, ErrorCode, RouteSpec};
use time::OffsetDateTime;
use uuid::Uuid;

use super::append::{AppendRequest, append, unavailable};
use super::protocol::{self, Checksum};
use crate::UploadContext;
use crate::checks::validate_metadata;
use skillreel_web::openapi::Header;

const RESUMABLE: Header = Header {
    name: "Tus-Resumable",
    about: "the protocol version, `1.0.0`",
    required: true,
    pattern: "^1\\.0\\.0$",
};
const OFFSET: Header = Header {
    name: "Upload-Offset",
    about: "where these bytes start (the offset a HEAD reports)",
    required: true,
    pattern: "^(0|[1-9][0-9]{0,17})$",
};
const LENGTH: Header = Header {
    name: "Upload-Length",
    about: "the file's size in bytes; without it the size is deferred (`Upload-Defer-Length: 1`)",
    required: true,
    pattern: "^[1-9][0-9]{0,17}$",
};
const METADATA: Header = Header {
    name: "Upload-Metadata",
    about: "`title`, `description`, `tags`, `filename`, `filetype`: each a key, a space and the base64 of its value",
    required: false,
    pattern: "^[a-z]{1,20} [A-Za-z0-9+/]{4,400}={0,2}(,[a-z]{1,20} [A-Za-z0-9+/]{4,400}={0,2}){0,4}$",
};

/// The tus routes.
pub fn routes() -> [RouteSpec; 5] {
    use actix_web::http::Method;
    use skillreel_web::openapi::{Body, Doc, Success};
    [
        RouteSpec::new(Method::OPTIONS, "/api/v1/uploads", || {
            web::method(Method::OPTIONS).to(discover)
        })
        .doc(
            Doc::new(
                "upload",
                "tus 1.0: the server's version, extensions and limits",
                Success::NoContent,
            )
            .public(),
        ),
        RouteSpec::new(Method::POST, "/api/v1/uploads", || web::post().to(create_upload)).doc(
            Doc::new(
                "upload",
                "tus 1.0: create a resumable upload (see the API guide)",
                Success::CreatedEmpty,
            )
            .headers(&[RESUMABLE, LENGTH, METADATA]),
        ),
        RouteSpec::new(Method::HEAD, "/api/v1/uploads/{id:[0-9a-fA-F-]{36}}", || {
            web::head().to(head_upload)
        })
        .doc(
            Doc::new(
                "upload",
                "tus 1.0: where an upload stands (Upload-Offset)",
                Success::HeadersOnly,
            )
            .headers(&[RESUMABLE]),
        ),
        RouteSpec::new(Method::PATCH, "/api/v1/uploads/{id:[0-9a-fA-F-]{36}}", || {
            web::patch().to(patch_upload)
        })
        .doc(
            Doc::new(
                "upload",
                "tus 1.0: append bytes at Upload-Offset (an optional `Upload-Checksum: sha1 <base64>` is verified)",
                Success::NoContent,
            )
            .body(Body::Bytes("application/offset+octet-stream"))
            .headers(&[RESUMABLE, OFFSET]),
        ),
        RouteSpec::new(Method::DELETE, "/api/v1/uploads/{id:[0-9a-fA-F-]{36}}", || {
            web::delete().to(delete_upload)
        })
        .doc(Doc::new("upload", "tus 1.0: terminate an upload", Success::NoContent).headers(&[RESUMABLE])),
    ]
}

fn tus(mut response: HttpResponseBuilder) -> HttpResponseBuilder {
    response
        .insert_header(("Tus-Resumable", protocol::VERSION))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

fn upload_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("upload"))
}

/// `OPTIONS`: what this server supports.
async fn discover(ctx: web::Data<UploadContext>) -> HttpResponse {
    tus(HttpResponse::NoContent())
        .insert_header(("Tus-Version", protocol::VERSION))
        .insert_header(("Tus-Extension", protocol::EXTENSIONS))
        .insert_header(("Tus-Max-Size", ctx.max_size_bytes.to_string()))
        .insert_header(("Tus-Checksum-Algorithm", protocol::CHECKSUM_ALGORITHMS))
        .finish()
}

fn location(ctx: &UploadContext, req: &HttpRequest, id: Uuid) -> String {
    format!(
        "{}/api/v1/uploads/{id}",
        skillreel_web::public_base_url(ctx.public_url.as_deref(), req)
    )
}

/// `POST`: creates an upload (and its video, `uploading`), optionally with the first bytes.
#[tracing::instrument(skip_all, fields(user = %user.subject))]
async fn create_upload(
    user: AuthUser,
    ctx: web::Data<UploadContext>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    protocol::check_version(&req)?;
    let length = protocol::byte_count(&req, "Upload-Length")?;
    let deferred = req
        .headers()
        .get("Upload-Defer-Length")
        .is_some_and(|v| v.as_bytes() == b"1");
    match (length, deferred) {
        (None, false) => {
            return Err(ApiError::bad_request(
                "send `Upload-Length` or `Upload-Defer-Length: 1`",
            ));
        }
        (Some(_), true) => {
            return Err(ApiError::bad_request(
                "send `Upload-Length` or `Upload-Defer-Length`, not both",
            ));
        }
        (Some(0), _) => return Err(ApiError::validation("the file is empty")),
        (Some(l), _) if l > ctx.max_size_bytes => {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("uploads are limited to {} bytes", ctx.max_size_bytes),
            ));
        }
        _ => {}
    }
    let raw_metadata = req
        .headers()
        .get("Upload-Metadata")
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .unwrap_or_default();
    if raw_metadata.contains('\u{0}') || raw_metadata.len() > 8 * 1024 {
        return Err(ApiError::bad_request(
            "`Upload-Metadata` must be ASCII and at most 8 KiB",
        ));
    }
    let metadata = validate_metadata(&protocol::parse_metadata(raw_metadata)?)?;
    let with_body = protocol::has_upload_body(&req)?;
    let checksum = if with_body { Checksum::from_request(&req)? } else { None };

    let (id, video_id) = (Uuid::now_v7(), VideoId::new());
    let key = VideoFiles::of(video_id).source();
    let multipart = ctx.storage.begin_parts(&key).await.map_err(ApiError::unavailable)?;
    let expires_at = OffsetDateTime::now_utc() + ctx.upload_expiry;
    let tags = metadata.tags.as_strings();
    let video = NewVideo {
        id: video_id,
        owner_id: user.id,
        title: metadata.title.as_str(),
        description: metadata.description.as_str(),
        tags: &tags,
        source_key: key.as_str(),
        source_size: length.unwrap_or(0) as i64,
        source_filename: metadata.filename.as_deref(),
    };
    let upload = NewUpload {
        id,
        owner_id: user.id,
        video_id,
        length: length.map(|l| l as i64),
        storage_key: key.as_str(),
        multipart_id: multipart.as_deref(),
        metadata: raw_metadata,
        expires_at,
    };
    // A known length is reserved now; a deferred one as its bytes are committed.
    if let Err(e) = crate::finalize::begin_upload(&ctx, &video, &upload, length).await {
        let _ = ctx.storage.abort_parts(&key, multipart.as_deref()).await;
        return Err(e);
    }
    tracing::info!(upload = %id, video = %video_id, length, "upload created");

    let mut response = tus(HttpResponse::Created());
    response
        .insert_header((header::LOCATION, location(&ctx, &req, id)))
        .insert_header(("Video-Id", video_id.to_string()))
        .insert_header(("Upload-Expires", protocol::http_date(expires_at)));
    if with_body {
        // All or nothing: a refused first chunk leaves no upload the client can't see.
        let first = AppendRequest {
            offset: 0,
            length,
            checksum,
        };
        match append(&ctx, &user, id, first, body).await {
            Ok(appended) => {
                response.insert_header(("Upload-Offset", appended.offset.to_string()));
            }
            Err(refused) => {
                remove_upload(&ctx, &user, id).await;
                return Err(refused);
            }
        }
    }
    Ok(response.finish())
}

/// Ends a leased upload: frees its bytes in storage, then deletes its video (the
/// upload row goes with it, on delete cascade). On failure the lease is given back.
async fn terminate(ctx: &UploadContext, upload: &UploadRecord, token: Uuid) -> Result<(), ApiError> {
    if let Err(e) = super::sweep::discard(ctx, upload).await {
        let _ = uploads::release_lease(&ctx.pool, upload.id, token).await;
        return Err(e);
    }
    let mut tx = ctx.pool.begin().await?;
    videos::delete_uploading(&mut tx, upload.video_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a just-created upload, its bytes and its video (best effort).
async fn remove_upload(ctx: &UploadContext, user: &AuthUser, id: Uuid) {
    let token = Uuid::new_v4();
    let lease = uploads::lease(&ctx.pool, id, user.id, token, std::time::Duration::from_secs(60)).await;
    if let Ok(Lease::Held(upload)) = lease {
        let _ = terminate(ctx, &upload, token).await;
    }
}

/// `HEAD`: where the upload stands.
#[tracing::instrument(skip_all, fields(user = %user.subject))]
async fn head_upload(
    user: AuthUser,
    ctx: web::Data<UploadContext>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    protocol::check_version(&req)?;
    let id = upload_id(&path)?;
    let mut conn = ctx.pool.acquire().await?;
    let upload = uploads::find_for_owner(&mut conn, id, user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("upload"))?;
    if upload.status == "cancelled" || upload.status == "expired" || upload.expires_at < OffsetDateTime::now_utc() {
        return Err(ApiError::new(ErrorCode::Gone, "this upload expired or was terminated"));
    }
    let mut response = tus(HttpResponse::Ok());
    response
        .insert_header(("Upload-Offset", upload.offset.to_string()))
        .insert_header(("Video-Id", upload.video_id.to_string()));
    match upload.length {
        Some(l) => response.insert_header(("Upload-Length", l.to_string())),
        None => response.insert_header(("Upload-Defer-Length", "1")),
    };
    if !upload.metadata.is_empty() {
        response.insert_header(("Upload-Metadata", upload.metadata.clone()));
    }
    if upload.status == "uploading" {
        response.insert_header(("Upload-Expires", protocol::http_date(upload.expires_at)));
    }
    Ok(response.finish())
}

/// `PATCH`: the next bytes, at the offset the upload is at.
#[tracing::instrument(skip_all, fields(user = %user.subject))]
async fn patch_upload(
    user: AuthUser,
    ctx: web::Data<UploadContext>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    protocol::check_version(&req)?;
    let id = upload_id(&path)?;
    if !protocol::has_upload_body(&req)? {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("a PATCH carries `Content-Type: {}`", protocol::OFFSET_OCTET_STREAM),
        ));
    }
    let offset =
        protocol::byte_count(&req, "Upload-Offset")?.ok_or_else(|| ApiError::bad_request("missing `Upload-Offset`"))?;
    let request = AppendRequest {
        offset,
        length: protocol::byte_count(&req, "Upload-Length")?,
        checksum: Checksum::from_request(&req)?,
    };
    let appended = append(&ctx, &user, id, request, body).await?;
    Ok(tus(HttpResponse::NoContent())
        .insert_header(("Upload-Offset", appended.offset.to_string()))
        .insert_header(("Upload-Expires", protocol::http_date(appended.upload.expires_at)))
        .finish())
}

/// `DELETE`: terminates the upload; its bytes and its video go with it.
#[tracing::instrument(skip_all, fields(user = %user.subject))]
async fn delete_upload(
    user: AuthUser,
    ctx: web::Data<UploadContext>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    protocol::check_version(&req)?;
    let id = upload_id(&path)?;
    let token = Uuid::new_v4();
    let upload = match uploads::lease(&ctx.pool, id, user.id, token, std::time::Duration::from_secs(60)).await? {
        Lease::Held(upload) => upload,
        Lease::Busy => return Err(ApiError::conflict("a PATCH to this upload is in progress")),
        Lease::Unavailable => return Err(unavailable(&ctx, &user, id).await),
    };
    terminate(&ctx, &upload, token).await?;
    tracing::info!(upload = %id, "upload terminated");
    Ok(tus(HttpResponse::NoContent()).finish())
}
