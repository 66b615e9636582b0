//! `skillreel dev`: the whole platform in one process.

use std::path::Path;

use actix_web::web;
use figment::Figment;
use figment::providers::Serialized;
use skillreel_auth::Authenticator;
use skillreel_catalog::{CatalogService, FederationInstance as Instance};
use skillreel_config::Settings;
use skillreel_transcoder::CancellationToken;
use skillreel_transcoder::{Worker, WorkerSettings};
use skillreel_upload::UploadService;
use skillreel_web::ops::Metrics;
use skillreel_web::{Backends, BackgroundTasks, KnownRoutes};

use crate::embedded_pg::EmbeddedPostgres;
use crate::token::dev_secret;

pub async fn run(data_dir: &Path, host: &str, port: u16) -> Result<(), String> {
    std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let data_dir = std::fs::canonicalize(data_dir).map_err(|e| e.to_string())?;
    let jwt_secret = dev_secret(&data_dir, "dev-jwt-secret")?;
    let media_key = dev_secret(&data_dir, "dev-media-key")?;

    let embedded = match std::env::var("DATABASE_URL") {
        Ok(_) => None,
        Err(_) => Some(EmbeddedPostgres::start(&data_dir.join("postgres")).await?),
    };
    let mut overrides = Figment::new()
        .merge(Serialized::default("server.host", host))
        .merge(Serialized::default("server.port", port))
        .merge(Serialized::default("database.migrate", true))
        .merge(Serialized::default("storage.local_root", data_dir.join("media")))
        .merge(Serialized::default("auth.hs256_secret", &jwt_secret))
        .merge(Serialized::default("media.signing_key", &media_key))
        .merge(Serialized::default("transcoder.work_dir", data_dir.join("work")))
        .merge(Serialized::default("catalog.search_index_dir", data_dir.join("search")));
    // Local files unless the environment chooses a store (`SKILLREEL__STORAGE__BACKEND=s3`
    // with its `SKILLREEL__STORAGE__S3__*`): direct uploads need S3.
    if std::env::var_os("SKILLREEL__STORAGE__BACKEND").is_none() {
        overrides = overrides.merge(Serialized::default("storage.backend", "local"));
    }
    if let Some(pg) = &embedded {
        overrides = overrides.merge(Serialized::default("database.url", &pg.url));
    }
    let result = match Settings::load_with(None, overrides) {
        Ok(settings) => serve(settings).await,
        Err(e) => Err(e.to_string()),
    };
    if let Some(pg) = embedded {
        pg.stop();
    }
    result
}

async fn serve(settings: Settings) -> Result<(), String> {
    skillreel_web::telemetry::init(&settings.log);
    let backends = Backends::connect(&settings).await.map_err(|e| e.to_string())?;
    let authenticator =
        Authenticator::from_settings(&settings.auth, backends.pool.clone()).map_err(|e| e.to_string())?;
    let authenticator = web::Data::new(authenticator);
    let metrics = web::Data::new(Metrics::default());
    let upload = UploadService::new(backends.pool.clone(), backends.storage.clone(), &settings);
    let (listener, port) = skillreel_web::bind(&settings.server).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let instance = Instance::resolve(&settings, port)?;
    let mut catalog = CatalogService::new(backends.pool.clone(), backends.storage.clone(), &settings, instance);
    catalog.document_also(&UploadService::routes());
    let mut tasks = BackgroundTasks::default();
    upload.spawn_background(&mut tasks);
    catalog.spawn_background(&mut tasks);
    let worker = Worker::new(
        backends.pool,
        backends.storage,
        WorkerSettings::from_settings(&settings),
    );
    worker.register_metrics(&metrics);
    catalog.register_metrics(&metrics);

    let mut known = KnownRoutes::of(&UploadService::routes());
    known.add_specs(&CatalogService::routes());
    let server = skillreel_web::serve(listener, metrics, backends.readiness, known, move |cfg| {
        cfg.app_data(authenticator.clone());
        upload.configure(cfg);
        catalog.configure(cfg);
    })
    .map_err(|e| e.to_string())?;

    let shutdown = CancellationToken::new();
    let workers = skillreel_transcoder::spawn_worker(worker, shutdown.clone());
    println!("Skillreel is listening on http://{addr}  (Ctrl-C to stop)");
    let served = server.await;
    shutdown.cancel();
    let _ = workers.await;
    tasks.shutdown().await;
    served.map_err(|e| e.to_string())
}
