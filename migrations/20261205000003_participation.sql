-- Who took part, and how, on which day (UTC): the participation analytics of
-- capabilities/recognition read it. One row per person, day and kind of activity;
-- `level` is the kind's rung (1 consume: watch, search; 2 contribute: like, comment,
-- answer, recommend, request; 3 create: publish), written by the code that knows the
-- kinds. The `participation` consumer writes it from the domain events; the catalog
-- records searches (once per person and day).
create table participation_day (
    day date not null,
    user_id uuid not null constraint participation_day_user_fk references app_user (id) on delete cascade,
    kind text not null constraint participation_day_kind_check check (
        kind in ('watch', 'search', 'like', 'comment', 'answer', 'recommend', 'request', 'publish')
    ),
    level smallint not null constraint participation_day_level_check check (level between 1 and 3),
    constraint participation_day_pkey primary key (day, user_id, kind)
);

create index participation_day_user_idx on participation_day (user_id, day);

-- reach of videos in a period: who watched them since
create index video_progress_recent_idx on video_progress (updated_at, video_id);
