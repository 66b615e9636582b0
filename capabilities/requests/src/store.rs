//! The capability's SQL: requests, their votes, and views of them.

use std::collections::HashMap;

use skillreel_auth::AuthUser;
use skillreel_domain::VideoId;
use skillreel_learning::items::{self, Item};
use skillreel_web::ApiError;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::view::{PersonRef, RequestState, RequestView, VideoRef};

/// A request, locked for the rest of the transaction.
pub struct Locked {
    pub id: Uuid,
    pub author: Uuid,
    pub title: String,
    pub state: RequestState,
    pub claimed_by: Option<Uuid>,
}

/// The request `raw_id` names, locked (404 when there is none).
pub async fn lock(conn: &mut PgConnection, raw_id: &str) -> Result<Locked, ApiError> {
    let id: Uuid = raw_id.parse().map_err(|_| ApiError::not_found("request"))?;
    let row = sqlx::query!(
        "select id, author_id, title, state, claimed_by from content_request where id = $1 for update",
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| ApiError::not_found("request"))?;
    Ok(Locked {
        id: row.id,
        author: row.author_id,
        title: row.title,
        state: RequestState::parse(&row.state)
            .ok_or_else(|| ApiError::internal(format!("request state {}", row.state)))?,
        claimed_by: row.claimed_by,
    })
}

/// A new request's fields, already checked.
pub struct NewRequest<'a> {
    pub author: Uuid,
    pub title: &'a str,
    pub details: &'a str,
    pub skills: &'a [String],
    pub at: OffsetDateTime,
}

/// Records a request with its author's vote.
pub async fn insert(conn: &mut PgConnection, new: &NewRequest<'_>) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query!(
        r#"
        with request as (
            insert into content_request (id, author_id, title, details, skills, votes, created_at, updated_at)
            values ($1, $2, $3, $4, $5, 1, $6, $6)
            returning id
        )
        insert into content_request_vote (request_id, user_id, created_at)
        select id, $2, $6 from request
        "#,
        id,
        new.author,
        new.title,
        new.details,
        new.skills,
        new.at,
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Records `user`'s vote (once) and keeps the count with it.
pub async fn vote(conn: &mut PgConnection, request: Uuid, user: Uuid, at: OffsetDateTime) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        with added as (
            insert into content_request_vote (request_id, user_id, created_at) values ($1, $2, $3)
            on conflict do nothing
            returning 1
        )
        update content_request set votes = votes + (select count(*) from added)::int4 where id = $1
        "#,
        request,
        user,
        at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes `user`'s vote back, if they had one.
pub async fn unvote(conn: &mut PgConnection, request: Uuid, user: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        with removed as (
            delete from content_request_vote where request_id = $1 and user_id = $2 returning 1
        )
        update content_request set votes = votes - (select count(*) from removed)::int4 where id = $1
        "#,
        request,
        user,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Who wants request `id` to be told what happens to it: its author and its voters.
pub async fn audience(conn: &mut PgConnection, id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        select author_id as "id!" from content_request where id = $1
        union
        select user_id from content_request_vote where request_id = $1
        "#,
        id
    )
    .fetch_all(conn)
    .await
}

/// What a listing asks for.
pub struct ListQuery<'a> {
    /// One state, or `None` for those still wanted (open or claimed).
    pub state: Option<RequestState>,
    /// Search words (letters and digits only), when searching.
    pub words: Option<&'a str>,
    pub skill: Option<&'a str>,
    pub author: Option<Uuid>,
    /// The last row of the previous page: its sort key and id.
    pub after: Option<(f64, Uuid)>,
    pub limit: i64,
}

/// A listed request: its id and sort key.
struct Ranked {
    id: Uuid,
    sort_key: f64,
}

