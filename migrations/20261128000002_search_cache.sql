-- The catalog also keeps each recent search's ranked matches in memory
-- (services/catalog/src/read_cache.rs). They change only when a published video's
-- searchable text, place in the order or audience changes, or a video is published or
-- unpublished; likes and views leave them alone. That is notified as 's':
--   's'  what searches find changed: every replica drops its searches

create or replace function skillreel_cache_video_changed() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        if new.status = 'published' then
            perform pg_notify('skillreel_cache', 's');
        end if;
        return null;
    end if;
    if tg_op = 'DELETE' then
        perform pg_notify('skillreel_cache', 'v:' || old.id);
        if old.status = 'published' then
            perform pg_notify('skillreel_cache', 's');
        end if;
        return null;
    end if;
    perform pg_notify('skillreel_cache', 'v:' || new.id);
    if (old.status = 'published' or new.status = 'published')
       and (old.status, old.search, old.visibility, old.community_id, old.owner_id, old.language,
            old.duration_ms, old.tags, old.published_at, old.created_at)
           is distinct from
           (new.status, new.search, new.visibility, new.community_id, new.owner_id, new.language,
            new.duration_ms, new.tags, new.published_at, new.created_at) then
        perform pg_notify('skillreel_cache', 's');
    end if;
    return null;
end
$$;

create trigger video_published_cache_notify after insert on video
    for each row when (new.status = 'published')
    execute function skillreel_cache_video_changed();
