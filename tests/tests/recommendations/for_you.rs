//! "For you": every reason true, what people went on to next first, what was completed
//! or dismissed never back, newcomers served by their team and organisation, follows,
//! exploration, and nothing the person may not see.

use std::collections::HashSet;

use super::*;

/// Rebuilds the lists now (as an admin), waiting out a pass already running.
async fn rebuild(o: &Org) -> Value {
    for _ in 0..100 {
        let r = o
            .call(Method::POST, "/api/v1/admin/recommendations/model", &o.admin, None)
            .await;
        if r.status() == StatusCode::OK {
            return r.json().await.unwrap_or_default();
        }
        assert_eq!(r.status(), StatusCode::CONFLICT);
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("the recommender's lists were never free to rebuild");
}

async fn for_you(o: &Org, who: &str) -> Vec<Value> {
    let page = o
        .ok(Method::GET, "/api/v1/me/recommendations", who, None, StatusCode::OK)
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

fn ids(items: &[Value]) -> Vec<Uuid> {
    items
        .iter()
        .filter_map(|i| i["item"]["id"].as_str().and_then(|s| s.parse().ok()))
        .collect()
}

fn reason<'a>(item: &'a Value, kind: &str) -> Option<&'a Value> {
    item["reasons"].as_array()?.iter().find(|r| r["kind"] == kind)
}

