//! `skillreel dev` as a newcomer runs it: the real binary, its own PostgreSQL cluster,
//! a token from `skillreel token`, one video through, then Ctrl-C.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use skillreel_testkit::fixtures::{self, VideoSpec};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_skillreel");

#[tokio::test]
async fn dev_runs_everything_on_a_private_cluster_and_stops_it_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // PostgreSQL runs as the postgres user when we are root: let it in.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let mut child = Command::new(BIN)
        .args(["dev", "--port", "0", "--data-dir"])
        .arg(&data)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("listening on ").nth(1) {
                return rest.split_whitespace().next().map(str::to_owned);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_else(|| panic!("skillreel dev never said where it listens"));
    assert!(
        data.join("postgres/PG_VERSION").exists(),
        "no cluster under DATA_DIR/postgres"
    );

    let token = Command::new(BIN)
        .args(["token", "--sub", "alice", "--name", "Alice", "--data-dir"])
        .arg(&data)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(token.status.success());
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();

    let src = fixtures::video(dir.path(), "clip.mp4", VideoSpec::landscape(640, 360, 3.0));
    let client = reqwest::Client::new();
    let form = reqwest::multipart::Form::new().text("title", "First video").part(
        "file",
        reqwest::multipart::Part::bytes(std::fs::read(&src).unwrap_or_default()).file_name("clip.mp4"),
    );
    let created: Value = client
        .post(format!("{url}/api/v1/videos"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    let id = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {created}"))
        .to_owned();

    let mut video = Value::Null;
    for _ in 0..240 {
        video = client
            .get(format!("{url}/api/v1/videos/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_default();
        if video["status"] != "processing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(video["status"], "ready", "{video}");
    let master = client
        .get(video["playback"]["hls"].as_str().unwrap_or_default())
        .send()
        .await;
    let master = master
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        master.starts_with("#EXTM3U") && master.contains("RESOLUTION=640x360"),
        "{master}"
    );

    // Ctrl-C: the server stops, and so does its cluster.
    let pid = child.id().unwrap_or_default().to_string();
    let interrupted = Command::new("kill").args(["-INT", &pid]).status().await;
    assert!(interrupted.map(|s| s.success()).unwrap_or(false));
    let exited = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    assert!(
        exited.is_ok_and(|s| s.is_ok_and(|s| s.success())),
        "skillreel dev did not exit cleanly"
    );
    assert!(
        !data.join("postgres/postmaster.pid").exists(),
        "PostgreSQL still running"
    );
}
