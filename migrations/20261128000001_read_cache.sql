-- The catalog keeps recently read published videos, and each reader's likes and
-- community roles, in memory (services/catalog/src/read_cache.rs). Whatever changes them,
-- whichever process or statement it comes from, says so on channel `skillreel_cache`
-- when it commits, and every replica drops its copy:
--   'v:<video id>'  a video changed or went away
--   'u:<user id>'   a person's likes or memberships changed
--   '*'             something every cached video shows from elsewhere changed
--                   (an author's name or manager, a community's approval policy)
-- Identical payloads within one transaction reach listeners once.

create function skillreel_cache_video_changed() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        perform pg_notify('skillreel_cache', 'v:' || old.id);
    else
        perform pg_notify('skillreel_cache', 'v:' || new.id);
    end if;
    return null;
end
$$;

create function skillreel_cache_reader_changed() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        perform pg_notify('skillreel_cache', 'u:' || old.user_id);
    else
        perform pg_notify('skillreel_cache', 'u:' || new.user_id);
        if tg_op = 'UPDATE' and old.user_id <> new.user_id then
            perform pg_notify('skillreel_cache', 'u:' || old.user_id);
        end if;
    end if;
    return null;
end
$$;

create function skillreel_cache_everything_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('skillreel_cache', '*');
    return null;
end
$$;

create trigger video_cache_notify after update or delete on video
    for each row execute function skillreel_cache_video_changed();

create trigger video_like_cache_notify after insert or delete on video_like
    for each row execute function skillreel_cache_reader_changed();

create trigger community_member_cache_notify after insert or update or delete on community_member
    for each row execute function skillreel_cache_reader_changed();

create trigger app_user_cache_notify after update of name, manager_subject on app_user
    for each row when (old.name is distinct from new.name or old.manager_subject is distinct from new.manager_subject)
    execute function skillreel_cache_everything_changed();

create trigger community_cache_notify after update of approval_policy on community
    for each row when (old.approval_policy is distinct from new.approval_policy)
    execute function skillreel_cache_everything_changed();
