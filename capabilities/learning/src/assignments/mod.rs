//! Assignments: `POST /api/v1/journeys/{id}/assignments`,
//! `POST /api/v1/videos/{id}/assignments`, `DELETE /api/v1/assignments/{id}`,
//! `GET /api/v1/me/assignments`.
//!
//! A manager assigns to their direct and indirect reports, an admin to anyone; a
//! request naming anyone else changes nothing (403). Only published items are
//! assigned, and only to people who may see them. Assigning twice is idempotent. Each
//! new assignee is told in their inbox.

use std::collections::HashSet;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_db::events;
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_domain::events::DomainEvent;
use skillreel_domain::learning::{AssignmentKind, AssignmentStatus};
use skillreel_domain::{AssignmentId, UserId};
use skillreel_web::paging::Page;
use skillreel_web::{ApiError, JsonObject};
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::items::{self, Shareable};
use crate::journeys::PersonRef;
use crate::{LearningContext, org};

pub mod store;

pub mod peer;

pub use store::AssignmentRow;

/// What an assignment is of.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemRef {
    /// `journey` or `video`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(journey|video)$")]
    pub kind: &'static str,
    pub id: Uuid,
    pub title: String,
}

/// An assignment and where its assignee stands (Viva Learning's shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: AssignmentKind,
    pub item: ItemRef,
    pub assignee: PersonRef,
    pub assigner: PersonRef,
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub assigned_at: OffsetDateTime,
    pub status: AssignmentStatus,
    /// Past the due date and not completed.
    pub overdue: bool,
    /// 0 to 100: each video counts by its share of the 90 % that completes it.
    pub completion_percentage: f64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
}

impl AssignmentView {
    pub fn of(row: AssignmentRow, now: OffsetDateTime) -> Self {
        let completed = row.completed();
        let past_due = row.due_at.is_some_and(|due| due <= now);
        let status = AssignmentStatus::of(completed, row.started, past_due);
        let percentage = if completed {
            100.0
        } else if row.items > 0 {
            (row.done / row.items as f64 * 1000.0).round() / 10.0
        } else {
            0.0
        };
        Self {
            id: row.id,
            kind: row.kind.parse().unwrap_or(AssignmentKind::Recommended),
            item: match (row.journey_id, row.video_id) {
                (Some(id), _) => ItemRef {
                    kind: "journey",
                    id,
                    title: row.title,
                },
                (None, id) => ItemRef {
                    kind: "video",
                    id: id.unwrap_or_default(),
                    title: row.title,
                },
            },
            assignee: PersonRef {
                id: row.assignee_id,
                name: row.assignee_name,
            },
            assigner: PersonRef {
                id: row.assigner_id,
                name: row.assigner_name,
            },
            due_at: row.due_at,
            assigned_at: row.created_at,
            overdue: status == AssignmentStatus::Overdue,
            completion_percentage: percentage.min(if completed { 100.0 } else { 99.9 }),
            completed_at: if completed { row.last_completed_at } else { None },
            status,
        }
    }
}

/// Most urgent first: overdue (longest overdue first), then open ones by due date
/// (none last), completed ones at the end; ties by when assigned.
pub fn sort_by_urgency(views: &mut [AssignmentView]) {
    views.sort_by_key(|v| {
        (
            v.status == AssignmentStatus::Completed,
            v.due_at.is_none(),
            v.due_at,
            v.assigned_at,
            v.id,
        )
    });
}

/// What a manager (or an admin) asks for; `peerRecommended` comes from colleagues'
/// recommendations only.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignedKind {
    Required,
    Recommended,
}

