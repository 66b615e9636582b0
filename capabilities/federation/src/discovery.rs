//! How other instances find this one: WebFinger (RFC 7033), NodeInfo 2.1, the
//! instance actor and its collections, and people as `Person` actors. All public:
//! a peer fetches the instance actor to verify our signatures before it can sign a
//! fetch of its own.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use skillreel_web::ApiError;
use uuid::Uuid;

use crate::FederationContext;
use crate::objects::{self, activity_json};

fn enabled(ctx: &FederationContext) -> Result<(), ApiError> {
    if ctx.settings.enabled {
        Ok(())
    } else {
        Err(ApiError::not_found("federation"))
    }
}

fn key_error(e: crate::instance::KeyError) -> ApiError {
    match e {
        crate::instance::KeyError::Database(e) => e.into(),
        other => ApiError::internal(other),
    }
}

/// `GET /federation/actor`: the instance actor.
pub async fn actor(ctx: web::Data<FederationContext>) -> Result<HttpResponse, ApiError> {
    enabled(&ctx)?;
    let key = ctx.instance.key(&ctx.pool).await.map_err(key_error)?;
    let name = format!("Skillreel ({})", ctx.instance.host());
    Ok(activity_json(&objects::instance_actor(
        &ctx.instance,
        &key.public_key_pem,
        &name,
    )))
}

/// `GET /federation/users/{id}`: a person of this instance.
pub async fn person(ctx: web::Data<FederationContext>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    enabled(&ctx)?;
    let id: Uuid = path.parse().map_err(|_| ApiError::not_found("person"))?;
    let name = sqlx::query_scalar!("select name from app_user where id = $1 and origin is null", id)
        .fetch_optional(&ctx.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("person"))?;
    Ok(activity_json(&objects::person(&ctx.instance, id, &name)))
}

/// `GET /federation/actor/followers` and `…/following`: their sizes (the members
/// are the admins' business, not the public's).
pub async fn followers(ctx: web::Data<FederationContext>) -> Result<HttpResponse, ApiError> {
    collection(&ctx, "followers").await
}

pub async fn following(ctx: web::Data<FederationContext>) -> Result<HttpResponse, ApiError> {
    collection(&ctx, "following").await
}

/// `GET /federation/actor/outbox`: nothing is listed publicly yet; partners receive
/// what is federated by delivery.
pub async fn outbox(ctx: web::Data<FederationContext>) -> Result<HttpResponse, ApiError> {
    enabled(&ctx)?;
    Ok(activity_json(&objects::collection(
        &ctx.instance.collection("outbox"),
        0,
    )))
}

async fn collection(ctx: &FederationContext, name: &str) -> Result<HttpResponse, ApiError> {
    enabled(ctx)?;
    let mut conn = ctx.pool.acquire().await?;
    let (followers, following) = crate::store::follow_counts(&mut conn).await?;
    let total = if name == "followers" { followers } else { following };
    Ok(activity_json(&objects::collection(
        &ctx.instance.collection(name),
        total,
    )))
}

#[derive(Debug, Deserialize)]
pub struct Finger {
    resource: Option<String>,
}

/// `GET /.well-known/webfinger?resource=…`: `acct:{host}@{host}` (the Mastodon
/// convention) or `acct:skillreel@{host}` or the instance's URL name the instance
/// actor; `acct:{user id}@{host}` or a person's actor URL name that person.
pub async fn webfinger(ctx: web::Data<FederationContext>, query: web::Query<Finger>) -> Result<HttpResponse, ApiError> {
    enabled(&ctx)?;
    let resource = query
        .resource
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::bad_request("the resource parameter is required"))?;
    let instance = &ctx.instance;
    let origin = instance.origin();
    let actor = instance.actor_id();
    let user = match resource.strip_prefix("acct:") {
        Some(acct) => {
            let (name, host) = acct.rsplit_once('@').ok_or_else(|| ApiError::not_found("account"))?;
            if !host.eq_ignore_ascii_case(instance.host()) {
                return Err(ApiError::not_found("account"));
            }
            if name.eq_ignore_ascii_case(instance.host()) || name.eq_ignore_ascii_case("skillreel") {
                None
            } else {
                Some(name.parse::<Uuid>().map_err(|_| ApiError::not_found("account"))?)
            }
        }
        None if resource.trim_end_matches('/') == origin || resource == actor => None,
        None => {
            let id = resource
                .strip_prefix(&format!("{origin}/federation/users/"))
                .ok_or_else(|| ApiError::not_found("account"))?;
            Some(id.parse::<Uuid>().map_err(|_| ApiError::not_found("account"))?)
        }
    };
    let answer = match user {
        None => objects::webfinger(&format!("acct:{0}@{0}", instance.host()), &actor, origin),
        Some(id) => {
            let exists = sqlx::query_scalar!(
                "select exists (select 1 from app_user where id = $1 and origin is null) as \"e!\"",
                id
            )
            .fetch_one(&ctx.pool)
            .await?;
            if !exists {
                return Err(ApiError::not_found("account"));
            }
            objects::webfinger(
                &format!("acct:{id}@{}", instance.host()),
                &instance.person_id(id),
                origin,
            )
        }
    };
    Ok(HttpResponse::Ok().content_type("application/jrd+json").json(answer))
}

/// `GET /.well-known/nodeinfo`: where NodeInfo is.
pub async fn nodeinfo_links(ctx: web::Data<FederationContext>) -> Result<HttpResponse, ApiError> {
    enabled(&ctx)?;
    Ok(HttpResponse::Ok().json(json!({
        "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": format!("{}/nodeinfo/2.1", ctx.instance.origin()),
        }],
    })))
}

/// `GET /nodeinfo/2.1`: software, protocols and usage.
pub async fn nodeinfo(ctx: web::Data<FederationContext>) -> Result<HttpResponse, ApiError> {
    enabled(&ctx)?;
    let usage = sqlx::query!(
        r#"
        select (select count(*) from app_user where origin is null) as "users!",
               (select count(distinct user_id) from participation_day where day > current_date - 30) as "month!",
               (select count(distinct user_id) from participation_day where day > current_date - 180) as "halfyear!",
               (select count(*) from video where status = 'published' and origin is null) as "videos!"
        "#
    )
    .fetch_one(&ctx.pool)
    .await?;
    let body = json!({
        "version": "2.1",
        "software": {
            "name": "skillreel",
            "version": env!("CARGO_PKG_VERSION"),
            "homepage": ctx.instance.origin(),
        },
        "protocols": ["activitypub"],
        "services": { "inbound": [], "outbound": [] },
        "openRegistrations": false,
        "usage": {
            "users": { "total": usage.users, "activeMonth": usage.month, "activeHalfyear": usage.halfyear },
            "localPosts": usage.videos,
        },
        "metadata": {
            "nodeName": format!("Skillreel ({})", ctx.instance.host()),
            "federation": { "mode": ctx.settings.mode },
        },
    });
    Ok(HttpResponse::Ok()
        .content_type("application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"")
        .json(body))
}
