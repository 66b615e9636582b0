//! Watching in PostgreSQL: each player session's last heartbeat, and each person's
//! watched intervals per video (a `nummultirange`, so the union over devices and
//! sessions is PostgreSQL's to keep: a part watched twice counts once).

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// A session's last accepted heartbeat.
#[derive(Debug, Clone)]
pub struct Session {
    pub video_id: Uuid,
    pub sequence: i64,
    pub position: f64,
    pub playing: bool,
    pub rate: f64,
    pub last_at: OffsetDateTime,
}

/// The session, locked until the transaction ends (two heartbeats of one session are
/// judged one after the other).
pub async fn session_for_update(
    conn: &mut PgConnection,
    user: Uuid,
    session: Uuid,
) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query_as!(
        Session,
        r#"
        select video_id, sequence, position, playing, rate, last_at
          from watch_session
         where user_id = $1 and id = $2
           for update
        "#,
        user,
        session,
    )
    .fetch_optional(conn)
    .await
}

/// A heartbeat as stored.
#[derive(Debug, Clone)]
pub struct Beat {
    pub sequence: i64,
    pub position: f64,
    pub playing: bool,
    pub rate: f64,
    /// The player closes the session with it.
    pub ended: bool,
}

/// Opens a session with its first heartbeat; `false` when another request opened it
/// first.
pub async fn start_session(
    conn: &mut PgConnection,
    user: Uuid,
    session: Uuid,
    video: Uuid,
    beat: &Beat,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        insert into watch_session (user_id, id, video_id, sequence, position, playing, rate, started_at, last_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $8)
        on conflict do nothing
        "#,
        user,
        session,
        video,
        beat.sequence,
        beat.position,
        beat.playing,
        beat.rate,
        now,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the session's new heartbeat and credits `played` to what `user` watched of
/// `video`, in one statement; returns the session's played segments as the xAPI Video
/// Profile writes them (`0[.]12.5[,]20[.]30`) and where the person now stands.
#[allow(clippy::too_many_arguments)]
pub async fn advance(
    conn: &mut PgConnection,
    user: Uuid,
    session: Uuid,
    video: Uuid,
    beat: &Beat,
    played: Option<(f64, f64)>,
    now: OffsetDateTime,
) -> Result<(String, Watched), sqlx::Error> {
    let row = sqlx::query!(
        r#"
        with session as (
            update watch_session
               set sequence = $3, position = $4, playing = $5, rate = $6, last_at = $7,
                   played = case when $8::float8 is null then played
                                 else played + nummultirange(numrange($8::float8::numeric, $9::float8::numeric)) end
             where user_id = $1 and id = $2
            returning played
        ), credited as (
            insert into video_progress as p (user_id, video_id, watched, watched_seconds, updated_at)
            select $1, $10, nummultirange(numrange($8::float8::numeric, $9::float8::numeric)), $9 - $8, $7
             where $8::float8 is not null
            on conflict (user_id, video_id) do update
               set watched = p.watched + excluded.watched,
                   watched_seconds = (select coalesce(sum(upper(r) - lower(r)), 0)::float8
                                        from unnest(p.watched + excluded.watched) r),
                   updated_at = excluded.updated_at
            returning watched_seconds, completed_at
        ), before as (
            select watched_seconds, completed_at from video_progress where user_id = $1 and video_id = $10
        )
        select coalesce((select string_agg(lower(r)::float8::text || '[.]' || upper(r)::float8::text, '[,]' order by lower(r))
                           from session, unnest(session.played) r), '') as "segments!",
               coalesce((select watched_seconds from credited), (select watched_seconds from before), 0) as "watched_seconds!",
               case when exists (select 1 from credited) then (select completed_at from credited)
                    else (select completed_at from before) end as completed_at
        "#,
        user,
        session,
        beat.sequence,
        beat.position,
        beat.playing,
        beat.rate,
        now,
        played.map(|p| p.0),
        played.map(|p| p.1),
        video,
    )
    .fetch_one(conn)
    .await?;
    Ok((
        row.segments,
        Watched {
            seconds: row.watched_seconds,
            completed_at: row.completed_at,
        },
    ))
}

/// Where a person stands on a video.
#[derive(Debug, Clone, Copy, Default)]
pub struct Watched {
    pub seconds: f64,
    pub completed_at: Option<OffsetDateTime>,
}

/// Marks the video completed for `user` if it is not yet; `true` when this call did.
pub async fn complete(
    conn: &mut PgConnection,
    user: Uuid,
    video: Uuid,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update video_progress set completed_at = $3 where user_id = $1 and video_id = $2 and completed_at is null",
        user,
        video,
        now,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn watched(conn: &mut PgConnection, user: Uuid, video: Uuid) -> Result<Watched, sqlx::Error> {
    Ok(sqlx::query!(
        "select watched_seconds, completed_at from video_progress where user_id = $1 and video_id = $2",
        user,
        video,
    )
    .fetch_optional(conn)
    .await?
    .map(|r| Watched {
        seconds: r.watched_seconds,
        completed_at: r.completed_at,
    })
    .unwrap_or_default())
}

/// The published journeys with `video` as a step of which `user` has now completed
/// every step they may watch. Availability is the same rule as in
/// `assignments::store::rows`.
pub async fn journeys_completed_with(
    conn: &mut PgConnection,
    user: Uuid,
    video: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        select j.id
          from journey_step s
          join journey j on j.id = s.journey_id
         where s.video_id = $2
           and j.status = 'published'
           and not exists (
               select 1
                 from journey_step s2
                 join video v on v.id = s2.video_id
                 left join video_progress p on p.user_id = $1 and p.video_id = v.id
                where s2.journey_id = j.id
                  and p.completed_at is null
                  and v.status = 'published'
                  and (v.visibility <> 'community'
                       or v.owner_id = $1
                       or exists (select 1 from community_member m
                                   where m.community_id = v.community_id and m.user_id = $1)))
        "#,
        user,
        video,
    )
    .fetch_all(conn)
    .await
}

/// What `user` watched of each of `videos`.
pub async fn watched_many(
    conn: &mut PgConnection,
    user: Uuid,
    videos: &[Uuid],
) -> Result<Vec<(Uuid, Watched)>, sqlx::Error> {
    Ok(sqlx::query!(
        "select video_id, watched_seconds, completed_at from video_progress where user_id = $1 and video_id = any($2)",
        user,
        videos,
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|r| {
        (
            r.video_id,
            Watched {
                seconds: r.watched_seconds,
                completed_at: r.completed_at,
            },
        )
    })
    .collect())
}
