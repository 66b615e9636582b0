//! Leaderboards: `GET /api/v1/leaderboard?scope=org|team|community&period=week|month|all`.
//!
//! Who earned the most reputation in the organisation, a team (the caller's by
//! default) or a community (reputation earned on its content), this calendar week
//! (from Monday, UTC), this calendar month or all time. Ranks are shared on equal
//! points (1, 2, 2, 4); the caller's own standing comes with the board.

use actix_web::web;
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_web::ApiError;
use time::{Duration, OffsetDateTime, Time};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::RecognitionContext;
use crate::profile::PersonRef;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    #[default]
    Org,
    Team,
    Community,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Week,
    #[default]
    Month,
    All,
}

impl Period {
    /// Where the period that `now` is in starts (`None`: all time).
    pub fn start(self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let today = now.date();
        let day = match self {
            Self::Week => today - Duration::days(i64::from(today.weekday().number_days_from_monday())),
            Self::Month => today.replace_day(1).unwrap_or(today),
            Self::All => return None,
        };
        Some(day.with_time(Time::MIDNIGHT).assume_utc())
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardQuery {
    /// `org` (default), `team` or `community`.
    #[param(inline)]
    scope: Option<Scope>,
    /// `week`, `month` (default) or `all`.
    #[param(inline)]
    period: Option<Period>,
    /// With `scope=team`: the team (default: the caller's).
    #[param(min_length = 1, max_length = 200)]
    team: Option<String>,
    /// With `scope=community`: the community.
    community: Option<Uuid>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// One place on a board.
#[derive(Debug, Serialize, ToSchema)]
pub struct Standing {
    pub rank: i64,
    pub person: PersonRef,
    pub points: i64,
}

/// The caller's own standing.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyStanding {
    /// Absent while the caller has no points on this board.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<i64>,
    pub points: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Leaderboard {
    pub scope: Scope,
    pub period: Period,
    /// Where the period starts (absent for all time).
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub since: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community: Option<Uuid>,
    pub items: Vec<Standing>,
    pub me: MyStanding,
}

/// The team and community a board is restricted to, checked.
async fn restriction(
    conn: &mut sqlx::PgConnection,
    user: &AuthUser,
    query: &LeaderboardQuery,
    scope: Scope,
) -> Result<(Option<String>, Option<Uuid>), ApiError> {
    match scope {
        Scope::Org => Ok((None, None)),
        Scope::Team => {
            let team = match query.team.as_deref().map(str::trim) {
                Some(t) if !t.is_empty() && !t.contains('\0') => t.to_owned(),
                Some(_) => return Err(ApiError::validation("team must be a team's name")),
                None => sqlx::query_scalar!("select team from app_user where id = $1", user.id.as_uuid())
                    .fetch_one(&mut *conn)
                    .await?
                    .ok_or_else(|| ApiError::validation("you are in no team: name one with `team`"))?,
            };
            Ok((Some(team), None))
        }
        Scope::Community => {
            let id = query
                .community
                .ok_or_else(|| ApiError::validation("scope=community needs `community`"))?;
            let exists = sqlx::query_scalar!(
                r#"select exists (select 1 from community where id = $1) as "exists!""#,
                id
            )
            .fetch_one(&mut *conn)
            .await?;
            if !exists {
                return Err(ApiError::not_found("community"));
            }
            Ok((None, Some(id)))
        }
    }
}

/// `GET /api/v1/leaderboard`.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn get(
    user: AuthUser,
    ctx: web::Data<RecognitionContext>,
    query: web::Query<LeaderboardQuery>,
) -> Result<web::Json<Leaderboard>, ApiError> {
    let scope = query.scope.unwrap_or_default();
    let period = query.period.unwrap_or_default();
    let limit = skillreel_web::paging::parse_limit(query.limit, 20)?;
    if scope != Scope::Team && query.team.is_some() || scope != Scope::Community && query.community.is_some() {
        return Err(ApiError::validation(
            "`team` goes with scope=team, `community` with scope=community",
        ));
    }
    let mut conn = ctx.pool.acquire().await?;
    let (team, community) = restriction(&mut conn, &user, &query, scope).await?;
    let since = period.start(ctx.clock.now());
    let rows = sqlx::query!(
        r#"
        with board as (
            select e.user_id, sum(e.points)::int8 as points
              from reputation_entry e
              join app_user u on u.id = e.user_id
             where ($1::timestamptz is null or e.occurred_at >= $1)
               and u.origin is null
               and ($2::text is null or u.team = $2)
               and ($3::uuid is null or e.community_id = $3)
             group by e.user_id
            having sum(e.points) > 0
        ), ranked as (
            select user_id, points, rank() over (order by points desc) as rank from board
        )
        select r.user_id as "user_id!", u.name, u.team, r.points as "points!", r.rank as "rank!"
          from ranked r join app_user u on u.id = r.user_id
         where r.rank <= $4 or r.user_id = $5
         order by r.rank, u.name, r.user_id
        "#,
        since,
        team.as_deref(),
        community,
        limit,
        user.id.as_uuid(),
    )
    .fetch_all(&mut *conn)
    .await?;
    let me = rows
        .iter()
        .find(|r| r.user_id == user.id.as_uuid())
        .map_or(MyStanding { rank: None, points: 0 }, |r| MyStanding {
            rank: Some(r.rank),
            points: r.points,
        });
    let items = rows
        .into_iter()
        .filter(|r| r.rank <= limit)
        .take(usize::try_from(limit).unwrap_or(100))
        .map(|r| Standing {
            rank: r.rank,
            person: PersonRef {
                id: r.user_id,
                name: r.name,
                team: r.team,
            },
            points: r.points,
        })
        .collect();
    Ok(web::Json(Leaderboard {
        scope,
        period,
        since,
        team,
        community,
        items,
        me,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Date, Month};

    #[test]
    fn periods_start_on_monday_and_the_first_of_the_month() {
        // Wednesday 2 December 2026, 15:00 UTC
        let now = Date::from_calendar_date(2026, Month::December, 2)
            .unwrap_or(Date::MIN)
            .with_hms(15, 0, 0)
            .unwrap_or(time::PrimitiveDateTime::MIN)
            .assume_utc();
        let monday = Date::from_calendar_date(2026, Month::November, 30).unwrap_or(Date::MIN);
        let first = Date::from_calendar_date(2026, Month::December, 1).unwrap_or(Date::MIN);
        assert_eq!(Period::Week.start(now), Some(monday.midnight().assume_utc()));
        assert_eq!(Period::Month.start(now), Some(first.midnight().assume_utc()));
        assert_eq!(Period::All.start(now), None);
    }
}
