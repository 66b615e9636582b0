-- A person's latest likes and completions, newest first, with the video beside each:
-- "for you" reads its history (and what to leave out) from the index alone, not from
-- one table page per like.
drop index video_like_user_recent_idx;
create index video_like_user_recent_idx on video_like (user_id, created_at desc) include (video_id);
drop index video_progress_user_completed_idx;
create index video_progress_user_completed_idx on video_progress (user_id, completed_at desc) include (video_id)
    where completed_at is not null;
