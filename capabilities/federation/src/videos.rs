//! Videos that federate. A published video whose visibility is `federated` is sent to
//! every instance that follows this one: `Create{Video}` and the instance actor's
//! `Announce` of it (what PeerTube's instance followers receive), in PeerTube's `Video`
//! shape so PeerTube-aware software can read it. An edit sends `Update`; removal, or a
//! change of visibility away from `federated`, sends `Delete`. What was sent is
//! remembered (`federation_object`), so each change is told once and only to those
//! who were told before.
//!
//! The `federation` consumer of the domain events does this, off the request path:
//! `video.published`, `video.updated` and `video.removed` each bring what partners know
//! of the video in line with what it is now.
//!
//! Partners fetch a video (`GET /federation/videos/{id}`) with a signed request from an
//! instance this one federates with; anyone else gets 401, and a video that is not
//! published and federated is not found. Its media URLs are signed for
//! `media.url_ttl_seconds`: a partner fetches the object again for fresh ones.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use skillreel_contracts::views::{MediaLinks, VideoView};
use skillreel_db::videos::{self, VideoRecord};
use skillreel_domain::events::DomainEvent;
use skillreel_domain::{VideoId, VideoStatus, Visibility};
use skillreel_queue::QueueError;
use skillreel_queue::events::{self, StoredEvent};
use skillreel_storage::VideoFiles;
use skillreel_web::ApiError;
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;

use crate::FederationContext;
use crate::objects;
use crate::{delivery, inbox, store};

/// The consumer's name in `event_consumer`.
pub const CONSUMER: &str = "federation";
const POLL: Duration = Duration::from_secs(2);

/// Tells partners of federated videos' changes until `stop`.
pub fn spawn_consumer(ctx: Arc<FederationContext>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    let pool = ctx.pool.clone();
    tokio::spawn(events::serve_consumer(pool, CONSUMER, POLL, stop, move || {
        let (pool, ctx) = (ctx.pool.clone(), ctx.clone());
        async move {
            events::consume_batch(&pool, CONSUMER, 100, &mut async move |conn, event| {
                on_event(&ctx, conn, event).await
            })
            .await
        }
    }))
}

async fn on_event(ctx: &FederationContext, conn: &mut PgConnection, event: &StoredEvent) -> Result<(), QueueError> {
    if !matches!(
        event.kind.as_str(),
        "video.published"
            | "video.updated"
            | "video.removed"
            | "video.liked"
            | "video.unliked"
            | "comment.created"
            | "comment.updated"
            | "comment.deleted"
            | "journey.published"
            | "journey.updated"
            | "journey.removed"
    ) {
        return Ok(());
    }
    let Ok(event_data) = serde_json::from_value::<DomainEvent>(event.payload.clone()) else {
        tracing::error!(event = %event.id, "federation: skipping an event of an unknown shape");
        return Ok(());
    };
    match event_data {
        DomainEvent::VideoPublished { video, .. }
        | DomainEvent::VideoUpdated { video, .. }
        | DomainEvent::VideoRemoved { video, .. } => sync(ctx, conn, video).await,
        DomainEvent::VideoLiked { video, actor } => {
            crate::likes::tell_origin(ctx, conn, video.as_uuid(), actor.as_uuid(), true).await
        }
        DomainEvent::VideoUnliked { video, actor } => {
            crate::likes::tell_origin(ctx, conn, video.as_uuid(), actor.as_uuid(), false).await
        }
        DomainEvent::CommentCreated { comment, .. } => {
            crate::comments::tell(ctx, conn, comment, crate::comments::Change::Created).await
        }
        DomainEvent::CommentUpdated { comment, .. } => {
            crate::comments::tell(ctx, conn, comment, crate::comments::Change::Updated).await
        }
        DomainEvent::CommentDeleted { comment, .. } => {
            crate::comments::tell(ctx, conn, comment, crate::comments::Change::Deleted).await
        }
        DomainEvent::JourneyPublished { journey, .. }
        | DomainEvent::JourneyUpdated { journey, .. }
        | DomainEvent::JourneyRemoved { journey, .. } => crate::journeys::sync(ctx, conn, journey).await,
        _ => Ok(()),
    }
}

/// Whether partners may see `video`: made here, published, and federated.
fn federates(video: &VideoRecord) -> bool {
    video.origin.is_none() && video.status == VideoStatus::Published && video.visibility == Visibility::Federated
}

