-- The "for you" model (capabilities/recommendations/src/for_you): lists a background
-- pass precomputes, so that a request only reads and re-ranks.

-- Each video's nearest videos by who liked and completed both (item-to-item cosine).
create table video_neighbor (
    video_id uuid not null constraint video_neighbor_video_fk references video (id) on delete cascade,
    neighbor_id uuid not null constraint video_neighbor_neighbor_fk references video (id) on delete cascade,
    score real not null,
    constraint video_neighbor_pkey primary key (video_id, neighbor_id)
);

-- What is popular lately: in the organisation (team = ''), in each team, per skill (tag).
create table video_popular (
    kind text not null constraint video_popular_kind_check check (kind in ('org', 'team', 'skill')),
    key text not null,
    video_id uuid not null constraint video_popular_video_fk references video (id) on delete cascade,
    score real not null,
    constraint video_popular_pkey primary key (kind, key, video_id)
);

-- The pass's working set: each person's latest interactions with published videos
-- (likes and completions 1, colleagues' recommendations to them 0.5), rewritten by every
-- pass; nothing to keep across a crash.
create unlogged table recommender_interaction (
    user_id uuid not null,
    video_id uuid not null,
    w double precision not null,
    at timestamptz not null
);

-- What the pass built, and when.
create table recommender_model (
    id integer primary key constraint recommender_model_one check (id = 1),
    built_at timestamptz not null,
    interactions bigint not null,
    neighbors bigint not null,
    took_ms bigint not null
);

-- Videos a person said "not for me" in their feed.
create table for_you_dismissal (
    user_id uuid not null constraint for_you_dismissal_user_fk references app_user (id) on delete cascade,
    video_id uuid not null constraint for_you_dismissal_video_fk references video (id) on delete cascade,
    created_at timestamptz not null default now(),
    constraint for_you_dismissal_pkey primary key (user_id, video_id)
);

-- a person's latest likes and completions, newest first
create index video_like_user_recent_idx on video_like (user_id, created_at desc);
create index video_progress_user_completed_idx on video_progress (user_id, completed_at desc) where completed_at is not null;
-- new from someone you follow; fresh videos to explore
create index video_owner_published_idx on video (owner_id, published_at desc) where status = 'published';
