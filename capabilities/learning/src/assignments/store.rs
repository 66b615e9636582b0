//! Assignments in PostgreSQL, and where each assignee stands on theirs, computed in one
//! statement from their watched seconds: a video assignment by that video, a journey
//! assignment by every step the assignee may watch (published, and in a community
//! they belong to when restricted to it). A step whose video is removed drops out, so
//! progress stays consistent when a video goes.

use skillreel_domain::learning::AssignmentKind;
use skillreel_domain::{AssignmentId, UserId};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

pub use crate::items::Item;

/// Assigns `item` to each of `assignees`; returns `(assignee, new assignment id)` for
/// those who did not have it yet (assigning twice changes nothing). A manager's
/// assignment replaces a colleague's recommendation of the same item; a colleague's
/// never replaces anything.
pub async fn insert(
    conn: &mut PgConnection,
    item: Item,
    assignees: &[Uuid],
    kind: AssignmentKind,
    assigner: UserId,
    due_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let ids: Vec<Uuid> = assignees.iter().map(|_| Uuid::now_v7()).collect();
    let (journey, video) = (item.journey().map(|j| j.as_uuid()), item.video().map(|v| v.as_uuid()));
    if kind != AssignmentKind::PeerRecommended {
        sqlx::query!(
            r#"
            delete from assignment
             where assignee_id = any($1) and kind = 'peerRecommended'
               and (journey_id = $2 or video_id = $3)
            "#,
            assignees,
            journey,
            video,
        )
        .execute(&mut *conn)
        .await?;
    }
    let rows = sqlx::query!(
        r#"
        insert into assignment (id, assignee_id, journey_id, video_id, kind, assigner_id, due_at, created_at, updated_at)
        select a.id, a.assignee, $3, $4, $5, $6, $7, $8, $8
          from unnest($1::uuid[], $2::uuid[]) as a (id, assignee)
        on conflict do nothing
        returning assignee_id, id
        "#,
        &ids,
        assignees,
        journey,
        video,
        kind.as_str(),
        assigner.as_uuid(),
        due_at,
        now,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.assignee_id, r.id)).collect())
}

/// The bare assignment (who, what, by whom).
pub struct AssignmentRef {
    pub id: AssignmentId,
    pub assignee_id: UserId,
    pub assigner_id: UserId,
}

pub async fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<AssignmentRef>, sqlx::Error> {
    Ok(
        sqlx::query!("select id, assignee_id, assigner_id from assignment where id = $1", id)
            .fetch_optional(conn)
            .await?
            .map(|r| AssignmentRef {
                id: AssignmentId::from_uuid(r.id),
                assignee_id: UserId::from_uuid(r.assignee_id),
                assigner_id: UserId::from_uuid(r.assigner_id),
            }),
    )
}

