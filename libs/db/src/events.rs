//! Recording [`DomainEvent`]s in the outbox, inside the caller's transaction.

use skillreel_domain::events::DomainEvent;
use skillreel_queue::events::{self, NewEvent};
use sqlx::PgConnection;
use uuid::Uuid;

/// Records `event` in the caller's transaction: it is read by consumers if and only if
/// that transaction commits.
pub async fn record(conn: &mut PgConnection, event: &DomainEvent) -> Result<Uuid, sqlx::Error> {
    let (object_type, object) = event.object();
    let new = NewEvent {
        kind: event.kind(),
        version: event.version(),
        actor: event.actor().map(|a| a.as_uuid()),
        object_type,
        object,
        payload: serde_json::to_value(event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?,
    };
    events::publish(conn, &new).await.map_err(|e| match e {
        skillreel_queue::QueueError::Database(e) => e,
        other => sqlx::Error::Encode(Box::new(other)),
    })
}
