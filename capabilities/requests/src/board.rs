//! The board: `POST|GET /api/v1/requests`, `GET|PATCH|DELETE /api/v1/requests/{id}`,
//! `PUT|DELETE /api/v1/requests/{id}/vote`.
//!
//! Anyone asks; the author's request carries their vote. Only the author (or an admin)
//! edits or closes a request, and only while it is still wanted; a fulfilled request
//! stays as it was fulfilled.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use skillreel_auth::AuthUser;
use skillreel_db::events;
use skillreel_domain::events::DomainEvent;
use skillreel_domain::{TagText, Tags, Title, multiline_text};
use skillreel_web::paging::{Page, by_key, parse_limit};
use skillreel_web::search::{self, Terms};
use skillreel_web::{ApiError, JsonObject};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::RequestsContext;
use crate::store::{self, Locked};
use crate::view::{RequestState, RequestView};

/// Characters a request's details may have.
const MAX_DETAILS: usize = 4_000;

fn invalid(e: skillreel_domain::ValidationError) -> ApiError {
    ApiError::validation(e.to_string())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// What you would like a video about.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// What it should cover, for whom, what you tried.
    #[schema(max_length = 4000)]
    details: Option<String>,
    #[schema(max_items = 20)]
    skills: Option<Vec<TagText>>,
}

/// `POST /api/v1/requests`: 201 with the request, carrying its author's vote.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn create(
    user: AuthUser,
    ctx: web::Data<RequestsContext>,
    body: JsonObject<NewRequest>,
) -> Result<HttpResponse, ApiError> {
    let title = Title::parse(&body.title).map_err(invalid)?;
    let details =
        multiline_text("details", body.details.as_deref().unwrap_or_default(), MAX_DETAILS).map_err(invalid)?;
    let skills = Tags::parse_skills(body.skills.as_deref().unwrap_or_default())
        .map_err(invalid)?
        .as_strings();
    let mut tx = ctx.pool.begin().await?;
    let new = store::NewRequest {
        author: user.id.as_uuid(),
        title: title.as_str(),
        details: &details,
        skills: &skills,
        at: ctx.clock.now(),
    };
    let id = store::insert(&mut tx, &new).await?;
    events::record(
        &mut tx,
        &DomainEvent::RequestCreated {
            request: id,
            actor: user.id,
        },
    )
    .await?;
    let view = store::view(&mut tx, &user, id).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/requests/{id}")))
        .json(view))
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestSort {
    /// Most wanted first.
    #[default]
    Votes,
    /// Newest first.
    Recent,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Words to search for in titles, skills and details (each a prefix, or stemmed).
    #[param(max_length = 500)]
    q: Option<String>,
    /// Only requests for this skill.
    #[param(max_length = 40)]
    skill: Option<String>,
    /// Only this person's requests.
    author: Option<Uuid>,
    /// One state; by default those still wanted (`open` and `claimed`).
    state: Option<RequestState>,
    /// `votes` (default) or `recent`.
    sort: Option<RequestSort>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// From the previous page's `next_cursor`.
    #[param(
        max_length = 200,
        pattern = "^$|^-?[0-9]+(\\.[0-9]+)?~[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    cursor: Option<String>,
}

/// `GET /api/v1/requests`: what colleagues are asking for, most wanted first.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn list(
    user: AuthUser,
    ctx: web::Data<RequestsContext>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<RequestView>>, ApiError> {
    let limit = parse_limit(query.limit, 20)?;
    let after = by_key::parse(query.cursor.as_deref())?;
    let Terms::Match { words, skill } = search::terms(query.q.as_deref(), query.skill.as_deref())? else {
        return Ok(web::Json(Page {
            items: Vec::new(),
            next_cursor: None,
        }));
    };
    let mut conn = ctx.pool.acquire().await?;
    let q = store::ListQuery {
        state: query.state,
        words: words.as_deref(),
        skill: skill.as_deref(),
        author: query.author,
        after,
        limit: limit + 1,
    };
    let rows = store::list(&mut conn, &q, query.sort.unwrap_or_default() == RequestSort::Votes).await?;
    let keys: HashMap<Uuid, f64> = rows.iter().copied().collect();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let views = store::views(&mut conn, &user, &ids).await?;
    Ok(web::Json(Page::of(views, limit, |r| {
        by_key::encode(keys.get(&r.id).copied().unwrap_or_default(), r.id)
    })))
}

/// The request `raw_id` names, or 404.
fn request_id(raw_id: &str) -> Result<Uuid, ApiError> {
    raw_id.parse().map_err(|_| ApiError::not_found("request"))
}