/// Takes a colleague's recommendation of `item` off `assignee`'s list (an assignment
/// from a manager stays).
pub async fn delete_peer(conn: &mut PgConnection, assignee: UserId, item: Item) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        delete from assignment
         where assignee_id = $1 and kind = 'peerRecommended'
           and (journey_id = $2 or video_id = $3)
        "#,
        assignee.as_uuid(),
        item.journey().map(|j| j.as_uuid()),
        item.video().map(|v| v.as_uuid()),
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, id: AssignmentId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!("delete from assignment where id = $1", id.as_uuid())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Which assignments to report on.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// Everything assigned to these people.
    Assignees(&'a [Uuid]),
    /// These assignments.
    Ids(&'a [Uuid]),
    /// Everyone's assignment of this journey.
    Journey(Uuid),
}

/// One assignment and where its assignee stands.
#[derive(Debug, Clone)]
pub struct AssignmentRow {
    pub id: Uuid,
    pub assignee_id: Uuid,
    pub assignee_name: String,
    pub kind: String,
    pub journey_id: Option<Uuid>,
    pub video_id: Option<Uuid>,
    pub title: String,
    pub assigner_id: Uuid,
    pub assigner_name: String,
    pub due_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// Videos the assignee must watch (available ones).
    pub items: i64,
    /// Completed items, counting partly watched ones by their share of the threshold.
    pub done: f64,
    pub completed_items: i64,
    pub last_completed_at: Option<OffsetDateTime>,
    pub started: bool,
}

impl AssignmentRow {
    pub fn completed(&self) -> bool {
        self.items > 0 && self.completed_items == self.items
    }
}

/// The assignments `selection` picks, with their assignees' standing, in one
/// statement per selection: each has its own literal condition (and so its own plan,
/// along its own index), then the standing is computed set-wise: the items each
/// assignee must watch (a journey's steps, or the video) joined with their progress
/// (only the selected assignees' rows of it).
/// An item counts only when its video is published and the assignee may see it (the
/// same rule as `progress::store::journeys_completed_with`).
macro_rules! assignment_rows {
    ($condition:literal, $arg:expr) => {
        sqlx::query_as!(
            AssignmentRow,
            r#"
            with a as (
                select a.id, a.assignee_id, a.journey_id, a.video_id, a.kind, a.assigner_id, a.due_at, a.created_at
                  from assignment a
                 where "# + $condition + r#"
            ), item as (
                select a.id as assignment_id, a.assignee_id, coalesce(s.video_id, a.video_id) as video_id
                  from a left join journey_step s on s.journey_id = a.journey_id
            ), progress as (
                select p.user_id, p.video_id, p.watched_seconds, p.completed_at
                  from video_progress p
                 where p.user_id in (select distinct assignee_id from a)
            ), standing as (
                select i.assignment_id,
                       count(*) as items,
                       coalesce(sum(case when p.completed_at is not null then 1.0
                                         else least(coalesce(p.watched_seconds, 0) / greatest(v.duration_ms * 0.0009, 0.001), 1.0)
                                    end), 0)::float8 as done,
                       count(p.completed_at) as completed_items,
                       max(p.completed_at) as last_completed_at,
                       coalesce(bool_or(p.watched_seconds > 0), false) as started
                  from item i
                  join video v on v.id = i.video_id
                              and v.status = 'published'
                              and (v.visibility <> 'community'
                                   or v.owner_id = i.assignee_id
                                   or exists (select 1 from community_member m
                                               where m.community_id = v.community_id and m.user_id = i.assignee_id))
                  left join progress p on p.user_id = i.assignee_id and p.video_id = i.video_id
                 group by i.assignment_id
            )
            select a.id as "id!", a.assignee_id as "assignee_id!", pu.name as assignee_name, a.kind as "kind!",
                   a.journey_id, a.video_id, coalesce(j.title, av.title) as "title!",
                   a.assigner_id as "assigner_id!", au.name as assigner_name, a.due_at, a.created_at as "created_at!",
                   coalesce(st.items, 0) as "items!", coalesce(st.done, 0) as "done!",
                   coalesce(st.completed_items, 0) as "completed_items!", st.last_completed_at,
                   coalesce(st.started, false) as "started!"
              from a
              join app_user pu on pu.id = a.assignee_id
              join app_user au on au.id = a.assigner_id
              left join journey j on j.id = a.journey_id
              left join video av on av.id = a.video_id
              left join standing st on st.assignment_id = a.id
            "#,
            $arg
        )
    };
}

/// Planned for each call's own ids (`plan_cache_mode = force_custom_plan`, for this
/// transaction only): a cached generic plan cannot tell 1 assignee from 500, and was
/// five times slower for a team of 500 (measured with `bench/learning`).
pub async fn rows(conn: &mut PgConnection, selection: Selection<'_>) -> Result<Vec<AssignmentRow>, sqlx::Error> {
    use sqlx::Connection as _;
    let mut tx = conn.begin().await?;
    sqlx::query!("set local plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await?;
    let rows = match selection {
        Selection::Assignees(people) => {
            assignment_rows!("a.assignee_id = any($1)", people)
                .fetch_all(&mut *tx)
                .await?
        }
        Selection::Ids(ids) => assignment_rows!("a.id = any($1)", ids).fetch_all(&mut *tx).await?,
        Selection::Journey(journey) => {
            assignment_rows!("a.journey_id = $1", journey)
                .fetch_all(&mut *tx)
                .await?
        }
    };
    tx.commit().await?;
    Ok(rows)
}

/// Whether `assigner` assigned `journey` to `assignee`.
pub async fn assigned_by(
    conn: &mut PgConnection,
    journey: Uuid,
    assignee: Uuid,
    assigner: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from assignment where journey_id = $1 and assignee_id = $2 and assigner_id = $3) as "assigned!""#,
        journey,
        assignee,
        assigner,
    )
    .fetch_one(conn)
    .await
}
