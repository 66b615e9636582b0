//! Publishing under a community's approval policy: submission, review, flags.

use super::*;

/// A ready (or rejected, then edited) video goes out: `published` at once or
/// `pending_review`, as its community's policy says. False when it is in no state to.
pub async fn submit(
    conn: &mut PgConnection,
    id: VideoId,
    community: Option<CommunityId>,
    visibility: Visibility,
    to: VideoStatus,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video
           set status = $4, community_id = $2, visibility = $3, review_reason = null,
               published_at = case when $4 = 'published' then now() else null end, updated_at = now()
         where id = $1 and status in ('ready', 'rejected')
        "#,
        id.as_uuid(),
        community.map(|c| c.as_uuid()),
        visibility.as_str(),
        to.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A reviewer's decision on a `pending_review` video. Approval publishes it (keeping
/// its first publication date) and clears its flags; rejection records why.
pub async fn review(
    conn: &mut PgConnection,
    id: VideoId,
    approve: bool,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video
           set status = case when $2 then 'published' else 'rejected' end,
               published_at = case when $2 then coalesce(published_at, now()) else published_at end,
               review_reason = case when $2 then null else $3 end,
               flag_count = case when $2 then 0 else flag_count end,
               updated_at = now()
         where id = $1 and status = 'pending_review'
        "#,
        id.as_uuid(),
        approve,
        reason,
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 && approve {
        sqlx::query!("delete from video_flag where video_id = $1", id.as_uuid())
            .execute(conn)
            .await?;
    }
    Ok(done.rows_affected() == 1)
}

/// A published video flagged by `threshold` people goes back to review.
pub async fn recheck_flags(conn: &mut PgConnection, id: VideoId, threshold: i32) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video set status = 'pending_review', updated_at = now()
         where id = $1 and status = 'published' and flag_count >= $2
        "#,
        id.as_uuid(),
        threshold,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The review queue of someone: what waits in the communities they moderate, what
/// their reports wrote under the `manager` policy (or outside any community), and
/// everything for admins and org-wide moderators. Oldest first.
pub async fn review_queue(
    conn: &mut PgConnection,
    reviewer: UserId,
    reviewer_subject: &str,
    everything: bool,
    limit: i64,
) -> Result<Vec<VideoRecord>, VideoQueryError> {
    let rows = select_videos!(
        r#"
        where v.status = 'pending_review'
          and v.owner_id <> $1
          and ($3
               or v.community_id in (select m.community_id from community_member m
                                      where m.user_id = $1 and m.role = 'moderator')
               or (v.owner_manager_subject = $2 and (v.community_id is null or exists(
                   select 1 from community c where c.id = v.community_id and c.approval_policy = 'manager'))))
        order by v.updated_at, v.id
        limit $4
        "#,
        reviewer.as_uuid(),
        reviewer_subject,
        everything,
        limit,
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(VideoRecord::try_from).collect()
}
