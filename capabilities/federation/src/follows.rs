//! Instance follows, as activities: `Follow` (another instance asks to receive what
//! this one federates), answered by `Accept` or `Reject`, withdrawn by `Undo{Follow}`.
//! An incoming follow is accepted at once from an allowed instance, or in open mode
//! with `federation.auto_accept`; otherwise it waits for an admin.

use serde_json::{Value, json};
use skillreel_config::FederationMode;
use skillreel_web::ApiError;
use sqlx::PgConnection;

use crate::FederationContext;
use crate::delivery;
use crate::objects::{self, Incoming, id_of};
use crate::store::{self, Actor, Direction, FollowState, InstanceStatus};

/// Applies an activity from `signer` (already authenticated, not seen before).
pub async fn apply(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    signer: &Actor,
    activity: &Incoming,
) -> Result<(), ApiError> {
    match activity.kind.as_str() {
        "Follow" => followed(ctx, conn, signer, activity).await,
        "Undo" if object_kind(&activity.object) == Some("Follow") => unfollowed(conn, signer, &activity.object).await,
        "Accept" | "Reject" => answered(ctx, conn, signer, activity).await,
        _ if crate::likes::apply(ctx, conn, activity).await? => Ok(()),
        _ if crate::remote_videos::apply(ctx, conn, signer, activity).await? => Ok(()),
        _ if crate::comments::apply(ctx, conn, signer, activity).await? => Ok(()),
        _ if crate::journeys::apply(ctx, conn, signer, activity).await? => Ok(()),
        other => {
            tracing::debug!(kind = other, actor = %signer.id, "ignoring an activity this instance does not act on");
            Ok(())
        }
    }
}

fn object_kind(object: &Value) -> Option<&str> {
    object.get("type").and_then(Value::as_str)
}

/// Another instance follows this one.
async fn followed(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    signer: &Actor,
    activity: &Incoming,
) -> Result<(), ApiError> {
    if id_of(&activity.object) != Some(ctx.instance.actor_id().as_str()) {
        // Following one of our people is not something we offer (yet): say no.
        let reject = objects::activity(&ctx.instance, "Reject", follow_object(activity, signer), &signer.id);
        return Ok(delivery::send(conn, &signer.host, signer.delivery_inbox(), reject).await?);
    }
    store::ensure_instance(&mut *conn, &signer.host).await?;
    let status = store::instance_status(&mut *conn, &signer.host).await?;
    let accept_now =
        status == InstanceStatus::Allowed || (ctx.settings.mode == FederationMode::Open && ctx.settings.auto_accept);
    let state = if accept_now {
        FollowState::Accepted
    } else {
        FollowState::Pending
    };
    store::record_follower(&mut *conn, &signer.host, &signer.id, &activity.id, state).await?;
    let current = store::follow(&mut *conn, Direction::Incoming, &signer.host).await?;
    if current.is_some_and(|f| f.state == FollowState::Accepted) {
        let accept = objects::activity(&ctx.instance, "Accept", follow_object(activity, signer), &signer.id);
        delivery::accept_and_backfill(conn, &signer.host, signer.delivery_inbox(), accept).await?;
    }
    Ok(())
}

/// The Follow being answered, embedded (receivers match on its id, or its actor and
/// object when they did not keep the id).
fn follow_object(activity: &Incoming, signer: &Actor) -> Value {
    json!({
        "id": activity.id,
        "type": "Follow",
        "actor": signer.id,
        "object": activity.object,
    })
}

/// Another instance stops following this one.
async fn unfollowed(conn: &mut PgConnection, signer: &Actor, follow: &Value) -> Result<(), ApiError> {
    if follow.get("actor").and_then(id_of) != Some(signer.id.as_str()) {
        return Err(ApiError::bad_request(
            "an Undo may only withdraw its actor's own Follow",
        ));
    }
    store::delete_follow(conn, Direction::Incoming, &signer.host).await?;
    Ok(())
}

