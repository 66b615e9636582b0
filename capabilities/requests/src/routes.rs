//! The capability's routes, each with its documentation (see `skillreel_web::openapi`).

use actix_web::http::Method;
use actix_web::web;
use skillreel_web::openapi::{Body, Doc, Success, page_of, params, schema};
use skillreel_web::paging::Page;
use skillreel_web::{RouteSpec, route};

use crate::board;
use crate::fulfil;
use crate::view::RequestView;

pub fn routes() -> Vec<RouteSpec> {
    use Method as M;
    use Success::*;
    let view = || Json(schema::<RequestView>());
    vec![
        route(
            M::POST,
            "/api/v1/requests",
            || web::post().to(board::create),
            Doc::new(
                "requests",
                "Ask colleagues for a video on a topic",
                Created(schema::<RequestView>()),
            )
            .body(Body::Json(schema::<board::NewRequest>())),
        ),
        route(
            M::GET,
            "/api/v1/requests",
            || web::get().to(board::list),
            Doc::new(
                "requests",
                "Content requests, most wanted first (search, skill, state)",
                Json(page_of::<Page<RequestView>, RequestView>()),
            )
            .query(params::<board::ListQuery>()),
        ),
        route(
            M::GET,
            "/api/v1/requests/{id}",
            || web::get().to(board::get),
            Doc::new("requests", "One content request", view()),
        ),
        route(
            M::PATCH,
            "/api/v1/requests/{id}",
            || web::patch().to(board::edit),
            Doc::new("requests", "Reword a request (its author or an admin)", view())
                .body(Body::Json(schema::<board::RequestChanges>())),
        ),
        route(
            M::DELETE,
            "/api/v1/requests/{id}",
            || web::delete().to(board::close),
            Doc::new(
                "requests",
                "Close a request unfulfilled (its author or an admin)",
                NoContent,
            ),
        ),
        route(
            M::PUT,
            "/api/v1/requests/{id}/vote",
            || web::put().to(board::vote),
            Doc::new("requests", "Upvote a request (idempotent)", view()),
        ),
        route(
            M::DELETE,
            "/api/v1/requests/{id}/vote",
            || web::delete().to(board::unvote),
            Doc::new("requests", "Take an upvote back (idempotent)", view()),
        ),
        route(
            M::POST,
            "/api/v1/requests/{id}/claim",
            || web::post().to(fulfil::claim),
            Doc::new("requests", "Say you will make the video (idempotent)", view()),
        ),
        route(
            M::DELETE,
            "/api/v1/requests/{id}/claim",
            || web::delete().to(fulfil::release),
            Doc::new("requests", "Release a claim (the claimer or an admin)", view()),
        ),
        route(
            M::POST,
            "/api/v1/requests/{id}/fulfil",
            || web::post().to(fulfil::fulfil),
            Doc::new("requests", "Fulfil a request with a published video of yours", view())
                .body(Body::Json(schema::<fulfil::Fulfilment>())),
        ),
    ]
}
