//! Leaderboards by period (this week, this month, all time on the manual clock) and
//! scope (organisation, team, community), with shared ranks and the caller's standing.

use super::*;

/// A ledger entry for `who`, `days` before the clock's start (2027-01-15 08:00 UTC, a
/// Friday: the week began on the 11th, the month on the 1st).
async fn earned(o: &Org, who: &str, points: i32, days_before: i64, community: Option<Uuid>) {
    let at = support::org::start() - time::Duration::days(days_before);
    sqlx::query(
        "insert into reputation_entry (id, user_id, merit, base_points, points, reason, community_id, dedupe_key, occurred_at)
         values ($1, $2, 'kudos', $3, $3, 'seeded', $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(o.id(who))
    .bind(points)
    .bind(community)
    .bind(Uuid::now_v7().to_string())
    .bind(at)
    .execute(&o.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// (name, rank, points) of a board.
fn board(v: &Value) -> Vec<(String, i64, i64)> {
    v["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|s| {
                    (
                        s["person"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .trim_end_matches(" (test)")
                            .to_owned(),
                        s["rank"].as_i64().unwrap_or_default(),
                        s["points"].as_i64().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn row(name: &str, rank: i64, points: i64) -> (String, i64, i64) {
    (name.to_owned(), rank, points)
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn leaderboards_by_period_and_scope(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let guild = o.community("alice", "Guild", "none").await;
    earned(&o, "alice", 30, 1, Some(guild)).await; // this week
    earned(&o, "tom", 30, 2, None).await; // this week
    earned(&o, "bea", 40, 10, Some(guild)).await; // this month, last week
    earned(&o, "ivan", 100, 26, None).await; // last month

    let get = |query: &'static str, who: &'static str| {
        let o = &o;
        async move {
            o.ok(
                Method::GET,
                &format!("/api/v1/leaderboard{query}"),
                o.token(who),
                None,
                StatusCode::OK,
            )
            .await
        }
    };
    let week = get("?period=week", "bea").await;
    assert_eq!(board(&week), [row("alice", 1, 30), row("tom", 1, 30)]);
    assert_eq!(week["since"], "2027-01-11T00:00:00Z");
    assert_eq!(week["me"], json!({ "points": 0 }), "bea has nothing this week");
    let month = get("?period=month", "bea").await;
    assert_eq!(
        board(&month),
        [row("bea", 1, 40), row("alice", 2, 30), row("tom", 2, 30)]
    );
    assert_eq!(month["me"], json!({ "rank": 1, "points": 40 }));
    let all = get("?period=all", "alice").await;
    assert_eq!(
        board(&all),
        [
            row("ivan", 1, 100),
            row("bea", 2, 40),
            row("alice", 3, 30),
            row("tom", 3, 30)
        ]
    );
    assert!(all.get("since").is_none());
    assert_eq!(
        board(&get("?period=all&limit=2", "alice").await),
        [row("ivan", 1, 100), row("bea", 2, 40)]
    );

    // A team: the caller's by default, or the one named.
    let mine = get("?scope=team&period=all", "alice").await;
    assert_eq!(mine["team"], "platform");
    assert_eq!(
        board(&mine),
        [row("ivan", 1, 100), row("alice", 2, 30), row("tom", 2, 30)]
    );
    assert_eq!(
        board(&get("?scope=team&team=sales&period=all", "alice").await),
        [row("bea", 1, 40)]
    );
    // A community: reputation earned on its content.
    let guild_board = o
        .ok(
            Method::GET,
            &format!("/api/v1/leaderboard?scope=community&community={guild}&period=all"),
            &o.ivan,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(board(&guild_board), [row("bea", 1, 40), row("alice", 2, 30)]);

    // What the board cannot answer.
    for (query, status) in [
        ("?scope=galaxy", StatusCode::BAD_REQUEST),
        ("?period=year", StatusCode::BAD_REQUEST),
        ("?limit=0", StatusCode::BAD_REQUEST),
        ("?scope=community", StatusCode::UNPROCESSABLE_ENTITY),
        ("?scope=org&team=platform", StatusCode::UNPROCESSABLE_ENTITY),
        ("?scope=team&team=%20", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let r = o
            .call(Method::GET, &format!("/api/v1/leaderboard{query}"), &o.alice, None)
            .await;
        assert_eq!(r.status(), status, "{query}");
    }
    let r = o
        .call(
            Method::GET,
            &format!("/api/v1/leaderboard?scope=community&community={}", Uuid::now_v7()),
            &o.alice,
            None,
        )
        .await;
    assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;
    // root (an admin) is in no team.
    let r = o
        .call(Method::GET, "/api/v1/leaderboard?scope=team", &o.admin, None)
        .await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}
