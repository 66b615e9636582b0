//! Keeping the index up to date from PostgreSQL: build it from the `video` table when it
//! has no position, then apply the search change feed (`search_change`, written by the
//! database in commit order) after that position, woken by `NOTIFY` or by a search that
//! found the index behind.

use std::time::{Duration, Instant};

use skillreel_domain::{CommunityId, UserId, VideoId};
use skillreel_queue::Listener;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{IndexWriter, IndexedVideo, SearchError};

/// The channel a committed change notifies.
pub const SEARCH_CHANNEL: &str = "skillreel_search";
/// Videos read and written per step of a build.
const BUILD_BATCH: i64 = 2_000;
/// Changes applied per commit.
const CHANGE_BATCH: i64 = 1_000;
/// How long the follower waits for a notification before it looks anyway.
const FALLBACK: Duration = Duration::from_secs(5);
/// How long changes are kept: a replica stopped for longer builds its index again.
const RETENTION_DAYS: i32 = 7;
/// How often a replica offers to prune the feed (one at a time does).
const PRUNE_EVERY: Duration = Duration::from_secs(3_600);

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Index(#[from] SearchError),
    #[error("a stored video does not parse: {0}")]
    Stored(String),
}

/// Follows the feed until `stop`: builds the index if it has no position, then applies
/// each batch of changes as it commits. Errors are logged and retried; the catalog
/// answers searches from PostgreSQL for as long as the index is not built or behind.
pub async fn follow(pool: PgPool, mut writer: IndexWriter, stop: CancellationToken) {
    let mut wakeups = Listener::on(&pool, SEARCH_CHANNEL, FALLBACK).await;
    if let Some(position) = writer.index().position() {
        match pruned_past(&pool, position).await {
            Ok(false) => {
                tracing::info!(
                    position,
                    videos = writer.index().len(),
                    "the search index continues from where it stopped"
                );
            }
            Ok(true) => {
                tracing::info!(
                    position,
                    "the changes after the search index's position were pruned; building it again"
                );
                writer.index().forget_position();
            }
            Err(e) => tracing::warn!(error = %e, "could not read the search feed's horizon"),
        }
    }
    let mut pruned_at = Instant::now();
    loop {
        if pruned_at.elapsed() >= PRUNE_EVERY {
            pruned_at = Instant::now();
            if let Err(e) = prune(&pool).await {
                tracing::warn!(error = %e, "could not prune the search change feed");
            }
        }
        let index = std::sync::Arc::clone(writer.index());
        let step = if index.position().is_none() {
            build(&pool, writer).await
        } else {
            apply_changes(&pool, writer).await
        };
        let Some(step) = step else {
            tracing::error!("the search index's writer failed; searching with PostgreSQL until a restart");
            index.forget_position();
            return;
        };
        let more = match step {
            (w, Ok(more)) => {
                writer = w;
                more
            }
            (w, Err(e)) => {
                tracing::warn!(error = %e, "the search index could not follow the database; retrying");
                writer = w;
                false
            }
        };
        if more {
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = wakeups.wait() => {}
            () = index.woken() => {}
        }
    }
}

/// Runs `work` with the writer on a blocking thread (Tantivy writes and commits block)
/// and hands the writer back.
/// `None` when the writer is lost (the work panicked): nothing can write any more.
async fn blocking<T: Send + 'static>(
    mut writer: IndexWriter,
    work: impl FnOnce(&mut IndexWriter) -> Result<T, SearchError> + Send + 'static,
) -> Option<(IndexWriter, Result<T, FeedError>)> {
    let (writer, result) = tokio::task::spawn_blocking(move || {
        let result = work(&mut writer);
        (writer, result)
    })
    .await
    .ok()?;
    Some((writer, result.map_err(FeedError::from)))
}

