//! The reputation ledger, written by the `reputation` consumer from domain events.
//!
//! Each act becomes at most one entry (`dedupe_key`: the act, such as one person's like
//! of one video), with the points the domain's rule credits given what the two people
//! exchanged in the 30 days before it, and the reason in words (saying so when it was
//! damped). An unlike takes its like's entry away. Acts on your own content make no
//! entry. After an entry, the badges it may complete are checked ([`badges`]).

use std::time::Duration;

use skillreel_domain::events::DomainEvent;
use skillreel_domain::recognition::{self, Exchange, Merit};
use skillreel_domain::{JourneyId, UserId, VideoId};
use skillreel_queue::QueueError;
use skillreel_queue::events::{self, StoredEvent};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub mod badges;

/// The consumer's name in `event_consumer`.
const CONSUMER: &str = "reputation";

/// Runs the `reputation` consumer until `stop`.
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
                events::consume_batch(&pool, CONSUMER, 200, &mut async |conn, event| apply(conn, event).await).await
            }
        },
    ))
}

/// The content an act was on: its owner, title and community.
struct Content {
    owner: Uuid,
    title: String,
    community: Option<Uuid>,
    video: Option<Uuid>,
    journey: Option<Uuid>,
}

/// The video or the journey an act was on (`None` when it is gone).
async fn content(
    conn: &mut PgConnection,
    video: Option<VideoId>,
    journey: Option<JourneyId>,
) -> Result<Option<Content>, sqlx::Error> {
    let (video, journey) = (video.map(|v| v.as_uuid()), journey.map(|j| j.as_uuid()));
    Ok(sqlx::query!(
        r#"
        select owner_id as "owner_id!", title as "title!", community_id from video where id = $1
        union all
        select owner_id, title, community_id from journey where id = $2
        limit 1
        "#,
        video,
        journey,
    )
    .fetch_optional(conn)
    .await?
    .map(|r| Content {
        owner: r.owner_id,
        title: r.title,
        community: r.community_id,
        video,
        journey,
    }))
}

