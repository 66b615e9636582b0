//! Videos from the instances this one follows: `Create{Video}` and `Update{Video}`
//! keep what the origin says as a `video` row marked with its `origin` (its author a
//! row of their own, see `people`), so it is listed, searched, recommended, liked,
//! commented, added to journeys and watched like ours, and played from the origin's
//! HLS (the URL in the object, signed by the origin for a while; refreshed by every
//! `Update`). `Delete` removes it here and leaves the row as a tombstone, so a late
//! `Update` cannot bring it back; blocking the instance drops all of its.
//! `GET /api/v1/federation/videos` lists partners' videos alone, by origin.
//!
//! Only videos from instances this one follows (accepted) are kept, and only those
//! whose id and author are on the sender's host: an instance speaks for its own
//! videos alone.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use skillreel_auth::AuthUser;
use skillreel_web::ApiError;
use skillreel_web::paging::{Page, by_key, parse_limit};
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::FederationContext;
use crate::objects::{self, Incoming, id_of};
use crate::people::{author_of, remote_person};
use crate::remote::host_of;
use crate::store::{self, Actor, Direction, FollowState};

/// What a remote video is made of, read from its ActivityStreams object.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteVideo {
    pub object_id: String,
    pub attributed_to: Option<String>,
    pub name: String,
    pub content: String,
    pub duration_seconds: Option<i32>,
    pub language: Option<String>,
    pub tags: Vec<String>,
    pub html_url: Option<String>,
    pub hls_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub published_at: Option<OffsetDateTime>,
}

/// Reads a `Video` object, or says why it is not one we keep.
pub fn read_video(object: &Value, host: &str) -> Result<RemoteVideo, &'static str> {
    if object.get("type").and_then(Value::as_str) != Some("Video") {
        return Err("not a Video");
    }
    let object_id = object.get("id").and_then(Value::as_str).ok_or("the video has no id")?;
    if host_of(object_id).is_none_or(|h| !h.eq_ignore_ascii_case(host)) {
        return Err("the video's id is not on its sender's host");
    }
    let attributed_to = match object.get("attributedTo") {
        Some(Value::Array(all)) => all.iter().find_map(id_of).map(str::to_owned),
        Some(other) => id_of(other).map(str::to_owned),
        None => None,
    };
    if attributed_to
        .as_deref()
        .is_some_and(|a| host_of(a).is_none_or(|h| !h.eq_ignore_ascii_case(host)))
    {
        return Err("the video's author is not on its sender's host");
    }
    let text = |name: &str, max: usize| {
        object
            .get(name)
            .and_then(Value::as_str)
            .map(|s| s.chars().take(max).collect::<String>())
    };
    let name = text("name", 200)
        .filter(|n| !n.trim().is_empty())
        .ok_or("the video has no name")?;
    let links: Vec<&Value> = match object.get("url") {
        Some(Value::Array(all)) => all.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let link = |media: &str| {
        links.iter().find_map(|l| {
            (l.get("mediaType")
                .and_then(Value::as_str)
                .is_some_and(|m| m.eq_ignore_ascii_case(media)))
            .then(|| l.get("href").and_then(Value::as_str))
            .flatten()
            .filter(|href| host_of(href).is_some())
            .map(str::to_owned)
        })
    };
    let icon = match object.get("icon") {
        Some(Value::Array(all)) => all.first(),
        other => other,
    };
    Ok(RemoteVideo {
        object_id: object_id.to_owned(),
        attributed_to,
        name,
        content: text("content", 5000).unwrap_or_default(),
        duration_seconds: object.get("duration").and_then(Value::as_str).and_then(parse_duration),
        language: object
            .get("language")
            .and_then(|l| l.get("identifier"))
            .and_then(Value::as_str)
            .map(|l| l.chars().take(8).collect()),
        tags: objects::hashtags(object),
        html_url: link("text/html"),
        hls_url: link("application/x-mpegURL"),
        thumbnail_url: icon
            .and_then(|i| i.get("url").and_then(Value::as_str))
            .filter(|u| host_of(u).is_some())
            .map(str::to_owned),
        published_at: objects::time_of(object, "published"),
    })
}

/// `PT1H2M3S` (and `PT42.5S`) as whole seconds.
fn parse_duration(iso: &str) -> Option<i32> {
    let rest = iso.strip_prefix("PT")?;
    let (mut total, mut number) = (0f64, String::new());
    for c in rest.chars() {
        match c {
            '0'..='9' | '.' => number.push(c),
            'H' | 'M' | 'S' => {
                let value: f64 = number.parse().ok()?;
                total += value
                    * match c {
                        'H' => 3600.0,
                        'M' => 60.0,
                        _ => 1.0,
                    };
                number.clear();
            }
            _ => return None,
        }
    }
    (number.is_empty() && total.is_finite() && total < f64::from(i32::MAX)).then_some(total.round() as i32)
}

