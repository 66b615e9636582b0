//! The inbox (`POST /federation/inbox`, shared by every actor of this instance, and
//! `POST /federation/actor/inbox`): an activity is applied only once everything
//! below holds, and each refusal says why and changes nothing.
//!
//! | check | refusal |
//! |---|---|
//! | the body is at most `federation.max_activity_bytes` | 413 |
//! | a `Signature` header covering `(request-target)`, `host`, `date`, `digest`, `hs2019` or `rsa-sha256` | 401 |
//! | `Date` within `federation.signature_window_seconds` of our clock | 401 |
//! | `Digest` is the body's SHA-256 | 400 |
//! | the signer's instance is not blocked, and is allowed in allowlist mode | 403 |
//! | the signer's key (fetched and cached; fetched again once if it fails) verifies | 401 |
//! | the signature was not seen before (a replay) | 401 |
//! | the body is a JSON object with `id`, `type` and `actor` | 400 |
//! | the activity's `actor` is the signer (or, for an instance actor, one of its host's people), its `id` on the signer's host | 401 / 400 |
//!
//! A valid activity seen before (the sender's retry) is accepted and not applied
//! again; a type this instance does not act on is accepted and ignored (202).

use std::time::{Duration, SystemTime};

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt as _;
use sha2::{Digest as _, Sha256};
use skillreel_web::{ApiError, ErrorCode};

use crate::FederationContext;
use crate::follows;
use crate::objects::Incoming;
use crate::remote::{self, FetchError};
use crate::signature::{self, SignatureError, SignatureHeader};
use crate::store::{self, Actor};

/// `POST /federation/inbox` and `POST /federation/actor/inbox`.
#[tracing::instrument(skip_all)]
pub async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<FederationContext>,
) -> Result<HttpResponse, ApiError> {
    if !ctx.settings.enabled {
        return Err(ApiError::not_found("federation"));
    }
    let body = read_body(&req, payload, ctx.settings.max_activity_bytes).await?;
    let (signer, signature) = authenticate(&req, Some(&body), &ctx).await?;
    let document: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("the activity is not JSON: {e}")))?;
    let activity = Incoming::read(&document).map_err(ApiError::bad_request)?;
    if !speaks_for(&signer, &activity.actor) {
        return Err(ApiError::unauthenticated(format!(
            "the activity's actor is not the signer ({})",
            short(&signer.id)
        )));
    }
    if remote::host_of(&activity.id).is_none_or(|h| !h.eq_ignore_ascii_case(&signer.host)) {
        return Err(ApiError::bad_request("the activity's id is not on its actor's host"));
    }
    let mut tx = ctx.pool.begin().await?;
    if !store::remember_signature(&mut tx, &signature).await? {
        return Err(ApiError::unauthenticated(
            "this signed request was seen before (a replay)",
        ));
    }
    if store::remember_activity(&mut tx, &activity.id).await? {
        follows::apply(&ctx, &mut tx, &signer, &activity).await?;
    }
    tx.commit().await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Whether `signer` may act as `actor`: itself, or, for an instance actor, a person of
/// its own host (instances sign for their people, as this one does).
fn speaks_for(signer: &Actor, actor: &str) -> bool {
    actor == signer.id
        || (matches!(signer.kind.as_str(), "Application" | "Service")
            && remote::host_of(actor).is_some_and(|h| h.eq_ignore_ascii_case(&signer.host)))
}

fn short(s: &str) -> String {
    s.chars().take(100).collect()
}

/// The body, refused with 413 once it passes `limit` (before reading further).
async fn read_body(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("an activity is at most {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            if skillreel_web::is_timed_out(&e) {
                ApiError::new(ErrorCode::RequestTimeout, "the activity did not arrive in time")
            } else {
                ApiError::bad_request(format!("the body could not be read: {e}"))
            }
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    let values: Vec<&str> = req.headers().get_all(name).filter_map(|v| v.to_str().ok()).collect();
    (!values.is_empty()).then(|| values.iter().map(|v| v.trim()).collect::<Vec<_>>().join(", "))
}

fn refused(e: SignatureError) -> ApiError {
    ApiError::unauthenticated(e.to_string())
}

