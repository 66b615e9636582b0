-- Reputation, kudos and badges (capabilities/recognition).

-- Every point a person earned or was denied, with why: the ledger the leaderboards sum
-- and a profile's history reads. `dedupe_key` names the act (a like of one video by one
-- person, one accepted answer, …), so replaying an event credits nothing twice.
create table reputation_entry (
    id uuid primary key,
    user_id uuid not null constraint reputation_entry_user_fk references app_user (id) on delete cascade,
    source_user_id uuid constraint reputation_entry_source_fk references app_user (id) on delete set null,
    merit text not null constraint reputation_entry_merit_check check (
        merit in ('like_received', 'recommended', 'completed_by_other', 'answer_accepted', 'kudos')
    ),
    -- what it was worth before damping, and what was credited
    base_points integer not null,
    points integer not null constraint reputation_entry_points_check check (points >= 0),
    reason text not null,
    video_id uuid constraint reputation_entry_video_fk references video (id) on delete set null,
    journey_id uuid constraint reputation_entry_journey_fk references journey (id) on delete set null,
    -- the item's community when it was earned: community leaderboards
    community_id uuid constraint reputation_entry_community_fk references community (id) on delete set null,
    dedupe_key text not null constraint reputation_entry_dedupe_key unique,
    occurred_at timestamptz not null
);

-- a profile's history; the leaderboards by period (and community); the pair's window
create index reputation_entry_user_idx on reputation_entry (user_id, occurred_at desc, id desc);
create index reputation_entry_recent_idx on reputation_entry (occurred_at, user_id);
create index reputation_entry_community_idx on reputation_entry (community_id, occurred_at) where community_id is not null;
create index reputation_entry_pair_idx on reputation_entry (source_user_id, user_id, occurred_at);

-- Kudos from a manager (or an admin), with their message.
create table kudos (
    id uuid primary key,
    giver_id uuid not null constraint kudos_giver_fk references app_user (id) on delete cascade,
    recipient_id uuid not null constraint kudos_recipient_fk references app_user (id) on delete cascade,
    message text not null,
    created_at timestamptz not null,
    constraint kudos_self_check check (giver_id <> recipient_id)
);

create index kudos_recipient_idx on kudos (recipient_id, created_at desc);

-- A badge, once per person (and per scope: a community and month for the monthly one).
create table badge_award (
    user_id uuid not null constraint badge_award_user_fk references app_user (id) on delete cascade,
    badge text not null,
    scope text not null default '',
    details jsonb not null default '{}',
    awarded_at timestamptz not null,
    constraint badge_award_pkey primary key (user_id, badge, scope)
);

-- Months whose top contributors have been awarded, so that each is awarded once.
create table recognition_month (
    month date primary key,
    closed_at timestamptz not null
);

alter table notification drop constraint notification_kind_check;
alter table notification add constraint notification_kind_check check (
    kind in ('video_ready', 'video_failed', 'video_approved', 'video_rejected', 'comment', 'answer', 'mention',
             'assignment', 'assignment_due_soon', 'assignment_overdue', 'journey_approved', 'journey_rejected',
             'recommendation', 'followed', 'badge', 'kudos')
);
