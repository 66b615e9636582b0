//! Sending activities to other instances, never in the request that caused them.
//!
//! An activity to send is a job on the `federation` queue (`skillreel_queue`), enqueued
//! in the transaction of the change it tells of. The deliverer signs and posts it;
//! a failure is retried after 1, 2, 4 … s (at most an hour apart). Per instance, a
//! circuit breaker counts failures in a row: after `federation.circuit_failures` of
//! them nothing is sent to it for `federation.circuit_open_seconds` (its jobs wait
//! without trying), and once it has been failing for
//! `federation.give_up_after_hours` its jobs fail for good. One success closes the
//! circuit. Blocked instances get nothing.
//!
//! Following an instance is a job too: finding its actor (WebFinger, then the actor
//! document) may take a while or fail, and the admin's request does not wait for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use skillreel_queue::{ClaimedJob, Failure, Listener, QueueError};
use sqlx::PgConnection;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::FederationContext;
use crate::objects::{self, ACTIVITY_JSON};
use crate::remote::{self, FetchError};
use crate::signature::host_header;
use crate::store::{self, Direction, FollowState, InstanceStatus};

/// The queue activities leave through.
pub const QUEUE: &str = "federation";
/// Attempts are bounded by time (`give_up_after_hours`), not by count.
const MAX_ATTEMPTS: i32 = 10_000;
/// How long one deliverer holds a job (covers the request timeout).
const LEASE: Duration = Duration::from_secs(30);
/// Jobs one deliverer takes at a time (and sends concurrently).
const BATCH: i64 = 64;
const POLL: Duration = Duration::from_millis(500);
/// How often replay protection forgets what is outside its window.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Attempts at what is not a delivery (a mirror, a person's name): about a day of
/// backoff, then the video plays from its origin and the person keeps their
/// instance's name.
const SIDE_JOB_ATTEMPTS: i32 = 30;
/// A refusal (4xx) is retried this many times (the receiver may not have our key
/// yet), then given up: the instance is up, it just does not want it.
const REFUSALS_RETRIED: i32 = 3;

/// What a federation job does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Post `activity` to `inbox` on `host`.
    Deliver {
        host: String,
        inbox: String,
        activity: Value,
    },
    /// Find the actor of the instance at `url` and send it our `Follow`.
    Follow { host: String, url: String },
    /// Send a new follower (`inbox` on `host`) what this instance federates now, so it
    /// does not wait for the next change to see anything. Queued after the `Accept`,
    /// in the same lane, so the follower knows it follows before the content arrives.
    Backfill { host: String, inbox: String },
    /// Copy a partner's video's media (from `host`) into our storage.
    Mirror { host: String, video: Uuid },
    /// Learn the name of a partner's person first seen without one.
    Person { host: String, actor: String },
}

/// Queues a job (it runs once the surrounding transaction commits).
pub async fn enqueue(conn: &mut PgConnection, job: &Job) -> Result<(), QueueError> {
    skillreel_queue::enqueue(conn, QUEUE, job, MAX_ATTEMPTS).await?;
    Ok(())
}

/// Queues `activity` for `inbox` on `host`.
pub async fn send(conn: &mut PgConnection, host: &str, inbox: &str, activity: Value) -> Result<(), QueueError> {
    let job = Job::Deliver {
        host: host.to_owned(),
        inbox: inbox.to_owned(),
        activity,
    };
    enqueue(conn, &job).await
}

/// Queues `activity` once per instance that follows this one.
pub async fn to_followers(conn: &mut PgConnection, activity: &Value) -> Result<usize, QueueError> {
    let inboxes = store::follower_inboxes(&mut *conn).await?;
    for (host, inbox) in &inboxes {
        send(&mut *conn, host, inbox, activity.clone()).await?;
    }
    Ok(inboxes.len())
}

/// Drops what is queued for `host` (it was blocked).
pub async fn cancel_for(conn: &mut PgConnection, host: &str) -> Result<u64, QueueError> {
    skillreel_queue::cancel_matching(conn, QUEUE, "host", host).await
}