/// The id in a signed fetch of one of our objects (`what`, for the 404): the request
/// signed by an instance this one federates with, the id a UUID; 404 while federation
/// is off.
pub(crate) async fn fetched_id(
    req: &HttpRequest,
    ctx: &FederationContext,
    raw: &str,
    what: &str,
) -> Result<uuid::Uuid, ApiError> {
    if !ctx.settings.enabled {
        return Err(ApiError::not_found(what));
    }
    authenticate(req, None, ctx).await?;
    raw.parse().map_err(|_| ApiError::not_found(what))
}

/// Checks a request's signature (and, with a `body`, its `Digest`): the signing actor
/// and the signature's digest (for replay protection) when it holds. Signed fetches of
/// partners-only objects pass `None`.
pub(crate) async fn authenticate(
    req: &HttpRequest,
    body: Option<&[u8]>,
    ctx: &FederationContext,
) -> Result<(Actor, Vec<u8>), ApiError> {
    let parsed = SignatureHeader::parse(
        &header(req, "signature")
            .ok_or(SignatureError::Missing)
            .map_err(refused)?,
    )
    .map_err(refused)?;
    parsed.check_coverage(body.is_some()).map_err(refused)?;
    check_date(req, ctx.settings.signature_window_seconds)?;
    if let Some(body) = body {
        let digest = header(req, "digest").ok_or_else(|| ApiError::bad_request("the request has no Digest header"))?;
        if !signature::digest_matches(&digest, body) {
            return Err(ApiError::bad_request("the Digest header does not match the body"));
        }
    }
    let host =
        remote::host_of(&parsed.key_id).ok_or_else(|| refused(SignatureError::Malformed("keyId is not a URL")))?;
    let status = {
        let mut conn = ctx.pool.acquire().await?;
        store::instance_status(&mut conn, &host).await?
    };
    if !ctx.admits(status) {
        return Err(ApiError::forbidden(format!(
            "{host} is not an instance this one federates with"
        )));
    }
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned());
    let string = signature::signing_string(req.method().as_str(), &target, &parsed.headers, |name| {
        header(req, name)
    })
    .map_err(refused)?;
    let signer = key_of(ctx, &parsed.key_id, false).await?;
    let signer = match check(&signer, &string, &parsed.signature) {
        Ok(()) => signer,
        // A key cached a while ago may have been rotated: fetch it once more.
        Err(_) if stale(&signer, ctx.settings.key_refresh_seconds) => {
            let fresh = key_of(ctx, &parsed.key_id, true).await?;
            check(&fresh, &string, &parsed.signature).map_err(refused)?;
            fresh
        }
        Err(e) => return Err(refused(e)),
    };
    Ok((signer, Sha256::digest(&parsed.signature).to_vec()))
}

fn check(actor: &Actor, string: &str, sig: &[u8]) -> Result<(), SignatureError> {
    signature::verify(&signature::public_key(&actor.public_key_pem)?, string, sig)
}

fn stale(actor: &Actor, refresh_seconds: u64) -> bool {
    (time::OffsetDateTime::now_utc() - actor.fetched_at).whole_seconds()
        >= i64::try_from(refresh_seconds).unwrap_or(i64::MAX)
}

async fn key_of(ctx: &FederationContext, key_id: &str, refresh: bool) -> Result<Actor, ApiError> {
    remote::signer(ctx, key_id, refresh).await.map_err(|e| match e {
        FetchError::Database(e) => e.into(),
        other => ApiError::unauthenticated(format!("the signer's key could not be had: {other}")),
    })
}

/// `Date` must be within the window either side of our clock.
fn check_date(req: &HttpRequest, window_seconds: u64) -> Result<(), ApiError> {
    let date = header(req, "date").ok_or_else(|| refused(SignatureError::HeaderMissing("date".into())))?;
    let sent =
        httpdate::parse_http_date(&date).map_err(|_| ApiError::bad_request("the Date header is not an HTTP date"))?;
    let now = SystemTime::now();
    let skew = now.duration_since(sent).unwrap_or_else(|e| e.duration());
    if skew > Duration::from_secs(window_seconds) {
        return Err(ApiError::unauthenticated(format!(
            "the request's Date is {} s from ours; at most {window_seconds} s is accepted",
            skew.as_secs()
        )));
    }
    Ok(())
}
