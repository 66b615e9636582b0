-- Federation with other instances over ActivityPub (docs/FEDERATION.md).

-- This instance's actor key pair: made on first start and kept (peers cache it).
create table federation_key (
    singleton boolean primary key default true check (singleton),
    private_key_pem text not null,
    public_key_pem text not null,
    created_at timestamptz not null default now()
);

-- What this instance thinks of a remote one (`allowed`: a partner; `blocked`: nothing
-- in or out), and how deliveries to it go (the circuit breaker).
create table federation_instance (
    host text primary key,
    status text not null default 'known' check (status in ('known', 'allowed', 'blocked')),
    failures int not null default 0,
    failing_since timestamptz,
    circuit_open_until timestamptz,
    updated_at timestamptz not null default now()
);

-- Remote actors (instances and people) and the key each signs with, cached.
create table federation_actor (
    id text primary key,
    host text not null,
    kind text not null,
    inbox text not null,
    shared_inbox text,
    key_id text not null,
    public_key_pem text not null,
    fetched_at timestamptz not null default now()
);
create unique index federation_actor_key_idx on federation_actor (key_id);
create index federation_actor_host_idx on federation_actor (host);

-- Follows between this instance and others, both ways. An outgoing follow is
-- `resolving` until the instance's actor is found, `pending` until it answers.
create table federation_follow (
    direction text not null check (direction in ('outgoing', 'incoming')),
    host text not null references federation_instance (host) on delete cascade,
    actor text,
    url text,
    activity_id text not null,
    state text not null check (state in ('resolving', 'pending', 'accepted', 'rejected', 'unreachable')),
    reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (direction, host)
);

-- Signatures already accepted: a captured request cannot be replayed while its `Date`
-- is still inside the window. Pruned once they are outside it.
create table federation_seen_signature (
    digest bytea primary key,
    seen_at timestamptz not null default now()
);
create index federation_seen_signature_at_idx on federation_seen_signature (seen_at);

-- Activities already applied: a sender's retry (a new signature) is applied once.
create table federation_seen_activity (
    id text primary key,
    seen_at timestamptz not null default now()
);
create index federation_seen_activity_at_idx on federation_seen_activity (seen_at);
