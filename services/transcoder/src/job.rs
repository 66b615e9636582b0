//! One job: from a claimed lease to a `ready` (or `failed`) video.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use skillreel_contracts::TranscodeRequest;
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_db::videos::{self, TranscodedMedia};
use skillreel_domain::{UserId, VideoId, VideoStatus};
use skillreel_media::{Event, MediaError};
use skillreel_queue::{ClaimedJob, Failure};
use skillreel_storage::{ObjectKey, StorageError, VideoFiles};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::Worker;
use crate::child::{ChildFailure, ChildRequest, MediaChild, MediaSummary};
use crate::publish::Publisher;

/// How often finished segments are published while the encoder runs.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// The fraction of the transcode done, shared by the encoding thread and the heartbeat.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedProgress(Arc<AtomicU32>);

impl SharedProgress {
    fn set(&self, fraction: f32) {
        self.0.store(fraction.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
    }

    fn get(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// What a successful attempt hands to the bookkeeping.
struct Finished {
    video: VideoId,
    owner: UserId,
    title: String,
    media: TranscodedMedia,
}

/// Recording a job's outcome failed: the lease will lapse and the job run again.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Queue(#[from] skillreel_queue::QueueError),
    #[error(transparent)]
    Video(#[from] videos::VideoQueryError),
}

/// How an attempt ended, short of success.
#[derive(Debug)]
enum JobError {
    /// The file is at fault: the video fails with this reason, no retry.
    BadMedia(String),
    /// Our side or a dependency hiccupped: retry later. `detail` goes to the log and
    /// the job's record; `shown` is what the author reads if every attempt fails.
    Transient { detail: String, shown: &'static str },
    /// Shutdown or a lost lease stopped us.
    Cancelled,
    /// The video was deleted or is no longer waiting for us.
    Gone,
}

impl JobError {
    fn transient(detail: impl std::fmt::Display, shown: &'static str) -> Self {
        Self::Transient {
            detail: detail.to_string(),
            shown,
        }
    }
}

const OUR_SIDE: &str = "a problem on our side";

impl From<StorageError> for JobError {
    fn from(e: StorageError) -> Self {
        Self::transient(e, "storage was unavailable")
    }
}

/// Local disk, a key we built ourselves, a query: our side, worth a retry.
macro_rules! transient_from {
    ($($source:ty),*) => {$(
        impl From<$source> for JobError {
            fn from(e: $source) -> Self {
                Self::transient(e, OUR_SIDE)
            }
        }
    )*};
}

transient_from!(std::io::Error, skillreel_storage::InvalidKey, videos::VideoQueryError);

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        Self::transient(format!("database: {e}"), "the database was unavailable")
    }
}

impl From<MediaError> for JobError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Cancelled => Self::Cancelled,
            e @ MediaError::OutOfResources(_) => Self::transient(e, "it needed more memory than processing may use"),
            e if e.is_bad_media() => Self::BadMedia(e.to_string()),
            e => Self::transient(e, OUR_SIDE),
        }
    }
}

impl From<ChildFailure> for JobError {
    fn from(failure: ChildFailure) -> Self {
        match failure {
            ChildFailure::Media(e) => e.into(),
            ChildFailure::CpuExceeded => {
                Self::BadMedia("processing this file needed more computing time than allowed".into())
            }
            // A crash may be the file's fault or a passing one (the OOM killer): retry,
            // and if it keeps crashing the author is told so.
            ChildFailure::Crashed { signal, code } => Self::transient(
                format!("the media process crashed (signal {signal:?}, exit code {code:?})"),
                "processing crashed on this file; it may be damaged",
            ),
            ChildFailure::Broken(detail) => Self::transient(detail, OUR_SIDE),
        }
    }
}

fn key(raw: &str) -> Result<ObjectKey, JobError> {
    Ok(ObjectKey::parse(raw)?)
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                files.push(rel.to_path_buf());
            }
        }
    }
    files.sort();
    Ok(files)
}

