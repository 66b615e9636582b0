//! The popular and trending scores are folded from engagements in the background: a
//! like moves a video exactly once however often it is repeated or folded, taking it
//! back moves it back, and an old burst of engagement ranks below a fresh one in
//! `trending` while it still leads `popular`.

use std::time::Duration;

use super::*;

/// A world that folds engagements every 50 ms, so a test waits briefly.
async fn folding_world(db: &PgConnectOptions) -> World {
    world(db, |s| s.catalog.score_fold_interval_ms = 50).await
}

async fn score(w: &World, video: Uuid) -> (i64, f64) {
    sqlx::query_as("select popularity, trending from video_score where video_id = $1")
        .bind(video)
        .fetch_one(&w.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn pending(w: &World) -> i64 {
    sqlx::query_scalar("select count(*) from video_score_delta")
        .fetch_one(&w.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Ids of the first `n` videos listed in `sort` order.
async fn first(w: &World, sort: &str, n: usize) -> Vec<Uuid> {
    let page: Value = w
        .app
        .call(
            Method::GET,
            &format!("/api/v1/videos?sort={sort}&limit={n}"),
            &w.other,
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    page["items"].as_array().into_iter().flatten().map(id_of).collect()
}

/// Waits until every engagement so far has been folded in.
async fn folded(w: &World) {
    for _ in 0..200 {
        if pending(w).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("engagements were not folded into the scores within 5 s");
}

/// Inserts a published org video of the author's, published `days_ago`.
async fn published_days_ago(w: &World, title: &str, days_ago: i32) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into video (id, owner_id, title, status, visibility, published_at, created_at)
         values ($1, $2, $3, 'published', 'org', now() - make_interval(days => $4), now() - make_interval(days => $4))",
    )
    .bind(id)
    .bind(w.author_id)
    .bind(title)
    .bind(days_ago)
    .execute(&w.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    id
}

async fn like(w: &World, who: &str, video: Uuid, method: Method) {
    let r = w
        .app
        .call(method, &format!("/api/v1/videos/{video}/like"), who, None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_like_moves_a_video_in_popular_exactly_once(_: PgPoolOptions, db: PgConnectOptions) {
    let w = folding_world(&db).await;
    let older = published_days_ago(&w, "Older", 2).await;
    let newer = published_days_ago(&w, "Newer", 1).await;
    folded(&w).await;
    // Equal popularity: the tie goes to the larger id, the newer one (ids are v7).
    assert_eq!(first(&w, "popular", 2).await, vec![newer, older]);
    assert_eq!(score(&w, older).await.0, 0);

    like(&w, &w.other, older, Method::PUT).await;
    folded(&w).await;
    assert_eq!(first(&w, "popular", 2).await, vec![older, newer]);
    assert_eq!(score(&w, older).await.0, 2);

    // The same like again, and more folds: nothing moves.
    like(&w, &w.other, older, Method::PUT).await;
    folded(&w).await;
    let folded_again: i64 = sqlx::query_scalar("select skillreel_fold_video_scores()")
        .fetch_one(&w.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(folded_again, 0, "a second fold found something to move");
    assert_eq!(score(&w, older).await.0, 2);

    // A like taken back takes its weight back.
    like(&w, &w.other, older, Method::DELETE).await;
    folded(&w).await;
    assert_eq!(score(&w, older).await.0, 0);
    assert_eq!(first(&w, "popular", 2).await, vec![newer, older]);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn decay_moves_an_old_burst_below_a_fresh_like_in_trending(_: PgPoolOptions, db: PgConnectOptions) {
    let w = folding_world(&db).await;
    let burst = published_days_ago(&w, "Liked three days ago", 3).await;
    let fresh = published_days_ago(&w, "Liked today", 3).await;
    // Five people liked `burst` three days ago.
    for i in 0..5 {
        let fan = Uuid::now_v7();
        sqlx::query("insert into app_user (id, subject, name) values ($1, $2, $2)")
            .bind(fan)
            .bind(format!("fan-{i}"))
            .execute(&w.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        sqlx::query(
            "insert into video_like (video_id, user_id, created_at) values ($1, $2, now() - interval '3 days')",
        )
        .bind(burst)
        .bind(fan)
        .execute(&w.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    like(&w, &w.other, fresh, Method::PUT).await;
    folded(&w).await;

    // Popularity does not decay: five likes lead one.
    assert_eq!(first(&w, "popular", 2).await, vec![burst, fresh]);
    // Trending does: 10 weight and the publication, halved three times (1.375), are
    // below today's like (2) with the same publication (0.125).
    assert_eq!(first(&w, "trending", 2).await, vec![fresh, burst]);
    let (burst_trending, fresh_trending) = (score(&w, burst).await.1, score(&w, fresh).await.1);
    let expected = (2.125f64 / 1.375).ln();
    assert!(
        (fresh_trending - burst_trending - expected).abs() < 0.01,
        "trending {fresh_trending} vs {burst_trending}: expected a difference of {expected}"
    );
}
