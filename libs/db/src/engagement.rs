//! Likes, views and flags: one row per person and video (the primary key makes them
//! idempotent), and the count on the video changed in the same transaction, so counts
//! stay exact however many requests race.

use skillreel_domain::{CommunityId, UserId, VideoId};
use sqlx::PgConnection;

/// A like or unlike's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LikeChange {
    /// The like count after.
    pub like_count: i64,
    /// False when the person had already liked (or not liked) it.
    pub changed: bool,
}

/// Likes `video` as `user`. Liking twice changes nothing.
pub async fn like(conn: &mut PgConnection, video: VideoId, user: UserId) -> Result<LikeChange, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        with added as (
            insert into video_like (video_id, user_id) values ($1, $2)
            on conflict do nothing
            returning video_id
        )
        update video set like_count = like_count + (select count(*) from added)
         where id = $1
        returning like_count, (select count(*) from added) as "added!"
        "#,
        video.as_uuid(),
        user.as_uuid(),
    )
    .fetch_one(conn)
    .await?;
    Ok(LikeChange {
        like_count: row.like_count,
        changed: row.added > 0,
    })
}

/// Takes `user`'s like back. Unliking twice changes nothing.
pub async fn unlike(conn: &mut PgConnection, video: VideoId, user: UserId) -> Result<LikeChange, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        with removed as (
            delete from video_like where video_id = $1 and user_id = $2
            returning video_id
        )
        update video set like_count = like_count - (select count(*) from removed)
         where id = $1
        returning like_count, (select count(*) from removed) as "removed!"
        "#,
        video.as_uuid(),
        user.as_uuid(),
    )
    .fetch_one(conn)
    .await?;
    Ok(LikeChange {
        like_count: row.like_count,
        changed: row.removed > 0,
    })
}

/// What a reader's view of any video depends on besides the video itself.
#[derive(Debug, Clone)]
pub struct ReaderState {
    pub liked: Vec<VideoId>,
    /// Each community the reader belongs to, and whether they moderate it.
    pub communities: Vec<(CommunityId, bool)>,
}

/// The videos `user` likes and the communities they belong to, in one query; `None`
/// when they like more than `max_likes` videos (too many to hold in memory per reader).
pub async fn reader_state(
    conn: &mut PgConnection,
    user: UserId,
    max_likes: i64,
) -> Result<Option<ReaderState>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select array(select video_id from video_like where user_id = $1 limit $2::bigint + 1) as "liked!",
               m.communities as "communities!", m.moderates as "moderates!"
          from (select coalesce(array_agg(community_id), '{}') as communities,
                       coalesce(array_agg(role = 'moderator'), '{}') as moderates
                  from community_member where user_id = $1) m
        "#,
        user.as_uuid(),
        max_likes,
    )
    .fetch_one(conn)
    .await?;
    if row.liked.len() as i64 > max_likes {
        return Ok(None);
    }
    Ok(Some(ReaderState {
        liked: row.liked.into_iter().map(VideoId::from_uuid).collect(),
        communities: row
            .communities
            .into_iter()
            .map(CommunityId::from_uuid)
            .zip(row.moderates)
            .collect(),
    }))
}

/// Counts `user`'s view of `video` (once ever); returns whether this one counted and
/// the view count after.
pub async fn record_view(conn: &mut PgConnection, video: VideoId, user: UserId) -> Result<(bool, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"
        with added as (
            insert into video_view (video_id, user_id) values ($1, $2)
            on conflict do nothing
            returning video_id
        )
        update video set view_count = view_count + (select count(*) from added)
         where id = $1
        returning view_count, (select count(*) from added) as "counted!"
        "#,
        video.as_uuid(),
        user.as_uuid(),
    )
    .fetch_one(conn)
    .await?;
    Ok((row.counted > 0, row.view_count))
}

/// Flags `video` as `user` (once); returns the flag count after.
pub async fn flag(conn: &mut PgConnection, video: VideoId, user: UserId, reason: &str) -> Result<i32, sqlx::Error> {
    let count = sqlx::query_scalar!(
        r#"
        with added as (
            insert into video_flag (video_id, user_id, reason) values ($1, $2, $3)
            on conflict do nothing
            returning video_id
        )
        update video set flag_count = flag_count + (select count(*) from added)::int
         where id = $1
        returning flag_count
        "#,
        video.as_uuid(),
        user.as_uuid(),
        reason,
    )
    .fetch_one(conn)
    .await?;
    Ok(count)
}

/// Folds every pending like, view and completion into the popular and trending scores
/// (`video_score`): one update per video, however many engagements it had. Returns the
/// videos whose scores moved; 0 when another replica is folding.
pub async fn fold_scores(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    let moved = sqlx::query_scalar!(r#"select skillreel_fold_video_scores() as "moved!""#)
        .fetch_one(conn)
        .await?;
    Ok(moved)
}