impl Worker {
    #[tracing::instrument(skip_all, fields(job = %job.id, attempt = job.attempt))]
    pub(crate) async fn process(&self, job: ClaimedJob, stop: CancellationToken) {
        self.metrics.running.inc();
        let abort = CancellationToken::new();
        let lease_lost = CancellationToken::new();
        let progress = SharedProgress::default();
        let video_id = job.payload::<TranscodeRequest>().ok().map(|r| r.video_id);
        // The heartbeat lives in this task, not a detached one: if the task dies, the
        // lease lapses and another worker takes the job over.
        let attempt = self.attempt(&job, &abort, &progress);
        tokio::pin!(attempt);
        let outcome = tokio::select! {
            outcome = &mut attempt => outcome,
            () = self.heartbeat(&job, video_id, &progress, &abort, &stop, &lease_lost) => attempt.await,
        };
        let result = match outcome {
            Ok(finished) => self.finish_ready(&job, &finished).await,
            Err(JobError::Gone) => self.finish_gone(&job).await,
            Err(JobError::BadMedia(reason)) => self.finish_failed(&job, Failure::Permanent, &reason, &reason).await,
            Err(JobError::Transient { detail, shown }) => {
                let shown = format!(
                    "processing failed {} times ({shown}); please try uploading it again later",
                    job.attempt
                );
                self.finish_failed(&job, Failure::Transient, &detail, &shown).await
            }
            Err(JobError::Cancelled) if lease_lost.is_cancelled() => {
                // Cancelled because the video was deleted, or another worker took over.
                self.metrics.record("lease_lost");
                match video_id {
                    Some(video) => self.remove_outputs_if_deleted(video).await,
                    None => Ok(()),
                }
            }
            Err(JobError::Cancelled) => {
                self.metrics.record("released");
                skillreel_queue::release(&self.pool, &job)
                    .await
                    .map_err(RecordError::from)
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "could not record the job's outcome; its lease will expire and it will run again");
        }
        self.metrics.running.dec();
    }

