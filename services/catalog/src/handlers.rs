//! One handler per endpoint.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use skillreel_auth::AuthUser;
use skillreel_db::videos::{self, Cursor};
use skillreel_domain::VideoId;
use skillreel_storage::{ObjectKey, StorageError};
use skillreel_web::range::{RangeRequest, parse_range};
use skillreel_web::{ApiError, ErrorCode};

use crate::views::{MediaLinks, Page, VideoView};
use crate::{CatalogContext, access};

fn parse_video_id(raw: &str) -> Result<VideoId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("video"))
}

fn lookup_error(e: videos::VideoQueryError) -> ApiError {
    match e {
        videos::VideoQueryError::Database(e) => e.into(),
        other => ApiError::internal(other),
    }
}

#[tracing::instrument(skip(ctx, req, user), fields(user = %user.subject))]
pub async fn get_video(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<web::Json<VideoView>, ApiError> {
    let id = parse_video_id(&path)?;
    let mut conn = ctx.pool.acquire().await?;
    let video = videos::find(&mut conn, id).await.map_err(lookup_error)?;
    // Someone who may not see it learns nothing, not even that it exists.
    let video = video
        .filter(|v| access::can_view(&user, v))
        .ok_or_else(|| ApiError::not_found("video"))?;
    let base = skillreel_web::public_base_url(ctx.public_url.as_deref(), &req);
    let links = MediaLinks {
        base_url: &base,
        signer: &ctx.signer,
    };
    let private = access::can_see_private_details(&user, &video);
    Ok(web::Json(VideoView::new(video, Some(&links), private)))
}

/// `DELETE /api/v1/videos/{id}`: the author or an admin removes a video; its jobs
/// are cancelled (a running transcode stops at its next heartbeat) and its files
/// deleted. An unfinished upload is left to the expiry sweep, which frees its parts.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn delete_video(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_video_id(&path)?;
    let mut tx = ctx.pool.begin().await?;
    let video = videos::find(&mut tx, id)
        .await
        .map_err(lookup_error)?
        .filter(|v| access::can_view(&user, v))
        .ok_or_else(|| ApiError::not_found("video"))?;
    if !access::can_delete(&user, &video) {
        return Err(ApiError::forbidden("only the author or an admin may delete this video"));
    }
    videos::mark_removed(&mut tx, id).await?;
    skillreel_queue::cancel_for_video(&mut tx, id.as_uuid())
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    let prefix = ObjectKey::parse(&format!("videos/{id}")).map_err(ApiError::internal)?;
    if let Err(e) = ctx.storage.delete_prefix(&prefix).await {
        // The row is gone from every listing; stray files only cost space.
        tracing::warn!(error = %e, video = %id, "could not delete a removed video's files");
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

#[tracing::instrument(skip(ctx, req, user), fields(user = %user.subject))]
pub async fn list_videos(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<VideoView>>, ApiError> {
    let limit = i64::from(query.limit.unwrap_or(20));
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 100"));
    }
    let after = match query.cursor.as_deref() {
        Some(raw) => Some(Cursor::decode(raw).ok_or_else(|| ApiError::bad_request("invalid cursor"))?),
        None => None,
    };
    let mut conn = ctx.pool.acquire().await?;
    let mut rows = videos::list_visible(&mut conn, user.id, after, limit + 1)
        .await
        .map_err(lookup_error)?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|v| {
            Cursor {
                created_at: v.created_at,
                id: v.id.as_uuid(),
            }
            .encode()
        })
    } else {
        None
    };
    let base = skillreel_web::public_base_url(ctx.public_url.as_deref(), &req);
    let links = MediaLinks {
        base_url: &base,
        signer: &ctx.signer,
    };
    let items = rows
        .into_iter()
        .map(|v| {
            let private = access::can_see_private_details(&user, &v);
            VideoView::new(v, Some(&links), private)
        })
        .collect();
    Ok(web::Json(Page { items, next_cursor }))
}

/// Serves a file of a video's renditions through a signed URL, with range support.
#[tracing::instrument(skip(ctx, req))]
pub async fn get_media(
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (video, token, file) = path.into_inner();
    let video = parse_video_id(&video)?;
    if !ctx.signer.verify(video, &token) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this media link is invalid or has expired",
        ));
    }
    // The source upload is not for playback; only transcoded outputs are served.
    if file == "source" || file.starts_with("source/") {
        return Err(ApiError::not_found("media file"));
    }
    let key = ObjectKey::parse(&format!("videos/{video}/{file}")).map_err(|_| ApiError::not_found("media file"))?;
    let size = ctx.storage.size(&key).await.map_err(storage_error)?;
    let range_header = req.headers().get(header::RANGE).and_then(|v| v.to_str().ok());
    let range = match parse_range(range_header, size) {
        RangeRequest::Full => None,
        RangeRequest::Partial(start, end) => Some((start, end)),
        RangeRequest::Unsatisfiable => {
            return Ok(HttpResponse::RangeNotSatisfiable()
                .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
                .content_type("application/problem+json")
                .body(format!(
                    r#"{{"type":"urn:skillreel:problem:range_not_satisfiable","title":"The requested range is not satisfiable","status":416,"code":"range_not_satisfiable","detail":"the file has {size} bytes"}}"#
                )));
        }
    };
    let mut response = match range {
        Some(_) => HttpResponse::PartialContent(),
        None => HttpResponse::Ok(),
    };
    response
        .content_type(skillreel_storage::content_type(&file))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"));
    if req.method() == actix_web::http::Method::HEAD {
        return Ok(response.no_chunking(size).finish());
    }
    let body = ctx.storage.get(&key, range).await.map_err(storage_error)?;
    let (start, end) = body.range;
    let length = if size == 0 { 0 } else { end - start + 1 };
    if range.is_some() {
        response.insert_header((header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}")));
    }
    Ok(response.no_chunking(length).streaming(body.stream))
}

fn storage_error(e: StorageError) -> ApiError {
    match e {
        StorageError::NotFound(_) | StorageError::InvalidKey(_) => ApiError::not_found("media file"),
        StorageError::InvalidRange { .. } => ApiError::new(ErrorCode::RangeNotSatisfiable, e.to_string()),
        other => ApiError::unavailable(other),
    }
}
