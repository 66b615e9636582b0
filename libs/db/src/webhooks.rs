//! Outbound webhooks: the endpoints an admin registers and the outbox of deliveries.
//! A delivery row is written in the same transaction as the notification it carries,
//! so an event is sent if and only if it happened.

use serde::Serialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: Uuid,
    pub event: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
}

/// A delivery claimed for sending.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: Uuid,
    pub url: String,
    pub secret: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
}

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

pub async fn deliveries(conn: &mut PgConnection, webhook: Uuid, limit: i64) -> Result<Vec<Delivery>, sqlx::Error> {
    sqlx::query_as!(
        Delivery,
        r#"
        select id, event, status, attempts, last_error, created_at, delivered_at
          from webhook_delivery where webhook_id = $1
         order by created_at desc, id desc
         limit $2
        "#,
        webhook,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Queues `payload` for every webhook that wants `event`.
pub async fn enqueue(conn: &mut PgConnection, event: &str, payload: &serde_json::Value) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        insert into webhook_delivery (id, webhook_id, event, payload)
        select gen_random_uuid(), w.id, $1, $2
          from webhook w
         where cardinality(w.events) = 0 or $1 = any(w.events)
        "#,
        event,
        payload,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Claims up to `limit` due deliveries for `lease_seconds` (skipping those another
/// sender holds) and counts the attempt.
pub async fn claim_due(conn: &mut PgConnection, limit: i64, lease_seconds: f64) -> Result<Vec<Due>, sqlx::Error> {
    sqlx::query_as!(
        Due,
        r#"
        with due as (
            select id from webhook_delivery
             where status = 'pending' and next_attempt_at <= now()
               and (locked_until is null or locked_until < now())
             order by next_attempt_at
             limit $1
             for update skip locked
        )
        update webhook_delivery d
           set locked_until = now() + make_interval(secs => $2), attempts = d.attempts + 1
          from due, webhook w
         where d.id = due.id and w.id = d.webhook_id
        returning d.id, w.url, w.secret, d.payload, d.attempts
        "#,
        limit,
        lease_seconds,
    )
    .fetch_all(conn)
    .await
}

pub async fn mark_delivered(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        update webhook_delivery set status = 'delivered', delivered_at = now(), locked_until = null, last_error = null
         where id = $1
        "#,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Another try after `retry_in_seconds`, or `failed` for good when `give_up`.
pub async fn mark_failed(
    conn: &mut PgConnection,
    id: Uuid,
    error: &str,
    give_up: bool,
    retry_in_seconds: f64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        update webhook_delivery
           set status = case when $3 then 'failed' else 'pending' end,
               next_attempt_at = now() + make_interval(secs => $4),
               locked_until = null, last_error = $2
         where id = $1
        "#,
        id,
        error,
        give_up,
        retry_in_seconds,
    )
    .execute(conn)
    .await?;
    Ok(())
}
