//! Operators' endpoints: the transcoding jobs, and a retry for the failed ones.

use actix_web::web;
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_db::videos;
use skillreel_domain::VideoId;
use skillreel_queue::{JobStatus, JobSummary};
use skillreel_web::ApiError;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::CatalogContext;
use crate::access::require_admin;
use crate::views::Page;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    #[param(inline)]
    status: Option<JobStatus>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// A failed job sent round again.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetriedJob {
    pub id: Uuid,
    /// Always `queued`.
    pub status: JobStatus,
    /// The video it transcodes, when it is a transcode.
    pub video_id: Option<VideoId>,
}

/// `GET /api/v1/admin/jobs?status=failed`: newest first.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn list_jobs(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    query: web::Query<JobsQuery>,
) -> Result<web::Json<Page<JobSummary>>, ApiError> {
    require_admin(&user, "manage jobs")?;
    let limit = crate::views::parse_limit(query.limit, 50)?;
    let mut conn = ctx.pool.acquire().await?;
    let items = skillreel_queue::list(&mut conn, query.status, limit)
        .await
        .map_err(ApiError::internal)?;
    Ok(web::Json(Page {
        items,
        next_cursor: None,
    }))
}

/// `POST /api/v1/admin/jobs/{id}/retry`: a failed job runs again, and its video goes
/// back to `processing`.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn retry_job(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<web::Json<RetriedJob>, ApiError> {
    require_admin(&user, "manage jobs")?;
    let id: Uuid = path.parse().map_err(|_| ApiError::not_found("job"))?;
    let mut tx = ctx.pool.begin().await?;
    let payload = skillreel_queue::retry(&mut tx, id).await.map_err(ApiError::internal)?;
    let Some(payload) = payload else {
        return Err(ApiError::conflict("no failed job with this id"));
    };
    let video = payload
        .get("video_id")
        .and_then(|v| v.as_str())
        .and_then(|v| v.parse::<VideoId>().ok());
    if let Some(video) = video {
        videos::retry_processing(&mut tx, video).await?;
    }
    tx.commit().await?;
    Ok(web::Json(RetriedJob {
        id,
        status: JobStatus::Queued,
        video_id: video,
    }))
}
