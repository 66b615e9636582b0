//! The migration that keeps partners' content beside ours moves what an instance kept
//! in `remote_video` (and its people's likes of it) into `video`, with an author row
//! per attributed actor, and loses nothing.

use std::borrow::Cow;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use uuid::Uuid;

/// A moved video: title, status, visibility, origin, likes, tags, length (ms),
/// language, and its author's subject and origin.
type Moved = (
    String,
    String,
    String,
    String,
    i64,
    Vec<String>,
    i64,
    String,
    String,
    Option<String>,
);

/// The first migration of partners' content as rows of our own.
const REMOTE_CONTENT: i64 = 20261207000001;

#[sqlx::test(migrations = false)]
async fn kept_partner_videos_and_likes_move_into_videos(pool: PgPool) {
    let before = Migrator {
        migrations: Cow::Owned(
            skillreel_db::MIGRATOR
                .migrations
                .iter()
                .filter(|m| m.version < REMOTE_CONTENT)
                .cloned()
                .collect(),
        ),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    before.run(&pool).await.unwrap_or_else(|e| panic!("{e}"));
    let (ben, attributed, anonymous) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let statements = [
        format!("insert into app_user (id, subject, name) values ('{ben}', 'ben', 'Ben')"),
        format!(
            "insert into remote_video (id, object_id, host, attributed_to, name, content, duration_seconds, language,
                                       tags, hls_url, thumbnail_url, html_url, published_at, document)
             values ('{attributed}', 'https://a.example/federation/videos/1', 'a.example',
                     'https://a.example/federation/users/ana', 'Tracing', 'How', 42, 'de', '{{rust}}',
                     'https://a.example/m.m3u8', 'https://a.example/t.jpg', 'https://a.example/videos/1',
                     '2026-12-01T10:00:00Z', '{{}}')"
        ),
        format!(
            "insert into remote_video (id, object_id, host, name, published_at, document)
             values ('{anonymous}', 'https://b.example/v/2', 'b.example', 'Untitled author', now(), '{{}}')"
        ),
        format!(
            "insert into remote_video_like (remote_video_id, user_id, activity_id)
             values ('{attributed}', '{ben}', 'https://here.example/federation/activities/9')"
        ),
    ];
    for statement in &statements {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    skillreel_db::MIGRATOR
        .run(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let moved: Moved = sqlx::query_as(
        "select v.title, v.status, v.visibility, v.origin, v.like_count, v.tags, v.duration_ms, v.language,
                u.subject, u.origin
           from video v join app_user u on u.id = v.owner_id where v.id = $1",
    )
    .bind(attributed)
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        moved,
        (
            "Tracing".into(),
            "published".into(),
            "federated".into(),
            "a.example".into(),
            1,
            vec!["rust".to_owned()],
            42_000,
            "de".into(),
            "remote:https://a.example/federation/users/ana".into(),
            Some("a.example".into()),
        )
    );
    let urls: (Option<String>, Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("select origin_id, origin_hls_url, origin_thumbnail_url, origin_url from video where id = $1")
            .bind(attributed)
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(urls.0.as_deref(), Some("https://a.example/federation/videos/1"));
    assert_eq!(urls.1.as_deref(), Some("https://a.example/m.m3u8"));
    assert_eq!(urls.2.as_deref(), Some("https://a.example/t.jpg"));
    assert_eq!(urls.3.as_deref(), Some("https://a.example/videos/1"));
    // Without an attributed actor, the instance stands for its author.
    let owner: String =
        sqlx::query_scalar("select u.actor_id from video v join app_user u on u.id = v.owner_id where v.id = $1")
            .bind(anonymous)
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(owner, "https://b.example");
    // Ben's like is a like here, and its Like id is kept for an Undo.
    let sent: String = sqlx::query_scalar(
        "select s.activity_id from federation_sent_like s join video_like l using (video_id, user_id)
          where s.video_id = $1 and s.user_id = $2",
    )
    .bind(attributed)
    .bind(ben)
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent, "https://here.example/federation/activities/9");
    let gone: Option<String> = sqlx::query_scalar("select to_regclass('remote_video')::text")
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(gone, None);
}
