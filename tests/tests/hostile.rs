//! What an attacker would try, over real sockets: hostile media through the real
//! upload, made-up methods, forged cursors. Each gets a clear 4xx or a `failed` video
//! with a reason, within a bound, and a normal video uploaded right after still
//! becomes ready.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt as _;
use reqwest::{Method, StatusCode};
use skillreel_testkit::fixtures::{self, VideoSpec};
use skillreel_testkit::token;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::{Backend, TestApp, assert_problem};

/// Hostile files through the public upload: each is accepted or refused with a 4xx,
/// and each accepted one ends `failed` with a reason a person can read; a good video
/// uploaded after them becomes ready.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn hostile_files_fail_with_a_reason_and_a_good_video_still_becomes_ready(_: PgPoolOptions, db: PgConnectOptions) {
    let mut app = TestApp::spawn(&db, Backend::Local, |s| {
        s.transcoder.max_duration_seconds = 5;
    })
    .await;
    app.start_transcoder().await;
    let alice = token("alice", &[]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let mut files = Vec::new();
    for (name, bytes) in fixtures::wrapping_box_mp4s() {
        let path = d.join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        files.push(path);
    }
    let good = fixtures::video(d, "good.mp4", VideoSpec::landscape(320, 240, 2.0));
    for (name, bytes) in [
        ("empty.mp4", Vec::new()),
        ("archive.mp4", [b"PK\x03\x04".as_slice(), &[0u8; 400]].concat()),
        ("program.mp4", [b"\x7fELF\x02\x01\x01".as_slice(), &[0u8; 400]].concat()),
        ("pdf.mp4", [b"%PDF-1.7\n".as_slice(), &[b'x'; 400]].concat()),
        ("junk-after-ftyp.mp4", fixtures::mp4_prefixed(20_000, 0xAB)),
    ] {
        let path = d.join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        files.push(path);
    }
    files.extend([
        fixtures::lying_duration(d, "liar.flv", 12, 2.0),
        fixtures::absurd_dimensions(d, "huge.mp4"),
        fixtures::image(d, "slide.png"),
        fixtures::random_bytes(d, "random.mp4"),
        fixtures::text_file(d, "notes.mp4"),
        fixtures::fake_mp4(d, "meeting-notes.mp4"),
        fixtures::truncated(&good, d, "cut.mp4", 0.6),
        fixtures::moov_cut(&good, d, "moov.mp4"),
        fixtures::audio_only(d, "podcast.mp4"),
        fixtures::long_video(d, "lecture.mp4", 60),
    ]);
    let mut accepted = Vec::new();
    for file in &files {
        let response = app.post_video(Some(&alice), Some(file), &[("title", "hostile")]).await;
        let status = response.status();
        if status == StatusCode::CREATED {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            accepted.push((file.clone(), body["id"].as_str().unwrap_or_default().to_owned()));
        } else {
            assert!(status.is_client_error(), "{}: {status}", file.display());
            let kind = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert_eq!(kind, "application/problem+json", "{}", file.display());
        }
    }
    assert!(
        accepted.len() >= files.len() / 2,
        "most hostile files reach the transcoder"
    );
    let good = app.upload(&alice, &good, "A good one").await;
    for (file, id) in &accepted {
        let video = app.settled(&alice, id).await;
        assert_eq!(video["status"], "failed", "{}: {video}", file.display());
        let reason = video["failure_reason"].as_str().unwrap_or_default();
        assert!(reason.len() > 15, "{}: {reason}", file.display());
    }
    let good = app.settled(&alice, &good).await;
    assert_eq!(good["status"], "ready", "{good}");
}

