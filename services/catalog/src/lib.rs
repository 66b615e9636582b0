//! The catalog service: what people browse and watch.
//!
//! Videos ([`videos`]): search and list what the caller may see, read, edit, delete,
//! publish under the community's approval policy, review, like, count views, flag;
//! the caller's own videos in every state. Communities of practice
//! ([`communities`]). Each person's inbox ([`inbox`]). Playback of a video's HLS
//! files, posters and storyboard through short-lived signed URLs ([`playback`]), so a
//! player needs no `Authorization` header. Who may see a video is decided in [`access`], next to the
//! query that loads it.
//!
//! It hosts the capabilities that have crates of their own: learning
//! (`skillreel-learning`), recommendations (`skillreel-recommendations`), recognition
//! (`skillreel-recognition`), content requests (`skillreel-requests`) and federation
//! (`skillreel-federation`), whose routes join its route table.

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::web;
use skillreel_auth::Authenticator;
use skillreel_config::Settings;
use skillreel_contracts::views::MediaLinks;
use skillreel_db::videos::{CommonList, Listed, ReaderFacts, VideoRecord};
use skillreel_domain::{CommunityId, UserId, VideoId};
use skillreel_federation::{FederationService, Instance};
use skillreel_learning::{Clock, LearningService};
use skillreel_recognition::RecognitionService;
use skillreel_recommendations::RecommendationsService;
use skillreel_requests::RequestsService;
use skillreel_storage::Storage;
use skillreel_web::openapi::{ApiDocument, serve_document};
use skillreel_web::ops::Metrics;
use skillreel_web::{ApiError, Backends, BackgroundTasks, Coalescer, KnownRoutes, RouteSpec, StartError};
use sqlx::PgPool;
use uuid::Uuid;

pub mod access;
mod admin;
mod captions;
mod import;
mod notify;
pub mod openapi;
mod playback;
pub mod read_cache;
mod scores;
mod search;
mod social;
mod videos;
pub mod views;

use notify::webhooks;
use skillreel_web::egress;

pub use skillreel_contracts::MediaSigner;
pub use skillreel_federation::Instance as FederationInstance;
pub use skillreel_learning::Clock as LearningClock;

/// What the catalog's handlers share.
pub struct CatalogContext {
    pub pool: PgPool,
    pub storage: Arc<dyn Storage>,
    pub signer: MediaSigner,
    pub public_url: Option<String>,
    /// Flags that send a published video back to review.
    pub flag_threshold: i32,
    pub cache: Arc<read_cache::ReadCache>,
    /// Where webhooks may point.
    pub egress: egress::EgressPolicy,
    /// Who searched today, for the participation analytics.
    pub searches: skillreel_recognition::participation::record::Searches,
    /// How often engagements are folded into the popular and trending scores.
    pub score_fold_interval: std::time::Duration,
    /// The search index, once the background work has opened it (see
    /// [`CatalogService::spawn_background`]); searches use PostgreSQL until then.
    pub search: std::sync::OnceLock<Arc<skillreel_search::SearchIndex>>,
    search_settings: (bool, Option<std::path::PathBuf>),
    /// Point reads (`GET /videos/{id}`) that arrive together, asked in one statement;
    /// `None` (`catalog.point_read_lanes = 0`): each read its own statement.
    pub point_reads: Option<PointReads>,
    /// First pages of the lists most people ask for (feed, popular, trending, one tag,
    /// one community) that arrive together, asked in one statement; `None`
    /// (`catalog.list_lanes = 0`): each listing its own statement.
    pub first_pages: Option<FirstPages>,
    /// What searches answered by the index ask of the database, for searches that
    /// arrive together in one statement; `None` (`catalog.search_lanes = 0`): each
    /// search its own statements.
    pub search_reads: Option<SearchReads>,
}

impl CatalogContext {
    /// Drops what the read cache holds of `video`, after a change the caller just made
    /// (other replicas hear of it from PostgreSQL).
    pub fn changed(&self, video: skillreel_domain::VideoId) {
        self.cache.forget_video(video);
    }

