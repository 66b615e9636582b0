//! One job: from a claimed lease to a `ready` (or `failed`) video.

use std::path::{Path, PathBuf};

use skillreel_db::videos::{self, TranscodedMedia};
use skillreel_domain::{Rendition, VideoId, VideoStatus};
use skillreel_media::{Cancel, MediaError, TranscodeOutput};
use skillreel_queue::{ClaimedJob, Failure};
use skillreel_storage::{ObjectKey, StorageError};
use skillreel_upload::TranscodeRequest;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::Worker;

/// Recording a job's outcome failed: the lease will lapse and the job run again.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Queue(#[from] skillreel_queue::QueueError),
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
        // The heartbeat lives in this task, not a detached one: if the task dies, the
        // lease lapses and another worker takes the job over.
        let attempt = self.attempt(&job, &cancel);
        tokio::pin!(attempt);
        let outcome = tokio::select! {
            outcome = &mut attempt => outcome,
            () = self.heartbeat(&job, &cancel, &stop, &lease_lost) => attempt.await,
        };
        let result = match outcome {
            Ok((video, media)) => self.finish_ready(&job, video, &media).await,
            Err(JobError::Gone) => self.finish_gone(&job).await,
            Err(JobError::BadMedia(reason)) => self.finish_failed(&job, Failure::Permanent, &reason).await,
            Err(JobError::Transient(reason)) => self.finish_failed(&job, Failure::Transient, &reason).await,
            Err(JobError::Cancelled) if lease_lost.is_cancelled() => {
                tracing::warn!("lease lost; another worker owns the job now");
                self.metrics.record("lease_lost");
                Ok(())
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

    /// Extends the lease until the job ends; cancels the transcode when the lease is
    /// lost or the worker shuts down.
    async fn heartbeat(
        &self,
        job: &ClaimedJob,
        cancel: &Cancel,
        stop: &CancellationToken,
        lease_lost: &CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => { cancel.cancel(); return; }
                _ = tokio::time::sleep(self.settings.heartbeat) => {}
            }
            match skillreel_queue::heartbeat(&self.pool, job, self.settings.lease).await {
                Ok(true) => {}
                Ok(false) => {
                    lease_lost.cancel();
                    cancel.cancel();
                    return;
                }
                // A database blip: keep working, the lease has slack.
                Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
            }
        }
    }

    async fn attempt(&self, job: &ClaimedJob, cancel: &Cancel) -> Result<(VideoId, TranscodedMedia), JobError> {
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
        let out_dir = workdir.path().join("media");
        let output = self.run_media(&source, &out_dir, cancel).await?;
        let media = self.store_outputs(video.id, &out_dir, &output).await?;
        Ok((video.id, media))
    }

    /// Runs FFmpeg on a blocking thread, bounded by the job timeout.
    async fn run_media(&self, source: &Path, out_dir: &Path, cancel: &Cancel) -> Result<TranscodeOutput, JobError> {
        let (source, out_dir) = (source.to_path_buf(), out_dir.to_path_buf());
        let (ladder, limits) = (self.settings.ladder.clone(), self.settings.limits);
        let task_cancel = cancel.clone();
        let mut handle = tokio::task::spawn_blocking(move || {
            skillreel_media::transcode(&source, &out_dir, &ladder, &limits, &task_cancel, &mut |_| {})
        });
        let timeout = self.settings.job_timeout;
        let joined = match tokio::time::timeout(timeout, &mut handle).await {
            Ok(joined) => joined,
            Err(_) => {
                cancel.cancel();
                let _ = handle.await;
                return Err(JobError::BadMedia(format!(
                    "processing took longer than the limit of {} s",
                    timeout.as_secs()
                )));
            }
        };
        let output = joined.map_err(|e| JobError::Transient(format!("transcoder thread failed: {e}")))??;
        Ok(output)
    }

    async fn store_outputs(
        &self,
        video: VideoId,
        out_dir: &Path,
        output: &TranscodeOutput,
    ) -> Result<TranscodedMedia, JobError> {
        let prefix = key(&format!("videos/{video}/media"))?;
        // Leftovers of an earlier, interrupted attempt.
        self.storage.delete_prefix(&prefix).await?;
        let dir = out_dir.to_path_buf();
        // A directory walk is blocking I/O: keep it off the async runtime.
        let files = tokio::task::spawn_blocking(move || files_under(&dir))
            .await
            .map_err(|e| JobError::Transient(format!("listing outputs failed: {e}")))??;
        for rel in files {
            let rel_str = rel.to_string_lossy().replace('\\', "/");
            let object = prefix.join(&rel_str)?;
            self.storage
                .put_file(&object, &out_dir.join(&rel), skillreel_storage::content_type(&rel_str))
                .await?;
        }
        let p = &output.probe;
        Ok(TranscodedMedia {
            duration_ms: p.duration.as_millis() as i64,
            width: p.width as i32,
            height: p.height as i32,
            hls_key: format!("{prefix}/master.m3u8"),
            thumbnail_key: format!("{prefix}/thumbnail.jpg"),
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
        })
    }

    async fn finish_ready(&self, job: &ClaimedJob, video: VideoId, media: &TranscodedMedia) -> Result<(), RecordError> {
        let mut tx = self.pool.begin().await?;
        let still_wanted = videos::mark_ready(&mut tx, video, media).await?;
        if !skillreel_queue::complete(&mut tx, job).await? {
            // Another worker holds the job now; its result will count.
            return Ok(());
        }
        tx.commit().await?;
        if still_wanted {
            tracing::info!(video = %video, rungs = media.renditions.len(), "video ready");
            self.metrics.record("ready");
            if !self.settings.keep_source
                && let Ok(source) = key(&format!("videos/{video}/source"))
            {
                let _ = self.storage.delete_prefix(&source).await;
            }
        } else if let Ok(prefix) = key(&format!("videos/{video}/media")) {
            let _ = self.storage.delete_prefix(&prefix).await;
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
                videos::mark_failed(&mut tx, request.video_id, &shown).await?;
            }
        }
        tx.commit().await?;
        tracing::info!(reason, terminal, "transcode attempt failed");
        self.metrics.record(if terminal { "failed" } else { "retry" });
        Ok(())
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
    videos::mark_failed(
        &mut conn,
        request.video_id,
        "processing stopped responding repeatedly; please upload again",
    )
    .await?;
    Ok(())
}