/// Applies a video activity from `signer`; `Ok(false)` when it was not one.
pub async fn apply(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    signer: &Actor,
    activity: &Incoming,
) -> Result<bool, ApiError> {
    let is_video = activity.object.get("type").and_then(Value::as_str) == Some("Video");
    match activity.kind.as_str() {
        "Create" | "Update" if is_video => {
            if !followed(conn, &signer.host).await? {
                tracing::debug!(host = %signer.host, "ignoring a video from an instance this one does not follow");
                return Ok(true);
            }
            let video = read_video(&activity.object, &signer.host).map_err(ApiError::bad_request)?;
            let id = save(&mut *conn, &signer.host, &video, &activity.object).await?;
            crate::mirror::queue(ctx, conn, &signer.host, id).await?;
            Ok(true)
        }
        "Delete" => {
            let Some(id) = id_of(&activity.object) else {
                return Err(ApiError::bad_request("a Delete names what it deletes"));
            };
            if host_of(id).is_none_or(|h| !h.eq_ignore_ascii_case(&signer.host)) {
                return Err(ApiError::bad_request("an instance may only delete its own objects"));
            }
            let removed = sqlx::query_scalar!(
                r#"update video set status = 'removed', origin_hls_url = null, origin_thumbnail_url = null,
                          hls_key = null, thumbnail_key = null, updated_at = now()
                    where origin_id = $1 and origin = $2 and status <> 'removed'
                returning id"#,
                id,
                signer.host
            )
            .fetch_all(conn)
            .await?;
            crate::mirror::forget(ctx, &removed).await;
            // Not a video of theirs here: another kind of object may be meant.
            Ok(!removed.is_empty())
        }
        _ => Ok(false),
    }
}

/// Whether this instance follows `host` (accepted): only then is its content kept.
pub(crate) async fn followed(conn: &mut PgConnection, host: &str) -> Result<bool, sqlx::Error> {
    Ok(store::follow(conn, Direction::Outgoing, host)
        .await?
        .is_some_and(|f| f.state == FollowState::Accepted))
}

/// Keeps (or refreshes) a partner's video; what was removed here stays removed.
pub async fn save(conn: &mut PgConnection, host: &str, v: &RemoteVideo, object: &Value) -> Result<Uuid, sqlx::Error> {
    let (actor, name) = author_of(object).unwrap_or_else(|| (format!("https://{host}"), None));
    let owner = remote_person(&mut *conn, host, &actor, name.as_deref()).await?;
    let language = v
        .language
        .as_deref()
        .map(str::to_ascii_lowercase)
        .filter(|l| l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase()))
        .unwrap_or_else(|| "en".to_owned());
    let saved = sqlx::query_scalar!(
        r#"
        insert into video (id, owner_id, title, description, tags, status, visibility, language, duration_ms,
                           published_at, origin, origin_id, origin_url, origin_hls_url, origin_thumbnail_url)
        values ($1, $2, $3, $4, $5, 'published', 'federated', $6, $7, coalesce($8, now()), $9, $10, $11, $12, $13)
        on conflict (origin_id) do update
           set owner_id = excluded.owner_id, title = excluded.title, description = excluded.description,
               tags = excluded.tags, language = excluded.language, duration_ms = excluded.duration_ms,
               origin_url = excluded.origin_url, origin_hls_url = excluded.origin_hls_url,
               origin_thumbnail_url = excluded.origin_thumbnail_url, updated_at = now()
         where video.origin = excluded.origin and video.status = 'published'
        returning id
        "#,
        Uuid::now_v7(),
        owner,
        v.name,
        v.content,
        &v.tags,
        language,
        v.duration_seconds.map(|s| i64::from(s) * 1000),
        v.published_at,
        host,
        v.object_id,
        v.html_url,
        v.hls_url,
        v.thumbnail_url,
    )
    .fetch_optional(&mut *conn)
    .await?;
    match saved {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar!("select id from video where origin_id = $1", v.object_id)
                .fetch_one(conn)
                .await
        }
    }
}

/// Drops what a blocked instance brought: its journeys, its people's comments and its
/// videos (with what our people said and did on them). Returns the videos dropped.
pub async fn forget_instance(ctx: &FederationContext, conn: &mut PgConnection, host: &str) -> Result<u64, sqlx::Error> {
    sqlx::query!("delete from journey where origin = $1", host)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "delete from comment where author_id in (select id from app_user where origin = $1)",
        host
    )
    .execute(&mut *conn)
    .await?;
    let dropped = sqlx::query_scalar!("delete from video where origin = $1 returning id", host)
        .fetch_all(conn)
        .await?;
    crate::mirror::forget(ctx, &dropped).await;
    Ok(dropped.len() as u64)
}