    /// As [`CatalogContext::changed`], for a change to what searches find (its text,
    /// status or audience), not just its counts.
    pub fn listing_changed(&self, video: skillreel_domain::VideoId) {
        self.cache.forget_video(video);
        self.cache.forget_searches();
    }

    /// How media URLs are built for this request (once per request, whatever it lists).
    pub fn media_links(&self, req: &actix_web::HttpRequest) -> MediaLinks<'_> {
        MediaLinks {
            base_url: skillreel_web::public_base_url(self.public_url.as_deref(), req),
            signer: &self.signer,
        }
    }
}

/// Point reads by (video, reader), batched: the video and that reader's facts, if it exists.
pub type PointReads = Coalescer<(VideoId, UserId), Option<(VideoRecord, ReaderFacts)>>;

/// First pages by (reader, page), batched.
pub type FirstPages = Coalescer<(UserId, CommonList), Listed>;

/// What searches answered by the index ask of the database, batched: by reader, how
/// far the index must have caught up and the reader's communities; by page (the ids
/// the index found), the videos.
pub struct SearchReads {
    pub contexts: Coalescer<UserId, (i64, Vec<CommunityId>)>,
    pub pages: Coalescer<Vec<Uuid>, Vec<VideoRecord>>,
}

/// How long a batched request waits: for a lane as long as it would for a pool
/// connection, then for its statement.
fn batch_waits(pool: &PgPool, settings: &Settings) -> (std::time::Duration, std::time::Duration) {
    // (a statement limit of 0 is none: then an hour stands for "as long as it takes")
    let statement_limit = match settings.database.statement_timeout_ms {
        0 => 3_600_000,
        ms => ms,
    };
    let acquire = pool.options().get_acquire_timeout();
    (acquire, acquire + std::time::Duration::from_millis(statement_limit))
}

/// A batch's lookup, given the pool to take its connection from.
type PooledLookup<K, V> =
    fn(PgPool, Vec<K>) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<V>, ApiError>> + Send>>;

/// A batcher with `lanes` statements in flight at once, each for at most 64 keys (see
/// [`batch_waits`]). No lanes, no batcher.
fn batcher<K: Send + 'static, V: Send + 'static>(
    name: &'static str,
    lanes: usize,
    pool: &PgPool,
    settings: &Settings,
    lookup: PooledLookup<K, V>,
) -> Option<Coalescer<K, V>> {
    if lanes == 0 {
        return None;
    }
    let lookup_pool = pool.clone();
    Some(Coalescer::new(
        name,
        lanes,
        64,
        batch_waits(pool, settings),
        Arc::new(move |asked| lookup(lookup_pool.clone(), asked)),
    ))
}

fn point_reads(pool: &PgPool, settings: &Settings) -> Option<PointReads> {
    batcher(
        "point read",
        settings.catalog.point_read_lanes,
        pool,
        settings,
        |pool, asked| {
            Box::pin(async move {
                let mut conn = pool.acquire().await?;
                skillreel_db::videos::find_for_readers(&mut conn, &asked)
                    .await
                    .map_err(videos::lookup_error)
            })
        },
    )
}

fn first_pages(pool: &PgPool, settings: &Settings) -> Option<FirstPages> {
    batcher(
        "first page",
        settings.catalog.list_lanes,
        pool,
        settings,
        |pool, asked| {
            Box::pin(async move {
                let mut conn = pool.acquire().await?;
                skillreel_db::videos::first_pages(&mut conn, &asked)
                    .await
                    .map_err(videos::lookup_error)
            })
        },
    )
}

fn search_reads(pool: &PgPool, settings: &Settings) -> Option<SearchReads> {
    let lanes = settings.catalog.search_lanes;
    let contexts = batcher("search context", lanes, pool, settings, |pool, readers| {
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            skillreel_search::feed::search_contexts(&mut conn, &readers)
                .await
                .map_err(ApiError::from)
        })
    })?;
    let pages = batcher("search page", lanes, pool, settings, |pool, pages: Vec<Vec<Uuid>>| {
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            let pages = pages
                .into_iter()
                .map(|ids| ids.into_iter().map(|id| (id, ())).collect())
                .collect();
            let loaded = skillreel_db::videos::load_pages(&mut conn, pages)
                .await
                .map_err(videos::lookup_error)?;
            Ok(loaded
                .into_iter()
                .map(|page| page.into_iter().map(|(video, ())| video).collect())
                .collect())
        })
    })?;
    Some(SearchReads { contexts, pages })
}

