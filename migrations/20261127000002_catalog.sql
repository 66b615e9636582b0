-- communities of practice: members, moderators and how a video gets published there
create table community (
    id uuid primary key,
    name text not null,
    description text not null default '',
    approval_policy text not null default 'none' constraint community_policy_check check (
        approval_policy in ('none', 'moderator', 'manager')
    ),
    created_by uuid not null constraint community_creator_fk references app_user (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create unique index community_name_key on community (lower(name));

create table community_member (
    community_id uuid not null constraint community_member_community_fk references community (id) on delete cascade,
    user_id uuid not null constraint community_member_user_fk references app_user (id) on delete cascade,
    role text not null default 'member' constraint community_member_role_check check (role in ('member', 'moderator')),
    joined_at timestamptz not null default now(),
    constraint community_member_pkey primary key (community_id, user_id)
);

create index community_member_user_idx on community_member (user_id);

alter table video
    add column community_id uuid constraint video_community_fk references community (id) on delete set null,
    add column visibility text not null default 'org' constraint video_visibility_check check (
        visibility in ('org', 'community', 'unlisted')
    ),
    -- ISO 639-1 code; chooses the text search configuration
    add column language text not null default 'en',
    add column published_at timestamptz,
    -- why a reviewer rejected it, for the author
    add column review_reason text,
    add column like_count bigint not null default 0,
    add column view_count bigint not null default 0,
    add column flag_count integer not null default 0,
    add column search tsvector not null default ''::tsvector;

-- The text search configuration for a language code; 'simple' (no stemming) otherwise.
create function skillreel_ts_config(language text) returns regconfig
language sql immutable parallel safe as $$
    select case language
        when 'en' then 'english' when 'de' then 'german' when 'fr' then 'french'
        when 'es' then 'spanish' when 'it' then 'italian' when 'nl' then 'dutch'
        when 'pt' then 'portuguese' when 'sv' then 'swedish' when 'da' then 'danish'
        when 'fi' then 'finnish' when 'no' then 'norwegian' when 'ru' then 'russian'
        else 'simple' end::regconfig
$$;

-- Title weighs most, then tags, then description; each word also indexed unstemmed
-- ('simple') so a search in another language than the video's still finds it.
create function skillreel_video_search() returns trigger
language plpgsql as $$
begin
    new.search :=
        setweight(to_tsvector(skillreel_ts_config(new.language), new.title), 'A') ||
        setweight(to_tsvector('simple', new.title), 'A') ||
        setweight(to_tsvector(skillreel_ts_config(new.language), array_to_string(new.tags, ' ')), 'B') ||
        setweight(to_tsvector('simple', array_to_string(new.tags, ' ')), 'B') ||
        setweight(to_tsvector(skillreel_ts_config(new.language), new.description), 'C') ||
        setweight(to_tsvector('simple', new.description), 'C');
    return new;
end
$$;

create trigger video_search_update before insert or update of title, description, tags, language on video
    for each row execute function skillreel_video_search();

update video set title = title;

create index video_search_idx on video using gin (search);
-- the feed: newest first within a status, walked in order and stopped after a page
create index video_status_recent_idx on video (status, (coalesce(published_at, created_at)) desc, id desc);
create index video_community_idx on video (community_id, published_at desc) where status = 'published';
create index video_owner_status_idx on video (owner_id, status);
create index video_review_idx on video (community_id, updated_at) where status = 'pending_review';

-- one like per person and video; the count on the video is kept in the same statement
create table video_like (
    video_id uuid not null constraint video_like_video_fk references video (id) on delete cascade,
    user_id uuid not null constraint video_like_user_fk references app_user (id) on delete cascade,
    created_at timestamptz not null default now(),
    constraint video_like_pkey primary key (video_id, user_id)
);

create index video_like_user_idx on video_like (user_id);

-- a view counts once per person and video, after 10 s watched
create table video_view (
    video_id uuid not null constraint video_view_video_fk references video (id) on delete cascade,
    user_id uuid not null constraint video_view_user_fk references app_user (id) on delete cascade,
    created_at timestamptz not null default now(),
    constraint video_view_pkey primary key (video_id, user_id)
);

create table video_flag (
    video_id uuid not null constraint video_flag_video_fk references video (id) on delete cascade,
    user_id uuid not null constraint video_flag_user_fk references app_user (id) on delete cascade,
    reason text not null,
    created_at timestamptz not null default now(),
    constraint video_flag_pkey primary key (video_id, user_id)
);

-- threaded comments; a comment may be a question, with one accepted answer among its replies
create table comment (
    id uuid primary key,
    video_id uuid not null constraint comment_video_fk references video (id) on delete cascade,
    author_id uuid not null constraint comment_author_fk references app_user (id),
    -- replies hang off a top-level comment (the thread)
    parent_id uuid constraint comment_parent_fk references comment (id) on delete cascade,
    body text not null,
    is_question boolean not null default false,
    accepted_answer_id uuid constraint comment_answer_fk references comment (id) on delete set null,
    status text not null default 'visible' constraint comment_status_check check (
        status in ('visible', 'deleted', 'removed')
    ),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index comment_video_idx on comment (video_id, created_at, id);
create index comment_parent_idx on comment (parent_id) where parent_id is not null;

-- captions (WebVTT) per video and language; their text is searchable
create table caption (
    video_id uuid not null constraint caption_video_fk references video (id) on delete cascade,
    language text not null,
    -- the cue text alone, for search
    text text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint caption_pkey primary key (video_id, language)
);

-- captions weigh least; re-run by touching `language` after a caption changes
create or replace function skillreel_video_search() returns trigger
language plpgsql as $$
declare
    spoken text := coalesce((select string_agg(c.text, ' ') from caption c where c.video_id = new.id), '');
begin
    new.search :=
        setweight(to_tsvector(skillreel_ts_config(new.language), new.title), 'A') ||
        setweight(to_tsvector('simple', new.title), 'A') ||
        setweight(to_tsvector(skillreel_ts_config(new.language), array_to_string(new.tags, ' ')), 'B') ||
        setweight(to_tsvector('simple', array_to_string(new.tags, ' ')), 'B') ||
        setweight(to_tsvector(skillreel_ts_config(new.language), new.description), 'C') ||
        setweight(to_tsvector('simple', new.description), 'C') ||
        setweight(to_tsvector(skillreel_ts_config(new.language), spoken), 'D');
    return new;
end
$$;

-- outbound webhooks (Standard Webhooks signatures), fed from a transactional outbox
create table webhook (
    id uuid primary key,
    url text not null,
    -- `whsec_` + base64 of the signing key
    secret text not null,
    -- notification kinds to send; empty means all
    events text[] not null default '{}',
    created_by uuid constraint webhook_creator_fk references app_user (id) on delete set null,
    created_at timestamptz not null default now()
);

create table webhook_delivery (
    -- sent as `webhook-id`: receivers deduplicate on it
    id uuid primary key,
    webhook_id uuid not null constraint webhook_delivery_webhook_fk references webhook (id) on delete cascade,
    event text not null,
    payload jsonb not null,
    status text not null default 'pending' constraint webhook_delivery_status_check check (
        status in ('pending', 'delivered', 'failed')
    ),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    -- a sender holds the delivery until then
    locked_until timestamptz,
    last_error text,
    created_at timestamptz not null default now(),
    delivered_at timestamptz
);

create index webhook_delivery_due_idx on webhook_delivery (next_attempt_at) where status = 'pending';
create index webhook_delivery_webhook_idx on webhook_delivery (webhook_id, created_at desc);
