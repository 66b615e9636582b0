-- A tsvector holds at most 1 MB: captions (up to 1 MiB each, several languages) could
-- overflow it and fail every later write of the video. Only their first 100 000
-- characters are indexed (a 15-minute talk has about 15 000).
create or replace function skillreel_video_search() returns trigger
language plpgsql as $$
declare
    spoken text := left(coalesce((select string_agg(c.text, ' ') from caption c where c.video_id = new.id), ''), 100000);
begin
    new.search :=
        setweight(to_tsvector(skillreel_ts_config(new.language), new.title), 'A') ||
        setweight(to_tsvector('simple', new.title), 'A') ||
        setweight(to_tsvector(skillreel_ts_config(new.language), array_to_string(new.tags, ' ')), 'B') ||
        setweight(to_tsvector('simple', array_to_string(new.tags, ' ')), 'B') ||
        setweight(to_tsvector(skillreel_ts_config(new.language), new.description), 'C') ||
        setweight(to_tsvector('simple', new.description), 'C') ||
        setweight(to_tsvector(skillreel_ts_config(new.language), spoken), 'D');
    return new;
end
$$;
