//! Likes, views and flags.

use super::*;

#[derive(Debug, Serialize, ToSchema)]
pub struct LikeState {
    pub liked: bool,
    pub like_count: i64,
}

/// Likes (or takes back the like of) a published video the caller can see.
async fn set_like(
    user: &AuthUser,
    ctx: &CatalogContext,
    raw: &str,
    liked: bool,
) -> Result<web::Json<LikeState>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let (video, _) = load_visible(&mut tx, user, raw).await?;
    if video.status != VideoStatus::Published {
        return Err(ApiError::conflict("only published videos can be liked"));
    }
    let (video_id, actor) = (video.id, user.id);
    let (change, event) = if liked {
        let change = engagement::like(&mut tx, video_id, actor).await?;
        (change, DomainEvent::VideoLiked { video: video_id, actor })
    } else {
        let change = engagement::unlike(&mut tx, video_id, actor).await?;
        (change, DomainEvent::VideoUnliked { video: video_id, actor })
    };
    if change.changed {
        events::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    let like_count = change.like_count;
    ctx.changed(video.id);
    ctx.cache.forget_reader(user.id);
    Ok(web::Json(LikeState { liked, like_count }))
}

/// `PUT /api/v1/videos/{id}/like`: idempotent.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn like(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<web::Json<LikeState>, ApiError> {
    set_like(&user, &ctx, &path, true).await
}

/// `DELETE /api/v1/videos/{id}/like`: idempotent.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn unlike(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<web::Json<LikeState>, ApiError> {
    set_like(&user, &ctx, &path, false).await
}

/// Seconds someone must have watched for a view to count.
pub const VIEW_AFTER_SECONDS: f64 = 10.0;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewReport {
    /// Seconds actually watched (not the position: skipping ahead is not watching).
    #[schema(minimum = 0, maximum = 86400)]
    watched_seconds: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViewState {
    pub counted: bool,
    pub view_count: i64,
}

/// `POST /api/v1/videos/{id}/views`: counts a view once per person, after 10 s
/// watched (or the whole of a shorter video).
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn record_view(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
    body: skillreel_web::JsonObject<ViewReport>,
) -> Result<web::Json<ViewState>, ApiError> {
    let watched = body.watched_seconds;
    if !watched.is_finite() || !(0.0..=86_400.0).contains(&watched) {
        return Err(ApiError::validation("watched_seconds must be between 0 and 86400"));
    }
    let mut conn = ctx.pool.acquire().await?;
    let (video, _) = load_visible(&mut conn, &user, &path).await?;
    if video.status != VideoStatus::Published {
        return Err(ApiError::conflict("only views of published videos are counted"));
    }
    let needed = video.duration_ms.map_or(VIEW_AFTER_SECONDS, |ms| {
        (ms as f64 / 1000.0 * 0.9).min(VIEW_AFTER_SECONDS)
    });
    if watched < needed {
        return Ok(web::Json(ViewState {
            counted: false,
            view_count: video.view_count,
        }));
    }
    let (counted, view_count) = engagement::record_view(&mut conn, video.id, user.id).await?;
    ctx.changed(video.id);
    Ok(web::Json(ViewState { counted, view_count }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagRequest {
    #[schema(
        max_length = 5000,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\s][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagState {
    /// Whether the video went back to review.
    pub sent_to_review: bool,
}

/// `POST /api/v1/videos/{id}/flag`: a person reports a published video (once); at
/// `catalog.flag_threshold` reports it goes back to review.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn flag(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
    body: skillreel_web::JsonObject<FlagRequest>,
) -> Result<web::Json<FlagState>, ApiError> {
    let reason = Description::parse(&body.reason)
        .map_err(|e| ApiError::validation(e.to_string().replace("description", "reason")))?;
    if reason.as_str().is_empty() {
        return Err(ApiError::validation("a flag needs a reason"));
    }
    let mut tx = ctx.pool.begin().await?;
    let (video, _) = load_visible(&mut tx, &user, &path).await?;
    if video.status != VideoStatus::Published {
        return Err(ApiError::conflict("only published videos can be flagged"));
    }
    if video.owner_id == user.id {
        return Err(ApiError::conflict("you cannot flag your own video"));
    }
    engagement::flag(&mut tx, video.id, user.id, reason.as_str()).await?;
    let sent_to_review = videos::recheck_flags(&mut tx, video.id, ctx.flag_threshold).await?;
    tx.commit().await?;
    ctx.listing_changed(video.id);
    Ok(web::Json(FlagState { sent_to_review }))
}
