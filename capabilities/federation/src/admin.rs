//! The admin API: which instances this one follows, which follow it, and what it
//! thinks of each (`/api/v1/admin/federation/…`, admins only).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_web::{ApiError, JsonObject};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::FederationContext;
use crate::delivery::{self, Job};
use crate::follows;
use crate::remote;
use crate::signature::host_header;
use crate::store::{self, Direction, FollowState, InstanceStatus, InstanceView};

fn admin(user: &AuthUser, ctx: &FederationContext) -> Result<(), ApiError> {
    if !user.is_admin() {
        return Err(ApiError::forbidden("only admins manage federation"));
    }
    if !ctx.settings.enabled {
        return Err(ApiError::conflict("federation is turned off (federation.enabled)"));
    }
    Ok(())
}

/// An instance's `host[:port]` from a path, as stored (lower case).
fn host_param(path: &str) -> Result<String, ApiError> {
    let host = path.trim().to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if valid {
        Ok(host)
    } else {
        Err(ApiError::not_found("instance"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFollow {
    /// The instance's URL (`https://learn.partner.example`).
    #[schema(max_length = 2000, pattern = "^https?://[^\\s/?#]+[^\\s]*$")]
    instance: String,
}

/// A follow between this instance and another, either way.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowView {
    /// The other instance's `host[:port]`.
    pub instance: String,
    /// The URL an admin followed it at (outgoing follows).
    pub url: Option<String>,
    /// Its actor, once known.
    pub actor: Option<String>,
    pub state: FollowState,
    /// Why it is not (yet) accepted, when something went wrong.
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<store::Follow> for FollowView {
    fn from(f: store::Follow) -> Self {
        Self {
            instance: f.host,
            url: f.url,
            actor: f.actor,
            state: f.state,
            reason: f.reason,
            since: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

/// `POST /api/v1/admin/federation/follows`: follows an instance (and so allows it).
/// Finding it and asking happen in the background; the follow's state tells how far
/// it got. 201 when started, 200 when it was already under way or accepted.
#[tracing::instrument(skip_all, fields(user = %user.subject))]
pub async fn follow(
    user: AuthUser,
    ctx: web::Data<FederationContext>,
    body: JsonObject<NewFollow>,
) -> Result<HttpResponse, ApiError> {
    admin(&user, &ctx)?;
    let url = remote::parse_url(body.instance.trim()).map_err(|e| ApiError::validation(format!("instance: {e}")))?;
    if ctx.instance.is_self(&url) {
        return Err(ApiError::validation("an instance cannot follow itself"));
    }
    ctx.egress.check_url(&url).await.map_err(ApiError::validation)?;
    let host = host_header(&url).to_ascii_lowercase();
    let base = format!("{}://{host}", url.scheme());
    let mut tx = ctx.pool.begin().await?;
    if store::instance_status(&mut tx, &host).await? == InstanceStatus::Blocked {
        return Err(ApiError::conflict(format!("{host} is blocked; unblock it first")));
    }
    store::set_instance_status(&mut tx, &host, InstanceStatus::Allowed).await?;
    let started = store::start_follow(&mut tx, &host, &base, &ctx.instance.new_activity_id()).await?;
    if started {
        delivery::enqueue(
            &mut tx,
            &Job::Follow {
                host: host.clone(),
                url: base,
            },
        )
        .await?;
    }
    let view = store::follow(&mut tx, Direction::Outgoing, &host)
        .await?
        .map(FollowView::from)
        .ok_or_else(|| ApiError::internal("the follow vanished"))?;
    tx.commit().await?;
    Ok(if started {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// `GET /api/v1/admin/federation/follows`: the instances this one follows.
pub async fn following(user: AuthUser, ctx: web::Data<FederationContext>) -> Result<HttpResponse, ApiError> {
    admin(&user, &ctx)?;
    let mut conn = ctx.pool.acquire().await?;
    let follows = store::follows(&mut conn, Direction::Outgoing).await?;
    Ok(HttpResponse::Ok().json(follows.into_iter().map(FollowView::from).collect::<Vec<_>>()))
}

/// `DELETE /api/v1/admin/federation/follows/{host}`: stops following it.
pub async fn unfollow(
    user: AuthUser,
    ctx: web::Data<FederationContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    end_follow(&user, &ctx, &path, Direction::Outgoing).await
}

/// Ends a follow either way (the other instance is told); 404 when there is none.
async fn end_follow(
    user: &AuthUser,
    ctx: &FederationContext,
    path: &str,
    direction: Direction,
) -> Result<HttpResponse, ApiError> {
    admin(user, ctx)?;
    let host = host_param(path)?;
    let mut tx = ctx.pool.begin().await?;
    let ended = match direction {
        Direction::Outgoing => follows::unfollow(ctx, &mut tx, &host).await?,
        Direction::Incoming => follows::remove_follower(ctx, &mut tx, &host).await?,
    };
    if !ended {
        return Err(ApiError::not_found(match direction {
            Direction::Outgoing => "follow",
            Direction::Incoming => "follower",
        }));
    }
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/admin/federation/followers`: the instances that follow this one.
pub async fn followers(user: AuthUser, ctx: web::Data<FederationContext>) -> Result<HttpResponse, ApiError> {
    admin(&user, &ctx)?;
    let mut conn = ctx.pool.acquire().await?;
    let follows = store::follows(&mut conn, Direction::Incoming).await?;
    Ok(HttpResponse::Ok().json(follows.into_iter().map(FollowView::from).collect::<Vec<_>>()))
}

/// `POST /api/v1/admin/federation/followers/{host}/accept`.
pub async fn accept_follower(
    user: AuthUser,
    ctx: web::Data<FederationContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    admin(&user, &ctx)?;
    let host = host_param(&path)?;
    let mut tx = ctx.pool.begin().await?;
    if !follows::accept_follower(&ctx, &mut tx, &host).await? {
        return Err(ApiError::not_found("follower"));
    }
    let view = store::follow(&mut tx, Direction::Incoming, &host)
        .await?
        .map(FollowView::from)
        .ok_or_else(|| ApiError::not_found("follower"))?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `DELETE /api/v1/admin/federation/followers/{host}`: refuses or removes a follower.
pub async fn remove_follower(
    user: AuthUser,
    ctx: web::Data<FederationContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    end_follow(&user, &ctx, &path, Direction::Incoming).await
}

/// `GET /api/v1/admin/federation/instances`: every instance this one knows, with
/// follows both ways and delivery health.
pub async fn instances(user: AuthUser, ctx: web::Data<FederationContext>) -> Result<HttpResponse, ApiError> {
    admin(&user, &ctx)?;
    let mut conn = ctx.pool.acquire().await?;
    Ok(HttpResponse::Ok().json(store::instances(&mut conn, None).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstancePolicy {
    /// `allowed`: a partner (admitted in allowlist mode); `blocked`: nothing in or out,
    /// follows both ways end and its videos are removed here; `known`: neither.
    status: InstanceStatus,
}

/// `PUT /api/v1/admin/federation/instances/{host}`: allows, blocks or forgets an
/// instance.
pub async fn set_instance(
    user: AuthUser,
    ctx: web::Data<FederationContext>,
    path: web::Path<String>,
    body: JsonObject<InstancePolicy>,
) -> Result<HttpResponse, ApiError> {
    admin(&user, &ctx)?;
    let host = host_param(&path)?;
    if host.eq_ignore_ascii_case(ctx.instance.host()) {
        return Err(ApiError::validation("this is this instance"));
    }
    let mut tx = ctx.pool.begin().await?;
    store::set_instance_status(&mut tx, &host, body.status).await?;
    if body.status == InstanceStatus::Blocked {
        // Nothing more in or out: follows end without a word, queued deliveries go.
        store::delete_follow(&mut tx, Direction::Outgoing, &host).await?;
        store::delete_follow(&mut tx, Direction::Incoming, &host).await?;
        delivery::cancel_for(&mut tx, &host).await?;
        crate::remote_videos::forget_instance(&ctx, &mut tx, &host).await?;
    }
    let view: Vec<InstanceView> = store::instances(&mut tx, Some(&host)).await?;
    tx.commit().await?;
    let view = view
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("the instance vanished"))?;
    Ok(HttpResponse::Ok().json(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_in_paths_are_plain_host_and_port() {
        assert_eq!(
            host_param("Learn.Example.com:8443").ok().as_deref(),
            Some("learn.example.com:8443")
        );
        assert!(host_param("").is_err());
        assert!(host_param("a/b").is_err());
        assert!(host_param("a b").is_err());
        assert!(host_param(&"a".repeat(256)).is_err());
    }
}
