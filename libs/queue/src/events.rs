//! Domain events through a transactional outbox.
//!
//! A change [`publish`]es its event inside its own transaction, so an event exists if
//! and only if the change committed. Each event gets its position at commit (a
//! deferred trigger takes a lock and the next number), so positions follow commit
//! order and a reader never finds a smaller one appearing behind it.
//!
//! Consumers each keep their own position in `event_consumer`. [`consume_batch`] reads
//! the next events after it, hands them to the consumer and moves the position in the
//! same transaction: what the consumer writes to the database happens exactly once; what
//! it does outside (an HTTP call) happens at least once, because a consumer killed
//! mid-batch leaves its position where it was and the batch is read again. Events are
//! handed over in position order, so in order per object too. One replica at a time
//! holds a consumer (`FOR UPDATE SKIP LOCKED` on its row); the others find it busy and
//! wait for the next wake-up.

use std::future::Future;
use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::QueueError;

/// The channel the commit trigger notifies (the payload is the event's kind): wait on
/// it with [`Listener::on`](crate::Listener::on).
pub const EVENT_CHANNEL: &str = "skillreel_event";

/// An event to record: what happened (`kind`, at `version` of its payload's shape), who
/// did it and to what.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub kind: &'a str,
    pub version: i32,
    pub actor: Option<Uuid>,
    pub object_type: &'a str,
    pub object: Uuid,
    pub payload: serde_json::Value,
}

/// An event as consumers read it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub position: i64,
    /// Stable across deliveries: consumers with outside effects de-duplicate on it.
    pub id: Uuid,
    pub kind: String,
    pub version: i32,
    pub actor_id: Option<Uuid>,
    pub object_type: String,
    pub object_id: Uuid,
    pub payload: serde_json::Value,
    pub occurred_at: OffsetDateTime,
}

/// Records `event` in the caller's transaction; returns its id.
pub async fn publish(conn: &mut PgConnection, event: &NewEvent<'_>) -> Result<Uuid, QueueError> {
    let id = Uuid::now_v7();
    sqlx::query!(
        r#"
        insert into domain_event (id, kind, version, actor_id, object_type, object_id, payload)
        values ($1, $2, $3, $4, $5, $6, $7)
        "#,
        id,
        event.kind,
        event.version,
        event.actor,
        event.object_type,
        event.object,
        event.payload,
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Makes `consumer` known, at position 0 (it then reads every event still kept).
/// Outside the batch's transaction: two replicas registering at once must not wait for
/// each other's batch.
pub async fn register(conn: &mut PgConnection, consumer: &str) -> Result<(), QueueError> {
    sqlx::query!(
        "insert into event_consumer (name) values ($1) on conflict (name) do nothing",
        consumer
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes `consumer`'s position for the rest of the caller's transaction and returns the
/// next `limit` events after it; `None` when another replica holds the consumer (or it
/// is not [`register`]ed).
pub async fn claim_batch(
    conn: &mut PgConnection,
    consumer: &str,
    limit: i64,
) -> Result<Option<Vec<StoredEvent>>, QueueError> {
    let Some(position) = sqlx::query_scalar!(
        "select position from event_consumer where name = $1 for update skip locked",
        consumer
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let events = sqlx::query_as!(
        StoredEvent,
        r#"
        select position as "position!", id, kind, version, actor_id, object_type, object_id, payload, occurred_at
          from domain_event
         where position > $1
         order by position
         limit $2
        "#,
        position,
        limit,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(events))
}

/// Moves `consumer` past `position`, in the transaction of its [`claim_batch`].
pub async fn advance(conn: &mut PgConnection, consumer: &str, position: i64) -> Result<(), QueueError> {
    sqlx::query!(
        "update event_consumer set position = $2, updated_at = now() where name = $1",
        consumer,
        position
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// How far `consumer` has come (0 before its first batch).
pub async fn position(conn: &mut PgConnection, consumer: &str) -> Result<i64, QueueError> {
    let position = sqlx::query_scalar!("select position from event_consumer where name = $1", consumer)
        .fetch_optional(conn)
        .await?;
    Ok(position.unwrap_or(0))
}

/// One batch for `consumer` (once [`register`]ed): claims it, calls `handle` for each event in order inside
/// the batch's transaction, advances past the last and commits. An error from `handle`
/// rolls the whole batch back (it is read again next time), so a handler skips (and
/// logs) an event it can never handle rather than failing on it. Returns how many
/// events were handled; 0 when there were none or another replica holds the consumer.
pub async fn consume_batch<H>(pool: &PgPool, consumer: &str, limit: i64, handle: &mut H) -> Result<usize, QueueError>
where
    H: AsyncFnMut(&mut PgConnection, &StoredEvent) -> Result<(), QueueError>,
{
    let mut tx = pool.begin().await?;
    let Some(events) = claim_batch(&mut tx, consumer, limit).await? else {
        return Ok(0);
    };
    let Some(last) = events.last() else {
        return Ok(0);
    };
    for event in &events {
        handle(&mut tx, event).await?;
    }
    advance(&mut tx, consumer, last.position).await?;
    tx.commit().await?;
    Ok(events.len())
}

/// Runs a consumer until `stop`: registers it (retrying each round until that works),
/// then runs `round` (one [`consume_batch`] with the consumer's handler) again and
/// again, waiting for the next event's `NOTIFY` (or `fallback`) whenever a round found
/// nothing. Every consumer (webhooks, xAPI, …) is this loop around its own handler.
pub async fn serve_consumer<F, Fut>(
    pool: PgPool,
    consumer: &'static str,
    fallback: Duration,
    stop: CancellationToken,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, QueueError>>,
{
    let mut wakeups = crate::Listener::on(&pool, EVENT_CHANNEL, fallback).await;
    let mut registered = false;
    loop {
        if !registered {
            let attempt: Result<(), QueueError> = async { register(&mut *pool.acquire().await?, consumer).await }.await;
            registered = attempt
                .inspect_err(|e| tracing::warn!(error = %e, consumer, "could not register the event consumer"))
                .is_ok();
        }
        let handled = round().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, consumer, "event consumer round failed");
            0
        });
        if handled == 0 {
            tokio::select! {
                () = stop.cancelled() => return,
                () = wakeups.wait() => {}
            }
        } else if stop.is_cancelled() {
            return;
        }
    }
}
