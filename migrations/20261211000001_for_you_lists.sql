-- Each person's candidates from collaborative filtering, as the model pass left them:
-- "for you" reads this one row and adds the neighbours of what the person liked or
-- completed since, instead of looking up the neighbours of their whole history on
-- every request. Arrays, one row a person: a request reads one row by key.
--
-- Each list keeps the history it was built from: a request counts as new only the
-- person's latest likes and completions that are not in it, whatever their times say
-- (a completion of a video liked before the pass, or a like committed just after the
-- pass read the history, counts once; the app's clock and the database's need not
-- agree). A like withdrawn, or a completion undone, drops the person's list, so that
-- no "because you liked" names what they no longer like: their requests work from the
-- whole history until the next pass builds the list again.
create table for_you_list (
    user_id uuid primary key references app_user (id) on delete cascade,
    built_at timestamptz not null,
    -- the latest likes and completions it was built from: a request adds the others
    history_ids uuid[] not null,
    -- the person's top skills (tags of their history) then
    skills text[] not null,
    -- best first; position by position: the candidate, its total, its largest single
    -- contribution and the history video that gave it (liked, or completed)
    video_ids uuid[] not null,
    scores float4[] not null,
    strongest float4[] not null,
    because_ids uuid[] not null,
    because_completed boolean[] not null,
    constraint for_you_list_aligned check (
        cardinality(scores) = cardinality(video_ids)
        and cardinality(strongest) = cardinality(video_ids)
        and cardinality(because_ids) = cardinality(video_ids)
        and cardinality(because_completed) = cardinality(video_ids)
    )
);

-- A person's latest `history_len` videos liked or completed, one row a video, with
-- whether they completed it and when they last did either.
create function for_you_history(person uuid, history_len int8)
returns table (video_id uuid, completed boolean, at timestamptz)
language sql stable as $$
    select h.video_id, bool_or(h.completed), max(h.at)
      from (
          (select l.video_id, false as completed, l.created_at as at
             from video_like l
            where l.user_id = person
            order by l.created_at desc limit history_len)
          union all
          (select p.video_id, true, p.completed_at
             from video_progress p
            where p.user_id = person and p.completed_at is not null
            order by p.completed_at desc limit history_len)
      ) h
     group by h.video_id
     order by max(h.at) desc, h.video_id
     limit history_len
$$;

-- What a person never sees again "for you": what they liked, completed or dismissed.
create function for_you_excluded(person uuid) returns setof uuid
language sql stable as $$
    select l.video_id from video_like l where l.user_id = person
    union select p.video_id from video_progress p where p.user_id = person and p.completed_at is not null
    union select d.video_id from for_you_dismissal d where d.user_id = person
    union select r.video_id from peer_recommendation r
           where r.recipient_id = person and r.state = 'dismissed' and r.video_id is not null
$$;

-- A person's candidates from collaborative filtering, best first, at most `keep`: the
-- nearest `neighbours` neighbours of each of their latest `history_len` likes and
-- completions, each history item 0.85 as strong as the next more recent one, summed
-- per neighbour, less what they liked, completed or dismissed. Each comes with its
-- largest single contribution and the history video that gave it ("because you liked
-- ..."). With `whole_history` false the history is what the person's stored list
-- (`for_you_list`) was not built from, and the list joins in with its weights shifted
-- back by as many places as the history has new items: the same totals as a
-- whole-history run while the new items are the newest, read from one row and a few
-- index lookups. The model pass runs it with `whole_history` to build the lists; a
-- request runs it without.
create function for_you_cf(person uuid, whole_history boolean, history_len int8, neighbours int8, keep int8)
returns table (video_id uuid, score float8, strongest float8, because uuid, because_completed boolean)
language sql stable as $$
    with list as (
        select * from for_you_list where user_id = person and not whole_history
    ), history as (
        select h.video_id, h.completed,
               -- (float8, not numeric, whose power is slow)
               power(0.85::float8, (row_number() over (order by h.at desc, h.video_id) - 1)::float8) as decay,
               row_number() over (order by h.at desc, h.video_id) as place
          from for_you_history(person, history_len) h
         where h.video_id <> all(coalesce((select l.history_ids from list l), '{}'))
    ), nearest as (
        -- the largest [contribution, place] pair names the history item that gave most
        -- (one aggregate, no sort per neighbour)
        select n.neighbor_id as video_id, sum(n.score * h.decay) as score,
               max(array[n.score * h.decay, h.place::float8]) as strongest
          from history h
          cross join lateral (
              select vn.neighbor_id, vn.score from video_neighbor vn where vn.video_id = h.video_id
               order by vn.score desc limit neighbours
          ) n
         group by n.neighbor_id
    ), shift as (
        select power(0.85::float8, count(*)::float8) as factor from history
    ), new as (
        select n.video_id, n.score, n.strongest[1] as strongest, h.video_id as because, h.completed as because_completed
          from nearest n join history h on h.place = n.strongest[2]::int8
    ), stored as (
        select s.video_id, s.score * shift.factor as score, s.strongest * shift.factor as strongest,
               s.because, s.because_completed
          from list, shift,
               unnest(list.video_ids, list.scores, list.strongest, list.because_ids, list.because_completed)
                   as s(video_id, score, strongest, because, because_completed)
    )
    -- a neighbour is at most once in each: a full join pairs them, with no sort per video
    select coalesce(n.video_id, s.video_id) as video_id,
           coalesce(n.score, 0.0) + coalesce(s.score, 0.0) as score,
           greatest(n.strongest, s.strongest) as strongest,
           case when s.video_id is null or n.strongest >= s.strongest then n.because else s.because end as because,
           case when s.video_id is null or n.strongest >= s.strongest then n.because_completed
                else s.because_completed end as because_completed
      from new n
      full join stored s on s.video_id = n.video_id
     where coalesce(n.video_id, s.video_id) not in (select x from for_you_excluded(person) x where x is not null)
     order by 2 desc, 1
     limit keep
$$;

-- A person's top three skills: the tags most frequent among their latest `history_len`
-- likes and completions (ties by name).
create function for_you_skills(person uuid, history_len int8) returns text[]
language sql stable as $$
    select coalesce(array_agg(top.tag order by top.n desc, top.tag), '{}') from (
        select tag, count(*) as n
          from for_you_history(person, history_len) h
          join video v on v.id = h.video_id, unnest(v.tags) as tag
         group by tag
         order by 2 desc, 1
         limit 3
    ) top
$$;

create function for_you_list_forget() returns trigger
language plpgsql as $$
begin
    delete from for_you_list where user_id = old.user_id;
    return null;
end
$$;

create trigger video_like_forgets_for_you_list after delete on video_like
    for each row execute function for_you_list_forget();
create trigger video_progress_forgets_for_you_list after delete on video_progress
    for each row when (old.completed_at is not null) execute function for_you_list_forget();
create trigger video_progress_uncompleted_forgets_for_you_list after update of completed_at on video_progress
    for each row when (old.completed_at is not null and new.completed_at is distinct from old.completed_at)
    execute function for_you_list_forget();
