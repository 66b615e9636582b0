-- The learning record as xAPI 1.0.3 statements (capabilities/learning/src/xapi): one per
-- domain event that is a learning event, with the event's id as the statement's id, so
-- building it twice or sending it twice never makes two.
create table xapi_statement (
    id uuid primary key,
    actor_id uuid not null constraint xapi_statement_actor_fk references app_user (id) on delete cascade,
    verb text not null,
    -- exactly what is sent to the LRS, every time
    statement jsonb not null,
    stored_at timestamptz not null default now(),
    forwarded_at timestamptz,
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error text
);

-- `GET /api/v1/xapi/statements` pages by (stored_at, id); the forwarder takes what is due
create index xapi_statement_stored_idx on xapi_statement (stored_at, id);
create index xapi_statement_actor_idx on xapi_statement (actor_id, stored_at, id);
create index xapi_statement_due_idx on xapi_statement (next_attempt_at, stored_at) where forwarded_at is null;
