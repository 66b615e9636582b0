//! Communities of practice and their members.

use serde::Serialize;
use skillreel_domain::{ApprovalPolicy, CommunityId, UserId};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Community {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub approval_policy: String,
    pub member_count: i64,
    pub video_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Contributor {
    pub id: Uuid,
    pub name: String,
    pub videos: i64,
    pub likes: i64,
}

/// Whether `author`'s video or journey in `community` under `policy` waits for a
/// reviewer before it is published: under `moderator` and `manager`, unless the author
/// moderates that community.
pub async fn needs_review(
    conn: &mut PgConnection,
    policy: ApprovalPolicy,
    community: Option<CommunityId>,
    author: UserId,
) -> Result<bool, sqlx::Error> {
    if policy == ApprovalPolicy::None {
        return Ok(false);
    }
    let author_moderates = match community {
        Some(c) => role_of(conn, c, author).await?.as_deref() == Some("moderator"),
        None => false,
    };
    Ok(!author_moderates)
}

/// `Err(Database)` with a unique violation when the name is taken (any case).
pub async fn create(
    conn: &mut PgConnection,
    name: &str,
    description: &str,
    policy: ApprovalPolicy,
    creator: UserId,
) -> Result<CommunityId, sqlx::Error> {
    let id = CommunityId::new();
    sqlx::query!(
        "insert into community (id, name, description, approval_policy, created_by) values ($1, $2, $3, $4, $5)",
        id.as_uuid(),
        name,
        description,
        policy.as_str(),
        creator.as_uuid(),
    )
    .execute(&mut *conn)
    .await?;
    // Whoever starts a community moderates it.
    set_member(conn, id, creator, "moderator").await?;
    Ok(id)
}

pub async fn find(conn: &mut PgConnection, id: CommunityId) -> Result<Option<Community>, sqlx::Error> {
    sqlx::query_as!(
        Community,
        r#"
        select c.id, c.name, c.description, c.approval_policy, c.created_at,
               (select count(*) from community_member m where m.community_id = c.id) as "member_count!",
               (select count(*) from video v where v.community_id = c.id and v.status = 'published') as "video_count!"
          from community c where c.id = $1
        "#,
        id.as_uuid()
    )
    .fetch_optional(conn)
    .await
}

/// Alphabetical, `limit` after the name `after`.
pub async fn list(conn: &mut PgConnection, after: Option<&str>, limit: i64) -> Result<Vec<Community>, sqlx::Error> {
    sqlx::query_as!(
        Community,
        r#"
        select c.id, c.name, c.description, c.approval_policy, c.created_at,
               (select count(*) from community_member m where m.community_id = c.id) as "member_count!",
               (select count(*) from video v where v.community_id = c.id and v.status = 'published') as "video_count!"
          from community c
         where ($1::text is null or lower(c.name) > lower($1))
         order by lower(c.name)
         limit $2
        "#,
        after,
        limit,
    )
    .fetch_all(conn)
    .await
}

pub async fn update(
    conn: &mut PgConnection,
    id: CommunityId,
    description: Option<&str>,
    policy: Option<ApprovalPolicy>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update community set description = coalesce($2, description),
               approval_policy = coalesce($3, approval_policy), updated_at = now()
         where id = $1
        "#,
        id.as_uuid(),
        description,
        policy.map(ApprovalPolicy::as_str),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `member` or `moderator`; `None` when not a member.
pub async fn role_of(conn: &mut PgConnection, id: CommunityId, user: UserId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select role from community_member where community_id = $1 and user_id = $2",
        id.as_uuid(),
        user.as_uuid()
    )
    .fetch_optional(conn)
    .await
}

/// Joins (as a member) or changes the role; joining again keeps a moderator a moderator.
pub async fn set_member(conn: &mut PgConnection, id: CommunityId, user: UserId, role: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into community_member (community_id, user_id, role) values ($1, $2, $3)
        on conflict (community_id, user_id) do update set role = excluded.role
        "#,
        id.as_uuid(),
        user.as_uuid(),
        role,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn join(conn: &mut PgConnection, id: CommunityId, user: UserId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into community_member (community_id, user_id) values ($1, $2) on conflict do nothing",
        id.as_uuid(),
        user.as_uuid(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn leave(conn: &mut PgConnection, id: CommunityId, user: UserId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "delete from community_member where community_id = $1 and user_id = $2",
        id.as_uuid(),
        user.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moderators first, then by joining time.
pub async fn members(conn: &mut PgConnection, id: CommunityId, limit: i64) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as!(
        Member,
        r#"
        select u.id, u.name, m.role, m.joined_at
          from community_member m join app_user u on u.id = m.user_id
         where m.community_id = $1
         order by m.role = 'moderator' desc, m.joined_at, u.id
         limit $2
        "#,
        id.as_uuid(),
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Who shares most in the community: published videos, then likes received.
pub async fn top_contributors(
    conn: &mut PgConnection,
    id: CommunityId,
    limit: i64,
) -> Result<Vec<Contributor>, sqlx::Error> {
    sqlx::query_as!(
        Contributor,
        r#"
        select u.id, u.name, count(*) as "videos!", coalesce(sum(v.like_count), 0)::bigint as "likes!"
          from video v join app_user u on u.id = v.owner_id
         where v.community_id = $1 and v.status = 'published'
         group by u.id, u.name
         order by count(*) desc, sum(v.like_count) desc, u.id
         limit $2
        "#,
        id.as_uuid(),
        limit,
    )
    .fetch_all(conn)
    .await
}
