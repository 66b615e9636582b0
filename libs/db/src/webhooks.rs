//! Outbound webhooks: the endpoints an admin registers, and their deliveries as the
//! operator sees them. A delivery is a job on the `webhook` queue, enqueued by the
//! webhooks' event consumer (see `skillreel-catalog`'s `webhooks` module).

use serde::Serialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    pub event: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
}

/// Where a delivery stands: its job's state, told as a delivery's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Queued, being sent, or waiting to be retried.
    Pending,
    Delivered,
    /// Given up (out of attempts, or its webhook was deleted).
    Failed,
}

/// Where a delivery goes: the webhook's URL and signing secret.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub secret: String,
}

/// The queue webhook deliveries wait on.
pub const DELIVERY_QUEUE: &str = "webhook";

pub async fn create(
    conn: &mut PgConnection,
    url: &str,
    secret: &str,
    events: &[String],
    creator: Uuid,
) -> Result<Webhook, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        r#"
        insert into webhook (id, url, secret, events, created_by) values ($1, $2, $3, $4, $5)
        returning id, url, events, created_at
        "#,
        Uuid::now_v7(),
        url,
        secret,
        events,
        creator,
    )
    .fetch_one(conn)
    .await
}

pub async fn list(conn: &mut PgConnection) -> Result<Vec<Webhook>, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        "select id, url, events, created_at from webhook order by created_at, id"
    )
    .fetch_all(conn)
    .await
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!("delete from webhook where id = $1", id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The latest `limit` deliveries to `webhook`, newest first: its jobs, with the job's
/// state told as a delivery's (`pending`, `delivered`, `failed`).
pub async fn deliveries(conn: &mut PgConnection, webhook: Uuid, limit: i64) -> Result<Vec<Delivery>, sqlx::Error> {
    sqlx::query_as!(
        Delivery,
        r#"
        select id, payload ->> 'event' as "event!",
               case status when 'succeeded' then 'delivered' when 'queued' then 'pending'
                           when 'running' then 'pending' else 'failed' end as "status!: DeliveryStatus",
               attempts, last_error, created_at,
               case when status = 'succeeded' then finished_at end as delivered_at
          from job
         where queue = 'webhook' and payload ->> 'webhook_id' = $1::uuid::text
         order by created_at desc, id desc
         limit $2
        "#,
        webhook,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// The webhooks that want `event` (those with no list want everything).
pub async fn subscribed(conn: &mut PgConnection, event: &str) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from webhook where cardinality(events) = 0 or $1 = any(events) order by id",
        event
    )
    .fetch_all(conn)
    .await
}

/// Where `webhook`'s deliveries go; `None` once it is deleted.
pub async fn target(conn: &mut PgConnection, webhook: Uuid) -> Result<Option<Target>, sqlx::Error> {
    sqlx::query_as!(Target, "select url, secret from webhook where id = $1", webhook)
        .fetch_optional(conn)
        .await
}
