//! People, provisioned just-in-time from token claims.

use skillreel_domain::{Roles, UserId};
use sqlx::PgConnection;
use uuid::Uuid;

/// What a verified token says about a person.
#[derive(Debug, Clone)]
pub struct UserClaims {
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub roles: Roles,
    pub manager_subject: Option<String>,
    pub team: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub roles: Roles,
    pub manager_subject: Option<String>,
    pub team: Option<String>,
}

/// Creates the person on first sight and refreshes their profile when the identity
/// provider's claims change; an unchanged profile costs no write.
#[tracing::instrument(skip(conn, claims), fields(subject = %claims.subject))]
pub async fn provision(conn: &mut PgConnection, claims: &UserClaims) -> Result<UserRecord, sqlx::Error> {
    let roles = claims.roles.as_strings();
    let row = sqlx::query!(
        r#"
        insert into app_user (id, subject, name, email, roles, manager_subject, team)
        values ($1, $2, $3, $4, $5, $6, $7)
        on conflict (subject) do update
           set name = excluded.name, email = excluded.email, roles = excluded.roles,
               manager_subject = excluded.manager_subject, team = excluded.team, updated_at = now()
         where (app_user.name, app_user.email, app_user.roles, app_user.manager_subject, app_user.team)
               is distinct from
               (excluded.name, excluded.email, excluded.roles, excluded.manager_subject, excluded.team)
        returning id
        "#,
        Uuid::now_v7(),
        claims.subject,
        claims.name,
        claims.email,
        &roles,
        claims.manager_subject,
        claims.team,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let id = match row {
        Some(row) => row.id,
        None => {
            sqlx::query_scalar!("select id from app_user where subject = $1", claims.subject)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    Ok(UserRecord {
        id: UserId::from_uuid(id),
        subject: claims.subject.clone(),
        name: claims.name.clone(),
        email: claims.email.clone(),
        roles: claims.roles.clone(),
        manager_subject: claims.manager_subject.clone(),
        team: claims.team.clone(),
    })
}

#[tracing::instrument(skip(conn))]
pub async fn find(conn: &mut PgConnection, id: UserId) -> Result<Option<UserRecord>, sqlx::Error> {
    let row = sqlx::query!(
        "select id, subject, name, email, roles, manager_subject, team from app_user where id = $1",
        id.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| UserRecord {
        id: UserId::from_uuid(r.id),
        subject: r.subject,
        name: r.name,
        email: r.email,
        roles: Roles::from_claims(r.roles),
        manager_subject: r.manager_subject,
        team: r.team,
    }))
}
