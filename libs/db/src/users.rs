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

/// The person `claims` name, when their record already says what the claims say: the
/// common case, answered by one read (an upsert would lock the row, a write, even
/// when it changes nothing).
async fn unchanged(conn: &mut PgConnection, claims: &UserClaims) -> Result<Option<UserRecord>, sqlx::Error> {
    let Some(row) = sqlx::query!(
        "select id, name, email, roles, manager_subject, team from app_user where subject = $1",
        claims.subject
    )
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    // claims a token lacks keep what is stored (see `provision`)
    let kept = |claim: &Option<String>, stored: &Option<String>| claim.is_none() || claim == stored;
    let same = row.name == claims.name
        && row.roles == claims.roles.as_strings()
        && kept(&claims.email, &row.email)
        && kept(&claims.manager_subject, &row.manager_subject)
        && kept(&claims.team, &row.team);
    Ok(same.then(|| UserRecord {
        id: UserId::from_uuid(row.id),
        subject: claims.subject.clone(),
        name: row.name,
        email: row.email,
        roles: claims.roles.clone(),
        manager_subject: row.manager_subject,
        team: row.team,
    }))
}

/// Creates the person on first sight and refreshes their profile when the identity
/// provider's claims change; an unchanged profile costs one read and no write. Claims
/// the token lacks (email, manager, team) keep what an org chart import recorded.
#[tracing::instrument(skip(conn, claims), fields(subject = %claims.subject))]
pub async fn provision(conn: &mut PgConnection, claims: &UserClaims) -> Result<UserRecord, sqlx::Error> {
    if let Some(user) = unchanged(conn, claims).await? {
        return Ok(user);
    }
    let roles = claims.roles.as_strings();
    let row = sqlx::query!(
        r#"
        insert into app_user as u (id, subject, name, email, roles, manager_subject, team)
        values ($1, $2, $3, $4, $5, $6, $7)
        on conflict (subject) do update
           set name = excluded.name, email = coalesce(excluded.email, u.email), roles = excluded.roles,
               manager_subject = coalesce(excluded.manager_subject, u.manager_subject),
               team = coalesce(excluded.team, u.team), updated_at = now()
         where (u.name, u.email, u.roles, u.manager_subject, u.team)
               is distinct from
               (excluded.name, coalesce(excluded.email, u.email), excluded.roles,
                coalesce(excluded.manager_subject, u.manager_subject), coalesce(excluded.team, u.team))
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
    let stored = sqlx::query!(
        "select id, email, manager_subject, team from app_user where subject = $1",
        claims.subject
    )
    .fetch_one(&mut *conn)
    .await?;
    debug_assert!(row.is_none_or(|r| r.id == stored.id));
    Ok(UserRecord {
        id: UserId::from_uuid(stored.id),
        subject: claims.subject.clone(),
        name: claims.name.clone(),
        email: stored.email,
        roles: claims.roles.clone(),
        manager_subject: stored.manager_subject,
        team: stored.team,
    })
}

/// One person of an imported org chart.
#[derive(Debug, Clone)]
pub struct ImportedUser {
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub manager_subject: Option<String>,
    pub team: Option<String>,
    pub roles: Roles,
}

/// Creates or updates each person by `subject`, in one statement; returns
/// (created, updated). Subjects must be distinct.
pub async fn import(conn: &mut PgConnection, people: &[ImportedUser]) -> Result<(u64, u64), sqlx::Error> {
    let rows: Vec<serde_json::Value> = people
        .iter()
        .map(|p| {
            serde_json::json!({
                "id": Uuid::now_v7(),
                "subject": p.subject,
                "name": p.name,
                "email": p.email,
                "roles": p.roles.as_strings(),
                "manager": p.manager_subject,
                "team": p.team,
            })
        })
        .collect();
    let counts = sqlx::query!(
        r#"
        with upserted as (
            insert into app_user (id, subject, name, email, roles, manager_subject, team)
            select r.id, r.subject, r.name, r.email, r.roles, r.manager, r.team
              from jsonb_to_recordset($1)
                   as r(id uuid, subject text, name text, email text, roles text[], manager text, team text)
            on conflict (subject) do update
               set name = excluded.name, email = excluded.email, roles = excluded.roles,
                   manager_subject = excluded.manager_subject, team = excluded.team, updated_at = now()
            returning (xmax = 0) as created
        )
        select count(*) filter (where created) as "created!", count(*) filter (where not created) as "updated!"
          from upserted
        "#,
        serde_json::Value::Array(rows),
    )
    .fetch_one(conn)
    .await?;
    Ok((counts.created as u64, counts.updated as u64))
}

/// An `app_user` row as the queries below select it.
struct UserRow {
    id: Uuid,
    subject: String,
    name: String,
    email: Option<String>,
    roles: Vec<String>,
    manager_subject: Option<String>,
    team: Option<String>,
}

impl From<UserRow> for UserRecord {
    fn from(r: UserRow) -> Self {
        Self {
            id: UserId::from_uuid(r.id),
            subject: r.subject,
            name: r.name,
            email: r.email,
            roles: Roles::from_claims(r.roles),
            manager_subject: r.manager_subject,
            team: r.team,
        }
    }
}

#[tracing::instrument(skip(conn))]
pub async fn find(conn: &mut PgConnection, id: UserId) -> Result<Option<UserRecord>, sqlx::Error> {
    let row = sqlx::query_as!(
        UserRow,
        "select id, subject, name, email, roles, manager_subject, team from app_user where id = $1",
        id.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(UserRecord::from))
}

/// The people with these logins (`sub`), e.g. the `@mentioned` of a comment.
#[tracing::instrument(skip(conn))]
pub async fn by_subjects(conn: &mut PgConnection, subjects: &[String]) -> Result<Vec<UserRecord>, sqlx::Error> {
    let rows = sqlx::query_as!(
        UserRow,
        "select id, subject, name, email, roles, manager_subject, team from app_user where subject = any($1)",
        subjects
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(UserRecord::from).collect())
}

/// A person as colleagues see them: who they are and what they share.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub id: Uuid,
    pub name: String,
    pub team: Option<String>,
    /// The tags they publish most about, most first.
    pub skills: Vec<String>,
    pub published_videos: i64,
    pub likes_received: i64,
    pub views_received: i64,
}

