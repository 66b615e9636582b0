//! Workers against a real database, real storage and real video files.

use std::sync::Arc;
use std::time::Duration;

use skillreel_contracts::{TRANSCODE_QUEUE, TranscodeRequest};
use skillreel_db::users::{self, UserClaims};
use skillreel_db::videos::{self, NewVideo, VideoRecord};
use skillreel_domain::{Roles, VideoId, VideoStatus};
use skillreel_storage::{LocalStore, ObjectKey, Storage};
use skillreel_testkit::fixtures::{self, VideoSpec};
use skillreel_transcoder::{CancellationToken, Worker, WorkerSettings, spawn_worker};
use sqlx::PgPool;

struct Fixture {
    pool: PgPool,
    storage: Arc<dyn Storage>,
    settings: WorkerSettings,
    dir: tempfile::TempDir,
}

async fn fixture(pool: PgPool) -> Fixture {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage: Arc<dyn Storage> = Arc::new(
        LocalStore::new(&dir.path().join("media"))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let config = skillreel_testkit::settings("unused", skillreel_testkit::Store::Local(dir.path())).transcoder;
    Fixture {
        pool,
        storage,
        settings: WorkerSettings::from(&config),
        dir,
    }
}

impl Fixture {
    /// Stores `file` as an upload of a fresh user's and enqueues its transcode.
    async fn upload(&self, file: &std::path::Path) -> VideoId {
        let mut conn = self.pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
        let claims = UserClaims {
            subject: format!("user-{}", uuid::Uuid::new_v4()),
            name: "Uploader".into(),
            email: None,
            roles: Roles::from_claims(["employee"]),
            manager_subject: None,
            team: None,
        };
        let owner = users::provision(&mut conn, &claims)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let id = VideoId::new();
        let key = ObjectKey::parse(&format!("videos/{id}/source")).unwrap_or_else(|e| panic!("{e}"));
        self.storage
            .put_file(&key, file, "video/mp4")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let new = NewVideo {
            id,
            owner_id: owner.id,
            title: "A video",
            description: "",
            tags: &[],
            source_key: key.as_str(),
            source_size: 1,
            source_filename: None,
        };
        // What the upload service does when an upload completes: the video and its
        // job, in one transaction.
        let mut tx = self.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
        videos::insert(&mut tx, &new, VideoStatus::Processing)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        skillreel_queue::enqueue(&mut tx, TRANSCODE_QUEUE, &TranscodeRequest { video_id: id }, 3)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        id
    }

    fn worker(&self) -> (CancellationToken, tokio::task::JoinHandle<()>) {
        let shutdown = CancellationToken::new();
        let worker = Worker::new(self.pool.clone(), self.storage.clone(), self.settings.clone());
        (shutdown.clone(), spawn_worker(worker, shutdown))
    }

    async fn video(&self, id: VideoId) -> VideoRecord {
        let mut conn = self.pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
        videos::find(&mut conn, id)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("video {id} missing"))
    }

    /// Runs a worker until the video leaves `processing` (bounded), then stops it.
    async fn transcode(&self, id: VideoId) -> VideoRecord {
        let (stop, handle) = self.worker();
        let video = self.settled(id).await;
        stop.cancel();
        let _ = handle.await;
        video
    }

    /// Waits (bounded) until the video leaves `processing`.
    async fn settled(&self, id: VideoId) -> VideoRecord {
        for _ in 0..240 {
            let v = self.video(id).await;
            if v.status != VideoStatus::Processing {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("video {id} still processing after 60 s");
    }

    /// `(kind, reason)` of the notifications about a video, in its owner's inbox.
    async fn inbox_of(&self, id: VideoId) -> Vec<(String, String)> {
        sqlx::query_as(
            "select kind, coalesce(payload ->> 'reason', '') from notification n \
             join video v on v.id = n.video_id and v.owner_id = n.user_id where n.video_id = $1",
        )
        .bind(id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    }

    async fn read(&self, key: &ObjectKey) -> String {
        let mut file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        self.storage
            .download_to(key, file.path())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut text = String::new();
        std::io::Read::read_to_string(file.as_file_mut(), &mut text).unwrap_or_else(|e| panic!("{e}"));
        text
    }

    async fn job_of(&self, id: VideoId) -> (String, i32, Option<String>) {
        sqlx::query_as("select status, attempts, last_error from job where payload ->> 'video_id' = $1")
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_video_is_transcoded_and_its_media_stored(pool: PgPool) {
    let f = fixture(pool).await;
    let src = fixtures::video(f.dir.path(), "a.mp4", VideoSpec::landscape(640, 360, 3.0));
    let id = f.upload(&src).await;
    let video = f.transcode(id).await;

    assert_eq!(video.status, VideoStatus::Ready, "{:?}", video.failure_reason);
    assert_eq!((video.width, video.height), (Some(640), Some(360)));
    assert!(video.duration_ms.is_some_and(|d| (2900..=3100).contains(&d)));
    assert_eq!(
        video.renditions.iter().map(|r| r.height).collect::<Vec<_>>(),
        vec![240, 360]
    );
    for key in [video.hls_key.as_deref(), video.thumbnail_key.as_deref()] {
        let key = ObjectKey::parse(key.unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(f.storage.size(&key).await.is_ok_and(|s| s > 0), "{key} missing");
    }
    assert_eq!(f.job_of(id).await, ("succeeded".into(), 1, None));
    // The original is kept by default, so the video can be transcoded again.
    let source = ObjectKey::parse(&format!("videos/{id}/source")).unwrap_or_else(|e| panic!("{e}"));
    assert!(f.storage.size(&source).await.is_ok());
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_original_is_deleted_after_transcoding_when_configured(pool: PgPool) {
    let mut f = fixture(pool).await;
    f.settings.keep_source = false;
    let src = fixtures::video(f.dir.path(), "a.mp4", VideoSpec::landscape(320, 240, 2.0));
    let id = f.upload(&src).await;
    let video = f.transcode(id).await;
    assert_eq!(video.status, VideoStatus::Ready);
    let source = ObjectKey::parse(&format!("videos/{id}/source")).unwrap_or_else(|e| panic!("{e}"));
    assert!(f.storage.size(&source).await.is_err(), "the original was kept");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_job_whose_worker_was_killed_is_claimed_again_and_finished_once(pool: PgPool) {
    let f = fixture(pool).await;
    let src = fixtures::video(f.dir.path(), "a.mp4", VideoSpec::landscape(320, 240, 2.0));
    let id = f.upload(&src).await;
    // A worker takes the job and dies at once: it never heartbeats, never finishes.
    let dead = skillreel_queue::claim(&f.pool, TRANSCODE_QUEUE, "killed-worker", Duration::from_secs(2))
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("nothing to claim"));

    let video = f.transcode(id).await;

    assert_eq!(video.status, VideoStatus::Ready, "{:?}", video.failure_reason);
    // Claimed twice (the dead attempt and the successful one), finished once.
    assert_eq!(f.job_of(id).await, ("succeeded".into(), 2, None));
    // The dead worker, if it came back, could not overwrite the outcome.
    let mut conn = f.pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!skillreel_queue::complete(&mut conn, &dead).await.unwrap_or(true));
}

/// The corrupt corpus: each file ends `failed` with its own readable reason, once
/// (bad media is not retried), its author is told, and the worker goes on to make a
/// good video ready.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn bad_media_fails_with_a_reason_and_the_worker_keeps_serving(pool: PgPool) {
    let f = fixture(pool).await;
    let d = f.dir.path();
    let good = fixtures::video(d, "good.mp4", VideoSpec::landscape(320, 240, 2.0));
    let empty = d.join("empty.mp4");
    std::fs::write(&empty, b"").unwrap_or_else(|e| panic!("{e}"));
    let corpus = [
        empty,
        fixtures::random_bytes(d, "random.mp4"),
        fixtures::truncated(&good, d, "cut.mp4", 0.6),
        fixtures::moov_cut(&good, d, "moov.mp4"),
        fixtures::image(d, "slide.mp4"),
        fixtures::audio_only(d, "podcast.mp4"),
        fixtures::text_file(d, "notes.mp4"),
        fixtures::long_video(d, "lecture.mp4", 20 * 60),
        fixtures::absurd_dimensions(d, "huge.mp4"),
    ];
    let mut ids = Vec::new();
    for file in &corpus {
        ids.push(f.upload(file).await);
    }
    let good_id = f.upload(&good).await;
    let (stop, handle) = f.worker();
    let mut reasons = std::collections::HashSet::new();
    for (file, id) in corpus.iter().zip(&ids) {
        let video = f.settled(*id).await;
        assert_eq!(video.status, VideoStatus::Failed, "{}", file.display());
        let reason = video.failure_reason.clone().unwrap_or_default();
        assert!(reason.len() > 15, "{}: {reason}", file.display());
        assert!(
            reasons.insert(reason.clone()),
            "{}: reason given twice: {reason}",
            file.display()
        );
        let (status, attempts, _) = f.job_of(*id).await;
        assert_eq!((status.as_str(), attempts), ("failed", 1), "{}", file.display());
        assert_eq!(f.inbox_of(*id).await, vec![("video_failed".to_owned(), reason)]);
    }
    let good = f.settled(good_id).await;
    stop.cancel();
    let _ = handle.await;
    assert_eq!(good.status, VideoStatus::Ready);
    assert_eq!(
        f.inbox_of(good_id).await,
        vec![("video_ready".to_owned(), String::new())]
    );
}

/// The author can watch before the ladder is done, and sees how long it all took.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_video_is_playable_before_it_is_ready_and_records_its_timings(pool: PgPool) {
    let f = fixture(pool).await;
    let src = fixtures::video(f.dir.path(), "talk.mp4", VideoSpec::landscape(1280, 720, 20.0));
    let id = f.upload(&src).await;
    let (stop, handle) = f.worker();
    // Watch for the moment the master playlist is in storage while still processing.
    let master = ObjectKey::parse(&format!("videos/{id}/media/master.m3u8")).unwrap_or_else(|e| panic!("{e}"));
    let mut seen_early = None;
    for _ in 0..600 {
        let v = f.video(id).await;
        if v.status != VideoStatus::Processing {
            break;
        }
        if v.playable_at.is_some() && seen_early.is_none() {
            let stored = f.storage.get(&master, None).await.is_ok();
            seen_early = Some((stored, v.hls_key.clone(), v.processing_progress));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let video = f.settled(id).await;
    stop.cancel();
    let _ = handle.await;
    let (stored, hls_key, _) = seen_early.unwrap_or_else(|| panic!("never playable before ready"));
    assert!(
        stored,
        "the master playlist was not in storage when the video was marked playable"
    );
    assert_eq!(hls_key.as_deref(), Some(master.as_str()));

    assert_eq!(video.status, VideoStatus::Ready);
    assert_eq!(video.processing_progress, Some(1.0));
    let (playable, complete) = (
        video.time_to_playable_ms.unwrap_or_default(),
        video.time_to_complete_ms.unwrap_or_default(),
    );
    assert!(playable > 0 && playable < complete, "{playable} ms vs {complete} ms");
    let storyboard = video.storyboard_key.clone().unwrap_or_default();
    assert_eq!(storyboard, format!("videos/{id}/media/storyboard.vtt"));
    for key in [storyboard, format!("videos/{id}/media/storyboard.jpg")] {
        let key = ObjectKey::parse(&key).unwrap_or_else(|e| panic!("{e}"));
        assert!(f.storage.size(&key).await.is_ok_and(|s| s > 0), "{key} missing");
    }
    let jobs = {
        let mut conn = f.pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
        skillreel_queue::list(&mut conn, None, 10).await.unwrap_or_default()
    };
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].time_to_playable_ms, jobs[0].time_to_complete_ms),
        (Some(playable), Some(complete))
    );
    // The stored rung playlists are the final ones.
    let rung = ObjectKey::parse(&format!("videos/{id}/media/360p/index.m3u8")).unwrap_or_else(|e| panic!("{e}"));
    let body = f.read(&rung).await;
    assert!(
        body.contains("#EXT-X-PLAYLIST-TYPE:VOD") && body.contains("#EXT-X-ENDLIST"),
        "{body}"
    );
}

/// Deleting a video cancels its job: the worker stops and leaves nothing behind.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn deleting_a_video_stops_its_transcode_and_removes_its_media(pool: PgPool) {
    let mut f = fixture(pool).await;
    f.settings.heartbeat = Duration::from_millis(200);
    let src = fixtures::video(f.dir.path(), "long.mp4", VideoSpec::landscape(1280, 720, 60.0));
    let id = f.upload(&src).await;
    let (stop, handle) = f.worker();
    // Wait until it runs, then delete it the way the catalog does.
    for _ in 0..200 {
        if f.job_of(id).await.0 == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let mut tx = f.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(videos::mark_removed(&mut tx, id).await.unwrap_or(false));
        assert_eq!(
            skillreel_queue::cancel_matching(&mut tx, TRANSCODE_QUEUE, "video_id", &id.to_string())
                .await
                .ok(),
            Some(1)
        );
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    }
    // The worker notices at its next heartbeat and cleans up after itself.
    let media = ObjectKey::parse(&format!("videos/{id}/source")).unwrap_or_else(|e| panic!("{e}"));
    let mut gone = false;
    for _ in 0..100 {
        let running: i64 = sqlx::query_scalar("select count(*) from job where status = 'running'")
            .fetch_one(&f.pool)
            .await
            .unwrap_or(1);
        if running == 0 && f.storage.size(&media).await.is_err() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    let _ = handle.await;
    assert!(gone, "the deleted video's files are still there");
    assert_eq!(f.job_of(id).await.0, "cancelled");
    assert_eq!(f.video(id).await.status, VideoStatus::Removed);
    let master = ObjectKey::parse(&format!("videos/{id}/media/master.m3u8")).unwrap_or_else(|e| panic!("{e}"));
    assert!(f.storage.size(&master).await.is_err());
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_missing_source_fails_the_video_with_a_reason(pool: PgPool) {
    let f = fixture(pool).await;
    let src = fixtures::video(f.dir.path(), "a.mp4", VideoSpec::landscape(320, 240, 2.0));
    let id = f.upload(&src).await;
    let key = ObjectKey::parse(&format!("videos/{id}/source")).unwrap_or_else(|e| panic!("{e}"));
    f.storage.delete_prefix(&key).await.unwrap_or_else(|e| panic!("{e}"));
    let video = f.transcode(id).await;
    assert_eq!(
        (video.status, video.failure_reason.as_deref()),
        (VideoStatus::Failed, Some("the uploaded file is missing"))
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_worker_shut_down_mid_job_hands_the_job_back(pool: PgPool) {
    let f = fixture(pool).await;
    let src = fixtures::video(f.dir.path(), "long.mp4", VideoSpec::landscape(1280, 720, 20.0));
    let id = f.upload(&src).await;
    let (stop, handle) = f.worker();
    // Wait until the job runs, then stop the worker.
    for _ in 0..100 {
        if f.job_of(id).await.0 == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    let _ = handle.await;
    let (status, attempts, _) = f.job_of(id).await;
    assert_eq!((status.as_str(), attempts), ("queued", 0), "the job was not released");
    assert_eq!(f.video(id).await.status, VideoStatus::Processing);
}

/// The media processes this test's workers started: children of this process working
/// in a folder under `dir` (other tests run their own workers in parallel).
fn media_children_under(dir: &std::path::Path) -> Vec<u32> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        panic!("no /proc");
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            parent == Some(me) && std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
        })
        .collect()
}

async fn wait_for_media_child(dir: &std::path::Path) -> u32 {
    for _ in 0..300 {
        if let Some(pid) = media_children_under(dir).first() {
            return *pid;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no media process started under {}", dir.display());
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(status.success(), "kill -s {name} {pid} failed");
}

/// A crash inside libav (here: the process killed by SIGKILL, aborting with SIGABRT,
/// or dying of SIGILL) ends that attempt only: the worker lives, the job is retried
/// and the video becomes ready. (Not SIGSEGV sent by `kill`: Rust's stack-overflow
/// handler catches a SEGV that no instruction caused and carries on; a real one in
/// libav kills the process like these do.)
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_crashed_media_process_fails_its_attempt_and_the_job_is_retried(pool: PgPool) {
    for sig in ["KILL", "ABRT", "ILL"] {
        let mut f = fixture(pool.clone()).await;
        let work = f.dir.path().join("work");
        f.settings.work_dir = Some(work.clone());
        let src = fixtures::video(f.dir.path(), "talk.mp4", VideoSpec::landscape(1280, 720, 20.0));
        let id = f.upload(&src).await;
        let (stop, handle) = f.worker();
        signal(wait_for_media_child(&work).await, sig);
        let video = f.settled(id).await;
        stop.cancel();
        let _ = handle.await;
        assert_eq!(video.status, VideoStatus::Ready, "{sig}: {:?}", video.failure_reason);
        let (status, attempts, _) = f.job_of(id).await;
        assert_eq!((status.as_str(), attempts), ("succeeded", 2), "{sig}");
        assert!(
            media_children_under(&work).is_empty(),
            "{sig}: a media process outlived its job"
        );
    }
}

/// The job timeout is enforced by killing the process, whatever libav is doing.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_transcode_past_the_job_timeout_is_killed_and_fails_with_a_reason(pool: PgPool) {
    let mut f = fixture(pool).await;
    let work = f.dir.path().join("work");
    f.settings.work_dir = Some(work.clone());
    f.settings.job_timeout = Duration::from_secs(1);
    let src = fixtures::video(f.dir.path(), "talk.mp4", VideoSpec::landscape(1280, 720, 20.0));
    let id = f.upload(&src).await;
    let (stop, handle) = f.worker();
    let video = f.settled(id).await;
    assert_eq!(video.status, VideoStatus::Failed);
    assert_eq!(
        video.failure_reason.as_deref(),
        Some("processing took longer than the limit of 1 s")
    );
    assert!(media_children_under(&work).is_empty(), "the killed process lingers");
    stop.cancel();
    let _ = handle.await;
    // A worker with a sane timeout makes the next video ready.
    f.settings.job_timeout = Duration::from_secs(600);
    let good = fixtures::video(f.dir.path(), "good.mp4", VideoSpec::landscape(320, 240, 2.0));
    let good = f.upload(&good).await;
    let good = f.transcode(good).await;
    assert_eq!(good.status, VideoStatus::Ready, "{:?}", good.failure_reason);
}

/// Box sizes that wrap a 64-bit sum (the 32-byte file that once spun a worker at 100 %
/// CPU for good) fail at once with a reason, and the next video still becomes ready.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn mp4_box_sizes_that_wrap_fail_fast_and_the_worker_keeps_serving(pool: PgPool) {
    let f = fixture(pool).await;
    let mut ids = Vec::new();
    for (name, bytes) in fixtures::wrapping_box_mp4s() {
        let path = f.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        ids.push((name, f.upload(&path).await));
    }
    let good = fixtures::video(f.dir.path(), "good.mp4", VideoSpec::landscape(320, 240, 2.0));
    let good = f.upload(&good).await;
    let (stop, handle) = f.worker();
    for (name, id) in ids {
        let video = f.settled(id).await;
        assert_eq!(video.status, VideoStatus::Failed, "{name}");
        assert!(
            video.failure_reason.as_deref().is_some_and(|r| r.len() > 15),
            "{name}: {:?}",
            video.failure_reason
        );
        assert_eq!(f.job_of(id).await.1, 1, "{name}: bad media is not retried");
    }
    let good = f.settled(good).await;
    stop.cancel();
    let _ = handle.await;
    assert_eq!(good.status, VideoStatus::Ready, "{:?}", good.failure_reason);
}

/// A header that says 2 s over 12 s of pictures does not get past a 5 s limit: the
/// decode stops at the limit and says so.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_file_that_lies_about_its_length_is_stopped_at_the_limit(pool: PgPool) {
    let mut f = fixture(pool).await;
    f.settings.limits.max_duration = Duration::from_secs(5);
    let liar = fixtures::lying_duration(f.dir.path(), "liar.flv", 12, 2.0);
    let id = f.upload(&liar).await;
    let video = f.transcode(id).await;
    assert_eq!(video.status, VideoStatus::Failed);
    let reason = video.failure_reason.unwrap_or_default();
    assert!(reason.contains("the limit is 5 s"), "{reason}");
}

/// The memory cap holds: a transcode that needs more than its process may have ends
/// that attempt (never the worker), and after the last attempt the author reads why.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_transcode_past_its_memory_cap_fails_with_a_reason_and_the_worker_lives_on(pool: PgPool) {
    let mut f = fixture(pool).await;
    f.settings.max_memory_mb = 48;
    let src = fixtures::video(f.dir.path(), "talk.mp4", VideoSpec::landscape(1280, 720, 4.0));
    let id = f.upload(&src).await;
    let video = f.transcode(id).await;
    assert_eq!(video.status, VideoStatus::Failed);
    let reason = video.failure_reason.unwrap_or_default();
    assert!(reason.starts_with("processing failed"), "{reason}");
    assert!(
        !reason.contains("signal") && !reason.contains("database"),
        "internals leaked: {reason}"
    );
    let (status, attempts, last_error) = f.job_of(id).await;
    assert_eq!(status, "failed");
    assert!(attempts > 1, "a crash is retried");
    assert!(last_error.is_some(), "the job keeps what happened");
    // The worker itself is unharmed: with room to work, the next video is made.
    f.settings.max_memory_mb = 6 * 1024;
    let good = fixtures::video(f.dir.path(), "good.mp4", VideoSpec::landscape(320, 240, 2.0));
    let good = f.upload(&good).await;
    let good = f.transcode(good).await;
    assert_eq!(good.status, VideoStatus::Ready, "{:?}", good.failure_reason);
}

/// The CPU-time cap holds: past it the kernel stops the transcode (SIGXCPU), and the
/// video fails at once with the reason, not retried.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_transcode_past_its_cpu_time_cap_is_stopped_by_the_kernel(pool: PgPool) {
    let mut f = fixture(pool).await;
    f.settings.max_cpu_seconds = 1;
    let src = fixtures::video(f.dir.path(), "talk.mp4", VideoSpec::landscape(1280, 720, 30.0));
    let id = f.upload(&src).await;
    let video = f.transcode(id).await;
    assert_eq!(video.status, VideoStatus::Failed);
    assert_eq!(
        video.failure_reason.as_deref(),
        Some("processing this file needed more computing time than allowed")
    );
    assert_eq!(f.job_of(id).await.1, 1, "not retried");
}
