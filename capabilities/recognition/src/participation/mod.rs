//! Participation analytics for managers and admins:
//! `GET /api/v1/analytics/participation?team=…&period=…&periods=…`.
//!
//! The 90/9/1 picture: of the people in scope, the share who created (published a
//! video or a journey), contributed (liked, commented, answered, recommended, asked for
//! a video) and only consumed (watched, searched) in each period, each person counted
//! once at their highest rung, with the trend over the last periods; and the videos
//! and journeys that reached most of them this period. The scope is a team or the
//! whole organisation for admins, and a manager's reports (all of them, or those in a
//! team). Reads `participation_day` ([`record`]), which the `participation` consumer
//! and the catalog's searches write.

use actix_web::web;
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_learning::org;
use skillreel_web::ApiError;
use time::{Date, Duration, Month, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::RecognitionContext;

pub mod record;

/// The length of one period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipationPeriod {
    /// From Monday (UTC).
    Week,
    /// From the 1st.
    #[default]
    Month,
    /// From January, April, July or October 1st.
    Quarter,
}

impl ParticipationPeriod {
    /// The first day of the period `day` is in.
    fn start_of(self, day: Date) -> Date {
        match self {
            Self::Week => day - Duration::days(i64::from(day.weekday().number_days_from_monday())),
            Self::Month => day.replace_day(1).unwrap_or(day),
            Self::Quarter => {
                let first = Month::try_from((u8::from(day.month()) - 1) / 3 * 3 + 1).unwrap_or(Month::January);
                Date::from_calendar_date(day.year(), first, 1).unwrap_or(day)
            }
        }
    }

    /// The first day of the period after the one starting on `start`.
    fn next(self, start: Date) -> Date {
        match self {
            Self::Week => start + Duration::days(7),
            Self::Month | Self::Quarter => {
                let months = if self == Self::Month { 1 } else { 3 };
                let mut day = start;
                for _ in 0..months {
                    day = day.replace_day(1).unwrap_or(day) + Duration::days(32);
                    day = day.replace_day(1).unwrap_or(day);
                }
                day
            }
        }
    }

    /// The last `count` periods up to the one `today` is in, oldest first, each as
    /// its first day and the first day after it.
    pub fn last(self, today: Date, count: usize) -> Vec<(Date, Date)> {
        let mut starts = vec![self.start_of(today)];
        while starts.len() < count {
            let Some(before) = starts.last().and_then(|s| s.previous_day()) else {
                break;
            };
            starts.push(self.start_of(before));
        }
        starts.reverse();
        starts.into_iter().map(|s| (s, self.next(s))).collect()
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParticipationQuery {
    /// Only the people of this team (the org chart's `team`).
    #[param(min_length = 1, max_length = 200)]
    team: Option<String>,
    /// `week`, `month` (default) or `quarter`.
    #[param(inline)]
    period: Option<ParticipationPeriod>,
    /// How many periods, the current one last: 1 to 12 (default 6).
    #[param(minimum = 1, maximum = 12)]
    periods: Option<u32>,
}

/// Who took part in one period, each person once at their highest rung.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodShares {
    /// Its first day (`YYYY-MM-DD`, UTC).
    pub start: String,
    /// The first day after it.
    pub end: String,
    /// Published a video or a journey.
    pub creators: i64,
    /// Liked, commented, answered, recommended or asked for a video, but published nothing.
    pub contributors: i64,
    /// Only watched or searched.
    pub consumers: i64,
    pub inactive: i64,
    /// Each as a share of the people in scope (0 to 1).
    pub create_share: f64,
    pub contribute_share: f64,
    pub consume_share: f64,
    pub inactive_share: f64,
}

/// A video or journey and how many of the people in scope it reached this period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reach {
    pub id: Uuid,
    pub title: String,
    /// People in scope who watched it (a journey: any of its steps) this period.
    pub people: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Participation {
    /// The team, or absent for the whole organisation (or all of a manager's reports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub period: ParticipationPeriod,
    /// The people in scope.
    pub people: i64,
    /// Oldest first; the last is the current period.
    pub periods: Vec<PeriodShares>,
    /// This period's videos that reached most people in scope (at most 5).
    pub top_videos: Vec<Reach>,
    /// This period's journeys that reached most people in scope (at most 5).
    pub top_journeys: Vec<Reach>,
}

/// The people in scope: a team's, or everyone's for an admin; only the caller's
/// reports otherwise (403 when there are none).
async fn people_in_scope(
    conn: &mut sqlx::PgConnection,
    user: &AuthUser,
    team: Option<&str>,
) -> Result<Vec<Uuid>, ApiError> {
    let everyone = match team {
        Some(team) => org::team_members(conn, team).await?,
        None => {
            sqlx::query_scalar!("select id from app_user where origin is null")
                .fetch_all(&mut *conn)
                .await?
        }
    };
    let people = if user.is_admin() {
        everyone
    } else {
        org::reports_among(conn, &user.subject, &everyone).await?
    };
    if people.is_empty() && !user.is_admin() {
        return Err(ApiError::forbidden(
            "participation is for managers (about their reports) and admins",
        ));
    }
    Ok(people)
}

/// `share / total`, 0 when nobody is in scope.
fn share(part: i64, total: i64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    // rounded to 4 places: a share, not a measurement
    ((part as f64 / total as f64) * 10_000.0).round() / 10_000.0
}

/// `GET /api/v1/analytics/participation`.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn participation(
    user: AuthUser,
    ctx: web::Data<RecognitionContext>,
    query: web::Query<ParticipationQuery>,
) -> Result<web::Json<Participation>, ApiError> {
    let count = query.periods.unwrap_or(6);
    if !(1..=12).contains(&count) {
        return Err(ApiError::bad_request("periods must be between 1 and 12"));
    }
    let team = query.team.as_deref().map(str::trim);
    if team.is_some_and(|t| t.is_empty() || t.chars().count() > 200) {
        return Err(ApiError::bad_request("team is 1 to 200 characters"));
    }
    let period = query.period.unwrap_or_default();
    let mut conn = ctx.pool.acquire().await?;
    let people = people_in_scope(&mut conn, &user, team).await?;
    let total = i64::try_from(people.len()).unwrap_or(i64::MAX);
    let now = ctx.clock.now();
    let bounds = period.last(now.date(), usize::try_from(count).unwrap_or(6));
    let starts: Vec<Date> = bounds.iter().map(|b| b.0).collect();
    let ends: Vec<Date> = bounds.iter().map(|b| b.1).collect();
    let rows = sqlx::query!(
        r#"
        with bounds as (
            select * from unnest($2::date[], $3::date[]) as b (start, stop)
        ), levels as (
            select b.start, d.user_id, max(d.level) as level
              from bounds b
              join participation_day d on d.day >= b.start and d.day < b.stop
             where d.user_id = any($1)
             group by b.start, d.user_id
        )
        select b.start as "start!", b.stop as "stop!",
               count(l.user_id) filter (where l.level = 3) as "creators!",
               count(l.user_id) filter (where l.level = 2) as "contributors!",
               count(l.user_id) filter (where l.level = 1) as "consumers!"
          from bounds b left join levels l on l.start = b.start
         group by b.start, b.stop
         order by b.start
        "#,
        &people,
        &starts,
        &ends,
    )
    .fetch_all(&mut *conn)
    .await?;
    let periods = rows
        .into_iter()
        .map(|r| {
            let inactive = (total - r.creators - r.contributors - r.consumers).max(0);
            PeriodShares {
                start: r.start.to_string(),
                end: r.stop.to_string(),
                create_share: share(r.creators, total),
                contribute_share: share(r.contributors, total),
                consume_share: share(r.consumers, total),
                inactive_share: share(inactive, total),
                creators: r.creators,
                contributors: r.contributors,
                consumers: r.consumers,
                inactive,
            }
        })
        .collect();
    let since = bounds.last().map_or(now, |b| b.0.midnight().assume_utc());
    let (top_videos, top_journeys) = top_reach(&mut conn, &user, &people, since).await?;
    Ok(web::Json(Participation {
        team: team.map(String::from),
        period,
        people: total,
        periods,
        top_videos,
        top_journeys,
    }))
}

