-- The model pass learns from the order of each person's interactions ("liked after")
-- and weighs people by how much they like: the pass writes each interaction's place
-- in the person's history (1 = latest) and the person's weight beside it.
alter table recommender_interaction
    add column recent integer not null default 1,
    add column person_weight double precision not null default 1;
