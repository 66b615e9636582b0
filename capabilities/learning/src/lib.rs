//! Learning: what people use Skillreel to assign and to follow.
//!
//! - **Journeys** ([`journeys`]): ordered steps, each a video with a note, published
//!   under the same approval policies and access rules as a video; a step whose video
//!   the viewer may not see is shown as unavailable.
//! - **Assignments** ([`assignments`]): a manager requires or recommends a journey or a
//!   video to their direct and indirect reports (an admin to anyone), with a due date;
//!   each person's list sorted by urgency; a reminder before the due date and a notice
//!   when overdue ([`reminders`]), once each, whichever replica sends them.
//!   A colleague's recommendation shows on the recipient's list as `peerRecommended`
//!   ([`assignments::peer`]), fed by the recommendations capability's events.
//! - **Progress** ([`progress`]): the player's heartbeats become seconds actually
//!   watched (the union over every device and session, judged against the server's
//!   clock: a seek earns nothing); a video is complete at 90 %, a journey when every
//!   available step is; team reports for managers, as JSON or CSV.
//! - **The learning record** ([`xapi`]): learning events as xAPI 1.0.3 statements
//!   (the Video Profile for the player), kept here and sent to the organisation's LRS.
//!
//! The capability owns its routes ([`LearningService::routes`], mounted by the catalog
//! service), its SQL and its tests (`tests/tests/learning`). Access is the domain's
//! policy ([`skillreel_domain::access`]); what happens is recorded as domain events.

use std::sync::Arc;

use actix_web::web;
use skillreel_config::{LearningSettings, XapiSettings};
use skillreel_web::{BackgroundTasks, RouteSpec};
use sqlx::PgPool;

mod access;
mod assignments;
pub mod clock;
pub mod items;
mod journeys;
pub mod org;
mod progress;
mod reminders;
mod routes;
pub mod xapi;

pub use clock::Clock;

/// What learning's handlers share.
pub struct LearningContext {
    pub pool: PgPool,
    pub clock: Clock,
    pub settings: LearningSettings,
    pub xapi: Arc<XapiSettings>,
    /// Video facts for heartbeats (see [`access::FactsCache`]).
    pub videos: access::FactsCache,
}

/// Learning's routes, state and background work, to mount into a service.
#[derive(Clone)]
pub struct LearningService {
    ctx: web::Data<LearningContext>,
}

impl LearningService {
    pub fn new(pool: PgPool, settings: &LearningSettings, xapi: &XapiSettings, clock: Clock) -> Self {
        Self {
            ctx: web::Data::new(LearningContext {
                pool,
                clock,
                settings: settings.clone(),
                xapi: Arc::new(xapi.clone()),
                videos: access::FactsCache::new(std::time::Duration::from_secs(settings.video_cache_seconds)),
            }),
        }
    }

    /// Every learning route, documented.
    pub fn routes() -> Vec<RouteSpec> {
        routes::routes()
    }

    /// Registers the state the routes need (the host mounts [`LearningService::routes`]
    /// with its own, so that one document and one 404/405 table cover them all).
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.ctx.clone());
    }

    /// Starts the reminder pass (see [`reminders`]), the `xapi` consumer and, with an
    /// LRS configured, the forwarder ([`xapi`]), stopped with `tasks`.
    pub fn spawn_background(&self, tasks: &mut BackgroundTasks) {
        let ctx = &self.ctx;
        tasks.add(reminders::spawn(ctx.clone().into_inner(), tasks.stop_token()));
        tasks.add(assignments::peer::spawn_consumer(
            ctx.pool.clone(),
            ctx.clock.clone(),
            tasks.stop_token(),
        ));
        tasks.add(xapi::spawn_consumer(
            ctx.pool.clone(),
            ctx.xapi.clone(),
            tasks.stop_token(),
        ));
        if let Some(forwarder) = xapi::forward::spawn(ctx.pool.clone(), ctx.xapi.clone(), tasks.stop_token()) {
            tasks.add(forwarder);
        }
    }
}