/// Lists request ids with their sort key, highest first. `$key` is a literal, so each
/// order gets its own plan (and its own index).
macro_rules! request_page {
    ($key:literal, $($arg:expr),* $(,)?) => {
        sqlx::query_as!(
            Ranked,
            r#"
            with candidates as (
                select r.id, "# + $key + r#" as sort_key
                  from content_request r
                 where (case when $1::text is null then r.state in ('open', 'claimed') else r.state = $1 end)
                   and ($2::text is null or r.search @@ (to_tsquery('simple', regexp_replace(trim($2), '\s+', ':* & ', 'g') || ':*') || plainto_tsquery('english', $2) || plainto_tsquery('german', $2)))
                   and ($3::text is null or r.skills @> array[$3::text])
                   and ($4::uuid is null or r.author_id = $4)
            )
            select id as "id!", sort_key as "sort_key!"
              from candidates
             where ($5::float8 is null or (sort_key, id) < ($5, $6::uuid))
             order by sort_key desc, id desc
             limit $7
            "#,
            $($arg),*
        )
    };
}

/// The page of requests `q` asks for, most votes first or newest first.
pub async fn list(conn: &mut PgConnection, q: &ListQuery<'_>, by_votes: bool) -> Result<Vec<(Uuid, f64)>, sqlx::Error> {
    let state = q.state.map(RequestState::as_str);
    let (after_key, after_id) = (q.after.map(|a| a.0), q.after.map(|a| a.1));
    let rows = if by_votes {
        request_page!(
            "r.votes::float8",
            state,
            q.words,
            q.skill,
            q.author,
            after_key,
            after_id,
            q.limit
        )
        .fetch_all(conn)
        .await?
    } else {
        request_page!(
            "extract(epoch from r.created_at)::float8",
            state,
            q.words,
            q.skill,
            q.author,
            after_key,
            after_id,
            q.limit
        )
        .fetch_all(conn)
        .await?
    };
    Ok(rows.into_iter().map(|r| (r.id, r.sort_key)).collect())
}

/// The requests `ids` as `viewer` sees them, in that order (the fulfilling video only
/// when they may see it).
pub async fn views(conn: &mut PgConnection, viewer: &AuthUser, ids: &[Uuid]) -> Result<Vec<RequestView>, ApiError> {
    let rows = sqlx::query!(
        r#"
        select r.id, r.title, r.details, r.skills, r.state, r.votes, r.claimed_at, r.fulfilled_at,
               r.video_id, r.created_at, r.updated_at,
               a.id as author_id, a.name as author_name,
               c.id as "claimer_id?", c.name as "claimer_name?",
               f.id as "fulfiller_id?", f.name as "fulfiller_name?",
               exists (select 1 from content_request_vote w where w.request_id = r.id and w.user_id = $2) as "voted!"
          from content_request r
          join app_user a on a.id = r.author_id
          left join app_user c on c.id = r.claimed_by
          left join app_user f on f.id = r.fulfilled_by
         where r.id = any($1)
        "#,
        ids,
        viewer.id.as_uuid(),
    )
    .fetch_all(&mut *conn)
    .await?;
    let videos: Vec<Item> = rows
        .iter()
        .filter_map(|r| r.video_id)
        .map(|v| Item::Video(VideoId::from_uuid(v)))
        .collect();
    let visible = items::visible_among(conn, viewer, &videos).await?;
    let person = |id: Option<Uuid>, name: Option<String>| id.zip(name).map(|(id, name)| PersonRef { id, name });
    let mut by_id: HashMap<Uuid, RequestView> = HashMap::with_capacity(rows.len());
    for r in rows {
        let video = r
            .video_id
            .and_then(|v| visible.get(&Item::Video(VideoId::from_uuid(v))))
            .map(|v| VideoRef {
                id: v.item.id(),
                title: v.title.clone(),
            });
        let view = RequestView {
            id: r.id,
            title: r.title,
            details: r.details,
            skills: r.skills,
            state: RequestState::parse(&r.state).unwrap_or(RequestState::Closed),
            votes: r.votes,
            voted: r.voted,
            author: PersonRef {
                id: r.author_id,
                name: r.author_name,
            },
            claimed_by: person(r.claimer_id, r.claimer_name),
            claimed_at: r.claimed_at,
            fulfilled_by: person(r.fulfiller_id, r.fulfiller_name),
            video,
            fulfilled_at: r.fulfilled_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        };
        by_id.insert(view.id, view);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The request `id` as `viewer` sees it.
pub async fn view(conn: &mut PgConnection, viewer: &AuthUser, id: Uuid) -> Result<RequestView, ApiError> {
    views(conn, viewer, &[id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("request"))
}