/// The instance this one follows accepted or rejected the follow.
async fn answered(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    signer: &Actor,
    activity: &Incoming,
) -> Result<(), ApiError> {
    let Some(ours) = store::follow(&mut *conn, Direction::Outgoing, &signer.host).await? else {
        return Ok(());
    };
    let answered_id = id_of(&activity.object);
    let names_ours = answered_id == Some(ours.activity_id.as_str())
        || (object_kind(&activity.object) == Some("Follow")
            && activity.object.get("actor").and_then(id_of) == Some(ctx.instance.actor_id().as_str()));
    if !names_ours || ours.actor.as_deref() != Some(signer.id.as_str()) {
        return Ok(());
    }
    let state = if activity.kind == "Accept" {
        FollowState::Accepted
    } else {
        FollowState::Rejected
    };
    store::set_follow_state(conn, Direction::Outgoing, &signer.host, state, None, None).await?;
    Ok(())
}

/// An admin accepts a pending follower.
pub async fn accept_follower(ctx: &FederationContext, conn: &mut PgConnection, host: &str) -> Result<bool, ApiError> {
    let Some(follow) = store::follow(&mut *conn, Direction::Incoming, host).await? else {
        return Ok(false);
    };
    let Some(actor) = follower_actor(conn, &follow).await? else {
        return Ok(false);
    };
    if follow.state != FollowState::Accepted {
        store::set_follow_state(&mut *conn, Direction::Incoming, host, FollowState::Accepted, None, None).await?;
        let accept = answer(ctx, "Accept", &follow.activity_id, &actor);
        delivery::accept_and_backfill(conn, host, actor.delivery_inbox(), accept).await?;
    }
    Ok(true)
}

/// An admin refuses a pending follower or removes an accepted one: it is told
/// (`Reject`) and receives nothing more.
pub async fn remove_follower(ctx: &FederationContext, conn: &mut PgConnection, host: &str) -> Result<bool, ApiError> {
    let Some(follow) = store::delete_follow(&mut *conn, Direction::Incoming, host).await? else {
        return Ok(false);
    };
    if let Some(actor) = follower_actor(conn, &follow).await? {
        let reject = answer(ctx, "Reject", &follow.activity_id, &actor);
        delivery::send(conn, host, actor.delivery_inbox(), reject).await?;
    }
    Ok(true)
}

async fn follower_actor(conn: &mut PgConnection, follow: &store::Follow) -> Result<Option<Actor>, ApiError> {
    match &follow.actor {
        Some(id) => Ok(store::actor(conn, id).await?),
        None => Ok(None),
    }
}

fn answer(ctx: &FederationContext, kind: &str, follow_id: &str, follower: &Actor) -> Value {
    let follow = json!({
        "id": follow_id,
        "type": "Follow",
        "actor": follower.id,
        "object": ctx.instance.actor_id(),
    });
    objects::activity(&ctx.instance, kind, follow, &follower.id)
}

/// An admin stops following an instance: it is told (`Undo{Follow}`) when it knew.
pub async fn unfollow(ctx: &FederationContext, conn: &mut PgConnection, host: &str) -> Result<bool, ApiError> {
    let Some(follow) = store::delete_follow(&mut *conn, Direction::Outgoing, host).await? else {
        return Ok(false);
    };
    // A Follow job still looking for the instance finds the follow gone and stops.
    let told = matches!(follow.state, FollowState::Pending | FollowState::Accepted);
    if let (true, Some(actor_id)) = (told, &follow.actor)
        && let Some(actor) = store::actor(&mut *conn, actor_id).await?
    {
        let undo = objects::activity(
            &ctx.instance,
            "Undo",
            json!({
                "id": follow.activity_id,
                "type": "Follow",
                "actor": ctx.instance.actor_id(),
                "object": actor.id,
            }),
            &actor.id,
        );
        delivery::send(conn, host, actor.delivery_inbox(), undo).await?;
    }
    Ok(true)
}
