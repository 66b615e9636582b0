//! The catalog service: what people browse and watch.
//!
//! For now: a video (`GET|DELETE /api/v1/videos/{id}`), the newest-first list of what
//! the caller may see (`GET /api/v1/videos`), playback of a video's HLS files, poster
//! and storyboard through short-lived signed URLs (`/api/v1/media/...`), so a player
//! needs no `Authorization` header, and each person's inbox (`/api/v1/me/inbox`). Who may see a video is decided in [`access`], next to the
//! query that loads it.

use std::sync::Arc;

use actix_web::web;
use skillreel_auth::Authenticator;
use skillreel_config::Settings;
use skillreel_storage::Storage;
use skillreel_web::ops::Metrics;
use skillreel_web::{Backends, StartError};
use sqlx::PgPool;

pub mod access;
mod admin;
mod handlers;
mod inbox;
pub mod media;
pub mod views;

pub use media::MediaSigner;

/// What the catalog's handlers share.
pub struct CatalogContext {
    pub pool: PgPool,
    pub storage: Arc<dyn Storage>,
    pub signer: MediaSigner,
    pub public_url: Option<String>,
}

/// The catalog's routes and state, to mount into any server.
#[derive(Clone)]
pub struct CatalogService {
    ctx: web::Data<CatalogContext>,
}

impl CatalogService {
    pub fn new(pool: PgPool, storage: Arc<dyn Storage>, settings: &Settings) -> Self {
        let signer = MediaSigner::new(
            settings.media.signing_key.expose().as_bytes(),
            settings.media.url_ttl_seconds,
        );
        Self {
            ctx: web::Data::new(CatalogContext {
                pool,
                storage,
                signer,
                public_url: settings.server.public_url.clone(),
            }),
        }
    }

    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.ctx.clone())
            .route("/api/v1/admin/jobs", web::get().to(admin::list_jobs))
            .route("/api/v1/admin/jobs/{id}/retry", web::post().to(admin::retry_job))
            .route("/api/v1/videos", web::get().to(handlers::list_videos))
            .route("/api/v1/videos/{id}", web::get().to(handlers::get_video))
            .route("/api/v1/videos/{id}", web::delete().to(handlers::delete_video))
            .route("/api/v1/me/inbox", web::get().to(inbox::list))
            .route("/api/v1/me/inbox/read-all", web::post().to(inbox::mark_all_read))
            .route("/api/v1/me/inbox/{id}/read", web::post().to(inbox::mark_read))
            .route(
                "/api/v1/media/{video_id}/{token}/{path:.*}",
                web::get().to(handlers::get_media),
            )
            .route(
                "/api/v1/media/{video_id}/{token}/{path:.*}",
                web::head().to(handlers::get_media),
            );
    }
}

/// The catalog as a standalone server.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        if settings.media.signing_key.expose().len() < 32 {
            return Err(StartError::Config(
                "media.signing_key must be at least 32 characters".into(),
            ));
        }
        let backends = Backends::connect(&settings).await?;
        let authenticator = web::Data::new(Authenticator::from_settings(&settings.auth, backends.pool.clone())?);
        let service = CatalogService::new(backends.pool, backends.storage, &settings);
        let (listener, port) = skillreel_web::bind(&settings.server)?;
        let server = skillreel_web::serve(
            listener,
            web::Data::new(Metrics::default()),
            backends.readiness,
            move |cfg| {
                cfg.app_data(authenticator.clone());
                service.configure(cfg);
            },
        )?;
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