/// Brings what partners know of `video` in line with what it is now.
async fn sync(ctx: &FederationContext, conn: &mut PgConnection, id: VideoId) -> Result<(), QueueError> {
    let record = videos::find(&mut *conn, id).await.map_err(|e| match e {
        videos::VideoQueryError::Database(e) => QueueError::Database(e),
        other => QueueError::Database(sqlx::Error::Protocol(other.to_string())),
    })?;
    let sent = store::was_sent(&mut *conn, id.as_uuid()).await?;
    let instance = &ctx.instance;
    let object_id = instance.video_id(id.as_uuid());
    let audience = instance.collection("followers");
    match record.filter(federates) {
        Some(video) => {
            let object = video_object(ctx, conn, video).await?;
            if sent {
                let update = objects::activity(instance, "Update", object, &audience);
                delivery::to_followers(conn, &update).await?;
            } else {
                let create = objects::activity(instance, "Create", object, &audience);
                let announce = objects::activity(instance, "Announce", json!(object_id), &audience);
                delivery::to_followers(&mut *conn, &create).await?;
                delivery::to_followers(&mut *conn, &announce).await?;
                store::mark_sent(conn, id.as_uuid(), "Video").await?;
            }
        }
        None if sent => {
            let tombstone = json!({ "id": object_id, "type": "Tombstone", "formerType": "Video" });
            let delete = objects::activity(instance, "Delete", tombstone, &audience);
            delivery::to_followers(&mut *conn, &delete).await?;
            store::forget_sent(conn, id.as_uuid()).await?;
        }
        None => {}
    }
    Ok(())
}

/// Most videos (and, apart, journeys) a new follower is sent at once, newest first.
const BACKFILL: i64 = 200;

/// Queues for one new follower's `inbox` a `Create` of each of our federated videos
/// and journeys (the newest [`BACKFILL`] of each); returns how many.
pub(crate) async fn backfill(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    host: &str,
    inbox: &str,
) -> Result<usize, QueueError> {
    let ids = sqlx::query_scalar!(
        r#"select id from video
            where origin is null and status = 'published' and visibility = 'federated'
            order by published_at desc nulls last, id desc limit $1"#,
        BACKFILL
    )
    .fetch_all(&mut *conn)
    .await?;
    let audience = ctx.instance.collection("followers");
    let mut sent = 0;
    // All in one query, then oldest first, as they were published.
    let oldest_first: Vec<uuid::Uuid> = ids.into_iter().rev().collect();
    let records = videos::load_in_order(&mut *conn, &oldest_first)
        .await
        .map_err(|e| QueueError::Database(sqlx::Error::Protocol(e.to_string())))?;
    for video in records.into_iter().filter(federates) {
        let object = video_object(ctx, conn, video).await?;
        let create = objects::activity(&ctx.instance, "Create", object, &audience);
        delivery::send(&mut *conn, host, inbox, create).await?;
        sent += 1;
    }
    sent += crate::journeys::backfill(ctx, conn, host, inbox, BACKFILL).await?;
    Ok(sent)
}

/// The video as partners see it, its media URLs freshly signed.
async fn video_object(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    video: VideoRecord,
) -> Result<Value, sqlx::Error> {
    let captions = sqlx::query_scalar!(
        "select language from caption where video_id = $1 order by language",
        video.id.as_uuid()
    )
    .fetch_all(&mut *conn)
    .await?;
    let links = MediaLinks {
        base_url: ctx.instance.origin().to_owned(),
        signer: &ctx.media,
    };
    let files = VideoFiles::of(video.id);
    let caption_urls: Vec<(String, Option<String>)> = captions
        .into_iter()
        .map(|lang| {
            let url = files
                .media_file(&format!("captions/{lang}.vtt"))
                .ok()
                .and_then(|key| links.url(&video, key.as_str()));
            (lang, url)
        })
        .collect();
    let view = VideoView::new(video, Some(&links), false);
    Ok(peertube_video(&ctx.instance, &view, &caption_urls))
}

