//! `GET /api/v1/me` and `GET /api/v1/users/{id}`: who someone is and what they share.

use actix_web::web;
use serde::Serialize;
use skillreel_auth::AuthUser;
use skillreel_db::notifications;
use skillreel_db::users::{self, Membership, Profile};
use skillreel_domain::UserId;
use skillreel_web::ApiError;
use utoipa::ToSchema;

use crate::CatalogContext;

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub profile: Profile,
    /// The identity provider's `sub`.
    pub subject: String,
    pub roles: Vec<String>,
    /// The `sub` of their manager, as the token says.
    pub manager: Option<String>,
    pub communities: Vec<Membership>,
    pub unread_notifications: i64,
}

#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn me(user: AuthUser, ctx: web::Data<CatalogContext>) -> Result<web::Json<Me>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let profile = users::profile(&mut conn, user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(web::Json(Me {
        profile,
        subject: user.subject.clone(),
        roles: user.roles.as_strings(),
        manager: user.manager_subject.clone(),
        communities: users::memberships(&mut conn, user.id).await?,
        unread_notifications: notifications::unread_count(&mut conn, user.id).await?,
    }))
}

/// Anyone signed in sees a colleague's public profile.
#[tracing::instrument(skip(ctx, _user))]
pub async fn profile(
    _user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<web::Json<Profile>, ApiError> {
    let id: UserId = path.parse().map_err(|_| ApiError::not_found("user"))?;
    let mut conn = ctx.pool.acquire().await?;
    let profile = users::profile(&mut conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(web::Json(profile))
}
