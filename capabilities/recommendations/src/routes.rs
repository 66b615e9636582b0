//! The capability's routes, each with its documentation (see `skillreel_web::openapi`).

use actix_web::http::Method;
use actix_web::web;
use skillreel_web::RouteSpec;
use skillreel_web::openapi::{Body, Doc, Success, page_of, params, schema};
use skillreel_web::paging::Page;

use crate::follows::{self, Followed};
use crate::peers::{self, PeerRecommendation, RecommendResult};

fn route(method: Method, path: &'static str, to: fn() -> actix_web::Route, doc: Doc) -> RouteSpec {
    RouteSpec::new(method, path, to).doc(doc)
}

pub fn routes() -> Vec<RouteSpec> {
    use Method as M;
    use Success::*;
    vec![
        route(
            M::POST,
            "/api/v1/videos/{id}/recommendations",
            || web::post().to(peers::recommend_video),
            Doc::new(
                "recommendations",
                "Recommend a video to colleagues or a team (idempotent)",
                CreatedOrOk(schema::<RecommendResult>()),
            )
            .body(Body::Json(schema::<peers::RecommendRequest>())),
        ),
        route(
            M::POST,
            "/api/v1/journeys/{id}/recommendations",
            || web::post().to(peers::recommend_journey),
            Doc::new(
                "recommendations",
                "Recommend a journey to colleagues or a team (idempotent)",
                CreatedOrOk(schema::<RecommendResult>()),
            )
            .body(Body::Json(schema::<peers::RecommendRequest>())),
        ),
        route(
            M::GET,
            "/api/v1/me/recommendations",
            || web::get().to(peers::mine),
            Doc::new(
                "recommendations",
                "What colleagues recommended to the caller, each item once, with why",
                Json(page_of::<Page<PeerRecommendation>, PeerRecommendation>()),
            )
            .query(params::<peers::MineQuery>()),
        ),
        route(
            M::PATCH,
            "/api/v1/me/recommendations/{id}",
            || web::patch().to(peers::set_state),
            Doc::new(
                "recommendations",
                "Keep, save for later or dismiss a recommended item",
                Json(schema::<PeerRecommendation>()),
            )
            .body(Body::Json(schema::<peers::StateRequest>())),
        ),
        route(
            M::PUT,
            "/api/v1/users/{id}/follow",
            || web::put().to(follows::follow),
            Doc::new("people", "Follow a colleague (idempotent)", NoContent),
        ),
        route(
            M::DELETE,
            "/api/v1/users/{id}/follow",
            || web::delete().to(follows::unfollow),
            Doc::new("people", "Stop following a colleague", NoContent),
        ),
        route(
            M::GET,
            "/api/v1/me/following",
            || web::get().to(follows::following),
            Doc::new(
                "people",
                "The people the caller follows, most recent first",
                Json(page_of::<Page<Followed>, Followed>()),
            )
            .query(params::<follows::FollowingQuery>()),
        ),
    ]
}