/// A `VideoView` in PeerTube's `Video` shape.
pub fn peertube_video(instance: &crate::Instance, view: &VideoView, captions: &[(String, Option<String>)]) -> Value {
    let id = instance.video_id(view.id.as_uuid());
    let mut url = vec![json!({
        "type": "Link",
        "mediaType": "text/html",
        "href": format!("{}/videos/{}", instance.origin(), view.id),
    })];
    if let Some(playback) = &view.playback {
        url.push(json!({
            "type": "Link",
            "mediaType": "application/x-mpegURL",
            "href": playback.hls,
            "tag": view.renditions.iter().map(|r| json!({
                "type": "Link",
                "mediaType": "video/mp4",
                "height": r.height,
                "width": r.width,
                "bandwidth": r.bandwidth,
            })).collect::<Vec<_>>(),
        }));
    }
    let icon: Vec<Value> = [
        (&view.thumbnail, view.width, view.height),
        (&view.thumbnail_small, Some(320), None),
    ]
    .into_iter()
    .filter_map(|(href, width, height)| {
        href.as_ref().map(
            |href| json!({ "type": "Image", "url": href, "mediaType": "image/jpeg", "width": width, "height": height }),
        )
    })
    .collect();
    json!({
        "@context": objects::context(),
        "id": id,
        "type": "Video",
        "uuid": view.id,
        "name": view.title,
        "duration": iso_duration(view.duration_seconds.unwrap_or(0.0)),
        "content": view.description,
        "mediaType": "text/markdown",
        "language": { "identifier": view.language, "name": view.language },
        "tag": view.tags.iter().map(|t| json!({ "type": "Hashtag", "name": format!("#{t}") })).collect::<Vec<_>>(),
        "url": url,
        "icon": icon,
        "subtitleLanguage": captions.iter().map(|(lang, href)| json!({ "identifier": lang, "name": lang, "url": href })).collect::<Vec<_>>(),
        // The author as an object, so partners can name them without a fetch (PeerTube
        // reads `Person` objects here as well as ids).
        "attributedTo": [{ "type": "Person", "id": instance.person_id(view.owner.id.as_uuid()), "name": view.owner.name }],
        "published": view.published_at.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
        "updated": view.updated_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "likes": format!("{id}/likes"),
        "shares": format!("{id}/shares"),
        "commentsEnabled": true,
        "sensitive": false,
        "waitTranscoding": false,
        "state": 1,
        "to": [instance.collection("followers")],
    })
}

/// `PT{seconds}S`, as PeerTube writes durations (whole seconds).
fn iso_duration(seconds: f64) -> String {
    format!("PT{}S", seconds.max(0.0).round() as u64)
}

/// `GET /federation/videos/{id}`: a federated video, for partners (signed fetch).
pub async fn object(
    req: HttpRequest,
    ctx: web::Data<FederationContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let video = fetched_video(&req, &ctx, &path).await?;
    let mut conn = ctx.pool.acquire().await?;
    let object = video_object(&ctx, &mut conn, video).await?;
    Ok(objects::activity_json(&object))
}

/// `GET /federation/videos/{id}/likes`: how many like it (here and at partners).
pub async fn likes(
    req: HttpRequest,
    ctx: web::Data<FederationContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    counted(&req, &ctx, &path, "likes").await
}

/// `GET /federation/videos/{id}/shares`: announces are not counted yet (0).
pub async fn shares(
    req: HttpRequest,
    ctx: web::Data<FederationContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    counted(&req, &ctx, &path, "shares").await
}

async fn counted(req: &HttpRequest, ctx: &FederationContext, raw: &str, name: &str) -> Result<HttpResponse, ApiError> {
    let video = fetched_video(req, ctx, raw).await?;
    let total = if name == "likes" { video.like_count } else { 0 };
    let id = ctx.instance.video_id(video.id.as_uuid());
    Ok(objects::activity_json(&objects::collection(
        &format!("{id}/{name}"),
        total,
    )))
}

/// The video a partner asks for: the request signed by an admitted instance, the video
/// published and federated.
async fn fetched_video(req: &HttpRequest, ctx: &FederationContext, raw: &str) -> Result<VideoRecord, ApiError> {
    let id = VideoId::from_uuid(inbox::fetched_id(req, ctx, raw, "video").await?);
    let mut conn = ctx.pool.acquire().await?;
    videos::find(&mut conn, id)
        .await
        .map_err(|e| match e {
            videos::VideoQueryError::Database(e) => e.into(),
            other => ApiError::internal(other),
        })?
        .filter(federates)
        .ok_or_else(|| ApiError::not_found("video"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_whole_seconds() {
        assert_eq!(iso_duration(93.4), "PT93S");
        assert_eq!(iso_duration(0.6), "PT1S");
        assert_eq!(iso_duration(-3.0), "PT0S");
    }
}
