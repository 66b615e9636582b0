//! Provisioning from token claims: created on first sight, refreshed when the claims
//! change, and an unchanged person costs no write (their row is not even locked, which
//! an upsert would do).

use skillreel_db::users::{self, UserClaims};
use skillreel_domain::Roles;
use sqlx::PgPool;

fn claims(name: &str, team: Option<&str>) -> UserClaims {
    UserClaims {
        subject: "ana".into(),
        name: name.into(),
        email: Some("ana@example.com".into()),
        roles: Roles::from_claims(["employee"]),
        manager_subject: None,
        team: team.map(String::from),
    }
}

/// The row's `xmax`: 0 until a transaction updates or locks it.
async fn xmax(pool: &PgPool) -> String {
    sqlx::query_scalar("select xmax::text from app_user where subject = 'ana'")
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_unchanged_person_costs_one_read_and_a_changed_one_is_refreshed(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    let first = users::provision(&mut conn, &claims("Ana", Some("platform")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(xmax(&pool).await, "0");
    // a token without a team keeps the stored one, and writes nothing
    for same in [claims("Ana", Some("platform")), claims("Ana", None)] {
        let again = users::provision(&mut conn, &same)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.id, first.id);
        assert_eq!(again.team.as_deref(), Some("platform"));
        assert_eq!(xmax(&pool).await, "0", "no write, not even a row lock");
    }
    let renamed = users::provision(&mut conn, &claims("Ana María", Some("data")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(renamed.id, first.id);
    let stored: (String, Option<String>) = sqlx::query_as("select name, team from app_user where subject = 'ana'")
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored, ("Ana María".to_owned(), Some("data".to_owned())));
}
