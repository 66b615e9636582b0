//! Resumable uploads with tus 1.0: an independent client (tuspy) over real sockets,
//! interrupted and resumed, plus every protocol edge as raw HTTP.

mod support;

use std::path::Path;
use std::time::Duration;

use futures_util::TryStreamExt;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use skillreel_storage::ObjectKey;
use skillreel_testkit::fixtures::mp4_prefixed;
use skillreel_testkit::token;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::{Backend, TestApp, assert_problem};

/// Runs `tests/tus/upload.py` (tuspy) and returns its exit code and the upload URL.
async fn tuspy(endpoint: &str, token: &str, file: &Path, state: &Path, extra: &[&str]) -> (i32, String) {
    let python = std::env::var("SKILLREEL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tus/upload.py");
    let out = tokio::process::Command::new(python)
        .arg(script)
        .args(["--endpoint", &format!("{endpoint}/api/v1/uploads"), "--token", token])
        .arg("--file")
        .arg(file)
        .arg("--state")
        .arg(state)
        .args(extra)
        .output()
        .await
        .unwrap_or_else(|e| panic!("python: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "tuspy is missing (scripts/test installs it): {stderr}"
    );
    let url = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    (out.status.code().unwrap_or(-1), url)
}

/// A file of pseudo-random bytes (compression or dedup can't hide a misplaced byte).
fn random_file(dir: &Path, name: &str, len: usize) -> std::path::PathBuf {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    // It must start like a video container to pass the upload's content sniff.
    let mut file = mp4_prefixed(0, 0);
    file.extend_from_slice(&bytes[file.len()..]);
    let path = dir.join(name);
    std::fs::write(&path, file).unwrap_or_else(|e| panic!("{e}"));
    path
}

async fn stored_sha256(app: &TestApp, video: &Value) -> String {
    let key = format!("videos/{}/source", video["id"].as_str().unwrap_or_default());
    let storage = app.storage().await;
    let body = storage
        .get(&ObjectKey::parse(&key).unwrap_or_else(|e| panic!("{e}")), None)
        .await;
    let chunks: Vec<bytes::Bytes> = body
        .unwrap_or_else(|e| panic!("{e}"))
        .stream
        .try_collect()
        .await
        .unwrap_or_default();
    let mut hasher = Sha256::new();
    chunks.iter().for_each(|c| hasher.update(c));
    hex::encode(hasher.finalize())
}

fn file_sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap_or_default()))
}