/// 10 000 requests with made-up methods and paths, from nobody: `/metrics` stays small
/// because labels come from a fixed set: a route's pattern, whatever its ids, and
/// `unmatched` for a path no route answers.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn random_methods_and_paths_do_not_grow_the_metrics(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let requests = (0..10_000u32).map(|i| {
        let method =
            Method::from_bytes(format!("X{:08X}", i.wrapping_mul(2_654_435_761)).as_bytes()).unwrap_or(Method::GET);
        let url = format!("{}/api/v1/{:x}/{i}", app.catalog, i.wrapping_mul(40_503));
        app.client.request(method, url).send()
    });
    let statuses: Vec<_> = futures_util::stream::iter(requests)
        .buffer_unordered(32)
        .map(|r| r.map(|r| r.status()).unwrap_or_else(|e| panic!("{e}")))
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| s.is_client_error()),
        "a made-up request was not a 4xx"
    );
    let mut asked = Vec::new();
    for n in 0..3u128 {
        let r = app
            .get(None, &format!("/api/v1/videos/{}", uuid::Uuid::from_u128(n)))
            .await;
        asked.push(r.status().as_u16());
    }
    asked.dedup();
    let metrics = app.get(None, "/metrics").await.text().await.unwrap_or_default();
    assert!(
        metrics.contains("method=\"other\""),
        "made-up methods are not counted as other"
    );
    assert!(
        metrics.contains("method=\"other\",route=\"unmatched\",status=\"404\""),
        "made-up paths are not counted as unmatched"
    );
    let by_pattern = format!(
        "{{method=\"GET\",route=\"/api/v1/videos/{{id}}\",status=\"{}\"}} 3",
        asked[0]
    );
    assert_eq!(asked.len(), 1, "three reads of unknown videos answered alike");
    assert!(metrics.contains(&by_pattern), "{by_pattern} not in {metrics}");
    assert!(metrics.len() < 200 * 1024, "/metrics grew to {} bytes", metrics.len());
}

/// A known path asked with a method it does not answer: 405 with `Allow`, in the
/// catalog and the upload service alike; an unknown path is a different code from an
/// unknown object.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_known_path_with_another_method_answers_405_with_allow(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    let id = "01900000-0000-7000-8000-000000000000";
    let cases = [
        (
            &app.catalog,
            Method::PUT,
            format!("/api/v1/videos/{id}"),
            "DELETE, GET, PATCH",
        ),
        (&app.catalog, Method::DELETE, "/api/v1/videos".to_owned(), "GET"),
        (&app.catalog, Method::POST, "/healthz".to_owned(), "GET"),
        (
            &app.upload,
            Method::PUT,
            format!("/api/v1/uploads/{id}"),
            "DELETE, HEAD, PATCH",
        ),
        (&app.upload, Method::GET, "/api/v1/uploads".to_owned(), "OPTIONS, POST"),
    ];
    for (base, method, path, allow) in cases {
        let response = app
            .client
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let header = response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(header, allow, "{method} {path}");
        assert_problem(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    }
    assert_problem(
        app.get(Some(&alice), "/api/v1/nothing-here").await,
        StatusCode::NOT_FOUND,
        "route_not_found",
    )
    .await;
}

/// Cursors are opaque, but a client can forge one: keys and instants out of any real
/// range are a 400, never an empty page or a dropped connection.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn forged_cursors_are_refused_with_400(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    let id = uuid::Uuid::nil();
    let now_nanos = 1_790_000_000_000_000_000i128;
    let ranked = [
        format!("1e300|{id}|{now_nanos}"),
        format!("-1e300|{id}|{now_nanos}"),
        format!("1e18|{id}|{now_nanos}"),
        format!("NaN|{id}|{now_nanos}"),
        format!("inf|{id}|{now_nanos}"),
        format!("5|{id}|{}", i128::MAX),
        format!("5|{id}|-{now_nanos}"),
        format!("5|{id}|253402300799000000000"),
        format!("5|{id}|{now_nanos}|extra"),
    ];
    for text in &ranked {
        for sort in ["recent", "popular", "trending"] {
            let path = format!("/api/v1/videos?sort={sort}&cursor={}", URL_SAFE_NO_PAD.encode(text));
            assert_problem(
                app.get(Some(&alice), &path).await,
                StatusCode::BAD_REQUEST,
                "bad_request",
            )
            .await;
        }
    }
    for text in [
        format!("{}|{id}", i128::MAX),
        format!("-1|{id}"),
        format!("253402300799000000000|{id}"),
    ] {
        let path = format!("/api/v1/me/inbox?cursor={}", URL_SAFE_NO_PAD.encode(&text));
        assert_problem(
            app.get(Some(&alice), &path).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
    }
}

