//! What is assigned or recommended: a journey or a video, as the caller may see it,
//! and who among a set of people may see it too. Assignments use it, and so does the
//! recommendations capability (`skillreel-recommendations`): both hand an item only to
//! people the one access policy lets see it.

use std::collections::{HashMap, HashSet};

use skillreel_auth::AuthUser;
use skillreel_domain::access::{Action, Membership, VideoFacts, Viewer};
use skillreel_domain::learning::JourneyStatus;
use skillreel_domain::{JourneyId, Roles, UserId, VideoId, VideoStatus};
use skillreel_web::ApiError;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{access, journeys};

/// A journey or a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    Journey(JourneyId),
    Video(VideoId),
}

impl Item {
    pub fn journey(self) -> Option<JourneyId> {
        match self {
            Self::Journey(j) => Some(j),
            Self::Video(_) => None,
        }
    }

    pub fn video(self) -> Option<VideoId> {
        match self {
            Self::Video(v) => Some(v),
            Self::Journey(_) => None,
        }
    }

    /// `journey` or `video`, as the API names them.
    pub const fn noun(self) -> &'static str {
        match self {
            Self::Journey(_) => "journey",
            Self::Video(_) => "video",
        }
    }

    pub fn id(self) -> Uuid {
        match self {
            Self::Journey(j) => j.as_uuid(),
            Self::Video(v) => v.as_uuid(),
        }
    }
}

/// An item the caller may see, with what handing it to others needs.
#[derive(Debug, Clone)]
pub struct Shareable {
    pub item: Item,
    pub title: String,
    /// Visible to its audience (only such an item is assigned or recommended).
    pub published: bool,
    /// The item as the access policy sees it.
    pub facts: VideoFacts,
}

/// The journey `raw_id` names, or 404 when it does not exist or `user` may not see it.
pub async fn visible_journey(conn: &mut PgConnection, user: &AuthUser, raw_id: &str) -> Result<Shareable, ApiError> {
    let (journey, _) = journeys::load_visible(conn, user, raw_id).await?;
    Ok(Shareable {
        item: Item::Journey(journey.id),
        published: journey.status == JourneyStatus::Published,
        facts: journey.facts(),
        title: journey.title,
    })
}

/// The video `raw_id` names, or 404 when it does not exist or `user` may not see it.
pub async fn visible_video(conn: &mut PgConnection, user: &AuthUser, raw_id: &str) -> Result<Shareable, ApiError> {
    let video = access::visible_video(conn, user, raw_id).await?;
    Ok(Shareable {
        item: Item::Video(video.id),
        published: video.facts.status == VideoStatus::Published,
        facts: video.facts,
        title: video.title,
    })
}

/// Of `people`, those the access policy lets see `what` (each with their own roles and
/// standing in its community; one statement whatever their number).
pub async fn who_may_see(
    conn: &mut PgConnection,
    people: &[Uuid],
    what: &Shareable,
) -> Result<HashSet<Uuid>, ApiError> {
    let rows = sqlx::query!(
        r#"
        select u.id, u.subject, u.roles, m.role as "role?"
          from app_user u
          left join community_member m on m.community_id = $2 and m.user_id = u.id
         where u.id = any($1)
        "#,
        people,
        what.facts.community.map(|c| c.as_uuid()),
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            let viewer = Viewer {
                id: UserId::from_uuid(r.id),
                subject: r.subject.clone(),
                roles: Roles::from_claims(&r.roles),
            };
            viewer.may(Action::View, &what.facts, Membership::from_role(r.role.as_deref()))
        })
        .map(|r| r.id)
        .collect())
}

/// Of `items`, those `user` may see, keyed by item (two statements whatever their
/// number: one for the videos, one for the journeys and the caller's memberships).
pub async fn visible_among(
    conn: &mut PgConnection,
    user: &AuthUser,
    items: &[Item],
) -> Result<HashMap<Item, Shareable>, ApiError> {
    let video_ids: Vec<Uuid> = items.iter().filter_map(|i| i.video()).map(|v| v.as_uuid()).collect();
    let journey_ids: Vec<Uuid> = items.iter().filter_map(|i| i.journey()).map(|j| j.as_uuid()).collect();
    let mut out = HashMap::with_capacity(items.len());
    if !video_ids.is_empty() {
        for video in access::videos(conn, &video_ids, user.id).await?.into_values() {
            if video.visible_to(user) {
                let shareable = Shareable {
                    item: Item::Video(video.id),
                    published: video.facts.status == VideoStatus::Published,
                    facts: video.facts,
                    title: video.title,
                };
                out.insert(shareable.item, shareable);
            }
        }
    }
    if !journey_ids.is_empty() {
        let journeys = journeys::store::load(conn, &journey_ids).await?;
        let communities: Vec<Uuid> = journeys
            .iter()
            .filter_map(|j| j.community_id)
            .map(|c| c.as_uuid())
            .collect();
        let roles: HashMap<Uuid, String> = sqlx::query!(
            "select community_id, role from community_member where user_id = $1 and community_id = any($2)",
            user.id.as_uuid(),
            &communities,
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.community_id, r.role))
        .collect();
        let viewer = user.viewer();
        for journey in journeys {
            let role = journey.community_id.and_then(|c| roles.get(&c.as_uuid()));
            if viewer.may(
                Action::View,
                &journey.facts(),
                Membership::from_role(role.map(String::as_str)),
            ) {
                let shareable = Shareable {
                    item: Item::Journey(journey.id),
                    published: journey.status == JourneyStatus::Published,
                    facts: journey.facts(),
                    title: journey.title,
                };
                out.insert(shareable.item, shareable);
            }
        }
    }
    Ok(out)
}
