//! Badges, each awarded once: `badge_award`'s primary key (person, badge, scope) makes
//! a second award a no-op, whoever tries it and however many at once; only the award
//! that inserted tells the person.

use serde_json::json;
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_domain::UserId;
use skillreel_domain::recognition::{Badge, Merit};
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// Awards `badge` in `scope` to `user` unless they have it; tells them when new.
pub async fn award(
    conn: &mut PgConnection,
    user: Uuid,
    badge: Badge,
    scope: &str,
    details: serde_json::Value,
    at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        r#"
        insert into badge_award (user_id, badge, scope, details, awarded_at)
        values ($1, $2, $3, $4, $5)
        on conflict do nothing
        "#,
        user,
        badge.as_str(),
        scope,
        details,
        at,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        let mut payload = json!({ "badge": badge, "rule": badge.rule() });
        if let (Some(into), Some(from)) = (payload.as_object_mut(), details.as_object()) {
            into.extend(from.clone());
        }
        notifications::push(conn, UserId::from_uuid(user), NotificationKind::Badge, None, &payload).await?;
    }
    Ok(inserted)
}

/// After `user` published a video: the first video badge.
pub async fn after_publishing(conn: &mut PgConnection, user: Uuid, at: OffsetDateTime) -> Result<(), sqlx::Error> {
    award(conn, user, Badge::FirstVideo, "", json!({}), at).await?;
    Ok(())
}

/// After an entry of `merit` for `user`: the badges it may complete.
pub async fn after_credit(
    conn: &mut PgConnection,
    user: Uuid,
    merit: Merit,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let (badge, reached) = match merit {
        Merit::LikeReceived => {
            let likes = sqlx::query_scalar!(
                r#"select count(*) as "n!" from reputation_entry where user_id = $1 and merit = 'like_received' and points > 0"#,
                user
            )
            .fetch_one(&mut *conn)
            .await?;
            (Badge::TenLikes, likes >= 10)
        }
        Merit::CompletedByOther => {
            let learners = sqlx::query_scalar!(
                r#"select count(distinct source_user_id) as "n!" from reputation_entry where user_id = $1 and merit = 'completed_by_other'"#,
                user
            )
            .fetch_one(&mut *conn)
            .await?;
            (Badge::HundredLearners, learners >= 100)
        }
        Merit::AnswerAccepted => (Badge::FirstAcceptedAnswer, true),
        Merit::RequestFulfilled => (Badge::RequestFulfiller, true),
        Merit::Recommended | Merit::Kudos => return Ok(()),
    };
    if reached {
        award(conn, user, badge, "", json!({}), at).await?;
    }
    Ok(())
}

/// The first day of the month before the one `at` is in.
fn previous_month(at: OffsetDateTime) -> Option<Date> {
    let this = at.date().replace_day(1).ok()?;
    let before = this.previous_day()?;
    before.replace_day(1).ok()
}

/// Once the ledger reaches a new month, awards the month before it: in each community,
/// whoever earned the most reputation there (ties to whoever got there first). A
/// month is closed once (`recognition_month`), by whichever event reaches it first.
pub async fn close_months(conn: &mut PgConnection, at: OffsetDateTime) -> Result<(), sqlx::Error> {
    let Some(month) = previous_month(at) else {
        return Ok(());
    };
    let newly_closed = sqlx::query!(
        "insert into recognition_month (month, closed_at) values ($1, $2) on conflict do nothing",
        month,
        at,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !newly_closed {
        return Ok(());
    }
    let tops = sqlx::query!(
        r#"
        with earned as (
            select e.community_id, e.user_id, sum(e.points) as points, max(e.occurred_at) as reached_at
              from reputation_entry e
             where e.community_id is not null
               and e.occurred_at >= $1::date and e.occurred_at < ($1::date + interval '1 month')
             group by e.community_id, e.user_id
            having sum(e.points) > 0
        )
        select distinct on (community_id) community_id as "community_id!", user_id as "user_id!",
               points::int8 as "points!", c.name as "community!"
          from earned join community c on c.id = earned.community_id
         order by community_id, points desc, reached_at, user_id
        "#,
        month,
    )
    .fetch_all(&mut *conn)
    .await?;
    let label = format!("{}-{:02}", month.year(), u8::from(month.month()));
    for top in tops {
        let scope = format!("{}:{label}", top.community_id);
        let details = json!({ "community_id": top.community_id, "community": top.community, "month": label, "points": top.points });
        award(conn, top.user_id, Badge::TopContributorOfTheMonth, &scope, details, at).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Month;

    fn day(year: i32, month: Month, day: u8) -> Date {
        Date::from_calendar_date(year, month, day).unwrap_or(Date::MIN)
    }

    #[test]
    fn the_previous_month_crosses_years() {
        let at = |d: Date| d.midnight().assume_utc();
        assert_eq!(
            previous_month(at(day(2027, Month::January, 15))),
            Some(day(2026, Month::December, 1))
        );
        assert_eq!(
            previous_month(at(day(2026, Month::March, 1))),
            Some(day(2026, Month::February, 1))
        );
    }
}
