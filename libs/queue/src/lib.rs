//! Skillreel's job queue, kept in PostgreSQL beside the data it concerns.
//!
//! A job is [`enqueue`]d inside the transaction that makes it necessary (the video row
//! and its transcode job commit together or not at all). Workers [`claim`] with
//! `FOR UPDATE SKIP LOCKED`, so any number of them on any number of machines never take
//! the same job; a claim is a lease that the worker extends with [`heartbeat`]. A
//! worker that dies simply stops heartbeating: once the lease expires the job is
//! claimable again. Failures are retried with exponential backoff until
//! `max_attempts`, then the job rests in `failed` with its reason. [`Listener`]
//! wakes idle workers through `LISTEN/NOTIFY` instead of tight polling.
//!
//! [`events`] is the other half: domain events in a transactional outbox, read in
//! commit order by consumers that each keep their own position.

pub mod events;

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

/// The channel workers listen on; the payload is the queue's name.
pub const NOTIFY_CHANNEL: &str = "skillreel_job";

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("job payload is not what this queue expects: {0}")]
    Payload(#[from] serde_json::Error),
}

/// A job as a worker holds it.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: Uuid,
    pub queue: String,
    pub payload: serde_json::Value,
    /// 1 on the first run.
    pub attempt: i32,
    pub max_attempts: i32,
    pub lease_owner: String,
}

impl ClaimedJob {
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, QueueError> {
        Ok(serde_json::from_value(self.payload.clone())?)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for `run_at`, or for a worker.
    Queued,
    /// Leased by a worker.
    Running,
    Succeeded,
    /// Failed for good (bad input, or out of attempts).
    Failed,
    /// Its subject went away (e.g. the video was deleted).
    Cancelled,
}

impl JobStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A job's state as operators and tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    pub id: Uuid,
    pub status: JobStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub lease_owner: Option<String>,
    pub run_at: OffsetDateTime,
}

