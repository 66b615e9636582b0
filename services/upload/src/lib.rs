//! The upload service: receives videos and hands them to the transcoder.
//!
//! `POST /api/v1/videos` takes a multipart form (the file plus `title`, `description`,
//! `tags`), streams the file to object storage as it arrives (never holding it in
//! memory), then creates the video (`processing`) and its transcoding job in one
//! database transaction. [`tus`] serves resumable uploads at `/api/v1/uploads`, whose
//! completion moves the video to `processing` and enqueues its job the same way.

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::web;
use skillreel_auth::Authenticator;
use skillreel_config::Settings;
use skillreel_storage::Storage;
use skillreel_web::openapi::{ApiDocument, serve_document};
use skillreel_web::ops::Metrics;
use skillreel_web::{Backends, BackgroundTasks, KnownRoutes, RouteSpec};
use sqlx::PgPool;

mod checks;
mod direct;
mod finalize;
mod multipart;
pub mod tus;

pub use checks::{Quotas, looks_like_video};
pub use finalize::{FinalizeError, complete_upload, finalize};

pub struct UploadContext {
    pub pool: PgPool,
    pub storage: Arc<dyn Storage>,
    pub max_size_bytes: u64,
    pub max_attempts: i32,
    /// How long an unfinished resumable upload is kept.
    pub upload_expiry: std::time::Duration,
    pub public_url: Option<String>,
    pub quotas: Quotas,
}

impl UploadContext {
    /// The context the settings describe (tests build one to drive a task directly).
    pub fn from_settings(pool: PgPool, storage: Arc<dyn Storage>, settings: &Settings) -> Self {
        Self {
            pool,
            storage,
            max_size_bytes: settings.upload.max_size_bytes,
            max_attempts: settings.transcoder.max_attempts,
            upload_expiry: std::time::Duration::from_secs(settings.upload.expiry_seconds),
            public_url: settings.server.public_url.clone(),
            quotas: Quotas {
                storage_bytes: settings.upload.user_quota_bytes,
                daily_bytes: settings.upload.daily_quota_bytes,
            },
        }
    }
}

/// The upload routes and state, to mount into any server.
#[derive(Clone)]
pub struct UploadService {
    ctx: web::Data<UploadContext>,
    sweep_every: std::time::Duration,
}

impl UploadService {
    pub fn new(pool: PgPool, storage: Arc<dyn Storage>, settings: &Settings) -> Self {
        Self {
            ctx: web::Data::new(UploadContext::from_settings(pool, storage, settings)),
            sweep_every: std::time::Duration::from_secs(settings.upload.sweep_seconds.max(1)),
        }
    }

    /// Every route this service serves: the multipart POST, tus, direct uploads.
    pub fn routes() -> Vec<RouteSpec> {
        use skillreel_web::openapi::{Body, Doc, Success, schema};
        let mut routes = vec![
            RouteSpec::new(Method::POST, "/api/v1/videos", || web::post().to(multipart::post_video)).doc(
                Doc::new(
                    "upload",
                    "Upload a small video in one request",
                    Success::Created(schema::<skillreel_contracts::views::VideoView>()),
                )
                .body(Body::Multipart(schema::<multipart::VideoUploadForm>())),
            ),
        ];
        routes.extend(tus::routes());
        routes.extend(direct::routes());
        routes
    }

    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.ctx.clone());
        skillreel_web::mount(cfg, &Self::routes());
    }

    /// Starts the background task that removes abandoned uploads, stopped with `tasks`.
    pub fn spawn_background(&self, tasks: &mut BackgroundTasks) {
        tasks.add(tus::spawn_sweeper(
            self.ctx.clone().into_inner(),
            self.sweep_every,
            tasks.stop_token(),
        ));
    }
}

pub use skillreel_web::StartError;

/// Where a standalone upload service serves its own OpenAPI document (beside the
/// catalog, `skillreel dev` serves the union at `/api/v1/openapi.json`).
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";

/// The upload service as a standalone server.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    tasks: BackgroundTasks,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let backends = Backends::connect(&settings).await?;
        let authenticator = web::Data::new(Authenticator::from_settings(&settings.auth, backends.pool.clone())?);
        let service = UploadService::new(backends.pool, backends.storage, &settings);
        let mut tasks = BackgroundTasks::default();
        service.spawn_background(&mut tasks);
        let (listener, port) = skillreel_web::bind(&settings.server)?;
        let document = ApiDocument::of(&[&UploadService::routes()]);
        let mut known = KnownRoutes::of(&UploadService::routes());
        known.add(Method::GET, DOCUMENT_PATH);
        let server = skillreel_web::serve(
            listener,
            web::Data::new(Metrics::default()),
            backends.readiness,
            known,
            move |cfg| {
                cfg.app_data(authenticator.clone());
                cfg.app_data(document.clone());
                service.configure(cfg);
                skillreel_web::mount(
                    cfg,
                    &[RouteSpec::new(Method::GET, DOCUMENT_PATH, || {
                        web::get().to(serve_document)
                    })],
                );
            },
        )?;
        Ok(Self { port, server, tasks })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (tests restart replicas with it).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Runs until the server stops (on SIGINT/SIGTERM), then stops and awaits the
    /// upload sweeper.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.tasks.shutdown().await;
        result
    }
}
