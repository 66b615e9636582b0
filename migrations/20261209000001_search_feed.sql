-- The search change feed: every change to what video search sees, in commit order, for
-- the search index each catalog replica keeps (libs/search, docs/ARCHITECTURE.md
-- "Search").
--
-- The database writes it, not the code paths: a video changes what search sees when
-- its author edits it, publishes or deletes it, adds captions, when review approves
-- it, when moderation removes it, when a partner instance updates its copy, and a
-- missed path would leave the index wrong until a rebuild. A row names only the video;
-- the replica reads the video itself (PostgreSQL stays the truth), so replaying a row
-- twice does no harm.
--
-- Positions are taken at commit under a lock, as for domain events: a replica that has
-- applied position N never later finds a smaller one committed behind it.

create sequence search_change_position_seq;

create table search_change (
    id bigint generated always as identity primary key,
    -- Set at commit; null only inside the inserting transaction.
    position bigint unique,
    video_id uuid not null,
    changed_at timestamptz not null default now()
);

create function skillreel_search_change_position() returns trigger
language plpgsql as $$
begin
    perform pg_advisory_xact_lock(7305286158431047682);
    update search_change set position = nextval('search_change_position_seq') where id = new.id;
    perform pg_notify('skillreel_search', '');
    return null;
end;
$$;

create constraint trigger search_change_position
    after insert on search_change
    deferrable initially deferred
    for each row execute function skillreel_search_change_position();

create function skillreel_search_changed() returns trigger
language plpgsql as $$
begin
    insert into search_change (video_id) values (coalesce(new.id, old.id));
    return null;
end;
$$;

-- Only published videos are in the index: a change matters when the video is
-- published before or after it. `language` is also what a caption change touches (to
-- recompute the video's search text).
create trigger video_search_inserted after insert on video
    for each row when (new.status = 'published') execute function skillreel_search_changed();
create trigger video_search_updated
    after update of title, description, tags, language, status, visibility, community_id, owner_id,
                    published_at, duration_ms on video
    for each row when (old.status = 'published' or new.status = 'published')
    execute function skillreel_search_changed();
create trigger video_search_deleted after delete on video
    for each row when (old.status = 'published') execute function skillreel_search_changed();
