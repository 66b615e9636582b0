//! The capability's routes: the protocol's (ActivityPub, WebFinger and NodeInfo
//! specify them; `docs/FEDERATION.md` describes them) and the documented admin API.

use actix_web::http::Method;
use actix_web::web;
use skillreel_web::openapi::{Body, Doc, Success, list, schema};
use skillreel_web::{RouteSpec, route};

use crate::admin::{self, FollowView, InstancePolicy, NewFollow};
use crate::remote_videos::{self, RemoteQuery, RemoteVideoView};
use crate::store::InstanceView;
use crate::{discovery, inbox, videos};
use skillreel_web::openapi::{page_of, params};
use skillreel_web::paging::Page;

pub fn routes() -> Vec<RouteSpec> {
    use Method as M;
    use Success::*;
    let mut routes = vec![
        RouteSpec::new(M::GET, "/.well-known/webfinger", || web::get().to(discovery::webfinger)),
        RouteSpec::new(M::GET, "/.well-known/nodeinfo", || {
            web::get().to(discovery::nodeinfo_links)
        }),
        RouteSpec::new(M::GET, "/nodeinfo/2.1", || web::get().to(discovery::nodeinfo)),
        RouteSpec::new(M::GET, "/federation/actor", || web::get().to(discovery::actor)),
        RouteSpec::new(M::GET, "/federation/actor/followers", || {
            web::get().to(discovery::followers)
        }),
        RouteSpec::new(M::GET, "/federation/actor/following", || {
            web::get().to(discovery::following)
        }),
        RouteSpec::new(M::GET, "/federation/actor/outbox", || web::get().to(discovery::outbox)),
        RouteSpec::new(M::POST, "/federation/actor/inbox", || web::post().to(inbox::receive)),
        RouteSpec::new(M::POST, "/federation/inbox", || web::post().to(inbox::receive)),
        RouteSpec::new(M::GET, "/federation/users/{id}", || web::get().to(discovery::person)),
        RouteSpec::new(M::GET, "/federation/videos/{id}", || web::get().to(videos::object)),
        RouteSpec::new(M::GET, "/federation/journeys/{id}", || {
            web::get().to(crate::journeys::object)
        }),
        RouteSpec::new(M::GET, "/federation/comments/{id}", || {
            web::get().to(crate::comments::object)
        }),
        RouteSpec::new(M::GET, "/federation/videos/{id}/likes", || web::get().to(videos::likes)),
        RouteSpec::new(M::GET, "/federation/videos/{id}/shares", || {
            web::get().to(videos::shares)
        }),
    ];
    routes.extend([
        route(
            M::GET,
            "/api/v1/federation/videos",
            || web::get().to(remote_videos::list),
            Doc::new(
                "federation",
                "Videos from the instances this one follows, newest first (search, origin)",
                Json(page_of::<Page<RemoteVideoView>, RemoteVideoView>()),
            )
            .query(params::<RemoteQuery>()),
        ),
        route(
            M::POST,
            "/api/v1/admin/federation/follows",
            || web::post().to(admin::follow),
            Doc::new(
                "federation",
                "Follow an instance (and allow it); found and asked in the background",
                CreatedOrOk(schema::<FollowView>()),
            )
            .body(Body::Json(schema::<NewFollow>())),
        ),
        route(
            M::GET,
            "/api/v1/admin/federation/follows",
            || web::get().to(admin::following),
            Doc::new(
                "federation",
                "The instances this one follows",
                Json(list::<FollowView>()),
            ),
        ),
        route(
            M::DELETE,
            "/api/v1/admin/federation/follows/{host}",
            || web::delete().to(admin::unfollow),
            Doc::new("federation", "Stop following an instance (it is told)", NoContent),
        ),
        route(
            M::GET,
            "/api/v1/admin/federation/followers",
            || web::get().to(admin::followers),
            Doc::new(
                "federation",
                "The instances that follow this one",
                Json(list::<FollowView>()),
            ),
        ),
        route(
            M::POST,
            "/api/v1/admin/federation/followers/{host}/accept",
            || web::post().to(admin::accept_follower),
            Doc::new(
                "federation",
                "Accept an instance's pending follow",
                Json(schema::<FollowView>()),
            ),
        ),
        route(
            M::DELETE,
            "/api/v1/admin/federation/followers/{host}",
            || web::delete().to(admin::remove_follower),
            Doc::new("federation", "Refuse or remove a follower (it is told)", NoContent),
        ),
        route(
            M::GET,
            "/api/v1/admin/federation/instances",
            || web::get().to(admin::instances),
            Doc::new(
                "federation",
                "Known instances: status, follows both ways, delivery health",
                Json(list::<InstanceView>()),
            ),
        ),
        route(
            M::PUT,
            "/api/v1/admin/federation/instances/{host}",
            || web::put().to(admin::set_instance),
            Doc::new(
                "federation",
                "Allow (partner), block (nothing in or out) or forget an instance",
                Json(schema::<InstanceView>()),
            )
            .body(Body::Json(schema::<InstancePolicy>())),
        ),
    ]);
    routes
}
