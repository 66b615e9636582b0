-- people, provisioned just-in-time from verified tokens
create table app_user (
    id uuid primary key,
    subject text not null,
    name text not null,
    email text,
    roles text[] not null default '{employee}',
    manager_subject text,
    team text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint app_user_subject_key unique (subject)
);

create index app_user_manager_idx on app_user (manager_subject);
create index app_user_team_idx on app_user (team);

create table video (
    id uuid primary key,
    owner_id uuid not null constraint video_owner_fk references app_user (id),
    title text not null,
    description text not null default '',
    tags text[] not null default '{}',
    status text not null constraint video_status_check check (
        status in ('uploading', 'processing', 'ready', 'pending_review', 'published', 'rejected', 'failed', 'removed')
    ),
    failure_reason text,
    source_key text,
    source_size bigint,
    source_filename text,
    duration_ms bigint,
    width integer,
    height integer,
    -- storage key of the master playlist and of the poster
    hls_key text,
    thumbnail_key text,
    renditions jsonb not null default '[]',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- "my videos, newest first" and "what others may see, newest first"
create index video_owner_recent_idx on video (owner_id, created_at desc, id desc);
create index video_visible_recent_idx on video (created_at desc, id desc)
    where status in ('ready', 'published');

-- the work queue: claimed with `for update skip locked`, held by a lease with heartbeat
create table job (
    id uuid primary key,
    queue text not null,
    payload jsonb not null,
    status text not null default 'queued' constraint job_status_check check (
        status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')
    ),
    attempts integer not null default 0,
    max_attempts integer not null default 5 constraint job_max_attempts_check check (max_attempts > 0),
    run_at timestamptz not null default now(),
    lease_owner text,
    lease_expires_at timestamptz,
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    finished_at timestamptz
);

create index job_ready_idx on job (queue, run_at) where status = 'queued';
create index job_lease_idx on job (queue, lease_expires_at) where status = 'running';
create index job_video_idx on job ((payload ->> 'video_id'));
