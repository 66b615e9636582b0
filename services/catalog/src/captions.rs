//! `PUT|DELETE /api/v1/videos/{id}/captions/{lang}` and `GET /api/v1/videos/{id}/captions`.
//!
//! WebVTT or SRT in; WebVTT stored beside the renditions (`media/captions/{lang}.vtt`)
//! with a one-segment HLS subtitle playlist, both listed in the master playlist as
//! `SUBTITLES` renditions so every HLS player offers them. The cue text feeds search.

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Serialize;
use skillreel_auth::AuthUser;
use skillreel_db::captions;
use skillreel_db::videos::VideoRecord;
use skillreel_domain::{Language, MAX_CAPTION_BYTES, VideoStatus, parse_captions};
use skillreel_storage::{ObjectKey, Storage, VideoFiles, content_type, put_bytes};
use skillreel_web::{ApiError, ErrorCode};
use utoipa::ToSchema;

use crate::CatalogContext;
use crate::access::{self, Action, Membership};
use crate::videos::load_visible;

/// What a caption upload leaves: the language stored and every language the video has.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaptionsStored {
    pub language: String,
    pub languages: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Caption)]
pub struct CaptionView {
    pub language: String,
    /// Signed URL of the WebVTT file.
    pub url: Option<String>,
}

fn parse_language(raw: &str) -> Result<String, ApiError> {
    Language::parse(raw)
        .map(|l| l.as_str().to_owned())
        .map_err(|e| ApiError::validation(e.to_string()))
}

fn key(video: &VideoRecord, rel: &str) -> Result<ObjectKey, ApiError> {
    VideoFiles::of(video.id).media_file(rel).map_err(ApiError::internal)
}

/// Reads at most `MAX_CAPTION_BYTES` of the body; more is a 413.
async fn read_body(payload: web::Payload) -> Result<Bytes, ApiError> {
    tokio::time::timeout(BODY_READ_TIMEOUT, read_bounded(payload))
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::RequestTimeout,
                format!("the body did not arrive within {} s", BODY_READ_TIMEOUT.as_secs()),
            )
        })?
}

/// A caption file is small: a sender slower than this is stalling, and gets 408.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

async fn read_bounded(mut payload: web::Payload) -> Result<Bytes, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            let code = if skillreel_web::is_timed_out(&e) {
                ErrorCode::RequestTimeout
            } else {
                ErrorCode::BadRequest
            };
            ApiError::new(code, format!("could not read the body: {e}"))
        })?;
        if body.len() + chunk.len() > MAX_CAPTION_BYTES {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("captions are at most {} KiB", MAX_CAPTION_BYTES / 1024),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

async fn read_object(storage: &dyn Storage, key: &ObjectKey) -> Result<String, ApiError> {
    let mut object = storage.get(key, None).await.map_err(ApiError::unavailable)?;
    let mut text = Vec::new();
    while let Some(chunk) = object.stream.next().await {
        text.extend_from_slice(&chunk.map_err(ApiError::unavailable)?);
    }
    String::from_utf8(text).map_err(ApiError::internal)
}

/// The master playlist with one `SUBTITLES` rendition per caption language.
fn with_subtitles(master: &str, languages: &[String]) -> String {
    let mut out = String::new();
    for line in master.lines() {
        if line.starts_with("#EXT-X-MEDIA:TYPE=SUBTITLES") {
            continue;
        }
        let line = line.replace(",SUBTITLES=\"subs\"", "");
        if line.starts_with("#EXT-X-STREAM-INF:") && !languages.is_empty() {
            out.push_str(&line);
            out.push_str(",SUBTITLES=\"subs\"\n");
            continue;
        }
        out.push_str(&line);
        out.push('\n');
        if line == "#EXT-X-INDEPENDENT-SEGMENTS" {
            for (i, lang) in languages.iter().enumerate() {
                out.push_str(&format!(
                    "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"{lang}\",LANGUAGE=\"{lang}\",DEFAULT={},AUTOSELECT=YES,URI=\"captions/{lang}.m3u8\"\n",
                    if i == 0 { "YES" } else { "NO" }
                ));
            }
        }
    }
    out
}

/// Rewrites the stored master playlist for the video's current caption languages.
async fn republish_master(ctx: &CatalogContext, video: &VideoRecord, languages: &[String]) -> Result<(), ApiError> {
    let master_key = key(video, "master.m3u8")?;
    let master = read_object(ctx.storage.as_ref(), &master_key).await?;
    let updated = with_subtitles(&master, languages);
    put_bytes(
        ctx.storage.as_ref(),
        &master_key,
        Bytes::from(updated),
        content_type("master.m3u8"),
    )
    .await
    .map_err(ApiError::unavailable)?;
    Ok(())
}

/// The video whose captions the caller may change, and the language asked for.
async fn editable(
    ctx: &CatalogContext,
    user: &AuthUser,
    (video_id, language): (String, String),
) -> Result<(sqlx::pool::PoolConnection<sqlx::Postgres>, VideoRecord, String), ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let (video, _) = load_visible(&mut conn, user, &video_id).await?;
    if !access::allows(user, Action::Caption, &video, Membership::None) {
        return Err(ApiError::forbidden("only the author or an admin may change captions"));
    }
    access::made_here(&video)?;
    Ok((conn, video, parse_language(&language)?))
}

