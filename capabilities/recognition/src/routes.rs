//! The capability's routes, each with its documentation (see `skillreel_web::openapi`).

use actix_web::http::Method;
use actix_web::web;
use skillreel_web::openapi::{Body, Doc, Success, params, schema};
use skillreel_web::{RouteSpec, route};

use crate::kudos::{self, KudosView};
use crate::leaderboard::{self, Leaderboard};
use crate::participation::{self, Participation};
use crate::profile::{self, Recognition};

pub fn routes() -> Vec<RouteSpec> {
    use Method as M;
    use Success::*;
    vec![
        route(
            M::POST,
            "/api/v1/users/{id}/kudos",
            || web::post().to(kudos::give),
            Doc::new(
                "recognition",
                "Give kudos to a report (their manager chain, or an admin)",
                Created(schema::<KudosView>()),
            )
            .body(Body::Json(schema::<kudos::KudosRequest>())),
        ),
        route(
            M::GET,
            "/api/v1/analytics/participation",
            || web::get().to(participation::participation),
            Doc::new(
                "analytics",
                "Who creates, contributes and consumes, per period (managers and admins)",
                Json(schema::<Participation>()),
            )
            .query(params::<participation::ParticipationQuery>()),
        ),
        route(
            M::GET,
            "/api/v1/leaderboard",
            || web::get().to(leaderboard::get),
            Doc::new(
                "recognition",
                "Who earned the most reputation, by organisation, team or community",
                Json(schema::<Leaderboard>()),
            )
            .query(params::<leaderboard::LeaderboardQuery>()),
        ),
        route(
            M::GET,
            "/api/v1/users/{id}/recognition",
            || web::get().to(profile::get),
            Doc::new(
                "recognition",
                "A person's reputation, badges and (for them, their managers and admins) its history",
                Json(schema::<Recognition>()),
            )
            .query(params::<profile::HistoryQuery>()),
        ),
    ]
}
