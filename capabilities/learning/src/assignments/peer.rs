//! Colleagues' recommendations on the recipient's list of assignments, as
//! `peerRecommended` with no due date (Viva Learning's shape), kept from the domain
//! events the recommendations capability records: the `peer_assignments` consumer
//! adds one when something is recommended (or brought back from dismissed) and takes
//! it off when the recipient dismisses it. A manager's assignment of the same item
//! stays as it is, whatever colleagues do.

use std::time::Duration;

use skillreel_domain::UserId;
use skillreel_domain::events::DomainEvent;
use skillreel_domain::learning::AssignmentKind;
use skillreel_queue::QueueError;
use skillreel_queue::events::{self, StoredEvent};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use super::store::{self, Item};
use crate::clock::Clock;

/// The consumer's name in `event_consumer`.
const CONSUMER: &str = "peer_assignments";

/// Runs the `peer_assignments` consumer until `stop`.
pub fn spawn_consumer(pool: PgPool, clock: Clock, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    let rounds = pool.clone();
    tokio::spawn(events::serve_consumer(
        pool,
        CONSUMER,
        Duration::from_secs(2),
        stop,
        move || {
            let (pool, clock) = (rounds.clone(), clock.clone());
            async move {
                events::consume_batch(&pool, CONSUMER, 200, &mut async move |conn, event| {
                    apply(conn, &clock, event).await
                })
                .await
            }
        },
    ))
}

/// The item an event names, when it names exactly one.
fn item_of(journey: Option<skillreel_domain::JourneyId>, video: Option<skillreel_domain::VideoId>) -> Option<Item> {
    match (journey, video) {
        (Some(j), None) => Some(Item::Journey(j)),
        (None, Some(v)) => Some(Item::Video(v)),
        _ => None,
    }
}

/// Applies one event to the lists (idempotent: adding twice keeps one, taking off
/// twice takes off one).
async fn apply(conn: &mut PgConnection, clock: &Clock, stored: &StoredEvent) -> Result<(), QueueError> {
    let Ok(event) = serde_json::from_value::<DomainEvent>(stored.payload.clone()) else {
        return Ok(());
    };
    match event {
        DomainEvent::RecommendationCreated {
            recipient,
            actor,
            journey,
            video,
            ..
        } => {
            if let Some(item) = item_of(journey, video) {
                add(conn, clock, recipient, actor, item).await?;
            }
        }
        DomainEvent::RecommendationUpdated {
            actor,
            by,
            journey,
            video,
            state,
        } => match (item_of(journey, video), state.as_str()) {
            (Some(item), "dismissed") => store::delete_peer(conn, actor, item).await?,
            (Some(item), _) => add(conn, clock, actor, by, item).await?,
            (None, _) => {}
        },
        _ => {}
    }
    Ok(())
}

async fn add(
    conn: &mut PgConnection,
    clock: &Clock,
    recipient: UserId,
    sender: UserId,
    item: Item,
) -> Result<(), QueueError> {
    store::insert(
        conn,
        item,
        &[recipient.as_uuid()],
        AssignmentKind::PeerRecommended,
        sender,
        None,
        clock.now(),
    )
    .await?;
    Ok(())
}
