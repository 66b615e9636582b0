//! The catalog service: what people browse and watch.
//!
//! Videos ([`videos`]): search and list what the caller may see, read, edit, delete,
//! publish under the community's approval policy, review, like, count views, flag;
//! the caller's own videos in every state. Communities of practice
//! ([`communities`]). Each person's inbox ([`inbox`]). Playback of a video's HLS
//! files, posters and storyboard through short-lived signed URLs ([`playback`]), so a
//! player needs no `Authorization` header. Who may see a video is decided in [`access`], next to the
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
mod captions;
mod comments;
mod communities;
mod import;
mod inbox;
pub mod media;
mod people;
mod playback;
mod videos;
pub mod views;
mod webhooks;

pub use media::MediaSigner;

/// What the catalog's handlers share.
pub struct CatalogContext {
    pub pool: PgPool,
    pub storage: Arc<dyn Storage>,
    pub signer: MediaSigner,
    pub public_url: Option<String>,
    /// Flags that send a published video back to review.
    pub flag_threshold: i32,
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
                flag_threshold: settings.catalog.flag_threshold.max(1),
            }),
        }
    }

    /// Starts sending queued webhook deliveries, for as long as the process runs (any
    /// number of replicas may: deliveries are claimed with `skip locked`).
    pub fn spawn_webhook_deliverer(&self) -> tokio::task::JoinHandle<()> {
        webhooks::spawn_deliverer(self.ctx.pool.clone(), tokio_util::sync::CancellationToken::new())
    }

    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.ctx.clone())
            .route("/api/v1/admin/jobs", web::get().to(admin::list_jobs))
            .route("/api/v1/admin/jobs/{id}/retry", web::post().to(admin::retry_job))
            .route("/api/v1/admin/users:import", web::post().to(import::import))
            .route("/api/v1/admin/webhooks", web::get().to(webhooks::list))
            .route("/api/v1/admin/webhooks", web::post().to(webhooks::create))
            .route("/api/v1/admin/webhooks/{id}", web::delete().to(webhooks::delete))
            .route(
                "/api/v1/admin/webhooks/{id}/deliveries",
                web::get().to(webhooks::deliveries),
            )
            .route("/api/v1/videos", web::get().to(videos::list_videos))
            .route("/api/v1/videos/{id}", web::get().to(videos::get_video))
            .route("/api/v1/videos/{id}", web::patch().to(videos::patch_video))
            .route("/api/v1/videos/{id}", web::delete().to(videos::delete_video))
            .route("/api/v1/videos/{id}/publish", web::post().to(videos::publish))
            .route("/api/v1/videos/{id}/review", web::post().to(videos::review))
            .route("/api/v1/videos/{id}/like", web::put().to(videos::like))
            .route("/api/v1/videos/{id}/like", web::delete().to(videos::unlike))
            .route("/api/v1/videos/{id}/views", web::post().to(videos::record_view))
            .route("/api/v1/videos/{id}/flag", web::post().to(videos::flag))
            .route("/api/v1/videos/{id}/captions", web::get().to(captions::list))
            .route("/api/v1/videos/{id}/captions/{lang}", web::put().to(captions::put))
            .route(
                "/api/v1/videos/{id}/captions/{lang}",
                web::delete().to(captions::delete),
            )
            .route("/api/v1/videos/{id}/comments", web::get().to(comments::list))
            .route("/api/v1/videos/{id}/comments", web::post().to(comments::create))
            .route("/api/v1/comments/{id}", web::patch().to(comments::edit))
            .route("/api/v1/comments/{id}", web::delete().to(comments::delete))
            .route("/api/v1/comments/{id}/accept", web::post().to(comments::accept))
            .route("/api/v1/reviews", web::get().to(videos::review_queue))
            .route("/api/v1/me", web::get().to(people::me))
            .route("/api/v1/users/{id}", web::get().to(people::profile))
            .route("/api/v1/me/videos", web::get().to(videos::my_videos))
            .route("/api/v1/me/inbox", web::get().to(inbox::list))
            .route("/api/v1/me/inbox/read-all", web::post().to(inbox::mark_all_read))
            .route("/api/v1/me/inbox/{id}/read", web::post().to(inbox::mark_read))
            .route("/api/v1/communities", web::get().to(communities::list))
            .route("/api/v1/communities", web::post().to(communities::create))
            .route("/api/v1/communities/{id}", web::get().to(communities::get))
            .route("/api/v1/communities/{id}", web::patch().to(communities::update))
            .route("/api/v1/communities/{id}/membership", web::put().to(communities::join))
            .route(
                "/api/v1/communities/{id}/membership",
                web::delete().to(communities::leave),
            )
            .route("/api/v1/communities/{id}/members", web::get().to(communities::members))
            .route(
                "/api/v1/communities/{id}/contributors",
                web::get().to(communities::contributors),
            )
            .route(
                "/api/v1/communities/{id}/moderators/{user_id}",
                web::put().to(communities::set_moderator),
            )
            .route(
                "/api/v1/communities/{id}/moderators/{user_id}",
                web::delete().to(communities::set_moderator),
            )
            .route(
                "/api/v1/media/{video_id}/{token}/{path:.*}",
                web::get().to(playback::get_media),
            )
            .route(
                "/api/v1/media/{video_id}/{token}/{path:.*}",
                web::head().to(playback::get_media),
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
        service.spawn_webhook_deliverer();
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
