//! Malformed, oversized, hostile and unauthorised requests: each gets a 4xx problem
//! document, and nothing is stored.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{Value, json};
use skillreel_testkit::fixtures::{self, VideoSpec};
use skillreel_testkit::{JWT_SECRET, token};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::{Backend, TestApp, assert_problem};

/// A file (if any), the form fields, and the expected status and code.
type UploadCase<'a> = (
    Option<&'a std::path::Path>,
    Vec<(&'a str, &'a str)>,
    StatusCode,
    &'a str,
);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn signed(secret: &str, claims: Value, alg: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

async fn count(db: &PgConnectOptions, table: &str) -> i64 {
    let pool = PgPoolOptions::new()
        .connect_with(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn forged_expired_and_missing_tokens_get_401_everywhere(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let claims = |exp: u64| json!({ "sub": "mallory", "exp": exp, "iss": "skillreel-dev", "aud": "skillreel" });
    let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
    let payload = base64_url(&claims(now() + 600).to_string());
    let tokens = [
        format!("{header}.{payload}."),
        signed(
            "not-the-secret-but-just-as-long-as-it",
            claims(now() + 600),
            jsonwebtoken::Algorithm::HS256,
        ),
        signed(JWT_SECRET, claims(now() - 3600), jsonwebtoken::Algorithm::HS256),
        signed(JWT_SECRET, claims(now() + 600), jsonwebtoken::Algorithm::HS384),
        "not.a.jwt".to_owned(),
    ];
    for t in &tokens {
        assert_problem(
            app.get(Some(t), "/api/v1/videos").await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        )
        .await;
        let up = app.post_video(Some(t), None, &[("title", "x")]).await;
        assert_problem(up, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
    assert_problem(
        app.get(None, "/api/v1/videos").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let basic = app
        .client
        .get(format!("{}/api/v1/videos", app.catalog))
        .header("Authorization", "Basic YTpi")
        .send()
        .await;
    assert_problem(
        basic.unwrap_or_else(|e| panic!("{e}")),
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    // Nobody was provisioned from a refused token.
    assert_eq!(count(&db, "app_user").await, 0);
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn malformed_uploads_are_refused_and_store_nothing(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |s| s.upload.max_size_bytes = 200_000).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let small = fixtures::video(dir.path(), "small.mp4", VideoSpec::landscape(160, 120, 1.0));
    let big = fixtures::video(dir.path(), "big.mp4", VideoSpec::landscape(1280, 720, 4.0));
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap_or_else(|e| panic!("{e}"));
    let text = fixtures::text_file(dir.path(), "notes.mp4");
    let alice = token("alice", &[]);
    let long_title = "x".repeat(201);
    let long_field = "y".repeat(20_000);

    let cases: Vec<UploadCase<'_>> = vec![
        (
            Some(&small),
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Some(&small),
            vec![("title", "   ")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Some(&small),
            vec![("title", &long_title)],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Some(&small),
            vec![("title", "ok"), ("tags", "<script>")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Some(&small),
            vec![("title", "ok"), ("description", &long_field)],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Some(&small),
            vec![("title", "ok"), ("owner", "bob")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            None,
            vec![("title", "no file")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Some(&empty),
            vec![("title", "empty")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Some(&big),
            vec![("title", "too big")],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            Some(&text),
            vec![("title", "notes")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    for (file, fields, status, code) in cases {
        let response = app.post_video(Some(&alice), file, &fields).await;
        assert_problem(response, status, code).await;
    }
    let not_multipart = app
        .client
        .post(format!("{}/api/v1/videos", app.upload))
        .bearer_auth(&alice)
        .json(&json!({ "title": "json" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(
        not_multipart,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let garbage = app
        .client
        .post(format!("{}/api/v1/videos", app.upload))
        .bearer_auth(&alice)
        .header("Content-Type", "multipart/form-data; boundary=zzz")
        .body("--zzz\r\nthis is not a part\r\n")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(garbage.status().is_client_error(), "{}", garbage.status());

    // A bad field after the file: the streamed file must be thrown away too.
    let file_first = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(std::fs::read(&small).unwrap_or_default()).file_name("a.mp4"),
        )
        .text("owner", "bob");
    let r = app
        .client
        .post(format!("{}/api/v1/videos", app.upload))
        .bearer_auth(&alice)
        .multipart(file_first)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    assert_eq!(count(&db, "video").await, 0);
    assert_eq!(count(&db, "job").await, 0);
    // Nothing left in storage either: only the store's own staging folder exists.
    let leftovers: Vec<_> = std::fs::read_dir(app.media_root().join("videos"))
        .map(|d| d.count())
        .into_iter()
        .collect();
    assert!(leftovers.iter().all(|n| *n == 0), "{leftovers:?}");
    let staging = std::fs::read_dir(app.media_root().join(".partial"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(staging, 0, "aborted uploads left partial files");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn uploads_beyond_a_persons_quota_are_refused(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |s| {
        s.upload.user_quota_bytes = 1_000_000;
        s.upload.daily_quota_bytes = 600_000;
    })
    .await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let small = dir.path().join("small.mp4");
    std::fs::write(&small, fixtures::mp4_prefixed(400_000, 1)).unwrap_or_else(|e| panic!("{e}"));
    let alice = token("alice", &[]);
    assert_eq!(
        app.post_video(Some(&alice), Some(&small), &[("title", "one")])
            .await
            .status(),
        StatusCode::CREATED
    );
    // 400 kB used of a 600 kB daily quota: another 400 kB is refused, by either protocol.
    let second = app.post_video(Some(&alice), Some(&small), &[("title", "two")]).await;
    assert_problem(second, StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded").await;
    let tus = app
        .client
        .post(format!("{}/api/v1/uploads", app.upload))
        .bearer_auth(&alice)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "400000")
        .header("Upload-Metadata", "title eA==")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(tus, StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded").await;
    // Someone else's quota is their own.
    let bob = token("bob", &[]);
    assert_eq!(
        app.post_video(Some(&bob), Some(&small), &[("title", "mine")])
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(count(&db, "video").await, 2);
}

/// Quota is reserved, not only checked: uploads of unknown length hold what they have
/// received, and creations at the same moment cannot both spend what is left.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn uploads_in_progress_reserve_their_quota(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |s| {
        s.upload.user_quota_bytes = 10_000;
        s.upload.daily_quota_bytes = 10_000;
    })
    .await;
    let create = |who: String, length: Option<u64>| {
        let mut request = app
            .client
            .post(format!("{}/api/v1/uploads", app.upload))
            .bearer_auth(who)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Metadata", "title eA==");
        request = match length {
            Some(l) => request.header("Upload-Length", l.to_string()),
            None => request.header("Upload-Defer-Length", "1"),
        };
        request.send()
    };
    // Two uploads of unknown length: 6 kB into the first leaves 4 kB for the second.
    let alice = token("alice", &[]);
    let mut locations = Vec::new();
    for _ in 0..2 {
        let r = create(alice.clone(), None).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), StatusCode::CREATED);
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        locations.push(location.to_owned());
    }
    let patch = |url: String| {
        app.client
            .patch(url)
            .bearer_auth(&alice)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", "0")
            .header("Content-Type", "application/offset+octet-stream")
            .body(fixtures::mp4_prefixed(6_000, 3))
            .send()
    };
    let first = patch(locations[0].clone()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let second = patch(locations[1].clone()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_problem(second, StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded").await;

    // Eight creations of 3 kB at once against 10 kB: three fit, whatever the timing.
    let bob = token("bob", &[]);
    let answers = futures_util::future::join_all((0..8).map(|_| create(bob.clone(), Some(3_000)))).await;
    let created = answers
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")).status())
        .filter(|s| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn bad_paths_and_queries_get_problem_documents(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    assert_problem(
        app.get(Some(&alice), "/api/v1/videos/not-a-uuid").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let unknown = "/api/v1/videos/01900000-0000-7000-8000-000000000000";
    assert_problem(app.get(Some(&alice), unknown).await, StatusCode::NOT_FOUND, "not_found").await;
    for query in [
        "?limit=0",
        "?limit=101",
        "?limit=-1",
        "?limit=x",
        "?cursor=%00%ff",
        "?cursor=bm9wZQ",
        "?sort=nope",
        // (tags are at most 40 characters)
        "?tag=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let path = format!("/api/v1/videos{query}");
        assert_problem(
            app.get(Some(&alice), &path).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
    }
    assert_problem(
        app.get(Some(&alice), "/api/v1/nothing-here").await,
        StatusCode::NOT_FOUND,
        "route_not_found",
    )
    .await;
    let media = "/api/v1/media/01900000-0000-7000-8000-000000000000/1.00/master.m3u8";
    assert_problem(app.get(None, media).await, StatusCode::FORBIDDEN, "forbidden").await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn every_service_reports_health_readiness_and_metrics(_: PgPoolOptions, db: PgConnectOptions) {
    let mut app = TestApp::spawn(&db, Backend::S3, |_| {}).await;
    app.start_transcoder().await;
    let transcoder = app.transcoder.clone().unwrap_or_default();
    // a video asked without a token: counted under its route's pattern, not its path
    let missing = app
        .client
        .get(format!(
            "{}/api/v1/videos/01900000-0000-7000-8000-000000000000",
            app.catalog
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    for base in [&app.upload, &app.catalog, &transcoder] {
        for (path, status) in [
            ("/healthz", StatusCode::OK),
            ("/readyz", StatusCode::OK),
            ("/metrics", StatusCode::OK),
        ] {
            let r = app
                .client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.status(), status, "{base}{path}");
            let body = r.text().await.unwrap_or_default();
            if path == "/readyz" {
                assert!(
                    body.contains("\"database\":\"ok\"") && body.contains("\"storage\":\"ok\""),
                    "{body}"
                );
            }
            if path == "/metrics" && base != &transcoder {
                assert!(body.contains("skillreel_http_requests_total"), "{body}");
                assert!(body.contains("route=\"/healthz\""), "{body}");
            }
            if path == "/metrics" && base == &app.catalog {
                assert!(body.contains("route=\"/api/v1/videos/{id}\",status=\"401\""), "{body}");
                assert!(!body.contains("01900000"), "{body}");
            }
        }
    }
    let metrics = app
        .client
        .get(format!("{transcoder}/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        metrics
            .text()
            .await
            .unwrap_or_default()
            .contains("skillreel_transcode_jobs_running")
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn readiness_fails_when_storage_is_unreachable(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::S3, |s| {
        s.storage.s3.create_bucket = false;
        s.storage.s3.bucket = "no-such-bucket".into();
    })
    .await;
    let r = app
        .client
        .get(format!("{}/readyz", app.catalog))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}
