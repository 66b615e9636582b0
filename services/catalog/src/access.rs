//! The catalog's side of the access policy ([`skillreel_domain::access`]): the caller's
//! standing in a video's community, looked up once, and the policy asked with it.

use skillreel_auth::AuthUser;
use skillreel_db::communities;
use skillreel_db::videos::VideoRecord;
pub use skillreel_domain::access::{Action, Membership};
use sqlx::PgConnection;

/// Looks `user` up in the video's community (no query without one).
pub async fn membership(
    conn: &mut PgConnection,
    user: &AuthUser,
    video: &VideoRecord,
) -> Result<Membership, sqlx::Error> {
    let Some(community) = video.community_id else {
        return Ok(Membership::None);
    };
    Ok(Membership::from_role(
        communities::role_of(conn, community, user.id).await?.as_deref(),
    ))
}

/// Whether `user` may do `action` with `video`.
pub fn allows(user: &AuthUser, action: Action, video: &VideoRecord, membership: Membership) -> bool {
    user.viewer().may(action, &video.facts(), membership)
}

/// A partner's video is changed at its origin: what it says, its captions and its
/// state here follow from there (an admin or moderator may still remove it here).
pub fn made_here(video: &VideoRecord) -> Result<(), skillreel_web::ApiError> {
    match &video.origin {
        Some(origin) => Err(skillreel_web::ApiError::conflict(format!(
            "this video comes from {}; it is changed there",
            origin.host
        ))),
        None => Ok(()),
    }
}

/// Operators' endpoints: admins only; `what` says what the caller was refused.
pub fn require_admin(user: &AuthUser, what: &str) -> Result<(), skillreel_web::ApiError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(skillreel_web::ApiError::forbidden(format!("only admins may {what}")))
    }
}