/// Applies one event to the ledger (idempotent).
async fn apply(conn: &mut PgConnection, stored: &StoredEvent) -> Result<(), QueueError> {
    let Ok(event) = serde_json::from_value::<DomainEvent>(stored.payload.clone()) else {
        return Ok(());
    };
    let at = stored.occurred_at;
    badges::close_months(conn, at).await?;
    match event {
        DomainEvent::VideoLiked { video: id, actor } => {
            if let Some(content) = content(conn, Some(id), None).await? {
                let act = Act::on(Merit::LikeReceived, actor, &content, format!("like:{actor}:{id}"), at);
                credit(conn, act, |giver| format!("{giver} liked “{}”", content.title)).await?;
            }
        }
        DomainEvent::VideoUnliked { video: id, actor } => {
            let key = format!("like:{actor}:{id}");
            sqlx::query!("delete from reputation_entry where dedupe_key = $1", key)
                .execute(&mut *conn)
                .await?;
        }
        DomainEvent::RecommendationCreated {
            actor,
            video: v,
            journey: j,
            ..
        } => {
            if let Some(content) = content(conn, v, j).await? {
                // one colleague recommending one item counts once, however many they tell
                let item = content.video.or(content.journey).unwrap_or_default();
                let act = Act::on(
                    Merit::Recommended,
                    actor,
                    &content,
                    format!("recommended:{actor}:{item}"),
                    at,
                );
                credit(conn, act, |giver| {
                    format!("{giver} recommended “{}” to colleagues", content.title)
                })
                .await?;
            }
        }
        DomainEvent::VideoCompleted { video: id, actor, .. } => {
            if let Some(content) = content(conn, Some(id), None).await? {
                let act = Act::on(
                    Merit::CompletedByOther,
                    actor,
                    &content,
                    format!("completed:{actor}:{id}"),
                    at,
                );
                credit(conn, act, |giver| format!("{giver} completed “{}”", content.title)).await?;
            }
        }
        DomainEvent::AnswerAccepted {
            answer,
            video: id,
            actor,
            author,
        } => {
            if let Some(mut content) = content(conn, Some(id), None).await? {
                content.owner = author.as_uuid();
                let act = Act::on(Merit::AnswerAccepted, actor, &content, format!("answer:{answer}"), at);
                credit(conn, act, |giver| {
                    format!("{giver} accepted your answer on “{}”", content.title)
                })
                .await?;
            }
        }
        DomainEvent::KudosGiven {
            kudos,
            recipient,
            actor,
            message,
        } => {
            let act = Act {
                merit: Merit::Kudos,
                receiver: recipient.as_uuid(),
                giver: actor.as_uuid(),
                video: None,
                journey: None,
                community: None,
                key: format!("kudos:{kudos}"),
                at,
            };
            credit(conn, act, |giver| format!("Kudos from {giver}: {message}")).await?;
        }
        DomainEvent::RequestFulfilled {
            request,
            actor,
            requester,
            video: id,
        } => {
            // the requester's thanks, paid to whoever fulfilled it (nothing if it was themselves)
            if let Some(content) = content(conn, Some(id), None).await? {
                let mut act = Act::on(
                    Merit::RequestFulfilled,
                    requester,
                    &content,
                    format!("request:{request}"),
                    at,
                );
                act.receiver = actor.as_uuid();
                credit(conn, act, |giver| {
                    format!("You fulfilled {giver}'s request with “{}”", content.title)
                })
                .await?;
            }
        }
        DomainEvent::VideoPublished { video: id, .. } => {
            if let Some(content) = content(conn, Some(id), None).await? {
                badges::after_publishing(conn, content.owner, at).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// One act that may earn its content's owner (`receiver`) reputation.
struct Act {
    merit: Merit,
    receiver: Uuid,
    giver: Uuid,
    video: Option<Uuid>,
    journey: Option<Uuid>,
    community: Option<Uuid>,
    key: String,
    at: OffsetDateTime,
}

impl Act {
    fn on(merit: Merit, giver: UserId, content: &Content, key: String, at: OffsetDateTime) -> Self {
        Self {
            merit,
            receiver: content.owner,
            giver: giver.as_uuid(),
            video: content.video,
            journey: content.journey,
            community: content.community,
            key,
            at,
        }
    }
}

/// What `giver` gave `receiver` in peer points in the 30 days before `at`, and whether
/// `receiver` gave `giver` any.
async fn exchange(
    conn: &mut PgConnection,
    giver: Uuid,
    receiver: Uuid,
    at: OffsetDateTime,
) -> Result<Exchange, sqlx::Error> {
    let since = at - time::Duration::days(30);
    let row = sqlx::query!(
        r#"
        select coalesce(sum(points) filter (where source_user_id = $1 and user_id = $2), 0)::int4 as "given!",
               coalesce(bool_or(source_user_id = $2 and user_id = $1 and points > 0), false) as "mutual!"
          from reputation_entry
         where ((source_user_id = $1 and user_id = $2) or (source_user_id = $2 and user_id = $1))
           and merit <> 'kudos' and occurred_at > $3 and occurred_at <= $4
        "#,
        giver,
        receiver,
        since,
        at,
    )
    .fetch_one(conn)
    .await?;
    Ok(Exchange {
        self_dealing: giver == receiver,
        given: row.given,
        mutual: row.mutual,
    })
}

/// Why an entry earned less than its act is worth, in words.
fn damping(merit: Merit, exchange: Exchange, points: i32) -> Option<String> {
    if points >= merit.points() {
        return None;
    }
    let cap = if exchange.mutual {
        recognition::MUTUAL_PAIR_CAP
    } else {
        recognition::PAIR_CAP
    };
    Some(if exchange.mutual && points == merit.points() / 2 {
        "halved: you credit each other".to_owned()
    } else {
        format!("capped: at most {cap} points from one colleague in 30 days")
    })
}

/// Records `act` (once), worth what the rule credits; then checks the badges it may
/// complete. An act on your own content records nothing.
async fn credit(conn: &mut PgConnection, act: Act, reason: impl FnOnce(&str) -> String) -> Result<(), QueueError> {
    if act.giver == act.receiver {
        return Ok(());
    }
    let giver_name = sqlx::query_scalar!("select name from app_user where id = $1", act.giver)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_else(|| "A colleague".into());
    let exchange = exchange(conn, act.giver, act.receiver, act.at).await?;
    let points = recognition::credited(act.merit, exchange);
    let mut reason = reason(&giver_name);
    if let Some(why) = damping(act.merit, exchange, points) {
        reason = format!("{reason} ({why})");
    }
    let inserted = sqlx::query_scalar!(
        r#"
        insert into reputation_entry (id, user_id, source_user_id, merit, base_points, points, reason,
                                      video_id, journey_id, community_id, dedupe_key, occurred_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        on conflict (dedupe_key) do nothing
        returning id
        "#,
        Uuid::now_v7(),
        act.receiver,
        act.giver,
        act.merit.as_str(),
        act.merit.points(),
        points,
        reason,
        act.video,
        act.journey,
        act.community,
        act.key,
        act.at,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_some() {
        badges::after_credit(conn, act.receiver, act.merit, act.at).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damping_says_why() {
        let plain = Exchange {
            self_dealing: false,
            given: 0,
            mutual: false,
        };
        assert_eq!(damping(Merit::LikeReceived, plain, 10), None);
        assert_eq!(
            damping(Merit::LikeReceived, Exchange { given: 45, ..plain }, 5).as_deref(),
            Some("capped: at most 50 points from one colleague in 30 days")
        );
        assert_eq!(
            damping(Merit::LikeReceived, Exchange { mutual: true, ..plain }, 5).as_deref(),
            Some("halved: you credit each other")
        );
    }
}