/// A ready video of alice's, through the real upload and transcoder.
async fn ready_video(app: &mut TestApp, alice: &str, dir: &std::path::Path) -> String {
    app.start_transcoder().await;
    let src = fixtures::video(dir, "talk.mp4", VideoSpec::landscape(320, 240, 2.0));
    let id = app.upload(alice, &src, "Idempotency in practice").await;
    assert_eq!(app.settled(alice, &id).await["status"], "ready");
    id
}

/// The languages a video has captions in, as its caption list shows them.
async fn caption_languages(app: &TestApp, who: &str, video: &str) -> Vec<String> {
    let captions: serde_json::Value = app
        .get(Some(who), &format!("/api/v1/videos/{video}/captions"))
        .await
        .json()
        .await
        .unwrap_or_default();
    let mut languages: Vec<String> = captions
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {captions}"))
        .iter()
        .filter_map(|c| c["language"].as_str().map(str::to_owned))
        .collect();
    languages.sort();
    languages
}

/// Caption uploads that trickle in hold no database connection: more of them than
/// the pool has connections leave everyone else served, and each ends in 408.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn slow_caption_bodies_get_408_and_starve_nobody(_: PgPoolOptions, db: PgConnectOptions) {
    let mut app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = ready_video(&mut app, &alice, dir.path()).await;
    let slow = |lang: String| {
        let stalled = futures_util::stream::once(async { Ok::<_, std::io::Error>(bytes::Bytes::from("WEBVTT\n\n")) })
            .chain(futures_util::stream::pending());
        app.client
            .put(format!("{}/api/v1/videos/{id}/captions/{lang}", app.catalog))
            .bearer_auth(&alice)
            .body(reqwest::Body::wrap_stream(stalled))
            .send()
    };
    let pool_size = app.settings().database.max_connections as usize;
    let languages = (0..pool_size * 3).map(|i| {
        format!(
            "{}{}",
            char::from(b'a' + (i / 26) as u8),
            char::from(b'a' + (i % 26) as u8)
        )
    });
    let senders: Vec<_> = languages.map(slow).collect();
    let senders = tokio::spawn(futures_util::future::join_all(senders));
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    // Everyone else is still served while the slow bodies trickle.
    for _ in 0..pool_size * 2 {
        assert_eq!(app.get_video(&alice, &id).await.status(), StatusCode::OK);
    }
    let answers = senders.await.unwrap_or_else(|e| panic!("{e}"));
    for answer in answers {
        let response = answer.unwrap_or_else(|e| panic!("{e}"));
        assert_problem(response, StatusCode::REQUEST_TIMEOUT, "request_timeout").await;
    }
    assert!(caption_languages(&app, &alice, &id).await.is_empty());
}

/// The largest caption accepted, all distinct words, would overflow the search vector:
/// it is stored and searchable, and the video stays editable; a larger one is a 413
/// and leaves nothing behind.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_largest_captions_keep_the_video_editable_and_larger_ones_leave_nothing(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let mut app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = ready_video(&mut app, &alice, dir.path()).await;
    let caption = |bytes: usize| {
        let mut text = String::from("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n");
        let mut i = 0u64;
        while text.len() < bytes {
            text.push_str(&format!("w{:x} ", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
            i += 1;
        }
        text.truncate(bytes);
        text.push('\n');
        text
    };
    let put = |lang: &str, body: String| {
        app.client
            .put(format!("{}/api/v1/videos/{id}/captions/{lang}", app.catalog))
            .bearer_auth(&alice)
            .body(body)
            .send()
    };
    let max = skillreel_domain::MAX_CAPTION_BYTES;
    let response = put("en", caption(max - 64)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    let response = put("de", caption(max - 64)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    let patched = app
        .call(
            Method::PATCH,
            &format!("/api/v1/videos/{id}"),
            &alice,
            Some(serde_json::json!({ "title": "Idempotency, captioned" })),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let response = put("fr", caption(max + 1024)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(caption_languages(&app, &alice, &id).await, ["de", "en"]);
}

/// An endpoint on loopback that answers every request with a redirect to the cloud
/// metadata service, counting what it gets.
async fn redirecting_endpoint() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 8192];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
        }
    });
    (format!("http://127.0.0.1:{port}/hook"), hits)
}

