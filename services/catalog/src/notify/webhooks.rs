//! Outbound webhooks, signed as Standard Webhooks specifies, so a Slack or Teams bridge
//! (or anything) can post what happens: admins register endpoints
//! (`/api/v1/admin/webhooks`), and every notification reaches them in two steps:
//! [`spawn_fan_out`] consumes the `notification.created` domain events and enqueues one
//! delivery job per subscribed webhook (in the consumer's transaction, so exactly once),
//! and [`spawn_deliverer`] sends those jobs from the `webhook` queue with retries.
//!
//! Each request is a `POST` of `{"type", "timestamp", "data"}` with headers
//! `webhook-id` (stable across retries: receivers deduplicate on it),
//! `webhook-timestamp` (Unix seconds) and `webhook-signature`
//! (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the endpoint's secret).
//! A 2xx ends a delivery; anything else is retried after 1, 2, 4 … s (at most an hour
//! apart), 10 attempts in all, then the delivery is `failed`.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use skillreel_auth::AuthUser;
use skillreel_db::notifications::NotificationKind;
use skillreel_db::webhooks::{self, Delivery, Target, Webhook};
use skillreel_domain::events::DomainEvent;
use skillreel_queue::events::{self, StoredEvent};
use skillreel_queue::{ClaimedJob, Failure, Listener, QueueError};
use skillreel_web::ApiError;
use skillreel_web::egress::{self, EgressPolicy};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::CatalogContext;
use crate::access::require_admin;

/// Attempts before a delivery is given up.
const MAX_ATTEMPTS: i32 = 10;
/// How long one sender holds a delivery (covers the request timeout).
const LEASE: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(500);

const KINDS: [&str; 7] = [
    "video_ready",
    "video_failed",
    "video_approved",
    "video_rejected",
    "comment",
    "answer",
    "mention",
];

/// `v1,<base64 HMAC-SHA256>` over `{id}.{timestamp}.{body}`, keyed by the secret's
/// bytes (`whsec_<base64>`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("whsec_{}", STANDARD.encode(key))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An http(s) URL the egress policy allows (no private, loopback or link-local
    /// address unless allowlisted).
    #[schema(max_length = 2000, pattern = "^https?://[^\\s/?#]+[^\\s]*$")]
    url: String,
    /// Notification kinds to send; all when absent or empty.
    #[serde(default)]
    #[schema(value_type = Vec<NotificationKind>)]
    events: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Shown once: verify signatures with it.
    pub secret: String,
}

/// `POST /api/v1/admin/webhooks`.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn create(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    body: skillreel_web::JsonObject<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&user, "manage webhooks")?;
    let url = reqwest::Url::parse(body.url.trim()).map_err(|e| ApiError::validation(format!("url: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || body.url.len() > 2000 {
        return Err(ApiError::validation("url must be an http(s) URL"));
    }
    ctx.egress.check_url(&url).await.map_err(ApiError::validation)?;
    if let Some(bad) = body.events.iter().find(|e| !KINDS.contains(&e.as_str())) {
        return Err(ApiError::validation(format!(
            "unknown event `{}`; events are {}",
            bad.chars().take(40).collect::<String>(),
            KINDS.join(", ")
        )));
    }
    let secret = new_secret();
    let mut conn = ctx.pool.acquire().await?;
    let webhook = webhooks::create(&mut conn, url.as_str(), &secret, &body.events, user.id.as_uuid()).await?;
    Ok(HttpResponse::Created().json(CreatedWebhook { webhook, secret }))
}

/// `GET /api/v1/admin/webhooks` (secrets are not shown again).
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn list(user: AuthUser, ctx: web::Data<CatalogContext>) -> Result<web::Json<Vec<Webhook>>, ApiError> {
    require_admin(&user, "manage webhooks")?;
    let mut conn = ctx.pool.acquire().await?;
    Ok(web::Json(webhooks::list(&mut conn).await?))
}

/// `DELETE /api/v1/admin/webhooks/{id}`: its queued deliveries go with it.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn delete(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&user, "manage webhooks")?;
    let id: Uuid = path.parse().map_err(|_| ApiError::not_found("webhook"))?;
    let mut tx = ctx.pool.begin().await?;
    if webhooks::delete(&mut tx, id).await? {
        skillreel_queue::cancel_matching(&mut tx, webhooks::DELIVERY_QUEUE, "webhook_id", &id.to_string()).await?;
        tx.commit().await?;
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("webhook"))
    }
}

/// `GET /api/v1/admin/webhooks/{id}/deliveries`: the latest 100, newest first.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn deliveries(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<web::Json<Vec<Delivery>>, ApiError> {
    require_admin(&user, "manage webhooks")?;
    let id: Uuid = path.parse().map_err(|_| ApiError::not_found("webhook"))?;
    let mut conn = ctx.pool.acquire().await?;
    Ok(web::Json(webhooks::deliveries(&mut conn, id, 100).await?))
}

/// The consumer's name in `event_consumer`.
const CONSUMER: &str = "webhooks";
/// Deliveries one sender takes at a time (and sends concurrently).
const BATCH: usize = 16;

/// What a delivery job carries.
#[derive(Debug, Serialize, Deserialize)]
struct DeliveryJob {
    webhook_id: Uuid,
    /// The notification kind, which webhooks subscribe to.
    event: String,
    /// The JSON posted, the same on every attempt.
    body: serde_json::Value,
}

