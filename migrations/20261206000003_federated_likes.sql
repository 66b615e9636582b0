-- Likes across instances: partners' people liking our federated videos (counted in
-- video.like_count), and our people liking partners' videos (sent to the origin).

create table federation_like (
    video_id uuid not null constraint federation_like_video_fk references video (id) on delete cascade,
    -- the remote person, as their instance names them
    actor text not null,
    activity_id text not null,
    created_at timestamptz not null default now(),
    constraint federation_like_pkey primary key (video_id, actor)
);

create table remote_video_like (
    remote_video_id uuid not null constraint remote_video_like_video_fk references remote_video (id) on delete cascade,
    user_id uuid not null constraint remote_video_like_user_fk references app_user (id) on delete cascade,
    -- the Like sent, which an Undo names
    activity_id text not null,
    created_at timestamptz not null default now(),
    constraint remote_video_like_pkey primary key (remote_video_id, user_id)
);
