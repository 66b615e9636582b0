//! Content requests over HTTP: asked, upvoted once per person, ranked by votes and
//! searchable; claimed by one contributor at a time and fulfilled with a video the
//! requester may see; the requester and voters told; the fulfiller's reputation and
//! badge (and none for fulfilling your own); bad input and strangers change nothing.

#[path = "../support/mod.rs"]
mod support;

use std::time::Duration as StdDuration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::assert_problem;
use support::org::{Org, id_of, org};
use uuid::Uuid;

/// `who` asks for a video on `title`, with `skills`.
async fn ask(o: &Org, who: &str, title: &str, skills: &[&str]) -> Uuid {
    let body = json!({ "title": title, "details": "Ten minutes would do.", "skills": skills });
    let created = o
        .ok(
            Method::POST,
            "/api/v1/requests",
            o.token(who),
            Some(body),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["state"], "open", "{created}");
    assert_eq!(created["votes"], 1, "{created}");
    assert_eq!(created["voted"], true, "{created}");
    id_of(&created)
}

async fn act(o: &Org, method: Method, path: String, who: &str, body: Option<Value>) -> Value {
    o.ok(method, &path, o.token(who), body, StatusCode::OK).await
}

/// The titles of a listing as `who` sees it.
async fn titles(o: &Org, who: &str, query: &str) -> Vec<String> {
    let page = o
        .ok(
            Method::GET,
            &format!("/api/v1/requests?{query}"),
            o.token(who),
            None,
            StatusCode::OK,
        )
        .await;
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|r| r["title"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// How many `kind` notifications `who` has.
async fn told(o: &Org, who: &str, kind: &str) -> i64 {
    let id = o.id(who);
    o.count(&format!(
        "select count(*) from notification where user_id = '{id}' and kind = '{kind}'"
    ))
    .await
}

/// Waits (up to 20 s) for the `reputation` consumer to have written `entries` entries.
async fn ledger_settles(o: &Org, entries: i64) {
    for _ in 0..200 {
        if o.count("select count(*) from reputation_entry").await == entries
            && o.count("select count(*) from event_consumer where name = 'reputation' and position >= (select max(position) from domain_event)").await == 1
        {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("the ledger never settled at {entries} entries");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_request_is_upvoted_claimed_and_fulfilled_and_everyone_who_wanted_it_is_told(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let o = org(&db, |_| {}).await;
    let wanted = ask(&o, "alice", "Terraform state surgery", &["terraform", "ops"]).await;
    let other = ask(&o, "ivan", "Writing a good incident review", &["ops"]).await;
    for who in ["bea", "tom", "tom"] {
        let seen = act(&o, Method::PUT, format!("/api/v1/requests/{wanted}/vote"), who, None).await;
        assert_eq!(seen["voted"], true);
    }
    let seen = act(&o, Method::GET, format!("/api/v1/requests/{wanted}"), "omar", None).await;
    assert_eq!(
        (seen["votes"].clone(), seen["voted"].clone()),
        (json!(3), json!(false)),
        "a vote counts once"
    );
    assert_eq!(
        titles(&o, "omar", "").await,
        ["Terraform state surgery", "Writing a good incident review"],
        "most wanted first"
    );
    assert_eq!(
        titles(&o, "omar", "sort=recent").await[0],
        "Writing a good incident review"
    );
    assert_eq!(
        titles(&o, "omar", "q=terra").await,
        ["Terraform state surgery"],
        "prefix search"
    );
    assert_eq!(
        titles(&o, "omar", "q=reviews").await,
        ["Writing a good incident review"],
        "stems"
    );
    assert_eq!(titles(&o, "omar", "skill=ops").await.len(), 2);
    assert_eq!(titles(&o, "omar", "skill=terraform").await, ["Terraform state surgery"]);
    let unvoted = act(
        &o,
        Method::DELETE,
        format!("/api/v1/requests/{other}/vote"),
        "ivan",
        None,
    )
    .await;
    assert_eq!(
        (unvoted["votes"].clone(), unvoted["voted"].clone()),
        (json!(0), json!(false))
    );

    let claimed = act(
        &o,
        Method::POST,
        format!("/api/v1/requests/{wanted}/claim"),
        "maria",
        None,
    )
    .await;
    assert_eq!(claimed["state"], "claimed");
    assert_eq!(claimed["claimed_by"]["name"], "maria (test)");
    let again = act(
        &o,
        Method::POST,
        format!("/api/v1/requests/{wanted}/claim"),
        "maria",
        None,
    )
    .await;
    assert_eq!(again["state"], "claimed", "claiming twice is idempotent");
    let r = o
        .call(
            Method::POST,
            &format!("/api/v1/requests/{wanted}/claim"),
            o.token("ivan"),
            None,
        )
        .await;
    assert_problem(r, StatusCode::CONFLICT, "conflict").await;
    for who in ["alice", "bea", "tom"] {
        assert_eq!(told(&o, who, "request_claimed").await, 1, "{who} is told once");
    }
    assert_eq!(told(&o, "maria", "request_claimed").await, 0, "not the claimer");

    let video = o.video("maria", "Terraform state mv, rm and import", 240).await;
    let done = act(
        &o,
        Method::POST,
        format!("/api/v1/requests/{wanted}/fulfil"),
        "maria",
        Some(json!({ "video_id": video })),
    )
    .await;
    assert_eq!(done["state"], "fulfilled");
    assert_eq!(done["video"]["id"], video.to_string());
    assert_eq!(done["fulfilled_by"]["name"], "maria (test)");
    for who in ["alice", "bea", "tom"] {
        assert_eq!(told(&o, who, "request_fulfilled").await, 1, "{who} is told");
    }
    let fulfilled = o
        .count(&format!(
            "select count(*) from notification where kind = 'request_fulfilled' and video_id = '{video}' and payload->>'by' = 'maria (test)'"
        ))
        .await;
    assert_eq!(fulfilled, 3, "each says who fulfilled it, with which video");
    assert_eq!(
        titles(&o, "omar", "").await,
        ["Writing a good incident review"],
        "no longer wanted"
    );
    assert_eq!(titles(&o, "omar", "state=fulfilled").await, ["Terraform state surgery"]);
    let r = o
        .call(
            Method::PUT,
            &format!("/api/v1/requests/{wanted}/vote"),
            o.token("omar"),
            None,
        )
        .await;
    assert_problem(r, StatusCode::CONFLICT, "conflict").await;

    // the fulfiller earns the requester's thanks, once, and the badge
    ledger_settles(&o, 1).await;
    let maria = o.id("maria");
    let recognition = o
        .ok(
            Method::GET,
            &format!("/api/v1/users/{maria}/recognition"),
            o.token("maria"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(recognition["reputation"], 30, "{recognition}");
    assert_eq!(
        recognition["history"][0]["reason"],
        "You fulfilled alice (test)'s request with “Terraform state mv, rm and import”"
    );
    let badges: Vec<&str> = recognition["badges"]
        .as_array()
        .map(|b| b.iter().filter_map(|x| x["badge"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(badges, ["request_fulfiller"], "{recognition}");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn fulfilling_your_own_request_earns_nothing(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let wanted = ask(&o, "alice", "Flaky tests, found and fixed", &[]).await;
    let video = o.video("alice", "I made it myself", 60).await;
    act(
        &o,
        Method::POST,
        format!("/api/v1/requests/{wanted}/fulfil"),
        "alice",
        Some(json!({ "video_id": video })),
    )
    .await;
    // a later act that does pay shows the consumer got past the fulfilment
    let later = o.video("alice", "Another", 60).await;
    act(&o, Method::PUT, format!("/api/v1/videos/{later}/like"), "tom", None).await;
    ledger_settles(&o, 1).await;
    assert_eq!(
        o.count("select count(*) from reputation_entry where merit = 'request_fulfilled'")
            .await,
        0
    );
    assert_eq!(
        o.count("select count(*) from badge_award where badge = 'request_fulfiller'")
            .await,
        0
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn two_claims_at_once_leave_one_claimer(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let wanted = ask(&o, "alice", "gRPC deadlines", &["grpc"]).await;
    let path = format!("/api/v1/requests/{wanted}/claim");
    let (a, b) = tokio::join!(
        o.call(Method::POST, &path, o.token("tom"), None),
        o.call(Method::POST, &path, o.token("ivan"), None)
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    assert_eq!(told(&o, "alice", "request_claimed").await, 1);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_board_pages_by_votes_without_gaps_or_repeats(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let voters = ["tom", "ivan", "bea", "omar", "maria"];
    for (i, title) in ["Zero", "One", "Two", "Three", "Four", "Five"].iter().enumerate() {
        let id = ask(&o, "alice", title, &[]).await;
        for who in voters.iter().take(i) {
            act(&o, Method::PUT, format!("/api/v1/requests/{id}/vote"), who, None).await;
        }
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = o
            .ok(
                Method::GET,
                &format!("/api/v1/requests?limit=4&cursor={cursor}"),
                o.token("bea"),
                None,
                StatusCode::OK,
            )
            .await;
        for item in page["items"].as_array().cloned().unwrap_or_default() {
            seen.push((
                item["title"].as_str().unwrap_or_default().to_owned(),
                item["votes"].clone(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let expected: Vec<(String, Value)> = ["Five", "Four", "Three", "Two", "One", "Zero"]
        .iter()
        .enumerate()
        .map(|(i, t)| ((*t).to_owned(), json!(6 - i)))
        .collect();
    assert_eq!(seen, expected);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn bad_input_and_strangers_change_nothing(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let wanted = ask(&o, "alice", "Kubernetes probes", &["k8s"]).await;
    let post = |body: Value| o.call(Method::POST, "/api/v1/requests", o.token("tom"), Some(body));
    for body in [
        json!({ "title": "   " }),
        json!({ "title": "x".repeat(201) }),
        json!({ "title": "ok", "details": "d".repeat(4001) }),
        json!({ "title": "ok", "skills": ["<script>"] }),
        json!({ "title": "ok", "skills": (0..21).map(|i| format!("s{i}")).collect::<Vec<_>>() }),
    ] {
        assert_problem(post(body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    for body in [json!({ "title": "ok", "extra": 1 }), json!({ "title": 5 }), json!([])] {
        assert_problem(post(body).await, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let path = format!("/api/v1/requests/{wanted}");
    let r = o
        .call(
            Method::PATCH,
            &path,
            o.token("tom"),
            Some(json!({ "title": "Mine now" })),
        )
        .await;
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = o.call(Method::DELETE, &path, o.token("tom"), None).await;
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;

    // fulfilling needs a published video of one's own that the requester may see
    let theirs = o.video("maria", "Maria's", 60).await;
    let draft = o.video_in("tom", "Draft", 60, "ready", "org", None).await;
    let private = o.community("tom", "Tom's circle", "none").await;
    let hidden = o
        .video_in("tom", "Members only", 60, "published", "community", Some(private))
        .await;
    for video in [theirs, draft, hidden, Uuid::now_v7()] {
        let r = o
            .call(
                Method::POST,
                &format!("{path}/fulfil"),
                o.token("tom"),
                Some(json!({ "video_id": video })),
            )
            .await;
        assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    for bad in ["nope", "00000000-0000-0000-0000-000000000000"] {
        let r = o
            .call(Method::GET, &format!("/api/v1/requests/{bad}"), o.token("tom"), None)
            .await;
        assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;
        let r = o
            .call(
                Method::PUT,
                &format!("/api/v1/requests/{bad}/vote"),
                o.token("tom"),
                None,
            )
            .await;
        assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    for query in ["cursor=garbage", "limit=0", "limit=101", "state=done", "sort=best"] {
        let r = o
            .call(Method::GET, &format!("/api/v1/requests?{query}"), o.token("tom"), None)
            .await;
        assert_problem(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let r = o
        .call(Method::DELETE, &format!("{path}/claim"), o.token("tom"), None)
        .await;
    assert_problem(r, StatusCode::CONFLICT, "conflict").await;

    let seen = act(&o, Method::GET, path.clone(), "alice", None).await;
    assert_eq!(
        (seen["title"].clone(), seen["state"].clone(), seen["votes"].clone()),
        (json!("Kubernetes probes"), json!("open"), json!(1)),
        "nothing changed"
    );
    assert_eq!(o.count("select count(*) from content_request").await, 1);
    assert_eq!(
        o.count("select count(*) from notification where kind like 'request_%'")
            .await,
        0
    );

    // its author rewords and closes it; then it no longer changes
    let edited = act(
        &o,
        Method::PATCH,
        path.clone(),
        "alice",
        Some(json!({ "title": "Kubernetes probes, done right" })),
    )
    .await;
    assert_eq!(edited["title"], "Kubernetes probes, done right");
    assert_eq!(edited["skills"], json!(["k8s"]), "what is not sent stays");
    let r = o.call(Method::DELETE, &path, o.token("alice"), None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = o
        .call(Method::POST, &format!("{path}/claim"), o.token("tom"), None)
        .await;
    assert_problem(r, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(
        titles(&o, "tom", "state=closed").await,
        ["Kubernetes probes, done right"]
    );
}
