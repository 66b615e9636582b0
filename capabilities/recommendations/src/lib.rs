//! Recommendations: what colleagues share with each other, and whom they follow.
//!
//! - **Peer recommendations** ([`peers`]): anyone recommends a published journey or
//!   video they may see to colleagues and/or a team, with a message. It reaches each
//!   recipient's inbox (a notification), their list at
//!   `GET /api/v1/me/recommendations?source=peers` (each item once, with who
//!   recommended it and why) and their assignments as `peerRecommended` (learning
//!   keeps that list, from this capability's domain events). Recipients save an item
//!   for later or dismiss it. Never to someone the access policy does not let see the
//!   item; at most `recommendations.recipients_per_hour` people per sender per hour.
//! - **For you** ([`for_you`]): a ranked feed at `GET /api/v1/me/recommendations` in
//!   which every item says why: collaborative filtering over likes, completions and
//!   colleagues' recommendations, the people one follows, one's team, skills and
//!   organisation, and room to explore what is new. A background pass precomputes the
//!   lists ([`for_you::model`]); a request reads the person's candidates in one
//!   statement, re-ranks them, and looks up the videos of the best few dozen.
//! - **Follows** ([`follows`]): a person follows another to see what they publish (and
//!   their new videos come up "for you").
//! - **People who share a passion** ([`people`]): colleagues ranked by what they
//!   publish, complete and like on a skill, or on the caller's own skills, each with
//!   the reason.
//!
//! The capability owns its routes ([`RecommendationsService::routes`], mounted by the
//! catalog service), its SQL and its tests (`tests/tests/recommendations`). What is
//! recommended and how recipients answer are domain events (`recommendation.created`,
//! `recommendation.updated`), so every other capability (learning's lists now,
//! recognition and the "for you" feed next) reads them without calling in here.

use actix_web::web;
use skillreel_config::RecommendationSettings;
use skillreel_learning::Clock;
use skillreel_web::{BackgroundTasks, Bulkhead, RouteSpec};
use sqlx::PgPool;

mod feed;
mod follows;
pub mod for_you;
mod peers;
mod people;
mod routes;
mod view;

/// What the capability's handlers share.
pub struct RecommendationsContext {
    pub pool: PgPool,
    /// The clock the sending limit counts hours on (learning's, so tests move both).
    pub clock: Clock,
    pub settings: RecommendationSettings,
    /// The "for you" pages computed at once (`recommendations.for_you_concurrency`);
    /// the others wait as long as for a database connection.
    pub for_you_turns: Bulkhead,
}

/// The capability's routes and state, to mount into a service.
#[derive(Clone)]
pub struct RecommendationsService {
    ctx: web::Data<RecommendationsContext>,
}

impl RecommendationsService {
    pub fn new(pool: PgPool, settings: &RecommendationSettings, clock: Clock) -> Self {
        Self {
            ctx: web::Data::new(RecommendationsContext {
                for_you_turns: Bulkhead::new(
                    "\"for you\"",
                    settings.for_you_concurrency,
                    pool.options().get_acquire_timeout(),
                ),
                pool,
                clock,
                settings: settings.clone(),
            }),
        }
    }

    /// Every route of the capability, documented.
    pub fn routes() -> Vec<RouteSpec> {
        routes::routes()
    }

    /// Registers the state the routes need (the host mounts [`RecommendationsService::routes`]
    /// with its own, so that one document and one 404/405 table cover them all).
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.ctx.clone());
    }

    /// Starts the pass that builds the "for you" lists (see [`for_you::model`]), stopped
    /// with `tasks`.
    pub fn spawn_background(&self, tasks: &mut BackgroundTasks) {
        let interval = std::time::Duration::from_secs(self.ctx.settings.model_interval_seconds.max(1));
        tasks.add(for_you::model::spawn(
            self.ctx.pool.clone(),
            interval,
            tasks.stop_token(),
        ));
    }
}
