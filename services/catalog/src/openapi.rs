//! The API description: [`endpoints`] is the one table of the catalog's routes —
//! [`crate::CatalogService::configure`] registers exactly these, and the OpenAPI 3.1
//! document at `/api/v1/openapi.json` is generated from the same table (plus the upload
//! service's routes, described here so the document covers the whole API). A route
//! cannot be served without being documented. `/api/docs` renders the document.

use actix_web::http::Method;
use actix_web::{HttpResponse, Route, web};
use serde_json::{Map, Value, json};

use crate::{admin, captions, comments, communities, import, inbox, people, playback, videos, webhooks};

/// What an endpoint answers when it succeeds.
#[derive(Debug, Clone, Copy)]
pub enum Success {
    /// 200 with a JSON body of this schema.
    Json(&'static str),
    /// 201 with a JSON body of this schema.
    Created(&'static str),
    /// 204, no body.
    NoContent,
    /// 200 with a file (playback).
    File,
}

/// One documented route.
pub struct Endpoint {
    pub method: Method,
    /// The actix pattern, e.g. `/api/v1/videos/{id}`.
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    /// A JSON request body of this schema, `text` for a text body, or none.
    pub body: Option<&'static str>,
    /// Query parameters: (name, JSON type, description).
    pub query: &'static [(&'static str, &'static str, &'static str)],
    pub success: Success,
    /// Needs `Authorization: Bearer` (everything but playback files and the docs).
    pub authenticated: bool,
    /// Served by this service (false: documented here, served by the upload service).
    pub route: Option<fn() -> Route>,
}

macro_rules! ep {
    ($method:ident $path:literal, $tag:literal, $summary:literal, body: $body:expr, query: $query:expr, $success:expr, $route:expr) => {
        Endpoint {
            method: Method::$method,
            path: $path,
            tag: $tag,
            summary: $summary,
            body: $body,
            query: $query,
            success: $success,
            authenticated: true,
            route: $route,
        }
    };
}

const PAGE: &[(&str, &str, &str)] = &[
    ("cursor", "string", "the `next_cursor` of the previous page"),
    ("limit", "integer", "1 to 100, default 20"),
];
const LIST: &[(&str, &str, &str)] = &[
    ("q", "string", "full-text search (prefixes and stems; at most 8 words)"),
    ("tag", "string", "exact tag"),
    ("community", "string", "community id"),
    ("author", "string", "user id"),
    (
        "status",
        "string",
        "video status, default `published` (others: your own videos)",
    ),
    ("language", "string", "ISO 639-1 code"),
    ("min_duration", "integer", "seconds"),
    ("max_duration", "integer", "seconds"),
    (
        "sort",
        "string",
        "`recent`, `popular`, `trending`, `relevance` (with `q`)",
    ),
    ("cursor", "string", "the `next_cursor` of the previous page"),
    ("limit", "integer", "1 to 100, default 20"),
];
const NONE: &[(&str, &str, &str)] = &[];

