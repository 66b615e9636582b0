//! Learning's routes, each with its documentation (see `skillreel_web::openapi`).

use actix_web::http::Method;
use actix_web::web;
use skillreel_web::openapi::{Body, Doc, Success, list, page_of, params, schema};
use skillreel_web::paging::Page;
use skillreel_web::{RouteSpec, route};

use crate::assignments::{self, AssignResult, AssignmentView};
use crate::journeys::{self, JourneyView};
use crate::progress::{self, JourneyProgress, TeamProgress, VideoProgress};
use crate::xapi::{self, StatementResult};

pub fn routes() -> Vec<RouteSpec> {
    use Method as M;
    use Success::*;
    vec![
        route(
            M::GET,
            "/api/v1/journeys",
            || web::get().to(journeys::list),
            Doc::new(
                "journeys",
                "Search and browse journeys",
                Json(page_of::<Page<JourneyView>, JourneyView>()),
            )
            .query(params::<journeys::ListQuery>()),
        ),
        route(
            M::POST,
            "/api/v1/journeys",
            || web::post().to(journeys::create),
            Doc::new(
                "journeys",
                "Create a journey (a draft)",
                Created(schema::<JourneyView>()),
            )
            .body(Body::Json(schema::<journeys::NewJourney>())),
        ),
        route(
            M::GET,
            "/api/v1/journeys/{id}",
            || web::get().to(journeys::get),
            Doc::new("journeys", "One journey", Json(schema::<JourneyView>())),
        ),
        route(
            M::PATCH,
            "/api/v1/journeys/{id}",
            || web::patch().to(journeys::patch),
            Doc::new(
                "journeys",
                "Edit a journey (owner, admin)",
                Json(schema::<JourneyView>()),
            )
            .body(Body::Json(schema::<journeys::JourneyPatch>())),
        ),
        route(
            M::DELETE,
            "/api/v1/journeys/{id}",
            || web::delete().to(journeys::delete),
            Doc::new("journeys", "Delete a journey and its assignments", NoContent),
        ),
        route(
            M::PUT,
            "/api/v1/journeys/{id}/steps",
            || web::put().to(journeys::put_steps),
            Doc::new("journeys", "Replace the steps, at once", Json(schema::<JourneyView>()))
                .body(Body::Json(schema::<journeys::StepsRequest>())),
        ),
        route(
            M::POST,
            "/api/v1/journeys/{id}/publish",
            || web::post().to(journeys::publish),
            Doc::new(
                "journeys",
                "Publish under the community's approval policy",
                Json(schema::<JourneyView>()),
            ),
        ),
        route(
            M::POST,
            "/api/v1/journeys/{id}/review",
            || web::post().to(journeys::review),
            Doc::new(
                "journeys",
                "Approve or reject a journey waiting for review",
                Json(schema::<JourneyView>()),
            )
            .body(Body::Json(schema::<journeys::ReviewRequest>())),
        ),
        route(
            M::POST,
            "/api/v1/journeys/{id}/assignments",
            || web::post().to(assignments::assign_journey),
            Doc::new(
                "assignments",
                "Assign a journey to reports or a team (idempotent)",
                CreatedOrOk(schema::<AssignResult>()),
            )
            .body(Body::Json(schema::<assignments::AssignRequest>())),
        ),
        route(
            M::GET,
            "/api/v1/journeys/{id}/assignments",
            || web::get().to(progress::journey_assignments),
            Doc::new(
                "assignments",
                "Who the journey is assigned to, and where each stands",
                Json(list::<AssignmentView>()),
            ),
        ),
        route(
            M::GET,
            "/api/v1/journeys/{id}/progress",
            || web::get().to(progress::journey_progress),
            Doc::new(
                "progress",
                "Where the caller (or a person they follow) stands on a journey",
                Json(schema::<JourneyProgress>()),
            )
            .query(params::<progress::ProgressQuery>()),
        ),
        route(
            M::POST,
            "/api/v1/videos/{id}/assignments",
            || web::post().to(assignments::assign_video),
            Doc::new(
                "assignments",
                "Assign a video to reports or a team (idempotent)",
                CreatedOrOk(schema::<AssignResult>()),
            )
            .body(Body::Json(schema::<assignments::AssignRequest>())),
        ),
        route(
            M::POST,
            "/api/v1/videos/{id}/progress",
            || web::post().to(progress::heartbeat),
            Doc::new(
                "progress",
                "A player heartbeat; answers the caller's progress on the video",
                Json(schema::<VideoProgress>()),
            )
            .body(Body::Json(schema::<progress::Heartbeat>())),
        ),
        route(
            M::DELETE,
            "/api/v1/assignments/{id}",
            || web::delete().to(assignments::unassign),
            Doc::new("assignments", "Withdraw an assignment", NoContent),
        ),
        route(
            M::GET,
            "/api/v1/me/assignments",
            || web::get().to(assignments::mine),
            Doc::new(
                "assignments",
                "The caller's assignments, most urgent first",
                Json(page_of::<Page<AssignmentView>, AssignmentView>()),
            )
            .query(params::<assignments::MineQuery>()),
        ),
        route(
            M::GET,
            "/api/v1/teams/{team}/progress",
            || web::get().to(progress::team_progress),
            Doc::new(
                "progress",
                "A team's assignments and where each member stands (JSON or CSV)",
                JsonOrCsv(schema::<TeamProgress>(), progress::TEAM_CSV_HEADER),
            ),
        ),
        route(
            M::GET,
            "/api/v1/xapi/statements",
            || web::get().to(xapi::list),
            Doc::new(
                "xapi",
                "The learning record as xAPI statements, in the LRS's format (admins)",
                Json(schema::<StatementResult>()),
            )
            .query(params::<xapi::StatementsQuery>()),
        ),
    ]
}