/// Webhooks cannot be aimed at the network behind the server: private, loopback and
/// link-local addresses are refused unless allowlisted, redirects are not followed,
/// and a failed delivery says what happened without echoing the response.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn webhooks_cannot_reach_private_addresses_or_follow_redirects(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |s| {
        s.catalog.webhook_allowed_hosts = vec!["127.0.0.1".into()];
    })
    .await;
    let admin = token("root", &["admin"]);
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://192.168.1.1:8080/hook",
        "http://[::1]:8080/hook",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0:9/",
        "http://localhost:9/hook",
    ] {
        let response = app
            .call(
                Method::POST,
                "/api/v1/admin/webhooks",
                &admin,
                Some(serde_json::json!({ "url": url })),
            )
            .await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    // An allowlisted host that redirects: delivered once, never followed.
    let (url, hits) = redirecting_endpoint().await;
    let created = app
        .call(
            Method::POST,
            "/api/v1/admin/webhooks",
            &admin,
            Some(serde_json::json!({ "url": url })),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let hook: serde_json::Value = created.json().await.unwrap_or_default();
    let hook = hook["id"].as_str().unwrap_or_default().to_owned();
    // A notification to deliver: alice's video fails (a text file named .mp4).
    let mut app = app;
    fail_a_video_to_notify(&mut app).await;
    assert_eq!(
        first_delivery_error(&app, &admin, &hook).await,
        "the endpoint answered 302 Found; redirects are not followed"
    );
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

/// Starts the transcoder and has alice upload a text file named `.mp4`: its failure is
/// a notification, which every webhook is sent.
async fn fail_a_video_to_notify(app: &mut TestApp) {
    app.start_transcoder().await;
    let alice = token("alice", &[]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fake = fixtures::fake_mp4(dir.path(), "notes.mp4");
    let id = app.upload(&alice, &fake, "Notes").await;
    assert_eq!(app.settled(&alice, &id).await["status"], "failed");
}

/// The `last_error` of a webhook's first delivery, once it has one (bounded at 30 s).
async fn first_delivery_error(app: &TestApp, admin: &str, hook: &str) -> String {
    for _ in 0..120 {
        let deliveries: serde_json::Value = app
            .call(
                Method::GET,
                &format!("/api/v1/admin/webhooks/{hook}/deliveries"),
                admin,
                None,
            )
            .await
            .json()
            .await
            .unwrap_or_default();
        if let Some(error) = deliveries[0]["last_error"].as_str() {
            return error.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("webhook {hook} has no failed delivery after 30 s");
}

/// A webhook stored before the rule, or before the allowlist was narrowed, is checked
/// again at every delivery: an IP literal the policy refuses is never contacted.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_stored_webhook_to_a_private_address_is_refused_at_delivery(_: PgPoolOptions, db: PgConnectOptions) {
    let mut app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (url, hits) = redirecting_endpoint().await;
    let mut hooks = Vec::new();
    for url in [url.as_str(), "http://169.254.169.254/latest/meta-data/"] {
        let id = uuid::Uuid::now_v7();
        sqlx::query("insert into webhook (id, url, secret) values ($1, $2, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')")
            .bind(id)
            .bind(url)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        hooks.push(id.to_string());
    }
    fail_a_video_to_notify(&mut app).await;
    let admin = token("root", &["admin"]);
    for hook in hooks {
        assert_eq!(
            first_delivery_error(&app, &admin, &hook).await,
            "the endpoint's address is not allowed (private, loopback or link-local)"
        );
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a refused endpoint was contacted"
    );
}

/// Stopping a catalog stops its background work too: once `run_until_stopped`
/// returns, the read cache's `LISTEN` session is gone (no task outlives the server).
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_stopped_catalog_leaves_no_background_task_running(_: PgPoolOptions, db: PgConnectOptions) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let settings = skillreel_testkit::settings(
        &skillreel_testkit::database_url(&db),
        skillreel_testkit::Store::Local(dir.path()),
    );
    let app = skillreel_catalog::Application::build(settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let handle = app.handle();
    let running = tokio::spawn(app.run_until_stopped());
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let database = db.get_database().unwrap_or_default().to_owned();
    let listening = || {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from pg_stat_activity where datname = $1 and query ilike 'listen%'",
        )
        .bind(&database)
        .fetch_one(&pool)
    };
    let mut seen = false;
    for _ in 0..100 {
        if listening().await.unwrap_or_default() > 0 {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "the read cache never listened");
    handle.stop(true).await;
    tokio::time::timeout(std::time::Duration::from_secs(30), running)
        .await
        .unwrap_or_else(|_| panic!("the catalog did not stop within 30 s"))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut left = 1;
    for _ in 0..50 {
        left = listening().await.unwrap_or(1);
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "a LISTEN session outlived the catalog");
}

/// Hostile requests of every shape get a 4xx problem document, and the service keeps
/// answering.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn hostile_requests_get_a_4xx_and_the_service_keeps_answering(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    let video = app
        .post_video(Some(&alice), None, &[("title", "no file")])
        .await
        .status();
    assert!(video.is_client_error());
    let many_tags = (0..100_000).map(|i| format!("t{i}")).collect::<Vec<_>>().join(",");
    let same_tag = "rust,".repeat(200_000);
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let id = "01900000-0000-7000-8000-000000000000";
    let client = &app.client;
    let tagged = |tags: String| {
        let file = reqwest::multipart::Part::bytes(fixtures::mp4_prefixed(1000, 1)).file_name("a.mp4");
        let form = reqwest::multipart::Form::new()
            .text("title", "tags")
            .text("tags", tags)
            .part("file", file);
        client
            .post(format!("{}/api/v1/videos", app.upload))
            .bearer_auth(&alice)
            .multipart(form)
    };
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "a 64 KiB header",
            client
                .get(format!("{}/api/v1/videos", app.catalog))
                .bearer_auth(&alice)
                .header("X-Padding", "x".repeat(64 * 1024)),
        ),
        ("a 100 000-tag form", tagged(many_tags)),
        ("one tag 200 000 times", tagged(same_tag)),
        (
            "JSON nested 100 000 deep",
            client
                .post(format!("{}/api/v1/communities", app.catalog))
                .bearer_auth(&alice)
                .header("content-type", "application/json")
                .body(deep_json.clone()),
        ),
        (
            "a 1 MiB JSON body",
            client
                .post(format!("{}/api/v1/communities", app.catalog))
                .bearer_auth(&alice)
                .json(&serde_json::json!({ "name": "x".repeat(1024 * 1024) })),
        ),
        (
            "a 9 KiB Upload-Metadata",
            client
                .post(format!("{}/api/v1/uploads", app.upload))
                .bearer_auth(&alice)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", "1000")
                .header("Upload-Metadata", format!("title {}", "QUFB".repeat(2400))),
        ),
        (
            "a title of control characters",
            client
                .post(format!("{}/api/v1/uploads", app.upload))
                .bearer_auth(&alice)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", "1000")
                .header("Upload-Metadata", "title AAECAwQFBgcI"),
        ),
        (
            "an Upload-Length past u64",
            client
                .post(format!("{}/api/v1/uploads", app.upload))
                .bearer_auth(&alice)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", "99999999999999999999999")
                .header("Upload-Metadata", "title eA=="),
        ),
        (
            "a 10 KiB path segment",
            client
                .get(format!("{}/api/v1/videos/{}", app.catalog, "a".repeat(10 * 1024)))
                .bearer_auth(&alice),
        ),
        (
            "a limit past i64",
            client
                .get(format!("{}/api/v1/videos?limit=99999999999999999999", app.catalog))
                .bearer_auth(&alice),
        ),
        (
            "a forged token",
            client
                .get(format!("{}/api/v1/videos/{id}", app.catalog))
                .bearer_auth(format!("{alice}x")),
        ),
        (
            "a token as big as a header may be",
            client
                .get(format!("{}/api/v1/me", app.catalog))
                .bearer_auth("e".repeat(30 * 1024)),
        ),
    ];
    for (what, request) in cases {
        let response = request.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = response.status();
        assert!(status.is_client_error(), "{what}: {status}");
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(kind, "application/problem+json", "{what}: {status}");
    }
    assert_eq!(app.get(Some(&alice), "/api/v1/videos").await.status(), StatusCode::OK);
}

/// A body that stops arriving ends after 30 s of silence with 408, whatever the
/// endpoint: a JSON body and a multipart upload alike.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_body_that_stops_arriving_gets_408(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    let stalled = |first: &'static str| {
        let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes::Bytes::from(first)) })
            .chain(futures_util::stream::pending());
        reqwest::Body::wrap_stream(stream)
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(90))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let json = client
        .post(format!("{}/api/v1/communities", app.catalog))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body(stalled("{\"name\": \"Rust"))
        .send();
    let multipart = client
        .post(format!("{}/api/v1/videos", app.upload))
        .bearer_auth(&alice)
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body(stalled("--XYZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nStalled\r\n--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\n\x00\x00"))
        .send();
    let (json, multipart) = tokio::join!(json, multipart);
    for (what, response) in [("json", json), ("multipart", multipart)] {
        let response = response.unwrap_or_else(|e| panic!("{what}: {e}"));
        let body = assert_problem(response, StatusCode::REQUEST_TIMEOUT, "request_timeout").await;
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains("30 s")),
            "{what}: {body}"
        );
    }
}

