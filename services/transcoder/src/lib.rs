//! The transcoder service: workers that turn uploaded sources into HLS.
//!
//! A [`Worker`] claims `transcode` jobs from the PostgreSQL queue (any number of
//! workers, on any number of machines), downloads the source, runs
//! [`skillreel_media::transcode`] on a blocking thread with a time limit, publishes
//! segments as they are encoded (the author can watch once every rung has begun),
//! uploads the rest and marks the video `ready`, all while heartbeating its lease and
//! progress. The author finds `ready` or `failed` (with the reason) in their inbox.
//! Bad media fails at once; storage or database trouble is retried with backoff. A
//! deleted video's job is cancelled and its worker stops at the next heartbeat. On
//! shutdown a worker stops claiming, cancels what it runs and hands the jobs back.

use std::sync::Arc;

use actix_web::web;
use skillreel_config::Settings;
use skillreel_web::Backends;
use skillreel_web::ops::Metrics;
pub use tokio_util::sync::CancellationToken;

mod child;
mod job;
mod publish;
mod worker;

pub use child::{MEDIA_CHILD_ARG, main_or_media_child, resolve_media_program};
pub use worker::{Worker, WorkerSettings};

pub use skillreel_web::StartError;

/// The transcoder as a standalone process: the workers plus an HTTP server for
/// `/healthz`, `/readyz` and `/metrics`.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    worker: Worker,
    shutdown: CancellationToken,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let backends = Backends::connect(&settings).await?;
        let metrics = web::Data::new(Metrics::default());
        let worker = Worker::new(
            backends.pool,
            backends.storage,
            WorkerSettings::from_settings(&settings),
        );
        worker.register_metrics(&metrics);
        let (listener, port) = skillreel_web::bind(&settings.server)?;
        let server = skillreel_web::serve(listener, metrics, backends.readiness, Default::default(), |_| {})?;
        Ok(Self {
            port,
            server,
            worker,
            shutdown: CancellationToken::new(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A token that stops the workers when cancelled (tests, signals).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Runs until the HTTP server stops (on SIGINT/SIGTERM), then drains the workers.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let shutdown = self.shutdown.clone();
        let workers = tokio::spawn(self.worker.run(shutdown.clone()));
        let result = self.server.await;
        shutdown.cancel();
        let _ = workers.await;
        result
    }
}

/// Shared by the transcoder's tests and the dev command.
pub fn spawn_worker(worker: Worker, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(worker.run(shutdown))
}

pub(crate) type SharedStorage = Arc<dyn skillreel_storage::Storage>;
