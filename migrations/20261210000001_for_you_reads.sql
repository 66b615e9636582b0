-- "For you" reads its lists from indexes alone: a video's nearest neighbours, and the
-- most popular videos of the organisation, a team or a skill, best first, with no sort
-- and no visit to the table (the pass vacuums the lists after rewriting them, so their
-- pages stay all-visible until the next pass). The primary keys served nothing else:
-- the pass writes each pair once.
alter table video_neighbor drop constraint video_neighbor_pkey;
create index video_neighbor_nearest_idx on video_neighbor (video_id, score desc) include (neighbor_id);
alter table video_popular drop constraint video_popular_pkey;
create index video_popular_top_idx on video_popular (kind, key, score desc) include (video_id);

-- Deleting a video finds the lists that name it by index, not by reading them all.
create index video_neighbor_neighbor_idx on video_neighbor (neighbor_id);
create index video_popular_video_idx on video_popular (video_id);
