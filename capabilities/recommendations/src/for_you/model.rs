//! The background pass that builds what "for you" reads, so that a request only reads
//! and re-ranks:
//!
//! - **neighbours** (`video_neighbor`): for each video, the [`NEIGHBOURS`] videos most
//!   often liked, completed or recommended (to them) by the same people, over each
//!   person's latest [`HISTORY`] interactions: an item-to-item cosine, asymmetric
//!   (`c / (n_video^0.4 · n_neighbour^0.6)`: a popular neighbour is discounted more
//!   than a popular source), each person weighted by `1 / ln(1 + w)` where `w` sums
//!   their kept interactions (likes and completions 1, received recommendations 0.5;
//!   at least 1), so that someone who likes everything says little about any two
//!   videos, and shrunk towards zero when few people share the
//!   pair (`c / (c + 5)`), so that one shared fan does not make two videos neighbours;
//!   plus 0.7 times how often the neighbour came *after* the video in the same
//!   person's history (within [`AFTER`] interactions, each step further 0.95 as much),
//!   cosine-normalised: what people go on to next;
//! - **popular** (`video_popular`): interactions decayed with a 14-day half-life (at
//!   most 100 halvings, so that years-old ones stay above `real`'s smallest value), for
//!   the organisation, each team and each skill (tag): what new people see first;
//! - **each person's candidates** (`for_you_list`): the neighbours of their history,
//!   summed, best first, so that a request reads one row and adds only the neighbours
//!   of what the person did since ([`super::store`]).
//!
//! It runs at start and every `recommendations.model_interval_seconds` on whichever
//! replica takes the advisory lock first, rewrites the shared lists in one transaction
//! (readers see the old lists until it commits), then the people's lists a few hundred
//! people a transaction. Ages are measured from the newest
//! interaction, not the wall clock, so a data set replayed from the past ranks the same.

use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::{Acquire, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

/// Neighbours kept per video.
pub const NEIGHBOURS: i64 = 50;
/// Interactions per person the model learns from (their latest).
pub const HISTORY: i64 = 200;
/// How far ahead in a person's history "liked after" looks.
pub const AFTER: i32 = 20;
/// Popular videos kept per team and per skill (the organisation keeps ten times more).
pub const POPULAR: i64 = 50;
/// People whose own lists one transaction rebuilds.
const PEOPLE_AT_ONCE: usize = 500;

/// What a pass built.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelStats {
    /// Interactions learnt from (each person's latest).
    pub interactions: i64,
    /// Neighbours kept, over all videos.
    pub neighbors: i64,
    /// People with a list of their own candidates.
    pub people: i64,
    pub took_ms: i64,
}

/// How a pass ended.
#[derive(Debug)]
pub enum Pass {
    Built(ModelStats),
    /// Another replica is building the lists.
    Busy,
    /// `stop` came first: the lists are as they were (and the model keeps the time of
    /// the last whole pass), or the shared ones are new and some people's rebuilt (and
    /// the model is not marked built: the next replica to start builds it again).
    Stopped,
}

