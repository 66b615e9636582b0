-- how far a transcode has come, and how long it took to become watchable
alter table job
    add column progress real not null default 0,
    add column time_to_playable_ms bigint,
    add column time_to_complete_ms bigint;

alter table video
    add column processing_progress real,
    -- set once the first segments of every rendition are in storage: the author can
    -- watch while the rest of the ladder is made
    add column playable_at timestamptz,
    add column time_to_playable_ms bigint,
    add column time_to_complete_ms bigint,
    -- WebVTT index of the storyboard sprite, for scrubbing previews
    add column storyboard_key text;

-- a person's inbox: what happened to their videos and conversations
create table notification (
    id uuid primary key,
    user_id uuid not null constraint notification_user_fk references app_user (id) on delete cascade,
    kind text not null constraint notification_kind_check check (
        kind in ('video_ready', 'video_failed', 'video_approved', 'video_rejected', 'comment', 'answer', 'mention')
    ),
    video_id uuid constraint notification_video_fk references video (id) on delete cascade,
    -- what the inbox shows without another lookup (title, reason, ...)
    payload jsonb not null default '{}',
    read_at timestamptz,
    created_at timestamptz not null default now()
);

create index notification_inbox_idx on notification (user_id, created_at desc, id desc);
create index notification_unread_idx on notification (user_id) where read_at is null;
