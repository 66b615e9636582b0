//! Claim and fulfil: `POST|DELETE /api/v1/requests/{id}/claim`,
//! `POST /api/v1/requests/{id}/fulfil`.
//!
//! One contributor holds a claim at a time (so two people don't make the same video);
//! they or an admin release it. The claimer (or anyone, while nobody holds it) fulfils
//! the request with a published video of their own that its author may see. Its author
//! and voters are told at each step; the fulfilment is the `request.fulfilled` event.

use actix_web::web;
use serde::Deserialize;
use skillreel_auth::AuthUser;
use skillreel_db::events;
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_domain::UserId;
use skillreel_domain::events::DomainEvent;
use skillreel_learning::items::{self, Shareable};
use skillreel_web::{ApiError, ErrorCode, JsonObject};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::RequestsContext;
use crate::store::{self, Locked};
use crate::view::{RequestState, RequestView};

/// Tells the request's author and voters (but `actor`) what happened to it.
async fn tell_audience(
    conn: &mut PgConnection,
    request: &Locked,
    actor: &AuthUser,
    kind: NotificationKind,
    video: Option<&Shareable>,
) -> Result<(), ApiError> {
    let mut payload = serde_json::json!({
        "request_id": request.id, "title": request.title, "by": actor.name, "by_id": actor.id,
    });
    if let (Some(video), Some(fields)) = (video, payload.as_object_mut()) {
        fields.insert("video_title".into(), video.title.clone().into());
    }
    let video_id = video.and_then(|v| v.item.video());
    for person in store::audience(conn, request.id).await? {
        if person != actor.id.as_uuid() {
            notifications::push(conn, UserId::from_uuid(person), kind, video_id, &payload).await?;
        }
    }
    Ok(())
}

/// Refuses a claim by `user` on a request someone else holds or that is no longer wanted.
fn check_claimable(user: &AuthUser, request: &Locked) -> Result<(), ApiError> {
    if !request.state.is_wanted() {
        return Err(ApiError::conflict(format!(
            "the request is {}; it can no longer be claimed",
            request.state.as_str()
        )));
    }
    match request.claimed_by {
        Some(holder) if holder != user.id.as_uuid() => Err(ApiError::conflict(
            "someone else has claimed this request; ask them, or wait until they release it",
        )),
        _ => Ok(()),
    }
}

/// `POST /api/v1/requests/{id}/claim`: the caller says they will make it (idempotent).
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn claim(
    user: AuthUser,
    ctx: web::Data<RequestsContext>,
    path: web::Path<String>,
) -> Result<web::Json<RequestView>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let request = store::lock(&mut tx, &path).await?;
    check_claimable(&user, &request)?;
    if request.claimed_by.is_none() {
        sqlx::query!(
            "update content_request set state = 'claimed', claimed_by = $2, claimed_at = $3, updated_at = $3 where id = $1",
            request.id,
            user.id.as_uuid(),
            ctx.clock.now(),
        )
        .execute(&mut *tx)
        .await?;
        tell_audience(&mut tx, &request, &user, NotificationKind::RequestClaimed, None).await?;
    }
    let view = store::view(&mut tx, &user, request.id).await?;
    tx.commit().await?;
    Ok(web::Json(view))
}

/// `DELETE /api/v1/requests/{id}/claim`: the claimer (or an admin) lets it go; it is
/// open again.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn release(
    user: AuthUser,
    ctx: web::Data<RequestsContext>,
    path: web::Path<String>,
) -> Result<web::Json<RequestView>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let request = store::lock(&mut tx, &path).await?;
    match request.claimed_by {
        _ if request.state != RequestState::Claimed => {
            return Err(ApiError::conflict(format!(
                "the request is {}, not claimed",
                request.state.as_str()
            )));
        }
        Some(holder) if holder != user.id.as_uuid() && !user.is_admin() => {
            return Err(ApiError::forbidden(
                "only whoever claimed it (or an admin) may release it",
            ));
        }
        _ => {}
    }
    sqlx::query!(
        "update content_request set state = 'open', claimed_by = null, claimed_at = null, updated_at = $2 where id = $1",
        request.id,
        ctx.clock.now(),
    )
    .execute(&mut *tx)
    .await?;
    let view = store::view(&mut tx, &user, request.id).await?;
    tx.commit().await?;
    Ok(web::Json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fulfilment {
    /// A published video of yours that the request's author may see.
    video_id: Uuid,
}

/// The video that may fulfil `request`: the caller's own, published, and one the
/// request's author may see.
async fn fulfilling_video(
    conn: &mut PgConnection,
    user: &AuthUser,
    request: &Locked,
    video_id: Uuid,
) -> Result<Shareable, ApiError> {
    let video = items::visible_video(conn, user, &video_id.to_string())
        .await
        .map_err(|e| match e.code() {
            ErrorCode::NotFound => ApiError::validation("no such video"),
            _ => e,
        })?;
    if video.facts.owner != user.id {
        return Err(ApiError::validation("fulfil a request with a video of your own"));
    }
    if !video.published {
        return Err(ApiError::validation(
            "publish the video before fulfilling a request with it",
        ));
    }
    if !items::who_may_see(conn, &[request.author], &video)
        .await?
        .contains(&request.author)
    {
        return Err(ApiError::validation(
            "the request's author may not see this video; publish it where they can",
        ));
    }
    Ok(video)
}

/// `POST /api/v1/requests/{id}/fulfil`: the caller answers it with a video.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn fulfil(
    user: AuthUser,
    ctx: web::Data<RequestsContext>,
    path: web::Path<String>,
    body: JsonObject<Fulfilment>,
) -> Result<web::Json<RequestView>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let request = store::lock(&mut tx, &path).await?;
    check_claimable(&user, &request)?;
    let video = fulfilling_video(&mut tx, &user, &request, body.video_id).await?;
    let now = ctx.clock.now();
    sqlx::query!(
        r#"
        update content_request
           set state = 'fulfilled', video_id = $2, fulfilled_by = $3, fulfilled_at = $4, updated_at = $4,
               claimed_by = $3, claimed_at = coalesce(claimed_at, $4)
         where id = $1
        "#,
        request.id,
        body.video_id,
        user.id.as_uuid(),
        now,
    )
    .execute(&mut *tx)
    .await?;
    tell_audience(
        &mut tx,
        &request,
        &user,
        NotificationKind::RequestFulfilled,
        Some(&video),
    )
    .await?;
    let event = DomainEvent::RequestFulfilled {
        request: request.id,
        actor: user.id,
        requester: UserId::from_uuid(request.author),
        video: skillreel_domain::VideoId::from_uuid(body.video_id),
    };
    events::record(&mut tx, &event).await?;
    let view = store::view(&mut tx, &user, request.id).await?;
    tx.commit().await?;
    Ok(web::Json(view))
}
