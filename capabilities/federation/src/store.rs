//! The capability's SQL: remote instances and actors, follows both ways, what replay
//! protection remembers, and delivery health.

use serde::Serialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// What this instance thinks of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    /// Heard of; admitted only in open mode.
    Known,
    /// A partner: admitted in either mode.
    Allowed,
    /// Nothing in or out; its content is removed.
    Blocked,
}

impl InstanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Known => "known",
            Self::Allowed => "allowed",
            Self::Blocked => "blocked",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "allowed" => Self::Allowed,
            "blocked" => Self::Blocked,
            _ => Self::Known,
        }
    }
}

/// Which way a follow goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// This instance follows the other.
    Outgoing,
    /// The other follows this one.
    Incoming,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Outgoing => "outgoing",
            Self::Incoming => "incoming",
        }
    }
}

/// Where a follow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowState {
    /// Outgoing: looking for the instance's actor.
    Resolving,
    /// Waiting for an answer (outgoing) or for an admin (incoming).
    Pending,
    Accepted,
    Rejected,
    /// Outgoing: the instance could not be found or reached; given up.
    Unreachable,
}

impl FollowState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resolving => "resolving",
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Unreachable => "unreachable",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "resolving" => Self::Resolving,
            "accepted" => Self::Accepted,
            "rejected" => Self::Rejected,
            "unreachable" => Self::Unreachable,
            _ => Self::Pending,
        }
    }
}

/// A follow, either way.
#[derive(Debug, Clone)]
pub struct Follow {
    pub host: String,
    pub actor: Option<String>,
    pub url: Option<String>,
    pub activity_id: String,
    pub state: FollowState,
    pub reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A remote actor and its key, as cached.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub host: String,
    pub kind: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub key_id: String,
    pub public_key_pem: String,
    pub fetched_at: OffsetDateTime,
}

impl Actor {
    /// Where to deliver to it: its instance's shared inbox when it has one.
    pub fn delivery_inbox(&self) -> &str {
        self.shared_inbox.as_deref().unwrap_or(&self.inbox)
    }
}

pub async fn instance_status(conn: &mut PgConnection, host: &str) -> sqlx::Result<InstanceStatus> {
    let status = sqlx::query_scalar!("select status from federation_instance where host = $1", host)
        .fetch_optional(conn)
        .await?;
    Ok(status.map_or(InstanceStatus::Known, |s| InstanceStatus::parse(&s)))
}

/// Sets an instance's status (creating its row).
pub async fn set_instance_status(conn: &mut PgConnection, host: &str, status: InstanceStatus) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into federation_instance (host, status) values ($1, $2)
        on conflict (host) do update set status = excluded.status, updated_at = now()
        "#,
        host,
        status.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that an instance exists (a follow needs its row), keeping its status.
pub async fn ensure_instance(conn: &mut PgConnection, host: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into federation_instance (host) values ($1) on conflict do nothing",
        host
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An instance as admins see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceView {
    /// `host[:port]`.
    pub host: String,
    pub status: InstanceStatus,
    /// Whether this instance follows it, and how far that got.
    pub following: Option<FollowState>,
    /// Whether it follows this instance.
    pub follower: Option<FollowState>,
    /// Deliveries that failed in a row.
    pub failures: i32,
    /// Since when deliveries have been failing.
    #[serde(with = "time::serde::rfc3339::option")]
    pub failing_since: Option<OffsetDateTime>,
    /// Until when nothing is sent to it (the circuit breaker is open).
    #[serde(with = "time::serde::rfc3339::option")]
    pub paused_until: Option<OffsetDateTime>,
}

pub async fn instances(conn: &mut PgConnection, host: Option<&str>) -> sqlx::Result<Vec<InstanceView>> {
    let rows = sqlx::query!(
        r#"
        select i.host, i.status, i.failures, i.failing_since, i.circuit_open_until,
               o.state as "following?", n.state as "follower?"
          from federation_instance i
          left join federation_follow o on o.host = i.host and o.direction = 'outgoing'
          left join federation_follow n on n.host = i.host and n.direction = 'incoming'
         where $1::text is null or i.host = $1
         order by i.host
        "#,
        host,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| InstanceView {
            host: r.host,
            status: InstanceStatus::parse(&r.status),
            following: r.following.as_deref().map(FollowState::parse),
            follower: r.follower.as_deref().map(FollowState::parse),
            failures: r.failures,
            failing_since: r.failing_since,
            paused_until: r.circuit_open_until.filter(|until| *until > OffsetDateTime::now_utc()),
        })
        .collect())
}

