//! Comments and questions on a video: two-level threads (a top-level comment and its
//! replies), a question's accepted answer, and soft deletion that keeps a thread whole.

use serde::Serialize;
use skillreel_domain::{UserId, VideoId};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comment {
    pub id: Uuid,
    pub video_id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    /// The author's instance, when they are a partner's (`host[:port]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_origin: Option<String>,
    pub parent_id: Option<Uuid>,
    /// Empty once deleted or removed.
    pub body: String,
    pub is_question: bool,
    pub accepted_answer_id: Option<Uuid>,
    /// `visible`, `deleted` (by its author) or `removed` (by a moderator).
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

pub struct NewComment<'a> {
    pub video: VideoId,
    pub author: UserId,
    pub parent: Option<Uuid>,
    pub body: &'a str,
    pub is_question: bool,
}

pub async fn insert(conn: &mut PgConnection, new: &NewComment<'_>) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query!(
        r#"
        insert into comment (id, video_id, author_id, parent_id, body, is_question)
        values ($1, $2, $3, $4, $5, $6)
        "#,
        id,
        new.video.as_uuid(),
        new.author.as_uuid(),
        new.parent,
        new.body,
        new.is_question,
    )
    .execute(conn)
    .await?;
    Ok(id)
}

pub async fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<Comment>, sqlx::Error> {
    sqlx::query_as!(
        Comment,
        r#"
        select c.id, c.video_id, c.author_id, u.name as author_name, u.origin as author_origin, c.parent_id,
               case when c.status = 'visible' then c.body else '' end as "body!",
               c.is_question, c.accepted_answer_id, c.status, c.created_at, c.updated_at
          from comment c join app_user u on u.id = c.author_id
         where c.id = $1
        "#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// Every comment of a video, oldest first (threads are assembled by the caller).
pub async fn for_video(conn: &mut PgConnection, video: VideoId, limit: i64) -> Result<Vec<Comment>, sqlx::Error> {
    sqlx::query_as!(
        Comment,
        r#"
        select c.id, c.video_id, c.author_id, u.name as author_name, u.origin as author_origin, c.parent_id,
               case when c.status = 'visible' then c.body else '' end as "body!",
               c.is_question, c.accepted_answer_id, c.status, c.created_at, c.updated_at
          from comment c join app_user u on u.id = c.author_id
         where c.video_id = $1
         order by c.created_at, c.id
         limit $2
        "#,
        video.as_uuid(),
        limit,
    )
    .fetch_all(conn)
    .await
}

pub async fn edit(conn: &mut PgConnection, id: Uuid, body: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update comment set body = $2, updated_at = now() where id = $1 and status = 'visible'",
        id,
        body
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `deleted` by its author or `removed` by a moderator: the text goes, the thread stays.
pub async fn hide(conn: &mut PgConnection, id: Uuid, status: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update comment set status = $2, body = '', updated_at = now() where id = $1 and status = 'visible'",
        id,
        status
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks `answer` as the accepted answer of its parent question.
pub async fn accept(conn: &mut PgConnection, question: Uuid, answer: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update comment set accepted_answer_id = $2, updated_at = now()
         where id = $1 and is_question
           and exists (select 1 from comment a where a.id = $2 and a.parent_id = $1 and a.status = 'visible')
        "#,
        question,
        answer
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
