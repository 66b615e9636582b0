//! Communities of practice: create and describe them, join and leave, members and
//! moderators, the approval policy, and who contributes most. A community's videos
//! are `GET /api/v1/videos?community={id}`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_db::communities::{self, Community, Contributor, Member};
use skillreel_domain::{ApprovalPolicy, CommunityId, CommunityName, Description, UserId, ValidationError};
use skillreel_web::ApiError;
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};

use crate::CatalogContext;
use crate::views::{Page, paginate, parse_limit};

fn parse_id(raw: &str) -> Result<CommunityId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("community"))
}

fn invalid(e: ValidationError) -> ApiError {
    ApiError::validation(e.to_string())
}

async fn load(conn: &mut PgConnection, raw: &str) -> Result<Community, ApiError> {
    communities::find(conn, parse_id(raw)?)
        .await?
        .ok_or_else(|| ApiError::not_found("community"))
}

/// Moderators of the community and admins manage it.
async fn require_moderator(conn: &mut PgConnection, user: &AuthUser, id: CommunityId) -> Result<(), ApiError> {
    if user.is_admin() || communities::role_of(conn, id, user.id).await?.as_deref() == Some("moderator") {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the community's moderators or an admin may do this",
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CommunityWithRole)]
pub struct CommunityView {
    #[serde(flatten)]
    pub community: Community,
    /// The caller's role: `member`, `moderator`, or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommunity {
    #[schema(
        max_length = 80,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x1f\\x7f-\\x9f\\s][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    name: String,
    #[serde(default)]
    #[schema(max_length = 5000, pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$")]
    description: String,
    #[schema(value_type = Option<ApprovalPolicy>)]
    approval_policy: Option<String>,
}

/// `POST /api/v1/communities`: anyone may start one and moderates it.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn create(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    body: skillreel_web::JsonObject<NewCommunity>,
) -> Result<HttpResponse, ApiError> {
    let name = CommunityName::parse(&body.name).map_err(invalid)?;
    let description = Description::parse(&body.description).map_err(invalid)?;
    let policy: ApprovalPolicy = match body.approval_policy.as_deref() {
        Some(raw) => raw.parse().map_err(invalid)?,
        None => ApprovalPolicy::None,
    };
    let mut tx = ctx.pool.begin().await?;
    let id = match communities::create(&mut tx, name.as_str(), description.as_str(), policy, user.id).await {
        Ok(id) => id,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(ApiError::conflict("a community with this name exists"));
        }
        Err(e) => return Err(e.into()),
    };
    let community = communities::find(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("community"))?;
    tx.commit().await?;
    ctx.cache.forget_reader(user.id);
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/communities/{id}")))
        .json(CommunityView {
            community,
            my_role: Some("moderator".into()),
        }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// `GET /api/v1/communities`: alphabetical.
#[tracing::instrument(skip(ctx, _user))]
pub async fn list(
    _user: AuthUser,
    ctx: web::Data<CatalogContext>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<Community>>, ApiError> {
    let limit = parse_limit(query.limit, 50)?;
    let mut conn = ctx.pool.acquire().await?;
    let rows = communities::list(&mut conn, query.cursor.as_deref().filter(|c| !c.is_empty()), limit + 1).await?;
    let (items, next_cursor) = paginate(rows, limit, |c| c.name.clone());
    Ok(web::Json(Page { items, next_cursor }))
}

#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn get(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<web::Json<CommunityView>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let community = load(&mut conn, &path).await?;
    let my_role = communities::role_of(&mut conn, CommunityId::from_uuid(community.id), user.id).await?;
    Ok(web::Json(CommunityView { community, my_role }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommunityPatch {
    #[schema(max_length = 5000, pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$")]
    description: Option<String>,
    #[schema(value_type = Option<ApprovalPolicy>)]
    approval_policy: Option<String>,
}

/// `PATCH /api/v1/communities/{id}`: moderators describe it and set its policy.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn update(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
    body: skillreel_web::JsonObject<CommunityPatch>,
) -> Result<web::Json<CommunityView>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let id = CommunityId::from_uuid(load(&mut conn, &path).await?.id);
    require_moderator(&mut conn, &user, id).await?;
    let description = body
        .description
        .as_deref()
        .map(Description::parse)
        .transpose()
        .map_err(invalid)?;
    let policy: Option<ApprovalPolicy> = body
        .approval_policy
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(invalid)?;
    communities::update(&mut conn, id, description.as_ref().map(Description::as_str), policy).await?;
    if policy.is_some() {
        // every cached video of the community shows its policy
        ctx.cache.forget_all();
    }
    let community = load(&mut conn, &path).await?;
    let my_role = communities::role_of(&mut conn, id, user.id).await?;
    Ok(web::Json(CommunityView { community, my_role }))
}

/// `PUT /api/v1/communities/{id}/membership`: join (idempotent).
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn join(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let id = CommunityId::from_uuid(load(&mut conn, &path).await?.id);
    communities::join(&mut conn, id, user.id).await?;
    ctx.cache.forget_reader(user.id);
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/v1/communities/{id}/membership`: leave (idempotent).
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn leave(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let id = CommunityId::from_uuid(load(&mut conn, &path).await?.id);
    communities::leave(&mut conn, id, user.id).await?;
    ctx.cache.forget_reader(user.id);
    Ok(HttpResponse::NoContent().finish())
}

#[tracing::instrument(skip(ctx, _user))]
pub async fn members(
    _user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<web::Json<Page<Member>>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let id = CommunityId::from_uuid(load(&mut conn, &path).await?.id);
    let items = communities::members(&mut conn, id, 500).await?;
    Ok(web::Json(Page {
        items,
        next_cursor: None,
    }))
}

#[tracing::instrument(skip(ctx, _user))]
pub async fn contributors(
    _user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<web::Json<Page<Contributor>>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let id = CommunityId::from_uuid(load(&mut conn, &path).await?.id);
    let items = communities::top_contributors(&mut conn, id, 10).await?;
    Ok(web::Json(Page {
        items,
        next_cursor: None,
    }))
}

/// `PUT|DELETE /api/v1/communities/{id}/moderators/{user_id}`: moderators appoint
/// members as moderators, or make them members again.
#[tracing::instrument(skip(ctx, user, req), fields(user = %user.subject))]
pub async fn set_moderator(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: actix_web::HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (community, member) = path.into_inner();
    let mut conn = ctx.pool.acquire().await?;
    let id = CommunityId::from_uuid(load(&mut conn, &community).await?.id);
    require_moderator(&mut conn, &user, id).await?;
    let member: UserId = member.parse().map_err(|_| ApiError::not_found("member"))?;
    if communities::role_of(&mut conn, id, member).await?.is_none() {
        return Err(ApiError::not_found("member"));
    }
    let role = if req.method() == actix_web::http::Method::DELETE {
        "member"
    } else {
        "moderator"
    };
    communities::set_member(&mut conn, id, member, role).await?;
    ctx.cache.forget_reader(member);
    Ok(HttpResponse::NoContent().finish())
}
