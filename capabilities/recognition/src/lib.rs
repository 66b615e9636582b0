//! Recognition: reputation for what colleagues do with a person's content, kudos from
//! managers, badges and leaderboards.
//!
//! - **Reputation** ([`ledger`]): the `reputation` consumer turns domain events into
//!   entries of a ledger, each with its points and its reason in words: a like
//!   received, your content recommended by a colleague, your video completed by
//!   someone else, your answer accepted, a colleague's content request fulfilled,
//!   kudos. The domain's rule
//!   ([`skillreel_domain::recognition::credited`]) keeps self-dealing from paying: your
//!   own acts earn nothing, one colleague's acts are capped per 30 days (a burst is
//!   damped), two people who credit each other earn half and less (a ring of mutual
//!   likes is capped). Every act counts once, however often its event is read.
//! - **Badges** ([`ledger::badges`]): first video, 10 likes received, 100 learners
//!   reached, first accepted answer, top contributor of the month in a community,
//!   request fulfiller; each
//!   awarded once (a primary key, not a check), with a notification.
//! - **Kudos** ([`kudos`]): from the person's manager chain or an admin.
//! - **Leaderboards** ([`leaderboard`]) by organisation, team or community, for this
//!   week, this month or all time, and **profiles** ([`profile`]): reputation, badges
//!   and the history with reasons.
//!
//! - **Participation** ([`participation`]): for managers and admins, the share of
//!   people who create, contribute and consume (the 90/9/1 picture) per period, with
//!   the trend and the videos and journeys that reached most of them.
//!
//! A request is a read of the ledger (or of `participation_day`); writing them is the
//! consumers' job.

use actix_web::web;
use skillreel_learning::Clock;
use skillreel_web::{BackgroundTasks, RouteSpec};
use sqlx::PgPool;

mod kudos;
mod leaderboard;
pub mod ledger;
pub mod participation;
mod profile;
mod routes;

/// What the capability's handlers share.
pub struct RecognitionContext {
    pub pool: PgPool,
    /// What "this week" and "this month" are counted from, and when kudos are given.
    pub clock: Clock,
}

/// The capability's routes, state and background work, to mount into a service.
#[derive(Clone)]
pub struct RecognitionService {
    ctx: web::Data<RecognitionContext>,
}

impl RecognitionService {
    pub fn new(pool: PgPool, clock: Clock) -> Self {
        Self {
            ctx: web::Data::new(RecognitionContext { pool, clock }),
        }
    }

    /// Every route of the capability, documented.
    pub fn routes() -> Vec<RouteSpec> {
        routes::routes()
    }

    /// Registers the state the routes need (the host mounts [`RecognitionService::routes`]
    /// with its own).
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.ctx.clone());
    }

    /// Records searches for the participation analytics (the host calls it from its
    /// search; see [`participation::record::Searches`]).
    pub fn searches(&self) -> participation::record::Searches {
        participation::record::Searches::new(self.ctx.pool.clone(), self.ctx.clock.clone())
    }

    /// Starts the `reputation` and `participation` consumers, stopped with `tasks`.
    pub fn spawn_background(&self, tasks: &mut BackgroundTasks) {
        tasks.add(ledger::spawn_consumer(self.ctx.pool.clone(), tasks.stop_token()));
        tasks.add(participation::record::spawn_consumer(
            self.ctx.pool.clone(),
            tasks.stop_token(),
        ));
    }
}
