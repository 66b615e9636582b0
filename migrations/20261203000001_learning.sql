-- Learning journeys, assignments and progress (capabilities/learning).

-- A journey: ordered steps, each a video, published under the same rules as a video
-- (its owner's while a draft; `community` visibility restricts it to members).
create table journey (
    id uuid primary key,
    owner_id uuid not null constraint journey_owner_fk references app_user (id),
    title text not null,
    description text not null default '',
    skills text[] not null default '{}',
    status text not null default 'draft' constraint journey_status_check check (
        status in ('draft', 'pending_review', 'published', 'rejected')
    ),
    visibility text not null default 'org' constraint journey_visibility_check check (
        visibility in ('org', 'community', 'unlisted')
    ),
    community_id uuid constraint journey_community_fk references community (id) on delete set null,
    language text not null default 'en',
    review_reason text,
    published_at timestamptz,
    search tsvector not null default ''::tsvector,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create function skillreel_journey_search() returns trigger
language plpgsql as $$
begin
    new.search :=
        setweight(to_tsvector(skillreel_ts_config(new.language), new.title), 'A') ||
        setweight(to_tsvector('simple', new.title), 'A') ||
        setweight(to_tsvector(skillreel_ts_config(new.language), array_to_string(new.skills, ' ')), 'B') ||
        setweight(to_tsvector('simple', array_to_string(new.skills, ' ')), 'B') ||
        setweight(to_tsvector(skillreel_ts_config(new.language), new.description), 'C') ||
        setweight(to_tsvector('simple', new.description), 'C');
    return new;
end
$$;

create trigger journey_search_update before insert or update of title, description, skills, language on journey
    for each row execute function skillreel_journey_search();

-- the listing, newest first, per status; search; an owner's journeys; a review queue
create index journey_status_recent_idx on journey (status, (coalesce(published_at, created_at)) desc, id desc);
create index journey_search_idx on journey using gin (search);
create index journey_owner_idx on journey (owner_id, updated_at desc);
create index journey_skills_idx on journey using gin (skills);

create table journey_step (
    journey_id uuid not null constraint journey_step_journey_fk references journey (id) on delete cascade,
    position integer not null constraint journey_step_position_check check (position >= 1),
    video_id uuid not null constraint journey_step_video_fk references video (id) on delete cascade,
    note text,
    constraint journey_step_pkey primary key (journey_id, position),
    constraint journey_step_video_key unique (journey_id, video_id)
);

-- which journeys a video is a step of (completion checks, removal)
create index journey_step_video_idx on journey_step (video_id);

-- One person asked to complete one journey or one video. `reminded_at` and
-- `overdue_notified_at` make each reminder happen once, whichever replica sends it.
create table assignment (
    id uuid primary key,
    assignee_id uuid not null constraint assignment_assignee_fk references app_user (id) on delete cascade,
    journey_id uuid constraint assignment_journey_fk references journey (id) on delete cascade,
    video_id uuid constraint assignment_video_fk references video (id) on delete cascade,
    kind text not null constraint assignment_kind_check check (kind in ('required', 'recommended')),
    assigner_id uuid not null constraint assignment_assigner_fk references app_user (id),
    due_at timestamptz,
    reminded_at timestamptz,
    overdue_notified_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint assignment_item_check check (num_nonnulls(journey_id, video_id) = 1)
);

create unique index assignment_journey_key on assignment (assignee_id, journey_id) where journey_id is not null;
create unique index assignment_video_key on assignment (assignee_id, video_id) where video_id is not null;
create index assignment_assignee_idx on assignment (assignee_id);
create index assignment_journey_idx on assignment (journey_id) where journey_id is not null;
create index assignment_video_idx on assignment (video_id) where video_id is not null;
-- the reminder pass: due dates not yet reported overdue
create index assignment_due_idx on assignment (due_at) where due_at is not null and overdue_notified_at is null;

-- What a person watched of a video, over every device and session: the union of the
-- played intervals, so watching a part twice counts once.
create table video_progress (
    user_id uuid not null constraint video_progress_user_fk references app_user (id) on delete cascade,
    video_id uuid not null constraint video_progress_video_fk references video (id) on delete cascade,
    watched nummultirange not null default '{}',
    watched_seconds double precision not null default 0,
    completed_at timestamptz,
    updated_at timestamptz not null default now(),
    constraint video_progress_pkey primary key (user_id, video_id)
);

create index video_progress_video_idx on video_progress (video_id);

-- One playback session of one player (the player names it), judged heartbeat by
-- heartbeat against the server's clock.
create table watch_session (
    user_id uuid not null constraint watch_session_user_fk references app_user (id) on delete cascade,
    id uuid not null,
    video_id uuid not null constraint watch_session_video_fk references video (id) on delete cascade,
    sequence bigint not null,
    position double precision not null,
    playing boolean not null,
    rate double precision not null,
    played nummultirange not null default '{}',
    started_at timestamptz not null,
    last_at timestamptz not null,
    constraint watch_session_pkey primary key (user_id, id)
);

alter table notification drop constraint notification_kind_check;
alter table notification add constraint notification_kind_check check (
    kind in ('video_ready', 'video_failed', 'video_approved', 'video_rejected', 'comment', 'answer', 'mention',
             'assignment', 'assignment_due_soon', 'assignment_overdue', 'journey_approved', 'journey_rejected')
);
