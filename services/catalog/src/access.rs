//! Who may see and do what with a video. Every endpoint asks these functions, so the
//! rules live in one place and the authorisation matrix test covers all of them.
//!
//! - The **author** and **admins** see a video in any state but `removed`, and edit,
//!   publish and delete it.
//! - A **published** video is seen by everyone when its visibility is `org` or
//!   `unlisted` (unlisted ones are never listed), and by the members of its community
//!   when it is `community`.
//! - A **reviewer** of a video sees it while it is `pending_review` and approves or
//!   rejects it: admins, org-wide moderators (role `moderator`), moderators of its
//!   community, and the author's manager when the community's policy is `manager` (or
//!   the video has no community).
//! - **Moderators** (of its community, or org-wide) may also remove a video.

use skillreel_auth::AuthUser;
use skillreel_db::communities;
use skillreel_db::videos::VideoRecord;
use skillreel_domain::{ApprovalPolicy, Role, VideoStatus, Visibility};
use sqlx::PgConnection;

/// The caller's standing towards one video's community.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Membership {
    #[default]
    None,
    Member,
    Moderator,
}

impl Membership {
    /// Looks the caller up in the video's community (no query without one).
    pub async fn of(conn: &mut PgConnection, user: &AuthUser, video: &VideoRecord) -> Result<Self, sqlx::Error> {
        let Some(community) = video.community_id else {
            return Ok(Self::None);
        };
        Ok(match communities::role_of(conn, community, user.id).await?.as_deref() {
            Some("moderator") => Self::Moderator,
            Some(_) => Self::Member,
            None => Self::None,
        })
    }
}

fn is_owner_or_admin(user: &AuthUser, video: &VideoRecord) -> bool {
    video.owner_id == user.id || user.is_admin()
}

fn is_org_moderator(user: &AuthUser) -> bool {
    user.is_admin() || user.roles.contains(Role::Moderator)
}

/// The author's manager, by the `manager` claim the author's token carried.
fn is_authors_manager(user: &AuthUser, video: &VideoRecord) -> bool {
    video.owner_manager_subject.as_deref() == Some(user.subject.as_str())
}

/// Whether `user` approves or rejects `video` when it waits for review.
pub fn is_reviewer(user: &AuthUser, video: &VideoRecord, membership: Membership) -> bool {
    if video.owner_id == user.id && !user.is_admin() {
        return false;
    }
    is_org_moderator(user)
        || membership == Membership::Moderator
        || (is_authors_manager(user, video)
            && (video.community_policy == ApprovalPolicy::Manager || video.community_id.is_none()))
}

pub fn can_view(user: &AuthUser, video: &VideoRecord, membership: Membership) -> bool {
    match video.status {
        VideoStatus::Removed => false,
        _ if is_owner_or_admin(user, video) => true,
        VideoStatus::Published => match video.visibility {
            Visibility::Org | Visibility::Unlisted => true,
            Visibility::Community => membership != Membership::None || is_org_moderator(user),
        },
        VideoStatus::PendingReview => is_reviewer(user, video, membership),
        _ => false,
    }
}

/// Title, description, tags, language, visibility, community; publishing.
pub fn can_edit(user: &AuthUser, video: &VideoRecord) -> bool {
    is_owner_or_admin(user, video)
}

/// The author and admins delete; moderators remove what is in their care.
pub fn can_delete(user: &AuthUser, video: &VideoRecord, membership: Membership) -> bool {
    is_owner_or_admin(user, video)
        || (matches!(video.status, VideoStatus::Published | VideoStatus::PendingReview)
            && (is_org_moderator(user) || membership == Membership::Moderator))
}

/// Operators' endpoints: admins only; `what` says what the caller was refused.
pub fn require_admin(user: &AuthUser, what: &str) -> Result<(), skillreel_web::ApiError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(skillreel_web::ApiError::forbidden(format!("only admins may {what}")))
    }
}

/// Failure reasons, review reasons, processing details and the source are the author's
/// business (and admins').
pub fn can_see_private_details(user: &AuthUser, video: &VideoRecord) -> bool {
    is_owner_or_admin(user, video)
}
