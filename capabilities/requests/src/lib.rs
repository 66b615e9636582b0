//! Content requests, a knowledge marketplace: anyone asks colleagues for a video on a
//! topic (`POST /api/v1/requests`), others upvote it, a contributor claims it and
//! fulfils it with a published video of theirs.
//!
//! - **The board** ([`board`]): open requests, searchable (the same words, prefixes and
//!   stems as video search) and filtered by skill, ranked by votes or newest first;
//!   the author edits or closes their request; anyone votes once (the author's own
//!   request carries their vote).
//! - **Claim and fulfil** ([`fulfil`]): one contributor holds a claim at a time; the
//!   video that fulfils a request must be published, theirs, and one the requester may
//!   see. The requester and every voter are told when it is claimed and when it is
//!   fulfilled; the fulfilment is a domain event (`request.fulfilled`), which the
//!   recognition capability turns into reputation and the request fulfiller badge.
//!
//! Requests are visible to everyone in the organisation. The capability owns its
//! routes ([`RequestsService::routes`], mounted by the catalog service), its SQL and its
//! tests (`tests/tests/requests`).

use actix_web::web;
use skillreel_learning::Clock;
use skillreel_web::RouteSpec;
use sqlx::PgPool;

mod board;
mod fulfil;
mod routes;
mod store;
mod view;

/// What the capability's handlers share.
pub struct RequestsContext {
    pub pool: PgPool,
    /// When a request was asked, claimed and fulfilled (learning's, so tests move both).
    pub clock: Clock,
}

/// The capability's routes and state, to mount into a service.
#[derive(Clone)]
pub struct RequestsService {
    ctx: web::Data<RequestsContext>,
}

impl RequestsService {
    pub fn new(pool: PgPool, clock: Clock) -> Self {
        Self {
            ctx: web::Data::new(RequestsContext { pool, clock }),
        }
    }

    /// Every route of the capability, documented.
    pub fn routes() -> Vec<RouteSpec> {
        routes::routes()
    }

    /// Registers the state the routes need (the host mounts [`RequestsService::routes`]
    /// with its own, so that one document and one 404/405 table cover them all).
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.ctx.clone());
    }
}
