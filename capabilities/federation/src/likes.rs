//! Likes across instances. A person here likes a partner's video like any other
//! (`PUT /api/v1/videos/{id}/like`): the `video.liked` event has the origin sent `Like`
//! (and `video.unliked` an `Undo{Like}`), by this instance's actor on that person's
//! behalf. A `Like` of one of our federated videos from a partner counts in the video's
//! likes here, once per remote person; its `Undo` takes it back.
//!
//! An instance actor speaks for its own people: an activity whose actor is a person of
//! the signing instance actor's host is accepted as theirs (see the inbox).

use serde_json::{Value, json};
use skillreel_queue::QueueError;
use skillreel_web::ApiError;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::FederationContext;
use crate::delivery;
use crate::objects::{self, Incoming, id_of};
use crate::remote::host_of;
use crate::store::{self, Actor, Direction};

/// Our video a remote `object` names, when it is one of ours.
fn local_video(ctx: &FederationContext, object: &str) -> Option<Uuid> {
    object
        .strip_prefix(&format!("{}/federation/videos/", ctx.instance.origin()))?
        .parse()
        .ok()
}

/// Applies a `Like` or `Undo{Like}` from a partner; `Ok(false)` when it is not one.
pub async fn apply(ctx: &FederationContext, conn: &mut PgConnection, activity: &Incoming) -> Result<bool, ApiError> {
    let (liked, object) = match activity.kind.as_str() {
        "Like" => (true, id_of(&activity.object)),
        "Undo" if activity.object.get("type").and_then(Value::as_str) == Some("Like") => {
            if activity.object.get("actor").and_then(id_of) != Some(activity.actor.as_str()) {
                return Err(ApiError::bad_request("an Undo may only withdraw its actor's own Like"));
            }
            (false, activity.object.get("object").and_then(id_of))
        }
        _ => return Ok(false),
    };
    let Some(video) = object.and_then(|o| local_video(ctx, o)) else {
        // Not one of our videos: nothing to count.
        return Ok(true);
    };
    let federated = sqlx::query_scalar!(
        "select exists (select 1 from video where id = $1 and status = 'published' and visibility = 'federated') as \"e!\"",
        video
    )
    .fetch_one(&mut *conn)
    .await?;
    if !federated {
        return Ok(true);
    }
    if liked {
        sqlx::query!(
            r#"
            with added as (
                insert into federation_like (video_id, actor, activity_id) values ($1, $2, $3)
                on conflict do nothing returning video_id
            )
            update video set like_count = like_count + (select count(*) from added) where id = $1
            "#,
            video,
            activity.actor,
            activity.id,
        )
        .execute(conn)
        .await?;
    } else {
        sqlx::query!(
            r#"
            with removed as (
                delete from federation_like where video_id = $1 and actor = $2 returning video_id
            )
            update video set like_count = like_count - (select count(*) from removed) where id = $1
            "#,
            video,
            activity.actor,
        )
        .execute(conn)
        .await?;
    }
    Ok(true)
}

/// Tells the origin of a partner's video that `user` likes it (or no longer does), when
/// a `video.liked` or `video.unliked` event says so; our own videos are not sent.
/// Idempotent: a like already told (or an unlike of one never told) sends nothing.
pub async fn tell_origin(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    video: Uuid,
    user: Uuid,
    liked: bool,
) -> Result<(), QueueError> {
    let Some(remote) = sqlx::query!(
        r#"select origin as "host!", origin_id as "object_id!" from video where id = $1 and origin is not null"#,
        video
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(());
    };
    // The Like's id, when this changed anything (an Undo names the Like it undoes).
    let changed = if liked {
        sqlx::query_scalar!(
            r#"insert into federation_sent_like (video_id, user_id, activity_id) values ($1, $2, $3)
               on conflict do nothing returning activity_id"#,
            video,
            user,
            ctx.instance.new_activity_id(),
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_scalar!(
            "delete from federation_sent_like where video_id = $1 and user_id = $2 returning activity_id",
            video,
            user,
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    let Some(like_id) = changed else {
        return Ok(());
    };
    let Some(origin) = origin_actor(&mut *conn, &remote.host).await? else {
        return Ok(());
    };
    let person = ctx.instance.person_id(user);
    let like = json!({ "id": like_id, "type": "Like", "actor": person, "object": remote.object_id });
    let activity = if liked {
        let mut like = like;
        like["@context"] = objects::context();
        like["to"] = json!([origin.id]);
        like
    } else {
        json!({
            "@context": objects::context(),
            "id": ctx.instance.new_activity_id(),
            "type": "Undo",
            "actor": person,
            "object": like,
            "to": [origin.id],
        })
    };
    delivery::send(conn, &remote.host, origin.delivery_inbox(), activity).await
}

/// The actor of an instance this one follows (where its likes and comments go).
pub(crate) async fn origin_actor(conn: &mut PgConnection, host: &str) -> Result<Option<Actor>, sqlx::Error> {
    let Some(follow) = store::follow(&mut *conn, Direction::Outgoing, host).await? else {
        return Ok(None);
    };
    match follow.actor {
        Some(actor) if host_of(&actor).is_some() => store::actor(conn, &actor).await,
        _ => Ok(None),
    }
}
