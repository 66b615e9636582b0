//! A stalled database sheds requests instead of queueing them: a statement past its time
//! limit is cancelled, a request that finds every connection taken is refused quickly,
//! both with 503 `overloaded` and `Retry-After`, and the service answers again as soon as
//! the database does.

use std::time::Duration;

use super::*;

/// Holds an exclusive lock on `video` until the transaction ends: every statement that
/// reads videos waits, as behind a slow query or a long migration.
async fn stall_videos(pool: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("lock table video in access exclusive mode")
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx
}

async fn assert_overloaded(response: reqwest::Response) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "overloaded").await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_statement_past_its_time_limit_is_cancelled_with_retry_after(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |s| {
        s.catalog.cache_ttl_seconds = 0;
        s.database.statement_timeout_ms = 500;
    })
    .await;
    let video = w.seed("Patience", "published", "org", None).await;
    let path = format!("/api/v1/videos/{video}");

    let stall = stall_videos(&w.pool).await;
    assert_overloaded(w.app.call(Method::GET, &path, &w.other, None).await).await;
    for listing in [
        "/api/v1/videos?q=patience",
        "/api/v1/videos",
        "/api/v1/videos?sort=popular",
    ] {
        // (the search's page, the feed's and popular's first pages are batched)
        let listed = w.app.call(Method::GET, listing, &w.other, None).await;
        assert_overloaded(listed).await;
    }
    stall.rollback().await.unwrap_or_else(|e| panic!("{e}"));

    let r = w.app.call(Method::GET, &path, &w.other, None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// A world whose catalog has two connections, waits 300 ms for one and runs point reads,
/// first pages and searches in `lanes` each (0: each its own statement), with one published
/// video: its path.
async fn crowded(db: &PgConnectOptions, lanes: usize) -> (World, String) {
    let w = world(db, |s| {
        s.catalog.cache_ttl_seconds = 0;
        s.catalog.point_read_lanes = lanes;
        s.catalog.list_lanes = lanes;
        s.catalog.search_lanes = lanes;
        s.database.max_connections = 2;
        s.database.acquire_timeout_ms = 300;
        s.database.statement_timeout_ms = 20_000;
    })
    .await;
    let video = w.seed("Crowded", "published", "org", None).await;
    (w, format!("/api/v1/videos/{video}"))
}

/// Runs `requests` while `video` stays locked for two seconds, then lets it go.
async fn while_stalled<F: std::future::Future>(pool: &PgPool, requests: F) -> F::Output {
    let stall = stall_videos(pool).await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        stall.rollback().await
    });
    let answered = requests.await;
    release
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    answered
}

/// How many were shed, each as a proper 503 `overloaded`; the rest are 200.
async fn count_shed(responses: Vec<reqwest::Response>) -> usize {
    let mut shed = 0;
    for response in responses {
        if response.status() == StatusCode::OK {
            continue;
        }
        assert_overloaded(response).await;
        shed += 1;
    }
    shed
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_request_that_finds_every_connection_taken_is_refused_at_once(_: PgPoolOptions, db: PgConnectOptions) {
    // Each read its own statement (batched reads share connections: the next test).
    let (w, path) = crowded(&db, 0).await;
    // Four readers, two connections: at most two wait on the lock, the others are shed.
    let responses = while_stalled(
        &w.pool,
        futures_util::future::join_all((0..4).map(|_| w.app.call(Method::GET, &path, &w.other, None))),
    )
    .await;
    let shed = count_shed(responses).await;
    assert!(shed >= 2, "only {shed} of 4 requests were shed by a pool of 2");

    let r = w.app.call(Method::GET, &path, &w.other, None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn batched_reads_that_find_every_connection_taken_are_refused_at_once(_: PgPoolOptions, db: PgConnectOptions) {
    let (w, path) = crowded(&db, 4).await;
    // Reads one after another, each alone in its batch: the first two lanes take the
    // pool's two connections and wait on the lock; the next two lanes find no
    // connection, and the reads after them find no lane. Those are shed, not queued.
    let (app, path, reader) = (&w.app, &path, &w.other);
    let responses = while_stalled(
        &w.pool,
        futures_util::future::join_all((0..6u64).map(|n| async move {
            tokio::time::sleep(Duration::from_millis(60 * n)).await;
            app.call(Method::GET, path, reader, None).await
        })),
    )
    .await;
    let shed = count_shed(responses).await;
    assert!(shed >= 3, "only {shed} of 6 spaced reads were shed by a pool of 2");

    let r = w.app.call(Method::GET, path, &w.other, None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn batched_first_pages_that_find_every_connection_taken_are_refused_at_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let (w, _) = crowded(&db, 4).await;
    // As the spaced point reads above, with the feed's first page.
    let (app, reader) = (&w.app, &w.other);
    let responses = while_stalled(
        &w.pool,
        futures_util::future::join_all((0..6u64).map(|n| async move {
            tokio::time::sleep(Duration::from_millis(60 * n)).await;
            app.call(Method::GET, "/api/v1/videos", reader, None).await
        })),
    )
    .await;
    let shed = count_shed(responses).await;
    assert!(shed >= 3, "only {shed} of 6 spaced listings were shed by a pool of 2");

    let r = w.app.call(Method::GET, "/api/v1/videos", &w.other, None).await;
    assert_eq!(r.status(), StatusCode::OK);
}
