//! A person's inbox: what happened to their videos and conversations. Rows are written
//! in the same transaction as the event they report, so nobody is told about a change
//! that was rolled back.

use serde::Serialize;
use skillreel_domain::events::DomainEvent;
use skillreel_domain::{UserId, VideoId};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::videos::Cursor;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum NotificationKind {
    VideoReady,
    VideoFailed,
    VideoApproved,
    VideoRejected,
    Comment,
    Answer,
    Mention,
    /// A journey or video was assigned to the person.
    Assignment,
    /// An assignment is due soon and not completed.
    AssignmentDueSoon,
    /// An assignment is past its due date and not completed.
    AssignmentOverdue,
    JourneyApproved,
    JourneyRejected,
    /// A colleague recommended a journey or a video to the person.
    Recommendation,
    /// Someone started following the person.
    Followed,
    /// The person earned a badge.
    Badge,
    /// The person's manager (or an admin) gave them kudos.
    Kudos,
    /// A content request the person asked for or voted for was claimed by a contributor.
    RequestClaimed,
    /// A content request the person asked for or voted for was fulfilled with a video.
    RequestFulfilled,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VideoReady => "video_ready",
            Self::VideoFailed => "video_failed",
            Self::VideoApproved => "video_approved",
            Self::VideoRejected => "video_rejected",
            Self::Comment => "comment",
            Self::Answer => "answer",
            Self::Mention => "mention",
            Self::Assignment => "assignment",
            Self::AssignmentDueSoon => "assignment_due_soon",
            Self::AssignmentOverdue => "assignment_overdue",
            Self::JourneyApproved => "journey_approved",
            Self::JourneyRejected => "journey_rejected",
            Self::Recommendation => "recommendation",
            Self::Followed => "followed",
            Self::Badge => "badge",
            Self::Kudos => "kudos",
            Self::RequestClaimed => "request_claimed",
            Self::RequestFulfilled => "request_fulfilled",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: Uuid,
    pub kind: NotificationKind,
    pub video_id: Option<Uuid>,
    pub payload: serde_json::Value,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Puts a notification in `user`'s inbox and records it as a domain event, which the
/// webhooks are sent from (same transaction: an event is sent if and only if it
/// happened).
pub async fn push(
    conn: &mut PgConnection,
    user: UserId,
    kind: NotificationKind,
    video: Option<VideoId>,
    payload: &serde_json::Value,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into notification (id, user_id, kind, video_id, payload) values ($1, $2, $3, $4, $5)",
        id,
        user.as_uuid(),
        kind.as_str(),
        video.map(|v| v.as_uuid()),
        payload,
    )
    .execute(&mut *conn)
    .await?;
    let event = DomainEvent::NotificationCreated {
        notification: id,
        user,
        notification_kind: kind.as_str().to_owned(),
        video,
        details: payload.clone(),
        timestamp: OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    crate::events::record(conn, &event).await?;
    Ok(id)
}

/// Newest first, `limit` after `after`; only unread ones when `unread_only`.
pub async fn list(
    conn: &mut PgConnection,
    user: UserId,
    unread_only: bool,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Notification>, sqlx::Error> {
    let (after_at, after_id) = match after {
        Some(c) => (Some(c.created_at), Some(c.id)),
        None => (None, None),
    };
    sqlx::query_as!(
        Notification,
        r#"
        select id, kind as "kind: NotificationKind", video_id, payload, read_at, created_at
          from notification
         where user_id = $1 and (not $2 or read_at is null)
           and ($3::timestamptz is null or (created_at, id) < ($3, $4::uuid))
         order by created_at desc, id desc
         limit $5
        "#,
        user.as_uuid(),
        unread_only,
        after_at,
        after_id,
        limit,
    )
    .fetch_all(conn)
    .await
}

pub async fn unread_count(conn: &mut PgConnection, user: UserId) -> Result<i64, sqlx::Error> {
    let n = sqlx::query_scalar!(
        r#"select count(*) as "n!" from notification where user_id = $1 and read_at is null"#,
        user.as_uuid()
    )
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// Marks one of `user`'s notifications read; false when they have no such notification.
pub async fn mark_read(conn: &mut PgConnection, user: UserId, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update notification set read_at = coalesce(read_at, now()) where id = $1 and user_id = $2",
        id,
        user.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks every notification of `user` read; returns how many were unread.
pub async fn mark_all_read(conn: &mut PgConnection, user: UserId) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "update notification set read_at = now() where user_id = $1 and read_at is null",
        user.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
