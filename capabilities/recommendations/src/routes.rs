//! The capability's routes, each with its documentation (see `skillreel_web::openapi`).

use actix_web::http::Method;
use actix_web::web;
use skillreel_web::openapi::{Body, Doc, Success, page_of, params, schema};
use skillreel_web::paging::Page;
use skillreel_web::{RouteSpec, route};

use crate::feed;
use crate::follows::{self, Followed};
use crate::for_you::{self, model::ModelStats};
use crate::peers::{self, RecommendResult};
use crate::people::{self, Person};
use crate::view::Recommendation;

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
            || web::get().to(feed::mine),
            Doc::new(
                "recommendations",
                "For you (ranked, each item with why), or what colleagues recommended (source=peers)",
                Json(page_of::<Page<Recommendation>, Recommendation>()),
            )
            .query(params::<feed::MineQuery>()),
        ),
        route(
            M::POST,
            "/api/v1/me/dismissals",
            || web::post().to(for_you::dismiss),
            Doc::new(
                "recommendations",
                "Not for me: a video never comes back for you",
                NoContent,
            )
            .body(Body::Json(schema::<for_you::DismissRequest>())),
        ),
        route(
            M::POST,
            "/api/v1/admin/recommendations/model",
            || web::post().to(for_you::rebuild),
            Doc::new(
                "recommendations",
                "Rebuild the \"for you\" lists now (admins)",
                Json(schema::<ModelStats>()),
            ),
        ),
        route(
            M::PATCH,
            "/api/v1/me/recommendations/{id}",
            || web::patch().to(peers::set_state),
            Doc::new(
                "recommendations",
                "Keep, save for later or dismiss a recommended item",
                Json(schema::<Recommendation>()),
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
            "/api/v1/people",
            || web::get().to(people::on_skill),
            Doc::new(
                "people",
                "Who shares a passion: people ranked by what they publish, complete and like on a skill",
                Json(page_of::<Page<Person>, Person>()),
            )
            .query(params::<people::PeopleQuery>()),
        ),
        route(
            M::GET,
            "/api/v1/me/people",
            || web::get().to(people::like_me),
            Doc::new(
                "people",
                "Colleagues who share the caller's skills, most active first",
                Json(page_of::<Page<Person>, Person>()),
            )
            .query(params::<people::MyPeopleQuery>()),
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
