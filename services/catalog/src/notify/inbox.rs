//! `GET /api/v1/me/inbox` and marking read: a person's notifications, newest first.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_db::notifications::{self, Notification};
use skillreel_db::videos::Cursor;
use skillreel_web::ApiError;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::CatalogContext;
use crate::views::{paginate, parse_limit};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Only unread notifications.
    /// Only what is not read yet.
    #[serde(default)]
    unread: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxPage {
    pub items: Vec<Notification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Unread notifications in the whole inbox, for a badge.
    pub unread: i64,
}

#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn list(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    query: web::Query<InboxQuery>,
) -> Result<web::Json<InboxPage>, ApiError> {
    let limit = parse_limit(query.limit, 20)?;
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(raw) => Some(Cursor::decode(raw).ok_or_else(|| ApiError::bad_request("invalid cursor"))?),
        None => None,
    };
    let mut conn = ctx.pool.acquire().await?;
    let rows = notifications::list(&mut conn, user.id, query.unread, after, limit + 1).await?;
    let (items, next_cursor) = paginate(rows, limit, |n| {
        Cursor {
            created_at: n.created_at,
            id: n.id,
        }
        .encode()
    });
    let unread = notifications::unread_count(&mut conn, user.id).await?;
    Ok(web::Json(InboxPage {
        items,
        next_cursor,
        unread,
    }))
}

/// `POST /api/v1/me/inbox/{id}/read`: someone else's notification is "not found".
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn mark_read(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: Uuid = path.parse().map_err(|_| ApiError::not_found("notification"))?;
    let mut conn = ctx.pool.acquire().await?;
    if notifications::mark_read(&mut conn, user.id, id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("notification"))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Marked {
    pub marked: u64,
}

/// `POST /api/v1/me/inbox/read-all`.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn mark_all_read(user: AuthUser, ctx: web::Data<CatalogContext>) -> Result<web::Json<Marked>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let marked = notifications::mark_all_read(&mut conn, user.id).await?;
    Ok(web::Json(Marked { marked }))
}
