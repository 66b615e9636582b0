//! Recording who took part: the `participation` consumer turns domain events into
//! `participation_day` rows (one per person, day and kind), and [`Searches`] records
//! searches, which are no domain events, at most once per person and day per replica.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use skillreel_domain::events::DomainEvent;
use skillreel_learning::Clock;
use skillreel_queue::QueueError;
use skillreel_queue::events::{self, StoredEvent};
use sqlx::{PgConnection, PgPool};
use time::{Date, UtcOffset};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;
use uuid::Uuid;

/// The consumer's name in `event_consumer`.
const CONSUMER: &str = "participation";

/// A way of taking part, on one of three rungs: consume, contribute, create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Watch,
    Search,
    Like,
    Comment,
    /// A reply to a question.
    Answer,
    Recommend,
    /// Asked for a video (a content request).
    Request,
    /// Published a video or a journey.
    Publish,
}

impl Activity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Watch => "watch",
            Self::Search => "search",
            Self::Like => "like",
            Self::Comment => "comment",
            Self::Answer => "answer",
            Self::Recommend => "recommend",
            Self::Request => "request",
            Self::Publish => "publish",
        }
    }

    /// 1 consume, 2 contribute, 3 create.
    pub const fn level(self) -> i16 {
        match self {
            Self::Watch | Self::Search => 1,
            Self::Like | Self::Comment | Self::Answer | Self::Recommend | Self::Request => 2,
            Self::Publish => 3,
        }
    }
}

/// Records that `user` did `activity` on `day` (once).
pub async fn record(conn: &mut PgConnection, user: Uuid, activity: Activity, day: Date) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into participation_day (day, user_id, kind, level) values ($1, $2, $3, $4)
        on conflict do nothing
        "#,
        day,
        user,
        activity.as_str(),
        activity.level(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Runs the `participation` consumer until `stop`.
pub fn spawn_consumer(pool: PgPool, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    let rounds = pool.clone();
    tokio::spawn(events::serve_consumer(
        pool,
        CONSUMER,
        Duration::from_secs(2),
        stop,
        move || {
            let pool = rounds.clone();
            async move {
                events::consume_batch(&pool, CONSUMER, 500, &mut async |conn, event| apply(conn, event).await).await
            }
        },
    ))
}

/// Who took part in `event`, and how (`None`: it is no participation).
async fn participant(conn: &mut PgConnection, event: DomainEvent) -> Result<Option<(Uuid, Activity)>, sqlx::Error> {
    Ok(match event {
        DomainEvent::VideoInitialized(p) | DomainEvent::VideoPlayed(p) => Some((p.actor.as_uuid(), Activity::Watch)),
        DomainEvent::VideoCompleted { actor, .. } => Some((actor.as_uuid(), Activity::Watch)),
        DomainEvent::VideoLiked { actor, .. } => Some((actor.as_uuid(), Activity::Like)),
        DomainEvent::CommentCreated { comment, actor, .. } => {
            let answers = sqlx::query_scalar!(
                r#"select coalesce(q.is_question, false) as "answers!" from comment c left join comment q on q.id = c.parent_id where c.id = $1"#,
                comment
            )
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or(false);
            Some((
                actor.as_uuid(),
                if answers { Activity::Answer } else { Activity::Comment },
            ))
        }
        DomainEvent::RecommendationCreated { actor, .. } => Some((actor.as_uuid(), Activity::Recommend)),
        DomainEvent::RequestCreated { actor, .. } => Some((actor.as_uuid(), Activity::Request)),
        // the author created it, whoever approved it
        DomainEvent::VideoPublished { video, .. } => {
            sqlx::query_scalar!("select owner_id from video where id = $1", video.as_uuid())
                .fetch_optional(&mut *conn)
                .await?
                .map(|owner| (owner, Activity::Publish))
        }
        DomainEvent::JourneyPublished { journey, .. } => {
            sqlx::query_scalar!("select owner_id from journey where id = $1", journey.as_uuid())
                .fetch_optional(&mut *conn)
                .await?
                .map(|owner| (owner, Activity::Publish))
        }
        _ => None,
    })
}

/// Applies one event (idempotent).
async fn apply(conn: &mut PgConnection, stored: &StoredEvent) -> Result<(), QueueError> {
    let Ok(event) = serde_json::from_value::<DomainEvent>(stored.payload.clone()) else {
        return Ok(());
    };
    if let Some((user, activity)) = participant(conn, event).await? {
        let day = stored.occurred_at.to_offset(UtcOffset::UTC).date();
        // a person deleted since has nobody to count
        let exists = sqlx::query_scalar!(
            r#"select exists (select 1 from app_user where id = $1) as "exists!""#,
            user
        )
        .fetch_one(&mut *conn)
        .await?;
        if exists {
            record(conn, user, activity, day).await?;
        }
    }
    Ok(())
}

/// Records searches without holding up the search: at most one write per person and
/// day on this replica, made in the background.
#[derive(Clone)]
pub struct Searches {
    pool: PgPool,
    clock: Clock,
    /// The day and who searched on it already (as far as this replica knows).
    seen: Arc<Mutex<(Option<Date>, HashSet<Uuid>)>>,
}

impl Searches {
    pub fn new(pool: PgPool, clock: Clock) -> Self {
        Self {
            pool,
            clock,
            seen: Arc::new(Mutex::new((None, HashSet::new()))),
        }
    }

    /// Whether `user`'s search today is news to this replica (and remembers it).
    fn first_today(&self, user: Uuid, today: Date) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        if seen.0 != Some(today) {
            *seen = (Some(today), HashSet::new());
        }
        seen.1.insert(user)
    }

    /// `user` searched now.
    pub fn searched(&self, user: Uuid) {
        let today = self.clock.now().to_offset(UtcOffset::UTC).date();
        if !self.first_today(user, today) {
            return;
        }
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let written = match pool.acquire().await {
                Ok(mut conn) => record(&mut conn, user, Activity::Search, today).await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                tracing::warn!(error = %e, "could not record a search for participation analytics");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_activity_sits_on_its_rung() {
        assert_eq!(Activity::Watch.level(), 1);
        assert_eq!(Activity::Search.level(), 1);
        for a in [
            Activity::Like,
            Activity::Comment,
            Activity::Answer,
            Activity::Recommend,
            Activity::Request,
        ] {
            assert_eq!(a.level(), 2, "{a:?}");
        }
        assert_eq!(Activity::Publish.level(), 3);
    }
}
