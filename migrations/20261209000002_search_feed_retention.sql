-- The search change feed is kept for `feed_retention` (7 days): a replica stopped for
-- longer finds its position below the horizon and builds its index again from the
-- table, as a new replica does.
create table search_change_horizon (
    only_row boolean primary key default true check (only_row),
    -- Every change up to this position has been pruned.
    position bigint not null default 0
);
insert into search_change_horizon default values;

create index search_change_changed_at_idx on search_change (changed_at);