/// Builds the lists, unless another replica is, or until `stop`.
///
/// The pass runs on a connection of its own, out of the pool: a build reads every
/// interaction, no request waits on it, so the requests' statement limit does not
/// apply; and the lock it holds for the whole pass (across the transaction that
/// rewrites the shared lists and the batches that follow) is that session's, let go
/// of at the end, and gone with the connection should the pass fail half-way or stop.
pub async fn build(pool: &PgPool, stop: &CancellationToken) -> Result<Pass, sqlx::Error> {
    let mut conn = skillreel_db::unlimited_connection(pool).await?;
    // (the session's pid with the lock: a pass that stops ends that session)
    let lock = sqlx::query!(
        r#"select pg_try_advisory_lock(hashtext('recommender_model')) as "mine!", pg_backend_pid() as "backend!""#
    )
    .fetch_one(&mut conn)
    .await?;
    if !lock.mine {
        return Ok(Pass::Busy);
    }
    let backend = lock.backend;
    let built = tokio::select! {
        biased;
        () = stop.cancelled() => None,
        built = build_locked(&mut conn) => Some(built),
    };
    let Some(built) = built else {
        // A statement may be under way (the shared lists take minutes at scale): it
        // would run on, holding the lock, after the connection is dropped.
        terminate(pool, backend).await;
        return Ok(Pass::Stopped);
    };
    if built.is_ok() {
        sqlx::query_scalar!(r#"select pg_advisory_unlock(hashtext('recommender_model')) as "unlocked!""#)
            .fetch_one(&mut conn)
            .await?;
        sqlx::Connection::close(conn).await?;
    }
    built.map(Pass::Built)
}

/// Ends the pass's session on the server: its transaction rolls back, its lock goes.
async fn terminate(pool: &PgPool, backend: i32) {
    let ended = sqlx::query_scalar!(r#"select pg_terminate_backend($1) as "ended!""#, backend)
        .fetch_one(pool)
        .await;
    if let Err(e) = ended {
        tracing::warn!(error = %e, "could not end a stopped pass's session; it ends with its statement");
    }
}

async fn build_locked(conn: &mut PgConnection) -> Result<ModelStats, sqlx::Error> {
    let started = Instant::now();
    let (interactions, neighbors) = build_shared(&mut *conn, started).await?;
    let people = build_people(&mut *conn).await?;
    let took_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    // built only now: a pass that failed before this is tried again at the next turn
    sqlx::query!("update recommender_model set took_ms = $1, built_at = now()", took_ms)
        .execute(&mut *conn)
        .await?;
    // Fresh statistics, or the planner takes the new lists for the old (a table that
    // was empty reads as empty, and a request's index lookups become scans); and the
    // old rows gone with their pages marked all-visible, so that a request reads the
    // lists from their indexes alone. The lists are built by now: a vacuum that fails
    // only leaves them slower to read.
    if let Err(e) = vacuum(&mut *conn).await {
        tracing::warn!(error = %e, "could not vacuum the recommender's lists");
    }
    Ok(ModelStats {
        interactions,
        neighbors,
        people,
        took_ms,
    })
}

/// Rewrites the lists every person shares, neighbours and popular, in one transaction
/// (readers see the old ones until it commits): how many interactions it learnt from,
/// and how many neighbours it kept.
async fn build_shared(conn: &mut PgConnection, started: Instant) -> Result<(i64, i64), sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query!("set local work_mem = '256MB'").execute(&mut *tx).await?;
    // (only the pass reads this table, under its lock: truncating leaves no dead rows
    // for the next pass to step over)
    sqlx::query!("truncate recommender_interaction")
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        r#"
        insert into recommender_interaction (user_id, video_id, w, at, recent, person_weight)
        select user_id, video_id, w, at, recent,
               1.0 / ln(1.0 + greatest(sum(w) over (partition by user_id), 1.0)) from (
            select x.user_id, x.video_id, max(x.w) as w, max(x.at) as at,
                   row_number() over (partition by x.user_id order by max(x.at) desc, x.video_id) as recent
              from (
                  select user_id, video_id, 1.0::float8 as w, created_at as at from video_like
                  union all
                  select user_id, video_id, 1.0, completed_at from video_progress where completed_at is not null
                  union all
                  select recipient_id, video_id, 0.5, created_at from peer_recommendation
                   where video_id is not null and state <> 'dismissed'
              ) x
              join video v on v.id = x.video_id and v.status = 'published'
             group by x.user_id, x.video_id
        ) ranked
        where recent <= $1
        "#,
        HISTORY,
    )
    .execute(&mut *tx)
    .await?;
    let interactions = sqlx::query_scalar!(r#"select count(*) as "n!" from recommender_interaction"#)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query!("delete from video_neighbor").execute(&mut *tx).await?;
    let neighbors = sqlx::query!(
        r#"
        insert into video_neighbor (video_id, neighbor_id, score)
        with norms as (
            select video_id, sum(w * w * person_weight) as weighted, sum(w * w) as plain
              from recommender_interaction group by video_id
        ), pairs as (
            -- `recent` counts back from the latest: b came d steps after a when
            -- a.recent - b.recent = d
            select a.video_id, b.video_id as neighbor_id,
                   sum(a.w * b.w * a.person_weight) as weighted,
                   sum(a.w * b.w) as plain,
                   coalesce(sum(a.w * b.w * power(0.95::float8, (a.recent - b.recent - 1)::float8))
                                filter (where a.recent - b.recent between 1 and $2), 0.0) as after
              from recommender_interaction a join recommender_interaction b on b.user_id = a.user_id and b.video_id <> a.video_id
             group by a.video_id, b.video_id
        ), scored as (
            select p.video_id, p.neighbor_id,
                   p.weighted / (power(na.weighted, 0.4::float8) * power(nb.weighted, 0.6::float8))
                       * (p.plain / (p.plain + 5.0))
                   + 0.7 * p.after / sqrt(na.plain * nb.plain) as score
              from pairs p
              join norms na on na.video_id = p.video_id
              join norms nb on nb.video_id = p.neighbor_id
        ), ranked as (
            select video_id, neighbor_id, score,
                   row_number() over (partition by video_id order by score desc, neighbor_id) as rank
              from scored
        )
        select video_id, neighbor_id, score::float4 from ranked where rank <= $1
        "#,
        NEIGHBOURS,
        AFTER,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!("delete from video_popular").execute(&mut *tx).await?;
    sqlx::query!(
        r#"
        insert into video_popular (kind, key, video_id, score)
        with newest as (
            select coalesce(max(at), now()) as at from recommender_interaction
        ), weighted as (
            select i.user_id, i.video_id,
                   i.w * power(0.5::float8, least(extract(epoch from (newest.at - i.at))::float8 / 86400.0 / 14.0, 100.0)) as w
              from recommender_interaction i, newest
        ), org as (
            select 'org'::text as kind, ''::text as key, video_id, sum(w) as score from weighted group by video_id
        ), team as (
            select 'team'::text, u.team, w.video_id, sum(w.w)
              from weighted w join app_user u on u.id = w.user_id
             where u.team is not null
             group by u.team, w.video_id
        ), skill as (
            select 'skill'::text, tag, w.video_id, sum(w.w)
              from weighted w join video v on v.id = w.video_id, unnest(v.tags) as tag
             group by tag, w.video_id
        ), every as (
            select * from org union all select * from team union all select * from skill
        ), ranked as (
            select kind, key, video_id, score,
                   row_number() over (partition by kind, key order by score desc, video_id) as rank
              from every
        )
        select kind, key, video_id, score::float4 from ranked
         where rank <= case when kind = 'org' then $1::int8 * 10 else $1::int8 end
        "#,
        POPULAR,
    )
    .execute(&mut *tx)
    .await?;
    let took_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let neighbors = i64::try_from(neighbors).unwrap_or(i64::MAX);
    // not built until the people's lists are too: a pass that ends before them is
    // tried again at the next turn, or at once by a replica that starts
    sqlx::query!(
        r#"
        insert into recommender_model (id, built_at, interactions, neighbors, took_ms)
        values (1, '-infinity', $1, $2, $3)
        on conflict (id) do update set built_at = excluded.built_at, interactions = excluded.interactions,
                                       neighbors = excluded.neighbors, took_ms = excluded.took_ms
        "#,
        interactions,
        neighbors,
        took_ms,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((interactions, neighbors))
}

/// Rebuilds every person's own list of candidates from the new neighbours
/// ([`super::store::build_lists`]), [`PEOPLE_AT_ONCE`] people a transaction, so that
/// no request waits behind a transaction as long as the whole pass; and drops the lists
/// of people with nothing left to learn from. How many people have a list.
async fn build_people(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    let since = sqlx::query_scalar!(r#"select now() as "now!""#)
        .fetch_one(&mut *conn)
        .await?;
    let people = sqlx::query_scalar!(r#"select distinct user_id as "id!" from recommender_interaction order by 1"#)
        .fetch_all(&mut *conn)
        .await?;
    let mut built = 0;
    for batch in people.chunks(PEOPLE_AT_ONCE) {
        built += super::store::build_lists(&mut *conn, batch).await?;
    }
    sqlx::query!("delete from for_you_list where built_at < $1", since)
        .execute(&mut *conn)
        .await?;
    Ok(i64::try_from(built).unwrap_or(i64::MAX))
}

/// Vacuums and analyzes the lists (a statement without arguments goes by the simple
/// protocol, which `VACUUM` needs; it runs outside a transaction).
async fn vacuum(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, "vacuum (analyze) video_neighbor, video_popular, for_you_list").await?;
    Ok(())
}

/// Builds the lists every `interval` until `stop`: at start only when the last build
/// (by any replica) is older than that, so a restart does not redo minutes of work;
/// a pass under way when `stop` comes ends at once, so shutting down does not wait
/// for minutes of it.
pub fn spawn(pool: PgPool, interval: Duration, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    skillreel_web::repeat(stop.clone(), move || {
        let (pool, stop) = (pool.clone(), stop.clone());
        async move {
            match age(&pool).await {
                Ok(Some(age)) if age < interval => return interval - age,
                _ => {}
            }
            match build(&pool, &stop).await {
                Ok(Pass::Built(stats)) => tracing::info!(?stats, "built the recommender's lists"),
                Ok(Pass::Busy) => tracing::info!("another replica is building the recommender's lists"),
                Ok(Pass::Stopped) => tracing::info!("stopped building the recommender's lists"),
                Err(e) => tracing::warn!(error = %e, "could not build the recommender's lists"),
            }
            interval
        }
    })
}

/// How long ago the lists were last built; `None` if never (or a pass failed after
/// rewriting the shared lists: `-infinity`).
async fn age(pool: &PgPool) -> Result<Option<Duration>, sqlx::Error> {
    let seconds = sqlx::query_scalar!(
        r#"select extract(epoch from now() - built_at)::float8 as "seconds!" from recommender_model
            where built_at > '-infinity'"#
    )
    .fetch_optional(pool)
    .await?;
    Ok(seconds.map(|s| Duration::from_secs_f64(s.clamp(0.0, 1e9))))
}
