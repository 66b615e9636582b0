//! A video shows its owner's name and manager from its own row (no `app_user` probe per
//! listed video); a trigger copies them when the video is written and again when the
//! person changes. These tests show every read path keeps up: a point read, a tag's
//! page (batched and alone), the feed, and the manager's review queue.

mod common;

use skillreel_db::users::{self, UserClaims};
use skillreel_db::videos::{self, CommonList};
use skillreel_domain::{Roles, UserId, VideoId};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn claims(subject: &str, name: &str, manager: Option<&str>) -> UserClaims {
    UserClaims {
        subject: subject.into(),
        name: name.into(),
        email: None,
        roles: Roles::from_claims(["employee"]),
        manager_subject: manager.map(Into::into),
        team: None,
    }
}

async fn video(conn: &mut PgConnection, owner: UserId, status: &str) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into video (id, owner_id, title, tags, status, visibility, published_at)
         values ($1, $2, 'Borrowing', '{rust}', $3, 'org', now())",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .bind(status)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// The owner's name as every read path shows `video`; they must agree.
async fn shown_name(
    conn: &mut PgConnection,
    video: Uuid,
    reader: UserId,
) -> Result<String, Box<dyn std::error::Error>> {
    let found = videos::find(conn, VideoId::from_uuid(video))
        .await?
        .ok_or("the video is gone")?;
    let tag = CommonList::Tag("rust".into());
    let batched = videos::first_pages(conn, &[(reader, tag.clone()), (reader, CommonList::Feed)]).await?;
    let alone = common::tag_page_alone(conn, reader, "rust").await?;
    let mut names = vec![found.owner_name.clone()];
    for page in batched.iter().map(|p| &p.videos).chain([&alone]) {
        let listed = page.iter().find(|v| v.id.as_uuid() == video).ok_or("not listed")?;
        names.push(listed.owner_name.clone());
    }
    assert!(names.iter().all(|n| *n == found.owner_name), "{names:?}");
    Ok(found.owner_name)
}

fn xmin_query() -> &'static str {
    "select xmin::text from video where id = $1"
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_rename_reaches_every_read_of_the_owners_videos(pool: PgPool) -> TestResult {
    let mut conn = pool.acquire().await?;
    let author = users::provision(&mut conn, &claims("ada", "Ada", None)).await?;
    let reader = users::provision(&mut conn, &claims("bob", "Bob", None)).await?;
    let published = video(&mut conn, author.id, "published").await?;
    assert_eq!(shown_name(&mut conn, published, reader.id).await?, "Ada");

    users::provision(&mut conn, &claims("ada", "Ada Lovelace", None)).await?;
    assert_eq!(shown_name(&mut conn, published, reader.id).await?, "Ada Lovelace");

    // Claims that change nothing the video shows leave its row alone.
    let before: String = sqlx::query_scalar(xmin_query())
        .bind(published)
        .fetch_one(&mut *conn)
        .await?;
    let mut same = claims("ada", "Ada Lovelace", None);
    same.email = Some("ada@example.com".into());
    users::provision(&mut conn, &same).await?;
    let after: String = sqlx::query_scalar(xmin_query())
        .bind(published)
        .fetch_one(&mut *conn)
        .await?;
    assert_eq!(before, after, "an email change rewrote the video");

    // Another person's videos keep their owner's name.
    let other = video(&mut conn, reader.id, "published").await?;
    assert_eq!(shown_name(&mut conn, other, reader.id).await?, "Bob");

    // A video handed to another owner shows the new owner.
    sqlx::query("update video set owner_id = $2 where id = $1")
        .bind(published)
        .bind(reader.id.as_uuid())
        .execute(&mut *conn)
        .await?;
    assert_eq!(shown_name(&mut conn, published, reader.id).await?, "Bob");
    Ok(())
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_new_manager_reviews_what_the_old_one_no_longer_does(pool: PgPool) -> TestResult {
    let mut conn = pool.acquire().await?;
    let old = users::provision(&mut conn, &claims("olga", "Olga", None)).await?;
    let new = users::provision(&mut conn, &claims("nina", "Nina", None)).await?;
    let author = users::provision(&mut conn, &claims("ada", "Ada", Some("olga"))).await?;
    let pending = video(&mut conn, author.id, "pending_review").await?;
    let queue = |ids: Vec<videos::VideoRecord>| ids.into_iter().map(|v| v.id.as_uuid()).collect::<Vec<_>>();

    assert_eq!(
        queue(videos::review_queue(&mut conn, old.id, "olga", false, 50).await?),
        vec![pending]
    );
    assert_eq!(
        queue(videos::review_queue(&mut conn, new.id, "nina", false, 50).await?),
        Vec::<Uuid>::new()
    );

    users::provision(&mut conn, &claims("ada", "Ada", Some("nina"))).await?;
    assert_eq!(
        queue(videos::review_queue(&mut conn, old.id, "olga", false, 50).await?),
        Vec::<Uuid>::new()
    );
    assert_eq!(
        queue(videos::review_queue(&mut conn, new.id, "nina", false, 50).await?),
        vec![pending]
    );
    let found = videos::find(&mut conn, VideoId::from_uuid(pending))
        .await?
        .ok_or("the video is gone")?;
    assert_eq!(found.owner_manager_subject.as_deref(), Some("nina"));
    Ok(())
}
