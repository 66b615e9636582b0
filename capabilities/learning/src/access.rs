//! Learning's side of the access policy: the facts the domain's rule
//! ([`skillreel_domain::access::Viewer::may`]) needs about videos and journeys, loaded
//! for one viewer in one statement each, and the answer turned into 404s. Someone who
//! may not see a video or a journey learns nothing about it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use skillreel_auth::AuthUser;
use skillreel_db::communities;
use skillreel_domain::access::{Action, Membership, VideoFacts};
use skillreel_domain::{ApprovalPolicy, CommunityId, UserId, VideoId, VideoStatus, Visibility};
use skillreel_web::ApiError;
use sqlx::PgConnection;
use uuid::Uuid;

/// A video as a step, a heartbeat or an assignment needs it, with the viewer's
/// standing in its community.
#[derive(Debug, Clone)]
pub struct VideoEntry {
    pub id: VideoId,
    pub title: String,
    pub duration_ms: Option<i64>,
    pub facts: VideoFacts,
    pub membership: Membership,
}

impl VideoEntry {
    pub fn duration_seconds(&self) -> Option<f64> {
        self.duration_ms.filter(|d| *d > 0).map(|d| d as f64 / 1000.0)
    }

    pub fn visible_to(&self, user: &AuthUser) -> bool {
        user.viewer().may(Action::View, &self.facts, self.membership)
    }
}

fn parse<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    raw.parse().map_err(ApiError::internal)
}

/// The videos among `ids` that exist, keyed by id, with `viewer`'s membership in each
/// one's community (one statement, whatever the number).
pub async fn videos(
    conn: &mut PgConnection,
    ids: &[Uuid],
    viewer: UserId,
) -> Result<HashMap<Uuid, VideoEntry>, ApiError> {
    let rows = sqlx::query!(
        r#"
        select v.id, v.title, v.duration_ms, v.status, v.visibility, v.community_id, v.owner_id,
               u.manager_subject as owner_manager,
               coalesce(c.approval_policy, 'none') as "policy!",
               m.role as "role?"
          from video v
          join app_user u on u.id = v.owner_id
          left join community c on c.id = v.community_id
          left join community_member m on m.community_id = v.community_id and m.user_id = $2
         where v.id = any($1)
        "#,
        ids,
        viewer.as_uuid(),
    )
    .fetch_all(conn)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let facts = VideoFacts {
            owner: UserId::from_uuid(r.owner_id),
            owner_manager: r.owner_manager,
            status: parse::<VideoStatus>(&r.status)?,
            visibility: parse::<Visibility>(&r.visibility)?,
            community: r.community_id.map(CommunityId::from_uuid),
            policy: parse::<ApprovalPolicy>(&r.policy)?,
        };
        out.insert(
            r.id,
            VideoEntry {
                id: VideoId::from_uuid(r.id),
                title: r.title,
                duration_ms: r.duration_ms,
                facts,
                membership: Membership::from_role(r.role.as_deref()),
            },
        );
    }
    Ok(out)
}

/// The video `raw_id` names, or 404 when it does not exist or `user` may not see it.
pub async fn visible_video(conn: &mut PgConnection, user: &AuthUser, raw_id: &str) -> Result<VideoEntry, ApiError> {
    let id: Uuid = raw_id.parse().map_err(|_| ApiError::not_found("video"))?;
    videos(conn, &[id], user.id)
        .await?
        .remove(&id)
        .filter(|v| v.visible_to(user))
        .ok_or_else(|| ApiError::not_found("video"))
}

/// Entries the facts cache holds before it starts over.
const CACHED_VIDEOS: usize = 100_000;

/// What heartbeats need of a video that is the same for every viewer (its owner,
/// state, audience, length), held for a few seconds: a player sends one every few
/// seconds per viewer, and the facts change rarely. The viewer's standing in the
/// video's community is still looked up each time (only for a video in a community).
/// A change (removed, moved to a community) reaches heartbeats within the lifetime:
/// at worst they go on recording progress that long, and show nothing of the video.
pub struct FactsCache {
    lifetime: Duration,
    entries: Mutex<HashMap<Uuid, (Instant, VideoEntry)>>,
}

impl FactsCache {
    pub fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, id: Uuid) -> Option<VideoEntry> {
        let entries = self.entries.lock().ok()?;
        let (at, entry) = entries.get(&id)?;
        (at.elapsed() < self.lifetime).then(|| entry.clone())
    }

    fn put(&self, entry: &VideoEntry) {
        if self.lifetime.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHED_VIDEOS {
                entries.clear();
            }
            entries.insert(entry.id.as_uuid(), (Instant::now(), entry.clone()));
        }
    }
}

/// [`visible_video`], with the video's facts from `cache` when it holds them.
pub async fn visible_video_cached(
    conn: &mut PgConnection,
    cache: &FactsCache,
    user: &AuthUser,
    raw_id: &str,
) -> Result<VideoEntry, ApiError> {
    let id: Uuid = raw_id.parse().map_err(|_| ApiError::not_found("video"))?;
    let entry = match cache.get(id) {
        Some(mut entry) => {
            entry.membership = match entry.facts.community {
                Some(c) => Membership::from_role(communities::role_of(conn, c, user.id).await?.as_deref()),
                None => Membership::None,
            };
            entry
        }
        None => {
            let entry = videos(conn, &[id], user.id)
                .await?
                .remove(&id)
                .ok_or_else(|| ApiError::not_found("video"))?;
            cache.put(&entry);
            entry
        }
    };
    if entry.visible_to(user) {
        Ok(entry)
    } else {
        Err(ApiError::not_found("video"))
    }
}
