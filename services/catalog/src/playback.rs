//! `GET|HEAD /api/v1/media/{video_id}/{token}/{path}`: a video's files through a signed URL.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use skillreel_storage::{StorageError, VideoFiles, is_playback_file};
use skillreel_web::range::{RangeRequest, parse_range};
use skillreel_web::{ApiError, ErrorCode};

use crate::CatalogContext;
use crate::videos::parse_video_id;

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
    // Only what a player asks for is served: never the source, its pending parts, or
    // a half-written temporary file.
    if !is_playback_file(&file) {
        return Err(ApiError::not_found("media file"));
    }
    let key = VideoFiles::of(video)
        .file(&file)
        .map_err(|_| ApiError::not_found("media file"))?;
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