/// A video from another instance, as local people see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemoteVideoView {
    pub id: Uuid,
    /// The instance it comes from (`host[:port]`).
    pub origin: String,
    /// Who published it there.
    pub author: String,
    /// Its ActivityPub id at the origin.
    pub object_id: String,
    pub title: String,
    pub description: String,
    pub duration_seconds: Option<i32>,
    pub language: String,
    pub tags: Vec<String>,
    /// Its page at the origin.
    pub url: Option<String>,
    /// The origin's HLS master playlist.
    pub hls: Option<String>,
    pub thumbnail: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoteQuery {
    /// Words in the title, description or tags (all of them, case-insensitive).
    #[param(max_length = 200)]
    q: Option<String>,
    /// Only videos from this instance (`host[:port]`).
    #[param(max_length = 255)]
    origin: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// From a previous page's `next_cursor`.
    #[param(
        max_length = 200,
        pattern = "^$|^-?[0-9]+(\\.[0-9]+)?~[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    cursor: Option<String>,
}

/// `GET /api/v1/federation/videos`: videos from followed instances, newest first.
pub async fn list(
    _user: AuthUser,
    ctx: web::Data<FederationContext>,
    query: web::Query<RemoteQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = parse_limit(query.limit, 20)?;
    if query.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::bad_request("q is at most 200 characters"));
    }
    if query.origin.as_ref().is_some_and(|o| o.len() > 255) {
        return Err(ApiError::bad_request("origin is at most 255 characters"));
    }
    let after = by_key::parse(query.cursor.as_deref())?;
    // Each word must appear; LIKE's wildcards in them are taken literally.
    let words: Vec<String> = query
        .q
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .take(8)
        .map(|w| format!("%{}%", w.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
        .collect();
    let mut conn = ctx.pool.acquire().await?;
    let rows = sqlx::query!(
        r#"
        select v.id, v.origin as "host!", v.origin_id as "object_id!", v.title as name, v.description as content,
               (v.duration_ms / 1000)::int4 as duration_seconds, v.language, v.tags, v.origin_url as html_url,
               v.origin_hls_url as hls_url, v.origin_thumbnail_url as thumbnail_url,
               v.published_at as "published_at!", v.updated_at, u.name as author,
               (extract(epoch from v.published_at) * 1000000)::float8 as "key!"
          from video v join app_user u on u.id = v.owner_id
         where v.origin is not null and v.status = 'published'
           and ($1::text is null or v.origin = $1)
           and (select bool_and(v.title || ' ' || v.description || ' ' || array_to_string(v.tags, ' ') ilike w)
                  from unnest($2::text[]) w) is not false
           and ($3::float8 is null
                or (v.published_at, v.id) < (timestamptz 'epoch' + $3::float8::int8 * interval '1 microsecond', $4))
         order by v.published_at desc, v.id desc
         limit $5
        "#,
        query.origin.as_deref().map(str::to_ascii_lowercase),
        &words,
        after.map(|(key, _)| key),
        after.map(|(_, id)| id),
        limit + 1,
    )
    .fetch_all(&mut *conn)
    .await?;
    let page = Page::of(rows, limit, |r| by_key::encode(r.key, r.id));
    Ok(HttpResponse::Ok().json(Page {
        next_cursor: page.next_cursor,
        items: page
            .items
            .into_iter()
            .map(|r| RemoteVideoView {
                id: r.id,
                origin: r.host,
                author: r.author,
                object_id: r.object_id,
                title: r.name,
                description: r.content,
                duration_seconds: r.duration_seconds,
                language: r.language,
                tags: r.tags,
                url: r.html_url,
                hls: r.hls_url,
                thumbnail: r.thumbnail_url,
                published_at: r.published_at,
                updated_at: r.updated_at,
            })
            .collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_in_iso_8601_are_read() {
        assert_eq!(parse_duration("PT42S"), Some(42));
        assert_eq!(parse_duration("PT1H2M3S"), Some(3723));
        assert_eq!(parse_duration("PT42.6S"), Some(43));
        assert_eq!(parse_duration("P1D"), None);
        assert_eq!(parse_duration("PT4"), None);
        assert_eq!(parse_duration("PTxS"), None);
    }

    #[test]
    fn a_video_is_kept_only_from_its_own_host() {
        let video = json!({
            "type": "Video", "id": "https://a.example/v/1", "name": "Rust",
            "attributedTo": ["https://a.example/u/1"],
            "url": [{"type": "Link", "mediaType": "application/x-mpegURL", "href": "https://a.example/m.m3u8"}],
            "icon": [{"type": "Image", "url": "https://a.example/t.jpg"}],
            "tag": [{"type": "Hashtag", "name": "#rust"}, {"type": "Mention", "name": "@x"}],
            "duration": "PT10S",
        });
        let read = read_video(&video, "a.example").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.hls_url.as_deref(), Some("https://a.example/m.m3u8"));
        assert_eq!(read.tags, ["rust"]);
        assert_eq!(read.duration_seconds, Some(10));
        assert!(read_video(&video, "b.example").is_err(), "another host's video");
        let mut foreign_author = video.clone();
        foreign_author["attributedTo"] = json!("https://b.example/u/1");
        assert!(read_video(&foreign_author, "a.example").is_err());
        let mut nameless = video.clone();
        nameless["name"] = json!(" ");
        assert!(read_video(&nameless, "a.example").is_err());
        let mut note = video;
        note["type"] = json!("Note");
        assert!(read_video(&note, "a.example").is_err());
    }
}
