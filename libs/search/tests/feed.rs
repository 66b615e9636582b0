//! The index following a real PostgreSQL: built from the `video` table, kept up to date
//! by the database's change feed whatever changes a video (an edit, captions, leaving
//! or reaching `published`, a deleted row), current for a search that asks it to be,
//! and on disk continuing after a restart from its position instead of building again.

use std::time::Duration;

use skillreel_domain::VideoId;
use skillreel_search::feed::{self, latest_change};
use skillreel_search::{IndexWriter, Lister, SearchIndex, SearchOrder, SearchRequest};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn person(pool: &PgPool) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query("insert into app_user (id, subject, name) values ($1, $2, $2)")
        .bind(id)
        .bind(format!("user-{id}"))
        .execute(pool)
        .await?;
    Ok(id)
}

async fn video(pool: &PgPool, owner: Uuid, title: &str, status: &str) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into video (id, owner_id, title, status, visibility, published_at)
         values ($1, $2, $3, $4, 'org', case when $4 = 'published' then now() end)",
    )
    .bind(id)
    .bind(owner)
    .bind(title)
    .bind(status)
    .execute(pool)
    .await?;
    Ok(id)
}

async fn change(pool: &PgPool, sql: &str, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(sql).bind(id).execute(pool).await?;
    Ok(())
}

/// Starts following the feed; the stop token and the task.
fn follow(pool: &PgPool, writer: IndexWriter) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let task = tokio::spawn(feed::follow(pool.clone(), writer, stop.clone()));
    (stop, task)
}

/// What `words` finds once the index holds every change committed so far.
async fn finds(pool: &PgPool, index: &SearchIndex, words: &str) -> Result<Vec<Uuid>, Box<dyn std::error::Error>> {
    let latest = latest_change(&mut *pool.acquire().await?).await?;
    assert!(
        index.caught_up(latest, Duration::from_secs(20)).await,
        "the index reached position {latest}"
    );
    let found = index.search(&SearchRequest {
        order: SearchOrder::Recent,
        limit: 50,
        ..SearchRequest::new(words, Lister::Admin)
    })?;
    Ok(found.into_iter().map(|f| VideoId::as_uuid(&f.id)).collect())
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_index_follows_every_change_to_what_search_sees(pool: PgPool) -> TestResult {
    let author = person(&pool).await?;
    let kafka = video(&pool, author, "Kafka streams", "published").await?;
    let (index, writer) = SearchIndex::open(None)?;
    let (stop, task) = follow(&pool, writer);
    assert_eq!(
        finds(&pool, &index, "kafka").await?,
        vec![kafka],
        "built from the table"
    );

    change(&pool, "update video set title = 'Pulsar streams' where id = $1", kafka).await?;
    assert_eq!(finds(&pool, &index, "pulsar").await?, vec![kafka], "an edit");
    assert_eq!(finds(&pool, &index, "kafka").await?, Vec::<Uuid>::new());

    sqlx::query("insert into caption (video_id, language, text) values ($1, 'en', 'partitions and consumers')")
        .bind(kafka)
        .execute(&pool)
        .await?;
    change(&pool, "update video set language = language where id = $1", kafka).await?;
    assert_eq!(finds(&pool, &index, "partitions").await?, vec![kafka], "captions");

    let draft = video(&pool, author, "Pulsar functions", "ready").await?;
    assert_eq!(
        finds(&pool, &index, "functions").await?,
        Vec::<Uuid>::new(),
        "not published"
    );
    change(
        &pool,
        "update video set status = 'published', published_at = now() where id = $1",
        draft,
    )
    .await?;
    assert_eq!(finds(&pool, &index, "functions").await?, vec![draft], "published");
    assert_eq!(
        finds(&pool, &index, "pulsar").await?,
        vec![draft, kafka],
        "newest first"
    );

    change(&pool, "update video set status = 'removed' where id = $1", kafka).await?;
    assert_eq!(finds(&pool, &index, "pulsar").await?, vec![draft], "removed");
    change(&pool, "delete from video where id = $1", draft).await?;
    assert_eq!(finds(&pool, &index, "pulsar").await?, Vec::<Uuid>::new(), "deleted");
    assert!(index.is_empty());

    stop.cancel();
    task.await?;
    Ok(())
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_index_on_disk_continues_after_a_restart_without_building_again(pool: PgPool) -> TestResult {
    let dir = tempfile::tempdir()?;
    let author = person(&pool).await?;
    let first = video(&pool, author, "Linux namespaces", "published").await?;
    let position = {
        let (index, writer) = SearchIndex::open(Some(dir.path()))?;
        assert_eq!(index.position(), None);
        let (stop, task) = follow(&pool, writer);
        assert_eq!(finds(&pool, &index, "linux").await?, vec![first]);
        stop.cancel();
        task.await?;
        index.position()
    };
    // While no replica runs: one video reaches the table without a change in the feed
    // (only a build from the table would find it), another the usual way.
    sqlx::query("alter table video disable trigger video_search_inserted")
        .execute(&pool)
        .await?;
    let unseen = video(&pool, author, "Linux cgroups", "published").await?;
    sqlx::query("alter table video enable trigger video_search_inserted")
        .execute(&pool)
        .await?;
    let second = video(&pool, author, "Linux capabilities", "published").await?;

    let (index, writer) = SearchIndex::open(Some(dir.path()))?;
    assert_eq!(index.position(), position, "reopened where it stopped");
    let (stop, task) = follow(&pool, writer);
    let found = finds(&pool, &index, "linux").await?;
    assert_eq!(found, vec![second, first], "the change applied, not rebuilt");
    assert!(!found.contains(&unseen));
    stop.cancel();
    task.await?;
    Ok(())
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_replica_stopped_for_longer_than_the_feed_is_kept_builds_again(pool: PgPool) -> TestResult {
    let dir = tempfile::tempdir()?;
    let author = person(&pool).await?;
    let first = video(&pool, author, "Rust lifetimes", "published").await?;
    {
        let (index, writer) = SearchIndex::open(Some(dir.path()))?;
        let (stop, task) = follow(&pool, writer);
        assert_eq!(finds(&pool, &index, "rust").await?, vec![first]);
        stop.cancel();
        task.await?;
    }
    // While it was stopped: a video only a build from the table finds, later changes,
    // and a week passes.
    sqlx::query("alter table video disable trigger video_search_inserted")
        .execute(&pool)
        .await?;
    let unseen = video(&pool, author, "Rust traits", "published").await?;
    sqlx::query("alter table video enable trigger video_search_inserted")
        .execute(&pool)
        .await?;
    let later = video(&pool, author, "Rust macros", "published").await?;
    sqlx::query("update search_change set changed_at = now() - interval '8 days'")
        .execute(&pool)
        .await?;
    assert!(feed::prune(&pool).await? >= 2, "the old changes are pruned");
    let kept: i64 = sqlx::query_scalar("select count(*) from search_change")
        .fetch_one(&pool)
        .await?;
    assert_eq!(kept, 0);

    let (index, writer) = SearchIndex::open(Some(dir.path()))?;
    let (stop, task) = follow(&pool, writer);
    let mut found = finds(&pool, &index, "rust").await?;
    found.sort();
    let mut all = vec![first, unseen, later];
    all.sort();
    assert_eq!(found, all, "built again from the table");
    stop.cancel();
    task.await?;
    Ok(())
}
