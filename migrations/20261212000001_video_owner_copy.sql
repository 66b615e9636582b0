-- Every list and point read showed a video with its owner's name and manager, joined
-- from `app_user` per row: on a tag page, 21 more index probes beside the 21+ into
-- `video`, about 44 % of the page's buffers (docs/BENCHMARKS.md, stop 37). The video
-- row now carries both, copied when the video is written and kept by a trigger when the
-- person changes (renames and new managers are rare; reads are not).
alter table video add column owner_name text, add column owner_manager_subject text;

create function skillreel_video_owner_copy() returns trigger language plpgsql as $$
begin
    select u.name, u.manager_subject into new.owner_name, new.owner_manager_subject
      from app_user u where u.id = new.owner_id;
    return new;
end
$$;

create trigger video_owner_copy before insert or update of owner_id on video
    for each row execute function skillreel_video_owner_copy();

create function skillreel_owner_changed() returns trigger language plpgsql as $$
begin
    update video set owner_name = new.name, owner_manager_subject = new.manager_subject
     where owner_id = new.id;
    return null;
end
$$;

create trigger app_user_owner_changed after update of name, manager_subject on app_user
    for each row when ((old.name, old.manager_subject) is distinct from (new.name, new.manager_subject))
    execute function skillreel_owner_changed();

update video v set owner_name = u.name, owner_manager_subject = u.manager_subject
  from app_user u where u.id = v.owner_id;

alter table video alter column owner_name set not null;
