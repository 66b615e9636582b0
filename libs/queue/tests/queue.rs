//! The queue against a real PostgreSQL, one database per test.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use skillreel_queue::{
    Failure, JobStatus, cancel_matching, claim, complete, enqueue, fail, fail_abandoned, heartbeat, list, release,
    state,
};
use sqlx::PgPool;

const Q: &str = "transcode";
const LEASE: Duration = Duration::from_secs(30);

async fn add(pool: &PgPool, n: i64, max_attempts: i32) -> uuid::Uuid {
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    enqueue(&mut conn, Q, &json!({ "n": n }), max_attempts)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn expire_leases(pool: &PgPool) {
    sqlx::query("update job set lease_expires_at = now() - interval '1 second' where status = 'running'")
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn make_due(pool: &PgPool) {
    sqlx::query("update job set run_at = now() where status = 'queued'")
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn concurrent_workers_never_claim_the_same_job(pool: PgPool) {
    for n in 0..20 {
        add(&pool, n, 3).await;
    }
    let mut handles = Vec::new();
    for w in 0..8 {
        let pool = pool.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = claim(&pool, Q, &format!("w{w}"), LEASE)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
            {
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap_or_default());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 20);
    assert_eq!(unique.len(), 20);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_job_whose_worker_died_is_claimed_again_after_its_lease(pool: PgPool) {
    let id = add(&pool, 1, 3).await;
    let dead = claim(&pool, Q, "dead-worker", LEASE)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no job"));
    assert_eq!(dead.id, id);
    assert!(
        claim(&pool, Q, "other", LEASE).await.ok().flatten().is_none(),
        "claimed while leased"
    );

    expire_leases(&pool).await;
    let again = claim(&pool, Q, "other", LEASE)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("not reclaimed"));
    assert_eq!((again.id, again.attempt), (id, 2));

    // The dead worker, should it wake up, can neither heartbeat nor complete.
    assert!(!heartbeat(&pool, &dead, LEASE, 0.5).await.unwrap_or(true));
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!complete(&mut conn, &dead).await.unwrap_or(true));
    assert!(complete(&mut conn, &again).await.unwrap_or(false));
    let s = state(&mut conn, id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("gone"));
    assert_eq!((s.status, s.attempts), (JobStatus::Succeeded, 2));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_heartbeat_keeps_the_lease(pool: PgPool) {
    add(&pool, 1, 3).await;
    let job = claim(&pool, Q, "w", Duration::from_secs(1))
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no job"));
    assert!(
        heartbeat(&pool, &job, Duration::from_secs(60), 0.5)
            .await
            .unwrap_or(false)
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(claim(&pool, Q, "thief", LEASE).await.ok().flatten().is_none());
}

#[sqlx::test(migrations = "../../migrations")]
async fn cancelling_a_videos_jobs_stops_the_running_one_and_drops_the_queued_one(pool: PgPool) {
    let video = uuid::Uuid::now_v7();
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..2 {
        enqueue(&mut conn, Q, &json!({ "video_id": video }), 3)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let other = add(&pool, 7, 3).await;
    let running = claim(&pool, Q, "w", LEASE)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no job"));
    assert!(heartbeat(&pool, &running, LEASE, 0.25).await.unwrap_or(false));
    let jobs = list(&mut conn, Some(JobStatus::Running), 10).await.unwrap_or_default();
    assert_eq!(jobs.len(), 1);
    assert!((jobs[0].progress - 0.25).abs() < 1e-6, "{:?}", jobs[0]);

    assert_eq!(
        cancel_matching(&mut conn, Q, "video_id", &video.to_string()).await.ok(),
        Some(2)
    );
    // The running attempt learns at its next heartbeat; the other video's job is untouched.
    assert!(!heartbeat(&pool, &running, LEASE, 0.5).await.unwrap_or(true));
    assert_eq!(
        list(&mut conn, Some(JobStatus::Cancelled), 10)
            .await
            .unwrap_or_default()
            .len(),
        2
    );
    let next = claim(&pool, Q, "w", LEASE).await.ok().flatten();
    assert_eq!(next.map(|j| j.id), Some(other));
}

#[sqlx::test(migrations = "../../migrations")]
async fn transient_failures_back_off_then_end_failed_with_the_reason(pool: PgPool) {
    let id = add(&pool, 1, 2).await;
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));

    let first = claim(&pool, Q, "w", LEASE)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no job"));
    assert!(
        !fail(&mut conn, &first, Failure::Transient, "storage unavailable")
            .await
            .unwrap_or(true)
    );
    let s = state(&mut conn, id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("gone"));
    assert_eq!(s.status, JobStatus::Queued);
    assert!(s.run_at > time::OffsetDateTime::now_utc(), "no backoff");
    assert!(
        claim(&pool, Q, "w", LEASE).await.ok().flatten().is_none(),
        "claimed during backoff"
    );

    make_due(&pool).await;
    let second = claim(&pool, Q, "w", LEASE)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("not retried"));
    assert!(
        fail(&mut conn, &second, Failure::Transient, "storage still unavailable")
            .await
            .unwrap_or(false)
    );
    let s = state(&mut conn, id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("gone"));
    assert_eq!(
        (s.status.as_str(), s.last_error.as_deref()),
        ("failed", Some("storage still unavailable"))
    );
    make_due(&pool).await;
    assert!(
        claim(&pool, Q, "w", LEASE).await.ok().flatten().is_none(),
        "a failed job ran again"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_permanent_failure_is_not_retried(pool: PgPool) {
    let id = add(&pool, 1, 5).await;
    let job = claim(&pool, Q, "w", LEASE)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no job"));
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        fail(&mut conn, &job, Failure::Permanent, "no video track")
            .await
            .unwrap_or(false)
    );
    let s = state(&mut conn, id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("gone"));
    assert_eq!((s.status, s.attempts), (JobStatus::Failed, 1));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_released_job_is_claimable_at_once_without_spending_an_attempt(pool: PgPool) {
    let id = add(&pool, 1, 3).await;
    let job = claim(&pool, Q, "stopping", LEASE)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no job"));
    release(&pool, &job).await.unwrap_or_else(|e| panic!("{e}"));
    let again = claim(&pool, Q, "next", LEASE)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("not released"));
    assert_eq!((again.id, again.attempt), (id, 1));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_job_abandoned_on_its_last_attempt_ends_failed(pool: PgPool) {
    let id = add(&pool, 1, 1).await;
    claim(&pool, Q, "dead", LEASE)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no job"));
    assert!(
        fail_abandoned(&pool, Q).await.unwrap_or_default().is_empty(),
        "swept a live lease"
    );
    expire_leases(&pool).await;
    assert!(
        claim(&pool, Q, "w", LEASE).await.ok().flatten().is_none(),
        "ran past max_attempts"
    );
    assert_eq!(fail_abandoned(&pool, Q).await.unwrap_or_default(), vec![id]);
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    let s = state(&mut conn, id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("gone"));
    assert_eq!(s.status, JobStatus::Failed);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(pool: PgPool) {
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    enqueue(&mut tx, Q, &json!({}), 3)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(claim(&pool, Q, "w", LEASE).await.ok().flatten().is_none());
}