/// Builds the index from every published video; `Ok(true)`: look for changes at once.
async fn build(pool: &PgPool, writer: IndexWriter) -> Option<(IndexWriter, Result<bool, FeedError>)> {
    let started = Instant::now();
    // A connection is taken per statement, not held across the index's writes: a
    // build must not keep one from the requests.
    // Taken before the scan: changes after it are applied again afterwards (a row read
    // twice does no harm), none before it can be missed.
    let position = match async { latest_change(&mut *pool.acquire().await?).await }.await {
        Ok(p) => p,
        Err(e) => return Some((writer, Err(e.into()))),
    };
    let (mut writer, cleared) = blocking(writer, |w| w.clear()).await?;
    if let Err(e) = cleared {
        return Some((writer, Err(e)));
    }
    let mut after = None;
    let mut count = 0usize;
    loop {
        let batch = async { published_after(&mut *pool.acquire().await?, after, BUILD_BATCH).await };
        let videos = match batch.await {
            Ok(v) => v,
            Err(e) => return Some((writer, Err(e))),
        };
        let Some(last) = videos.last() else { break };
        after = Some(last.id.as_uuid());
        count += videos.len();
        let (w, added) = blocking(writer, move |w| w.add(&videos)).await?;
        writer = w;
        if let Err(e) = added {
            return Some((writer, Err(e)));
        }
    }
    let (writer, committed) = blocking(writer, move |w| {
        w.commit(position)?;
        // Searchable from the commit on; one segment instead of dozens answers faster,
        // but dozens answer too.
        if let Err(e) = w.compact() {
            tracing::warn!(error = %e, "could not merge the built search index; it answers from its segments");
        }
        Ok(())
    })
    .await?;
    if committed.is_ok() {
        tracing::info!(
            videos = count,
            position,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "built the search index"
        );
    }
    Some((writer, committed.map(|()| true)))
}

/// Applies the next batch of changes; `Ok(true)` when there may be more.
async fn apply_changes(pool: &PgPool, writer: IndexWriter) -> Option<(IndexWriter, Result<bool, FeedError>)> {
    let from = writer.index().position().unwrap_or(0);
    let loaded: Result<_, FeedError> = async {
        let mut conn = pool.acquire().await?;
        let changes = changes_after(&mut conn, from, CHANGE_BATCH).await?;
        let Some(&(last, _)) = changes.last() else {
            return Ok(None);
        };
        let mut changed: Vec<Uuid> = changes.iter().map(|c| c.1).collect();
        changed.sort_unstable();
        changed.dedup();
        let current = published(&mut conn, &changed).await?;
        Ok(Some((last, changed, current, changes.len() as i64)))
    }
    .await;
    let (last, changed, current, read) = match loaded {
        Ok(Some(batch)) => batch,
        Ok(None) => return Some((writer, Ok(false))),
        Err(e) => return Some((writer, Err(e))),
    };
    let (writer, applied) = blocking(writer, move |w| {
        w.replace(&changed, &current)?;
        w.commit(last)
    })
    .await?;
    Some((writer, applied.map(|()| read == CHANGE_BATCH)))
}

/// Whether changes after `position` have been pruned (the index must be built again).
async fn pruned_past(pool: &PgPool, position: i64) -> Result<bool, sqlx::Error> {
    let horizon = sqlx::query_scalar!("select position from search_change_horizon")
        .fetch_optional(pool)
        .await?;
    Ok(horizon.is_some_and(|h| h > position))
}

