-- Search changes take their position at commit under the same lock as domain events.
-- With a lock of their own, a transaction that recorded a domain event before a
-- search change and one that did it the other way round took the two locks in
-- opposite orders at commit and could deadlock (PostgreSQL breaks it after a second,
-- while requests wait for their connections). Advisory locks are re-entrant, so a
-- transaction with both takes this one lock once in effect.
create or replace function skillreel_search_change_position() returns trigger
language plpgsql as $$
begin
    perform pg_advisory_xact_lock(7305286158431047681);
    update search_change set position = nextval('search_change_position_seq') where id = new.id;
    perform pg_notify('skillreel_search', '');
    return null;
end;
$$;