/// The catalog's routes and state, to mount into any server, with the capabilities it
/// hosts (learning, recommendations, recognition).
#[derive(Clone)]
pub struct CatalogService {
    ctx: web::Data<CatalogContext>,
    learning: LearningService,
    recommendations: RecommendationsService,
    recognition: RecognitionService,
    requests: RequestsService,
    federation: FederationService,
    document: web::Data<ApiDocument>,
}

impl CatalogService {
    /// The catalog on the system clock, federating as `instance` (see
    /// [`Instance::resolve`]).
    pub fn new(pool: PgPool, storage: Arc<dyn Storage>, settings: &Settings, instance: Instance) -> Self {
        Self::with_clock(pool, storage, settings, instance, Clock::system())
    }

    /// The catalog with learning on `clock` (tests move a manual one).
    pub fn with_clock(
        pool: PgPool,
        storage: Arc<dyn Storage>,
        settings: &Settings,
        instance: Instance,
        clock: Clock,
    ) -> Self {
        let signer = MediaSigner::new(
            settings.media.signing_key.expose().as_bytes(),
            settings.media.url_ttl_seconds,
        );
        let recognition = RecognitionService::new(pool.clone(), clock.clone());
        Self {
            document: ApiDocument::of(&[&Self::routes()]),
            learning: LearningService::new(pool.clone(), &settings.learning, &settings.xapi, clock.clone()),
            recommendations: RecommendationsService::new(pool.clone(), &settings.recommendations, clock.clone()),
            requests: RequestsService::new(pool.clone(), clock),
            federation: FederationService::new(
                pool.clone(),
                &settings.federation,
                signer.clone(),
                storage.clone(),
                instance,
            ),
            ctx: web::Data::new(CatalogContext {
                searches: recognition.searches(),
                point_reads: point_reads(&pool, settings),
                first_pages: first_pages(&pool, settings),
                search_reads: search_reads(&pool, settings),
                pool,
                storage,
                signer,
                public_url: settings.server.public_url.clone(),
                flag_threshold: settings.catalog.flag_threshold.max(1),
                score_fold_interval: std::time::Duration::from_millis(settings.catalog.score_fold_interval_ms.max(10)),
                search: std::sync::OnceLock::new(),
                search_settings: (settings.catalog.search_index, settings.catalog.search_index_dir.clone()),
                cache: Arc::new(read_cache::ReadCache::new(
                    std::time::Duration::from_secs(settings.catalog.cache_ttl_seconds),
                    settings.catalog.cache_entries,
                )),
                egress: egress::EgressPolicy::new(
                    &settings.catalog.webhook_allowed_hosts,
                    "catalog.webhook_allowed_hosts",
                ),
            }),
            recognition,
        }
    }

    /// Starts the catalog's background work, stopped with `tasks`: sending queued
    /// webhook deliveries (any number of replicas may: deliveries are claimed with
    /// `skip locked`), and hearing of changes, which lets the read cache serve (see
    /// [`read_cache`]).
    pub fn spawn_background(&self, tasks: &mut BackgroundTasks) {
        let ctx = &self.ctx;
        tasks.add(webhooks::spawn_fan_out(ctx.pool.clone(), tasks.stop_token()));
        tasks.add(webhooks::spawn_deliverer(
            ctx.pool.clone(),
            ctx.egress.clone(),
            tasks.stop_token(),
        ));
        tasks.add(ctx.cache.clone().spawn_listener(ctx.pool.clone(), tasks.stop_token()));
        tasks.add(scores::spawn_folder(
            ctx.pool.clone(),
            ctx.score_fold_interval,
            tasks.stop_token(),
        ));
        if let Some(follower) = search::open(ctx, tasks.stop_token()) {
            tasks.add(follower);
        }
        self.learning.spawn_background(tasks);
        self.recognition.spawn_background(tasks);
        self.recommendations.spawn_background(tasks);
        self.federation.spawn_background(tasks);
    }

