-- Catalog at scale: lists that walk an index in their own order and stop after a page.

-- Popularity and trending as maintained scores, each with its own index, in a narrow
-- table of their own: a like appends a delta (below) instead of moving a video in an
-- index, and a fold applies every pending delta of a video in one update.
create table video_score (
    video_id uuid primary key constraint video_score_video_fk references video (id) on delete cascade,
    -- 2 per like, 1 per viewer, 3 per person who completed it
    popularity bigint not null default 0,
    -- forward decay: ln(sum of weight * 2^(hours since 2026-01-01 / 24)), so an
    -- engagement counts half as much a day later, and the order of two videos changes
    -- only when one of them is engaged with (the index stays valid as time passes)
    trending double precision not null default '-Infinity'
);
create index video_score_popular_idx on video_score (popularity desc, video_id desc);
create index video_score_trending_idx on video_score (trending desc, video_id desc);

-- Engagements not folded into the scores yet: appended, never updated.
create table video_score_delta (
    video_id uuid not null,
    popularity integer not null,
    -- the engagement's weight, signed (a like taken back subtracts), and its instant
    weight double precision not null,
    at timestamptz not null
);

-- ln 2 / 24 h: the trending clock, in units of the log score per second.
create function skillreel_trending_clock(at timestamptz) returns double precision
    language sql immutable as $$ select extract(epoch from at - timestamptz '2026-01-01 00:00:00+00') * ln(2) / 86400 $$;

-- ln(e^a + e^b) without leaving the range of a float8.
create function skillreel_log_add(a double precision, b double precision) returns double precision
    language sql immutable as $$
    select case when a = '-Infinity' then b when b = '-Infinity' then a
                else greatest(a, b) + ln(1 + exp(greatest(-abs(a - b), -700))) end $$;

create function skillreel_score_delta() returns trigger language plpgsql as $$
begin
    if tg_table_name = 'video_like' then
        if tg_op = 'INSERT' then
            insert into video_score_delta values (new.video_id, 2, 2, new.created_at);
        else
            insert into video_score_delta values (old.video_id, -2, -2, old.created_at);
        end if;
    elsif tg_table_name = 'video_view' then
        insert into video_score_delta values (new.video_id, 1, 1, new.created_at);
    elsif tg_table_name = 'video_progress' then
        insert into video_score_delta values (new.video_id, 3, 3, new.completed_at);
    elsif tg_table_name = 'video' then
        -- every video has its scores; publication is its first engagement, applied at
        -- once so a listed video always has a trending score
        if tg_op = 'INSERT' then
            insert into video_score (video_id, trending)
            values (new.id, coalesce(skillreel_trending_clock(new.published_at), '-Infinity'));
        elsif old.published_at is null and new.published_at is not null then
            update video_score set trending = skillreel_log_add(trending, skillreel_trending_clock(new.published_at))
             where video_id = new.id;
        end if;
    end if;
    return null;
end
$$;

create trigger video_like_score after insert or delete on video_like
    for each row execute function skillreel_score_delta();
create trigger video_view_score after insert on video_view
    for each row execute function skillreel_score_delta();
create trigger video_progress_score after update of completed_at on video_progress
    for each row when (old.completed_at is null and new.completed_at is not null)
    execute function skillreel_score_delta();
create trigger video_progress_score_insert after insert on video_progress
    for each row when (new.completed_at is not null)
    execute function skillreel_score_delta();
create trigger video_score_row after insert or update of published_at on video
    for each row execute function skillreel_score_delta();

-- Applies every pending delta: one update per video however many engagements it had.
-- One folder at a time (the others return 0 at once). Returns the videos moved.
create function skillreel_fold_video_scores() returns bigint language plpgsql as $$
declare
    now_clock double precision := skillreel_trending_clock(now());
    moved bigint;
begin
    if not pg_try_advisory_xact_lock(hashtext('skillreel_fold_video_scores')) then
        return 0;
    end if;
    with taken as (
        delete from video_score_delta returning *
    ), summed as (
        -- each engagement's weight as of now: it halves every 24 h
        select video_id, sum(popularity) as popularity,
               sum(weight * exp(greatest(skillreel_trending_clock(at) - now_clock, -700))) as weight
          from taken group by video_id
    ), folded as (
        select s.video_id, s.popularity + d.popularity as popularity,
               exp(greatest(s.trending - now_clock, -700)) * (s.trending > '-Infinity')::int + d.weight as weight
          from video_score s join summed d on d.video_id = s.video_id
    )
    update video_score s
       set popularity = f.popularity,
           trending = case when f.weight > 1e-300 then ln(f.weight) + now_clock else '-Infinity' end
      from folded f
     where s.video_id = f.video_id;
    get diagnostics moved = row_count;
    return moved;
end
$$;

insert into video_score (video_id, popularity, trending)
select id, like_count * 2 + view_count,
       case when published_at is null then '-Infinity'
            else ln(1 + like_count * 2 + view_count) + skillreel_trending_clock(published_at) end
  from video;

-- Published videos by tag, newest first: a tag page is the first rows of one range.
create table video_tag (
    tag text not null,
    listed_at timestamptz not null,
    video_id uuid not null constraint video_tag_video_fk references video (id) on delete cascade,
    constraint video_tag_pkey primary key (tag, listed_at, video_id)
);
create index video_tag_video_idx on video_tag (video_id);

create function skillreel_video_tags() returns trigger language plpgsql as $$
begin
    if tg_op = 'UPDATE' then
        if (old.tags, old.status, old.published_at) is not distinct from (new.tags, new.status, new.published_at) then
            return null;
        end if;
        delete from video_tag where video_id = new.id;
    end if;
    if new.status = 'published' then
        insert into video_tag (tag, listed_at, video_id)
        select distinct t, coalesce(new.published_at, new.created_at), new.id from unnest(new.tags) t
        on conflict do nothing;
    end if;
    return null;
end
$$;

create trigger video_tag_index after insert or update of tags, status, published_at on video
    for each row execute function skillreel_video_tags();

insert into video_tag (tag, listed_at, video_id)
select distinct t, coalesce(published_at, created_at), id from video, unnest(tags) t where status = 'published'
on conflict do nothing;

-- A community's published videos, newest first, with the id to page on.
drop index video_community_idx;
create index video_community_recent_idx on video (community_id, published_at desc, id desc) where status = 'published';