    /// Extends the lease and records progress until the job ends; cancels the
    /// transcode when the lease is lost (another worker, or the video was deleted and
    /// its job cancelled) or the worker shuts down.
    async fn heartbeat(
        &self,
        job: &ClaimedJob,
        video: Option<VideoId>,
        progress: &SharedProgress,
        abort: &CancellationToken,
        stop: &CancellationToken,
        lease_lost: &CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => { abort.cancel(); return; }
                _ = tokio::time::sleep(self.settings.heartbeat) => {}
            }
            let fraction = progress.get();
            match skillreel_queue::heartbeat(&self.pool, job, self.settings.lease, fraction).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("lease lost or job cancelled; stopping");
                    lease_lost.cancel();
                    abort.cancel();
                    return;
                }
                // A database blip: keep working, the lease has slack.
                Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
            }
            if let Some(video) = video
                && let Ok(mut conn) = self.pool.acquire().await
                && let Err(e) = videos::set_progress(&mut conn, video, fraction).await
            {
                tracing::warn!(error = %e, "could not record progress");
            }
        }
    }

    /// A deleted video's job stops; what it had published goes too.
    async fn remove_outputs_if_deleted(&self, video: VideoId) -> Result<(), RecordError> {
        let mut conn = self.pool.acquire().await?;
        let record = videos::find(&mut conn, video).await?;
        drop(conn);
        if record.is_none_or(|v| v.status == VideoStatus::Removed)
            && let Err(e) = self.storage.delete_prefix(&VideoFiles::of(video).root()).await
        {
            tracing::warn!(error = %e, "could not delete the media of a deleted video");
        }
        Ok(())
    }

    async fn attempt(
        &self,
        job: &ClaimedJob,
        abort: &CancellationToken,
        progress: &SharedProgress,
    ) -> Result<Finished, JobError> {
        let started = Instant::now();
        let request: TranscodeRequest = job
            .payload()
            .map_err(|e| JobError::BadMedia(format!("the job is malformed: {e}")))?;
        let mut conn = self.pool.acquire().await?;
        let video = videos::find(&mut conn, request.video_id)
            .await?
            .filter(|v| v.status == VideoStatus::Processing)
            .ok_or(JobError::Gone)?;
        drop(conn);
        let source_key = key(video
            .source_key
            .as_deref()
            .ok_or(JobError::BadMedia("the upload has no file".into()))?)?;

        let base = self.settings.work_dir.clone().unwrap_or_else(std::env::temp_dir);
        tokio::fs::create_dir_all(&base).await?;
        let workdir = tempfile::Builder::new()
            .prefix("skillreel-transcode-")
            .tempdir_in(&base)?;
        let source = workdir.path().join("source");
        match self.storage.download_to(&source_key, &source).await {
            Err(StorageError::NotFound(_)) => {
                return Err(JobError::BadMedia("the uploaded file is missing".into()));
            }
            other => other?,
        };
        let layout = VideoFiles::of(video.id);
        let prefix = layout.media();
        // Leftovers of an earlier, interrupted attempt.
        self.storage.delete_prefix(&prefix).await?;
        let out_dir = workdir.path().join("media");
        tokio::fs::create_dir_all(&out_dir).await?;
        let mut publisher = Publisher::new(self.storage.clone(), prefix.clone(), &out_dir);
        let output = self
            .run_media(
                job,
                video.id,
                &source,
                &out_dir,
                abort,
                progress,
                &mut publisher,
                started,
            )
            .await?;
        let dir = out_dir.clone();
        // A directory walk is blocking I/O: keep it off the async runtime.
        let files = tokio::task::spawn_blocking(move || files_under(&dir))
            .await
            .map_err(|e| JobError::transient(format!("listing outputs failed: {e}"), OUR_SIDE))??;
        let files: Vec<String> = files
            .iter()
            .map(|rel| rel.to_string_lossy().replace('\\', "/"))
            .collect();
        publisher.finish(&files).await?;
        let media = describe_outputs(&layout, output, started.elapsed());
        Ok(Finished {
            video: video.id,
            owner: video.owner_id,
            title: video.title,
            media,
        })
    }

    /// Runs FFmpeg in a child process, killed at the job timeout or on `abort`,
    /// publishing segments as they are written; once every rung has begun, the video
    /// is marked playable.
    #[allow(clippy::too_many_arguments)]
    async fn run_media(
        &self,
        job: &ClaimedJob,
        video: VideoId,
        source: &Path,
        out_dir: &Path,
        abort: &CancellationToken,
        progress: &SharedProgress,
        publisher: &mut Publisher,
        started: Instant,
    ) -> Result<MediaSummary, JobError> {
        let settings = &self.settings;
        let request = ChildRequest {
            source: source.to_path_buf(),
            out_dir: out_dir.to_path_buf(),
            ladder: settings.ladder.clone(),
            min_duration_ms: u64::try_from(settings.limits.min_duration.as_millis()).unwrap_or(u64::MAX),
            max_duration_ms: u64::try_from(settings.limits.max_duration.as_millis()).unwrap_or(u64::MAX),
            max_memory_mb: settings.max_memory_mb,
            max_cpu_seconds: settings.max_cpu_seconds,
        };
        let mut child = MediaChild::spawn(&settings.media_program, &request).await?;
        let timeout = settings.job_timeout;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(PUBLISH_EVERY);
        let (mut playable, mut published) = (false, false);
        loop {
            tokio::select! {
                event = child.next_event() => match event {
                    Some(Event::Progress(fraction)) => progress.set(fraction),
                    Some(Event::Playable) => playable = true,
                    None => break,
                },
                () = &mut deadline => {
                    child.kill().await;
                    return Err(JobError::BadMedia(format!(
                        "processing took longer than the limit of {} s",
                        timeout.as_secs()
                    )));
                }
                () = abort.cancelled() => {
                    child.kill().await;
                    return Err(JobError::Cancelled);
                }
                _ = tick.tick() => {
                    // Publishing early is a bonus: a failure here is retried by the
                    // final upload, which does count.
                    if let Err(e) = publisher.sync_rungs().await {
                        tracing::warn!(error = %e, "could not publish segments yet");
                        continue;
                    }
                    if !published && playable {
                        match publisher.publish_master().await {
                            Ok(()) => {
                                published = true;
                                self.mark_playable(job, video, started.elapsed()).await;
                            }
                            Err(e) => tracing::warn!(error = %e, "could not publish the master playlist yet"),
                        }
                    }
                }
            }
        }
        Ok(child.finish().await?)
    }

    async fn mark_playable(&self, job: &ClaimedJob, video: VideoId, elapsed: Duration) {
        let ms = elapsed.as_millis() as i64;
        let result = async {
            let mut conn = self.pool.acquire().await?;
            let hls_key = VideoFiles::of(video).master_playlist();
            videos::mark_playable(&mut conn, video, hls_key.as_str(), ms).await?;
            let timings = Timings {
                time_to_playable_ms: Some(ms),
                time_to_complete_ms: None,
            };
            record_timings(&mut conn, job, timings).await?;
            Ok::<_, RecordError>(())
        }
        .await;
        match result {
            Ok(()) => tracing::info!(video = %video, time_to_playable_ms = ms, "video playable"),
            Err(e) => tracing::warn!(error = %e, "could not mark the video playable"),
        }
    }

    async fn finish_ready(&self, job: &ClaimedJob, done: &Finished) -> Result<(), RecordError> {
        let video = done.video;
        let mut tx = self.pool.begin().await?;
        let still_wanted = videos::mark_ready(&mut tx, video, &done.media).await?;
        let timings = Timings {
            time_to_playable_ms: None,
            time_to_complete_ms: Some(done.media.time_to_complete_ms),
        };
        record_timings(&mut tx, job, timings).await?;
        if still_wanted {
            notifications::push(
                &mut tx,
                done.owner,
                NotificationKind::VideoReady,
                Some(video),
                &json!({ "title": done.title }),
            )
            .await?;
        }
        if !skillreel_queue::complete(&mut tx, job).await? {
            // Another worker holds the job now; its result will count.
            return Ok(());
        }
        tx.commit().await?;
        if still_wanted {
            tracing::info!(
                video = %video,
                rungs = done.media.renditions.len(),
                time_to_complete_ms = done.media.time_to_complete_ms,
                "video ready"
            );
            self.metrics.record("ready");
            if !self.settings.keep_source {
                let _ = self.storage.delete_prefix(&VideoFiles::of(video).source()).await;
            }
        } else {
            // Deleted while we worked: what we published goes with it.
            self.remove_outputs_if_deleted(video).await?;
        }
        Ok(())
    }

    async fn finish_gone(&self, job: &ClaimedJob) -> Result<(), RecordError> {
        let mut tx = self.pool.begin().await?;
        skillreel_queue::complete(&mut tx, job).await?;
        tx.commit().await?;
        self.metrics.record("gone");
        Ok(())
    }

    /// Records a failed attempt: `reason` (what happened) stays with the job; when no
    /// attempt is left, the video fails and its author reads `shown`.
    async fn finish_failed(
        &self,
        job: &ClaimedJob,
        failure: Failure,
        reason: &str,
        shown: &str,
    ) -> Result<(), RecordError> {
        let mut tx = self.pool.begin().await?;
        let terminal = skillreel_queue::fail(&mut tx, job, failure, reason).await?;
        if terminal {
            let request: Option<TranscodeRequest> = job.payload().ok();
            if let Some(request) = request
                && videos::mark_failed(&mut tx, request.video_id, shown).await?
            {
                notify_failed(&mut tx, request.video_id, shown).await?;
            }
        }
        tx.commit().await?;
        tracing::info!(reason, terminal, "transcode attempt failed");
        self.metrics.record(if terminal { "failed" } else { "retry" });
        Ok(())
    }
}

