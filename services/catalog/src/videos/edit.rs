//! Changing a video: its author (or an admin) edits it, its author, an admin or a
//! moderator deletes it.

use super::*;

use skillreel_domain::TagText;
use skillreel_web::double_option;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoPatch {
    #[schema(
        max_length = 200,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x1f\\x7f-\\x9f\\s][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    title: Option<String>,
    #[schema(max_length = 5000, pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$")]
    description: Option<String>,
    /// At most 20 distinct tags of letters, digits and ` -_+#.`, each 1 to 40 characters.
    #[schema(max_items = 20, inline)]
    tags: Option<Vec<TagText>>,
    /// ISO 639-1 code.
    #[schema(pattern = "^\\s*[A-Za-z]{2}\\s*$")]
    language: Option<String>,
    #[schema(value_type = Option<Visibility>)]
    visibility: Option<String>,
    /// A community the author belongs to, or `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<CommunityId>)]
    community: Option<Option<String>>,
}

/// Checks a community id and that the author may post there (is a member).
pub(super) async fn community_for_author(
    conn: &mut PgConnection,
    user: &AuthUser,
    raw: &str,
) -> Result<(CommunityId, ApprovalPolicy), ApiError> {
    let id: CommunityId = raw
        .parse()
        .map_err(|_| ApiError::validation("community must be a community id"))?;
    let community = communities::find(conn, id)
        .await?
        .ok_or_else(|| ApiError::validation("no such community"))?;
    if communities::role_of(conn, id, user.id).await?.is_none() && !user.is_admin() {
        return Err(ApiError::forbidden("join the community before posting to it"));
    }
    let policy = community
        .approval_policy
        .parse()
        .map_err(|e: skillreel_domain::ValidationError| ApiError::internal(e))?;
    Ok((id, policy))
}

/// `PATCH /api/v1/videos/{id}`: the author or an admin changes what the video says
/// and who sees it. Moving a published video to another community is refused (its
/// new community may want to review it): unpublish by deleting, or ask an admin.
#[tracing::instrument(skip(ctx, req, user, body), fields(user = %user.subject))]
pub async fn patch_video(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    path: web::Path<String>,
    body: skillreel_web::JsonObject<VideoPatch>,
) -> Result<web::Json<VideoView>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let (video, _) = load_visible(&mut conn, &user, &path).await?;
    if !access::allows(&user, Action::Edit, &video, Membership::None) {
        return Err(ApiError::forbidden("only the author or an admin may edit this video"));
    }
    access::made_here(&video)?;
    let patch = body.into_inner();
    let invalid = |e: skillreel_domain::ValidationError| ApiError::validation(e.to_string());
    let mut changes = VideoChanges {
        title: patch
            .title
            .as_deref()
            .map(Title::parse)
            .transpose()
            .map_err(invalid)?
            .map(Title::into_inner),
        description: patch
            .description
            .as_deref()
            .map(Description::parse)
            .transpose()
            .map_err(invalid)?
            .map(Description::into_inner),
        tags: patch
            .tags
            .as_ref()
            .map(|t| Tags::parse_all(t.iter().map(TagText::as_str)))
            .transpose()
            .map_err(invalid)?
            .map(|t| t.as_strings()),
        language: patch
            .language
            .as_deref()
            .map(Language::parse)
            .transpose()
            .map_err(invalid)?
            .map(|l| l.as_str().to_owned()),
        visibility: patch
            .visibility
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(invalid)?,
        community: None,
        to_review: false,
    };
    if let Some(community) = patch.community {
        if matches!(video.status, VideoStatus::Published | VideoStatus::PendingReview) {
            return Err(ApiError::conflict("a published video cannot move to another community"));
        }
        changes.community = Some(match community {
            Some(raw) => Some(community_for_author(&mut conn, &user, &raw).await?.0),
            None => None,
        });
    }
    if changes.visibility == Some(Visibility::Community)
        && changes.community.map_or(video.community_id.is_none(), |c| c.is_none())
    {
        return Err(ApiError::validation("visibility `community` needs a community"));
    }
    // An edit must not get around the review a policy asked for: what a reviewer
    // approved, changed by its author, is reviewed again (admins review anyway).
    changes.to_review = video.status == VideoStatus::Published
        && !user.is_admin()
        && changes.alter_reviewed_content(&video)
        && needs_review(&mut conn, video.community_policy, video.community_id, video.owner_id).await?;
    drop(conn);
    let mut tx = ctx.pool.begin().await?;
    videos::update(&mut tx, video.id, &changes).await?;
    if video.status == VideoStatus::Published {
        // Partners that were sent it hear of the change (the federation consumer).
        events::record(
            &mut tx,
            &DomainEvent::VideoUpdated {
                video: video.id,
                actor: user.id,
            },
        )
        .await?;
    }
    tx.commit().await?;
    ctx.listing_changed(video.id);
    current_view(&ctx, &req, &user, video.id).await
}

/// `DELETE /api/v1/videos/{id}`: the author, an admin or a moderator removes a video;
/// its jobs are cancelled (a running transcode stops at its next heartbeat) and its
/// files deleted. An unfinished upload is left to the expiry sweep, which frees its
/// parts.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn delete_video(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let (video, membership) = load_visible(&mut tx, &user, &path).await?;
    if !access::allows(&user, Action::Delete, &video, membership) {
        return Err(ApiError::forbidden(
            "only the author, an admin or a moderator may delete this video",
        ));
    }
    let id = video.id;
    videos::mark_removed(&mut tx, id).await?;
    events::record(
        &mut tx,
        &DomainEvent::VideoRemoved {
            video: id,
            actor: user.id,
        },
    )
    .await?;
    skillreel_queue::cancel_matching(&mut tx, TRANSCODE_QUEUE, "video_id", &id.to_string())
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    ctx.listing_changed(id);
    if let Err(e) = ctx.storage.delete_prefix(&VideoFiles::of(id).root()).await {
        // The row is gone from every listing; stray files only cost space.
        tracing::warn!(error = %e, video = %id, "could not delete a removed video's files");
    }
    Ok(HttpResponse::NoContent().finish())
}
