//! Point reads that arrive together are asked of the database in one statement; each
//! reader still gets their own answer: whether *they* like the video, and 404 for a
//! video only its community's members may see.

use super::*;

async fn like(w: &World, who: &str, video: Uuid) {
    let r = w
        .app
        .call(Method::PUT, &format!("/api/v1/videos/{video}/like"), who, None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn reads_asked_together_each_get_their_readers_answer(_: PgPoolOptions, db: PgConnectOptions) {
    // One lane and no read cache: the burst below queues behind one statement at a
    // time, so the reads share batches.
    let w = world(&db, |s| {
        s.catalog.cache_ttl_seconds = 0;
        s.catalog.point_read_lanes = 1;
    })
    .await;
    let first = w.seed("First lesson", "published", "org", None).await;
    let second = w.seed("Second lesson", "published", "org", None).await;
    let members_only = w
        .seed("Members only", "published", "community", Some(w.community))
        .await;
    like(&w, &w.other, first).await;
    like(&w, &w.author, second).await;
    like(&w, &w.moderator, members_only).await;

    // (reader, video, what they get: their like, or 404)
    let expected: Vec<(&str, &str, Uuid, Option<bool>)> = vec![
        ("bob", &w.other, first, Some(true)),
        ("bob", &w.other, second, Some(false)),
        ("bob", &w.other, members_only, None),
        ("alice", &w.author, first, Some(false)),
        ("alice", &w.author, second, Some(true)),
        ("alice", &w.author, members_only, Some(false)),
        ("mo", &w.moderator, first, Some(false)),
        ("mo", &w.moderator, second, Some(false)),
        ("mo", &w.moderator, members_only, Some(true)),
    ];
    let burst: Vec<_> = (0..6).flat_map(|_| expected.iter()).collect();
    let answers = get_at_once(
        &w.app,
        burst
            .iter()
            .map(|(_, token, video, _)| (*token, format!("/api/v1/videos/{video}"))),
    )
    .await;
    // Every read of the burst was asked of the database once, and some shared a statement.
    let figure = scraped_metrics(&w.app).await;
    assert_eq!(
        figure("skillreel_catalog_point_read_batch_size_sum "),
        burst.len() as f64
    );
    let statements = figure("skillreel_catalog_point_read_batch_size_count ");
    assert!(
        statements < burst.len() as f64,
        "{} reads took {statements} statements",
        burst.len()
    );
    for ((who, _, video, want), (status, body)) in burst.iter().zip(answers) {
        match want {
            Some(liked) => {
                assert_eq!(status, StatusCode::OK, "{who} reading {video}: {body}");
                assert_eq!(body["id"], json!(video.to_string()), "{who} got another video");
                assert_eq!(body["liked"], json!(liked), "{who} reading {video}");
            }
            None => {
                assert_eq!(status, StatusCode::NOT_FOUND, "{who} reading {video}: {body}");
                assert_eq!(body["code"], "not_found");
            }
        }
    }
}
