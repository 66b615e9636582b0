//! Journeys: creation, steps replaced at once, publishing under a community's policy,
//! listing and search, and what a viewer sees of steps they may not watch.

use super::*;

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_employee_builds_publishes_and_finds_a_journey(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let (a, b) = (
        o.video("alice", "Ownership", 60).await,
        o.video("tom", "Borrowing", 90).await,
    );
    let created = o
        .ok(
            Method::POST,
            "/api/v1/journeys",
            &o.alice,
            Some(
                json!({ "title": "Rust in a week", "description": "From zero to borrowck",
                         "skills": ["Rust", "memory"], "steps": [{ "video_id": a, "note": "start here" }] }),
            ),
            StatusCode::CREATED,
        )
        .await;
    let id = id_of(&created);
    assert_eq!(created["status"], "draft");
    assert_eq!(created["skills"], json!(["rust", "memory"]));
    // A draft is its owner's: others do not see it.
    o.ok(
        Method::GET,
        &format!("/api/v1/journeys/{id}"),
        &o.bea,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    let steps = o
        .ok(
            Method::PUT,
            &format!("/api/v1/journeys/{id}/steps"),
            &o.alice,
            Some(json!({ "steps": [{ "video_id": b }, { "video_id": a, "note": "then this" }] })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(steps["steps"][0]["video"]["id"], json!(b));
    assert_eq!(steps["steps"][1]["note"], "then this");
    assert_eq!(steps["estimated_duration_seconds"], json!(150.0));
    // Only the owner (or an admin) edits.
    o.ok(
        Method::PATCH,
        &format!("/api/v1/journeys/{id}"),
        &o.tom,
        Some(json!({ "title": "Mine now" })),
        StatusCode::NOT_FOUND,
    )
    .await;
    o.ok(
        Method::POST,
        &format!("/api/v1/journeys/{id}/publish"),
        &o.alice,
        None,
        StatusCode::OK,
    )
    .await;
    o.ok(
        Method::PATCH,
        &format!("/api/v1/journeys/{id}"),
        &o.tom,
        Some(json!({ "title": "Mine now" })),
        StatusCode::FORBIDDEN,
    )
    .await;
    let patched = o
        .ok(
            Method::PATCH,
            &format!("/api/v1/journeys/{id}"),
            &o.admin,
            Some(json!({ "description": "Edited by an admin" })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(patched["description"], "Edited by an admin");

    // Listed and searchable by anyone, by words of its title or a skill prefix.
    for q in ["rust", "week", "memo"] {
        let found = o
            .ok(
                Method::GET,
                &format!("/api/v1/journeys?q={q}"),
                &o.bea,
                None,
                StatusCode::OK,
            )
            .await;
        assert_eq!(found["items"][0]["id"], json!(id), "search {q}: {found}");
    }
    let by_skill = o
        .ok(
            Method::GET,
            "/api/v1/journeys?skill=memory",
            &o.bea,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(by_skill["items"].as_array().map(Vec::len), Some(1));
    let nothing = o
        .ok(
            Method::GET,
            "/api/v1/journeys?q=kubernetes",
            &o.bea,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(nothing["items"], json!([]));
    // Its publication is an event.
    assert_eq!(
        o.count("select count(*) from domain_event where kind = 'journey.published'")
            .await,
        1
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_step_the_viewer_may_not_see_is_unavailable_and_leaks_nothing(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let community = o.community("alice", "Secret guild", "none").await;
    let open = o.video("alice", "Open to all", 60).await;
    let guild = o
        .video_in("alice", "Guild only", 60, "published", "community", Some(community))
        .await;
    let journey = o.journey("alice", "Mixed", &[open, guild]).await;

    let seen = o
        .ok(
            Method::GET,
            &format!("/api/v1/journeys/{journey}"),
            &o.bea,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(seen["steps"][0]["available"], true);
    assert_eq!(seen["steps"][1]["available"], false);
    assert_eq!(seen["available_steps"], 1);
    assert_eq!(seen["estimated_duration_seconds"], json!(60.0));
    let text = seen.to_string();
    assert!(
        !text.contains(&guild.to_string()) && !text.contains("Guild only"),
        "{text}"
    );

    // The owner sees both; a removed video becomes unavailable to everyone.
    let own = o
        .ok(
            Method::GET,
            &format!("/api/v1/journeys/{journey}"),
            &o.alice,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(own["available_steps"], 2);
    o.ok(
        Method::DELETE,
        &format!("/api/v1/videos/{open}"),
        &o.alice,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let after = o
        .ok(
            Method::GET,
            &format!("/api/v1/journeys/{journey}"),
            &o.alice,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(after["steps"][0]["available"], false);
    assert_eq!(after["steps"].as_array().map(Vec::len), Some(2));
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_journey_in_a_moderated_community_waits_for_its_moderator(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let community = o.community("tom", "Reviewed", "moderator").await;
    o.ok(
        Method::PUT,
        &format!("/api/v1/communities/{community}/membership"),
        &o.alice,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let video = o.video("alice", "Lesson", 60).await;
    let id = id_of(
        &o.ok(
            Method::POST,
            "/api/v1/journeys",
            &o.alice,
            Some(json!({ "title": "Moderated", "community_id": community, "steps": [{ "video_id": video }] })),
            StatusCode::CREATED,
        )
        .await,
    );
    let submitted = o
        .ok(
            Method::POST,
            &format!("/api/v1/journeys/{id}/publish"),
            &o.alice,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(submitted["status"], "pending_review");
    // Someone else may not review it; the community's creator (a moderator) may.
    o.ok(
        Method::POST,
        &format!("/api/v1/journeys/{id}/review"),
        &o.bea,
        Some(json!({ "decision": "approve" })),
        StatusCode::NOT_FOUND,
    )
    .await;
    let approved = o
        .ok(
            Method::POST,
            &format!("/api/v1/journeys/{id}/review"),
            &o.tom,
            Some(json!({ "decision": "approve" })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(approved["status"], "published");
    assert_eq!(
        o.count("select count(*) from notification where kind = 'journey_approved'")
            .await,
        1
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn bad_step_lists_are_refused_and_change_nothing(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |s| s.learning.max_steps = 3).await;
    let mine = o.video("alice", "Mine", 60).await;
    let draft = o.video_in("bea", "Bea's draft", 60, "ready", "org", None).await;
    let journey = o.journey("alice", "Stable", &[mine]).await;
    let path = format!("/api/v1/journeys/{journey}/steps");
    let cases = [
        ("an unknown video", json!({ "steps": [{ "video_id": Uuid::now_v7() }] })),
        (
            "someone else's unpublished video",
            json!({ "steps": [{ "video_id": draft }] }),
        ),
        (
            "a duplicate",
            json!({ "steps": [{ "video_id": mine }, { "video_id": mine }] }),
        ),
        (
            "too many steps",
            json!({ "steps": [{ "video_id": mine }, { "video_id": Uuid::now_v7() },
                                             { "video_id": Uuid::now_v7() }, { "video_id": Uuid::now_v7() }] }),
        ),
        (
            "a control character",
            json!({ "steps": [{ "video_id": mine, "note": "bad\u{7}note" }] }),
        ),
    ];
    for (what, body) in cases {
        let r = o.call(Method::PUT, &path, &o.alice, Some(body)).await;
        let problem = assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(problem["detail"].is_string(), "{what}: {problem}");
    }
    for (what, body, status, code) in [
        ("not an object", json!([1, 2]), StatusCode::BAD_REQUEST, "bad_request"),
        (
            "an unknown field",
            json!({ "steps": [], "extra": 1 }),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "a video id that is no uuid",
            json!({ "steps": [{ "video_id": "x" }] }),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "an empty list for a published journey",
            json!({ "steps": [] }),
            StatusCode::CONFLICT,
            "conflict",
        ),
    ] {
        let r = o.call(Method::PUT, &path, &o.alice, Some(body)).await;
        let problem = assert_problem(r, status, code).await;
        assert!(problem["detail"].is_string(), "{what}");
    }
    let unchanged = o
        .ok(
            Method::GET,
            &format!("/api/v1/journeys/{journey}"),
            &o.alice,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(unchanged["steps"].as_array().map(Vec::len), Some(1));
    assert_eq!(unchanged["steps"][0]["video"]["id"], json!(mine));
    // Another's journey is not theirs to change, nor an unknown one.
    let r = o.call(Method::PUT, &path, &o.bea, Some(json!({ "steps": [] }))).await;
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = o.call(Method::GET, "/api/v1/journeys/not-a-uuid", &o.bea, None).await;
    assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;
}