    /// Every route this service serves: the documented ones (see `openapi::routes`),
    /// learning's, and the document itself and its viewer.
    pub fn routes() -> Vec<RouteSpec> {
        let mut routes = openapi::routes();
        routes.extend(LearningService::routes());
        routes.extend(RecommendationsService::routes());
        routes.extend(RecognitionService::routes());
        routes.extend(RequestsService::routes());
        routes.extend(FederationService::routes());
        routes.push(RouteSpec::new(Method::GET, "/api/v1/openapi.json", || {
            web::get().to(serve_document)
        }));
        routes.push(RouteSpec::new(Method::GET, "/api/docs", || {
            web::get().to(openapi::serve_ui)
        }));
        routes
    }

    /// Adds the routes of a service mounted beside this one to the OpenAPI document
    /// served at `/api/v1/openapi.json` (`skillreel dev` adds the upload service's).
    pub fn document_also(&mut self, routes: &[RouteSpec]) {
        self.document = ApiDocument::of(&[&Self::routes(), routes]);
    }

    /// The catalog's own metrics: how many point reads, first pages and searches each
    /// statement carried.
    pub fn register_metrics(&self, metrics: &Metrics) {
        if let Some(point_reads) = &self.ctx.point_reads {
            metrics.register(
                "catalog_point_read_batch_size",
                "Point reads asked per statement",
                point_reads.batch_sizes(),
            );
        }
        if let Some(first_pages) = &self.ctx.first_pages {
            metrics.register(
                "catalog_first_page_batch_size",
                "First pages of listings asked per batch (one snapshot, a statement per kind of walk)",
                first_pages.batch_sizes(),
            );
        }
        if let Some(search_reads) = &self.ctx.search_reads {
            metrics.register(
                "catalog_search_context_batch_size",
                "Searches whose reader and index position were asked per statement",
                search_reads.contexts.batch_sizes(),
            );
            metrics.register(
                "catalog_search_page_batch_size",
                "Search pages whose videos were loaded per statement",
                search_reads.pages.batch_sizes(),
            );
        }
    }

    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.ctx.clone());
        cfg.app_data(self.document.clone());
        self.learning.configure(cfg);
        self.recommendations.configure(cfg);
        self.recognition.configure(cfg);
        self.requests.configure(cfg);
        self.federation.configure(cfg);
        skillreel_web::mount(cfg, &Self::routes());
    }
}

/// The catalog as a standalone server.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    tasks: BackgroundTasks,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// As [`Application::build`], with learning on `clock` (tests move a manual one).
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> Result<Self, StartError> {
        if settings.media.signing_key.expose().len() < 32 {
            return Err(StartError::Config(
                "media.signing_key must be at least 32 characters".into(),
            ));
        }
        let backends = Backends::connect(&settings).await?;
        let authenticator = web::Data::new(Authenticator::from_settings(&settings.auth, backends.pool.clone())?);
        let (listener, port) = skillreel_web::bind(&settings.server)?;
        let instance = Instance::resolve(&settings, port).map_err(StartError::Config)?;
        let service = CatalogService::with_clock(backends.pool, backends.storage, &settings, instance, clock);
        let mut tasks = BackgroundTasks::default();
        service.spawn_background(&mut tasks);
        let metrics = web::Data::new(Metrics::default());
        service.register_metrics(&metrics);
        let server = skillreel_web::serve(
            listener,
            metrics,
            backends.readiness,
            KnownRoutes::of(&CatalogService::routes()),
            move |cfg| {
                cfg.app_data(authenticator.clone());
                service.configure(cfg);
            },
        )?;
        Ok(Self { port, server, tasks })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (tests stop a replica with it).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Runs until the server stops (on SIGINT/SIGTERM), then stops and awaits the
    /// background tasks.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.tasks.shutdown().await;
        result
    }
}
