-- Content from followed instances lives beside our own (as PeerTube and Mastodon keep
-- remote accounts and videos): a partner's video is a `video` row, its author an
-- `app_user` row, both marked with their `origin`. So search, lists, "for you",
-- journeys, assignments, progress, likes and comments work on them unchanged, and
-- `remote_video` goes.

-- A person of another instance, known by their ActivityPub id; they never sign in here
-- (`subject` is 'remote:' || actor id, which provisioning refuses from tokens).
alter table app_user
    add column origin text,
    add column actor_id text constraint app_user_actor_key unique,
    add constraint app_user_origin_check check ((origin is null) = (actor_id is null)),
    add constraint app_user_remote_subject_check check (origin is null or subject = 'remote:' || actor_id);

-- A video of another instance: its host, its id there, and where its page, master
-- playlist and poster are (the origin's, signed by the origin for a while; refreshed by
-- every Update).
alter table video
    add column origin text,
    add column origin_id text constraint video_origin_id_key unique,
    add column origin_url text,
    add column origin_hls_url text,
    add column origin_thumbnail_url text,
    add constraint video_origin_check check ((origin is null) = (origin_id is null));
create index video_origin_idx on video (origin) where origin is not null;

-- Likes our people sent to partners' videos: the Like's id, which its Undo names.
create table federation_sent_like (
    video_id uuid not null constraint federation_sent_like_video_fk references video (id) on delete cascade,
    user_id uuid not null constraint federation_sent_like_user_fk references app_user (id) on delete cascade,
    activity_id text not null,
    created_at timestamptz not null default now(),
    constraint federation_sent_like_pkey primary key (video_id, user_id)
);

-- What was kept in `remote_video` moves over: an author per attributed actor (the
-- instance itself when the object named none), a published federated video per row.
insert into app_user (id, subject, name, roles, origin, actor_id)
select gen_random_uuid(), 'remote:' || a.actor, a.host, '{}', a.host, a.actor
  from (select distinct coalesce(attributed_to, 'https://' || host) as actor, host from remote_video) a
on conflict (actor_id) do nothing;

insert into video (id, owner_id, title, description, tags, status, visibility, language, duration_ms,
                   published_at, created_at, updated_at, origin, origin_id, origin_url, origin_hls_url,
                   origin_thumbnail_url)
select r.id, u.id, r.name, r.content, r.tags, 'published', 'federated', coalesce(r.language, 'en'),
       r.duration_seconds::bigint * 1000, r.published_at, r.received_at, r.updated_at, r.host, r.object_id,
       r.html_url, r.hls_url, r.thumbnail_url
  from remote_video r
  join app_user u on u.actor_id = coalesce(r.attributed_to, 'https://' || r.host);

insert into video_like (video_id, user_id, created_at)
select remote_video_id, user_id, created_at from remote_video_like;
insert into federation_sent_like (video_id, user_id, activity_id, created_at)
select remote_video_id, user_id, activity_id, created_at from remote_video_like;
update video v set like_count = (select count(*) from video_like l where l.video_id = v.id)
 where v.origin is not null;

drop table remote_video_like;
drop table remote_video;

-- Comments from partners' people on our videos, and ours on theirs: the Note's id.
alter table comment add column origin_id text constraint comment_origin_id_key unique;

-- Journeys federate as Playlists; a partner's journey is a `journey` row like a video.
alter table journey drop constraint journey_visibility_check;
alter table journey add constraint journey_visibility_check check (
    visibility in ('org', 'community', 'unlisted', 'federated')
);
alter table journey
    add column origin text,
    add column origin_id text constraint journey_origin_id_key unique,
    add constraint journey_origin_check check ((origin is null) = (origin_id is null));
