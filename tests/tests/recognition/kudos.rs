//! Kudos: only from the person's manager chain or an admin, once a day per pair,
//! credited and told.

use super::*;

fn kudos_path(o: &Org, to: &str) -> String {
    format!("/api/v1/users/{}/kudos", o.id(to))
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn kudos_come_only_from_the_manager_chain_or_an_admin(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let body = json!({ "message": "Shipped the tracing talk" });
    // ivan reports to tom, who reports to maria.
    for giver in ["tom", "maria"] {
        let given = o
            .ok(
                Method::POST,
                &kudos_path(&o, "ivan"),
                o.token(giver),
                Some(body.clone()),
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(given["recipient"]["id"], o.id("ivan").to_string());
        assert_eq!(given["giver"]["id"], o.id(giver).to_string());
    }
    o.ok(
        Method::POST,
        &kudos_path(&o, "bea"),
        &o.admin,
        Some(body.clone()),
        StatusCode::CREATED,
    )
    .await;
    // A peer, another chain's manager, and a report upwards may not.
    for (giver, to) in [("alice", "ivan"), ("omar", "ivan"), ("ivan", "tom"), ("bea", "omar")] {
        let r = o
            .call(Method::POST, &kudos_path(&o, to), o.token(giver), Some(body.clone()))
            .await;
        assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    }
    // Once a day per pair.
    let r = o
        .call(Method::POST, &kudos_path(&o, "ivan"), &o.tom, Some(body.clone()))
        .await;
    assert_problem(r, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;

    let ivan = settled(&o, "ivan", 2).await;
    assert_eq!(ivan["reputation"], 100);
    let reasons = reasons_of(&ivan);
    assert_eq!(
        reasons,
        [
            "Kudos from maria (test): Shipped the tracing talk",
            "Kudos from tom (test): Shipped the tracing talk"
        ]
    );
    assert_eq!(
        o.count("select count(*) from notification where kind = 'kudos'").await,
        3
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn bad_kudos_are_refused_and_change_nothing(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let path = kudos_path(&o, "ivan");
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({ "message": "" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "message": "   " }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "message": "x".repeat(1001) }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "message": "a\u{1b}b" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (json!({}), StatusCode::BAD_REQUEST, "bad_request"),
        (
            json!({ "message": "ok", "points": 1000 }),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (json!({ "message": 5 }), StatusCode::BAD_REQUEST, "bad_request"),
    ];
    for (body, status, code) in cases {
        let r = o.call(Method::POST, &path, &o.tom, Some(body.clone())).await;
        assert_eq!(r.status(), status, "{body}");
        assert_problem(r, status, code).await;
    }
    let ok = json!({ "message": "Thanks" });
    let r = o
        .call(Method::POST, &kudos_path(&o, "tom"), &o.tom, Some(ok.clone()))
        .await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for bad in ["nope".to_owned(), Uuid::now_v7().to_string()] {
        let r = o
            .call(
                Method::POST,
                &format!("/api/v1/users/{bad}/kudos"),
                &o.admin,
                Some(ok.clone()),
            )
            .await;
        assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(o.count("select count(*) from kudos").await, 0);
    assert_eq!(o.count("select count(*) from notification").await, 0);
}
