//! The video endpoints: read, list and search, edit, delete, publish and review,
//! like, view and flag. Every one loads the video, asks [`access`] and only then acts.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use skillreel_auth::AuthUser;
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_db::videos::{self, RankCursor, Sort, VideoChanges, VideoFilter, VideoRecord};
use skillreel_db::{communities, engagement, events};
use skillreel_domain::events::DomainEvent;
use skillreel_domain::{
    ApprovalPolicy, CommunityId, Description, Language, Role, Tags, Title, UserId, VideoId, VideoStatus, Visibility,
};
use skillreel_storage::VideoFiles;
use skillreel_web::ApiError;
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};

use crate::access::{self, Action, Membership};
use skillreel_contracts::TRANSCODE_QUEUE;
use skillreel_contracts::views::{MediaLinks, VideoView};

use crate::views::{Page, paginate, parse_limit};
use crate::{CatalogContext, read_cache};

pub(crate) fn parse_video_id(raw: &str) -> Result<VideoId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("video"))
}

pub(crate) fn lookup_error(e: videos::VideoQueryError) -> ApiError {
    match e {
        videos::VideoQueryError::Database(e) => e.into(),
        other => ApiError::internal(other),
    }
}

/// The video and the caller's standing in its community, or 404 when the caller may
/// not see it: someone who may not see a video learns nothing, not even that it exists.
pub(crate) async fn load_visible(
    conn: &mut PgConnection,
    user: &AuthUser,
    raw_id: &str,
) -> Result<(VideoRecord, Membership), ApiError> {
    let (video, facts) = find_visible(conn, user, parse_video_id(raw_id)?).await?;
    Ok((video, Membership::from_role(facts.community_role.as_deref())))
}

/// The video with what the caller's view of it depends on (whether they like it, their
/// role in its community), in one round trip, or 404 when they may not see it.
async fn find_visible(
    conn: &mut PgConnection,
    user: &AuthUser,
    id: VideoId,
) -> Result<(VideoRecord, videos::ReaderFacts), ApiError> {
    let found = videos::find_for_reader(conn, id, user.id).await.map_err(lookup_error)?;
    visible_to(user, found)
}

/// What was found, if the caller may see it; 404 alike when it is missing and when
/// it is not theirs to see.
fn visible_to(
    user: &AuthUser,
    found: Option<(VideoRecord, videos::ReaderFacts)>,
) -> Result<(VideoRecord, videos::ReaderFacts), ApiError> {
    let (video, facts) = found.ok_or_else(|| ApiError::not_found("video"))?;
    let membership = Membership::from_role(facts.community_role.as_deref());
    if !access::allows(user, Action::View, &video, membership) {
        return Err(ApiError::not_found("video"));
    }
    Ok((video, facts))
}

fn view_of(links: &MediaLinks<'_>, user: &AuthUser, video: VideoRecord) -> VideoView {
    let private = access::allows(user, Action::SeePrivateDetails, &video, Membership::None);
    VideoView::new(video, Some(links), private)
}

/// The video as it is now (after a change the caller just made), in the caller's view.
async fn current_view(
    ctx: &CatalogContext,
    req: &HttpRequest,
    user: &AuthUser,
    id: VideoId,
) -> Result<web::Json<VideoView>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let video = videos::find(&mut conn, id)
        .await
        .map_err(lookup_error)?
        .ok_or_else(|| ApiError::not_found("video"))?;
    Ok(web::Json(view_of(&ctx.media_links(req), user, video)))
}

mod browse;
mod edit;
mod publishing;
mod reactions;

pub use browse::*;
pub use edit::*;
pub use publishing::*;
pub use reactions::*;
