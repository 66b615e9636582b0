//! `GET|HEAD /api/v1/media/{video_id}/{token}/{path}`: a video's files through a signed URL.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use skillreel_storage::{StorageError, VideoFiles};
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

/// Whether `file` (relative to the video's folder) is one of the files the transcoder
/// publishes for playback: the master playlist, each rung's playlist, init segment
/// and media segments, the posters, the storyboard and the captions (each language's
/// WebVTT and the one-entry playlist that points at it).
fn is_playback_file(file: &str) -> bool {
    const TOP: [&str; 5] = [
        "master.m3u8",
        "thumbnail.jpg",
        "thumbnail-small.jpg",
        "storyboard.vtt",
        "storyboard.jpg",
    ];
    let Some(rest) = file.strip_prefix("media/") else {
        return false;
    };
    match rest.split('/').collect::<Vec<_>>()[..] {
        [name] => TOP.contains(&name),
        ["captions", name] => name
            .strip_suffix(".vtt")
            .or_else(|| name.strip_suffix(".m3u8"))
            .is_some_and(|lang| {
                (2..=16).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }),
        [rung, name] => {
            let is_rung = rung
                .strip_suffix('p')
                .is_some_and(|n| (1..=5).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
            let is_segment = name
                .strip_prefix("seg_")
                .and_then(|n| n.strip_suffix(".m4s"))
                .is_some_and(|n| !n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit()));
            is_rung && (name == "index.m3u8" || name == "init.mp4" || is_segment)
        }
        _ => false,
    }
}

fn storage_error(e: StorageError) -> ApiError {
    match e {
        StorageError::NotFound(_) | StorageError::InvalidKey(_) => ApiError::not_found("media file"),
        StorageError::InvalidRange { .. } => ApiError::new(ErrorCode::RangeNotSatisfiable, e.to_string()),
        other => ApiError::unavailable(other),
    }
}

#[cfg(test)]
mod tests {
    use super::is_playback_file;

    #[test]
    fn only_the_published_playback_files_are_served() {
        for file in [
            "media/master.m3u8",
            "media/thumbnail.jpg",
            "media/thumbnail-small.jpg",
            "media/storyboard.vtt",
            "media/storyboard.jpg",
            "media/720p/index.m3u8",
            "media/240p/init.mp4",
            "media/1080p/seg_00042.m4s",
            "media/captions/en.vtt",
            "media/captions/en.m3u8",
            "media/captions/pt-BR.vtt",
        ] {
            assert!(is_playback_file(file), "{file}");
        }
        for file in [
            "source",
            "source.pending-5242880",
            "source.pending-0",
            "source/part-1",
            "media",
            "media/",
            "media/720p/index.m3u8.tmp",
            "media/720p/seg_00001.m4s.tmp",
            "media/720p/seg_.m4s",
            "media/abc/index.m3u8",
            "media/720p/../../source",
            "media/captions/../master.m3u8",
            "media/captions/e.vtt",
            "media/master.m3u8/x",
            "other/master.m3u8",
        ] {
            assert!(!is_playback_file(file), "{file}");
        }
    }
}