/// Adds a job and wakes a worker once the surrounding transaction commits (NOTIFY is
/// transactional, so an aborted transaction wakes nobody).
#[tracing::instrument(skip(conn, payload))]
pub async fn enqueue<T: Serialize>(
    conn: &mut PgConnection,
    queue: &str,
    payload: &T,
    max_attempts: i32,
) -> Result<Uuid, QueueError> {
    let id = Uuid::now_v7();
    let payload = serde_json::to_value(payload)?;
    sqlx::query!(
        "insert into job (id, queue, payload, max_attempts) values ($1, $2, $3, $4)",
        id,
        queue,
        payload,
        max_attempts.max(1),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("select pg_notify($1, $2)", NOTIFY_CHANNEL, queue)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Takes the oldest due job of `queue`, or one whose holder's lease has run out.
#[tracing::instrument(skip(pool))]
pub async fn claim(pool: &PgPool, queue: &str, owner: &str, lease: Duration) -> Result<Option<ClaimedJob>, QueueError> {
    Ok(claim_many(pool, queue, owner, lease, 1).await?.into_iter().next())
}

/// Takes up to `limit` due jobs of `queue` (the oldest first, or ones whose holder's
/// lease has run out) in one statement: a sender that works in batches pays one
/// round trip and one scan per batch, not per job.
#[tracing::instrument(skip(pool))]
pub async fn claim_many(
    pool: &PgPool,
    queue: &str,
    owner: &str,
    lease: Duration,
    limit: i64,
) -> Result<Vec<ClaimedJob>, QueueError> {
    let lease_secs = lease.as_secs_f64();
    let rows = sqlx::query!(
        r#"
        update job
           set status = 'running', attempts = attempts + 1, lease_owner = $2,
               lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
         where id in (
             select id from job
              where queue = $1
                and attempts < max_attempts
                and ((status = 'queued' and run_at <= now())
                     or (status = 'running' and lease_expires_at < now()))
              order by run_at, id
              limit $4
              for update skip locked)
        returning id, queue, payload, attempts, max_attempts
        "#,
        queue,
        owner,
        lease_secs,
        limit.max(1),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ClaimedJob {
            id: r.id,
            queue: r.queue,
            payload: r.payload,
            attempt: r.attempts,
            max_attempts: r.max_attempts,
            lease_owner: owner.to_owned(),
        })
        .collect())
}

/// Extends the lease. `false` means the lease was lost (expired and taken by another
/// worker, or the job was cancelled): the caller must stop working on it.
pub async fn heartbeat(pool: &PgPool, job: &ClaimedJob, lease: Duration, progress: f32) -> Result<bool, QueueError> {
    let done = sqlx::query!(
        r#"
        update job set lease_expires_at = now() + make_interval(secs => $3), progress = $4, updated_at = now()
         where id = $1 and lease_owner = $2 and status = 'running'
        "#,
        job.id,
        job.lease_owner,
        lease.as_secs_f64(),
        progress.clamp(0.0, 1.0),
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Cancels the queued or running jobs of `queue` whose payload's `field` is `value`
/// (e.g. every transcode of a deleted video). A running job notices at its next
/// heartbeat and stops.
pub async fn cancel_matching(
    conn: &mut PgConnection,
    queue: &str,
    field: &str,
    value: &str,
) -> Result<u64, QueueError> {
    let done = sqlx::query!(
        r#"
        update job set status = 'cancelled', lease_owner = null, lease_expires_at = null,
               finished_at = now(), updated_at = now()
         where queue = $1 and payload ->> $2 = $3 and status in ('queued', 'running')
        "#,
        queue,
        field,
        value,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Marks the job done, inside the caller's transaction so the result and the job's
/// completion commit together. `false` when the lease was lost meanwhile.
pub async fn complete(conn: &mut PgConnection, job: &ClaimedJob) -> Result<bool, QueueError> {
    let done = sqlx::query!(
        r#"
        update job set status = 'succeeded', lease_owner = null, lease_expires_at = null,
               finished_at = now(), updated_at = now()
         where id = $1 and lease_owner = $2 and status = 'running'
        "#,
        job.id,
        job.lease_owner,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How a failed attempt should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt later (storage or database hiccup).
    Transient,
    /// Retrying cannot help (corrupt media): straight to `failed`.
    Permanent,
    /// Worth another attempt after this long (the queue's own schedule doesn't fit).
    RetryIn(Duration),
}

/// Records a failed attempt: back to the queue after a backoff, or `failed` for good.
/// Returns whether the job is now terminally failed.
pub async fn fail(
    conn: &mut PgConnection,
    job: &ClaimedJob,
    failure: Failure,
    reason: &str,
) -> Result<bool, QueueError> {
    let terminal = failure == Failure::Permanent || job.attempt >= job.max_attempts;
    let backoff = match failure {
        Failure::RetryIn(after) => after,
        _ => backoff(job.attempt),
    };
    let row = sqlx::query!(
        r#"
        update job
           set status = case when $3 then 'failed' else 'queued' end,
               run_at = case when $3 then run_at else now() + make_interval(secs => $4) end,
               finished_at = case when $3 then now() else null end,
               last_error = $5, lease_owner = null, lease_expires_at = null, updated_at = now()
         where id = $1 and lease_owner = $2 and status = 'running'
        returning status
        "#,
        job.id,
        job.lease_owner,
        terminal,
        backoff.as_secs_f64(),
        reason,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some_and(|r| r.status == "failed"))
}

/// Gives the job back untouched (graceful shutdown): the attempt does not count.
pub async fn release(pool: &PgPool, job: &ClaimedJob) -> Result<(), QueueError> {
    sqlx::query!(
        r#"
        update job set status = 'queued', attempts = greatest(attempts - 1, 0), lease_owner = null,
               lease_expires_at = null, run_at = now(), updated_at = now()
         where id = $1 and lease_owner = $2 and status = 'running'
        "#,
        job.id,
        job.lease_owner,
    )
    .execute(pool)
    .await?;
    sqlx::query!("select pg_notify($1, $2)", NOTIFY_CHANNEL, job.queue)
        .execute(pool)
        .await?;
    Ok(())
}

/// Jobs whose holder died on their last allowed attempt would otherwise sit in
/// `running` forever: this moves them to `failed`. Returns their ids.
pub async fn fail_abandoned(pool: &PgPool, queue: &str) -> Result<Vec<Uuid>, QueueError> {
    let ids = sqlx::query_scalar!(
        r#"
        update job set status = 'failed', finished_at = now(), updated_at = now(),
               last_error = coalesce(last_error || '; ', '') || 'worker stopped responding on the last attempt',
               lease_owner = null, lease_expires_at = null
         where queue = $1 and status = 'running' and lease_expires_at < now() and attempts >= max_attempts
        returning id
        "#,
        queue,
    )
    .fetch_all(pool)
    .await?;
    Ok(ids)
}

pub async fn state(conn: &mut PgConnection, id: Uuid) -> Result<Option<JobState>, QueueError> {
    let row = sqlx::query_as!(
        JobState,
        r#"select id, status as "status: JobStatus", attempts, last_error, lease_owner, run_at from job where id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row)
}

/// 2^attempt seconds, capped at ten minutes.
pub fn backoff(attempt: i32) -> Duration {
    let exp = attempt.clamp(0, 10) as u32;
    Duration::from_secs((1u64 << exp).min(600))
}

/// Wakes a worker when a job is enqueued (or a consumer when an event commits), or
/// after `fallback` at the latest (a missed notification, a lease expiring, a backoff
/// elapsing).
pub struct Listener {
    channel: &'static str,
    listener: Option<PgListener>,
    pool: PgPool,
    fallback: Duration,
}

impl Listener {
    /// Listens for enqueued jobs.
    pub async fn jobs(pool: &PgPool, fallback: Duration) -> Self {
        Self::on(pool, NOTIFY_CHANNEL, fallback).await
    }

    /// Listens on `channel`.
    pub async fn on(pool: &PgPool, channel: &'static str, fallback: Duration) -> Self {
        Self {
            channel,
            listener: Self::connect(pool, channel).await,
            pool: pool.clone(),
            fallback,
        }
    }

    /// Listens on a connection of its own, outside `pool` (with `pool`'s settings): a
    /// listener holds its connection for as long as it runs, and each one taken from
    /// the pool was one fewer for requests (the catalog runs five).
    async fn connect(pool: &PgPool, channel: &str) -> Option<PgListener> {
        let own = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with((*pool.connect_options()).clone())
            .await
            .ok()?;
        let mut listener = PgListener::connect_with(&own).await.ok()?;
        listener.listen(channel).await.ok()?;
        Some(listener)
    }

    /// Returns when there may be work.
    pub async fn wait(&mut self) {
        if self.listener.is_none() {
            self.listener = Self::connect(&self.pool, self.channel).await;
        }
        let Some(listener) = self.listener.as_mut() else {
            tokio::time::sleep(self.fallback).await;
            return;
        };
        match tokio::time::timeout(self.fallback, listener.try_recv()).await {
            Ok(Ok(Some(_))) | Err(_) => {}
            // The connection dropped: reconnect on the next wait, poll meanwhile.
            Ok(Ok(None)) | Ok(Err(_)) => self.listener = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(50), Duration::from_secs(600));
        assert_eq!(backoff(-1), Duration::from_secs(1));
    }
}

/// A job as an operator sees it in a list.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Job)]
pub struct JobSummary {
    pub id: Uuid,
    pub queue: String,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub payload: serde_json::Value,
    /// Of the running attempt, 0 to 1.
    pub progress: f32,
    pub time_to_playable_ms: Option<i64>,
    pub time_to_complete_ms: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The newest jobs, optionally only those in `status`.
pub async fn list(
    conn: &mut PgConnection,
    status: Option<JobStatus>,
    limit: i64,
) -> Result<Vec<JobSummary>, QueueError> {
    let rows = sqlx::query_as!(
        JobSummary,
        r#"
        select id, queue, status as "status: JobStatus", attempts, max_attempts, last_error, payload, progress,
               time_to_playable_ms, time_to_complete_ms, run_at, created_at, updated_at
          from job
         where ($1::text is null or status = $1)
         order by created_at desc, id desc
         limit $2
        "#,
        status.map(JobStatus::as_str),
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// Gives a failed job a fresh set of attempts, due now. `None` when there is no such
/// failed job; otherwise its payload.
pub async fn retry(conn: &mut PgConnection, id: Uuid) -> Result<Option<serde_json::Value>, QueueError> {
    let payload = sqlx::query_scalar!(
        r#"
        update job set status = 'queued', attempts = 0, run_at = now(), last_error = null,
               finished_at = null, updated_at = now()
         where id = $1 and status = 'failed'
        returning payload
        "#,
        id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if payload.is_some() {
        let queue = sqlx::query_scalar!("select queue from job where id = $1", id)
            .fetch_one(&mut *conn)
            .await?;
        sqlx::query!("select pg_notify($1, $2)", NOTIFY_CHANNEL, queue)
            .execute(&mut *conn)
            .await?;
    }
    Ok(payload)
}
