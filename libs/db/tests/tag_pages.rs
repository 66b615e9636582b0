//! A tag's first pages, asked together or alone, follow a video's owner, visibility
//! and community as they change. The tag's walk (`video_tag`, kept by a trigger) holds
//! only what orders the list; should it ever carry who may list a video too (tried at
//! stop 36: `docs/BENCHMARKS.md`), this is the test that shows it kept up.

mod common;

use skillreel_db::videos::{self, CommonList};
use skillreel_domain::UserId;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn person(conn: &mut PgConnection, subject: &str) -> sqlx::Result<UserId> {
    let id = UserId::new();
    sqlx::query("insert into app_user (id, subject, name) values ($1, $2, $2)")
        .bind(id.as_uuid())
        .bind(subject)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// The `rust` tag's first page for `reader`, asked with another reader's (so the batch
/// statement answers it) and alone; both must be the same.
async fn rust_page(
    conn: &mut PgConnection,
    reader: UserId,
    other: UserId,
) -> Result<Vec<Uuid>, Box<dyn std::error::Error>> {
    let tag = CommonList::Tag("rust".into());
    let batched = videos::first_pages(conn, &[(other, tag.clone()), (reader, tag)]).await?;
    let ids: Vec<Uuid> = batched
        .get(1)
        .ok_or("no page for the second ask")?
        .videos
        .iter()
        .map(|v| v.id.as_uuid())
        .collect();
    let alone = common::tag_page_alone(conn, reader, "rust").await?;
    let alone: Vec<Uuid> = alone.iter().map(|v| v.id.as_uuid()).collect();
    assert_eq!(ids, alone, "batched and alone");
    Ok(ids)
}

async fn update(conn: &mut PgConnection, video: Uuid, set: &str) -> sqlx::Result<()> {
    sqlx::query(&format!("update video set {set} where id = $1"))
        .bind(video)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_tags_first_page_follows_its_videos_owner_visibility_and_community(pool: PgPool) -> TestResult {
    let mut conn = pool.acquire().await?;
    let author = person(&mut conn, "author").await?;
    let reader = person(&mut conn, "reader").await?;
    let community = Uuid::new_v4();
    sqlx::query("insert into community (id, name, created_by) values ($1, 'Rustaceans', $2)")
        .bind(community)
        .bind(author.as_uuid())
        .execute(&mut *conn)
        .await?;
    let video = Uuid::new_v4();
    sqlx::query(
        "insert into video (id, owner_id, title, tags, status, visibility, community_id, published_at)
         values ($1, $2, 'Borrowing', '{rust}', 'published', 'community', $3, now())",
    )
    .bind(video)
    .bind(author.as_uuid())
    .bind(community)
    .execute(&mut *conn)
    .await?;

    assert_eq!(
        rust_page(&mut conn, reader, author).await?,
        Vec::<Uuid>::new(),
        "not a member"
    );
    assert_eq!(rust_page(&mut conn, author, reader).await?, vec![video], "its author");

    update(&mut conn, video, "visibility = 'org', community_id = null").await?;
    assert_eq!(
        rust_page(&mut conn, reader, author).await?,
        vec![video],
        "for the organisation"
    );

    update(
        &mut conn,
        video,
        &format!("visibility = 'community', community_id = '{community}'"),
    )
    .await?;
    assert_eq!(
        rust_page(&mut conn, reader, author).await?,
        Vec::<Uuid>::new(),
        "back in the community"
    );
    sqlx::query("insert into community_member (community_id, user_id) values ($1, $2)")
        .bind(community)
        .bind(reader.as_uuid())
        .execute(&mut *conn)
        .await?;
    assert_eq!(rust_page(&mut conn, reader, author).await?, vec![video], "a member now");

    update(&mut conn, video, "visibility = 'unlisted', community_id = null").await?;
    assert_eq!(
        rust_page(&mut conn, reader, author).await?,
        Vec::<Uuid>::new(),
        "unlisted"
    );
    update(&mut conn, video, &format!("owner_id = '{}'", reader.as_uuid())).await?;
    assert_eq!(rust_page(&mut conn, reader, author).await?, vec![video], "theirs now");
    assert_eq!(
        rust_page(&mut conn, author, reader).await?,
        Vec::<Uuid>::new(),
        "no longer the author's"
    );
    Ok(())
}
