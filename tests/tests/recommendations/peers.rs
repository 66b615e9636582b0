//! Peer recommendations: delivery, explanations, states, audience, limits, bad input.

use super::*;

fn recommend_path(kind: &str, id: Uuid) -> String {
    format!("/api/v1/{kind}/{id}/recommendations")
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_recommendation_reaches_the_inbox_the_list_and_the_assignments_with_a_true_reason(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let o = org(&db, |_| {}).await;
    let video = o.video("maria", "Ownership in Rust", 60).await;

    let sent = o
        .ok(
            Method::POST,
            &recommend_path("videos", video),
            &o.alice,
            Some(json!({ "people": [o.id("ivan")], "message": "Watch this before Monday" })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(sent["recommended"][0]["id"], o.id("ivan").to_string());
    assert_eq!(sent["left_out"], 0);

    // The inbox says who and what.
    let inbox: Vec<Value> =
        sqlx::query_scalar("select payload from notification where kind = 'recommendation' and user_id = $1")
            .bind(o.id("ivan"))
            .fetch_all(&o.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["title"], "Ownership in Rust");
    assert_eq!(inbox[0]["message"], "Watch this before Monday");

    // The list names the colleague who did recommend it, with their message.
    let list = peer_list(&o, &o.ivan, "inbox").await;
    assert_eq!(list.len(), 1, "{list:?}");
    let item = &list[0];
    assert_eq!(item["item"]["id"], video.to_string());
    assert_eq!(item["item"]["type"], "video");
    assert_eq!(item["recommended_by"][0]["person"]["id"], o.id("alice").to_string());
    assert_eq!(item["recommended_by"][0]["message"], "Watch this before Monday");
    assert_eq!(item["reasons"][0]["kind"], "recommended_by");
    assert_eq!(item["reasons"][0]["text"], "Recommended by alice (test)");
    assert_eq!(item["reasons"][0]["people"][0]["id"], o.id("alice").to_string());

    // Their assignments show it as peerRecommended, with no due date.
    let items = assignments_until(&o, &o.ivan, |a| assignment_of(a, video).is_some()).await;
    let assignment = assignment_of(&items, video).unwrap_or_else(|| panic!("none"));
    assert_eq!(assignment["type"], "peerRecommended");
    assert_eq!(assignment["due_at"], Value::Null);
    assert_eq!(assignment["assigner"]["id"], o.id("alice").to_string());

    // Sending it again changes nothing; a second colleague joins the reason.
    let again = o
        .ok(
            Method::POST,
            &recommend_path("videos", video),
            &o.alice,
            Some(json!({ "people": [o.id("ivan")] })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(again["already_recommended"][0], o.id("ivan").to_string());
    o.app.clock.advance(Duration::seconds(1));
    o.ok(
        Method::POST,
        &recommend_path("videos", video),
        &o.tom,
        Some(json!({ "people": [o.id("ivan")] })),
        StatusCode::CREATED,
    )
    .await;
    let list = peer_list(&o, &o.ivan, "inbox").await;
    assert_eq!(list.len(), 1, "one item, however many recommend it: {list:?}");
    assert_eq!(
        list[0]["reasons"][0]["text"],
        "Recommended by tom (test) and alice (test)"
    );
    let people: Vec<&Value> = list[0]["recommended_by"]
        .as_array()
        .map(|a| a.iter().map(|r| &r["person"]["id"]).collect())
        .unwrap_or_default();
    assert_eq!(people, [&json!(o.id("tom")), &json!(o.id("alice"))]);
    assert_eq!(
        o.count("select count(*) from peer_recommendation").await,
        2,
        "one row per colleague"
    );
    // The sender's own lists are untouched.
    assert!(peer_list(&o, &o.alice, "inbox").await.is_empty());
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_journey_goes_to_a_team_but_not_to_its_sender_or_author(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let video = o.video("maria", "Step one", 60).await;
    let journey = o.journey("maria", "Platform basics", &[video]).await;

    let sent = o
        .ok(
            Method::POST,
            &recommend_path("journeys", journey),
            &o.alice,
            Some(json!({ "team": "platform", "message": "Great start" })),
            StatusCode::CREATED,
        )
        .await;
    let mut reached: Vec<String> = sent["recommended"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["name"].as_str().map(String::from)).collect())
        .unwrap_or_default();
    reached.sort();
    // everyone in platform but alice (who sends it) and maria (whose journey it is)
    assert_eq!(reached, ["ivan (test)", "tom (test)"]);
    let list = peer_list(&o, &o.tom, "inbox").await;
    assert_eq!(list[0]["item"]["type"], "journey");
    assert_eq!(list[0]["item"]["title"], "Platform basics");
    let items = assignments_until(&o, &o.tom, |a| assignment_of(a, journey).is_some()).await;
    assert_eq!(
        assignment_of(&items, journey).map(|a| a["type"].clone()),
        Some(json!("peerRecommended"))
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn dismissing_saving_and_a_new_colleague_bringing_it_back(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let video = o.video("maria", "Tracing", 60).await;
    let marker = o.video("maria", "Marker", 60).await;
    let sent = |who: &'static str, what: Uuid| {
        let o = &o;
        async move {
            o.ok(
                Method::POST,
                &recommend_path("videos", what),
                o.token(who),
                Some(json!({ "people": [o.id("ivan")] })),
                StatusCode::CREATED,
            )
            .await
        }
    };
    sent("alice", video).await;
    let id = peer_list(&o, &o.ivan, "inbox").await[0]["id"].clone();
    let id = id.as_str().unwrap_or_default().to_owned();
    assignments_until(&o, &o.ivan, |a| assignment_of(a, video).is_some()).await;

    let saved = o
        .ok(
            Method::PATCH,
            &format!("/api/v1/me/recommendations/{id}"),
            &o.ivan,
            Some(json!({ "state": "saved" })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(saved["state"], "saved");
    assert!(peer_list(&o, &o.ivan, "inbox").await.is_empty());
    assert_eq!(peer_list(&o, &o.ivan, "saved").await.len(), 1);

    let dismissed = o
        .ok(
            Method::PATCH,
            &format!("/api/v1/me/recommendations/{id}"),
            &o.ivan,
            Some(json!({ "state": "dismissed" })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(dismissed["state"], "dismissed");
    assert!(peer_list(&o, &o.ivan, "saved").await.is_empty());
    assert_eq!(peer_list(&o, &o.ivan, "dismissed").await.len(), 1);
    // Off the assignments too.
    assignments_until(&o, &o.ivan, |a| assignment_of(a, video).is_none()).await;

    // Another colleague's recommendation brings it back to the inbox and the list.
    o.app.clock.advance(Duration::seconds(1));
    sent("tom", video).await;
    let inbox = peer_list(&o, &o.ivan, "inbox").await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["recommended_by"].as_array().map(Vec::len), Some(2));
    assignments_until(&o, &o.ivan, |a| assignment_of(a, video).is_some()).await;

    // A manager's assignment replaces a colleague's, and colleagues never replace it.
    o.ok(
        Method::POST,
        &format!("/api/v1/videos/{video}/assignments"),
        &o.tom,
        Some(json!({ "people": [o.id("ivan")], "type": "required" })),
        StatusCode::CREATED,
    )
    .await;
    let items = assignments(&o, &o.ivan).await;
    assert_eq!(
        assignment_of(&items, video).map(|a| a["type"].clone()),
        Some(json!("required"))
    );
    o.ok(
        Method::PATCH,
        &format!("/api/v1/me/recommendations/{id}"),
        &o.ivan,
        Some(json!({ "state": "inbox" })),
        StatusCode::OK,
    )
    .await;
    sent("maria", video).await;
    // Events are applied in order: once the marker's recommendation is on the list,
    // the ones before it were applied too.
    sent("alice", marker).await;
    let items = assignments_until(&o, &o.ivan, |a| assignment_of(a, marker).is_some()).await;
    let video_rows: Vec<&Value> = items.iter().filter(|a| a["item"]["id"] == video.to_string()).collect();
    assert_eq!(video_rows.len(), 1, "{items:?}");
    assert_eq!(video_rows[0]["type"], "required");
    assert_eq!(video_rows[0]["assigner"]["id"], o.id("tom").to_string());
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn never_to_someone_who_may_not_see_it(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let community = o.community("alice", "Rust guild", "none").await;
    o.ok(
        Method::PUT,
        &format!("/api/v1/communities/{community}/membership"),
        &o.ivan,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let guild = o
        .video_in("alice", "Guild only", 60, "published", "community", Some(community))
        .await;

    // bea is not a member: refused, nothing recorded, nobody told.
    let r = o
        .call(
            Method::POST,
            &recommend_path("videos", guild),
            &o.alice,
            Some(json!({ "people": [o.id("bea")] })),
        )
        .await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // With a member beside her, the member gets it and she is left out.
    let sent = o
        .ok(
            Method::POST,
            &recommend_path("videos", guild),
            &o.alice,
            Some(json!({ "people": [o.id("bea"), o.id("ivan")] })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(sent["left_out"], 1);
    assert_eq!(sent["recommended"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        o.count("select count(*) from peer_recommendation p join app_user u on u.id = p.recipient_id where u.subject = 'bea'")
            .await,
        0
    );
    assert_eq!(
        o.count("select count(*) from notification n join app_user u on u.id = n.user_id where u.subject = 'bea'")
            .await,
        0
    );
    // bea cannot recommend what she cannot see: it does not exist for her.
    let r = o
        .call(
            Method::POST,
            &recommend_path("videos", guild),
            &o.bea,
            Some(json!({ "people": [o.id("ivan")] })),
        )
        .await;
    assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;

    // Once ivan leaves the guild, the item drops out of his list and cannot be changed.
    let id = peer_list(&o, &o.ivan, "inbox").await[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    o.ok(
        Method::DELETE,
        &format!("/api/v1/communities/{community}/membership"),
        &o.ivan,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert!(peer_list(&o, &o.ivan, "inbox").await.is_empty());
    let r = o
        .call(
            Method::PATCH,
            &format!("/api/v1/me/recommendations/{id}"),
            &o.ivan,
            Some(json!({ "state": "saved" })),
        )
        .await;
    assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;

    // Only published items are recommended.
    let draft = o.video_in("alice", "Draft", 60, "ready", "org", None).await;
    let r = o
        .call(
            Method::POST,
            &recommend_path("videos", draft),
            &o.alice,
            Some(json!({ "people": [o.id("ivan")] })),
        )
        .await;
    assert_problem(r, StatusCode::CONFLICT, "conflict").await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_hourly_limit_holds_under_concurrent_requests_and_resets(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |s| s.recommendations.recipients_per_hour = 3).await;
    let first = o.video("maria", "First", 60).await;
    let second = o.video("maria", "Second", 60).await;
    let third = o.video("maria", "Third", 60).await;
    let to_two = json!({ "people": [o.id("ivan"), o.id("tom")] });

    o.ok(
        Method::POST,
        &recommend_path("videos", first),
        &o.alice,
        Some(to_two.clone()),
        StatusCode::CREATED,
    )
    .await;
    // Two more would make four this hour: refused, nothing recorded.
    let r = o
        .call(
            Method::POST,
            &recommend_path("videos", second),
            &o.alice,
            Some(to_two.clone()),
        )
        .await;
    assert_problem(r, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert_eq!(o.count("select count(*) from peer_recommendation").await, 2);

    // An hour later, two requests at once: exactly one fits.
    o.app.clock.advance(Duration::minutes(61));
    let (second_path, third_path) = (recommend_path("videos", second), recommend_path("videos", third));
    let (a, b) = tokio::join!(
        o.call(Method::POST, &second_path, &o.alice, Some(to_two.clone())),
        o.call(Method::POST, &third_path, &o.alice, Some(to_two.clone())),
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::TOO_MANY_REQUESTS]);
    assert_eq!(o.count("select count(*) from peer_recommendation").await, 4);
    // Another sender has their own allowance.
    o.ok(
        Method::POST,
        &recommend_path("videos", third),
        &o.maria,
        Some(json!({ "people": [o.id("ivan")] })),
        StatusCode::CREATED,
    )
    .await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn bad_recommendations_are_refused_and_change_nothing(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |s| s.recommendations.max_recipients = 2).await;
    let video = o.video("maria", "Lesson", 60).await;
    let path = recommend_path("videos", video);
    let ivan = o.id("ivan");
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({ "people": [o.id("alice")] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "people": [Uuid::now_v7()] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (
            json!({ "people": [] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "team": "nobody-here" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            // three people, over the limit of two
            json!({ "people": [ivan, o.id("tom"), o.id("bea")] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "people": [ivan], "message": "x".repeat(1001) }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "people": [ivan], "message": "hi\u{0}there" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "people": [ivan], "extra": 1 }),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            json!({ "people": ["not-a-uuid"] }),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (json!({ "people": ivan }), StatusCode::BAD_REQUEST, "bad_request"),
        (json!([ivan]), StatusCode::BAD_REQUEST, "bad_request"),
    ];
    for (body, status, code) in cases {
        let r = o.call(Method::POST, &path, &o.alice, Some(body.clone())).await;
        assert_eq!(r.status(), status, "{body}");
        assert_problem(r, status, code).await;
    }
    for bad in ["not-a-uuid", &Uuid::now_v7().to_string()] {
        let r = o
            .call(
                Method::POST,
                &format!("/api/v1/videos/{bad}/recommendations"),
                &o.alice,
                Some(json!({ "people": [ivan] })),
            )
            .await;
        assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    let r = o
        .app
        .client
        .post(format!("{}{path}", o.app.catalog))
        .json(&json!({ "people": [ivan] }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // A manager cannot make an assignment look like a colleague's recommendation.
    let r = o
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/assignments"),
            &o.maria,
            Some(json!({ "people": [ivan], "type": "peerRecommended" })),
        )
        .await;
    assert_problem(r, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(o.count("select count(*) from peer_recommendation").await, 0);
    assert_eq!(o.count("select count(*) from assignment").await, 0);
    assert_eq!(
        o.count("select count(*) from notification where kind = 'recommendation'")
            .await,
        0
    );

    // The list and the state change refuse what they cannot read.
    o.ok(
        Method::POST,
        &path,
        &o.alice,
        Some(json!({ "people": [ivan] })),
        StatusCode::CREATED,
    )
    .await;
    for query in [
        "?source=everything",
        "?source=peers&state=gone",
        "?source=peers&limit=0",
        "?source=peers&limit=101",
        "?source=peers&cursor=nonsense",
        "?source=peers&unknown=1",
    ] {
        let r = o
            .call(
                Method::GET,
                &format!("/api/v1/me/recommendations{query}"),
                &o.ivan,
                None,
            )
            .await;
        assert_problem(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let id = peer_list(&o, &o.ivan, "inbox").await[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let patch = format!("/api/v1/me/recommendations/{id}");
    for (body, status) in [
        (json!({ "state": "archived" }), StatusCode::BAD_REQUEST),
        (json!({ "state": "saved", "also": true }), StatusCode::BAD_REQUEST),
        (json!({}), StatusCode::BAD_REQUEST),
    ] {
        let r = o.call(Method::PATCH, &patch, &o.ivan, Some(body.clone())).await;
        assert_eq!(r.status(), status, "{body}");
    }
    // Someone else's recommendation does not exist for the caller.
    let r = o
        .call(Method::PATCH, &patch, &o.tom, Some(json!({ "state": "dismissed" })))
        .await;
    assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = o
        .call(
            Method::PATCH,
            "/api/v1/me/recommendations/nope",
            &o.ivan,
            Some(json!({ "state": "dismissed" })),
        )
        .await;
    assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        o.count("select count(*) from peer_recommendation where state = 'inbox'")
            .await,
        1
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_list_pages_newest_first(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let mut videos = Vec::new();
    for i in 0..3 {
        let v = o.video("maria", &format!("Lesson {i}"), 60).await;
        o.ok(
            Method::POST,
            &recommend_path("videos", v),
            &o.alice,
            Some(json!({ "people": [o.id("ivan")] })),
            StatusCode::CREATED,
        )
        .await;
        o.app.clock.advance(Duration::seconds(1));
        videos.push(v);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/me/recommendations?source=peers&limit=2&cursor={c}"),
            None => "/api/v1/me/recommendations?source=peers&limit=2".into(),
        };
        let page = o.ok(Method::GET, &path, &o.ivan, None, StatusCode::OK).await;
        for item in page["items"].as_array().cloned().unwrap_or_default() {
            seen.push(item["item"]["id"].as_str().unwrap_or_default().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let newest_first: Vec<String> = videos.iter().rev().map(Uuid::to_string).collect();
    assert_eq!(seen, newest_first);
}