/// A signed media link serves the published playback files only: not the source nor
/// what an upload keeps beside it (`source.pending-N`), even when they exist.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_media_link_serves_playback_files_only(_: PgPoolOptions, db: PgConnectOptions) {
    let mut app = TestApp::spawn(&db, Backend::Local, |s| s.upload.keep_source = true).await;
    let alice = token("alice", &[]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = ready_video(&mut app, &alice, dir.path()).await;
    let pending = dir.path().join("pending");
    std::fs::write(&pending, b"the tail of someone's upload").unwrap_or_else(|e| panic!("{e}"));
    let key = skillreel_storage::ObjectKey::parse(&format!("videos/{id}/source.pending-5242880"))
        .unwrap_or_else(|e| panic!("{e}"));
    app.storage()
        .await
        .put_file(&key, &pending, "application/octet-stream")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let video: serde_json::Value = app.get_video(&alice, &id).await.json().await.unwrap_or_default();
    let master = video["playback"]["hls"].as_str().unwrap_or_default().to_owned();
    assert!(master.ends_with("/media/master.m3u8"), "{master}");
    let get = |url: String| app.client.get(url).send();
    let served = get(master.clone()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(served.status(), StatusCode::OK);
    for file in ["source.pending-5242880", "source", "media/../source"] {
        let url = master.replace("media/master.m3u8", file);
        let response = get(url).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{file}");
    }
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_nul_in_free_text_is_never_a_500(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let alice = token("alice", &[]);
    // Every free-text query parameter, each with a NUL PostgreSQL cannot store.
    let paths = [
        "/api/v1/videos?q=rust%00",
        "/api/v1/videos?tag=rust%00",
        "/api/v1/journeys?q=rust%00",
        "/api/v1/journeys?skill=rust%00",
        "/api/v1/people?skill=rust%00",
        "/api/v1/requests?q=rust%00",
        "/api/v1/federation/videos?q=rust%00",
        "/api/v1/federation/videos?origin=a.example%00",
        "/api/v1/leaderboard?scope=team&team=a%00",
        "/api/v1/teams/a%00/progress",
    ];
    for path in paths {
        let response = app
            .client
            .get(format!("{}{path}", app.catalog))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status();
        // A NUL may end a word (search), fail a parameter's check (400, 422), or reach
        // PostgreSQL, which refuses it; never a 500.
        assert!(!status.is_server_error(), "{path}: {status}");
    }
    // Where it reaches PostgreSQL, the refusal is the client's: 400, saying why.
    let response = app
        .client
        .get(format!("{}/api/v1/federation/videos?q=rust%00", app.catalog))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let problem = assert_problem(response, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("cannot be stored")),
        "{problem}"
    );
}
