//! Peer recommendations in PostgreSQL: one row per sender, recipient and item; the
//! recipient's state is kept per item (see [`items`]).

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// One recommendation as its sender made it.
pub struct NewRecommendation<'a> {
    pub sender: Uuid,
    pub journey: Option<Uuid>,
    pub video: Option<Uuid>,
    pub message: &'a str,
    pub at: OffsetDateTime,
}

/// Records `recommendation` for each of `recipients`; returns `(recipient, id)` for
/// those who did not have it from this sender yet (sending twice changes nothing).
pub async fn insert(
    conn: &mut PgConnection,
    recommendation: &NewRecommendation<'_>,
    recipients: &[Uuid],
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let ids: Vec<Uuid> = recipients.iter().map(|_| Uuid::now_v7()).collect();
    let rows = sqlx::query!(
        r#"
        insert into peer_recommendation (id, sender_id, recipient_id, journey_id, video_id, message, created_at, updated_at)
        select r.id, $3, r.recipient, $4, $5, $6, $7, $7
          from unnest($1::uuid[], $2::uuid[]) as r (id, recipient)
        on conflict do nothing
        returning recipient_id, id
        "#,
        &ids,
        recipients,
        recommendation.sender,
        recommendation.journey,
        recommendation.video,
        recommendation.message,
        recommendation.at,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.recipient_id, r.id)).collect())
}

/// Holds `sender`'s sending until the transaction ends, so that two requests at once
/// cannot both slip under the hourly limit.
pub async fn lock_sender(conn: &mut PgConnection, sender: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"select true as "locked!" from pg_advisory_xact_lock(hashtext('peer_recommendation'), hashtext($1::text))"#,
        sender.to_string(),
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

/// How many people `sender` recommended something to after `since`.
pub async fn sent_since(conn: &mut PgConnection, sender: Uuid, since: OffsetDateTime) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from peer_recommendation where sender_id = $1 and created_at > $2"#,
        sender,
        since,
    )
    .fetch_one(conn)
    .await
}

/// One item recommended to a person, with its state for them.
#[derive(Debug, Clone)]
pub struct ItemRow {
    /// The most recent recommendation of it.
    pub id: Uuid,
    pub journey_id: Option<Uuid>,
    pub video_id: Option<Uuid>,
    pub state: String,
    pub latest: OffsetDateTime,
}

/// Which of a person's recommended items to read.
pub enum Selection {
    /// Those in `state`, most recently recommended first, after the cursor.
    State {
        state: &'static str,
        after: Option<(OffsetDateTime, Uuid)>,
        limit: i64,
    },
    /// The item `recommendation` (any recommendation of it to them) is of.
    Of { recommendation: Uuid },
}

/// The items recommended to `recipient` that `selection` picks. An item's state is
/// `saved` when any of its recommendations is, else `inbox` when any is (a new
/// colleague's recommendation brings a dismissed item back), else `dismissed`.
pub async fn items(
    conn: &mut PgConnection,
    recipient: Uuid,
    selection: &Selection,
) -> Result<Vec<ItemRow>, sqlx::Error> {
    let (state, after, limit, of) = match selection {
        Selection::State { state, after, limit } => (Some(*state), *after, *limit, None),
        Selection::Of { recommendation } => (None, None, 1, Some(*recommendation)),
    };
    sqlx::query_as!(
        ItemRow,
        r#"
        with wanted as (
            select coalesce(journey_id, video_id) as item_id
              from peer_recommendation
             where id = $5 and recipient_id = $1
        ), mine as (
            select coalesce(r.journey_id, r.video_id) as item_id,
                   (array_agg(r.id order by r.created_at desc, r.id desc))[1] as id,
                   (array_agg(r.journey_id))[1] as journey_id,
                   (array_agg(r.video_id))[1] as video_id,
                   max(r.created_at) as latest,
                   case when bool_or(r.state = 'saved') then 'saved'
                        when bool_or(r.state = 'inbox') then 'inbox'
                        else 'dismissed' end as state
              from peer_recommendation r
             where r.recipient_id = $1
               and ($5::uuid is null or coalesce(r.journey_id, r.video_id) in (select item_id from wanted))
             group by 1
        )
        select id as "id!", journey_id, video_id, state as "state!", latest as "latest!"
          from mine
         where ($2::text is null or state = $2)
           and ($3::timestamptz is null or (latest, item_id) < ($3, $4))
         order by latest desc, item_id desc
         limit $6
        "#,
        recipient,
        state,
        after.map(|a| a.0),
        after.map(|a| a.1),
        of,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Who recommended what, for the items (by id) of one recipient, newest first.
pub struct SenderRow {
    pub item_id: Uuid,
    pub sender_id: Uuid,
    pub sender_name: String,
    pub message: String,
    pub created_at: OffsetDateTime,
}

pub async fn senders(conn: &mut PgConnection, recipient: Uuid, items: &[Uuid]) -> Result<Vec<SenderRow>, sqlx::Error> {
    sqlx::query_as!(
        SenderRow,
        r#"
        select coalesce(r.journey_id, r.video_id) as "item_id!", r.sender_id, u.name as sender_name,
               r.message, r.created_at
          from peer_recommendation r
          join app_user u on u.id = r.sender_id
         where r.recipient_id = $1 and coalesce(r.journey_id, r.video_id) = any($2)
         order by r.created_at desc, r.id desc
        "#,
        recipient,
        items,
    )
    .fetch_all(conn)
    .await
}

/// Sets the recipient's state of the item `recommendation` is of, on every
/// recommendation of it to them; answers the colleague who recommended it last.
pub async fn set_state(
    conn: &mut PgConnection,
    recipient: Uuid,
    item: Uuid,
    state: &str,
    at: OffsetDateTime,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        with changed as (
            update peer_recommendation set state = $3, updated_at = $4
             where recipient_id = $1 and coalesce(journey_id, video_id) = $2
            returning sender_id, created_at, id
        )
        select sender_id from changed order by created_at desc, id desc limit 1
        "#,
        recipient,
        item,
        state,
        at,
    )
    .fetch_optional(conn)
    .await
}
