//! Progress from heartbeats: seeking earns nothing, two devices do not double-count,
//! a journey completes with its last step and stays consistent when a step's video
//! goes, and bad heartbeats change nothing.

use super::*;

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn seeking_straight_to_the_end_does_not_complete_a_video(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let video = o.video("alice", "Long talk", 600).await;
    let session = Uuid::now_v7();
    assert_eq!(
        o.beat(&o.bea, video, session, 0, 0.0, true).await.status(),
        StatusCode::OK
    );
    o.app.clock.advance(Duration::seconds(10));
    let r = o.beat(&o.bea, video, session, 1, 599.0, true).await;
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["completed"], false);
    assert_eq!(body["watched_seconds"], json!(0.0));
    // Playing on from there counts only what was played.
    o.app.clock.advance(Duration::seconds(1));
    let end: Value = o
        .beat(&o.bea, video, session, 2, 600.0, true)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(end["watched_seconds"], json!(1.0));
    assert_eq!(end["completed"], false);
    // Double speed is honoured: 20 s of video in 10 s.
    let fast = Uuid::now_v7();
    let path = format!("/api/v1/videos/{video}/progress");
    let beat = |seq: i64, position: f64| {
        o.call(
            Method::POST,
            &path,
            &o.bea,
            Some(json!({ "session_id": fast, "sequence": seq, "position": position, "playing": true, "playback_rate": 2.0 })),
        )
    };
    assert_eq!(beat(0, 100.0).await.status(), StatusCode::OK);
    o.app.clock.advance(Duration::seconds(10));
    let fast_body: Value = beat(1, 120.0).await.json().await.unwrap_or_default();
    assert_eq!(fast_body["watched_seconds"], json!(21.0));
    assert_eq!(
        o.count("select count(*) from domain_event where kind = 'video.completed'")
            .await,
        0
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn two_devices_playing_the_same_part_do_not_double_count(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let video = o.video("alice", "Shared", 100).await;
    let (phone, laptop) = (Uuid::now_v7(), Uuid::now_v7());
    for session in [phone, laptop] {
        assert_eq!(
            o.beat(&o.bea, video, session, 0, 0.0, true).await.status(),
            StatusCode::OK
        );
    }
    let mut last = Value::Null;
    for step in 1..=5 {
        o.app.clock.advance(Duration::seconds(10));
        for session in [phone, laptop] {
            let r = o
                .beat(&o.bea, video, session, step, f64::from(step as i32) * 10.0, true)
                .await;
            assert_eq!(r.status(), StatusCode::OK);
            last = r.json().await.unwrap_or_default();
        }
    }
    assert_eq!(last["watched_seconds"], json!(50.0), "{last}");
    assert_eq!(last["completed"], false);
    // The laptop goes on alone to 90 %: complete, once.
    for step in 6..=9 {
        o.app.clock.advance(Duration::seconds(10));
        last = o
            .beat(&o.bea, video, laptop, step, f64::from(step as i32) * 10.0, true)
            .await
            .json()
            .await
            .unwrap_or_default();
    }
    assert_eq!(last["completed"], true, "{last}");
    o.app.clock.advance(Duration::seconds(10));
    o.beat(&o.bea, video, laptop, 10, 100.0, true).await;
    assert_eq!(
        o.count("select count(*) from domain_event where kind = 'video.completed'")
            .await,
        1
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_journey_completes_after_its_last_step_and_survives_a_removed_video(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let (a, b, c) = (
        o.video("alice", "Step A", 30).await,
        o.video("alice", "Step B", 30).await,
        o.video("alice", "Step C", 30).await,
    );
    let journey = o.journey("alice", "Three steps", &[a, b, c]).await;
    o.ok(
        Method::POST,
        &format!("/api/v1/journeys/{journey}/assignments"),
        &o.omar,
        Some(json!({ "people": [o.id("bea")], "type": "required" })),
        StatusCode::CREATED,
    )
    .await;
    let progress = |who: String| {
        let o = &o;
        async move {
            o.ok(
                Method::GET,
                &format!("/api/v1/journeys/{journey}/progress"),
                &who,
                None,
                StatusCode::OK,
            )
            .await
        }
    };
    o.watch(&o.bea, a, 0.0, 30.0).await;
    o.watch(&o.bea, b, 0.0, 30.0).await;
    let two = progress(o.bea.clone()).await;
    assert_eq!(
        (two["completed_steps"].clone(), two["completed"].clone()),
        (json!(2), json!(false))
    );
    assert_eq!(
        o.count("select count(*) from domain_event where kind = 'journey.completed'")
            .await,
        0
    );
    o.watch(&o.bea, c, 0.0, 30.0).await;
    let done = progress(o.bea.clone()).await;
    assert_eq!(done["completed"], true, "{done}");
    assert_eq!(done["completion_percentage"], json!(100.0));
    assert_eq!(
        o.count("select count(*) from domain_event where kind = 'journey.completed'")
            .await,
        1
    );

    // ivan watched the first two; the third video is removed: his journey is then
    // complete (2 of 2 available), his assignment too, and nothing counts twice.
    o.ok(
        Method::POST,
        &format!("/api/v1/journeys/{journey}/assignments"),
        &o.maria,
        Some(json!({ "people": [o.id("ivan")], "type": "recommended" })),
        StatusCode::CREATED,
    )
    .await;
    o.watch(&o.ivan, a, 0.0, 30.0).await;
    o.watch(&o.ivan, b, 0.0, 30.0).await;
    let before = o
        .ok(Method::GET, "/api/v1/me/assignments", &o.ivan, None, StatusCode::OK)
        .await;
    assert_eq!(before["items"][0]["completion_percentage"], json!(66.7));
    o.ok(
        Method::DELETE,
        &format!("/api/v1/videos/{c}"),
        &o.alice,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let after = o
        .ok(Method::GET, "/api/v1/me/assignments", &o.ivan, None, StatusCode::OK)
        .await;
    assert_eq!(after["items"][0]["status"], "completed", "{after}");
    let his = progress(o.ivan.clone()).await;
    assert_eq!(
        (his["available_steps"].clone(), his["completed"].clone()),
        (json!(2), json!(true))
    );
    assert_eq!(his["steps"][2]["available"], false);
    // His manager may follow him on it; someone else's manager may not.
    let followed = o
        .ok(
            Method::GET,
            &format!("/api/v1/journeys/{journey}/progress?person={}", o.id("ivan")),
            &o.maria,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(followed["person"]["id"], json!(o.id("ivan")));
    let r = o
        .call(
            Method::GET,
            &format!("/api/v1/journeys/{journey}/progress?person={}", o.id("ivan")),
            &o.omar,
            None,
        )
        .await;
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    let assignees = o
        .ok(
            Method::GET,
            &format!("/api/v1/journeys/{journey}/assignments"),
            &o.omar,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        assignees.as_array().map(Vec::len),
        Some(1),
        "omar sees the one he assigned"
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn bad_heartbeats_are_refused_and_change_nothing(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let video = o.video("alice", "Watched", 60).await;
    let hidden = o.video_in("alice", "Draft", 60, "ready", "org", None).await;
    let session = Uuid::now_v7();
    assert_eq!(
        o.beat(&o.bea, video, session, 0, 0.0, true).await.status(),
        StatusCode::OK
    );
    o.app.clock.advance(Duration::seconds(10));
    assert_eq!(
        o.beat(&o.bea, video, session, 1, 10.0, true).await.status(),
        StatusCode::OK
    );
    let watched = || o.count("select coalesce(sum(watched_seconds), 0)::bigint from video_progress");
    assert_eq!(watched().await, 10);

    o.app.clock.advance(Duration::seconds(10));
    let cases: Vec<(&str, Uuid, Value, StatusCode, &str)> = vec![
        (
            "a video one may not see",
            hidden,
            json!({ "session_id": session, "sequence": 2, "position": 20.0, "playing": true }),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "past the end",
            video,
            json!({ "session_id": session, "sequence": 2, "position": 75.0, "playing": true }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "out of order",
            video,
            json!({ "session_id": session, "sequence": 1, "position": 20.0, "playing": true }),
            StatusCode::CONFLICT,
            "conflict",
        ),
        (
            "a negative position",
            video,
            json!({ "session_id": session, "sequence": 2, "position": -1.0, "playing": true }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "an absurd rate",
            video,
            json!({ "session_id": session, "sequence": 2, "position": 20.0, "playing": true, "playback_rate": 100.0 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "no session",
            video,
            json!({ "sequence": 2, "position": 20.0, "playing": true }),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "a string position",
            video,
            json!({ "session_id": session, "sequence": 2, "position": "20", "playing": true }),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (what, target, body, status, code) in cases {
        let r = o
            .call(
                Method::POST,
                &format!("/api/v1/videos/{target}/progress"),
                &o.bea,
                Some(body),
            )
            .await;
        let problem = assert_problem(r, status, code).await;
        assert!(problem["detail"].is_string(), "{what}");
    }
    assert_eq!(watched().await, 10, "nothing was credited");
    // Two heartbeats 0.1 s apart: the second is too fast.
    assert_eq!(
        o.beat(&o.bea, video, session, 2, 20.0, true).await.status(),
        StatusCode::OK
    );
    o.app.clock.advance(Duration::milliseconds(100));
    let r = o.beat(&o.bea, video, session, 3, 20.1, true).await;
    assert_problem(r, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert_eq!(watched().await, 20);
    // Without a token, nothing.
    let r = o
        .app
        .client
        .post(format!("{}/api/v1/videos/{video}/progress", o.app.catalog))
        .json(&json!({ "session_id": session, "sequence": 9, "position": 30.0, "playing": true }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}
