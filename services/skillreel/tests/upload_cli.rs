//! `skillreel upload`: interrupted, run again, resumed; the stored file is identical.

use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_skillreel");

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_interrupted_upload_resumes_where_it_stopped(
    _: sqlx::postgres::PgPoolOptions,
    db: sqlx::postgres::PgConnectOptions,
) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let media = dir.path().join("media");
    let settings = skillreel_testkit::settings(
        &skillreel_testkit::database_url(&db),
        skillreel_testkit::Store::Local(&media),
    );
    let app = skillreel_upload::Application::build(settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let server = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let file = dir.path().join("talk.mp4");
    let mut bytes = skillreel_testkit::fixtures::mp4_prefixed(0, 0);
    bytes.extend((0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
    std::fs::write(&file, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let token = skillreel_testkit::token("alice", &[]);
    let run = |extra: &'static [&'static str]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("upload")
            .arg(&file)
            .args([
                "--title",
                "Interrupted talk",
                "--tags",
                "cli",
                "--server",
                &server,
                "--token",
                &token,
            ])
            .args(["--chunk-size", "1000000", "--state-dir"])
            .arg(dir.path().join("state"))
            .args(extra);
        cmd
    };

    let first = run(&["--stop-after-chunks", "2"])
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        first.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = run(&[]).output().await.unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(stderr.contains("resuming at 2000000 of 3000024 bytes"), "{stderr}");
    assert!(
        stderr.contains("MB/s") && stderr.contains("ETA"),
        "no progress shown: {stderr}"
    );

    let video = String::from_utf8_lossy(&second.stdout).trim().to_owned();
    let stored = std::fs::read(media.join(format!("videos/{video}/source"))).unwrap_or_default();
    assert!(stored == bytes, "the stored file differs from the original");
    let state_files = std::fs::read_dir(dir.path().join("state"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(state_files, 0, "a finished upload is still remembered");
}
