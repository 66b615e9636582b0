//! The catalog's routes, each with its documentation: [`routes`] is what
//! [`crate::CatalogService::configure`] mounts and what the OpenAPI document at
//! `/api/v1/openapi.json` describes ([`skillreel_web::openapi::document`]), so a route
//! cannot be served undocumented. Bodies and query parameters are the handlers' own
//! types. `/api/docs` renders the document.

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use skillreel_contracts::views::VideoView;
use skillreel_db::comments::Comment;
use skillreel_db::communities::{Community, Contributor, Member};
use skillreel_db::users::Profile;
use skillreel_db::webhooks::{Delivery, Webhook};
use skillreel_queue::JobSummary;
use skillreel_web::openapi::{Body, Doc, SchemaOf, Success, list, page_of, params, schema};
use skillreel_web::{RouteSpec, route};

use crate::notify::{inbox, webhooks};
use crate::social::{comments, communities, people};
use crate::views::Page;
use crate::{admin, captions, import, playback, videos};

fn page<T: utoipa::ToSchema>() -> SchemaOf {
    page_of::<Page<T>, T>()
}

/// Every route the catalog serves, documented, in the order of the API guide.
pub fn routes() -> Vec<RouteSpec> {
    use Method as M;
    use Success::*;
    vec![
        route(
            M::GET,
            "/api/v1/videos",
            || web::get().to(videos::list_videos),
            Doc::new("videos", "Search and browse videos", Json(page::<VideoView>()))
                .query(params::<videos::ListQuery>()),
        ),
        route(
            M::GET,
            "/api/v1/videos/{id}",
            || web::get().to(videos::get_video),
            Doc::new("videos", "One video", Json(schema::<VideoView>())),
        ),
        route(
            M::PATCH,
            "/api/v1/videos/{id}",
            || web::patch().to(videos::patch_video),
            Doc::new("videos", "Edit a video (author, admin)", Json(schema::<VideoView>()))
                .body(Body::Json(schema::<videos::VideoPatch>())),
        ),
        route(
            M::DELETE,
            "/api/v1/videos/{id}",
            || web::delete().to(videos::delete_video),
            Doc::new("videos", "Delete a video (author, admin, moderator)", NoContent),
        ),
        route(
            M::POST,
            "/api/v1/videos/{id}/publish",
            || web::post().to(videos::publish),
            Doc::new(
                "publishing",
                "Publish under the community's approval policy",
                Json(schema::<VideoView>()),
            )
            .body(Body::OptionalJson(schema::<videos::PublishRequest>())),
        ),
        route(
            M::POST,
            "/api/v1/videos/{id}/review",
            || web::post().to(videos::review),
            Doc::new(
                "publishing",
                "Approve or reject a video waiting for review",
                Json(schema::<VideoView>()),
            )
            .body(Body::Json(schema::<videos::ReviewRequest>())),
        ),
        route(
            M::GET,
            "/api/v1/reviews",
            || web::get().to(videos::review_queue),
            Doc::new(
                "publishing",
                "What waits for the caller's review",
                Json(page::<VideoView>()),
            )
            .query(params::<videos::QueueQuery>()),
        ),
        route(
            M::PUT,
            "/api/v1/videos/{id}/like",
            || web::put().to(videos::like),
            Doc::new("engagement", "Like (idempotent)", Json(schema::<videos::LikeState>())),
        ),
        route(
            M::DELETE,
            "/api/v1/videos/{id}/like",
            || web::delete().to(videos::unlike),
            Doc::new("engagement", "Unlike (idempotent)", Json(schema::<videos::LikeState>())),
        ),
        route(
            M::POST,
            "/api/v1/videos/{id}/views",
            || web::post().to(videos::record_view),
            Doc::new(
                "engagement",
                "Report seconds watched; a view counts once after 10 s",
                Json(schema::<videos::ViewState>()),
            )
            .body(Body::Json(schema::<videos::ViewReport>())),
        ),
        route(
            M::POST,
            "/api/v1/videos/{id}/flag",
            || web::post().to(videos::flag),
            Doc::new(
                "engagement",
                "Flag a published video",
                Json(schema::<videos::FlagState>()),
            )
            .body(Body::Json(schema::<videos::FlagRequest>())),
        ),
        route(
            M::GET,
            "/api/v1/videos/{id}/comments",
            || web::get().to(comments::list),
            Doc::new(
                "comments",
                "Comment threads, oldest first",
                Json(list::<comments::Thread>()),
            )
            .query(params::<comments::ListQuery>()),
        ),
        route(
            M::POST,
            "/api/v1/videos/{id}/comments",
            || web::post().to(comments::create),
            Doc::new(
                "comments",
                "Comment, reply or ask a question",
                Created(schema::<Comment>()),
            )
            .body(Body::Json(schema::<comments::NewCommentRequest>())),
        ),
        route(
            M::PATCH,
            "/api/v1/comments/{id}",
            || web::patch().to(comments::edit),
            Doc::new("comments", "Edit one's own comment", Json(schema::<Comment>()))
                .body(Body::Json(schema::<comments::EditRequest>())),
        ),
        route(
            M::DELETE,
            "/api/v1/comments/{id}",
            || web::delete().to(comments::delete),
            Doc::new(
                "comments",
                "Delete one's own comment, or remove one as a moderator",
                NoContent,
            ),
        ),
        route(
            M::POST,
            "/api/v1/comments/{id}/accept",
            || web::post().to(comments::accept),
            Doc::new(
                "comments",
                "Accept this reply as the answer to its question",
                Json(schema::<Comment>()),
            ),
        ),
        route(
            M::GET,
            "/api/v1/videos/{id}/captions",
            || web::get().to(captions::list),
            Doc::new(
                "captions",
                "Caption languages with signed URLs",
                Json(list::<captions::CaptionView>()),
            ),
        ),
        route(
            M::PUT,
            "/api/v1/videos/{id}/captions/{lang}",
            || web::put().to(captions::put),
            Doc::new(
                "captions",
                "Add or replace captions (WebVTT or SRT body)",
                CreatedOrOk(schema::<captions::CaptionsStored>()),
            )
            .body(Body::Text(
                &["text/vtt", "application/x-subrip"],
                "WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n",
            )),
        ),
        route(
            M::DELETE,
            "/api/v1/videos/{id}/captions/{lang}",
            || web::delete().to(captions::delete),
            Doc::new("captions", "Remove captions", NoContent),
        ),
        route(
            M::GET,
            "/api/v1/communities",
            || web::get().to(communities::list),
            Doc::new("communities", "Communities, alphabetical", Json(page::<Community>()))
                .query(params::<communities::ListQuery>()),
        ),
        route(
            M::POST,
            "/api/v1/communities",
            || web::post().to(communities::create),
            Doc::new(
                "communities",
                "Start a community (you moderate it)",
                Created(schema::<communities::CommunityView>()),
            )
            .body(Body::Json(schema::<communities::NewCommunity>())),
        ),
        route(
            M::GET,
            "/api/v1/communities/{id}",
            || web::get().to(communities::get),
            Doc::new(
                "communities",
                "One community",
                Json(schema::<communities::CommunityView>()),
            ),
        ),
        route(
            M::PATCH,
            "/api/v1/communities/{id}",
            || web::patch().to(communities::update),
            Doc::new(
                "communities",
                "Describe it, set its policy (moderators, admins)",
                Json(schema::<communities::CommunityView>()),
            )
            .body(Body::Json(schema::<communities::CommunityPatch>())),
        ),
        route(
            M::PUT,
            "/api/v1/communities/{id}/membership",
            || web::put().to(communities::join),
            Doc::new("communities", "Join", NoContent),
        ),
        route(
            M::DELETE,
            "/api/v1/communities/{id}/membership",
            || web::delete().to(communities::leave),
            Doc::new("communities", "Leave", NoContent),
        ),
        route(
            M::GET,
            "/api/v1/communities/{id}/members",
            || web::get().to(communities::members),
            Doc::new("communities", "Members, moderators first", Json(page::<Member>())),
        ),
        route(
            M::GET,
            "/api/v1/communities/{id}/contributors",
            || web::get().to(communities::contributors),
            Doc::new("communities", "Top contributors", Json(page::<Contributor>())),
        ),
        route(
            M::PUT,
            "/api/v1/communities/{id}/moderators/{user_id}",
            || web::put().to(communities::set_moderator),
            Doc::new("communities", "Appoint a member moderator", NoContent),
        ),
        route(
            M::DELETE,
            "/api/v1/communities/{id}/moderators/{user_id}",
            || web::delete().to(communities::set_moderator),
            Doc::new("communities", "Make a moderator a member again", NoContent),
        ),
        route(
            M::GET,
            "/api/v1/me",
            || web::get().to(people::me),
            Doc::new("people", "The caller", Json(schema::<people::Me>())),
        ),
        route(
            M::GET,
            "/api/v1/me/videos",
            || web::get().to(videos::my_videos),
            Doc::new(
                "people",
                "The caller's videos in every state",
                Json(page::<VideoView>()),
            )
            .query(params::<videos::MineQuery>()),
        ),
        route(
            M::GET,
            "/api/v1/me/inbox",
            || web::get().to(inbox::list),
            Doc::new(
                "people",
                "Notifications, newest first",
                Json(schema::<inbox::InboxPage>()),
            )
            .query(params::<inbox::InboxQuery>()),
        ),
        route(
            M::POST,
            "/api/v1/me/inbox/read-all",
            || web::post().to(inbox::mark_all_read),
            Doc::new(
                "people",
                "Mark every notification read",
                Json(schema::<inbox::Marked>()),
            ),
        ),
        route(
            M::POST,
            "/api/v1/me/inbox/{id}/read",
            || web::post().to(inbox::mark_read),
            Doc::new("people", "Mark one notification read", NoContent),
        ),
        route(
            M::GET,
            "/api/v1/users/{id}",
            || web::get().to(people::profile),
            Doc::new("people", "A colleague's profile", Json(schema::<Profile>())),
        ),
        route(
            M::GET,
            "/api/v1/admin/jobs",
            || web::get().to(admin::list_jobs),
            Doc::new("admin", "Transcoding jobs, newest first", Json(page::<JobSummary>()))
                .query(params::<admin::JobsQuery>()),
        ),
        route(
            M::POST,
            "/api/v1/admin/jobs/{id}/retry",
            || web::post().to(admin::retry_job),
            Doc::new(
                "admin",
                "Give a failed job another round",
                Json(schema::<admin::RetriedJob>()),
            ),
        ),
        route(
            M::POST,
            "/api/v1/admin/users:import",
            || web::post().to(import::import),
            Doc::new(
                "admin",
                "Import the org chart (CSV or JSON)",
                Json(schema::<import::ImportResult>()),
            )
            .body(Body::JsonOrCsv(
                list::<import::JsonRow>(),
                "id,name,email,manager,team,roles",
            )),
        ),
        route(
            M::GET,
            "/api/v1/admin/webhooks",
            || web::get().to(webhooks::list),
            Doc::new("admin", "Registered webhooks", Json(list::<Webhook>())),
        ),
        route(
            M::POST,
            "/api/v1/admin/webhooks",
            || web::post().to(webhooks::create),
            Doc::new(
                "admin",
                "Register a webhook (its secret is shown once)",
                Created(schema::<webhooks::CreatedWebhook>()),
            )
            .body(Body::Json(schema::<webhooks::NewWebhook>())),
        ),
        route(
            M::DELETE,
            "/api/v1/admin/webhooks/{id}",
            || web::delete().to(webhooks::delete),
            Doc::new("admin", "Remove a webhook", NoContent),
        ),
        route(
            M::GET,
            "/api/v1/admin/webhooks/{id}/deliveries",
            || web::get().to(webhooks::deliveries),
            Doc::new("admin", "A webhook's latest deliveries", Json(list::<Delivery>())),
        ),
        route(
            M::GET,
            "/api/v1/media/{video_id}/{token}/{path:.*}",
            || web::get().to(playback::get_media),
            Doc::new(
                "playback",
                "A video's file through a signed URL (Range supported)",
                File,
            )
            .public(),
        ),
        route(
            M::HEAD,
            "/api/v1/media/{video_id}/{token}/{path:.*}",
            || web::head().to(playback::get_media),
            Doc::new("playback", "A video's file headers", File).public(),
        ),
    ]
}

/// `GET /api/docs`: the document, browsable (Scalar, loaded from jsDelivr).
pub async fn serve_ui() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Skillreel API</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<script id="api-reference" data-url="/api/v1/openapi.json"></script>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
<noscript>The API description is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</noscript>
</body>
</html>
"#,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_and_every_ref_resolves() {
        let routes = routes();
        assert!(routes.iter().all(|r| r.doc.is_some()));
        let doc = skillreel_web::openapi::document(&[&routes]);
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
        for part in text.split("#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(
                schemas.contains_key(name),
                "schema `{name}` is referenced but not defined"
            );
        }
    }
}