impl From<AssignedKind> for AssignmentKind {
    fn from(kind: AssignedKind) -> Self {
        match kind {
            AssignedKind::Required => Self::Required,
            AssignedKind::Recommended => Self::Recommended,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// People to assign, by id.
    #[schema(max_items = 1000)]
    people: Option<Vec<Uuid>>,
    /// Everyone in this team (the `team` of the org chart).
    #[schema(min_length = 1, max_length = 200)]
    team: Option<String>,
    #[serde(rename = "type")]
    kind: AssignedKind,
    /// When it should be completed; in the future.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    due_at: Option<OffsetDateTime>,
}

/// The outcome of an assignment request.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignResult {
    /// The new assignments.
    pub assigned: Vec<AssignmentView>,
    /// People who had it already (unchanged).
    pub already_assigned: Vec<Uuid>,
}

/// The people a request names, checked: they exist, and the caller may assign to them.
async fn assignees(
    conn: &mut PgConnection,
    user: &AuthUser,
    body: &AssignRequest,
    max: usize,
) -> Result<Vec<Uuid>, ApiError> {
    let mut people: Vec<Uuid> = body.people.clone().unwrap_or_default();
    if let Some(team) = body.team.as_deref().map(str::trim) {
        let members = org::team_members(conn, team).await?;
        if members.is_empty() {
            return Err(ApiError::validation(format!("nobody is in team `{team}`")));
        }
        people.extend(members);
    }
    let mut seen = HashSet::new();
    people.retain(|p| seen.insert(*p));
    if people.is_empty() {
        return Err(ApiError::validation("name people, a team, or both"));
    }
    if people.len() > max {
        return Err(ApiError::validation(format!("at most {max} people per request")));
    }
    let existing: HashSet<Uuid> = org::existing(conn, &people).await?.into_iter().collect();
    if let Some(unknown) = people.iter().find(|p| !existing.contains(p)) {
        return Err(ApiError::validation(format!("no person {unknown}")));
    }
    if !user.is_admin() {
        let reports: HashSet<Uuid> = org::reports_among(conn, &user.subject, &people)
            .await?
            .into_iter()
            .collect();
        let outside = people.iter().filter(|p| !reports.contains(p)).count();
        if outside > 0 {
            return Err(ApiError::forbidden(format!(
                "{outside} of these people do not report to you; a manager assigns to their reports only"
            )));
        }
    }
    Ok(people)
}

/// Checks and records an assignment request for `what` (already known visible to the
/// caller): it is published, the people are the caller's to assign and may see it, the
/// due date is ahead; then assigns whoever does not have it yet and tells them. A
/// colleague's recommendation of it on someone's list gives way to the assignment.
async fn assign(
    ctx: &LearningContext,
    conn: &mut PgConnection,
    user: &AuthUser,
    what: Shareable,
    body: &AssignRequest,
) -> Result<HttpResponse, ApiError> {
    let noun = what.item.noun();
    if !what.published {
        return Err(ApiError::conflict(format!("only a published {noun} can be assigned")));
    }
    let people = assignees(conn, user, body, ctx.settings.max_assignees).await?;
    let seeing = items::who_may_see(conn, &people, &what).await?;
    let blind = people.iter().filter(|p| !seeing.contains(p)).count();
    if blind > 0 {
        return Err(ApiError::validation(format!(
            "{blind} of these people may not see this {noun} (it is for its community's members)"
        )));
    }
    let (item, title, people) = (what.item, what.title.as_str(), people.as_slice());
    let kind = AssignmentKind::from(body.kind);
    let now = ctx.clock.now();
    if body.due_at.is_some_and(|due| due <= now) {
        return Err(ApiError::validation("due_at must be in the future"));
    }
    let created = store::insert(conn, item, people, kind, user.id, body.due_at, now).await?;
    let new_people: HashSet<Uuid> = created.iter().map(|(p, _)| *p).collect();
    for (assignee, id) in &created {
        let (journey, video) = (item.journey(), item.video());
        let payload = serde_json::json!({
            "assignment_id": id, "journey_id": journey, "video_id": video, "title": title,
            "type": kind, "due_at": body.due_at.map(|d| d.unix_timestamp()), "assigner": user.name,
        });
        notifications::push(
            conn,
            UserId::from_uuid(*assignee),
            NotificationKind::Assignment,
            video,
            &payload,
        )
        .await?;
        let event = DomainEvent::AssignmentCreated {
            assignment: AssignmentId::from_uuid(*id),
            assignee: UserId::from_uuid(*assignee),
            actor: user.id,
            journey,
            video,
            assignment_kind: kind.as_str().to_owned(),
        };
        events::record(conn, &event).await?;
    }
    let ids: Vec<Uuid> = created.iter().map(|(_, id)| *id).collect();
    let mut assigned: Vec<AssignmentView> = store::rows(conn, store::Selection::Ids(&ids))
        .await?
        .into_iter()
        .map(|r| AssignmentView::of(r, now))
        .collect();
    sort_by_urgency(&mut assigned);
    let result = AssignResult {
        assigned,
        already_assigned: people.iter().filter(|p| !new_people.contains(p)).copied().collect(),
    };
    Ok(if created.is_empty() {
        HttpResponse::Ok().json(result)
    } else {
        HttpResponse::Created().json(result)
    })
}

/// `POST /api/v1/journeys/{id}/assignments`.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn assign_journey(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
    body: JsonObject<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let what = items::visible_journey(&mut tx, &user, &path).await?;
    let response = assign(&ctx, &mut tx, &user, what, &body).await?;
    tx.commit().await?;
    Ok(response)
}

/// `POST /api/v1/videos/{id}/assignments`.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn assign_video(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
    body: JsonObject<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let what = items::visible_video(&mut tx, &user, &path).await?;
    let response = assign(&ctx, &mut tx, &user, what, &body).await?;
    tx.commit().await?;
    Ok(response)
}

/// Whether `user` may see and withdraw the assignment: its assigner, an admin, or a
/// manager of its assignee.
async fn may_manage(
    conn: &mut PgConnection,
    user: &AuthUser,
    assignment: &store::AssignmentRef,
) -> Result<bool, ApiError> {
    Ok(user.is_admin()
        || assignment.assigner_id == user.id
        || org::manages(conn, &user.subject, assignment.assignee_id).await?)
}

/// `DELETE /api/v1/assignments/{id}`: unassigns (its assigner, the assignee's
/// managers, admins). The assignee learns nothing new; their progress stays.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn unassign(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: Uuid = path.parse().map_err(|_| ApiError::not_found("assignment"))?;
    let mut tx = ctx.pool.begin().await?;
    let assignment = store::find(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("assignment"))?;
    if !may_manage(&mut tx, &user, &assignment).await? {
        return Err(if assignment.assignee_id == user.id {
            ApiError::forbidden("only whoever assigned it, your managers or an admin may withdraw it")
        } else {
            ApiError::not_found("assignment")
        });
    }
    store::delete(&mut tx, assignment.id).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MineQuery {
    /// Only assignments in this state.
    status: Option<AssignmentStatus>,
}

/// `GET /api/v1/me/assignments`: the caller's, most urgent first (all of them: a
/// person's list is short).
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn mine(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    query: web::Query<MineQuery>,
) -> Result<web::Json<Page<AssignmentView>>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let me = [user.id.as_uuid()];
    let now = ctx.clock.now();
    let mut items: Vec<AssignmentView> = store::rows(&mut conn, store::Selection::Assignees(&me))
        .await?
        .into_iter()
        .map(|r| AssignmentView::of(r, now))
        .filter(|v| query.status.is_none_or(|s| s == v.status))
        .collect();
    sort_by_urgency(&mut items);
    Ok(web::Json(Page {
        items,
        next_cursor: None,
    }))
}
