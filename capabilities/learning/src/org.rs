//! The org chart as assignments and recommendations need it: who reports to whom, directly or through a
//! chain of managers (`app_user.manager_subject`, from tokens and the org-chart
//! import), and who is in a team.

use skillreel_domain::UserId;
use sqlx::PgConnection;
use uuid::Uuid;

/// Of `people`, those who report to the manager with `subject`, directly or
/// indirectly. A cycle in the chart ends the walk instead of looping.
pub async fn reports_among(conn: &mut PgConnection, subject: &str, people: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        with recursive reports (id, subject) as (
            select id, subject from app_user where manager_subject = $1
            union
            select u.id, u.subject from app_user u join reports r on u.manager_subject = r.subject
        )
        select id as "id!" from reports where id = any($2)
        "#,
        subject,
        people,
    )
    .fetch_all(conn)
    .await
}

/// The ids of the people in `team` (none for a name PostgreSQL cannot hold).
pub async fn team_members(conn: &mut PgConnection, team: &str) -> Result<Vec<Uuid>, sqlx::Error> {
    if team.contains('\0') {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!("select id from app_user where team = $1 order by name, id", team)
        .fetch_all(conn)
        .await
}

/// Of `people`, those who exist.
pub async fn existing(conn: &mut PgConnection, people: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("select id from app_user where id = any($1) and origin is null", people)
        .fetch_all(conn)
        .await
}

/// Whether `manager` (by subject) has `person` among their reports.
pub async fn manages(conn: &mut PgConnection, manager: &str, person: UserId) -> Result<bool, sqlx::Error> {
    Ok(!reports_among(conn, manager, &[person.as_uuid()]).await?.is_empty())
}

/// The names of `people`, by id.
pub async fn names(
    conn: &mut PgConnection,
    people: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>, sqlx::Error> {
    Ok(sqlx::query!("select id, name from app_user where id = any($1)", people)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect())
}