/// Every route the catalog serves, and the upload service's, in the order of the API guide.
pub fn endpoints() -> Vec<Endpoint> {
    use Success::*;
    vec![
        ep!(GET "/api/v1/videos", "videos", "Search and browse videos", body: None, query: LIST, Json("VideoPage"), Some(|| web::get().to(videos::list_videos))),
        ep!(GET "/api/v1/videos/{id}", "videos", "One video", body: None, query: NONE, Json("Video"), Some(|| web::get().to(videos::get_video))),
        ep!(PATCH "/api/v1/videos/{id}", "videos", "Edit a video (author, admin)", body: Some("VideoPatch"), query: NONE, Json("Video"), Some(|| web::patch().to(videos::patch_video))),
        ep!(DELETE "/api/v1/videos/{id}", "videos", "Delete a video (author, admin, moderator)", body: None, query: NONE, NoContent, Some(|| web::delete().to(videos::delete_video))),
        ep!(POST "/api/v1/videos/{id}/publish", "publishing", "Publish under the community's approval policy", body: Some("PublishRequest"), query: NONE, Json("Video"), Some(|| web::post().to(videos::publish))),
        ep!(POST "/api/v1/videos/{id}/review", "publishing", "Approve or reject a video waiting for review", body: Some("ReviewRequest"), query: NONE, Json("Video"), Some(|| web::post().to(videos::review))),
        ep!(GET "/api/v1/reviews", "publishing", "What waits for the caller's review", body: None, query: &[("limit", "integer", "1 to 100")], Json("VideoPage"), Some(|| web::get().to(videos::review_queue))),
        ep!(PUT "/api/v1/videos/{id}/like", "engagement", "Like (idempotent)", body: None, query: NONE, Json("LikeState"), Some(|| web::put().to(videos::like))),
        ep!(DELETE "/api/v1/videos/{id}/like", "engagement", "Unlike (idempotent)", body: None, query: NONE, Json("LikeState"), Some(|| web::delete().to(videos::unlike))),
        ep!(POST "/api/v1/videos/{id}/views", "engagement", "Report seconds watched; a view counts once after 10 s", body: Some("ViewReport"), query: NONE, Json("ViewState"), Some(|| web::post().to(videos::record_view))),
        ep!(POST "/api/v1/videos/{id}/flag", "engagement", "Flag a published video", body: Some("FlagRequest"), query: NONE, Json("FlagState"), Some(|| web::post().to(videos::flag))),
        ep!(GET "/api/v1/videos/{id}/comments", "comments", "Comment threads, oldest first", body: None, query: &[("limit", "integer", "1 to 1000")], Json("ThreadList"), Some(|| web::get().to(comments::list))),
        ep!(POST "/api/v1/videos/{id}/comments", "comments", "Comment, reply or ask a question", body: Some("NewComment"), query: NONE, Created("Comment"), Some(|| web::post().to(comments::create))),
        ep!(PATCH "/api/v1/comments/{id}", "comments", "Edit one's own comment", body: Some("CommentEdit"), query: NONE, Json("Comment"), Some(|| web::patch().to(comments::edit))),
        ep!(DELETE "/api/v1/comments/{id}", "comments", "Delete one's own comment, or remove one as a moderator", body: None, query: NONE, NoContent, Some(|| web::delete().to(comments::delete))),
        ep!(POST "/api/v1/comments/{id}/accept", "comments", "Accept this reply as the answer to its question", body: None, query: NONE, Json("Comment"), Some(|| web::post().to(comments::accept))),
        ep!(GET "/api/v1/videos/{id}/captions", "captions", "Caption languages with signed URLs", body: None, query: NONE, Json("CaptionList"), Some(|| web::get().to(captions::list))),
        ep!(PUT "/api/v1/videos/{id}/captions/{lang}", "captions", "Add or replace captions (WebVTT or SRT body)", body: Some("text"), query: NONE, Json("CaptionResult"), Some(|| web::put().to(captions::put))),
        ep!(DELETE "/api/v1/videos/{id}/captions/{lang}", "captions", "Remove captions", body: None, query: NONE, NoContent, Some(|| web::delete().to(captions::delete))),
        ep!(GET "/api/v1/communities", "communities", "Communities, alphabetical", body: None, query: PAGE, Json("CommunityPage"), Some(|| web::get().to(communities::list))),
        ep!(POST "/api/v1/communities", "communities", "Start a community (you moderate it)", body: Some("NewCommunity"), query: NONE, Created("Community"), Some(|| web::post().to(communities::create))),
        ep!(GET "/api/v1/communities/{id}", "communities", "One community", body: None, query: NONE, Json("Community"), Some(|| web::get().to(communities::get))),
        ep!(PATCH "/api/v1/communities/{id}", "communities", "Describe it, set its policy (moderators, admins)", body: Some("CommunityPatch"), query: NONE, Json("Community"), Some(|| web::patch().to(communities::update))),
        ep!(PUT "/api/v1/communities/{id}/membership", "communities", "Join", body: None, query: NONE, NoContent, Some(|| web::put().to(communities::join))),
        ep!(DELETE "/api/v1/communities/{id}/membership", "communities", "Leave", body: None, query: NONE, NoContent, Some(|| web::delete().to(communities::leave))),
        ep!(GET "/api/v1/communities/{id}/members", "communities", "Members, moderators first", body: None, query: NONE, Json("MemberPage"), Some(|| web::get().to(communities::members))),
        ep!(GET "/api/v1/communities/{id}/contributors", "communities", "Top contributors", body: None, query: NONE, Json("ContributorPage"), Some(|| web::get().to(communities::contributors))),
        ep!(PUT "/api/v1/communities/{id}/moderators/{user_id}", "communities", "Appoint a member moderator", body: None, query: NONE, NoContent, Some(|| web::put().to(communities::set_moderator))),
        ep!(DELETE "/api/v1/communities/{id}/moderators/{user_id}", "communities", "Make a moderator a member again", body: None, query: NONE, NoContent, Some(|| web::delete().to(communities::set_moderator))),
        ep!(GET "/api/v1/me", "people", "The caller", body: None, query: NONE, Json("Me"), Some(|| web::get().to(people::me))),
        ep!(GET "/api/v1/me/videos", "people", "The caller's videos in every state", body: None, query: &[("status", "string", "one status"), ("cursor", "string", "next_cursor"), ("limit", "integer", "1 to 100")], Json("VideoPage"), Some(|| web::get().to(videos::my_videos))),
        ep!(GET "/api/v1/me/inbox", "people", "Notifications, newest first", body: None, query: &[("unread", "boolean", "only unread"), ("cursor", "string", "next_cursor"), ("limit", "integer", "1 to 100")], Json("InboxPage"), Some(|| web::get().to(inbox::list))),
        ep!(POST "/api/v1/me/inbox/read-all", "people", "Mark every notification read", body: None, query: NONE, Json("Marked"), Some(|| web::post().to(inbox::mark_all_read))),
        ep!(POST "/api/v1/me/inbox/{id}/read", "people", "Mark one notification read", body: None, query: NONE, NoContent, Some(|| web::post().to(inbox::mark_read))),
        ep!(GET "/api/v1/users/{id}", "people", "A colleague's profile", body: None, query: NONE, Json("Profile"), Some(|| web::get().to(people::profile))),
        ep!(GET "/api/v1/admin/jobs", "admin", "Transcoding jobs, newest first", body: None, query: &[("status", "string", "queued, running, succeeded, failed, cancelled"), ("limit", "integer", "1 to 100")], Json("JobPage"), Some(|| web::get().to(admin::list_jobs))),
        ep!(POST "/api/v1/admin/jobs/{id}/retry", "admin", "Give a failed job another round", body: None, query: NONE, Json("RetriedJob"), Some(|| web::post().to(admin::retry_job))),
        ep!(POST "/api/v1/admin/users:import", "admin", "Import the org chart (CSV or JSON)", body: Some("ImportRows"), query: NONE, Json("ImportResult"), Some(|| web::post().to(import::import))),
        ep!(GET "/api/v1/admin/webhooks", "admin", "Registered webhooks", body: None, query: NONE, Json("WebhookList"), Some(|| web::get().to(webhooks::list))),
        ep!(POST "/api/v1/admin/webhooks", "admin", "Register a webhook (its secret is shown once)", body: Some("NewWebhook"), query: NONE, Created("CreatedWebhook"), Some(|| web::post().to(webhooks::create))),
        ep!(DELETE "/api/v1/admin/webhooks/{id}", "admin", "Remove a webhook", body: None, query: NONE, NoContent, Some(|| web::delete().to(webhooks::delete))),
        ep!(GET "/api/v1/admin/webhooks/{id}/deliveries", "admin", "A webhook's latest deliveries", body: None, query: NONE, Json("DeliveryList"), Some(|| web::get().to(webhooks::deliveries))),
        Endpoint {
            authenticated: false,
            ..ep!(GET "/api/v1/media/{video_id}/{token}/{path:.*}", "playback", "A video's file through a signed URL (Range supported)", body: None, query: NONE, File, Some(|| web::get().to(playback::get_media)))
        },
        Endpoint {
            authenticated: false,
            ..ep!(HEAD "/api/v1/media/{video_id}/{token}/{path:.*}", "playback", "A video's file headers", body: None, query: NONE, File, Some(|| web::head().to(playback::get_media)))
        },
        // Served by the upload service.
        ep!(POST "/api/v1/videos", "upload", "Upload a small video (multipart: file, title, description, tags)", body: Some("multipart"), query: NONE, Created("Video"), None),
        ep!(POST "/api/v1/uploads", "upload", "tus 1.0: create a resumable upload (see the API guide)", body: None, query: NONE, Created("Empty"), None),
        ep!(HEAD "/api/v1/uploads/{id}", "upload", "tus 1.0: where an upload stands (Upload-Offset)", body: None, query: NONE, NoContent, None),
        ep!(PATCH "/api/v1/uploads/{id}", "upload", "tus 1.0: append bytes at Upload-Offset", body: None, query: NONE, NoContent, None),
        ep!(DELETE "/api/v1/uploads/{id}", "upload", "tus 1.0: terminate an upload", body: None, query: NONE, NoContent, None),
        ep!(POST "/api/v1/uploads/direct", "upload", "Direct-to-S3 upload: presigned part URLs", body: Some("DirectUpload"), query: NONE, Created("DirectUploadStarted"), None),
        ep!(POST "/api/v1/uploads/direct/{id}/complete", "upload", "Finish a direct upload with the part ETags", body: Some("DirectComplete"), query: NONE, Json("DirectCompleted"), None),
    ]
}

