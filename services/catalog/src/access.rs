//! Who may see a video. Kept in one place so every endpoint asks the same question.

use skillreel_auth::AuthUser;
use skillreel_db::videos::VideoRecord;
use skillreel_domain::VideoStatus;

/// The owner and admins see a video in any state; everyone else only once it is
/// ready or published. (Communities, reviewers and visibility arrive with the catalog
/// issue; they extend this function, not the handlers.)
/// A removed video is seen by nobody.
pub fn can_view(user: &AuthUser, video: &VideoRecord) -> bool {
    video.status != VideoStatus::Removed
        && (video.owner_id == user.id || user.is_admin() || video.status.is_visible_to_others())
}

/// The author and admins delete a video.
pub fn can_delete(user: &AuthUser, video: &VideoRecord) -> bool {
    video.owner_id == user.id || user.is_admin()
}

/// Failure reasons and source details are the owner's business.
pub fn can_see_private_details(user: &AuthUser, video: &VideoRecord) -> bool {
    video.owner_id == user.id || user.is_admin()
}