/// Turns notifications into delivery jobs until `stop`; any number of catalog replicas
/// may run one (one at a time holds the consumer).
pub fn spawn_fan_out(pool: PgPool, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    let rounds = pool.clone();
    tokio::spawn(events::serve_consumer(pool, CONSUMER, POLL * 4, stop, move || {
        let pool = rounds.clone();
        async move {
            events::consume_batch(&pool, CONSUMER, 100, &mut async |conn, event| {
                enqueue_deliveries(conn, event).await
            })
            .await
        }
    }))
}

/// One delivery job per webhook that wants this notification.
async fn enqueue_deliveries(conn: &mut PgConnection, event: &StoredEvent) -> Result<(), QueueError> {
    if event.kind != "notification.created" {
        return Ok(());
    }
    let Ok(DomainEvent::NotificationCreated {
        notification,
        user,
        notification_kind,
        video,
        details,
        timestamp,
    }) = serde_json::from_value::<DomainEvent>(event.payload.clone())
    else {
        tracing::error!(event = %event.id, "skipping a notification event of an unknown shape");
        return Ok(());
    };
    let body = serde_json::json!({
        "type": notification_kind,
        "timestamp": timestamp,
        "data": {
            "notification_id": notification,
            "user_id": user,
            "video_id": video,
            "details": details,
        },
    });
    for webhook_id in webhooks::subscribed(conn, &notification_kind).await? {
        let job = DeliveryJob {
            webhook_id,
            event: notification_kind.clone(),
            body: body.clone(),
        };
        skillreel_queue::enqueue(conn, webhooks::DELIVERY_QUEUE, &job, MAX_ATTEMPTS).await?;
    }
    Ok(())
}

/// Sends delivery jobs until `stop`; any number of catalog replicas may run one.
pub fn spawn_deliverer(pool: PgPool, egress: EgressPolicy, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match egress.client(REQUEST_TIMEOUT) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhook delivery disabled: no HTTP client");
                return;
            }
        };
        let owner = format!("catalog-webhooks-{}", Uuid::new_v4());
        let mut wakeups = Listener::jobs(&pool, POLL).await;
        loop {
            let sent = deliver_due(&pool, &client, &egress, &owner).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "webhook delivery round failed");
                0
            });
            if sent == 0 {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = wakeups.wait() => {}
                }
            } else if stop.is_cancelled() {
                return;
            }
        }
    })
}

async fn deliver_due(
    pool: &PgPool,
    client: &reqwest::Client,
    egress: &EgressPolicy,
    owner: &str,
) -> Result<usize, QueueError> {
    let due = skillreel_queue::claim_many(pool, webhooks::DELIVERY_QUEUE, owner, LEASE, BATCH as i64).await?;
    let outcomes = futures_util::future::join_all(due.iter().map(|job| attempt(pool, client, egress, job))).await;
    let mut conn = pool.acquire().await?;
    for (job, outcome) in due.iter().zip(outcomes) {
        match outcome {
            Ok(()) => {
                skillreel_queue::complete(&mut conn, job).await?;
            }
            Err(error) => {
                let retry_in = Duration::from_secs_f64(2f64.powi(job.attempt.clamp(1, 13) - 1).min(3600.0));
                tracing::info!(delivery = %job.id, attempt = job.attempt, error, "webhook not delivered");
                skillreel_queue::fail(&mut conn, job, Failure::RetryIn(retry_in), &error).await?;
            }
        }
    }
    Ok(due.len())
}

/// One attempt at a delivery job: its webhook looked up afresh (a deleted webhook's
/// jobs are cancelled, an edited allowlist applies), then signed and sent.
async fn attempt(
    pool: &PgPool,
    client: &reqwest::Client,
    egress: &EgressPolicy,
    job: &ClaimedJob,
) -> Result<(), String> {
    let delivery: DeliveryJob = job.payload().map_err(|e| e.to_string())?;
    let target = {
        let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
        webhooks::target(&mut conn, delivery.webhook_id)
            .await
            .map_err(|e| e.to_string())?
    };
    let Some(target) = target else {
        return Err("the webhook was deleted".to_owned());
    };
    send(client, egress, &target, &job.id.to_string(), &delivery.body).await
}

async fn send(
    client: &reqwest::Client,
    egress: &EgressPolicy,
    target: &Target,
    id: &str,
    body: &serde_json::Value,
) -> Result<(), String> {
    if egress.refuses_literal(&target.url) {
        return Err(egress::AddressNotAllowed.to_string());
    }
    let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let signature = sign(&target.secret, id, timestamp, &body).ok_or("the webhook's secret is malformed")?;
    let response = client
        .post(&target.url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| delivery_error(&e))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else if status.is_redirection() {
        Err(format!("the endpoint answered {status}; redirects are not followed"))
    } else {
        Err(format!("the endpoint answered {status}"))
    }
}

/// What an admin reads about a failed delivery: what happened, never the text of a
/// lower layer (which would make the webhook a probe of the network behind us).
fn delivery_error(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(cause) = source {
        if cause.is::<egress::AddressNotAllowed>() {
            return cause.to_string();
        }
        source = cause.source();
    }
    tracing::info!(error = %e, "webhook request failed");
    if e.is_timeout() {
        format!("the endpoint did not answer within {} s", REQUEST_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "could not connect to the endpoint".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification.
    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(sign("not-a-secret", "id", 1, b"{}"), None);
    }
}