/// Deletes the changes older than the retention and moves the horizon past them; one
/// replica at a time (the others find the lock taken and skip).
pub async fn prune(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mine = sqlx::query_scalar!(r#"select pg_try_advisory_xact_lock(7305286158431047683) as "locked!""#)
        .fetch_one(&mut *tx)
        .await?;
    if !mine {
        return Ok(0);
    }
    let pruned = sqlx::query_scalar!(
        r#"
        with gone as (
            delete from search_change
             where changed_at < now() - make_interval(days => $1) and position is not null
            returning position
        ),
        moved as (
            update search_change_horizon
               set position = greatest(position, coalesce((select max(position) from gone), 0))
        )
        select count(*) as "pruned!" from gone
        "#,
        RETENTION_DAYS
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(u64::try_from(pruned).unwrap_or(0))
}

/// The position of the last committed change (0 before the first; the horizon when
/// every change was pruned).
pub async fn latest_change(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        select greatest((select max(position) from search_change),
                        (select position from search_change_horizon), 0) as "position!"
        "#
    )
    .fetch_one(conn)
    .await
}

/// What a search needs from the database besides the index: the position the index
/// must have reached to show every change committed before the search was asked, and
/// the communities the reader belongs to (what they may list beyond everyone's
/// videos). Several searches' readers in one statement (searches that arrive together
/// share it, see the catalog's search lanes); one answer per reader, in their order.
pub async fn search_contexts(
    conn: &mut PgConnection,
    readers: &[UserId],
) -> Result<Vec<(i64, Vec<CommunityId>)>, sqlx::Error> {
    let readers: Vec<Uuid> = readers.iter().map(|r| r.as_uuid()).collect();
    let rows = sqlx::query!(
        r#"
        select greatest((select max(position) from search_change),
                        (select position from search_change_horizon), 0) as "position!",
               array(select m.community_id from community_member m where m.user_id = q.reader) as "communities!"
          from unnest($1::uuid[]) with ordinality as q(reader, n)
         order by q.n
        "#,
        &readers
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let communities = row.communities.into_iter().map(CommunityId::from_uuid).collect();
            (row.position, communities)
        })
        .collect())
}

async fn changes_after(conn: &mut PgConnection, position: i64, limit: i64) -> Result<Vec<(i64, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"
        select position as "position!", video_id
          from search_change
         where position > $1
         order by position
         limit $2
        "#,
        position,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.position, r.video_id)).collect())
}

/// Selects a published video as search sees it, its captions cut where PostgreSQL's
/// own search cuts them; `$tail` narrows and orders.
macro_rules! select_indexed {
    ($tail:literal, $($arg:expr),*) => {
        sqlx::query!(
            r#"
            select v.id, v.owner_id, v.title, v.description, v.tags, v.language, v.visibility,
                   v.community_id, v.duration_ms,
                   (extract(epoch from coalesce(v.published_at, v.created_at)) * 1000000)::int8 as "published_at!",
                   left(coalesce((select string_agg(c.text, ' ' order by c.language) from caption c
                                   where c.video_id = v.id), ''), 100000) as "spoken!"
              from video v
             where v.status = 'published' "# + $tail,
            $($arg),*
        )
    };
}

macro_rules! indexed_rows {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|r| {
                Ok(IndexedVideo {
                    id: VideoId::from_uuid(r.id),
                    owner: UserId::from_uuid(r.owner_id),
                    title: r.title,
                    description: r.description,
                    tags: r.tags,
                    spoken: r.spoken,
                    language: r.language,
                    visibility: r
                        .visibility
                        .parse()
                        .map_err(|_| FeedError::Stored(r.visibility.clone()))?,
                    community: r.community_id.map(CommunityId::from_uuid),
                    duration_ms: r.duration_ms,
                    published_at: r.published_at,
                })
            })
            .collect::<Result<Vec<_>, FeedError>>()
    };
}

async fn published_after(
    conn: &mut PgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<IndexedVideo>, FeedError> {
    let rows = select_indexed!(
        "and ($1::uuid is null or v.id > $1) order by v.id limit $2",
        after,
        limit
    )
    .fetch_all(conn)
    .await?;
    indexed_rows!(rows)
}

async fn published(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<IndexedVideo>, FeedError> {
    let rows = select_indexed!("and v.id = any($1)", ids).fetch_all(conn).await?;
    indexed_rows!(rows)
}
