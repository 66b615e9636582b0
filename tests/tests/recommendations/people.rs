//! People who share a passion: ranked by what they published, completed and liked on
//! a skill (only videos the caller may see count), with true reasons; the caller's own
//! skills for `/me/people`; paging; bad input refused.

use super::*;

/// Tags `video` with `tags`.
async fn tag(o: &Org, video: Uuid, tags: &[&str]) {
    sqlx::query("update video set tags = $2 where id = $1")
        .bind(video)
        .bind(tags)
        .execute(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// `(name, reason, following)` of each person in a listing, in order.
async fn people(o: &Org, who: &str, path: &str) -> Vec<(String, String, bool)> {
    let page = o.ok(Method::GET, path, o.token(who), None, StatusCode::OK).await;
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        p["reason"].as_str().unwrap_or_default().to_owned(),
                        p["following"].as_bool().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn people_are_ranked_by_what_they_did_on_a_skill_the_caller_may_see(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let ownership = o.video("alice", "Ownership", 60).await;
    let lifetimes = o.video("alice", "Lifetimes", 60).await;
    let pitch = o.video("omar", "The pitch", 60).await;
    let circle = o.community("maria", "Maria's circle", "none").await;
    let hidden = o
        .video_in(
            "maria",
            "Unsafe, in private",
            60,
            "published",
            "community",
            Some(circle),
        )
        .await;
    for v in [ownership, lifetimes, hidden] {
        tag(&o, v, &["rust", "systems"]).await;
    }
    tag(&o, pitch, &["sales"]).await;
    o.ok(
        Method::PUT,
        &format!("/api/v1/videos/{ownership}/like"),
        o.token("bea"),
        None,
        StatusCode::OK,
    )
    .await;
    o.ok(
        Method::PUT,
        &format!("/api/v1/videos/{pitch}/like"),
        o.token("bea"),
        None,
        StatusCode::OK,
    )
    .await;
    let done = o.watch(&o.ivan, lifetimes, 0.0, 60.0).await;
    assert_eq!(done["completed"], true, "{done}");

    let rust = "/api/v1/people?skill=Rust";
    assert_eq!(
        people(&o, "tom", rust).await,
        [
            (
                "alice (test)".to_owned(),
                "Published 2 videos on rust".to_owned(),
                false
            ),
            ("ivan (test)".to_owned(), "Completed 1 video on rust".to_owned(), false),
            ("bea (test)".to_owned(), "Liked 1 video on rust".to_owned(), false),
        ],
        "maria's video is in a community tom is not in: it does not count"
    );
    let for_admin = people(&o, "root", rust).await;
    assert!(
        for_admin
            .iter()
            .any(|p| p.0 == "maria (test)" && p.1 == "Published 1 video on rust"),
        "{for_admin:?}"
    );
    let for_ivan = people(&o, "ivan", rust).await;
    assert!(
        for_ivan.iter().all(|p| p.0 != "ivan (test)"),
        "not the caller: {for_ivan:?}"
    );
    o.ok(
        Method::PUT,
        &format!("/api/v1/users/{}/follow", o.id("alice")),
        o.token("tom"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert!(people(&o, "tom", rust).await[0].2, "tom follows alice now");

    // bea liked a rust video and a sales one: both are her skills
    let mine = people(&o, "bea", "/api/v1/me/people").await;
    let names: Vec<&str> = mine.iter().map(|p| p.0.as_str()).collect();
    // alice 2 videos × 5 on two of bea's skills (20), omar 1 × 5 on one (5), ivan a
    // completion × 2 on two (4)
    assert_eq!(names, ["alice (test)", "omar (test)", "ivan (test)"], "{mine:?}");
    assert_eq!(
        mine[0].1,
        "Shares your interest in rust and systems: published 2 videos"
    );
    assert_eq!(mine[1].1, "Shares your interest in sales: published 1 video");
    assert_eq!(mine[2].1, "Shares your interest in rust and systems: completed 1 video");
    assert!(
        people(&o, "root", "/api/v1/me/people").await.is_empty(),
        "someone who did nothing yet has no skills to share"
    );

    // pages of one, without gaps or repeats
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = o
            .ok(
                Method::GET,
                &format!("{rust}&limit=1&cursor={cursor}"),
                o.token("tom"),
                None,
                StatusCode::OK,
            )
            .await;
        seen.extend(
            page["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|p| p["name"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, [json!("alice (test)"), json!("ivan (test)"), json!("bea (test)")]);

    assert!(
        people(&o, "tom", "/api/v1/people?skill=%3Cscript%3E").await.is_empty(),
        "no video has that tag"
    );
    for bad in [
        "/api/v1/people",
        "/api/v1/people?skill=",
        "/api/v1/people?skill=rust&limit=0",
        "/api/v1/people?skill=rust&cursor=nope",
        "/api/v1/me/people?cursor=nope",
        "/api/v1/me/people?limit=101",
    ] {
        let r = o.call(Method::GET, bad, o.token("tom"), None).await;
        assert_problem(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}
