//! Reminders: one notice before an assignment is due (`learning.reminder_lead_hours`)
//! and one when it is overdue, to assignees who have not completed it.
//!
//! Every replica runs the pass every `learning.scheduler_interval_ms`. A notice is
//! claimed by stamping its assignment (`reminded_at`, `overdue_notified_at`) in the
//! transaction that writes the notification, from rows locked with `skip locked`: a
//! row another replica holds is skipped, and once it commits the stamp keeps it out,
//! so each notice is sent exactly once however many replicas run.

use std::sync::Arc;
use std::time::Duration;

use skillreel_db::notifications::{self, NotificationKind};
use skillreel_domain::UserId;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::LearningContext;
use crate::assignments::store::{self, Selection};

/// Assignments handled per pass and kind; the rest wait for the next pass.
const BATCH: i64 = 500;

pub fn spawn(ctx: Arc<LearningContext>, stop: CancellationToken) -> JoinHandle<()> {
    let every = Duration::from_millis(ctx.settings.scheduler_interval_ms.max(10));
    skillreel_web::repeat(stop, move || {
        let ctx = Arc::clone(&ctx);
        async move {
            if let Err(e) = run_once(&ctx).await {
                tracing::warn!(error = %e, "reminder pass failed; retrying on the next one");
            }
            every
        }
    })
}

/// Which notice a pass sends.
#[derive(Clone, Copy)]
enum Notice {
    DueSoon,
    Overdue,
}

/// One pass: due-soon reminders, then overdue notices. Returns how many were sent.
pub async fn run_once(ctx: &LearningContext) -> Result<usize, sqlx::Error> {
    let now = ctx.clock.now();
    let lead = time::Duration::hours(i64::try_from(ctx.settings.reminder_lead_hours).unwrap_or(24));
    Ok(send(ctx, Notice::DueSoon, now, lead).await? + send(ctx, Notice::Overdue, now, lead).await?)
}

async fn send(
    ctx: &LearningContext,
    notice: Notice,
    now: OffsetDateTime,
    lead: time::Duration,
) -> Result<usize, sqlx::Error> {
    let mut tx = ctx.pool.begin().await?;
    let claimed: Vec<Uuid> = match notice {
        Notice::DueSoon => {
            sqlx::query_scalar!(
                r#"
                update assignment set reminded_at = $1
                 where id in (select id from assignment
                               where due_at is not null and reminded_at is null and overdue_notified_at is null
                                 and due_at > $1 and due_at <= $2
                               order by due_at
                               limit $3
                                 for update skip locked)
                returning id
                "#,
                now,
                now + lead,
                BATCH,
            )
            .fetch_all(&mut *tx)
            .await?
        }
        Notice::Overdue => {
            sqlx::query_scalar!(
                r#"
                update assignment set overdue_notified_at = $1
                 where id in (select id from assignment
                               where due_at is not null and overdue_notified_at is null and due_at <= $1
                               order by due_at
                               limit $2
                                 for update skip locked)
                returning id
                "#,
                now,
                BATCH,
            )
            .fetch_all(&mut *tx)
            .await?
        }
    };
    if claimed.is_empty() {
        return Ok(0);
    }
    let rows = store::rows(&mut tx, Selection::Ids(&claimed)).await?;
    let mut sent = 0;
    for row in rows.into_iter().filter(|r| !r.completed()) {
        let kind = match notice {
            Notice::DueSoon => NotificationKind::AssignmentDueSoon,
            Notice::Overdue => NotificationKind::AssignmentOverdue,
        };
        let payload = serde_json::json!({
            "assignment_id": row.id, "journey_id": row.journey_id, "video_id": row.video_id,
            "title": row.title, "due_at": row.due_at.map(|d| d.unix_timestamp()),
        });
        notifications::push(
            &mut tx,
            UserId::from_uuid(row.assignee_id),
            kind,
            row.video_id.map(Into::into),
            &payload,
        )
        .await?;
        sent += 1;
    }
    tx.commit().await?;
    Ok(sent)
}