pub async fn actor(conn: &mut PgConnection, id: &str) -> sqlx::Result<Option<Actor>> {
    sqlx::query_as!(
        Actor,
        "select id, host, kind, inbox, shared_inbox, key_id, public_key_pem, fetched_at from federation_actor where id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn actor_by_key(conn: &mut PgConnection, key_id: &str) -> sqlx::Result<Option<Actor>> {
    sqlx::query_as!(
        Actor,
        "select id, host, kind, inbox, shared_inbox, key_id, public_key_pem, fetched_at from federation_actor where key_id = $1",
        key_id
    )
    .fetch_optional(conn)
    .await
}

/// Stores a fetched actor (a key that moved to it from another actor moves with it).
pub async fn save_actor(conn: &mut PgConnection, actor: &Actor) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from federation_actor where key_id = $1 and id <> $2",
        actor.key_id,
        actor.id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"
        insert into federation_actor (id, host, kind, inbox, shared_inbox, key_id, public_key_pem, fetched_at)
        values ($1, $2, $3, $4, $5, $6, $7, now())
        on conflict (id) do update
           set host = excluded.host, kind = excluded.kind, inbox = excluded.inbox,
               shared_inbox = excluded.shared_inbox, key_id = excluded.key_id,
               public_key_pem = excluded.public_key_pem, fetched_at = now()
        "#,
        actor.id,
        actor.host,
        actor.kind,
        actor.inbox,
        actor.shared_inbox,
        actor.key_id,
        actor.public_key_pem,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Remembers a signature; `false` when it was seen before (a replay).
pub async fn remember_signature(conn: &mut PgConnection, digest: &[u8]) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "insert into federation_seen_signature (digest) values ($1) on conflict do nothing",
        digest
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Remembers an activity; `false` when it was applied before (a sender's retry).
pub async fn remember_activity(conn: &mut PgConnection, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "insert into federation_seen_activity (id) values ($1) on conflict do nothing",
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets signatures older than the `Date` window (a replay of one would be stale
/// anyway) and activities older than a week.
pub async fn prune_seen(conn: &mut PgConnection, window_seconds: f64) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from federation_seen_signature where seen_at < now() - make_interval(secs => $1)",
        window_seconds * 2.0
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("delete from federation_seen_activity where seen_at < now() - interval '7 days'")
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn follow(conn: &mut PgConnection, direction: Direction, host: &str) -> sqlx::Result<Option<Follow>> {
    Ok(follows_with(conn, direction, Some(host)).await?.into_iter().next())
}

pub async fn follows(conn: &mut PgConnection, direction: Direction) -> sqlx::Result<Vec<Follow>> {
    follows_with(conn, direction, None).await
}

/// The follows one way, all or with one instance.
async fn follows_with(conn: &mut PgConnection, direction: Direction, host: Option<&str>) -> sqlx::Result<Vec<Follow>> {
    let rows = sqlx::query!(
        r#"
        select host, actor, url, activity_id, state, reason, created_at, updated_at
          from federation_follow
         where direction = $1 and ($2::text is null or host = $2)
         order by created_at, host
        "#,
        direction.as_str(),
        host,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Follow {
            host: r.host,
            actor: r.actor,
            url: r.url,
            activity_id: r.activity_id,
            state: FollowState::parse(&r.state),
            reason: r.reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

/// Starts following an instance; an existing follow that is under way or accepted is
/// kept (the call is idempotent), one that ended is started again.
pub async fn start_follow(conn: &mut PgConnection, host: &str, url: &str, activity_id: &str) -> sqlx::Result<bool> {
    let started = sqlx::query!(
        r#"
        insert into federation_follow (direction, host, url, activity_id, state)
        values ('outgoing', $1, $2, $3, 'resolving')
        on conflict (direction, host) do update
           set url = excluded.url, activity_id = excluded.activity_id, state = 'resolving',
               reason = null, actor = null, updated_at = now()
         where federation_follow.state in ('rejected', 'unreachable')
        "#,
        host,
        url,
        activity_id,
    )
    .execute(conn)
    .await?;
    Ok(started.rows_affected() == 1)
}

/// Records an incoming follow (a repeated Follow replaces the earlier one's id).
pub async fn record_follower(
    conn: &mut PgConnection,
    host: &str,
    actor: &str,
    activity_id: &str,
    state: FollowState,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into federation_follow (direction, host, actor, activity_id, state)
        values ('incoming', $1, $2, $3, $4)
        on conflict (direction, host) do update
           set actor = excluded.actor, activity_id = excluded.activity_id,
               state = case when federation_follow.state = 'accepted' then 'accepted' else excluded.state end,
               updated_at = now()
        "#,
        host,
        actor,
        activity_id,
        state.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves a follow to `state` (and records the actor once it is known); `false` when
/// there is no such follow.
pub async fn set_follow_state(
    conn: &mut PgConnection,
    direction: Direction,
    host: &str,
    state: FollowState,
    actor: Option<&str>,
    reason: Option<&str>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        r#"
        update federation_follow set state = $3, actor = coalesce($4, actor), reason = $5, updated_at = now()
         where direction = $1 and host = $2
        "#,
        direction.as_str(),
        host,
        state.as_str(),
        actor,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_follow(conn: &mut PgConnection, direction: Direction, host: &str) -> sqlx::Result<Option<Follow>> {
    let removed = follow(&mut *conn, direction, host).await?;
    sqlx::query!(
        "delete from federation_follow where direction = $1 and host = $2",
        direction.as_str(),
        host
    )
    .execute(conn)
    .await?;
    Ok(removed)
}

/// The inboxes of the instances that follow this one (accepted), one per instance.
pub async fn follower_inboxes(conn: &mut PgConnection) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query!(
        r#"
        select f.host, coalesce(a.shared_inbox, a.inbox) as "inbox!"
          from federation_follow f join federation_actor a on a.id = f.actor
          join federation_instance i on i.host = f.host
         where f.direction = 'incoming' and f.state = 'accepted' and i.status <> 'blocked'
        "#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.host, r.inbox)).collect())
}

/// Counts of accepted follows each way, for the actor's collections.
pub async fn follow_counts(conn: &mut PgConnection) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"
        select count(*) filter (where direction = 'incoming') as "followers!",
               count(*) filter (where direction = 'outgoing') as "following!"
          from federation_follow where state = 'accepted'
        "#
    )
    .fetch_one(conn)
    .await?;
    Ok((row.followers, row.following))
}

/// How deliveries to an instance stand (an instance never seen is `known` and healthy).
#[derive(Debug, Clone)]
pub struct Health {
    pub status: InstanceStatus,
    pub failing_since: Option<OffsetDateTime>,
    pub circuit_open_until: Option<OffsetDateTime>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            status: InstanceStatus::Known,
            failing_since: None,
            circuit_open_until: None,
        }
    }
}

/// How deliveries to each of `hosts` stand, in one query.
pub async fn health_of(
    conn: &mut PgConnection,
    hosts: &[String],
) -> sqlx::Result<std::collections::HashMap<String, Health>> {
    let rows = sqlx::query!(
        "select host, status, failing_since, circuit_open_until from federation_instance where host = any($1)",
        hosts
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let health = Health {
                status: InstanceStatus::parse(&r.status),
                failing_since: r.failing_since,
                circuit_open_until: r.circuit_open_until,
            };
            (r.host, health)
        })
        .collect())
}

/// A delivery went through: the instance is healthy again.
pub async fn delivered(conn: &mut PgConnection, host: &str) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        update federation_instance set failures = 0, failing_since = null, circuit_open_until = null, updated_at = now()
         where host = $1 and failures > 0
        "#,
        host
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery failed: one more in a row, and the circuit opens for `open_seconds`
/// once there are `threshold` of them.
pub async fn delivery_failed(
    conn: &mut PgConnection,
    host: &str,
    threshold: i32,
    open_seconds: f64,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into federation_instance (host, failures, failing_since) values ($1, 1, now())
        on conflict (host) do update
           set failures = federation_instance.failures + 1,
               failing_since = coalesce(federation_instance.failing_since, now()),
               circuit_open_until = case when federation_instance.failures + 1 >= $2
                                         then now() + make_interval(secs => $3)
                                         else federation_instance.circuit_open_until end,
               updated_at = now()
        "#,
        host,
        threshold,
        open_seconds,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether followers were sent a `Create` of the local object `id`.
pub async fn was_sent(conn: &mut PgConnection, id: uuid::Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        "select exists (select 1 from federation_object where local_id = $1) as \"e!\"",
        id
    )
    .fetch_one(conn)
    .await
}

pub async fn mark_sent(conn: &mut PgConnection, id: uuid::Uuid, kind: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into federation_object (local_id, kind) values ($1, $2) on conflict do nothing",
        id,
        kind
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn forget_sent(conn: &mut PgConnection, id: uuid::Uuid) -> sqlx::Result<()> {
    sqlx::query!("delete from federation_object where local_id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}
