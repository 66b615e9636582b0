//! Journeys that federate, as PeerTube's `Playlist` with ordered `PlaylistElement`s.
//!
//! A published journey with visibility `federated` goes to the instances that follow
//! this one like a video (`Create` and `Announce`, then `Update`, and `Delete` once it
//! stops federating); its elements name its steps' videos by their ActivityPub ids,
//! in order. Partners fetch it signed (`GET /federation/journeys/{id}`).
//!
//! A followed instance's `Playlist` becomes a journey here, marked with its origin,
//! its steps the partner's videos this instance has (an element naming a video not
//! known here is left out until an `Update` finds it): local people follow it and
//! managers assign it like any other. `Delete` removes it here, with its assignments.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use skillreel_domain::JourneyId;
use skillreel_queue::QueueError;
use skillreel_web::ApiError;
use sqlx::PgConnection;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::objects::{self, Incoming, id_of};
use crate::people::{author_of, remote_person};
use crate::remote::host_of;
use crate::store::{self, Actor};
use crate::{FederationContext, delivery, inbox};

/// Most steps kept of a partner's journey.
const MAX_ELEMENTS: usize = 100;

struct LocalJourney {
    id: Uuid,
    owner: Uuid,
    owner_name: String,
    title: String,
    description: String,
    skills: Vec<String>,
    published_at: Option<OffsetDateTime>,
    updated_at: OffsetDateTime,
    /// The steps' videos by their ActivityPub ids, in order.
    elements: Vec<String>,
}

