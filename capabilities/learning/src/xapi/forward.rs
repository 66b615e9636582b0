//! Sends kept statements to the LRS (`xapi.endpoint`), oldest first, in batches, with
//! Basic auth and `X-Experience-API-Version: 1.0.3`.
//!
//! At least once: a batch is marked sent only after the LRS accepted it; while the LRS
//! is down or failing, each statement waits longer before its next attempt (doubling
//! from 1 s up to `xapi.retry_max_seconds`). A resend is the same statement, byte for
//! byte, so an LRS that stored it already keeps one (xAPI: same id and content). A
//! batch the LRS refuses as a whole (400, 409, 422) is retried one statement at a time
//! (`PUT ?statementId=`), so one statement the LRS will never take (a conflicting one)
//! is set aside with its reason instead of blocking the rest. Any number of replicas
//! may run: batches are claimed with `for update skip locked`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use skillreel_config::XapiSettings;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A statement the LRS refused for good waits this long (in effect, until an operator
/// looks: `last_error` says why).
const SET_ASIDE_DAYS: u64 = 3650;

pub fn spawn(
    pool: PgPool,
    settings: Arc<XapiSettings>,
    stop: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let endpoint = settings.endpoint.clone()?;
    let statements_url = format!("{}/statements", endpoint.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .inspect_err(|e| tracing::error!(error = %e, "no HTTP client for the LRS"))
        .ok()?;
    let every = Duration::from_millis(settings.poll_ms.max(10));
    Some(tokio::spawn(async move {
        loop {
            let sent = send_batch(&pool, &client, &statements_url, &settings)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "xapi forwarding round failed");
                    0
                });
            if sent == 0 || stop.is_cancelled() {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
            }
        }
    }))
}

/// What the LRS said to a request.
enum Answer {
    Accepted,
    /// Refused for what was sent: retrying the same will not help.
    Refused(String),
    /// Down, failing or unreachable: try again later.
    Unavailable(String),
}

async fn post(request: reqwest::RequestBuilder, settings: &XapiSettings) -> Answer {
    let sent = request
        .basic_auth(&settings.username, Some(settings.password.expose()))
        .header("X-Experience-API-Version", "1.0.3")
        .send()
        .await;
    match sent {
        Err(e) => Answer::Unavailable(format!("the LRS did not answer: {e}")),
        Ok(r) if r.status().is_success() => Answer::Accepted,
        Ok(r)
            if matches!(
                r.status(),
                StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY
            ) =>
        {
            let status = r.status();
            let body: String = r.text().await.unwrap_or_default().chars().take(500).collect();
            Answer::Refused(format!("the LRS refused it ({status}): {body}"))
        }
        Ok(r) => Answer::Unavailable(format!("the LRS answered {}", r.status())),
    }
}

/// Sends one batch of due statements; returns how many the LRS accepted.
async fn send_batch(
    pool: &PgPool,
    client: &reqwest::Client,
    url: &str,
    settings: &XapiSettings,
) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let due = sqlx::query_as!(
        Due,
        r#"
        select id, statement, attempts
          from xapi_statement
         where forwarded_at is null and next_attempt_at <= now()
         order by next_attempt_at, stored_at, id
         limit $1
           for update skip locked
        "#,
        settings.batch_size.max(1),
    )
    .fetch_all(&mut *tx)
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let batch: Vec<&serde_json::Value> = due.iter().map(|r| &r.statement).collect();
    let ids: Vec<Uuid> = due.iter().map(|r| r.id).collect();
    let accepted = match post(client.post(url).json(&batch), settings).await {
        Answer::Accepted => {
            mark_sent(&mut tx, &ids).await?;
            ids.len()
        }
        Answer::Unavailable(why) => {
            let attempts = due.iter().map(|r| r.attempts).max().unwrap_or(0);
            retry_later(&mut tx, &ids, &why, backoff(attempts, settings)).await?;
            0
        }
        Answer::Refused(_) => one_by_one(&mut tx, client, url, settings, &due).await?,
    };
    tx.commit().await?;
    Ok(accepted)
}

/// Each statement on its own (`PUT ?statementId=`), after the LRS refused their batch.
async fn one_by_one(
    tx: &mut sqlx::PgConnection,
    client: &reqwest::Client,
    url: &str,
    settings: &XapiSettings,
    due: &[Due],
) -> Result<usize, sqlx::Error> {
    let mut accepted = 0;
    for row in due {
        let request = client
            .put(url)
            .query(&[("statementId", row.id.to_string())])
            .json(&row.statement);
        match post(request, settings).await {
            Answer::Accepted => {
                mark_sent(tx, &[row.id]).await?;
                accepted += 1;
            }
            Answer::Refused(why) => {
                tracing::warn!(statement = %row.id, reason = %why, "the LRS refused a statement; set aside");
                retry_later(tx, &[row.id], &why, Duration::from_secs(86_400 * SET_ASIDE_DAYS)).await?;
            }
            Answer::Unavailable(why) => {
                retry_later(tx, &[row.id], &why, backoff(row.attempts, settings)).await?;
            }
        }
    }
    Ok(accepted)
}

/// A statement due to be sent.
struct Due {
    id: Uuid,
    statement: serde_json::Value,
    attempts: i32,
}

fn backoff(attempts: i32, settings: &XapiSettings) -> Duration {
    let seconds = 1u64 << attempts.clamp(0, 20);
    Duration::from_secs(seconds.min(settings.retry_max_seconds.max(1)))
}

async fn mark_sent(conn: &mut sqlx::PgConnection, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update xapi_statement set forwarded_at = now(), attempts = attempts + 1, last_error = null where id = any($1)",
        ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn retry_later(
    conn: &mut sqlx::PgConnection,
    ids: &[Uuid],
    why: &str,
    wait: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        update xapi_statement
           set attempts = attempts + 1, last_error = $2,
               next_attempt_at = now() + make_interval(secs => $3)
         where id = any($1)
        "#,
        ids,
        why,
        wait.as_secs_f64(),
    )
    .execute(conn)
    .await?;
    Ok(())
}
