//! Follows: `PUT /api/v1/users/{id}/follow`, `DELETE /api/v1/users/{id}/follow`,
//! `GET /api/v1/me/following`.
//!
//! Anyone follows a colleague to see what they publish; following is idempotent and
//! the followed person is told once.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_domain::UserId;
use skillreel_web::ApiError;
use skillreel_web::paging::{Page, newest_first, parse_limit};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::RecommendationsContext;

/// Someone the caller follows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Followed {
    pub id: Uuid,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub followed_at: OffsetDateTime,
}

/// The person `raw_id` names, or 404.
fn person_id(raw_id: &str) -> Result<Uuid, ApiError> {
    raw_id.parse().map_err(|_| ApiError::not_found("person"))
}

/// `PUT /api/v1/users/{id}/follow`: 204, whether newly or already following.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn follow(
    user: AuthUser,
    ctx: web::Data<RecommendationsContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let followee = person_id(&path)?;
    if followee == user.id.as_uuid() {
        return Err(ApiError::validation("you cannot follow yourself"));
    }
    let mut tx = ctx.pool.begin().await?;
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from app_user where id = $1) as "exists!""#,
        followee
    )
    .fetch_one(&mut *tx)
    .await?;
    if !exists {
        return Err(ApiError::not_found("person"));
    }
    let added = sqlx::query!(
        "insert into person_follow (follower_id, followee_id, created_at) values ($1, $2, $3) on conflict do nothing",
        user.id.as_uuid(),
        followee,
        ctx.clock.now(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if added == 1 {
        let payload = serde_json::json!({ "follower_id": user.id, "follower": user.name });
        notifications::push(
            &mut tx,
            UserId::from_uuid(followee),
            NotificationKind::Followed,
            None,
            &payload,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/v1/users/{id}/follow`: 204, whether following or not.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn unfollow(
    user: AuthUser,
    ctx: web::Data<RecommendationsContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let followee = person_id(&path)?;
    sqlx::query!(
        "delete from person_follow where follower_id = $1 and followee_id = $2",
        user.id.as_uuid(),
        followee,
    )
    .execute(&ctx.pool)
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FollowingQuery {
    /// 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// From the previous page's `next_cursor`.
    #[param(max_length = 200)]
    cursor: Option<String>,
}

/// `GET /api/v1/me/following`: the people the caller follows, most recently followed
/// first.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn following(
    user: AuthUser,
    ctx: web::Data<RecommendationsContext>,
    query: web::Query<FollowingQuery>,
) -> Result<web::Json<Page<Followed>>, ApiError> {
    let limit = parse_limit(query.limit, 50)?;
    let after = newest_first::parse(query.cursor.as_deref())?;
    let rows = sqlx::query_as!(
        Followed,
        r#"
        select u.id, u.name, u.team, f.created_at as followed_at
          from person_follow f
          join app_user u on u.id = f.followee_id
         where f.follower_id = $1
           and ($2::timestamptz is null or (f.created_at, f.followee_id) < ($2, $3))
         order by f.created_at desc, f.followee_id desc
         limit $4
        "#,
        user.id.as_uuid(),
        after.map(|a| a.0),
        after.map(|a| a.1),
        limit + 1,
    )
    .fetch_all(&ctx.pool)
    .await?;
    Ok(web::Json(Page::of(rows, limit, |f| {
        newest_first::encode(f.followed_at, f.id)
    })))
}
