//! The learning record: xAPI statements delivered to a real LRS (Ralph, started by
//! these tests from what the test command installs), accepted by it, read back through
//! its `GET /xAPI/statements`, through two outages and a resend, with nothing lost and
//! no statement twice; the video statements conform to the xAPI Video Profile
//! (`ralph validate`).

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use super::*;

const LRS_USER: &str = "skillreel";
const LRS_PASSWORD: &str = "lrs-secret-for-tests";

fn required_env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with scripts/test, which installs Ralph"))
}

/// Ralph on `port`, keeping its statements in `dir` (they survive a restart).
struct Ralph(Child);

impl Ralph {
    async fn start(port: u16, dir: &std::path::Path) -> Self {
        let mut child = Command::new(required_env("SKILLREEL_TEST_RALPH_PYTHON"))
            .arg(required_env("SKILLREEL_TEST_RALPH_SERVER"))
            .arg(port.to_string())
            .arg(dir)
            .args([LRS_USER, LRS_PASSWORD])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Ralph: {e}"));
        let client = reqwest::Client::new();
        for _ in 0..150 {
            let up = client
                .get(format!("http://127.0.0.1:{port}/__heartbeat__"))
                .send()
                .await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return Self(child);
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("Ralph exited at start: {status}");
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("Ralph did not start on port {port}");
    }

    fn stop(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Ralph {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Waits (at most 60 s) until `sql` counts at least `want`.
async fn until_count(o: &Org, sql: &str, want: i64) {
    for _ in 0..600 {
        if o.count(sql).await >= want {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("`{sql}` never reached {want} (at {})", o.count(sql).await);
}

/// A viewing with every moment the Video Profile reports: open, play 0 → 20 s, pause,
/// seek to 22 s, play to the end (28 of 30 s: complete), close.
async fn view_with_every_moment(o: &Org, who: &str, video: Uuid) {
    let session = Uuid::now_v7();
    let beats = [
        (0.0, true, 0),
        (10.0, true, 10),
        (20.0, true, 10),
        (20.0, false, 1),
        (22.0, false, 5),
        (22.0, true, 1),
        (30.0, true, 8),
    ];
    for (sequence, (position, playing, wait)) in beats.into_iter().enumerate() {
        o.app.clock.advance(Duration::seconds(wait));
        let r = o.beat(who, video, session, sequence as i64, position, playing).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    o.app.clock.advance(Duration::seconds(1));
    let closed = o
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/progress"),
            who,
            Some(json!({ "session_id": session, "sequence": 9, "position": 30.0, "playing": false, "ended": true })),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::OK);
}

/// Every statement the LRS holds, following its `more` links.
async fn lrs_statements(port: u16) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    let mut next = "/xAPI/statements?limit=100".to_owned();
    while !next.is_empty() {
        let page: Value = client
            .get(format!("http://127.0.0.1:{port}{next}"))
            .basic_auth(LRS_USER, Some(LRS_PASSWORD))
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_default();
        out.extend(page["statements"].as_array().cloned().unwrap_or_default());
        next = page["more"].as_str().unwrap_or_default().to_owned();
    }
    out
}

fn ids(statements: &[Value]) -> Vec<String> {
    statements
        .iter()
        .map(|s| s["id"].as_str().unwrap_or_default().to_lowercase())
        .collect()
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn statements_reach_a_real_lrs_through_outages_without_loss_or_duplicates(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let (port, data) = (free_port(), tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")));
    let o = org(&db, |s| {
        s.xapi.endpoint = Some(format!("http://127.0.0.1:{port}/xAPI/"));
        s.xapi.username = LRS_USER.into();
        s.xapi.password = LRS_PASSWORD.to_owned().into();
        s.xapi.home_page = "https://skillreel.test".into();
        s.xapi.retry_max_seconds = 1;
        s.xapi.poll_ms = 50;
        s.xapi.batch_size = 4;
    })
    .await;
    let video = o.video("alice", "Statements", 30).await;

    // The LRS is down: statements are kept and attempted, none is lost.
    view_with_every_moment(&o, &o.bea, video).await;
    let first = o
        .count("select count(*) from domain_event where kind like 'video.%' and kind <> 'video.published'")
        .await;
    assert_eq!(
        first, 8,
        "initialized, played, paused, seeked, played, completed, paused and terminated on closing"
    );
    until_count(&o, "select count(*) from xapi_statement where attempts > 0", first).await;
    assert_eq!(
        o.count("select count(*) from xapi_statement where forwarded_at is not null")
            .await,
        0
    );

    let ralph = Ralph::start(port, data.path()).await;
    until_count(
        &o,
        "select count(*) from xapi_statement where forwarded_at is not null",
        first,
    )
    .await;
    ralph.stop();

    // Down again: more learning, a comment, a question and a like.
    view_with_every_moment(&o, &o.ivan, video).await;
    for (body, question) in [("Nice", false), ("Why 90 %?", true)] {
        let r = o
            .call(
                Method::POST,
                &format!("/api/v1/videos/{video}/comments"),
                &o.ivan,
                Some(json!({ "body": body, "question": question })),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let liked = o
        .call(Method::PUT, &format!("/api/v1/videos/{video}/like"), &o.ivan, None)
        .await;
    assert_eq!(liked.status(), StatusCode::OK);
    let all = first * 2 + 3;
    until_count(
        &o,
        "select count(*) from xapi_statement where forwarded_at is null and attempts > 0",
        all - first,
    )
    .await;
    // As if a replica stopped after the LRS stored a batch but before marking it sent.
    sqlx::query("update xapi_statement set forwarded_at = null where id in (select id from xapi_statement where forwarded_at is not null limit 3)")
        .execute(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let _ralph = Ralph::start(port, data.path()).await;
    until_count(
        &o,
        "select count(*) from xapi_statement where forwarded_at is not null",
        all,
    )
    .await;
    assert_eq!(o.count("select count(*) from xapi_statement").await, all);

    // The LRS holds each statement exactly once, and exactly ours.
    let stored = lrs_statements(port).await;
    let theirs = ids(&stored);
    let unique: HashSet<&String> = theirs.iter().collect();
    assert_eq!(unique.len(), theirs.len(), "a statement is in the LRS twice");
    let ours: HashSet<String> = sqlx::query_scalar::<_, Uuid>("select id from xapi_statement")
        .fetch_all(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    assert_eq!(unique.into_iter().cloned().collect::<HashSet<_>>(), ours);
    let verbs: HashSet<&str> = stored.iter().filter_map(|s| s["verb"]["id"].as_str()).collect();
    for verb in [
        "http://adlnet.gov/expapi/verbs/initialized",
        "https://w3id.org/xapi/video/verbs/played",
        "https://w3id.org/xapi/video/verbs/paused",
        "https://w3id.org/xapi/video/verbs/seeked",
        "http://adlnet.gov/expapi/verbs/completed",
        "http://adlnet.gov/expapi/verbs/terminated",
        "http://adlnet.gov/expapi/verbs/commented",
        "http://adlnet.gov/expapi/verbs/asked",
        "https://skillreel.dev/xapi/verbs/liked",
    ] {
        assert!(verbs.contains(verb), "no {verb} in {verbs:?}");
    }

    // The video statements conform to the xAPI Video Profile.
    let video_lines: Vec<String> = stored
        .iter()
        .filter(|s| s["object"]["definition"]["type"] == "https://w3id.org/xapi/video/activity-type/video")
        .filter(|s| s["context"]["extensions"].is_object())
        .map(|s| {
            let mut s = s.clone();
            if let Some(o) = s.as_object_mut() {
                o.remove("stored");
                o.remove("authority");
            }
            s.to_string()
        })
        .collect();
    assert_eq!(video_lines.len(), 16, "two viewings of 8 moments each");
    let mut validate = Command::new(required_env("SKILLREEL_TEST_RALPH_CLI"))
        .args(["validate", "-f", "xapi"])
        .env("RALPH_RUNSERVER_BACKEND", "fs")
        .current_dir(data.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = validate.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(video_lines.join("\n").as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let output = validate.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "ralph validate refused our video statements:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Admins read the same record here, by person and verb.
    let bea = r#"{"account":{"homePage":"https://skillreel.test","name":"bea"}}"#;
    let path = format!(
        "/api/v1/xapi/statements?limit=500&agent={}&verb={}",
        urlencode(bea),
        urlencode("https://w3id.org/xapi/video/verbs/paused")
    );
    let here = o.ok(Method::GET, &path, &o.admin, None, StatusCode::OK).await;
    let bea_paused = here["statements"].as_array().cloned().unwrap_or_default();
    assert_eq!(bea_paused.len(), 2, "at 20 s, and on closing: {here}");
    assert_eq!(
        bea_paused[1]["result"]["extensions"]["https://w3id.org/xapi/video/extensions/played-segments"],
        "0[.]20[,]22[.]30"
    );
    assert_eq!(bea_paused[0]["actor"]["account"]["name"], "bea");
    assert!(bea_paused[0]["stored"].is_string());
    let r = o.call(Method::GET, "/api/v1/xapi/statements", &o.maria, None).await;
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    // Paging: two at a time, every statement once.
    let mut seen = Vec::new();
    let mut next = "/api/v1/xapi/statements?limit=2".to_owned();
    while !next.is_empty() {
        let page = o.ok(Method::GET, &next, &o.admin, None, StatusCode::OK).await;
        seen.extend(ids(page["statements"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()));
        next = page["more"].as_str().unwrap_or_default().to_owned();
    }
    assert_eq!(seen.len() as i64, all);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len() as i64, all);
}

fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