/// The journey when partners may see it: made here, published and federated.
async fn federating(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<LocalJourney>, sqlx::Error> {
    let Some(j) = sqlx::query!(
        r#"
        select j.id, j.owner_id, u.name as owner_name, j.title, j.description, j.skills, j.published_at, j.updated_at
          from journey j join app_user u on u.id = j.owner_id
         where j.id = $1 and j.origin is null and j.status = 'published' and j.visibility = 'federated'
        "#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    // Steps partners can follow: our federated videos and partners' videos, in order.
    let steps = sqlx::query!(
        r#"
        select v.id, v.origin_id
          from journey_step s join video v on v.id = s.video_id
         where s.journey_id = $1 and v.status = 'published'
           and (v.origin is not null or v.visibility = 'federated')
         order by s.position
        "#,
        id
    )
    .fetch_all(conn)
    .await?;
    Ok(Some(LocalJourney {
        id: j.id,
        owner: j.owner_id,
        owner_name: j.owner_name,
        title: j.title,
        description: j.description,
        skills: j.skills,
        published_at: j.published_at,
        updated_at: j.updated_at,
        elements: steps
            .into_iter()
            .map(|s| s.origin_id.unwrap_or_else(|| ctx.instance.video_id(s.id)))
            .collect(),
    }))
}

/// The journey in PeerTube's `Playlist` shape, its elements inline.
fn playlist(ctx: &FederationContext, j: &LocalJourney) -> Value {
    let instance = &ctx.instance;
    let id = instance.journey_id(j.id);
    let elements: Vec<Value> = j
        .elements
        .iter()
        .enumerate()
        .map(|(i, video)| {
            json!({
                "id": format!("{id}/elements/{}", i + 1),
                "type": "PlaylistElement",
                "url": video,
                "position": i + 1,
            })
        })
        .collect();
    json!({
        "@context": objects::context(),
        "id": id,
        "type": "Playlist",
        "uuid": j.id,
        "name": j.title,
        "content": j.description,
        "mediaType": "text/markdown",
        "attributedTo": [{ "type": "Person", "id": instance.person_id(j.owner), "name": j.owner_name }],
        "tag": j.skills.iter().map(|s| json!({ "type": "Hashtag", "name": format!("#{s}") })).collect::<Vec<_>>(),
        "published": j.published_at.and_then(|t| t.format(&Rfc3339).ok()),
        "updated": j.updated_at.format(&Rfc3339).ok(),
        "totalItems": elements.len(),
        "orderedItems": elements,
        "to": [instance.collection("followers")],
    })
}

/// Brings what partners know of a journey in line with what it is now.
pub async fn sync(ctx: &FederationContext, conn: &mut PgConnection, journey: JourneyId) -> Result<(), QueueError> {
    let id = journey.as_uuid();
    let sent = store::was_sent(&mut *conn, id).await?;
    let instance = &ctx.instance;
    let audience = instance.collection("followers");
    match federating(ctx, &mut *conn, id).await? {
        Some(j) => {
            let object = playlist(ctx, &j);
            if sent {
                delivery::to_followers(conn, &objects::activity(instance, "Update", object, &audience)).await?;
            } else {
                let create = objects::activity(instance, "Create", object, &audience);
                let announce = objects::activity(instance, "Announce", json!(instance.journey_id(id)), &audience);
                delivery::to_followers(&mut *conn, &create).await?;
                delivery::to_followers(&mut *conn, &announce).await?;
                store::mark_sent(conn, id, "Playlist").await?;
            }
        }
        None if sent => {
            let tombstone = json!({ "id": instance.journey_id(id), "type": "Tombstone", "formerType": "Playlist" });
            delivery::to_followers(&mut *conn, &objects::activity(instance, "Delete", tombstone, &audience)).await?;
            store::forget_sent(conn, id).await?;
        }
        None => {}
    }
    Ok(())
}

/// Queues for one new follower's `inbox` a `Create` of each of our federated journeys
/// (the newest `limit`, oldest first); returns how many.
pub(crate) async fn backfill(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    host: &str,
    inbox: &str,
    limit: i64,
) -> Result<usize, QueueError> {
    let ids = sqlx::query_scalar!(
        r#"select id from journey
            where origin is null and status = 'published' and visibility = 'federated'
            order by published_at desc nulls last, id desc limit $1"#,
        limit
    )
    .fetch_all(&mut *conn)
    .await?;
    let audience = ctx.instance.collection("followers");
    let mut sent = 0;
    for id in ids.into_iter().rev() {
        if let Some(journey) = federating(ctx, &mut *conn, id).await? {
            let create = objects::activity(&ctx.instance, "Create", playlist(ctx, &journey), &audience);
            delivery::send(&mut *conn, host, inbox, create).await?;
            sent += 1;
        }
    }
    Ok(sent)
}

/// `GET /federation/journeys/{id}`: a federated journey, for partners (signed fetch).
pub async fn object(
    req: HttpRequest,
    ctx: web::Data<FederationContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = inbox::fetched_id(&req, &ctx, &path, "journey").await?;
    let mut conn = ctx.pool.acquire().await?;
    let journey = federating(&ctx, &mut conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("journey"))?;
    Ok(objects::activity_json(&playlist(&ctx, &journey)))
}

/// What a partner's `Playlist` says.
#[derive(Debug, PartialEq)]
struct RemotePlaylist {
    id: String,
    name: String,
    content: String,
    skills: Vec<String>,
    published: Option<OffsetDateTime>,
    /// The elements' video ids, by position.
    videos: Vec<String>,
}

fn read_playlist(object: &Value, host: &str) -> Result<RemotePlaylist, &'static str> {
    let on_host = |s: &str| host_of(s).is_some_and(|h| h.eq_ignore_ascii_case(host));
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .ok_or("the playlist has no id")?;
    if !on_host(id) {
        return Err("the playlist's id is not on its sender's host");
    }
    if author_of(object).is_some_and(|(a, _)| !on_host(&a)) {
        return Err("the playlist's author is not on its sender's host");
    }
    let text = |name: &str, max: usize| {
        object
            .get(name)
            .and_then(Value::as_str)
            .map(|s| s.trim().chars().take(max).collect::<String>())
    };
    let name = text("name", 200)
        .filter(|n| !n.is_empty())
        .ok_or("the playlist has no name")?;
    let mut elements: Vec<(i64, String)> = object
        .get("orderedItems")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    let url = e.get("url").and_then(id_of)?;
                    let position = e.get("position").and_then(Value::as_i64).unwrap_or(i as i64 + 1);
                    Some((position, url.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    elements.sort_by_key(|(position, _)| *position);
    let mut videos: Vec<String> = Vec::new();
    for (_, url) in elements {
        if !videos.contains(&url) && videos.len() < MAX_ELEMENTS {
            videos.push(url);
        }
    }
    Ok(RemotePlaylist {
        id: id.to_owned(),
        name,
        content: text("content", 5000).unwrap_or_default(),
        skills: objects::hashtags(object),
        published: objects::time_of(object, "published"),
        videos,
    })
}

/// Applies a `Playlist` activity from `signer`; `Ok(false)` when it is not one.
pub async fn apply(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    signer: &Actor,
    activity: &Incoming,
) -> Result<bool, ApiError> {
    let is_playlist = activity.object.get("type").and_then(Value::as_str) == Some("Playlist");
    match activity.kind.as_str() {
        "Create" | "Update" if is_playlist => {
            if !crate::remote_videos::followed(&mut *conn, &signer.host).await? {
                tracing::debug!(host = %signer.host, "ignoring a playlist from an instance this one does not follow");
                return Ok(true);
            }
            let playlist = read_playlist(&activity.object, &signer.host).map_err(ApiError::bad_request)?;
            let own_videos = format!("{}/federation/videos/", ctx.instance.origin());
            save(conn, &own_videos, &signer.host, &playlist, &activity.object).await?;
            Ok(true)
        }
        "Delete" => {
            let Some(id) = id_of(&activity.object) else {
                return Ok(false);
            };
            let deleted = sqlx::query!(
                "delete from journey where origin_id = $1 and origin = $2",
                id,
                signer.host
            )
            .execute(conn)
            .await?;
            Ok(deleted.rows_affected() > 0)
        }
        _ => Ok(false),
    }
}

async fn save(
    conn: &mut PgConnection,
    own_videos: &str,
    host: &str,
    p: &RemotePlaylist,
    object: &Value,
) -> Result<(), sqlx::Error> {
    let (actor, name) = author_of(object).unwrap_or_else(|| (format!("https://{host}"), None));
    let owner = remote_person(&mut *conn, host, &actor, name.as_deref()).await?;
    let saved = sqlx::query_scalar!(
        r#"
        insert into journey (id, owner_id, title, description, skills, status, visibility, published_at, origin, origin_id)
        values ($1, $2, $3, $4, $5, 'published', 'federated', coalesce($6, now()), $7, $8)
        on conflict (origin_id) do update
           set owner_id = excluded.owner_id, title = excluded.title, description = excluded.description,
               skills = excluded.skills, updated_at = now()
         where journey.origin = excluded.origin
        returning id
        "#,
        Uuid::now_v7(),
        owner,
        p.name,
        p.content,
        &p.skills,
        p.published,
        host,
        p.id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(journey) = saved else {
        return Ok(());
    };
    // Its steps: the elements' videos this instance has, published, in order (ours
    // by their ids here, partners' by their ids there).
    let ours: Vec<Option<Uuid>> = p
        .videos
        .iter()
        .map(|url| url.strip_prefix(own_videos).and_then(|id| id.parse().ok()))
        .collect();
    let local_ids: Vec<Uuid> = ours.iter().flatten().copied().collect();
    let found = sqlx::query!(
        r#"
        select id, origin_id from video
         where status = 'published' and (origin_id = any($1) or (id = any($2) and origin is null and visibility = 'federated'))
        "#,
        &p.videos,
        &local_ids,
    )
    .fetch_all(&mut *conn)
    .await?;
    let steps: Vec<Uuid> = p
        .videos
        .iter()
        .zip(&ours)
        .filter_map(|(url, local)| {
            found
                .iter()
                .find(|v| Some(v.id) == *local || v.origin_id.as_deref() == Some(url.as_str()))
                .map(|v| v.id)
        })
        .collect();
    sqlx::query!("delete from journey_step where journey_id = $1", journey)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        r#"
        insert into journey_step (journey_id, position, video_id)
        select $1, s.ord::int, s.video_id from unnest($2::uuid[]) with ordinality as s (video_id, ord)
        "#,
        journey,
        &steps,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_playlist_is_read_in_position_order_from_its_own_host() {
        let object = json!({
            "type": "Playlist", "id": "https://a.example/federation/journeys/1", "name": " Rust in a week ",
            "attributedTo": [{"type": "Person", "id": "https://a.example/federation/users/1", "name": "Ana"}],
            "tag": [{"type": "Hashtag", "name": "#rust"}],
            "orderedItems": [
                {"type": "PlaylistElement", "url": "https://a.example/v/2", "position": 2},
                {"type": "PlaylistElement", "url": "https://a.example/v/1", "position": 1},
                {"type": "PlaylistElement", "url": "https://a.example/v/1", "position": 3},
                {"type": "PlaylistElement", "position": 4},
            ],
        });
        let read = read_playlist(&object, "a.example").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.name, "Rust in a week");
        assert_eq!(read.videos, ["https://a.example/v/1", "https://a.example/v/2"]);
        assert_eq!(read.skills, ["rust"]);
        assert!(read_playlist(&object, "b.example").is_err(), "another host's playlist");
        let mut foreign = object.clone();
        foreign["attributedTo"] = json!(["https://b.example/u/1"]);
        assert!(read_playlist(&foreign, "a.example").is_err(), "an author elsewhere");
        let mut nameless = object;
        nameless["name"] = json!("");
        assert!(read_playlist(&nameless, "a.example").is_err());
    }
}
