//! The learning record as xAPI 1.0.3 statements.
//!
//! The `xapi` event consumer turns learning events ([`statements::verb_of`]) into
//! statements kept in PostgreSQL (`xapi_statement`), each with its event's id as its
//! statement id: replaying an event never makes a second statement. The forwarder
//! ([`forward`]) sends them to the configured LRS, at least once, always the same bytes,
//! so an LRS that already has one keeps it once. Admins pull them in the LRS's format
//! at `GET /api/v1/xapi/statements`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_config::XapiSettings;
use skillreel_domain::events::DomainEvent;
use skillreel_queue::QueueError;
use skillreel_queue::events::{self, StoredEvent};
use skillreel_web::ApiError;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::LearningContext;

pub mod forward;
pub mod statements;

/// The consumer's name in `event_consumer`.
const CONSUMER: &str = "xapi";

/// Runs the `xapi` consumer until `stop`.
pub fn spawn_consumer(
    pool: PgPool,
    settings: Arc<XapiSettings>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let rounds = pool.clone();
    tokio::spawn(events::serve_consumer(
        pool,
        CONSUMER,
        Duration::from_secs(2),
        stop,
        move || {
            let (pool, home) = (rounds.clone(), settings.home_page.clone());
            async move {
                events::consume_batch(&pool, CONSUMER, 200, &mut async move |conn, event| {
                    keep(conn, &home, event).await
                })
                .await
            }
        },
    ))
}

/// Keeps the statement of one event, if it is a learning event (idempotent).
async fn keep(conn: &mut PgConnection, home: &str, stored: &StoredEvent) -> Result<(), QueueError> {
    let Ok(event) = serde_json::from_value::<DomainEvent>(stored.payload.clone()) else {
        return Ok(());
    };
    let (Some((verb, needs)), Some(actor)) = (statements::verb_of(&event), event.actor()) else {
        return Ok(());
    };
    let Some(agent) = sqlx::query!("select subject, name from app_user where id = $1", actor.as_uuid())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(());
    };
    let object = match needs {
        statements::Needs::Video(id) => {
            sqlx::query!("select id, title, language, origin_id from video where id = $1", id)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| (r.id, r.title, r.language, r.origin_id))
        }
        statements::Needs::Journey(id) => {
            sqlx::query!("select id, title, language, origin_id from journey where id = $1", id)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| (r.id, r.title, r.language, r.origin_id))
        }
    };
    let Some((object_id, title, language, origin_id)) = object else {
        return Ok(());
    };
    let timestamp = stored.occurred_at.format(&Rfc3339).unwrap_or_default();
    let statement = statements::statement(
        stored.id,
        &timestamp,
        home,
        verb,
        &event,
        &statements::Agent {
            subject: &agent.subject,
            name: &agent.name,
        },
        &statements::Object {
            id: object_id,
            origin_id: origin_id.as_deref(),
            title: &title,
            language: &language,
        },
    );
    sqlx::query!(
        r#"
        insert into xapi_statement (id, actor_id, verb, statement)
        values ($1, $2, $3, $4)
        on conflict (id) do nothing
        "#,
        stored.id,
        actor.as_uuid(),
        verb,
        statement,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatementsQuery {
    /// Only statements stored after this instant (RFC 3339).
    #[param(format = DateTime, value_type = Option<String>)]
    since: Option<String>,
    /// Only this person's, as an xAPI agent (JSON): `{"account":{"homePage":…,"name":"alice"}}`.
    #[param(max_length = 2000)]
    agent: Option<String>,
    /// Only statements with this verb IRI.
    #[param(max_length = 500)]
    verb: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// Where the previous page ended (from `more`).
    #[param(pattern = "^[0-9]{1,30}_[0-9a-fA-F-]{36}$")]
    after: Option<String>,
}

/// A page of statements, as an LRS answers `GET /xAPI/statements`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementResult {
    #[schema(value_type = Vec<Object>)]
    pub statements: Vec<serde_json::Value>,
    /// The URL of the next page, or empty.
    pub more: String,
}

