-- Content requests, a knowledge marketplace (capabilities/requests): someone asks for
-- a video on a topic, colleagues upvote it, a contributor claims it and fulfils it
-- with a published video.

create table content_request (
    id uuid primary key,
    author_id uuid not null constraint content_request_author_fk references app_user (id) on delete cascade,
    title text not null,
    details text not null default '',
    skills text[] not null default '{}',
    state text not null default 'open' constraint content_request_state_check check (
        state in ('open', 'claimed', 'fulfilled', 'closed')
    ),
    -- kept with the vote rows in the same transaction: the ranking reads one column
    votes integer not null default 0 constraint content_request_votes_check check (votes >= 0),
    claimed_by uuid constraint content_request_claimer_fk references app_user (id) on delete set null,
    claimed_at timestamptz,
    video_id uuid constraint content_request_video_fk references video (id) on delete set null,
    fulfilled_by uuid constraint content_request_fulfiller_fk references app_user (id) on delete set null,
    fulfilled_at timestamptz,
    search tsvector not null default ''::tsvector,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint content_request_fulfilled_check check (state <> 'fulfilled' or fulfilled_at is not null)
);

-- English and German stems, and every word as written (prefix search), as for journeys
create function skillreel_content_request_search() returns trigger
language plpgsql as $$
begin
    new.search :=
        setweight(to_tsvector('english', new.title), 'A') ||
        setweight(to_tsvector('german', new.title), 'A') ||
        setweight(to_tsvector('simple', new.title), 'A') ||
        setweight(to_tsvector('simple', array_to_string(new.skills, ' ')), 'B') ||
        setweight(to_tsvector('english', new.details), 'C') ||
        setweight(to_tsvector('simple', new.details), 'C');
    return new;
end
$$;

create trigger content_request_search_update before insert or update of title, details, skills on content_request
    for each row execute function skillreel_content_request_search();

-- the two orders of a listing, per state; search; by skill; a person's own
create index content_request_votes_idx on content_request (state, votes desc, id desc);
create index content_request_recent_idx on content_request (state, created_at desc, id desc);
create index content_request_search_idx on content_request using gin (search);
create index content_request_skills_idx on content_request using gin (skills);
create index content_request_author_idx on content_request (author_id, created_at desc);

create table content_request_vote (
    request_id uuid not null constraint content_request_vote_request_fk references content_request (id) on delete cascade,
    user_id uuid not null constraint content_request_vote_user_fk references app_user (id) on delete cascade,
    created_at timestamptz not null,
    constraint content_request_vote_pkey primary key (request_id, user_id)
);

-- A fulfilled request earns its fulfiller reputation and a badge.
alter table reputation_entry drop constraint reputation_entry_merit_check;
alter table reputation_entry add constraint reputation_entry_merit_check check (
    merit in ('like_received', 'recommended', 'completed_by_other', 'answer_accepted', 'kudos', 'request_fulfilled')
);

alter table notification drop constraint notification_kind_check;
alter table notification add constraint notification_kind_check check (
    kind in ('video_ready', 'video_failed', 'video_approved', 'video_rejected', 'comment', 'answer', 'mention',
             'assignment', 'assignment_due_soon', 'assignment_overdue', 'journey_approved', 'journey_rejected',
             'recommendation', 'followed', 'badge', 'kudos', 'request_claimed', 'request_fulfilled')
);
