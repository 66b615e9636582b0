//! Publishing under a community's approval policy, and reviewing what waits.

use super::*;

pub(super) use communities::needs_review;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Publish into this community (the author must be a member); default: the
    /// video's community, if any.
    #[schema(value_type = Option<CommunityId>)]
    community: Option<String>,
    #[schema(value_type = Option<Visibility>)]
    visibility: Option<String>,
}

/// `POST /api/v1/videos/{id}/publish`: applies the community's approval policy.
/// `none` (and no community) publishes at once; `moderator` and `manager` send it to
/// review, unless the author is a moderator there, or has no manager to ask.
#[tracing::instrument(skip(ctx, req, user, body), fields(user = %user.subject))]
pub async fn publish(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<web::Json<VideoView>, ApiError> {
    // The body is optional; when there is one it must be right.
    let request: PublishRequest = if body.iter().all(u8::is_ascii_whitespace) {
        PublishRequest::default()
    } else {
        let value =
            serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
        skillreel_web::JsonObject::<PublishRequest>::from_value(value)?.into_inner()
    };
    let mut tx = ctx.pool.begin().await?;
    let (video, _) = load_visible(&mut tx, &user, &path).await?;
    if !access::allows(&user, Action::Publish, &video, Membership::None) {
        return Err(ApiError::forbidden(
            "only the author or an admin may publish this video",
        ));
    }
    access::made_here(&video)?;
    if !matches!(video.status, VideoStatus::Ready | VideoStatus::Rejected) {
        return Err(ApiError::conflict(format!(
            "a video that is {} cannot be published",
            video.status
        )));
    }
    let (community, policy) = match request.community.as_deref() {
        Some(raw) => {
            let (id, policy) = community_for_author(&mut tx, &user, raw).await?;
            (Some(id), policy)
        }
        None => (video.community_id, video.community_policy),
    };
    let visibility = match request.visibility.as_deref() {
        Some(raw) => raw
            .parse()
            .map_err(|e: skillreel_domain::ValidationError| ApiError::validation(e.to_string()))?,
        None => video.visibility,
    };
    if visibility == Visibility::Community && community.is_none() {
        return Err(ApiError::validation("visibility `community` needs a community"));
    }
    let to = if needs_review(&mut tx, policy, community, video.owner_id).await? {
        VideoStatus::PendingReview
    } else {
        VideoStatus::Published
    };
    if !videos::submit(&mut tx, video.id, community, visibility, to).await? {
        return Err(ApiError::conflict("the video changed meanwhile; try again"));
    }
    if to == VideoStatus::Published {
        let published = DomainEvent::VideoPublished {
            video: video.id,
            actor: user.id,
        };
        events::record(&mut tx, &published).await?;
    }
    tx.commit().await?;
    ctx.listing_changed(video.id);
    current_view(&ctx, &req, &user, video.id).await
}

/// A reviewer's decision: approval, or rejection with a reason for the author.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReviewRequest {
    Approve {
        /// Ignored on approval.
        #[schema(max_length = 5000, pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$")]
        reason: Option<String>,
    },
    Reject {
        /// Shown to the author; required (a rejection without one is refused with 422).
        #[serde(default)]
        #[schema(value_type = String, required = true,
            max_length = 5000,
            pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\s][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
        )]
        reason: Option<String>,
    },
}

/// `POST /api/v1/videos/{id}/review`: a reviewer approves (published) or rejects
/// (with a reason for the author) a video waiting for review.
#[tracing::instrument(skip(ctx, req, user, body), fields(user = %user.subject))]
pub async fn review(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    path: web::Path<String>,
    body: skillreel_web::JsonObject<ReviewRequest>,
) -> Result<web::Json<VideoView>, ApiError> {
    let (approve, reason) = match &*body {
        ReviewRequest::Approve { reason } => (true, reason.as_deref()),
        ReviewRequest::Reject { reason } => (false, reason.as_deref()),
    };
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if !approve && reason.is_none() {
        return Err(ApiError::validation("a rejection needs a reason for the author"));
    }
    if let Some(r) = reason {
        Description::parse(r).map_err(|e| ApiError::validation(e.to_string().replace("description", "reason")))?;
    }
    let mut tx = ctx.pool.begin().await?;
    let (video, membership) = load_visible(&mut tx, &user, &path).await?;
    if !access::allows(&user, Action::Review, &video, membership) {
        return Err(ApiError::forbidden("you are not a reviewer of this video"));
    }
    if video.status != VideoStatus::PendingReview || !videos::review(&mut tx, video.id, approve, reason).await? {
        return Err(ApiError::conflict("the video is not waiting for review"));
    }
    let (kind, payload) = if approve {
        (NotificationKind::VideoApproved, json!({ "title": video.title }))
    } else {
        (
            NotificationKind::VideoRejected,
            json!({ "title": video.title, "reason": reason }),
        )
    };
    notifications::push(&mut tx, video.owner_id, kind, Some(video.id), &payload).await?;
    if approve {
        let published = DomainEvent::VideoPublished {
            video: video.id,
            actor: user.id,
        };
        events::record(&mut tx, &published).await?;
    }
    tx.commit().await?;
    ctx.listing_changed(video.id);
    current_view(&ctx, &req, &user, video.id).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// `GET /api/v1/reviews`: what waits for the caller's decision, oldest first.
#[tracing::instrument(skip(ctx, req, user), fields(user = %user.subject))]
pub async fn review_queue(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    query: web::Query<QueueQuery>,
) -> Result<web::Json<Page<VideoView>>, ApiError> {
    let limit = parse_limit(query.limit, videos::DEFAULT_PAGE)?;
    let everything = user.is_admin() || user.roles.contains(Role::Moderator);
    let mut conn = ctx.pool.acquire().await?;
    let rows = videos::review_queue(&mut conn, user.id, &user.subject, everything, limit)
        .await
        .map_err(lookup_error)?;
    let links = ctx.media_links(&req);
    let items = rows.into_iter().map(|v| view_of(&links, &user, v)).collect();
    Ok(web::Json(Page {
        items,
        next_cursor: None,
    }))
}