/// Only a transcoded video has a master playlist to list captions in.
fn require_media(video: &VideoRecord) -> Result<(), ApiError> {
    let transcoded = matches!(
        video.status,
        VideoStatus::Ready | VideoStatus::Published | VideoStatus::PendingReview | VideoStatus::Rejected
    );
    if transcoded && video.hls_key.is_some() {
        Ok(())
    } else {
        Err(ApiError::conflict("captions can be added once the video is transcoded"))
    }
}

#[tracing::instrument(skip(ctx, user, payload), fields(user = %user.subject))]
pub async fn put(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (conn, video, language) = editable(&ctx, &user, path.into_inner()).await?;
    require_media(&video)?;
    // No pool connection is held while a (possibly slow) client sends the body.
    drop(conn);
    let body = read_body(payload).await?;
    let parsed = parse_captions(&body).map_err(|e| ApiError::validation(e.to_string()))?;
    let duration = video.duration_ms.map_or(f64::MAX, |ms| ms as f64 / 1000.0);
    if parsed.end_seconds > duration + 5.0 {
        return Err(ApiError::validation(format!(
            "the captions run to {:.0} s but the video lasts {duration:.0} s",
            parsed.end_seconds
        )));
    }
    let target = duration.min(parsed.end_seconds.max(1.0)).ceil().max(1.0);
    let playlist = format!(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{target:.0}\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:{:.3},\n{language}.vtt\n#EXT-X-ENDLIST\n",
        if duration.is_finite() && duration < f64::MAX {
            duration
        } else {
            parsed.end_seconds
        }
    );
    let storage = ctx.storage.as_ref();
    for (rel, body) in [
        (format!("captions/{language}.vtt"), parsed.webvtt.clone()),
        (format!("captions/{language}.m3u8"), playlist),
    ] {
        put_bytes(storage, &key(&video, &rel)?, Bytes::from(body), content_type(&rel))
            .await
            .map_err(ApiError::unavailable)?;
    }
    // The caption and the video's search text change together, or not at all.
    let mut tx = ctx.pool.begin().await?;
    let created = captions::upsert(&mut tx, video.id, &language, &parsed.text).await?;
    let languages = captions::languages(&mut tx, video.id).await?;
    tx.commit().await?;
    ctx.listing_changed(video.id);
    republish_master(&ctx, &video, &languages).await?;
    let status = if created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(CaptionsStored { language, languages }))
}

#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn delete(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (mut conn, video, language) = editable(&ctx, &user, path.into_inner()).await?;
    if !captions::delete(&mut conn, video.id, &language).await? {
        return Err(ApiError::not_found("captions"));
    }
    ctx.listing_changed(video.id);
    let languages = captions::languages(&mut conn, video.id).await?;
    republish_master(&ctx, &video, &languages).await?;
    let prefix = key(&video, &format!("captions/{language}.vtt"))?;
    let _ = ctx.storage.delete_prefix(&prefix).await;
    let playlist = key(&video, &format!("captions/{language}.m3u8"))?;
    let _ = ctx.storage.delete_prefix(&playlist).await;
    Ok(HttpResponse::NoContent().finish())
}

#[tracing::instrument(skip(ctx, req, user), fields(user = %user.subject))]
pub async fn list(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<web::Json<Vec<CaptionView>>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let (video, _) = load_visible(&mut conn, &user, &path).await?;
    let links = ctx.media_links(&req);
    let items = captions::languages(&mut conn, video.id)
        .await?
        .into_iter()
        .map(|language| CaptionView {
            url: key(&video, &format!("captions/{language}.vtt"))
                .ok()
                .and_then(|key| links.url(&video, key.as_str())),
            language,
        })
        .collect();
    Ok(web::Json(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_master_lists_each_language_once_and_every_variant_points_at_them() {
        let master =
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n";
        let once = with_subtitles(master, &["de".into(), "en".into()]);
        let twice = with_subtitles(&once, &["de".into(), "en".into()]);
        assert_eq!(once, twice);
        assert_eq!(once.matches("TYPE=SUBTITLES").count(), 2);
        assert!(
            once.contains("BANDWIDTH=1,SUBTITLES=\"subs\"\n720p/index.m3u8"),
            "{once}"
        );
        assert_eq!(with_subtitles(&once, &[]), master);
    }
}
