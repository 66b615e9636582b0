//! Participation analytics: each person once at their highest rung per period, the
//! trend over periods, reach of videos and journeys, the scope a manager or an admin
//! may see; and the acts (likes, comments, answers, recommendations, searches) that
//! the `participation` consumer and the catalog record.

use super::*;

/// `who` did `kind` (at `level`) `days_before` the clock's start (2027-01-15).
async fn took_part(o: &Org, who: &str, kind: &str, level: i16, days_before: i64) {
    let day = (support::org::start() - time::Duration::days(days_before)).date();
    sqlx::query("insert into participation_day (day, user_id, kind, level) values ($1, $2, $3, $4)")
        .bind(day)
        .bind(o.id(who))
        .bind(kind)
        .bind(level)
        .execute(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// `who` watched `video` `days_before` the clock's start.
async fn watched(o: &Org, who: &str, video: Uuid, days_before: i64) {
    sqlx::query("insert into video_progress (user_id, video_id, watched_seconds, updated_at) values ($1, $2, 30, $3)")
        .bind(o.id(who))
        .bind(video)
        .bind(support::org::start() - time::Duration::days(days_before))
        .execute(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn participation(o: &Org, who: &str, query: &str) -> Value {
    o.ok(
        Method::GET,
        &format!("/api/v1/analytics/participation?{query}"),
        o.token(who),
        None,
        StatusCode::OK,
    )
    .await
}

/// (creators, contributors, consumers, inactive) of each period.
fn rungs(v: &Value) -> Vec<(i64, i64, i64, i64)> {
    v["periods"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let n = |k: &str| p[k].as_i64().unwrap_or(-1);
                    (n("creators"), n("contributors"), n("consumers"), n("inactive"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn titles(v: &Value, list: &str) -> Vec<(String, i64)> {
    v[list]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|r| {
                    (
                        r["title"].as_str().unwrap_or_default().to_owned(),
                        r["people"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn each_person_counts_once_at_their_highest_rung_with_the_trend_and_the_reach(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let o = org(&db, |_| {}).await;
    // January (this month on the clock): alice publishes and likes, tom likes, ivan watches
    took_part(&o, "alice", "publish", 3, 2).await;
    took_part(&o, "alice", "like", 2, 3).await;
    took_part(&o, "tom", "like", 2, 1).await;
    took_part(&o, "ivan", "watch", 1, 0).await;
    took_part(&o, "ivan", "search", 1, 4).await;
    took_part(&o, "bea", "comment", 2, 1).await;
    // December: alice only watched
    took_part(&o, "alice", "watch", 1, 20).await;

    let seen = participation(&o, "maria", "period=month&periods=2").await;
    assert_eq!(
        seen["people"], 3,
        "maria's reports: alice, tom and (through tom) ivan: {seen}"
    );
    assert_eq!(rungs(&seen), [(0, 0, 1, 2), (1, 1, 1, 0)], "{seen}");
    assert_eq!(seen["periods"][1]["start"], "2027-01-01");
    assert_eq!(seen["periods"][1]["end"], "2027-02-01");
    assert_eq!(seen["periods"][1]["create_share"], 0.3333);
    assert_eq!(seen["periods"][0]["inactive_share"], 0.6667);
    let weekly = participation(&o, "maria", "period=week&periods=3").await;
    // the week of the 11th: alice's publish (13th), tom's like (14th), ivan's watch (15th)
    assert_eq!(rungs(&weekly)[2], (1, 1, 1, 0), "{weekly}");

    let team = participation(&o, "root", "team=platform").await;
    assert_eq!(team["people"], 4, "the team, maria included");
    assert_eq!(rungs(&team).len(), 6, "six months by default");
    assert_eq!(rungs(&team)[5], (1, 1, 1, 1));

    // reach this month: the org video two reports watched, the journey through it
    let ownership = o.video("alice", "Ownership", 60).await;
    let pitch = o.video("omar", "The pitch", 60).await;
    let circle = o.community("tom", "Tom's circle", "none").await;
    let private = o
        .video_in("tom", "Members only", 60, "published", "community", Some(circle))
        .await;
    o.journey("omar", "Rust in a week", &[ownership]).await;
    watched(&o, "tom", ownership, 1).await;
    watched(&o, "ivan", ownership, 2).await;
    watched(&o, "ivan", private, 2).await;
    watched(&o, "alice", pitch, 20).await; // December: not this month
    let seen = participation(&o, "maria", "").await;
    assert_eq!(titles(&seen, "top_videos"), [("Ownership".to_owned(), 2)], "{seen}");
    assert_eq!(titles(&seen, "top_journeys"), [("Rust in a week".to_owned(), 2)]);
    let admin = participation(&o, "root", "team=platform").await;
    assert_eq!(
        titles(&admin, "top_videos"),
        [("Ownership".to_owned(), 2), ("Members only".to_owned(), 1)],
        "an admin sees community videos too"
    );

    // who may see it, and bad input
    for (who, query) in [("bea", ""), ("alice", "team=platform"), ("omar", "team=platform")] {
        let r = o
            .call(
                Method::GET,
                &format!("/api/v1/analytics/participation?{query}"),
                o.token(who),
                None,
            )
            .await;
        assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    }
    for query in ["periods=0", "periods=13", "period=year", "team=", "team=%20", "extra=1"] {
        let r = o
            .call(
                Method::GET,
                &format!("/api/v1/analytics/participation?{query}"),
                o.token("root"),
                None,
            )
            .await;
        assert_problem(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}

/// Waits (up to 20 s) until `who` has a `kind` row; returns how many.
async fn recorded(o: &Org, who: &str, kind: &str) -> i64 {
    let sql = format!(
        "select count(*) from participation_day where user_id = '{}' and kind = '{kind}'",
        o.id(who)
    );
    for _ in 0..200 {
        let n = o.count(&sql).await;
        if n > 0 {
            return n;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("{who} never had a {kind} recorded");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn likes_comments_answers_recommendations_and_searches_are_recorded_once_a_day(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let o = org(&db, |_| {}).await;
    let video = o.video("alice", "Tracing", 60).await;
    like(&o, o.token("tom"), video).await;
    let question = id_of(
        &o.ok(
            Method::POST,
            &format!("/api/v1/videos/{video}/comments"),
            o.token("bea"),
            Some(json!({ "body": "Why spans?", "question": true })),
            StatusCode::CREATED,
        )
        .await,
    );
    o.ok(
        Method::POST,
        &format!("/api/v1/videos/{video}/comments"),
        o.token("ivan"),
        Some(json!({ "body": "Context across awaits.", "parent_id": question })),
        StatusCode::CREATED,
    )
    .await;
    o.ok(
        Method::POST,
        &format!("/api/v1/videos/{video}/recommendations"),
        o.token("maria"),
        Some(json!({ "people": [o.id("omar")] })),
        StatusCode::CREATED,
    )
    .await;
    for q in ["tracing", "spans", "tracing"] {
        o.ok(
            Method::GET,
            &format!("/api/v1/videos?q={q}"),
            o.token("omar"),
            None,
            StatusCode::OK,
        )
        .await;
    }
    o.ok(Method::GET, "/api/v1/videos", o.token("alice"), None, StatusCode::OK)
        .await;

    assert_eq!(recorded(&o, "tom", "like").await, 1);
    assert_eq!(recorded(&o, "bea", "comment").await, 1);
    assert_eq!(recorded(&o, "ivan", "answer").await, 1);
    assert_eq!(recorded(&o, "maria", "recommend").await, 1);
    assert_eq!(recorded(&o, "omar", "search").await, 1, "three searches, one day");
    let day = o
        .count(&format!(
            "select count(*) from participation_day where kind = 'search' and day = '2027-01-15' and user_id = '{}'",
            o.id("omar")
        ))
        .await;
    assert_eq!(day, 1, "on the clock's day");
    assert_eq!(
        o.count(&format!(
            "select count(*) from participation_day where kind = 'search' and user_id = '{}'",
            o.id("alice")
        ))
        .await,
        0,
        "browsing is no search"
    );
    assert_eq!(
        o.count(&format!(
            "select count(*) from participation_day where kind = 'comment' and user_id <> '{}'",
            o.id("bea")
        ))
        .await,
        0,
        "an answer is no plain comment"
    );
}