/// `GET /api/v1/requests/{id}`.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn get(
    user: AuthUser,
    ctx: web::Data<RequestsContext>,
    path: web::Path<String>,
) -> Result<web::Json<RequestView>, ApiError> {
    let id = request_id(&path)?;
    let mut conn = ctx.pool.acquire().await?;
    Ok(web::Json(store::view(&mut conn, &user, id).await?))
}

/// Refuses anyone but the author or an admin, and a request no longer wanted.
fn check_author_may_change(user: &AuthUser, request: &Locked) -> Result<(), ApiError> {
    if request.author != user.id.as_uuid() && !user.is_admin() {
        return Err(ApiError::forbidden(
            "only the request's author or an admin may change it",
        ));
    }
    if !request.state.is_wanted() {
        return Err(ApiError::conflict(format!(
            "the request is {}; it can no longer change",
            request.state.as_str()
        )));
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestChanges {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: Option<String>,
    #[schema(max_length = 4000)]
    details: Option<String>,
    #[schema(max_items = 20)]
    skills: Option<Vec<TagText>>,
}

/// `PATCH /api/v1/requests/{id}`: its author (or an admin) rewords it while it is wanted.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn edit(
    user: AuthUser,
    ctx: web::Data<RequestsContext>,
    path: web::Path<String>,
    body: JsonObject<RequestChanges>,
) -> Result<web::Json<RequestView>, ApiError> {
    let title = body.title.as_deref().map(Title::parse).transpose().map_err(invalid)?;
    let details = body
        .details
        .as_deref()
        .map(|d| multiline_text("details", d, MAX_DETAILS))
        .transpose()
        .map_err(invalid)?;
    let skills = body
        .skills
        .as_deref()
        .map(Tags::parse_skills)
        .transpose()
        .map_err(invalid)?
        .map(|s| s.as_strings());
    let mut tx = ctx.pool.begin().await?;
    let request = store::lock(&mut tx, &path).await?;
    check_author_may_change(&user, &request)?;
    sqlx::query!(
        r#"
        update content_request
           set title = coalesce($2, title), details = coalesce($3, details), skills = coalesce($4, skills),
               updated_at = $5
         where id = $1
        "#,
        request.id,
        title.as_ref().map(Title::as_str),
        details,
        skills.as_deref(),
        ctx.clock.now(),
    )
    .execute(&mut *tx)
    .await?;
    let view = store::view(&mut tx, &user, request.id).await?;
    tx.commit().await?;
    Ok(web::Json(view))
}

/// `DELETE /api/v1/requests/{id}`: its author (or an admin) closes it unfulfilled; it
/// stays, closed, for whoever voted.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn close(
    user: AuthUser,
    ctx: web::Data<RequestsContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let request = store::lock(&mut tx, &path).await?;
    check_author_may_change(&user, &request)?;
    sqlx::query!(
        "update content_request set state = 'closed', claimed_by = null, claimed_at = null, updated_at = $2 where id = $1",
        request.id,
        ctx.clock.now(),
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Refuses a vote on a request no longer wanted.
fn check_wanted(request: &Locked) -> Result<(), ApiError> {
    if request.state.is_wanted() {
        Ok(())
    } else {
        Err(ApiError::conflict(format!(
            "the request is {}; votes no longer count",
            request.state.as_str()
        )))
    }
}

/// `PUT /api/v1/requests/{id}/vote`: the caller wants it too (idempotent).
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn vote(
    user: AuthUser,
    ctx: web::Data<RequestsContext>,
    path: web::Path<String>,
) -> Result<web::Json<RequestView>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let request = store::lock(&mut tx, &path).await?;
    check_wanted(&request)?;
    store::vote(&mut tx, request.id, user.id.as_uuid(), ctx.clock.now()).await?;
    let view = store::view(&mut tx, &user, request.id).await?;
    tx.commit().await?;
    Ok(web::Json(view))
}

/// `DELETE /api/v1/requests/{id}/vote`: the caller takes their vote back (idempotent).
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn unvote(
    user: AuthUser,
    ctx: web::Data<RequestsContext>,
    path: web::Path<String>,
) -> Result<web::Json<RequestView>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let request = store::lock(&mut tx, &path).await?;
    check_wanted(&request)?;
    store::unvote(&mut tx, request.id, user.id.as_uuid()).await?;
    let view = store::view(&mut tx, &user, request.id).await?;
    tx.commit().await?;
    Ok(web::Json(view))
}
