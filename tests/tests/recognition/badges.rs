//! Badges: each awarded once, also when many try at once; the monthly top contributor
//! of a community; first video; 10 likes.

use skillreel_domain::events::DomainEvent;
use skillreel_domain::recognition::Badge;
use skillreel_domain::{UserId, VideoId};

use super::*;

fn badges_of(v: &Value) -> Vec<String> {
    v["badges"]
        .as_array()
        .map(|b| b.iter().filter_map(|x| x["badge"].as_str().map(String::from)).collect())
        .unwrap_or_default()
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_badge_is_awarded_once_however_many_award_it_at_once(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let alice = o.id("alice");
    let at = time::OffsetDateTime::now_utc();
    let attempts = (0..8).map(|_| {
        let pool = o.pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
            let new = skillreel_recognition::ledger::badges::award(&mut tx, alice, Badge::TenLikes, "", json!({}), at)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
            new
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|new| **new).count(), 1, "{results:?}");
    assert_eq!(o.count("select count(*) from badge_award").await, 1);
    assert_eq!(
        o.count("select count(*) from notification where kind = 'badge'").await,
        1
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn ten_colleagues_liking_at_once_earn_the_badge_once(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let video = o.video("alice", "Popular", 60).await;
    let mut fans = Vec::new();
    for i in 0..10 {
        let t = skillreel_testkit::token(&format!("fan{i}"), &[]);
        o.app.me(&t).await;
        fans.push(t);
    }
    futures_util::future::join_all(fans.iter().map(|t| like(&o, t, video))).await;
    let seen = settled(&o, "alice", 10).await;
    assert_eq!(seen["reputation"], 100);
    assert_eq!(badges_of(&seen), ["ten_likes"]);
    assert_eq!(
        o.count("select count(*) from notification where kind = 'badge'").await,
        1
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_first_video_and_the_months_top_contributor_are_awarded_once(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let guild = o.community("alice", "Guild", "none").await;
    // Last month (by the database's clock, which dates events), in the guild: alice
    // earned 30, bea 20.
    for (who, points) in [("alice", 30), ("bea", 20)] {
        sqlx::query(
            "insert into reputation_entry (id, user_id, merit, base_points, points, reason, community_id, dedupe_key, occurred_at)
             values ($1, $2, 'kudos', $3, $3, 'seeded', $4, $5, date_trunc('month', now()) - interval '3 days')",
        )
        .bind(Uuid::now_v7())
        .bind(o.id(who))
        .bind(points)
        .bind(guild)
        .bind(Uuid::now_v7().to_string())
        .execute(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    // Publishing (as the catalog records it) closes last month on the way.
    let video = o.video("ivan", "First one", 60).await;
    for _ in 0..2 {
        let published = DomainEvent::VideoPublished {
            video: VideoId::from_uuid(video),
            actor: UserId::from_uuid(o.id("ivan")),
        };
        let mut conn = o.pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
        skillreel_db::events::record(&mut conn, &published)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let ivan = o.id("ivan");
    let mut seen = Value::Null;
    for _ in 0..200 {
        seen = recognition(&o, &o.ivan, ivan).await;
        if !badges_of(&seen).is_empty() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert_eq!(badges_of(&seen), ["first_video"]);
    let alice = recognition(&o, &o.alice, o.id("alice")).await;
    assert_eq!(badges_of(&alice), ["top_contributor_of_the_month"]);
    assert_eq!(alice["badges"][0]["details"]["community_id"], guild.to_string());
    assert_eq!(alice["badges"][0]["details"]["points"], 30);
    assert!(badges_of(&recognition(&o, &o.bea, o.id("bea")).await).is_empty());
    // Later events award nothing again.
    let later = o.video("ivan", "Second one", 60).await;
    like(&o, &o.bea, later).await;
    settled(&o, "ivan", 1).await;
    assert_eq!(o.count("select count(*) from badge_award").await, 2);
    assert_eq!(
        o.count("select count(*) from notification where kind = 'badge'").await,
        2
    );
}