/// The videos and journeys that most of `people` watched since `since` (a journey:
/// any of its steps), among the published ones shared with the organisation (an
/// admin's: all published ones), so a title the caller may not see is never named.
async fn top_reach(
    conn: &mut sqlx::PgConnection,
    user: &AuthUser,
    people: &[Uuid],
    since: OffsetDateTime,
) -> Result<(Vec<Reach>, Vec<Reach>), ApiError> {
    let videos = sqlx::query_as!(
        Reach,
        r#"
        select v.id, v.title, count(*) as "people!"
          from video_progress p join video v on v.id = p.video_id
         where p.user_id = any($1) and p.updated_at >= $2
           and v.status = 'published' and ($3 or v.visibility in ('org', 'federated'))
         group by v.id, v.title
         order by count(*) desc, v.id
         limit 5
        "#,
        people,
        since,
        user.is_admin(),
    )
    .fetch_all(&mut *conn)
    .await?;
    let journeys = sqlx::query_as!(
        Reach,
        r#"
        select j.id, j.title, count(distinct p.user_id) as "people!"
          from video_progress p
          join journey_step s on s.video_id = p.video_id
          join journey j on j.id = s.journey_id
         where p.user_id = any($1) and p.updated_at >= $2
           and j.status = 'published' and ($3 or j.visibility = 'org')
         group by j.id, j.title
         order by count(distinct p.user_id) desc, j.id
         limit 5
        "#,
        people,
        since,
        user.is_admin(),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok((videos, journeys))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: Month, d: u8) -> Date {
        Date::from_calendar_date(y, m, d).unwrap_or(Date::MIN)
    }

    #[test]
    fn periods_go_back_from_the_current_one_oldest_first() {
        let today = day(2027, Month::January, 15);
        assert_eq!(
            ParticipationPeriod::Week.last(today, 2),
            [
                (day(2027, Month::January, 4), day(2027, Month::January, 11)),
                (day(2027, Month::January, 11), day(2027, Month::January, 18)),
            ]
        );
        assert_eq!(
            ParticipationPeriod::Month.last(today, 3),
            [
                (day(2026, Month::November, 1), day(2026, Month::December, 1)),
                (day(2026, Month::December, 1), day(2027, Month::January, 1)),
                (day(2027, Month::January, 1), day(2027, Month::February, 1)),
            ]
        );
        assert_eq!(
            ParticipationPeriod::Quarter.last(day(2027, Month::May, 31), 2),
            [
                (day(2027, Month::January, 1), day(2027, Month::April, 1)),
                (day(2027, Month::April, 1), day(2027, Month::July, 1)),
            ]
        );
    }

    #[test]
    fn shares_are_fractions_and_nobody_in_scope_is_zero() {
        assert_eq!(share(1, 3), 0.3333);
        assert_eq!(share(0, 0), 0.0);
        assert_eq!(share(9, 100), 0.09);
    }
}
