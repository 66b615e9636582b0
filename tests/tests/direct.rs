//! Direct-to-storage uploads: parts go to the S3 server through presigned URLs; the
//! service checks them and finalises.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use skillreel_testkit::fixtures::mp4_prefixed;
use skillreel_testkit::token;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::{Backend, TestApp, assert_problem};

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    let url = format!("{}/api/v1/uploads/direct", app.upload);
    app.client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn complete(app: &TestApp, token: &str, id: &str, parts: Value) -> reqwest::Response {
    let url = format!("{}/api/v1/uploads/direct/{id}/complete", app.upload);
    app.client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "parts": parts }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_client_uploads_parts_straight_to_s3_and_the_server_verifies_them(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::S3, |_| {}).await;
    let alice = token("alice", &[]);
    let file = mp4_prefixed(11 * 1024 * 1024, 42);
    let part_size = 5 * 1024 * 1024;
    let r = create(
        &app,
        &alice,
        json!({ "title": "Direct", "size": file.len(), "part_size": part_size }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap_or_default();
    let id = created["upload_id"].as_str().unwrap_or_default().to_owned();
    let video = created["video_id"].as_str().unwrap_or_default().to_owned();
    let parts = created["parts"].as_array().cloned().unwrap_or_default();
    assert_eq!(parts.len(), 3);

    let mut etags = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let chunk = file[i * part_size..((i + 1) * part_size).min(file.len())].to_vec();
        let url = part["url"].as_str().unwrap_or_default();
        let put = app
            .client
            .put(url)
            .body(chunk)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(put.status().is_success(), "presigned PUT refused: {}", put.status());
        let etag = put
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        etags.push(json!({ "number": part["number"], "etag": etag }));
    }
    // A missing part is refused, and the upload can still be completed. (Wrong ETags are
    // the store's to refuse at completion; s3s-fs, unlike AWS, does not check them.)
    assert_problem(
        complete(&app, &alice, &id, json!(&etags[..2])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let bob = token("bob", &[]);
    assert_problem(
        complete(&app, &bob, &id, json!(etags)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let done = complete(&app, &alice, &id, json!(etags)).await;
    let status = done.status();
    assert_eq!(status, StatusCode::OK, "{}", done.text().await.unwrap_or_default());
    let v: Value = app.get_video(&alice, &video).await.json().await.unwrap_or_default();
    assert_eq!(v["status"], "processing");
    let key = skillreel_storage::ObjectKey::parse(&format!("videos/{video}/source")).unwrap_or_else(|e| panic!("{e}"));
    let stored = app
        .storage()
        .await
        .get(&key, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes: Vec<bytes::Bytes> = futures_util::TryStreamExt::try_collect(stored.stream)
        .await
        .unwrap_or_default();
    assert!(bytes.concat() == file, "the assembled object differs");
    assert_problem(
        complete(&app, &alice, &id, json!(etags)).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn direct_uploads_are_refused_without_s3_or_with_bad_requests(_: PgPoolOptions, db: PgConnectOptions) {
    let local = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    let r = create(&local, &alice, json!({ "title": "x", "size": 1000 })).await;
    assert_problem(r, StatusCode::CONFLICT, "conflict").await;
    let cases = [
        (
            json!({ "title": "x", "size": 0 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "size": 10 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "title": "x", "size": 10, "part_size": 10 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "title": "x", "size": 10, "owner": "bob" }),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            json!({ "title": "x", "size": 5_000_000_000u64 }),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (body, status, code) in cases {
        assert_problem(create(&local, &alice, body).await, status, code).await;
    }
}
