-- Videos partners may see: visibility `federated` (everyone here, like `org`, and the
-- instances that follow this one), and what has been sent to them.

alter table video drop constraint video_visibility_check;
alter table video add constraint video_visibility_check check (
    visibility in ('org', 'community', 'unlisted', 'federated')
);

-- Local objects the followers were sent (a Create), so an edit sends Update and a
-- removal Delete only to those who know of them.
create table federation_object (
    local_id uuid primary key,
    kind text not null,
    sent_at timestamptz not null default now()
);

-- Videos from the instances this one follows, as their origin describes them.
create table remote_video (
    id uuid primary key,
    object_id text not null constraint remote_video_object_key unique,
    host text not null,
    attributed_to text,
    name text not null,
    content text not null default '',
    duration_seconds int,
    language text,
    tags text[] not null default '{}',
    html_url text,
    hls_url text,
    thumbnail_url text,
    published_at timestamptz not null,
    updated_at timestamptz not null default now(),
    received_at timestamptz not null default now(),
    document jsonb not null
);
create index remote_video_recent_idx on remote_video (published_at desc, id desc);
create index remote_video_host_idx on remote_video (host);
