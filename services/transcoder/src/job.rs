//! One job: from a claimed lease to a `ready` (or `failed`) video.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_db::videos::{self, TranscodedMedia};
use skillreel_domain::{Rendition, UserId, VideoId, VideoStatus};
use skillreel_media::{Cancel, Event, MediaError, TranscodeOutput};
use skillreel_queue::{ClaimedJob, Failure, Timings};
use skillreel_storage::{ObjectKey, StorageError};
use skillreel_upload::TranscodeRequest;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::Worker;
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
    /// Our side or a dependency hiccupped: retry later.
    Transient(String),
    /// Shutdown or a lost lease stopped us.
    Cancelled,
    /// The video was deleted or is no longer waiting for us.
    Gone,
}

impl From<StorageError> for JobError {
    fn from(e: StorageError) -> Self {
        Self::Transient(e.to_string())
    }
}

/// Local disk, a key we built ourselves, a query: our side, worth a retry.
macro_rules! transient_from {
    ($($source:ty),*) => {$(
        impl From<$source> for JobError {
            fn from(e: $source) -> Self {
                Self::Transient(e.to_string())
            }
        }
    )*};
}

transient_from!(std::io::Error, skillreel_storage::InvalidKey, videos::VideoQueryError);

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        Self::Transient(format!("database: {e}"))
    }
}

