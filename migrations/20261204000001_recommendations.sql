-- Peer recommendations and follows (capabilities/recommendations).

-- One colleague recommending one journey or video to another, with a message. The
-- recipient's `state` is per item: keeping, saving or dismissing what was recommended
-- changes every recommendation of that item to them at once.
create table peer_recommendation (
    id uuid primary key,
    sender_id uuid not null constraint peer_recommendation_sender_fk references app_user (id) on delete cascade,
    recipient_id uuid not null constraint peer_recommendation_recipient_fk references app_user (id) on delete cascade,
    journey_id uuid constraint peer_recommendation_journey_fk references journey (id) on delete cascade,
    video_id uuid constraint peer_recommendation_video_fk references video (id) on delete cascade,
    message text not null default '',
    state text not null default 'inbox' constraint peer_recommendation_state_check check (
        state in ('inbox', 'saved', 'dismissed')
    ),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint peer_recommendation_item_check check (num_nonnulls(journey_id, video_id) = 1),
    constraint peer_recommendation_self_check check (sender_id <> recipient_id)
);

-- recommending the same item to the same person twice is one recommendation
create unique index peer_recommendation_journey_key on peer_recommendation (sender_id, recipient_id, journey_id)
    where journey_id is not null;
create unique index peer_recommendation_video_key on peer_recommendation (sender_id, recipient_id, video_id)
    where video_id is not null;
-- a recipient's inbox, newest first; a sender's recent sending (the rate limit)
create index peer_recommendation_recipient_idx on peer_recommendation (recipient_id, state, created_at desc);
create index peer_recommendation_sender_idx on peer_recommendation (sender_id, created_at);
create index peer_recommendation_journey_idx on peer_recommendation (journey_id) where journey_id is not null;
create index peer_recommendation_video_idx on peer_recommendation (video_id) where video_id is not null;

-- A person following another to see what they publish.
create table person_follow (
    follower_id uuid not null constraint person_follow_follower_fk references app_user (id) on delete cascade,
    followee_id uuid not null constraint person_follow_followee_fk references app_user (id) on delete cascade,
    created_at timestamptz not null default now(),
    constraint person_follow_pkey primary key (follower_id, followee_id),
    constraint person_follow_self_check check (follower_id <> followee_id)
);

create index person_follow_followee_idx on person_follow (followee_id, created_at desc);

-- A peer recommendation shows on the recipient's list of assignments, with no due date.
alter table assignment drop constraint assignment_kind_check;
alter table assignment add constraint assignment_kind_check check (
    kind in ('required', 'recommended', 'peerRecommended')
);

alter table notification drop constraint notification_kind_check;
alter table notification add constraint notification_kind_check check (
    kind in ('video_ready', 'video_failed', 'video_approved', 'video_rejected', 'comment', 'answer', 'mention',
             'assignment', 'assignment_due_soon', 'assignment_overdue', 'journey_approved', 'journey_rejected',
             'recommendation', 'followed')
);
