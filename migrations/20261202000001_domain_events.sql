-- Domain events: a transactional outbox that consumers read in order, each keeping its
-- own position (webhooks now; learning records, reputation, recommendations and
-- federation next).
--
-- An event is inserted in the transaction that makes the change. Its position is not
-- taken then but at commit, under a lock, by a deferred trigger: positions therefore
-- follow commit order, and a consumer that has read position N can never later see a
-- smaller one commit (a plain sequence taken at insert would let a slow transaction
-- commit position 10 after 11 was read, and 10 would be skipped).

create sequence domain_event_position_seq;

create table domain_event (
    id uuid primary key,
    -- Set at commit; null only inside the inserting transaction.
    position bigint unique,
    kind text not null,
    version integer not null check (version > 0),
    actor_id uuid,
    object_type text not null,
    object_id uuid not null,
    payload jsonb not null,
    occurred_at timestamptz not null default now()
);

create function skillreel_event_position() returns trigger
language plpgsql as $$
begin
    -- Held until the transaction ends: the next committer waits, so positions are
    -- handed out in commit order.
    perform pg_advisory_xact_lock(7305286158431047681);
    update domain_event set position = nextval('domain_event_position_seq') where id = new.id;
    perform pg_notify('skillreel_event', new.kind);
    return null;
end;
$$;

create constraint trigger domain_event_position
    after insert on domain_event
    deferrable initially deferred
    for each row execute function skillreel_event_position();

create table event_consumer (
    name text primary key,
    -- The last position this consumer has handled.
    position bigint not null default 0,
    updated_at timestamptz not null default now()
);

-- Webhook deliveries become jobs on the one job queue: what is still pending moves
-- over with its payload and attempt count, the history stays readable as jobs.
insert into job (id, queue, payload, status, attempts, max_attempts, run_at, last_error, created_at, updated_at, finished_at)
select d.id, 'webhook',
       jsonb_build_object('webhook_id', d.webhook_id, 'event', d.event, 'body', d.payload),
       case d.status when 'pending' then 'queued' when 'delivered' then 'succeeded' else 'failed' end,
       d.attempts, 10, d.next_attempt_at, d.last_error, d.created_at, now(), d.delivered_at
  from webhook_delivery d;

drop table webhook_delivery;

create index job_webhook_idx on job ((payload ->> 'webhook_id'), created_at desc) where queue = 'webhook';
