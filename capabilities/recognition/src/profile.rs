//! A person's recognition: `GET /api/v1/users/{id}/recognition`.
//!
//! Anyone sees a person's reputation (all time and this month) and badges; the history
//! of entries, each with its points and its reason (which names videos and colleagues),
//! is for the person, their managers and admins.

use actix_web::web;
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_domain::UserId;
use skillreel_domain::recognition::{Badge, Merit};
use skillreel_learning::org;
use skillreel_web::ApiError;
use skillreel_web::paging::{newest_first, paginate, parse_limit};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::RecognitionContext;
use crate::leaderboard::Period;

/// Someone named in a view.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonRef {
    pub id: Uuid,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// A badge someone holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct BadgeView {
    pub badge: Badge,
    /// Its rule, in words.
    pub rule: &'static str,
    /// For the monthly badge: the community and month.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub awarded_at: OffsetDateTime,
}

/// One entry of the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub id: Uuid,
    pub merit: Merit,
    /// What was credited.
    pub points: i32,
    /// What the act is worth before damping.
    pub base_points: i32,
    /// Why, in words (saying so when damped).
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journey_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Recognition {
    pub person: PersonRef,
    /// All time.
    pub reputation: i64,
    pub reputation_this_month: i64,
    pub badges: Vec<BadgeView>,
    /// Newest first; only for the person, their managers and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<EntryView>>,
    /// Pass as `cursor` for more history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// History entries per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// From the previous answer's `next_cursor`.
    #[param(max_length = 200)]
    cursor: Option<String>,
}

/// `GET /api/v1/users/{id}/recognition`.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn get(
    user: AuthUser,
    ctx: web::Data<RecognitionContext>,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> Result<web::Json<Recognition>, ApiError> {
    let person: Uuid = path.parse().map_err(|_| ApiError::not_found("person"))?;
    let limit = parse_limit(query.limit, 20)?;
    let after = newest_first::parse(query.cursor.as_deref())?;
    // one snapshot, so that the totals and the history agree while the ledger grows
    let mut conn = ctx.pool.begin().await?;
    sqlx::query!("set transaction isolation level repeatable read, read only")
        .execute(&mut *conn)
        .await?;
    let who = sqlx::query!("select name, team from app_user where id = $1", person)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("person"))?;
    let month = Period::Month.start(ctx.clock.now());
    let totals = sqlx::query!(
        r#"
        select coalesce(sum(points), 0)::int8 as "all!",
               coalesce(sum(points) filter (where occurred_at >= $2), 0)::int8 as "month!"
          from reputation_entry where user_id = $1
        "#,
        person,
        month,
    )
    .fetch_one(&mut *conn)
    .await?;
    let badges = sqlx::query!(
        "select badge, details, awarded_at from badge_award where user_id = $1 order by awarded_at, badge, scope",
        person
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .filter_map(|r| {
        Badge::parse(&r.badge).map(|badge| BadgeView {
            badge,
            rule: badge.rule(),
            details: r.details,
            awarded_at: r.awarded_at,
        })
    })
    .collect();
    let may_see_history = person == user.id.as_uuid()
        || user.is_admin()
        || org::manages(&mut conn, &user.subject, UserId::from_uuid(person)).await?;
    let (history, next_cursor) = if may_see_history {
        let rows = sqlx::query!(
            r#"
            select id, merit, points, base_points, reason, source_user_id, video_id, journey_id, occurred_at
              from reputation_entry
             where user_id = $1 and ($2::timestamptz is null or (occurred_at, id) < ($2, $3))
             order by occurred_at desc, id desc
             limit $4
            "#,
            person,
            after.map(|a| a.0),
            after.map(|a| a.1),
            limit + 1,
        )
        .fetch_all(&mut *conn)
        .await?;
        let entries: Vec<EntryView> = rows
            .into_iter()
            .filter_map(|r| {
                Merit::parse(&r.merit).map(|merit| EntryView {
                    id: r.id,
                    merit,
                    points: r.points,
                    base_points: r.base_points,
                    reason: r.reason,
                    from: r.source_user_id,
                    video_id: r.video_id,
                    journey_id: r.journey_id,
                    at: r.occurred_at,
                })
            })
            .collect();
        let (entries, next) = paginate(entries, limit, |e| newest_first::encode(e.at, e.id));
        (Some(entries), next)
    } else {
        (None, None)
    };
    conn.commit().await?;
    Ok(web::Json(Recognition {
        person: PersonRef {
            id: person,
            name: who.name,
            team: who.team,
        },
        reputation: totals.all,
        reputation_this_month: totals.month,
        badges,
        history,
        next_cursor,
    }))
}
