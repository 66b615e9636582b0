//! Reputation: each act credited once with a true reason; self-dealing, bursts and
//! rings of mutual likes damped; history only for the person, their managers and
//! admins.

use super::*;

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_like_counts_once_with_a_true_reason_and_an_unlike_takes_it_back(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let video = o.video("alice", "Ownership in Rust", 60).await;
    like(&o, &o.bea, video).await;
    like(&o, &o.bea, video).await;
    let seen = settled(&o, "alice", 1).await;
    assert_eq!(seen["reputation"], 10, "{seen}");
    let entry = &seen["history"][0];
    assert_eq!(entry["merit"], "like_received");
    assert_eq!(entry["points"], 10);
    assert_eq!(entry["reason"], "bea (test) liked “Ownership in Rust”");
    assert_eq!(entry["from"], o.id("bea").to_string());
    assert_eq!(entry["video_id"], video.to_string());

    o.ok(
        Method::DELETE,
        &format!("/api/v1/videos/{video}/like"),
        &o.bea,
        None,
        StatusCode::OK,
    )
    .await;
    let seen = settled(&o, "alice", 0).await;
    assert_eq!(seen["reputation"], 0);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn self_likes_bursts_and_rings_of_mutual_likes_do_not_pay(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let mut alices = Vec::new();
    let mut beas = Vec::new();
    for i in 0..6 {
        alices.push(o.video("alice", &format!("Alice {i}"), 60).await);
        beas.push(o.video("bea", &format!("Bea {i}"), 60).await);
    }
    // Her own likes earn alice nothing.
    for v in &alices {
        like(&o, &o.alice, *v).await;
    }
    // A ring: alice and bea like everything of each other's, in turns.
    for (a, b) in alices.iter().zip(&beas) {
        like(&o, &o.bea, *a).await;
        like(&o, &o.alice, *b).await;
    }
    let alice = settled(&o, "alice", 6).await;
    let bea = settled(&o, "bea", 6).await;
    // Without damping each would have 60; a mutual pair stops at 20.
    assert_eq!(alice["reputation"], 20, "{alice}");
    assert_eq!(bea["reputation"], 20, "{bea}");
    let reasons = reasons_of(&alice);
    assert!(
        reasons.iter().any(|r| r.ends_with("(halved: you credit each other)")),
        "{reasons:?}"
    );

    // A burst from one colleague stops at the pair's cap.
    let mut ivans = Vec::new();
    for i in 0..8 {
        ivans.push(o.video("ivan", &format!("Ivan {i}"), 60).await);
    }
    for v in &ivans {
        like(&o, &o.tom, *v).await;
    }
    let ivan = settled(&o, "ivan", 8).await;
    assert_eq!(ivan["reputation"], 50, "8 likes of 10 points, capped at 50: {ivan}");
    let capped = ivan["history"]
        .as_array()
        .map(|h| h.iter().filter(|e| e["points"] == 0).count())
        .unwrap_or_default();
    assert_eq!(capped, 3);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn recommendations_completions_and_accepted_answers_credit_their_authors(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let video = o.video("alice", "Tracing", 30).await;
    // tom recommends it to three people: alice earns once for it.
    o.ok(
        Method::POST,
        &format!("/api/v1/videos/{video}/recommendations"),
        &o.tom,
        Some(json!({ "people": [o.id("ivan"), o.id("maria"), o.id("bea")] })),
        StatusCode::CREATED,
    )
    .await;
    // Her own recommendation earns her nothing.
    o.ok(
        Method::POST,
        &format!("/api/v1/videos/{video}/recommendations"),
        &o.alice,
        Some(json!({ "people": [o.id("omar")] })),
        StatusCode::CREATED,
    )
    .await;
    // ivan watches it to the end.
    o.watch(&o.ivan, video, 0.0, 30.0).await;
    // bea asks, tom answers, bea accepts.
    let question = id_of(
        &o.ok(
            Method::POST,
            &format!("/api/v1/videos/{video}/comments"),
            &o.bea,
            Some(json!({ "body": "Why spans?", "question": true })),
            StatusCode::CREATED,
        )
        .await,
    );
    let answer = id_of(
        &o.ok(
            Method::POST,
            &format!("/api/v1/videos/{video}/comments"),
            &o.tom,
            Some(json!({ "body": "Context across awaits.", "parent_id": question })),
            StatusCode::CREATED,
        )
        .await,
    );
    o.ok(
        Method::POST,
        &format!("/api/v1/comments/{answer}/accept"),
        &o.bea,
        None,
        StatusCode::OK,
    )
    .await;

    let alice = settled(&o, "alice", 2).await;
    assert_eq!(alice["reputation"], 15 + 5);
    let reasons = reasons_of(&alice);
    assert_eq!(
        reasons,
        [
            "ivan (test) completed “Tracing”",
            "tom (test) recommended “Tracing” to colleagues"
        ]
    );
    let tom = settled(&o, "tom", 1).await;
    assert_eq!(tom["reputation"], 25);
    assert_eq!(
        tom["history"][0]["reason"],
        "bea (test) accepted your answer on “Tracing”"
    );
    assert_eq!(tom["badges"][0]["badge"], "first_accepted_answer");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_history_is_for_the_person_their_managers_and_admins(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let video = o.video("ivan", "Intern notes", 60).await;
    like(&o, &o.bea, video).await;
    settled(&o, "ivan", 1).await;
    let ivan = o.id("ivan");
    for viewer in ["maria", "tom", "root"] {
        let seen = recognition(&o, o.token(viewer), ivan).await;
        assert_eq!(seen["history"].as_array().map(Vec::len), Some(1), "{viewer}: {seen}");
    }
    for viewer in ["alice", "bea", "omar"] {
        let seen = recognition(&o, o.token(viewer), ivan).await;
        assert_eq!(seen["reputation"], 10);
        assert!(seen.get("history").is_none(), "{viewer} sees no history: {seen}");
        assert!(!seen.to_string().contains("Intern notes"), "{viewer}: {seen}");
    }
    for bad in ["nope".to_owned(), Uuid::now_v7().to_string()] {
        let r = o
            .call(Method::GET, &format!("/api/v1/users/{bad}/recognition"), &o.bea, None)
            .await;
        assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    for query in ["?limit=0", "?cursor=zzz", "?other=1"] {
        let r = o
            .call(
                Method::GET,
                &format!("/api/v1/users/{ivan}/recognition{query}"),
                &o.ivan,
                None,
            )
            .await;
        assert_problem(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}
