-- resumable (tus) uploads: the state lives here, so any replica can take the next PATCH
create table upload (
    id uuid primary key,
    owner_id uuid not null constraint upload_owner_fk references app_user (id),
    video_id uuid not null constraint upload_video_fk references video (id) on delete cascade,
    -- null while the client defers the length (creation-defer-length)
    length bigint constraint upload_length_check check (length is null or length >= 0),
    upload_offset bigint not null default 0,
    storage_key text not null,
    -- the S3 multipart upload, when the store has one
    multipart_id text,
    -- bytes below the store's minimum part size, kept in a pending object
    pending_size bigint not null default 0,
    -- the Upload-Metadata header as sent, echoed on HEAD
    metadata text not null default '',
    status text not null default 'uploading' constraint upload_status_check check (
        status in ('uploading', 'complete', 'cancelled', 'expired')
    ),
    -- a PATCH in progress holds this lease; a second one gets 409
    lock_token uuid,
    locked_until timestamptz,
    expires_at timestamptz not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint upload_video_key unique (video_id)
);

create index upload_expiry_idx on upload (expires_at) where status = 'uploading';
create index upload_owner_idx on upload (owner_id, created_at desc);

create table upload_part (
    upload_id uuid not null constraint upload_part_upload_fk references upload (id) on delete cascade,
    part_number integer not null,
    etag text not null,
    size bigint not null,
    created_at timestamptz not null default now(),
    constraint upload_part_pkey primary key (upload_id, part_number)
);
