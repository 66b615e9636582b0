//! Assignments: within the org chart only, idempotent, overdue at the right instant,
//! reminders once each with two replicas, team reports as JSON and CSV.

use super::*;

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_manager_assigns_to_an_indirect_report_but_not_to_another_teams_member(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let o = org(&db, |_| {}).await;
    let video = o.video("alice", "Onboarding", 60).await;
    let journey = o.journey("alice", "Onboarding journey", &[video]).await;
    let path = format!("/api/v1/journeys/{journey}/assignments");
    let due = (start() + Duration::days(7))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();

    // ivan reports to tom, who reports to maria: an indirect report.
    let body = json!({ "people": [o.id("ivan")], "type": "required", "due_at": due });
    let assigned = o
        .ok(Method::POST, &path, &o.maria, Some(body.clone()), StatusCode::CREATED)
        .await;
    assert_eq!(assigned["assigned"][0]["assignee"]["id"], json!(o.id("ivan")));
    assert_eq!(assigned["assigned"][0]["status"], "not_started");
    // Twice is once.
    let again = o.ok(Method::POST, &path, &o.maria, Some(body), StatusCode::OK).await;
    assert_eq!(again["assigned"], json!([]));
    assert_eq!(again["already_assigned"], json!([o.id("ivan")]));

    // bea is in sales, under omar: refused, and nobody is assigned, not even ivan's
    // team-mate named in the same request.
    let r = o
        .call(
            Method::POST,
            &path,
            &o.maria,
            Some(json!({ "people": [o.id("alice"), o.id("bea")], "type": "required" })),
        )
        .await;
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    // An employee without reports assigns to nobody; an admin to anyone.
    let r = o
        .call(
            Method::POST,
            &path,
            &o.alice,
            Some(json!({ "people": [o.id("ivan")], "type": "recommended" })),
        )
        .await;
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    o.ok(
        Method::POST,
        &path,
        &o.admin,
        Some(json!({ "people": [o.id("bea")], "type": "recommended" })),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(o.count("select count(*) from assignment").await, 2);
    // The assignee is told, once.
    assert_eq!(
        o.count("select count(*) from notification where kind = 'assignment'")
            .await,
        2
    );
    let mine = o
        .ok(Method::GET, "/api/v1/me/assignments", &o.ivan, None, StatusCode::OK)
        .await;
    assert_eq!(mine["items"][0]["type"], "required");
    assert_eq!(mine["items"][0]["assigner"]["name"], "maria (test)");
    assert_eq!(mine["items"][0]["item"]["type"], "journey");

    // A whole team: maria's reports in `platform` are alice, tom and ivan (not maria).
    let team = o
        .ok(
            Method::POST,
            &format!("/api/v1/videos/{video}/assignments"),
            &o.maria,
            Some(json!({ "team": "platform", "type": "recommended" })),
            StatusCode::FORBIDDEN,
        )
        .await;
    assert_eq!(
        team["code"], "forbidden",
        "maria is in her own team and not her own report"
    );
    o.ok(
        Method::POST,
        &format!("/api/v1/videos/{video}/assignments"),
        &o.omar,
        Some(json!({ "team": "sales", "type": "recommended" })),
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_assignment_is_overdue_at_the_due_instant_on_the_clock(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let video = o.video("alice", "Compliance", 60).await;
    let due = start() + Duration::hours(2);
    let due_text = due
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    o.ok(
        Method::POST,
        &format!("/api/v1/videos/{video}/assignments"),
        &o.omar,
        Some(json!({ "people": [o.id("bea")], "type": "required", "due_at": due_text })),
        StatusCode::CREATED,
    )
    .await;
    async fn status(o: &Org) -> (Value, Value) {
        let mine = o
            .ok(Method::GET, "/api/v1/me/assignments", &o.bea, None, StatusCode::OK)
            .await;
        (mine["items"][0]["status"].clone(), mine["items"][0]["overdue"].clone())
    }
    o.app.clock.advance(Duration::hours(2) - Duration::seconds(1));
    assert_eq!(status(&o).await, (json!("not_started"), json!(false)));
    o.app.clock.advance(Duration::seconds(1));
    assert_eq!(status(&o).await, (json!("overdue"), json!(true)));
    // The team report counts it, for bea's manager only.
    let report = o
        .ok(
            Method::GET,
            "/api/v1/teams/sales/progress",
            &o.omar,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (report["overdue"].clone(), report["assignments"].clone()),
        (json!(1), json!(1))
    );
    let r = o
        .call(Method::GET, "/api/v1/teams/sales/progress", &o.maria, None)
        .await;
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    // Completing it late ends the overdue state.
    o.watch(&o.bea, video, 0.0, 60.0).await;
    assert_eq!(status(&o).await, (json!("completed"), json!(false)));

    // A due date in the past is refused, and changes nothing.
    let past = (o.app.clock.now() - Duration::minutes(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let r = o
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/assignments"),
            &o.maria,
            Some(json!({ "people": [o.id("alice")], "type": "required", "due_at": past })),
        )
        .await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(o.count("select count(*) from assignment").await, 1);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn reminders_are_sent_exactly_once_with_two_replicas(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |s| {
        s.learning.scheduler_interval_ms = 50;
        s.learning.reminder_lead_hours = 24;
    })
    .await;
    let _replica = o.app.spawn_catalog_replica().await;
    let video = o.video("alice", "Security", 60).await;
    let due = (start() + Duration::days(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    for (manager, person) in [("maria", "alice"), ("maria", "ivan"), ("omar", "bea")] {
        let token = if manager == "maria" { &o.maria } else { &o.omar };
        o.ok(
            Method::POST,
            &format!("/api/v1/videos/{video}/assignments"),
            token,
            Some(json!({ "people": [o.id(person)], "type": "required", "due_at": due })),
            StatusCode::CREATED,
        )
        .await;
    }
    // ivan completes it before any reminder: he gets none.
    o.watch(&o.ivan, video, 0.0, 60.0).await;
    let notices = |kind: &'static str| {
        let pool = o.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("select count(*) from notification where kind = $1")
                .bind(kind)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    let settle = || async { tokio::time::sleep(std::time::Duration::from_millis(400)).await };
    settle().await;
    assert_eq!(
        notices("assignment_due_soon").await,
        0,
        "nothing is due within a day yet"
    );

    o.app.clock.advance(Duration::days(2) + Duration::hours(1));
    for _ in 0..100 {
        if notices("assignment_due_soon").await >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    settle().await;
    assert_eq!(notices("assignment_due_soon").await, 2, "alice and bea, once each");

    o.app.clock.advance(Duration::days(1));
    for _ in 0..100 {
        if notices("assignment_overdue").await >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    settle().await;
    assert_eq!(notices("assignment_overdue").await, 2);
    assert_eq!(notices("assignment_due_soon").await, 2);
    assert_eq!(
        o.count("select count(*) from notification n join app_user u on u.id = n.user_id where u.subject = 'ivan' and n.kind <> 'assignment'").await,
        0
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_team_report_lists_each_report_and_assignment_as_json_or_csv(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let (v1, v2) = (
        o.video("alice", "One", 60).await,
        o.video("alice", "Two, with a comma", 60).await,
    );
    for video in [v1, v2] {
        o.ok(
            Method::POST,
            &format!("/api/v1/videos/{video}/assignments"),
            &o.maria,
            Some(json!({ "people": [o.id("alice"), o.id("ivan")], "type": "required" })),
            StatusCode::CREATED,
        )
        .await;
    }
    o.watch(&o.ivan, v1, 0.0, 30.0).await;
    let report = o
        .ok(
            Method::GET,
            "/api/v1/teams/platform/progress",
            &o.maria,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(report["assignments"], 4);
    assert_eq!(report["people"], 3, "alice, tom and ivan report to maria");
    let ivan_one = report["rows"]
        .as_array()
        .and_then(|rows| {
            rows.iter()
                .find(|r| r["assignee"]["id"] == json!(o.id("ivan")) && r["item"]["id"] == json!(v1))
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(ivan_one["status"], "in_progress");
    assert_eq!(ivan_one["completion_percentage"], json!(55.6));

    let csv = o
        .app
        .client
        .get(format!("{}/api/v1/teams/platform/progress", o.app.catalog))
        .bearer_auth(&o.maria)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/csv"))
    );
    let text = csv.text().await.unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("person_id,person_name,assignment_id"));
    assert!(text.contains("\"Two, with a comma\""), "{text}");
    // tom manages ivan only.
    let toms = o
        .ok(
            Method::GET,
            "/api/v1/teams/platform/progress",
            &o.tom,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (toms["people"].clone(), toms["assignments"].clone()),
        (json!(1), json!(2))
    );
    let r = o
        .call(Method::GET, "/api/v1/teams/platform/progress", &o.alice, None)
        .await;
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;

    // Unassigning: not by the assignee, but by the manager.
    let mine = o
        .ok(Method::GET, "/api/v1/me/assignments", &o.ivan, None, StatusCode::OK)
        .await;
    let first = mine["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    let r = o
        .call(Method::DELETE, &format!("/api/v1/assignments/{first}"), &o.ivan, None)
        .await;
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = o
        .call(Method::DELETE, &format!("/api/v1/assignments/{first}"), &o.bea, None)
        .await;
    assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;
    o.ok(
        Method::DELETE,
        &format!("/api/v1/assignments/{first}"),
        &o.tom,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(o.count("select count(*) from assignment").await, 3);
}
