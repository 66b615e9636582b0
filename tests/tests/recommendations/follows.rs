//! Follows: idempotent, the followed person told once, listed newest first, bad input
//! refused.

use super::*;

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn following_a_colleague_tells_them_once_and_lists_them(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    for who in ["maria", "tom"] {
        for _ in 0..2 {
            o.ok(
                Method::PUT,
                &format!("/api/v1/users/{}/follow", o.id(who)),
                &o.ivan,
                None,
                StatusCode::NO_CONTENT,
            )
            .await;
        }
        o.app.clock.advance(Duration::seconds(1));
    }
    assert_eq!(
        o.count("select count(*) from notification where kind = 'followed'")
            .await,
        2,
        "each told once"
    );
    let first = o
        .ok(
            Method::GET,
            "/api/v1/me/following?limit=1",
            &o.ivan,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(first["items"][0]["id"], o.id("tom").to_string());
    assert_eq!(first["items"][0]["team"], "platform");
    let cursor = first["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("no cursor: {first}"));
    let second = o
        .ok(
            Method::GET,
            &format!("/api/v1/me/following?limit=1&cursor={cursor}"),
            &o.ivan,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(second["items"][0]["id"], o.id("maria").to_string());
    assert!(second["next_cursor"].is_null());

    o.ok(
        Method::DELETE,
        &format!("/api/v1/users/{}/follow", o.id("tom")),
        &o.ivan,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let left = o
        .ok(Method::GET, "/api/v1/me/following", &o.ivan, None, StatusCode::OK)
        .await;
    assert_eq!(left["items"].as_array().map(Vec::len), Some(1));
    // Nobody else's list changed.
    let theirs = o
        .ok(Method::GET, "/api/v1/me/following", &o.tom, None, StatusCode::OK)
        .await;
    assert_eq!(theirs["items"].as_array().map(Vec::len), Some(0));
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn bad_follows_are_refused_and_change_nothing(_: PgPoolOptions, db: PgConnectOptions) {
    let o = org(&db, |_| {}).await;
    let r = o
        .call(
            Method::PUT,
            &format!("/api/v1/users/{}/follow", o.id("ivan")),
            &o.ivan,
            None,
        )
        .await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for bad in ["nope".to_owned(), Uuid::now_v7().to_string()] {
        let r = o
            .call(Method::PUT, &format!("/api/v1/users/{bad}/follow"), &o.ivan, None)
            .await;
        assert_problem(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    for query in ["?limit=0", "?cursor=zzz", "?other=1"] {
        let r = o
            .call(Method::GET, &format!("/api/v1/me/following{query}"), &o.ivan, None)
            .await;
        assert_problem(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    assert_eq!(o.count("select count(*) from person_follow").await, 0);
    assert_eq!(o.count("select count(*) from notification").await, 0);
}
