//! Who may see and do what with a video: the one access policy.
//!
//! Every endpoint asks [`Viewer::may`]; listings filter with the SQL twin of
//! [`Viewer::may_list`] in `skillreel_db::videos`, and a property test
//! (`libs/db/tests/access_policy.rs`) shows on random videos, people and memberships that
//! the SQL and this code always agree.
//!
//! - The **author** and **admins** see a video in any state but `removed`, and edit,
//!   publish, caption and delete it.
//! - A **published** video is seen by everyone when its visibility is `org`,
//!   `federated` (which partner instances see too) or `unlisted` (unlisted ones are
//!   never listed), and by the members of its community (and org-wide moderators) when
//!   it is `community`.
//! - A **reviewer** of a video sees it while it is `pending_review` and approves or
//!   rejects it: admins, org-wide moderators (role `moderator`), moderators of its
//!   community, and the author's manager when the community's policy is `manager` (or
//!   the video has no community). Nobody reviews their own video unless an admin.
//! - **Moderators** (of its community, or org-wide) may also remove a published or
//!   pending video.
//! - Whoever sees a video may comment on it; moderators (org-wide or of its community)
//!   moderate its comments.

use crate::{ApprovalPolicy, CommunityId, Role, Roles, UserId, VideoStatus, Visibility};

/// Someone asking to see or do something: a local person with their roles and the
/// `sub` the org chart knows them by. Remote instances join as a kind of viewer with
/// federation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub id: UserId,
    pub subject: String,
    pub roles: Roles,
}

/// The viewer's standing towards one video's community.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Membership {
    #[default]
    None,
    Member,
    Moderator,
}

impl Membership {
    /// From a `community_member.role` (`None` when not a member).
    pub fn from_role(role: Option<&str>) -> Self {
        match role {
            Some("moderator") => Self::Moderator,
            Some(_) => Self::Member,
            None => Self::None,
        }
    }
}

/// What the policy needs to know about a video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFacts {
    pub owner: UserId,
    /// The `sub` of the author's manager, when known.
    pub owner_manager: Option<String>,
    pub status: VideoStatus,
    pub visibility: Visibility,
    pub community: Option<CommunityId>,
    /// The approval policy of its community (`None` without one).
    pub policy: ApprovalPolicy,
}

/// What a viewer asks to do with a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    View,
    Comment,
    /// Title, description, tags, language, visibility, community.
    Edit,
    Publish,
    Caption,
    Delete,
    Review,
    /// Failure and review reasons, processing details, the source.
    SeePrivateDetails,
    /// Hide or delete other people's comments on it.
    ModerateComments,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.roles.is_admin()
    }

    fn is_org_moderator(&self) -> bool {
        self.is_admin() || self.roles.contains(Role::Moderator)
    }

    fn owns_or_administers(&self, video: &VideoFacts) -> bool {
        video.owner == self.id || self.is_admin()
    }

    fn manages_author_of(&self, video: &VideoFacts) -> bool {
        video.owner_manager.as_deref() == Some(self.subject.as_str())
    }

    /// Whether the viewer may do `action` with `video`, given their standing in its
    /// community.
    pub fn may(&self, action: Action, video: &VideoFacts, membership: Membership) -> bool {
        match action {
            Action::View | Action::Comment => self.may_view(video, membership),
            Action::Edit | Action::Publish | Action::Caption | Action::SeePrivateDetails => {
                self.owns_or_administers(video)
            }
            Action::Delete => self.may_delete(video, membership),
            Action::Review => self.reviews(video, membership),
            Action::ModerateComments => self.is_org_moderator() || membership == Membership::Moderator,
        }
    }

    fn may_view(&self, video: &VideoFacts, membership: Membership) -> bool {
        match video.status {
            VideoStatus::Removed => false,
            _ if self.owns_or_administers(video) => true,
            VideoStatus::Published => match video.visibility {
                Visibility::Org | Visibility::Federated | Visibility::Unlisted => true,
                Visibility::Community => membership != Membership::None || self.is_org_moderator(),
            },
            VideoStatus::PendingReview => self.reviews(video, membership),
            _ => false,
        }
    }

    /// Whether the viewer approves or rejects `video` when it waits for review.
    fn reviews(&self, video: &VideoFacts, membership: Membership) -> bool {
        if video.owner == self.id && !self.is_admin() {
            return false;
        }
        self.is_org_moderator()
            || membership == Membership::Moderator
            || (self.manages_author_of(video) && (video.policy == ApprovalPolicy::Manager || video.community.is_none()))
    }

    fn may_delete(&self, video: &VideoFacts, membership: Membership) -> bool {
        self.owns_or_administers(video)
            || (matches!(video.status, VideoStatus::Published | VideoStatus::PendingReview)
                && (self.is_org_moderator() || membership == Membership::Moderator))
    }

    /// Whether a listing of `listed` videos shows `video` to this viewer: admins see
    /// every video in that state, authors their own; published ones are listed to
    /// everyone when `org` or `federated` and to members when `community`; `unlisted` never.
    pub fn may_list(&self, listed: VideoStatus, video: &VideoFacts, membership: Membership) -> bool {
        video.status == listed
            && (self.is_admin()
                || video.owner == self.id
                || (listed == VideoStatus::Published
                    && match video.visibility {
                        Visibility::Org | Visibility::Federated => true,
                        Visibility::Community => membership != Membership::None,
                        Visibility::Unlisted => false,
                    }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(roles: &[&str]) -> Viewer {
        Viewer {
            id: UserId::new(),
            subject: "sub".into(),
            roles: Roles::from_claims(roles.iter().copied()),
        }
    }

    fn video(owner: UserId, status: VideoStatus, visibility: Visibility) -> VideoFacts {
        VideoFacts {
            owner,
            owner_manager: Some("boss".into()),
            status,
            visibility,
            community: None,
            policy: ApprovalPolicy::None,
        }
    }

    #[test]
    fn nobody_sees_a_removed_video_but_everyone_an_org_published_one() {
        let admin = person(&["admin"]);
        let reader = person(&[]);
        let removed = video(reader.id, VideoStatus::Removed, Visibility::Org);
        assert!(!admin.may(Action::View, &removed, Membership::None));
        assert!(!reader.may(Action::View, &removed, Membership::None));
        let published = video(admin.id, VideoStatus::Published, Visibility::Org);
        assert!(reader.may(Action::View, &published, Membership::None));
        assert!(!reader.may(Action::Edit, &published, Membership::None));
    }

    #[test]
    fn the_authors_manager_reviews_only_under_the_manager_policy_or_without_a_community() {
        let mut boss = person(&[]);
        boss.subject = "boss".into();
        let author = UserId::new();
        let mut pending = video(author, VideoStatus::PendingReview, Visibility::Org);
        assert!(boss.may(Action::Review, &pending, Membership::None));
        pending.community = Some(CommunityId::new());
        pending.policy = ApprovalPolicy::Moderator;
        assert!(!boss.may(Action::Review, &pending, Membership::None));
        assert!(boss.may(Action::Review, &pending, Membership::Moderator));
    }

    #[test]
    fn unlisted_videos_are_viewable_but_never_listed_to_others() {
        let reader = person(&["moderator"]);
        let unlisted = video(UserId::new(), VideoStatus::Published, Visibility::Unlisted);
        assert!(reader.may(Action::View, &unlisted, Membership::Member));
        assert!(!reader.may_list(VideoStatus::Published, &unlisted, Membership::Member));
    }
}
