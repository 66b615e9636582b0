//! Federation: Skillreel instances (an organisation's regions and subsidiaries, or a
//! partner organisation) that follow each other over ActivityPub, under each
//! organisation's control. `docs/FEDERATION.md` lists what is sent and understood.
//!
//! - **Discovery** ([`discovery`]): the instance actor (an ActivityStreams
//!   `Application` with inbox, outbox, followers and public key), people as `Person`
//!   actors, `/.well-known/webfinger`, `/.well-known/nodeinfo` and NodeInfo 2.1.
//! - **Signatures** ([`signature`]): HTTP Signatures as the fediverse uses them, on
//!   every delivery and every fetch; checked on every activity that reaches the inbox.
//! - **The inbox** ([`inbox`]): a signed activity from an instance this one federates
//!   with is verified (signature, `Digest`, `Date` window, replay, size, the sender's
//!   instance allowed and not blocked) and applied once.
//! - **Instance follows** ([`follows`]): admins follow instances, accept or refuse the
//!   ones that follow them, allow partners and block instances; allowlist mode
//!   (partners only, the default) or open mode.
//! - **Videos** ([`videos`]): a published video with visibility `federated` is sent to
//!   the instances that follow this one (`Create` and `Announce`, in PeerTube's `Video`
//!   shape), edits as `Update`, removal as `Delete`; partners fetch it signed.
//! - **Remote videos** (`remote_videos`): what followed instances federate is kept
//!   here (`Create`/`Update`/`Delete{Video}`) and listed to local people with its
//!   origin, played from the origin.
//! - **Remote content is ours to use**: a partner's video is a `video` row marked with
//!   its origin, its author an `app_user` row (`people`), so search, lists, "for you",
//!   journeys, assignments and progress treat it like our own.
//! - **Mirroring** (`mirror`): with `federation.mirror_media`, partners' videos are
//!   copied into our storage and play from here.
//! - **Likes** (`likes`) and **comments** (`comments`): people here like and comment
//!   on partners' videos as on ours (the origin is sent `Like`/`Undo` and
//!   `Create{Note}`/`Delete`); partners' likes and comments on our federated videos
//!   count and show here.
//! - **Journeys** (`journeys`): a federated journey goes to followers as a `Playlist`;
//!   a partner's becomes a journey here that managers assign.
//! - **Delivery** ([`delivery`]): activities leave through the job queue, retried with
//!   backoff per inbox, behind a circuit breaker per instance, and given up once an
//!   instance has been unreachable too long; never in the request that caused them.
//!
//! Mounted by the catalog service; its routes join the catalog's route table.

use std::sync::Arc;

use actix_web::web;
use skillreel_config::{FederationMode, FederationSettings};
use skillreel_contracts::MediaSigner;
use skillreel_web::RouteSpec;
use skillreel_web::egress::EgressPolicy;
use sqlx::PgPool;

mod admin;
mod comments;
pub mod delivery;
mod discovery;
mod follows;
mod inbox;
pub mod instance;
mod journeys;
pub mod keys;
mod likes;
mod mirror;
pub mod objects;
mod people;
mod remote;
mod remote_videos;
mod routes;
pub mod signature;
mod store;
pub mod videos;

pub use instance::Instance;

/// What the capability's handlers and background tasks share.
pub struct FederationContext {
    pub pool: PgPool,
    pub settings: FederationSettings,
    /// Who this instance is: its URLs and, once loaded, its key.
    pub instance: Arc<Instance>,
    pub egress: EgressPolicy,
    /// Signs the media URLs of the videos partners are sent.
    pub media: MediaSigner,
    /// Where partners' media are mirrored (`federation.mirror_media`).
    pub storage: Arc<dyn skillreel_storage::Storage>,
    /// Fetches from other instances (actors, keys), through the egress policy.
    client: reqwest::Client,
}

impl FederationContext {
    /// Whether an instance's activities and follows are accepted: never when blocked;
    /// in allowlist mode only when an admin allowed it (following allows it).
    pub(crate) fn admits(&self, status: store::InstanceStatus) -> bool {
        match status {
            store::InstanceStatus::Blocked => false,
            store::InstanceStatus::Allowed => true,
            store::InstanceStatus::Known => self.settings.mode == FederationMode::Open,
        }
    }
}

/// The capability's routes and state, to mount into a service.
#[derive(Clone)]
pub struct FederationService {
    ctx: web::Data<FederationContext>,
}

impl FederationService {
    /// The capability for the instance reached at `instance` (see [`Instance::resolve`]),
    /// signing media URLs with `media`.
    pub fn new(
        pool: PgPool,
        settings: &FederationSettings,
        media: MediaSigner,
        storage: Arc<dyn skillreel_storage::Storage>,
        instance: Instance,
    ) -> Self {
        let egress = EgressPolicy::new(&settings.allowed_private_hosts, "federation.allowed_private_hosts");
        let client = egress.client(remote::TIMEOUT).unwrap_or_else(|e| {
            // Building a client only fails when TLS cannot initialise; fetches then fail
            // one by one with a clear reason instead of the server not starting.
            tracing::error!(error = %e, "federation: no HTTP client with the egress policy");
            reqwest::Client::new()
        });
        Self {
            ctx: web::Data::new(FederationContext {
                pool,
                settings: settings.clone(),
                instance: Arc::new(instance),
                egress,
                media,
                storage,
                client,
            }),
        }
    }

    /// Every route of the capability: the protocol's (undocumented in the OpenAPI
    /// document, specified by ActivityPub, WebFinger and NodeInfo) and the admin API.
    pub fn routes() -> Vec<RouteSpec> {
        routes::routes()
    }

    /// Registers the state the routes need.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.ctx.clone());
    }

    /// Sends queued activities and prunes what replay protection remembers, and turns
    /// video events into activities for followers, until `tasks` stop; any number of
    /// replicas may.
    pub fn spawn_background(&self, tasks: &mut skillreel_web::BackgroundTasks) {
        if !self.ctx.settings.enabled {
            return;
        }
        tasks.add(delivery::spawn(self.ctx.clone().into_inner(), tasks.stop_token()));
        tasks.add(videos::spawn_consumer(
            self.ctx.clone().into_inner(),
            tasks.stop_token(),
        ));
    }
}
