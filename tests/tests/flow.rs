//! One video from upload to playback through the separate services, and what must
//! not happen along the way.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use skillreel_testkit::fixtures::{self, VideoSpec};
use skillreel_testkit::token;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::{Backend, TestApp, assert_problem};

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_720p_video_goes_from_upload_to_playback_on_s3(_: PgPoolOptions, db: PgConnectOptions) {
    let mut app = TestApp::spawn(&db, Backend::S3, |s| s.transcoder.ladder = vec![240, 720]).await;
    app.start_transcoder().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "git-rebase.mp4", VideoSpec::landscape(1280, 720, 10.0));
    let alice = token("alice", &[]);

    let response = app
        .post_video(
            Some(&alice),
            Some(&src),
            &[("title", "Git rebase in 10 s"), ("tags", "git, Rust")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap_or_default();
    assert_eq!(created["status"], "processing");
    assert_eq!(created["tags"], serde_json::json!(["git", "rust"]));
    let id = created["id"].as_str().unwrap_or_default().to_owned();

    let video = app.settled(&alice, &id).await;
    assert_eq!(video["status"], "ready", "{video}");
    assert_eq!(video["duration_seconds"].as_f64().map(f64::round), Some(10.0));
    assert_eq!(
        (video["width"].as_i64(), video["height"].as_i64()),
        (Some(1280), Some(720))
    );

    // The master playlist opens in ffprobe straight from its URL, no header needed.
    let hls = video["playback"]["hls"].as_str().unwrap_or_default();
    let url = hls.to_owned();
    let streams = tokio::task::spawn_blocking(move || fixtures::ffprobe_streams(&url))
        .await
        .unwrap_or_default();
    for expected in [("h264", 1280, 720), ("h264", 426, 240), ("aac", 0, 0)] {
        assert!(
            streams.iter().any(|s| (s.0.as_str(), s.1, s.2) == expected),
            "{expected:?} not in {streams:?}"
        );
    }

    // The thumbnail is a real JPEG, and media URLs honour ranges.
    let thumbnail = video["thumbnail"].as_str().unwrap_or_default();
    let jpeg = app.client.get(thumbnail).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        jpeg.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("image/jpeg")
    );
    let bytes = jpeg.bytes().await.unwrap_or_default();
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF]);
    let partial = app
        .client
        .get(thumbnail)
        .header("Range", "bytes=2-9")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(partial.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        partial.headers().get("content-range").and_then(|v| v.to_str().ok()),
        Some(format!("bytes 2-9/{}", bytes.len()).as_str())
    );
    assert_eq!(partial.bytes().await.unwrap_or_default(), bytes[2..10]);
    let beyond = app
        .client
        .get(thumbnail)
        .header("Range", format!("bytes={}-", bytes.len()))
        .send()
        .await;
    assert_eq!(beyond.map(|r| r.status()).ok(), Some(StatusCode::RANGE_NOT_SATISFIABLE));

    let small = video["thumbnail_small"].as_str().unwrap_or_default();
    let small = app
        .client
        .get(small)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .bytes()
        .await
        .unwrap_or_default();
    assert_eq!(&small[..3], &[0xFF, 0xD8, 0xFF], "the small poster is not a JPEG");
    assert!(small.len() < bytes.len());

    // Others see it only once its author publishes it; then they may play it.
    let bob = token("bob", &[]);
    assert_problem(app.get_video(&bob, &id).await, StatusCode::NOT_FOUND, "not_found").await;
    let published = app
        .client
        .post(format!("{}/api/v1/videos/{id}/publish", app.catalog))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(published.status(), StatusCode::OK);
    let seen: Value = app.get_video(&bob, &id).await.json().await.unwrap_or_default();
    assert_eq!(seen["status"], "published");
    assert!(seen["playback"]["hls"].is_string());
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_non_video_and_a_truncated_mp4_end_failed_with_reasons(_: PgPoolOptions, db: PgConnectOptions) {
    let mut app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    app.start_transcoder().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = fixtures::fake_mp4(dir.path(), "minutes.mp4");
    let good = fixtures::video(dir.path(), "good.mp4", VideoSpec::landscape(320, 240, 3.0));
    let cut = fixtures::truncated(&good, dir.path(), "cut.mp4", 0.5);
    let alice = token("alice", &[]);
    for file in [&text, &cut] {
        let id = app.upload(&alice, file, "Broken").await;
        let video = app.settled(&alice, &id).await;
        assert_eq!(video["status"], "failed", "{video}");
        let reason = video["failure_reason"].as_str().unwrap_or_default();
        assert!(
            reason.starts_with("the file is not a video we can read") || reason.contains("damaged"),
            "{reason}"
        );
        assert!(video["playback"].is_null());
    }
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn nobody_reads_another_persons_processing_or_failed_video(_: PgPoolOptions, db: PgConnectOptions) {
    let mut app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bob = token("bob", &[]);
    let alice = token("alice", &["manager", "moderator"]);
    let good = fixtures::video(dir.path(), "draft.mp4", VideoSpec::landscape(320, 240, 2.0));
    let text = fixtures::fake_mp4(dir.path(), "x.mp4");
    let processing = app.upload(&bob, &good, "Draft").await;
    let failing = app.upload(&bob, &text, "Broken").await;

    // While processing (no transcoder yet): the owner sees it, nobody else does.
    assert_eq!(app.get_video(&bob, &processing).await.status(), StatusCode::OK);
    assert_problem(
        app.get_video(&alice, &processing).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let listed: Value = app
        .get(Some(&alice), "/api/v1/videos")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "{listed}");

    app.start_transcoder().await;
    let failed = app.settled(&bob, &failing).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["failure_reason"].is_string());
    assert_problem(
        app.get_video(&alice, &failing).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Ready is still a draft: only its owner sees it, until it is published. Then
    // everyone does, and the owner's private details stay private.
    assert_eq!(app.settled(&bob, &processing).await["status"], "ready");
    assert_problem(
        app.get_video(&alice, &processing).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let published = app
        .client
        .post(format!("{}/api/v1/videos/{processing}/publish", app.catalog))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(published.status(), StatusCode::OK);
    let seen: Value = app
        .get_video(&alice, &processing)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(seen["status"], "published");
    assert!(
        seen["processing"].is_null() && seen["review_reason"].is_null(),
        "{seen}"
    );
    let admin = token("root", &["admin"]);
    assert_eq!(
        app.get_video(&admin, &failing).await.status(),
        StatusCode::OK,
        "admins see everything"
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn media_links_cannot_be_forged_or_reused_for_another_video(_: PgPoolOptions, db: PgConnectOptions) {
    let mut app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    app.start_transcoder().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "a.mp4", VideoSpec::landscape(320, 240, 2.0));
    let alice = token("alice", &[]);
    let (a, b) = (app.upload(&alice, &src, "A").await, app.upload(&alice, &src, "B").await);
    let (va, vb) = (app.settled(&alice, &a).await, app.settled(&alice, &b).await);
    let hls_a = va["playback"]["hls"].as_str().unwrap_or_default();
    let hls_b = vb["playback"]["hls"].as_str().unwrap_or_default();
    assert_eq!(
        app.client.get(hls_a).send().await.map(|r| r.status()).ok(),
        Some(StatusCode::OK)
    );

    let token_a = hls_a.split('/').nth(7).unwrap_or_default();
    let token_b = hls_b.split('/').nth(7).unwrap_or_default();
    let cases = [
        (hls_b.replace(token_b, token_a), StatusCode::FORBIDDEN),
        (
            hls_a.replace(&token_a[token_a.len() - 4..], "0000"),
            StatusCode::FORBIDDEN,
        ),
        (hls_a.replace(token_a, "4102444800.00"), StatusCode::FORBIDDEN),
        (hls_a.replace("media/master.m3u8", "source"), StatusCode::NOT_FOUND),
        (
            hls_a.replace("media/master.m3u8", "media/../source"),
            StatusCode::NOT_FOUND,
        ),
        (hls_a.replace("master.m3u8", "nothing.m3u8"), StatusCode::NOT_FOUND),
    ];
    for (url, status) in cases {
        let response = app.client.get(&url).send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), status, "{url}");
    }
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_list_is_newest_first_and_paginates_with_a_cursor(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = fixtures::fake_mp4(dir.path(), "a.mp4");
    let alice = token("alice", &[]);
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.upload(&alice, &file, &format!("Video {n}")).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/me/videos?limit=2&cursor={c}"),
            None => "/api/v1/me/videos?limit=2".into(),
        };
        let page: Value = app.get(Some(&alice), &path).await.json().await.unwrap_or_default();
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 2);
        seen.extend(items.iter().filter_map(|v| v["id"].as_str().map(str::to_owned)));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        // A video uploaded mid-pagination appears on no later page (it is newer).
        if seen.len() == 2 {
            app.upload(&alice, &file, "Late").await;
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_admin_lists_failed_jobs_and_retries_one(_: PgPoolOptions, db: PgConnectOptions) {
    let app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let alice = token("alice", &[]);
    let id = app
        .upload(&alice, &fixtures::fake_mp4(dir.path(), "a.mp4"), "Retry me")
        .await;
    // The job ran out of attempts (no transcoder here: set the dead-letter state directly).
    let pool = PgPoolOptions::new()
        .connect_with(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("update job set status = 'failed', attempts = 5, last_error = 'storage unavailable'")
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("update video set status = 'failed', failure_reason = 'processing failed 5 times'")
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_problem(
        app.get(Some(&alice), "/api/v1/admin/jobs").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let admin = token("ops", &["admin"]);
    let bad = app.get(Some(&admin), "/api/v1/admin/jobs?status=lost").await;
    assert_problem(bad, StatusCode::BAD_REQUEST, "bad_request").await;
    let failed: Value = app
        .get(Some(&admin), "/api/v1/admin/jobs?status=failed")
        .await
        .json()
        .await
        .unwrap_or_default();
    let jobs = failed["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(jobs.len(), 1, "{failed}");
    assert_eq!(
        (jobs[0]["last_error"].as_str(), jobs[0]["payload"]["video_id"].as_str()),
        (Some("storage unavailable"), Some(id.as_str()))
    );

    let job = jobs[0]["id"].as_str().unwrap_or_default();
    let retry = |who: &str| {
        app.client
            .post(format!("{}/api/v1/admin/jobs/{job}/retry", app.catalog))
            .bearer_auth(who.to_owned())
            .send()
    };
    assert_problem(
        retry(&alice).await.unwrap_or_else(|e| panic!("{e}")),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(retry(&admin).await.map(|r| r.status()).ok(), Some(StatusCode::OK));
    let video: Value = app.get_video(&alice, &id).await.json().await.unwrap_or_default();
    assert_eq!(video["status"], "processing");
    assert!(video["failure_reason"].is_null());
    let queued: Value = app
        .get(Some(&admin), "/api/v1/admin/jobs?status=queued")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(queued["items"][0]["attempts"], 0);
    // Only a failed job can be retried.
    assert_problem(
        retry(&admin).await.unwrap_or_else(|e| panic!("{e}")),
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_author_is_told_when_a_video_is_ready_and_may_delete_it(_: PgPoolOptions, db: PgConnectOptions) {
    let mut app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    app.start_transcoder().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "tip.mp4", VideoSpec::landscape(640, 360, 3.0));
    let (alice, bob, admin) = (token("alice", &[]), token("bob", &[]), token("root", &["admin"]));
    let id = app.upload(&alice, &src, "A quick tip").await;
    let video = app.settled(&alice, &id).await;
    assert_eq!(video["status"], "ready", "{video}");
    // The author sees how processing went; others do not.
    assert_eq!(video["processing"]["progress"], 1.0, "{video}");
    assert!(
        video["processing"]["time_to_complete_seconds"].as_f64() > Some(0.0),
        "{video}"
    );
    let published = app
        .client
        .post(format!("{}/api/v1/videos/{id}/publish", app.catalog))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(published.status(), StatusCode::OK);
    let seen: Value = app.get_video(&bob, &id).await.json().await.unwrap_or_default();
    assert_eq!(seen["status"], "published", "{seen}");
    assert!(seen["processing"].is_null(), "{seen}");

    // The storyboard index is reachable through the signed URL, and so is its sprite.
    let vtt_url = video["playback"]["storyboard"].as_str().unwrap_or_default().to_owned();
    let vtt = app.client.get(&vtt_url).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vtt.status(), StatusCode::OK);
    let vtt = vtt.text().await.unwrap_or_default();
    assert!(vtt.starts_with("WEBVTT"), "{vtt}");
    let sprite_url = vtt_url.replace("storyboard.vtt", "storyboard.jpg");
    let sprite = app
        .client
        .get(&sprite_url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sprite.status(), StatusCode::OK);

    // The inbox says so; reading it clears the badge; nobody reads another's inbox.
    let inbox: Value = app
        .get(Some(&alice), "/api/v1/me/inbox")
        .await
        .json()
        .await
        .unwrap_or_default();
    // Recognition's first-video badge may be there too, arriving in its own time.
    let not_badges = |inbox: &Value| -> Vec<Value> {
        inbox["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| n["kind"] != "badge")
            .cloned()
            .collect()
    };
    let told = not_badges(&inbox);
    assert_eq!(told.len(), 1, "{inbox}");
    assert_eq!(told[0]["read_at"], Value::Null);
    assert_eq!(told[0]["kind"], "video_ready");
    assert_eq!(told[0]["video_id"], id.as_str());
    assert_eq!(told[0]["payload"]["title"], "A quick tip");
    let note = told[0]["id"].as_str().unwrap_or_default().to_owned();
    let mark = |who: &str| {
        app.client
            .post(format!("{}/api/v1/me/inbox/{note}/read", app.catalog))
            .bearer_auth(who.to_owned())
            .send()
    };
    assert_problem(
        mark(&bob).await.unwrap_or_else(|e| panic!("{e}")),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let marked = mark(&alice).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(marked.status(), StatusCode::NO_CONTENT);
    let unread: Value = app
        .get(Some(&alice), "/api/v1/me/inbox?unread=true")
        .await
        .json()
        .await
        .unwrap_or_default();
    let badges = unread["items"].as_array().map(Vec::len).unwrap_or_default() - not_badges(&unread).len();
    assert_eq!(
        (unread["unread"].as_i64(), not_badges(&unread).len()),
        (i64::try_from(badges).ok(), 0),
        "{unread}"
    );
    assert_problem(
        app.get(Some(&alice), "/api/v1/me/inbox?limit=0").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;

    // Someone else may not delete it; the author may, and then it is gone with its media.
    let delete = |who: &str| {
        app.client
            .delete(format!("{}/api/v1/videos/{id}", app.catalog))
            .bearer_auth(who.to_owned())
            .send()
    };
    assert_problem(
        delete(&bob).await.unwrap_or_else(|e| panic!("{e}")),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let deleted = delete(&alice).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for who in [&alice, &admin] {
        assert_problem(app.get_video(who, &id).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    let gone = app.client.get(&vtt_url).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_problem(
        delete(&alice).await.unwrap_or_else(|e| panic!("{e}")),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn captions_join_the_master_playlist_and_search(_: PgPoolOptions, db: PgConnectOptions) {
    let mut app = TestApp::spawn(&db, Backend::Local, |_| {}).await;
    app.start_transcoder().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "talk.mp4", VideoSpec::landscape(320, 240, 3.0));
    let alice = token("alice", &[]);
    let id = app.upload(&alice, &src, "A short talk").await;
    assert_eq!(app.settled(&alice, &id).await["status"], "ready");

    let put = |lang: &str, body: &'static str| {
        app.client
            .put(format!("{}/api/v1/videos/{id}/captions/{lang}", app.catalog))
            .bearer_auth(&alice)
            .body(body)
            .send()
    };
    let srt = "1\r\n00:00:00,500 --> 00:00:02,500\r\nIdempotency keys matter\r\n";
    let r = put("en", srt).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = put("en", srt).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::OK, "a second upload replaces the first");
    for (lang, body, code) in [
        (
            "english",
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n",
            "validation_failed",
        ),
        ("de", "this is not a caption file", "validation_failed"),
        (
            "de",
            "WEBVTT\n\n00:10:00.000 --> 00:10:02.000\nafter the end\n",
            "validation_failed",
        ),
    ] {
        assert_problem(
            put(lang, body).await.unwrap_or_else(|e| panic!("{e}")),
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
    }

    // The master playlist offers them; ffprobe reads the subtitle track.
    let video = app.settled(&alice, &id).await;
    let hls = video["playback"]["hls"].as_str().unwrap_or_default().to_owned();
    let master = app
        .client
        .get(&hls)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        master.contains("#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"en\",LANGUAGE=\"en\""),
        "{master}"
    );
    assert!(master.contains(",SUBTITLES=\"subs\"\n"), "{master}");
    let subtitles = app
        .client
        .get(hls.replace("master.m3u8", "captions/en.m3u8"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        subtitles.contains("#EXTINF:3.") && subtitles.contains("\nen.vtt\n"),
        "{subtitles}"
    );
    let listed: Value = app
        .get(Some(&alice), &format!("/api/v1/videos/{id}/captions"))
        .await
        .json()
        .await
        .unwrap_or_default();
    let vtt_url = listed[0]["url"].as_str().unwrap_or_default().to_owned();
    let vtt = app
        .client
        .get(&vtt_url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert_eq!(
        vtt,
        "WEBVTT\n\n00:00:00.500 --> 00:00:02.500\nIdempotency keys matter\n"
    );

    // Once published, what is said in the video finds it.
    let r = app
        .client
        .post(format!("{}/api/v1/videos/{id}/publish", app.catalog))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::OK);
    let found: Value = app
        .get(Some(&token("bob", &[])), "/api/v1/videos?q=idempotency")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(found["items"][0]["id"], id.as_str(), "{found}");
}
