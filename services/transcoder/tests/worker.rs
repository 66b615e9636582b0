//! Workers against a real database, real storage and real video files.

use std::sync::Arc;
use std::time::Duration;

use skillreel_db::users::{self, UserClaims};
use skillreel_db::videos::{self, NewVideo, VideoRecord};
use skillreel_domain::{Roles, VideoId, VideoStatus};
use skillreel_storage::{LocalStore, ObjectKey, Storage};
use skillreel_testkit::fixtures::{self, VideoSpec};
use skillreel_transcoder::{CancellationToken, Worker, WorkerSettings, spawn_worker};
use skillreel_upload::{TRANSCODE_QUEUE, finalize};
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
        finalize(&self.pool, &new, 3).await.unwrap_or_else(|e| panic!("{e}"));
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
    let (stop, handle) = f.worker();
    let video = f.settled(id).await;
    stop.cancel();
    let _ = handle.await;

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
    let (stop, handle) = f.worker();
    let video = f.settled(id).await;
    stop.cancel();
    let _ = handle.await;
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

    let (stop, handle) = f.worker();
    let video = f.settled(id).await;
    stop.cancel();
    let _ = handle.await;

    assert_eq!(video.status, VideoStatus::Ready, "{:?}", video.failure_reason);
    // Claimed twice (the dead attempt and the successful one), finished once.
    assert_eq!(f.job_of(id).await, ("succeeded".into(), 2, None));
    // The dead worker, if it came back, could not overwrite the outcome.
    let mut conn = f.pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!skillreel_queue::complete(&mut conn, &dead).await.unwrap_or(true));
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn bad_media_fails_with_a_reason_and_the_worker_keeps_serving(pool: PgPool) {
    let f = fixture(pool).await;
    let text = fixtures::text_file(f.dir.path(), "notes.mp4");
    let good = fixtures::video(f.dir.path(), "good.mp4", VideoSpec::landscape(320, 240, 2.0));
    let cut = fixtures::truncated(&good, f.dir.path(), "cut.mp4", 0.6);
    let (bad_id, cut_id) = (f.upload(&text).await, f.upload(&cut).await);
    let good_id = f.upload(&good).await;
    let (stop, handle) = f.worker();
    let (bad, cut, good) = (
        f.settled(bad_id).await,
        f.settled(cut_id).await,
        f.settled(good_id).await,
    );
    stop.cancel();
    let _ = handle.await;

    for (video, id) in [(&bad, bad_id), (&cut, cut_id)] {
        assert_eq!(video.status, VideoStatus::Failed);
        let reason = video.failure_reason.clone().unwrap_or_default();
        assert!(
            reason.starts_with("the file is not a video") || reason.contains("damaged"),
            "{reason}"
        );
        // Bad media is not retried.
        let (status, attempts, _) = f.job_of(id).await;
        assert_eq!((status.as_str(), attempts), ("failed", 1));
    }
    assert_eq!(good.status, VideoStatus::Ready);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_missing_source_fails_the_video_with_a_reason(pool: PgPool) {
    let f = fixture(pool).await;
    let src = fixtures::video(f.dir.path(), "a.mp4", VideoSpec::landscape(320, 240, 2.0));
    let id = f.upload(&src).await;
    let key = ObjectKey::parse(&format!("videos/{id}/source")).unwrap_or_else(|e| panic!("{e}"));
    f.storage.delete_prefix(&key).await.unwrap_or_else(|e| panic!("{e}"));
    let (stop, handle) = f.worker();
    let video = f.settled(id).await;
    stop.cancel();
    let _ = handle.await;
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