/// Runs the deliverer until `stop`.
pub fn spawn(ctx: Arc<FederationContext>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let owner = format!("federation-{}", Uuid::new_v4());
        let mut wakeups = Listener::jobs(&ctx.pool, POLL).await;
        let mut pruned: Option<Instant> = None;
        loop {
            if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                prune(&ctx).await;
                pruned = Some(Instant::now());
            }
            let done = round(&ctx, &owner).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "federation delivery round failed");
                0
            });
            if done == 0 {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = wakeups.wait() => {}
                }
            } else if stop.is_cancelled() {
                return;
            }
        }
    })
}

async fn prune(ctx: &FederationContext) {
    let pruned = match ctx.pool.acquire().await {
        Ok(mut conn) => store::prune_seen(&mut conn, ctx.settings.signature_window_seconds as f64).await,
        Err(e) => Err(e),
    };
    if let Err(e) = pruned {
        tracing::warn!(error = %e, "federation: could not prune replay protection");
    }
}

/// How an attempt ended, when it did not succeed.
#[derive(Debug)]
enum Setback {
    /// Try again after this long.
    RetryIn(Duration, String),
    /// Trying again cannot help.
    GiveUp(String),
}

async fn round(ctx: &FederationContext, owner: &str) -> Result<usize, QueueError> {
    let mut due = skillreel_queue::claim_many(&ctx.pool, QUEUE, owner, LEASE, BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    // Job ids are UUIDv7: in the order the jobs were queued.
    due.sort_by_key(|job| job.id);
    // How each instance of the round stands, in one query.
    let hosts: Vec<String> = due
        .iter()
        .filter_map(|job| {
            job.payload
                .get("host")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    let health = &{
        let mut conn = ctx.pool.acquire().await?;
        store::health_of(&mut conn, &hosts).await?
    };
    // One lane per inbox: what goes to one inbox is sent in the order it was queued (a
    // Create before its Announce, an Update before a Delete); lanes run at once.
    let mut lanes: Vec<(String, Vec<&ClaimedJob>)> = Vec::new();
    for job in &due {
        let lane = job
            .payload
            .get("inbox")
            .or_else(|| job.payload.get("host"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match lanes.iter_mut().find(|(key, _)| *key == lane) {
            Some((_, jobs)) => jobs.push(job),
            None => lanes.push((lane, vec![job])),
        }
    }
    let sent = futures_util::future::join_all(lanes.iter().map(|(_, jobs)| async move {
        let mut outcomes = Vec::with_capacity(jobs.len());
        for &job in jobs {
            outcomes.push((job, attempt(ctx, job, health).await));
        }
        outcomes
    }))
    .await;
    let mut conn = ctx.pool.acquire().await?;
    for (job, outcome) in sent.into_iter().flatten() {
        match outcome {
            Ok(()) => {
                skillreel_queue::complete(&mut conn, job).await?;
            }
            Err(Setback::RetryIn(after, reason)) => {
                tracing::info!(job = %job.id, attempt = job.attempt, reason, "federation job will be retried");
                skillreel_queue::fail(&mut conn, job, Failure::RetryIn(after), &reason).await?;
            }
            Err(Setback::GiveUp(reason)) => {
                tracing::info!(job = %job.id, reason, "federation job given up");
                skillreel_queue::fail(&mut conn, job, Failure::Permanent, &reason).await?;
            }
        }
    }
    Ok(due.len())
}

async fn attempt(
    ctx: &FederationContext,
    job: &ClaimedJob,
    health: &HashMap<String, store::Health>,
) -> Result<(), Setback> {
    let payload: Job = job.payload().map_err(|e| Setback::GiveUp(e.to_string()))?;
    match payload {
        Job::Deliver { host, inbox, activity } => {
            let health = health.get(&host).cloned().unwrap_or_default();
            deliver(ctx, job.attempt, &host, &inbox, &activity, health).await
        }
        Job::Follow { host, url } => follow(ctx, job.attempt, &host, &url).await,
        Job::Backfill { host, inbox } => {
            let mut tx = ctx.pool.begin().await.map_err(database)?;
            let sent = crate::videos::backfill(ctx, &mut tx, &host, &inbox)
                .await
                .map_err(database)?;
            tx.commit().await.map_err(database)?;
            tracing::info!(host, sent, "sent a new follower what federates");
            Ok(())
        }
        Job::Person { host, actor } => match crate::people::learn_name(ctx, &host, &actor).await {
            Ok(_) => Ok(()),
            Err(FetchError::Unreachable(reason)) if job.attempt < SIDE_JOB_ATTEMPTS => {
                Err(Setback::RetryIn(backoff(job.attempt), reason))
            }
            Err(FetchError::Database(e)) => Err(database(e)),
            Err(FetchError::Unreachable(reason)) => Err(Setback::GiveUp(reason)),
            Err(FetchError::Refused(reason) | FetchError::Invalid(reason)) => Err(Setback::GiveUp(reason)),
        },
        Job::Mirror { host, video } => match crate::mirror::mirror(ctx, video).await {
            Ok(bytes) => {
                tracing::info!(host, %video, bytes, "mirrored a partner's video");
                Ok(())
            }
            Err(crate::mirror::MirrorError::Transient(reason)) if job.attempt < SIDE_JOB_ATTEMPTS => {
                Err(Setback::RetryIn(backoff(job.attempt), reason))
            }
            Err(crate::mirror::MirrorError::Transient(reason) | crate::mirror::MirrorError::Refused(reason)) => {
                Err(Setback::GiveUp(reason))
            }
        },
    }
}

/// Queues an `Accept` of a follow for `inbox` on `host`, then what federates now.
pub async fn accept_and_backfill(
    conn: &mut PgConnection,
    host: &str,
    inbox: &str,
    accept: Value,
) -> Result<(), QueueError> {
    send(&mut *conn, host, inbox, accept).await?;
    enqueue(
        conn,
        &Job::Backfill {
            host: host.to_owned(),
            inbox: inbox.to_owned(),
        },
    )
    .await
}

/// 1, 2, 4 … s after the `attempt`th failure, at most an hour.
fn backoff(attempt: i32) -> Duration {
    Duration::from_secs_f64(2f64.powi(attempt.clamp(1, 13) - 1).min(3600.0))
}

fn database(e: impl std::fmt::Display) -> Setback {
    Setback::RetryIn(Duration::from_secs(5), format!("database: {e}"))
}

async fn deliver(
    ctx: &FederationContext,
    attempt: i32,
    host: &str,
    inbox: &str,
    activity: &Value,
    health: store::Health,
) -> Result<(), Setback> {
    let now = OffsetDateTime::now_utc();
    if health.status == InstanceStatus::Blocked {
        return Err(Setback::GiveUp(format!("{host} is blocked")));
    }
    if let Some(since) = health.failing_since {
        let given = Duration::from_secs(ctx.settings.give_up_after_hours.saturating_mul(3600));
        if (now - since).whole_seconds() >= i64::try_from(given.as_secs()).unwrap_or(i64::MAX) {
            return Err(Setback::GiveUp(format!(
                "{host} has been unreachable since {since}; given up after {} h",
                ctx.settings.give_up_after_hours
            )));
        }
    }
    if let Some(until) = health.circuit_open_until.filter(|until| *until > now) {
        let wait = Duration::from_secs_f64((until - now).as_seconds_f64().max(1.0));
        return Err(Setback::RetryIn(
            wait,
            format!("{host} is paused after failing deliveries"),
        ));
    }
    match post(ctx, inbox, activity).await {
        Ok(()) => {
            let mut conn = ctx.pool.acquire().await.map_err(database)?;
            store::delivered(&mut conn, host).await.map_err(database)?;
            Ok(())
        }
        Err(Posted::Refused(reason)) if attempt >= REFUSALS_RETRIED => Err(Setback::GiveUp(reason)),
        Err(Posted::Refused(reason)) => Err(Setback::RetryIn(backoff(attempt), reason)),
        Err(Posted::Failed(reason)) => {
            let mut conn = ctx.pool.acquire().await.map_err(database)?;
            store::delivery_failed(
                &mut conn,
                host,
                ctx.settings.circuit_failures.max(1),
                ctx.settings.circuit_open_seconds as f64,
            )
            .await
            .map_err(database)?;
            Err(Setback::RetryIn(backoff(attempt), reason))
        }
    }
}

/// Why a post did not go through: the receiver refused it (4xx), or it failed
/// (unreachable, 5xx, timeout), which counts against the instance's health.
enum Posted {
    Refused(String),
    Failed(String),
}

async fn post(ctx: &FederationContext, inbox: &str, activity: &Value) -> Result<(), Posted> {
    let url = remote::parse_url(inbox).map_err(|e| Posted::Refused(e.to_string()))?;
    if ctx.egress.refuses_literal(url.as_str()) {
        return Err(Posted::Refused(format!("{} is a private address", host_header(&url))));
    }
    let key = ctx
        .instance
        .key(&ctx.pool)
        .await
        .map_err(|e| Posted::Failed(e.to_string()))?;
    let body = serde_json::to_vec(activity).map_err(|e| Posted::Refused(e.to_string()))?;
    // An RSA signature takes a millisecond or two, and a round signs 64 at once: off
    // the async workers, which serve requests meanwhile.
    let (signer, target) = (key.signer.clone(), url.clone());
    let (headers, body) = tokio::task::spawn_blocking(move || {
        let headers = signer.headers("POST", &target, Some(&body), SystemTime::now());
        (headers, body)
    })
    .await
    .map_err(|e| Posted::Failed(e.to_string()))?;
    let headers = headers.map_err(|e| Posted::Failed(e.to_string()))?;
    let mut request = ctx.client.post(url.clone()).header("content-type", ACTIVITY_JSON);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.body(body).send().await.map_err(|e| {
        tracing::info!(error = %e, inbox, "federation delivery failed");
        Posted::Failed(if e.is_timeout() {
            format!("{} did not answer in time", host_header(&url))
        } else {
            format!("could not reach {}", host_header(&url))
        })
    })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
        Err(Posted::Refused(format!("{} answered {status}", host_header(&url))))
    } else {
        Err(Posted::Failed(format!("{} answered {status}", host_header(&url))))
    }
}

/// Finds the followed instance's actor and sends it our `Follow`.
async fn follow(ctx: &FederationContext, attempt: i32, host: &str, url: &str) -> Result<(), Setback> {
    let pending = {
        let mut conn = ctx.pool.acquire().await.map_err(database)?;
        store::follow(&mut conn, Direction::Outgoing, host)
            .await
            .map_err(database)?
    };
    // Unfollowed meanwhile, or already past this step.
    let Some(pending) = pending.filter(|f| f.state == FollowState::Resolving) else {
        return Ok(());
    };
    let base = remote::parse_url(url).map_err(|e| Setback::GiveUp(e.to_string()))?;
    let given_up = (OffsetDateTime::now_utc() - pending.created_at).whole_hours()
        >= i64::try_from(ctx.settings.give_up_after_hours).unwrap_or(i64::MAX);
    match remote::resolve_instance(ctx, &base).await {
        Ok(actor) => {
            let follow = serde_json::json!({
                "@context": objects::context(),
                "id": pending.activity_id,
                "type": "Follow",
                "actor": ctx.instance.actor_id(),
                "object": actor.id,
                "to": [actor.id],
            });
            let mut tx = ctx.pool.begin().await.map_err(database)?;
            store::set_follow_state(
                &mut tx,
                Direction::Outgoing,
                host,
                FollowState::Pending,
                Some(&actor.id),
                None,
            )
            .await
            .map_err(database)?;
            send(&mut tx, host, actor.delivery_inbox(), follow)
                .await
                .map_err(database)?;
            tx.commit().await.map_err(database)?;
            Ok(())
        }
        Err(FetchError::Unreachable(reason)) if !given_up => {
            let mut conn = ctx.pool.acquire().await.map_err(database)?;
            store::set_follow_state(
                &mut conn,
                Direction::Outgoing,
                host,
                FollowState::Resolving,
                None,
                Some(&reason),
            )
            .await
            .map_err(database)?;
            Err(Setback::RetryIn(backoff(attempt), reason))
        }
        Err(FetchError::Database(e)) => Err(database(e)),
        Err(e) => {
            let reason = e.to_string();
            let mut conn = ctx.pool.acquire().await.map_err(database)?;
            store::set_follow_state(
                &mut conn,
                Direction::Outgoing,
                host,
                FollowState::Unreachable,
                None,
                Some(&reason),
            )
            .await
            .map_err(database)?;
            Err(Setback::GiveUp(reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_carry_their_host_at_the_top_for_cancelling() {
        let job = Job::Deliver {
            host: "b.example".into(),
            inbox: "https://b.example/inbox".into(),
            activity: serde_json::json!({}),
        };
        let value = serde_json::to_value(&job).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(value["host"], "b.example");
        assert_eq!(value["job"], "deliver");
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(40), Duration::from_secs(3600));
    }
}