/// `{path:.*}` → `{path}`: OpenAPI templates have no patterns.
fn openapi_path(actix: &str) -> String {
    let (mut out, mut in_braces, mut in_pattern) = (String::with_capacity(actix.len()), false, false);
    for c in actix.chars() {
        match c {
            '{' => {
                in_braces = true;
                out.push(c);
            }
            '}' => {
                (in_braces, in_pattern) = (false, false);
                out.push(c);
            }
            ':' if in_braces => in_pattern = true,
            _ if in_pattern => {}
            _ => out.push(c),
        }
    }
    out
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn operation(e: &Endpoint) -> Value {
    let path = openapi_path(e.path);
    let mut parameters: Vec<Value> = path
        .split('{')
        .skip(1)
        .filter_map(|p| p.split('}').next())
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    parameters.extend(e.query.iter().map(
        |(name, ty, about)| json!({ "name": name, "in": "query", "description": about, "schema": { "type": ty } }),
    ));
    let mut responses = Map::new();
    let (status, body) = match e.success {
        Success::Json(s) => ("200", Some(json!({ "application/json": { "schema": schema_ref(s) } }))),
        Success::Created(s) => ("201", Some(json!({ "application/json": { "schema": schema_ref(s) } }))),
        Success::NoContent => ("204", None),
        Success::File => (
            "200",
            Some(json!({ "*/*": { "schema": { "type": "string", "format": "binary" } } })),
        ),
    };
    let mut ok = json!({ "description": "success" });
    if let Some(content) = body {
        ok["content"] = content;
    }
    responses.insert(status.into(), ok);
    responses.insert(
        "4XX".into(),
        json!({ "description": "refused: an RFC 9457 problem document", "content": { "application/problem+json": { "schema": schema_ref("Problem") } } }),
    );
    let mut op = json!({
        "tags": [e.tag],
        "summary": e.summary,
        "operationId": format!("{}{}", e.method.as_str().to_lowercase(), path.replace(['/', '{', '}', ':', '.'], "_")),
        "parameters": parameters,
        "responses": responses,
    });
    if !e.authenticated {
        op["security"] = json!([]);
    }
    match e.body {
        Some("text") => {
            op["requestBody"] = json!({ "required": true, "content": { "text/vtt": { "schema": { "type": "string" } }, "application/x-subrip": { "schema": { "type": "string" } } } });
        }
        Some("multipart") => {
            op["requestBody"] = json!({ "required": true, "content": { "multipart/form-data": { "schema": schema_ref("VideoUploadForm") } } });
        }
        Some("ImportRows") => {
            op["requestBody"] = json!({ "required": true, "content": {
                "application/json": { "schema": schema_ref("ImportRows") },
                "text/csv": { "schema": { "type": "string", "description": "header `id,name,email,manager,team,roles`" } } } });
        }
        Some(s) => {
            op["requestBody"] =
                json!({ "required": true, "content": { "application/json": { "schema": schema_ref(s) } } });
        }
        None => {}
    }
    op
}

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for e in endpoints() {
        let item = paths.entry(openapi_path(e.path)).or_insert_with(|| json!({}));
        item[e.method.as_str().to_lowercase()] = operation(&e);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Skillreel API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Upload, transcode, find and watch microlearning videos. Errors are RFC 9457 problem documents; lists are cursor-paginated. The API guide (docs/API.md) has curl examples.",
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
            "schemas": crate::openapi_schemas::schemas(),
        },
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn serve_document() -> HttpResponse {
    HttpResponse::Ok().json(document())
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
    fn patterns_leave_the_path_and_every_ref_resolves() {
        assert_eq!(
            openapi_path("/api/v1/media/{video_id}/{token}/{path:.*}"),
            "/api/v1/media/{video_id}/{token}/{path}"
        );
        assert_eq!(openapi_path("/api/v1/admin/users:import"), "/api/v1/admin/users:import");
        let doc = document();
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
