-- Published videos by tag: who shares a passion (`GET /api/v1/people?skill=`) starts
-- from a skill's videos, and so does the catalog's `tag` filter.
create index video_published_tags_idx on video using gin (tags) where status = 'published';