async fn like(o: &Org, who: &str, video: Uuid) {
    o.ok(
        Method::PUT,
        &format!("/api/v1/videos/{video}/like"),
        who,
        None,
        StatusCode::OK,
    )
    .await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn every_reason_is_true_and_completed_or_dismissed_videos_never_come_back(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let o = org(&db, |s| s.recommendations.exploration_slots = 0).await;
    let ownership = o.video("maria", "Ownership", 30).await;
    let lifetimes = o.video("maria", "Lifetimes", 30).await;
    let traits = o.video("omar", "Traits", 30).await;
    let tracing = o.video("omar", "Tracing", 30).await;
    for who in [&o.tom, &o.alice] {
        like(&o, who, ownership).await;
        like(&o, who, lifetimes).await;
    }
    like(&o, &o.alice, traits).await;
    // ivan completes Ownership; bea recommends Tracing to him.
    o.watch(&o.ivan, ownership, 0.0, 30.0).await;
    o.ok(
        Method::POST,
        &format!("/api/v1/videos/{tracing}/recommendations"),
        &o.bea,
        Some(json!({ "people": [o.id("ivan")], "message": "Start here" })),
        StatusCode::CREATED,
    )
    .await;
    let built = rebuild(&o).await;
    assert!(built["neighbors"].as_i64().unwrap_or_default() > 0, "{built}");

    let items = for_you(&o, &o.ivan).await;
    let shown = ids(&items);
    assert!(!shown.contains(&ownership), "completed: never again: {items:?}");
    assert!(
        shown.contains(&lifetimes) && shown.contains(&traits) && shown.contains(&tracing),
        "{items:?}"
    );
    // Every reason is true.
    let completed: HashSet<Uuid> =
        sqlx::query_scalar("select video_id from video_progress where user_id = $1 and completed_at is not null")
            .bind(o.id("ivan"))
            .fetch_all(&o.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .collect();
    for item in &items {
        assert!(!item["reasons"].as_array().is_none_or(Vec::is_empty), "{item}");
        if let Some(r) = reason(item, "because_you_completed") {
            let named: Uuid = r["video"]["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or_default();
            assert!(completed.contains(&named), "{item}");
            assert_eq!(r["text"], "Because you completed “Ownership”");
        }
        if let Some(r) = reason(item, "recommended_by") {
            for person in r["people"].as_array().cloned().unwrap_or_default() {
                let did: bool = sqlx::query_scalar(
                    "select exists (select 1 from peer_recommendation where sender_id = $1 and recipient_id = $2 and video_id = $3)",
                )
                .bind(person["id"].as_str().and_then(|s| s.parse::<Uuid>().ok()))
                .bind(o.id("ivan"))
                .bind(item["item"]["id"].as_str().and_then(|s| s.parse::<Uuid>().ok()))
                .fetch_one(&o.pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
                assert!(did, "{item}");
            }
        }
    }
    let lifetimes_item = items
        .iter()
        .find(|i| i["item"]["id"] == lifetimes.to_string())
        .unwrap_or_else(|| panic!("no Lifetimes"));
    assert!(
        reason(lifetimes_item, "because_you_completed").is_some(),
        "{lifetimes_item}"
    );
    let tracing_item = items
        .iter()
        .find(|i| i["item"]["id"] == tracing.to_string())
        .unwrap_or_else(|| panic!("no Tracing"));
    assert_eq!(
        reason(tracing_item, "recommended_by").map(|r| r["text"].clone()),
        Some(json!("Recommended by bea (test)"))
    );
    assert_eq!(
        items[0]["item"]["id"],
        tracing.to_string(),
        "a colleague's word counts most"
    );

    // Not for me: gone, and so is a colleague's recommendation once dismissed.
    o.ok(
        Method::POST,
        "/api/v1/me/dismissals",
        &o.ivan,
        Some(json!({ "video_id": lifetimes })),
        StatusCode::NO_CONTENT,
    )
    .await;
    let peer_id = peer_list(&o, &o.ivan, "inbox").await[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    o.ok(
        Method::PATCH,
        &format!("/api/v1/me/recommendations/{peer_id}"),
        &o.ivan,
        Some(json!({ "state": "dismissed" })),
        StatusCode::OK,
    )
    .await;
    rebuild(&o).await;
    let shown = ids(&for_you(&o, &o.ivan).await);
    assert!(!shown.contains(&lifetimes) && !shown.contains(&tracing) && !shown.contains(&ownership));
    assert!(shown.contains(&traits));
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn what_people_went_on_to_next_comes_before_what_they_came_from(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |s| s.recommendations.exploration_slots = 0).await;
    // Created first, so that a tie would put it first.
    let before = o.video("maria", "Prerequisites", 30).await;
    let basics = o.video("maria", "Basics", 30).await;
    let next = o.video("maria", "Next steps", 30).await;
    // Three colleagues go Prerequisites, Basics, Next steps; a fourth stops at Basics.
    // Prerequisites is the more liked and, by co-likes alone, the nearer neighbour.
    for who in [&o.alice, &o.tom, &o.bea] {
        for video in [before, basics, next] {
            like(&o, who, video).await;
        }
    }
    for video in [before, basics] {
        like(&o, &o.omar, video).await;
    }
    rebuild(&o).await;
    like(&o, &o.ivan, basics).await;

    let items = for_you(&o, &o.ivan).await;
    let shown = ids(&items);
    let place = |video: Uuid| shown.iter().position(|id| *id == video);
    let (Some(next_at), Some(before_at)) = (place(next), place(before)) else {
        panic!("both neighbours of Basics are candidates: {items:?}");
    };
    assert!(next_at < before_at, "what people went on to next first: {items:?}");
    assert_eq!(
        reason(&items[next_at], "because_you_liked").map(|r| r["text"].clone()),
        Some(json!("Because you liked “Basics”")),
        "{items:?}"
    );
}

/// One person's candidates from collaborative filtering, as the request's function
/// reads them: from their list and what they did since, or from their whole history.
async fn cf(o: &Org, who: &str, whole_history: bool) -> Vec<(Uuid, f64, Uuid)> {
    sqlx::query_as("select video_id, score, because from for_you_cf($1, $2, 50, 50, 100)")
        .bind(o.id(who))
        .bind(whole_history)
        .fetch_all(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_request_reads_the_persons_list_and_adds_what_they_did_since(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |s| s.recommendations.exploration_slots = 0).await;
    let [git, rebase, squash, docker, compose, helm] = [
        o.video("maria", "Git", 30).await,
        o.video("maria", "Rebase", 30).await,
        o.video("maria", "Squash", 30).await,
        o.video("omar", "Docker", 30).await,
        o.video("omar", "Compose", 30).await,
        o.video("omar", "Helm", 30).await,
    ];
    for who in [&o.alice, &o.tom] {
        like(&o, who, git).await;
        like(&o, who, rebase).await;
        like(&o, who, squash).await;
    }
    for who in [&o.bea, &o.omar] {
        like(&o, who, docker).await;
        like(&o, who, compose).await;
        like(&o, who, helm).await;
    }
    like(&o, &o.ivan, git).await;
    let built = rebuild(&o).await;
    // the others liked every neighbour of what they liked: ivan alone has candidates
    assert_eq!(built["people"], 1, "{built}");
    let listed: Vec<Uuid> = sqlx::query_scalar("select video_ids from for_you_list where user_id = $1")
        .bind(o.id("ivan"))
        .fetch_one(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        listed.iter().copied().collect::<HashSet<_>>(),
        HashSet::from([rebase, squash]),
        "ivan's list, built by the pass"
    );

    // After the pass: a like, and "not for me" on what the list holds.
    like(&o, &o.ivan, docker).await;
    o.ok(
        Method::POST,
        "/api/v1/me/dismissals",
        &o.ivan,
        Some(json!({ "video_id": squash })),
        StatusCode::NO_CONTENT,
    )
    .await;
    // The list and what came since add up to what the whole history gives.
    let (since, whole) = (cf(&o, "ivan", false).await, cf(&o, "ivan", true).await);
    assert_eq!(since.len(), whole.len(), "{since:?} against {whole:?}");
    for ((a, x, because_a), (b, y, because_b)) in since.iter().zip(&whole) {
        assert_eq!((a, because_a), (b, because_b), "{since:?} against {whole:?}");
        assert!((x - y).abs() < 1e-5, "{since:?} against {whole:?}");
    }
    let because = |items: &[Value], video: Uuid| {
        items
            .iter()
            .find(|i| i["item"]["id"] == video.to_string())
            .and_then(|i| reason(i, "because_you_liked"))
            .map(|r| r["text"].clone())
    };
    let items = for_you(&o, &o.ivan).await;
    assert_eq!(
        because(&items, rebase),
        Some(json!("Because you liked “Git”")),
        "{items:?}"
    );
    assert_eq!(
        because(&items, compose),
        Some(json!("Because you liked “Docker”")),
        "{items:?}"
    );
    assert_eq!(
        because(&items, helm),
        Some(json!("Because you liked “Docker”")),
        "{items:?}"
    );
    assert!(!ids(&items).contains(&squash), "dismissed since the pass: {items:?}");

    // Rebase comes from ivan's list, not from Git's neighbours: gone, it stays; Compose
    // comes from Docker's, which the list has not seen.
    sqlx::query("delete from video_neighbor")
        .execute(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let items = for_you(&o, &o.ivan).await;
    assert_eq!(
        because(&items, rebase),
        Some(json!("Because you liked “Git”")),
        "{items:?}"
    );
    assert_eq!(because(&items, compose), None, "{items:?}");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_list_counts_each_history_video_once_and_is_forgotten_with_an_unlike(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |s| s.recommendations.exploration_slots = 0).await;
    let [git, rebase, squash] = [
        o.video("maria", "Git", 30).await,
        o.video("maria", "Rebase", 30).await,
        o.video("maria", "Squash", 30).await,
    ];
    for who in [&o.alice, &o.tom] {
        for video in [git, rebase, squash] {
            like(&o, who, video).await;
        }
    }
    like(&o, &o.ivan, git).await;
    rebuild(&o).await;
    let stored: (Vec<Uuid>, Vec<f32>, Vec<Uuid>) =
        sqlx::query_as("select video_ids, scores, history_ids from for_you_list where user_id = $1")
            .bind(o.id("ivan"))
            .fetch_one(&o.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored.2, [git], "the history the list was built from");

    // Completing a video liked before the pass (by the app's clock, weeks ahead of the
    // database's here) adds nothing new: the list's scores stand, not counted twice.
    o.watch(&o.ivan, git, 0.0, 30.0).await;
    let since = cf(&o, "ivan", false).await;
    assert_eq!(since.len(), stored.0.len(), "{since:?} against {stored:?}");
    for (video, score, because) in &since {
        let at = stored.0.iter().position(|v| v == video);
        let listed = at.and_then(|at| stored.1.get(at)).map(|s| f64::from(*s));
        assert!(
            listed.is_some_and(|listed| (listed - score).abs() < 1e-5),
            "{since:?} against {stored:?}"
        );
        assert_eq!(*because, git);
    }

    // Withdrawing the like drops the list: no reason says ivan likes Git any more; that
    // he completed it still holds.
    o.ok(
        Method::DELETE,
        &format!("/api/v1/videos/{git}/like"),
        &o.ivan,
        None,
        StatusCode::OK,
    )
    .await;
    let lists: i64 = sqlx::query_scalar("select count(*) from for_you_list where user_id = $1")
        .bind(o.id("ivan"))
        .fetch_one(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lists, 0);
    let items = for_you(&o, &o.ivan).await;
    let rebase_item = items
        .iter()
        .find(|i| i["item"]["id"] == rebase.to_string())
        .unwrap_or_else(|| panic!("{items:?}"));
    assert!(reason(rebase_item, "because_you_liked").is_none(), "{rebase_item}");
    assert_eq!(
        reason(rebase_item, "because_you_completed").map(|r| r["text"].clone()),
        Some(json!("Because you completed “Git”")),
        "{rebase_item}"
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_pass_stopped_under_way_builds_nothing_and_lets_the_next_one_run(_: PgPoolOptions, db: PgConnectOptions) {
    use skillreel_recommendations::for_you::model::{self, Pass};
    let o = org(&db, |_| {}).await;
    let [git, rebase] = [o.video("maria", "Git", 30).await, o.video("maria", "Rebase", 30).await];
    for who in [&o.alice, &o.tom] {
        for video in [git, rebase] {
            like(&o, who, video).await;
        }
    }
    rebuild(&o).await;
    like(&o, &o.ivan, git).await;
    let built_at = || async {
        sqlx::query_scalar::<_, time::OffsetDateTime>("select built_at from recommender_model")
            .fetch_one(&o.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let ivans_lists = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from for_you_list where user_id = $1")
            .bind(o.id("ivan"))
            .fetch_one(&o.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let before = built_at().await;

    // A replica shutting down (its stop token cancelled) ends its pass at once.
    let stop = tokio_util::sync::CancellationToken::new();
    stop.cancel();
    let pass = model::build(&o.pool, &stop).await;
    assert!(matches!(pass, Ok(Pass::Stopped)), "{pass:?}");
    assert_eq!(ivans_lists().await, 0, "nothing built for ivan's like since");
    assert_eq!(built_at().await, before, "not marked built");

    // Its session and lock are gone: the next pass runs in full.
    rebuild(&o).await;
    assert_eq!(ivans_lists().await, 1);
    assert!(built_at().await > before);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_reason_never_quotes_a_video_the_person_may_no_longer_see(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |s| s.recommendations.exploration_slots = 0).await;
    let guild = o.community("alice", "Guild", "none").await;
    let [git, rebase] = [o.video("maria", "Git", 30).await, o.video("maria", "Rebase", 30).await];
    for who in [&o.alice, &o.tom] {
        for video in [git, rebase] {
            like(&o, who, video).await;
        }
    }
    like(&o, &o.ivan, git).await;
    rebuild(&o).await;
    let quoted = |items: &[Value]| {
        items
            .iter()
            .find(|i| i["item"]["id"] == rebase.to_string())
            .and_then(|i| reason(i, "because_you_liked"))
            .map(|r| r["text"].clone())
    };
    let items = for_you(&o, &o.ivan).await;
    assert_eq!(quoted(&items), Some(json!("Because you liked “Git”")), "{items:?}");

    // Git moves into a guild ivan is not in: he still liked it, but no reason names it
    // to him any more.
    sqlx::query("update video set visibility = 'community', community_id = $1 where id = $2")
        .bind(guild)
        .bind(git)
        .execute(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let items = for_you(&o, &o.ivan).await;
    assert!(ids(&items).contains(&rebase), "{items:?}");
    assert_eq!(quoted(&items), None, "{items:?}");
    let page = serde_json::to_string(&items).unwrap_or_default();
    assert!(!page.contains("“Git”"), "{page}");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn someone_new_sees_their_teams_and_the_organisations_favourites(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |s| s.recommendations.exploration_slots = 0).await;
    let platform_pick = o.video("omar", "Platform favourite", 30).await;
    let org_pick = o.video("maria", "Everyone's favourite", 30).await;
    let own = o.video("ivan", "Ivan's own", 30).await;
    for who in [&o.alice, &o.tom] {
        like(&o, who, platform_pick).await;
    }
    for who in [&o.bea, &o.omar, &o.alice, &o.maria] {
        like(&o, who, org_pick).await;
        like(&o, who, own).await;
    }
    rebuild(&o).await;
    // ivan (platform) has done nothing yet.
    let items = for_you(&o, &o.ivan).await;
    let shown = ids(&items);
    assert!(!shown.contains(&own), "never one's own");
    let team_item = items
        .iter()
        .find(|i| i["item"]["id"] == platform_pick.to_string())
        .unwrap_or_else(|| panic!("{items:?}"));
    assert!(reason(team_item, "popular_in_your_team").is_some(), "{team_item}");
    let org_item = items
        .iter()
        .find(|i| i["item"]["id"] == org_pick.to_string())
        .unwrap_or_else(|| panic!("{items:?}"));
    assert!(reason(org_item, "popular_in_your_organisation").is_some(), "{org_item}");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn followed_people_and_new_videos_come_up_but_nothing_out_of_reach(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |s| s.recommendations.exploration_slots = 1).await;
    let community = o.community("alice", "Guild", "none").await;
    let shared = o.video("maria", "Shared", 30).await;
    let secret = o
        .video_in("maria", "Guild secret", 30, "published", "community", Some(community))
        .await;
    // Old, liked videos, and one new one nobody has liked yet.
    for i in 0..12 {
        let v = o.video("omar", &format!("Classic {i}"), 30).await;
        sqlx::query("update video set published_at = now() - interval '60 days' where id = $1")
            .bind(v)
            .execute(&o.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        like(&o, &o.alice, v).await;
    }
    let brand_new = o.video("maria", "Brand new", 30).await;
    let by_bea = o.video("bea", "Bea's latest", 30).await;
    sqlx::query("update video set published_at = now() - interval '60 days' where id <> all($1)")
        .bind(vec![brand_new, by_bea])
        .execute(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    like(&o, &o.alice, shared).await;
    like(&o, &o.alice, secret).await;
    like(&o, &o.ivan, shared).await;
    o.ok(
        Method::PUT,
        &format!("/api/v1/users/{}/follow", o.id("bea")),
        &o.ivan,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    rebuild(&o).await;

    let items = for_you(&o, &o.ivan).await;
    let shown = ids(&items);
    assert!(
        !shown.contains(&secret),
        "the guild's video is not ivan's to see: {items:?}"
    );
    let followed = items
        .iter()
        .find(|i| i["item"]["id"] == by_bea.to_string())
        .unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(
        reason(followed, "new_from_followed").map(|r| r["text"].clone()),
        Some(json!("New from bea (test), whom you follow"))
    );
    let explored = items
        .iter()
        .find(|i| i["item"]["id"] == brand_new.to_string())
        .unwrap_or_else(|| panic!("an exploration slot for the new video: {items:?}"));
    assert_eq!(explored["reasons"][0]["kind"], "new_on_skillreel");
    // The guild's member sees it.
    let guild_member = ids(&for_you(&o, &o.alice).await);
    assert!(!guild_member.contains(&secret), "alice liked it already");
    // omar's classics score highest, but he takes two places before bea's gets one.
    let authors: Vec<&str> = items
        .iter()
        .filter_map(|i| i["item"]["author"]["name"].as_str())
        .collect();
    assert_eq!(
        authors[..3],
        ["omar (test)", "omar (test)", "bea (test)"],
        "{authors:?}"
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn videos_out_of_reach_ranking_first_do_not_crowd_out_the_page(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |s| s.recommendations.exploration_slots = 0).await;
    let guild = o.community("alice", "Guild", "none").await;
    let mut within_reach = Vec::new();
    for i in 0..3 {
        within_reach.push(o.video("omar", &format!("Open {i}"), 30).await);
    }
    let mut secrets = Vec::new();
    for i in 0..45 {
        secrets.push(
            o.video_in(
                "maria",
                &format!("Guild secret {i}"),
                30,
                "published",
                "community",
                Some(guild),
            )
            .await,
        );
    }
    // Nothing new (no exploration), the guild's videos liked three times as much: more
    // than a shortlist of them rank before any ivan may see.
    sqlx::query("update video set published_at = now() - interval '60 days'")
        .execute(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for who in ["alice", "tom", "bea"] {
        sqlx::query("insert into video_like (user_id, video_id) select $1, unnest($2::uuid[])")
            .bind(o.id(who))
            .bind(&secrets)
            .execute(&o.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    sqlx::query("insert into video_like (user_id, video_id) select $1, unnest($2::uuid[])")
        .bind(o.id("maria"))
        .bind(&within_reach)
        .execute(&o.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    rebuild(&o).await;

    let items = for_you(&o, &o.ivan).await;
    let shown: HashSet<Uuid> = ids(&items).into_iter().collect();
    assert_eq!(shown, within_reach.iter().copied().collect(), "{items:?}");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn bad_feed_requests_are_refused(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let video = o.video("maria", "Lesson", 30).await;
    for (query, status) in [
        ("?source=everything", StatusCode::BAD_REQUEST),
        ("?limit=0", StatusCode::BAD_REQUEST),
        ("?state=saved", StatusCode::UNPROCESSABLE_ENTITY),
        ("?source=for_you&cursor=abc", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let r = o
            .call(
                Method::GET,
                &format!("/api/v1/me/recommendations{query}"),
                &o.ivan,
                None,
            )
            .await;
        assert_eq!(r.status(), status, "{query}");
    }
    for (body, status) in [
        (json!({}), StatusCode::BAD_REQUEST),
        (json!({ "video_id": "nope" }), StatusCode::BAD_REQUEST),
        (json!({ "video_id": video, "more": 1 }), StatusCode::BAD_REQUEST),
        (json!({ "video_id": Uuid::now_v7() }), StatusCode::NOT_FOUND),
    ] {
        let r = o
            .call(Method::POST, "/api/v1/me/dismissals", &o.ivan, Some(body.clone()))
            .await;
        assert_eq!(r.status(), status, "{body}");
    }
    let r = o
        .call(Method::POST, "/api/v1/admin/recommendations/model", &o.maria, None)
        .await;
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(o.count("select count(*) from for_you_dismissal").await, 0);
}