fn parse_agent(raw: &str) -> Result<Option<String>, ApiError> {
    let agent: serde_json::Value =
        serde_json::from_str(raw).map_err(|_| ApiError::bad_request("agent must be an xAPI agent in JSON"))?;
    Ok(agent
        .get("account")
        .and_then(|a| a.get("name"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned))
}

fn parse_after(raw: &str) -> Option<(OffsetDateTime, Uuid)> {
    let (at, id) = raw.split_once('_')?;
    let nanos: i128 = at.parse().ok()?;
    Some((OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?, id.parse().ok()?))
}

/// `GET /api/v1/xapi/statements`: admins pull the statements in the LRS's format,
/// oldest first.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn list(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    query: web::Query<StatementsQuery>,
) -> Result<web::Json<StatementResult>, ApiError> {
    if !user.is_admin() {
        return Err(ApiError::forbidden("only admins may read the learning record"));
    }
    if query
        .verb
        .as_deref()
        .is_some_and(|v| v.chars().count() > 500 || v.contains('\0'))
    {
        return Err(ApiError::bad_request("verb must be an IRI of at most 500 characters"));
    }
    if query.agent.as_deref().is_some_and(|a| a.chars().count() > 2000) {
        return Err(ApiError::bad_request("agent is at most 2000 characters"));
    }
    let limit = i64::from(query.limit.unwrap_or(100));
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 500"));
    }
    let since = match query.since.as_deref() {
        Some(raw) => Some(
            OffsetDateTime::parse(raw, &Rfc3339)
                .map_err(|_| ApiError::bad_request("since must be an RFC 3339 instant"))?,
        ),
        None => None,
    };
    let after = match query.after.as_deref() {
        Some(raw) => Some(parse_after(raw).ok_or_else(|| ApiError::bad_request("after is not valid"))?),
        None => None,
    };
    let subject = query.agent.as_deref().map(parse_agent).transpose()?;
    // An agent no account of ours can be (none, or a name PostgreSQL cannot hold) has
    // no statements.
    if subject
        .as_ref()
        .is_some_and(|s| s.as_deref().is_none_or(|name| name.contains('\0')))
    {
        return Ok(web::Json(StatementResult {
            statements: Vec::new(),
            more: String::new(),
        }));
    }
    let mut conn = ctx.pool.acquire().await?;
    let rows = sqlx::query!(
        r#"
        select s.id, s.statement, s.stored_at
          from xapi_statement s
         where ($1::timestamptz is null or s.stored_at > $1)
           and ($2::text is null or s.actor_id = (select id from app_user where subject = $2))
           and ($3::text is null or s.verb = $3)
           and ($4::timestamptz is null or (s.stored_at, s.id) > ($4, $5::uuid))
         order by s.stored_at, s.id
         limit $6
        "#,
        since,
        subject.flatten(),
        query.verb,
        after.map(|a| a.0),
        after.map(|a| a.1),
        limit + 1,
    )
    .fetch_all(&mut *conn)
    .await?;
    let more = match rows.get(usize::try_from(limit).unwrap_or(0)) {
        Some(_) => {
            let last = &rows[usize::try_from(limit - 1).unwrap_or(0)];
            let mut next = url_params(&query);
            next.push(format!("after={}_{}", last.stored_at.unix_timestamp_nanos(), last.id));
            format!("/api/v1/xapi/statements?{}", next.join("&"))
        }
        None => String::new(),
    };
    let statements = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|r| {
            let mut s = r.statement;
            s["stored"] = serde_json::Value::String(r.stored_at.format(&Rfc3339).unwrap_or_default());
            s["version"] = serde_json::Value::String("1.0.3".into());
            s
        })
        .collect();
    Ok(web::Json(StatementResult { statements, more }))
}

/// The query of the next page, without its `after`.
fn url_params(query: &StatementsQuery) -> Vec<String> {
    let encode = |v: &str| {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    let mut out = Vec::new();
    if let Some(v) = &query.since {
        out.push(format!("since={}", encode(v)));
    }
    if let Some(v) = &query.agent {
        out.push(format!("agent={}", encode(v)));
    }
    if let Some(v) = &query.verb {
        out.push(format!("verb={}", encode(v)));
    }
    if let Some(v) = query.limit {
        out.push(format!("limit={v}"));
    }
    out
}