pub async fn profile(conn: &mut PgConnection, id: UserId) -> Result<Option<Profile>, sqlx::Error> {
    sqlx::query_as!(
        Profile,
        r#"
        select u.id, u.name, u.team,
               array(select t.tag from video v, unnest(v.tags) as t(tag)
                      where v.owner_id = u.id and v.status = 'published'
                      group by t.tag order by count(*) desc, t.tag limit 10) as "skills!",
               (select count(*) from video v where v.owner_id = u.id and v.status = 'published') as "published_videos!",
               (select coalesce(sum(v.like_count), 0) from video v
                 where v.owner_id = u.id and v.status = 'published')::bigint as "likes_received!",
               (select coalesce(sum(v.view_count), 0) from video v
                 where v.owner_id = u.id and v.status = 'published')::bigint as "views_received!"
          from app_user u where u.id = $1
        "#,
        id.as_uuid()
    )
    .fetch_optional(conn)
    .await
}

/// A community someone belongs to, and their role in it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CommunityRole)]
pub struct Membership {
    pub id: Uuid,
    pub name: String,
    pub role: String,
}

pub async fn memberships(conn: &mut PgConnection, id: UserId) -> Result<Vec<Membership>, sqlx::Error> {
    sqlx::query_as!(
        Membership,
        r#"
        select c.id, c.name, m.role
          from community_member m join community c on c.id = m.community_id
         where m.user_id = $1
         order by lower(c.name)
        "#,
        id.as_uuid()
    )
    .fetch_all(conn)
    .await
}