/// The video behind an upload URL, as its owner sees it.
async fn video_of(app: &TestApp, token: &str, upload_url: &str) -> Value {
    let head = app
        .client
        .head(upload_url)
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await;
    let head = head.unwrap_or_else(|e| panic!("{e}"));
    let id = head
        .headers()
        .get("Video-Id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    app.get_video(token, &id).await.json().await.unwrap_or_default()
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn tuspy_uploads_50_mb_in_5_mb_chunks_killed_and_resumed_byte_identical_on_s3(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = TestApp::spawn(&db, Backend::S3, |_| {}).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = random_file(dir.path(), "lecture.mp4", 50 * 1000 * 1000);
    let state = dir.path().join("tus-state.json");
    let alice = token("alice", &[]);

    let (code, url) = tuspy(&app.upload, &alice, &file, &state, &["--stop-after", "3"]).await;
    assert_eq!(code, 3, "the first run should have been cut short");
    let halfway = video_of(&app, &alice, &url).await;
    assert_eq!(halfway["status"], "uploading", "{halfway}");
    assert_eq!(halfway["upload"]["received_bytes"], 15_000_000, "{halfway}");
    assert_eq!(halfway["upload"]["total_bytes"], 50_000_000);

    let (code, resumed_url) = tuspy(&app.upload, &alice, &file, &state, &[]).await;
    assert_eq!(code, 0);
    assert_eq!(resumed_url, url, "tuspy started a new upload instead of resuming");
    let video = video_of(&app, &alice, &url).await;
    assert_eq!(video["status"], "processing", "{video}");
    assert_eq!(stored_sha256(&app, &video).await, file_sha256(&file));
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_upload_resumes_on_another_upload_server_after_the_first_stops(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::S3, |_| {}).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = random_file(dir.path(), "talk.mp4", 23 * 1000 * 1000);
    let state = dir.path().join("state.json");
    let alice = token("alice", &[]);
    let (code, url) = tuspy(
        &app.upload,
        &alice,
        &file,
        &state,
        &["--stop-after", "2", "--chunk-size", "6000000"],
    )
    .await;
    assert_eq!(code, 3);

    // The first server goes away; a new one on the same database and bucket takes over.
    app.upload_handle.stop(true).await;
    let (replica, _handle) = app.spawn_upload_replica().await;
    let moved = url.replace(&app.upload, &replica);
    let (code, _) = tuspy(
        &replica,
        &alice,
        &file,
        &state,
        &["--url", &moved, "--chunk-size", "6000000"],
    )
    .await;
    assert_eq!(code, 0);
    let video = video_of(&app, &alice, &moved).await;
    assert_eq!(video["status"], "processing");
    assert_eq!(stored_sha256(&app, &video).await, file_sha256(&file));
}

fn tus(app: &TestApp, method: Method, url: &str, token: &str) -> RequestBuilder {
    app.client
        .request(method, url)
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
}

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn create(app: &TestApp, token: &str, length: usize) -> String {
    let r = tus(app, Method::POST, &format!("{}/api/v1/uploads", app.upload), token)
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", "title VGVzdA==,filetype dmlkZW8vbXA0")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::CREATED);
    header(&r, "Location")
}

fn patch(app: &TestApp, url: &str, token: &str, offset: usize, body: Vec<u8>) -> RequestBuilder {
    tus(app, Method::PATCH, url, token)
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(body)
}

async fn offset_of(app: &TestApp, url: &str, token: &str) -> String {
    header(
        &tus(app, Method::HEAD, url, token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        "Upload-Offset",
    )
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_protocol_refuses_what_would_corrupt_an_upload(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |s| s.upload.max_size_bytes = 1_000_000).await;
    let alice = token("alice", &[]);
    let bob = token("bob", &[]);
    let base = format!("{}/api/v1/uploads", app.upload);

    // discovery
    let options = app
        .client
        .request(Method::OPTIONS, &base)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&options, "Tus-Version"), "1.0.0");
    assert_eq!(header(&options, "Tus-Max-Size"), "1000000");
    assert!(header(&options, "Tus-Extension").contains("creation-with-upload"));
    assert!(header(&options, "Tus-Checksum-Algorithm").contains("sha1"));

    // version, size and metadata checks at creation
    let no_version = app
        .client
        .post(&base)
        .bearer_auth(&alice)
        .header("Upload-Length", "10")
        .send()
        .await;
    assert_problem(
        no_version.unwrap_or_else(|e| panic!("{e}")),
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    let old = app
        .client
        .post(&base)
        .bearer_auth(&alice)
        .header("Tus-Resumable", "0.2.2")
        .header("Upload-Length", "10");
    assert_problem(
        old.send().await.unwrap_or_else(|e| panic!("{e}")),
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    )
    .await;
    let cases: [(&str, &str, StatusCode, &str); 5] = [
        (
            "2000000",
            "title VGVzdA==",
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "10",
            "filetype aW1hZ2UvcG5n,title eA==",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        ("10", "title !!!", StatusCode::BAD_REQUEST, "bad_request"),
        ("10", "", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        ("0", "title eA==", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
    ];
    for (length, metadata, status, code) in cases {
        let r = tus(&app, Method::POST, &base, &alice)
            .header("Upload-Length", length)
            .header("Upload-Metadata", metadata);
        assert_problem(r.send().await.unwrap_or_else(|e| panic!("{e}")), status, code).await;
    }

    // a created upload shows as an `uploading` video to its owner only
    let url = create(&app, &alice, 300).await;
    let first = mp4_prefixed(100 - mp4_prefixed(0, 0).len(), 7);
    let video = video_of(&app, &alice, &url).await;
    assert_eq!(
        (video["status"].as_str(), video["title"].as_str()),
        (Some("uploading"), Some("Test"))
    );
    let bob_head = tus(&app, Method::HEAD, &url, &bob)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bob_head.status(), StatusCode::NOT_FOUND);
    let bob_patch = patch(&app, &url, &bob, 0, vec![1; 10])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(bob_patch, StatusCode::NOT_FOUND, "not_found").await;
    let bob_delete = tus(&app, Method::DELETE, &url, &bob)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(bob_delete, StatusCode::NOT_FOUND, "not_found").await;

    // the right offset appends; a wrong one is refused and changes nothing
    let ok = patch(&app, &url, &alice, 0, first.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (ok.status(), header(&ok, "Upload-Offset")),
        (StatusCode::NO_CONTENT, "100".into())
    );
    let stale = patch(&app, &url, &alice, 0, vec![8; 100])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(stale, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(offset_of(&app, &url, &alice).await, "100");

    // a checksum mismatch is 460 and stores nothing; a matching one is accepted
    let bad =
        patch(&app, &url, &alice, 100, vec![9; 100]).header("Upload-Checksum", "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_problem(
        bad.send().await.unwrap_or_else(|e| panic!("{e}")),
        StatusCode::from_u16(460).unwrap_or_default(),
        "checksum_mismatch",
    )
    .await;
    assert_eq!(offset_of(&app, &url, &alice).await, "100");
    let digest = base64_sha1(&[9; 100]);
    let good = patch(&app, &url, &alice, 100, vec![9; 100]).header("Upload-Checksum", format!("sha1 {digest}"));
    assert_eq!(good.send().await.map(|r| r.status()).ok(), Some(StatusCode::NO_CONTENT));

    // more than announced, a wrong content type, an unknown algorithm
    let over = patch(&app, &url, &alice, 200, vec![1; 101])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(over, StatusCode::BAD_REQUEST, "bad_request").await;
    let wrong_type = tus(&app, Method::PATCH, &url, &alice)
        .header("Upload-Offset", "200")
        .body(vec![1; 10]);
    assert_problem(
        wrong_type.send().await.unwrap_or_else(|e| panic!("{e}")),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let md5 = patch(&app, &url, &alice, 200, vec![1; 10]).header("Upload-Checksum", "md5 AAAA");
    assert_problem(
        md5.send().await.unwrap_or_else(|e| panic!("{e}")),
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_eq!(offset_of(&app, &url, &alice).await, "200");

    // X-HTTP-Method-Override: a POST that is a PATCH finishes the upload
    let last = app
        .client
        .post(&url)
        .bearer_auth(&alice)
        .header("Tus-Resumable", "1.0.0")
        .header("X-HTTP-Method-Override", "PATCH")
        .header("Upload-Offset", "200")
        .header("Content-Type", "application/offset+octet-stream")
        .body(vec![5; 100])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (last.status(), header(&last, "Upload-Offset")),
        (StatusCode::NO_CONTENT, "300".into())
    );
    assert_eq!(video_of(&app, &alice, &url).await["status"], "processing");
    let after = patch(&app, &url, &alice, 300, vec![1])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(after, StatusCode::CONFLICT, "conflict").await;
    let stored = std::fs::read(
        app.media_root()
            .join(format!("videos/{}/source", video["id"].as_str().unwrap_or_default())),
    );
    let expected: Vec<u8> = [first, vec![9; 100], vec![5; 100]].concat();
    assert_eq!(stored.unwrap_or_default(), expected);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_upload_that_does_not_start_like_a_video_is_refused_early(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    let url = create(&app, &alice, 10_000).await;
    let pdf = [b"%PDF-1.7\n".to_vec(), vec![b'x'; 990]].concat();
    let r = patch(&app, &url, &alice, 0, pdf)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    assert_eq!(offset_of(&app, &url, &alice).await, "0", "refused bytes were kept");

    // The same bytes riding on the creation request: nothing is created at all.
    let pdf = [b"%PDF-1.7\n".to_vec(), vec![b'x'; 990]].concat();
    let created = tus(&app, Method::POST, &format!("{}/api/v1/uploads", app.upload), &alice)
        .header("Upload-Length", pdf.len().to_string())
        .header("Upload-Metadata", "title eA==")
        .header("Content-Type", "application/offset+octet-stream")
        .body(pdf)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(created, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    let mine: Value = app
        .get(Some(&alice), "/api/v1/me/videos")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        mine["items"].as_array().map(Vec::len),
        Some(1),
        "only the first upload's video should exist: {mine}"
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn browsers_on_other_origins_may_upload_and_read_the_tus_headers(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let base = format!("{}/api/v1/uploads", app.upload);
    let preflight = app
        .client
        .request(Method::OPTIONS, &base)
        .header("Origin", "https://learning.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,tus-resumable,upload-length,upload-metadata",
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        header(&preflight, "Access-Control-Allow-Origin"),
        "https://learning.example.com"
    );
    let alice = token("alice", &[]);
    let created = tus(&app, Method::POST, &base, &alice)
        .header("Origin", "https://learning.example.com")
        .header("Upload-Length", "100")
        .header("Upload-Metadata", "title eA==")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.status(), StatusCode::CREATED);
    let exposed = header(&created, "Access-Control-Expose-Headers").to_ascii_lowercase();
    for needed in [
        "location",
        "upload-offset",
        "tus-resumable",
        "video-id",
        "upload-expires",
    ] {
        assert!(exposed.contains(needed), "{needed} not exposed: {exposed}");
    }
}

fn base64_sha1(data: &[u8]) -> String {
    use base64::Engine;
    use sha1::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(data))
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn concurrent_patches_to_one_upload_let_one_win(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    let url = create(&app, &alice, 2_000_000).await;
    // A slow PATCH holds the upload while a second one arrives.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let slow_body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let slow = tokio::spawn(
        tus(&app, Method::PATCH, &url, &alice)
            .header("Upload-Offset", "0")
            .header("Content-Type", "application/offset+octet-stream")
            .body(slow_body)
            .send(),
    );
    let _ = tx.send(Ok(bytes::Bytes::from(mp4_prefixed(500_000 - 24, 1)))).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = patch(&app, &url, &alice, 0, vec![2; 1000])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(second, StatusCode::CONFLICT, "conflict").await;
    let _ = tx.send(Ok(bytes::Bytes::from(vec![1u8; 500_000]))).await;
    drop(tx);
    let first = slow
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (first.status(), header(&first, "Upload-Offset")),
        (StatusCode::NO_CONTENT, "1000000".into())
    );
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn creation_with_upload_defer_length_and_termination(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::S3, |_| {}).await;
    let alice = token("alice", &[]);
    let base = format!("{}/api/v1/uploads", app.upload);

    // creation-with-upload: the first bytes ride on the POST
    let created = tus(&app, Method::POST, &base, &alice)
        .header("Upload-Length", "44")
        .header("Upload-Metadata", "title SW4gb25lIGdv")
        .header("Content-Type", "application/offset+octet-stream")
        .body(mp4_prefixed(20, 3))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (created.status(), header(&created, "Upload-Offset")),
        (StatusCode::CREATED, "44".into())
    );
    assert!(!header(&created, "Upload-Expires").is_empty());
    let video = video_of(&app, &alice, &header(&created, "Location")).await;
    assert_eq!(video["status"], "processing");

    // creation-defer-length: the length comes with a later PATCH
    let deferred = tus(&app, Method::POST, &base, &alice)
        .header("Upload-Defer-Length", "1")
        .header("Upload-Metadata", "title TGF0ZXI=")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = header(&deferred, "Location");
    let head = tus(&app, Method::HEAD, &url, &alice)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header(&head, "Upload-Defer-Length"), "1");
    // 6 MB: above S3's part minimum, so a real part is stored before the end
    let r = patch(&app, &url, &alice, 0, mp4_prefixed(6_000_000 - 24, 4))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = patch(&app, &url, &alice, 6_000_000, vec![6; 1000])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // termination: 204, then the upload and its video are gone, and so are its bytes
    let video = video_of(&app, &alice, &url).await;
    let r = tus(&app, Method::DELETE, &url, &alice)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let head = tus(&app, Method::HEAD, &url, &alice)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    let id = video["id"].as_str().unwrap_or_default();
    assert_eq!(app.get_video(&alice, id).await.status(), StatusCode::NOT_FOUND);
    let pending = ObjectKey::parse(&format!("videos/{id}/source.pending-6001000")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        app.storage().await.size(&pending).await.is_err(),
        "the pending bytes survived termination"
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_abandoned_upload_expires_and_is_cleaned_up(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::S3, |s| s.upload.expiry_seconds = 1).await;
    let alice = token("alice", &[]);
    let url = create(&app, &alice, 10_000).await;
    let r = patch(&app, &url, &alice, 0, mp4_prefixed(1000 - 24, 1))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let id = video_of(&app, &alice, &url).await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let late = patch(&app, &url, &alice, 1000, vec![1; 1000])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(late, StatusCode::GONE, "gone").await;
    let pool = PgPoolOptions::new()
        .connect_with(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ctx = skillreel_upload::UploadContext::from_settings(pool, app.storage().await, app.settings());
    assert_eq!(skillreel_upload::tus::sweep_expired(&ctx).await.ok(), Some(1));
    assert_eq!(skillreel_upload::tus::sweep_expired(&ctx).await.ok(), Some(0));
    let video: Value = app.get_video(&alice, &id).await.json().await.unwrap_or_default();
    assert_eq!(video["status"], "failed");
    assert!(video["failure_reason"].as_str().unwrap_or_default().contains("expired"));
    let pending = ObjectKey::parse(&format!("videos/{id}/source.pending-1000")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        app.storage().await.size(&pending).await.is_err(),
        "the abandoned bytes were kept"
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_upload_assembled_but_never_recorded_is_finished_by_the_sweep(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    // One upload whose parts were assembled, but whose commit never happened …
    let done_url = create(&app, &alice, 1000).await;
    let done = video_of(&app, &alice, &done_url).await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let key = ObjectKey::parse(&format!("videos/{done}/source")).unwrap_or_else(|e| panic!("{e}"));
    let storage = app.storage().await;
    skillreel_storage::put_bytes(
        storage.as_ref(),
        &key,
        bytes::Bytes::from(mp4_prefixed(1000 - 24, 1)),
        "video/mp4",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // … and one still being uploaded; both idle for a while.
    let open_url = create(&app, &alice, 1000).await;
    let r = patch(&app, &open_url, &alice, 0, mp4_prefixed(500 - 24, 2))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let pool = PgPoolOptions::new()
        .connect_with(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("update upload set updated_at = now() - interval '2 minutes'")
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let ctx = skillreel_upload::UploadContext::from_settings(pool, storage, app.settings());
    assert_eq!(skillreel_upload::tus::finish_assembled(&ctx).await.ok(), Some(1));
    assert_eq!(skillreel_upload::tus::finish_assembled(&ctx).await.ok(), Some(0));
    assert_eq!(
        app.get_video(&alice, &done)
            .await
            .json::<Value>()
            .await
            .unwrap_or_default()["status"],
        "processing"
    );
    assert_eq!(offset_of(&app, &done_url, &alice).await, "1000");
    assert_eq!(video_of(&app, &alice, &open_url).await["status"], "uploading");
    assert_eq!(offset_of(&app, &open_url, &alice).await, "500");
}

/// The author deletes the video while its last bytes arrive: the final PATCH queues
/// no transcode, keeps no bytes, and says so (410); the upload is gone too.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn deleting_the_video_during_the_upload_leaves_nothing_behind(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    let bytes = mp4_prefixed(4000, 7);
    let url = create(&app, &alice, bytes.len()).await;
    let first = patch(&app, &url, &alice, 0, bytes[..1000].to_vec())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let head = tus(&app, Method::HEAD, &url, &alice)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let video = header(&head, "Video-Id");
    let deleted = app
        .call(Method::DELETE, &format!("/api/v1/videos/{video}"), &alice, None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let last = patch(&app, &url, &alice, 1000, bytes[1000..].to_vec())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(last, StatusCode::GONE, "gone").await;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let jobs: i64 = sqlx::query_scalar("select count(*) from job where payload ->> 'video_id' = $1")
        .bind(&video)
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(jobs, 0, "a transcode was queued for a deleted video");
    let source = ObjectKey::parse(&format!("videos/{video}/source")).unwrap_or_else(|e| panic!("{e}"));
    assert!(app.storage().await.size(&source).await.is_err(), "the bytes were kept");
    let gone = tus(&app, Method::HEAD, &url, &alice)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(gone.status(), StatusCode::GONE);
}
