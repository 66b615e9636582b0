//! The claim loop: how many jobs at once, when to look for more, how to stop.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use skillreel_config::TranscoderSettings;
use skillreel_contracts::TRANSCODE_QUEUE;
use skillreel_queue::Listener;
use skillreel_web::ops::Metrics;
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::SharedStorage;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub lease: Duration,
    pub heartbeat: Duration,
    pub job_timeout: Duration,
    pub poll: Duration,
    pub work_dir: Option<PathBuf>,
    pub ladder: Vec<u32>,
    pub limits: skillreel_media::Limits,
    /// Keep the original once the video is ready.
    pub keep_source: bool,
    /// The binary each transcode runs in, as a child process.
    pub media_program: PathBuf,
    /// Memory cap of one transcode's process, in MiB.
    pub max_memory_mb: u64,
    /// CPU-time cap of one transcode's process, in seconds over all its threads.
    pub max_cpu_seconds: u64,
}

/// The job timeout on every core: the CPU cap then only bites when the wall-clock
/// timeout could not (a stopped clock, a kill that did not land).
fn cpu_seconds_for(job_timeout: Duration) -> u64 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get) as u64;
    job_timeout.as_secs().max(1).saturating_mul(cores)
}

impl WorkerSettings {
    pub fn from_settings(settings: &skillreel_config::Settings) -> Self {
        Self {
            keep_source: settings.upload.keep_source,
            ..Self::from(&settings.transcoder)
        }
    }
}

impl From<&TranscoderSettings> for WorkerSettings {
    fn from(s: &TranscoderSettings) -> Self {
        Self {
            concurrency: s.concurrency.max(1),
            lease: Duration::from_secs(s.lease_seconds.max(2)),
            heartbeat: Duration::from_secs(s.heartbeat_seconds.clamp(1, s.lease_seconds.max(2) / 2)),
            job_timeout: Duration::from_secs(s.job_timeout_seconds.max(1)),
            poll: Duration::from_secs(s.poll_seconds.max(1)),
            work_dir: s.work_dir.clone(),
            ladder: s.ladder.clone(),
            limits: skillreel_media::Limits {
                max_duration: Duration::from_secs(s.max_duration_seconds.max(1)),
                min_duration: Duration::from_secs_f64(s.min_duration_seconds.clamp(0.0, 60.0)),
                ..skillreel_media::Limits::default()
            },
            keep_source: true,
            media_program: crate::child::resolve_media_program(s.media_program.as_deref()),
            max_memory_mb: s.max_memory_mb.max(256),
            max_cpu_seconds: cpu_seconds_for(Duration::from_secs(s.job_timeout_seconds.max(1))),
        }
    }
}

/// Outcome counters, exported on `/metrics`.
#[derive(Clone, Default)]
pub(crate) struct JobMetrics {
    pub finished: Family<Vec<(String, String)>, Counter>,
    pub running: Gauge,
}

impl JobMetrics {
    pub fn record(&self, outcome: &str) {
        self.finished
            .get_or_create(&vec![("outcome".to_owned(), outcome.to_owned())])
            .inc();
    }
}

/// A transcoding worker process's job runner.
#[derive(Clone)]
pub struct Worker {
    pub(crate) pool: PgPool,
    pub(crate) storage: SharedStorage,
    pub(crate) settings: Arc<WorkerSettings>,
    pub(crate) id: String,
    pub(crate) metrics: JobMetrics,
}

impl Worker {
    pub fn new(pool: PgPool, storage: SharedStorage, settings: WorkerSettings) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        let id = format!("{host}/{}/{}", std::process::id(), uuid::Uuid::now_v7());
        Self {
            pool,
            storage,
            settings: Arc::new(settings),
            id,
            metrics: JobMetrics::default(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn register_metrics(&self, metrics: &Metrics) {
        metrics.register(
            "transcode_jobs_finished",
            "Transcoding jobs by outcome",
            self.metrics.finished.clone(),
        );
        metrics.register(
            "transcode_jobs_running",
            "Transcoding jobs in progress",
            self.metrics.running.clone(),
        );
    }

    /// Claims and runs jobs until `shutdown`; then cancels and releases what runs.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(worker = %self.id, concurrency = self.settings.concurrency, "transcoder started");
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut listener = Listener::jobs(&self.pool, self.settings.poll).await;
        let mut running = JoinSet::new();
        loop {
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                permit = slots.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
            };
            while running.try_join_next().is_some() {}
            self.fail_abandoned().await;
            match skillreel_queue::claim(&self.pool, TRANSCODE_QUEUE, &self.id, self.settings.lease).await {
                Ok(Some(job)) => {
                    let worker = self.clone();
                    let stop = shutdown.child_token();
                    running.spawn(async move {
                        worker.process(job, stop).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = listener.wait() => {}
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!(error = %e, "could not claim a job; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(self.settings.poll) => {}
                    }
                }
            }
        }
        tracing::info!(worker = %self.id, jobs = running.len(), "transcoder stopping");
        while running.join_next().await.is_some() {}
    }

    /// Videos whose last allowed attempt died with its worker end `failed` too.
    async fn fail_abandoned(&self) {
        match skillreel_queue::fail_abandoned(&self.pool, TRANSCODE_QUEUE).await {
            Ok(ids) => {
                for id in ids {
                    self.metrics.record("abandoned");
                    if let Err(e) = crate::job::fail_video_of_job(&self.pool, id).await {
                        tracing::warn!(job = %id, error = %e, "could not mark the video of an abandoned job failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not sweep abandoned jobs"),
        }
    }
}