impl From<MediaError> for JobError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Cancelled => Self::Cancelled,
            e if e.is_bad_media() => Self::BadMedia(e.to_string()),
            e => Self::Transient(e.to_string()),
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
        let cancel = Cancel::default();
        let lease_lost = CancellationToken::new();
        let progress = SharedProgress::default();
        let video_id = job.payload::<TranscodeRequest>().ok().map(|r| r.video_id);
        // The heartbeat lives in this task, not a detached one: if the task dies, the
        // lease lapses and another worker takes the job over.
        let attempt = self.attempt(&job, &cancel, &progress);
        tokio::pin!(attempt);
        let outcome = tokio::select! {
            outcome = &mut attempt => outcome,
            () = self.heartbeat(&job, video_id, &progress, &cancel, &stop, &lease_lost) => attempt.await,
        };
        let result = match outcome {
            Ok(finished) => self.finish_ready(&job, &finished).await,
            Err(JobError::Gone) => self.finish_gone(&job).await,
            Err(JobError::BadMedia(reason)) => self.finish_failed(&job, Failure::Permanent, &reason).await,
            Err(JobError::Transient(reason)) => self.finish_failed(&job, Failure::Transient, &reason).await,
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
        cancel: &Cancel,
        stop: &CancellationToken,
        lease_lost: &CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => { cancel.cancel(); return; }
                _ = tokio::time::sleep(self.settings.heartbeat) => {}
            }
            let fraction = progress.get();
            match skillreel_queue::heartbeat(&self.pool, job, self.settings.lease, fraction).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("lease lost or job cancelled; stopping");
                    lease_lost.cancel();
                    cancel.cancel();
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
            && let Ok(prefix) = key(&format!("videos/{video}"))
            && let Err(e) = self.storage.delete_prefix(&prefix).await
        {
            tracing::warn!(error = %e, "could not delete the media of a deleted video");
        }
        Ok(())
    }

    async fn attempt(
        &self,
        job: &ClaimedJob,
        cancel: &Cancel,
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
        let prefix = key(&format!("videos/{}/media", video.id))?;
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
                cancel,
                progress,
                &mut publisher,
                started,
            )
            .await?;
        let dir = out_dir.clone();
        // A directory walk is blocking I/O: keep it off the async runtime.
        let files = tokio::task::spawn_blocking(move || files_under(&dir))
            .await
            .map_err(|e| JobError::Transient(format!("listing outputs failed: {e}")))??;
        let files: Vec<String> = files
            .iter()
            .map(|rel| rel.to_string_lossy().replace('\\', "/"))
            .collect();
        publisher.finish(&files).await?;
        let media = describe_outputs(&prefix, &output, started.elapsed());
        Ok(Finished {
            video: video.id,
            owner: video.owner_id,
            title: video.title,
            media,
        })
    }

    /// Runs FFmpeg on a blocking thread, bounded by the job timeout, publishing
    /// segments as they are written; once every rung has begun, the video is marked
    /// playable.
    #[allow(clippy::too_many_arguments)]
    async fn run_media(
        &self,
        job: &ClaimedJob,
        video: VideoId,
        source: &Path,
        out_dir: &Path,
        cancel: &Cancel,
        progress: &SharedProgress,
        publisher: &mut Publisher,
        started: Instant,
    ) -> Result<TranscodeOutput, JobError> {
        let (source, dir) = (source.to_path_buf(), out_dir.to_path_buf());
        let (ladder, limits) = (self.settings.ladder.clone(), self.settings.limits);
        let task_cancel = cancel.clone();
        let playable = Arc::new(AtomicBool::new(false));
        let (task_progress, task_playable) = (progress.clone(), playable.clone());
        let mut handle = tokio::task::spawn_blocking(move || {
            skillreel_media::transcode(
                &source,
                &dir,
                &ladder,
                &limits,
                &task_cancel,
                &mut |event| match event {
                    Event::Progress(fraction) => task_progress.set(fraction),
                    Event::Playable => task_playable.store(true, Ordering::Relaxed),
                },
            )
        });
        let timeout = self.settings.job_timeout;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(PUBLISH_EVERY);
        let mut published = false;
        let joined = loop {
            tokio::select! {
                joined = &mut handle => break joined,
                () = &mut deadline => {
                    cancel.cancel();
                    let _ = handle.await;
                    return Err(JobError::BadMedia(format!(
                        "processing took longer than the limit of {} s",
                        timeout.as_secs()
                    )));
                }
                _ = tick.tick() => {
                    // Publishing early is a bonus: a failure here is retried by the
                    // final upload, which does count.
                    if let Err(e) = publisher.sync_rungs().await {
                        tracing::warn!(error = %e, "could not publish segments yet");
                        continue;
                    }
                    if !published && playable.load(Ordering::Relaxed) {
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
        };
        let output = joined.map_err(|e| JobError::Transient(format!("transcoder thread failed: {e}")))??;
        Ok(output)
    }

    async fn mark_playable(&self, job: &ClaimedJob, video: VideoId, elapsed: Duration) {
        let ms = elapsed.as_millis() as i64;
        let result = async {
            let mut conn = self.pool.acquire().await?;
            let hls_key = format!("videos/{video}/media/master.m3u8");
            videos::mark_playable(&mut conn, video, &hls_key, ms).await?;
            let timings = Timings {
                time_to_playable_ms: Some(ms),
                time_to_complete_ms: None,
            };
            skillreel_queue::record_timings(&mut conn, job, timings).await?;
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
        skillreel_queue::record_timings(&mut tx, job, timings).await?;
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
            if !self.settings.keep_source
                && let Ok(source) = key(&format!("videos/{video}/source"))
            {
                let _ = self.storage.delete_prefix(&source).await;
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

    async fn finish_failed(&self, job: &ClaimedJob, failure: Failure, reason: &str) -> Result<(), RecordError> {
        let mut tx = self.pool.begin().await?;
        let terminal = skillreel_queue::fail(&mut tx, job, failure, reason).await?;
        if terminal {
            let request: Option<TranscodeRequest> = job.payload().ok();
            if let Some(request) = request {
                let shown = match failure {
                    Failure::Permanent => reason.to_owned(),
                    Failure::Transient => format!("processing failed {} times; last error: {reason}", job.attempt),
                };
                if videos::mark_failed(&mut tx, request.video_id, &shown).await? {
                    notify_failed(&mut tx, request.video_id, &shown).await?;
                }
            }
        }
        tx.commit().await?;
        tracing::info!(reason, terminal, "transcode attempt failed");
        self.metrics.record(if terminal { "failed" } else { "retry" });
        Ok(())
    }
}

/// What the video row records of a finished transcode.
fn describe_outputs(prefix: &ObjectKey, output: &TranscodeOutput, took: Duration) -> TranscodedMedia {
    let p = &output.probe;
    TranscodedMedia {
        duration_ms: p.duration.as_millis() as i64,
        width: p.width as i32,
        height: p.height as i32,
        hls_key: format!("{prefix}/master.m3u8"),
        thumbnail_key: format!("{prefix}/thumbnail.jpg"),
        storyboard_key: output.storyboard.is_file().then(|| format!("{prefix}/storyboard.vtt")),
        renditions: output
            .rungs
            .iter()
            .map(|r| Rendition {
                width: r.rung.width,
                height: r.rung.height,
                bandwidth: r.bandwidth,
                codecs: r.codecs.clone(),
                playlist: r.playlist.clone(),
            })
            .collect(),
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