/// What the video row records of a finished transcode.
fn describe_outputs(files: &VideoFiles, media: MediaSummary, took: Duration) -> TranscodedMedia {
    TranscodedMedia {
        duration_ms: i64::try_from(media.duration_ms).unwrap_or(i64::MAX),
        width: i32::try_from(media.width).unwrap_or(i32::MAX),
        height: i32::try_from(media.height).unwrap_or(i32::MAX),
        hls_key: files.master_playlist().to_string(),
        thumbnail_key: files.thumbnail().to_string(),
        storyboard_key: media.has_storyboard.then(|| files.storyboard_index().to_string()),
        renditions: media.renditions,
        time_to_complete_ms: took.as_millis() as i64,
    }
}

/// Marks the video of a job `failed` after its worker vanished on the last attempt.
pub(crate) async fn fail_video_of_job(pool: &PgPool, job: uuid::Uuid) -> Result<(), RecordError> {
    let mut conn = pool.acquire().await?;
    let payload = sqlx::query_scalar!("select payload from job where id = $1", job)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(request) = payload.and_then(|p| serde_json::from_value::<TranscodeRequest>(p).ok()) else {
        return Ok(());
    };
    let reason = "processing stopped responding repeatedly; please upload again";
    drop(conn);
    let mut tx = pool.begin().await?;
    if videos::mark_failed(&mut tx, request.video_id, reason).await? {
        notify_failed(&mut tx, request.video_id, reason).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Tells the author their video failed, and why.
async fn notify_failed(conn: &mut sqlx::PgConnection, video: VideoId, reason: &str) -> Result<(), RecordError> {
    if let Some(record) = videos::find(conn, video).await? {
        notifications::push(
            conn,
            record.owner_id,
            NotificationKind::VideoFailed,
            Some(video),
            &json!({ "title": record.title, "reason": reason }),
        )
        .await?;
    }
    Ok(())
}

/// How long the attempt took to become watchable and to finish, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Timings {
    time_to_playable_ms: Option<i64>,
    time_to_complete_ms: Option<i64>,
}

/// Records the timings of the running attempt on its job, for operators (`GET
/// /api/v1/admin/jobs`).
async fn record_timings(conn: &mut sqlx::PgConnection, job: &ClaimedJob, timings: Timings) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        update job set time_to_playable_ms = coalesce($3, time_to_playable_ms),
               time_to_complete_ms = coalesce($4, time_to_complete_ms), updated_at = now()
         where id = $1 and lease_owner = $2
        "#,
        job.id,
        job.lease_owner,
        timings.time_to_playable_ms,
        timings.time_to_complete_ms,
    )
    .execute(conn)
    .await?;
    Ok(())
}
