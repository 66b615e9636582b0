//! The candidates of one person's "for you", with every signal, in one statement over
//! the lists the model pass keeps ([`super::model`]): the neighbours of their latest
//! likes and completions (their own list, as the pass built it, with the neighbours of
//! what they did since: the SQL function `for_you_cf`), colleagues' recommendations to
//! them, the latest videos of the people they follow, what is popular in their team,
//! in their top skills and in the organisation, and what is new. What they liked,
//! completed or dismissed, and their own videos, never come back.

use sqlx::PgConnection;
use uuid::Uuid;

/// History items the neighbours are looked up for (the most recent).
pub const HISTORY: i64 = 50;
/// Neighbours read per history item (the nearest; the pass keeps 50).
const NEIGHBOURS: i64 = 50;
/// Candidates kept from collaborative filtering, and from the organisation's favourites.
/// Enough for a page of 20 to be re-ranked with room for diversity, few enough that a
/// request looks up some 250 videos, not 1 000 (100 against 300 changed no recall@10 in
/// `bench/recommend`, and halved the lookups).
const FROM_CF: i64 = 100;
const FROM_ORG: i64 = 50;

/// A candidate's signals: what ranking needs, not yet what the access policy does.
pub struct CandidateRow {
    pub id: Uuid,
    pub cf: Option<f64>,
    pub because_id: Option<Uuid>,
    pub because_completed: Option<bool>,
    pub peer_ids: Option<Vec<Uuid>>,
    pub peer_names: Option<Vec<String>>,
    pub followed: bool,
    pub team_score: Option<f64>,
    pub skill: Option<String>,
    pub skill_score: Option<f64>,
    pub org_score: Option<f64>,
    pub fresh: bool,
}

/// The candidates for `user` (their team's favourites among them, when they have one),
/// by id and signals: their videos are looked up ([`cards`]) only for those that rank
/// high enough to be shown, not for the hundreds gathered.
pub async fn candidates(conn: &mut PgConnection, user: Uuid) -> Result<Vec<CandidateRow>, sqlx::Error> {
    sqlx::query_as!(
        CandidateRow,
        r#"
        with cf as (
            -- the person's list as the model pass left it, with the neighbours of what
            -- they did since
            select video_id, score, because, because_completed from for_you_cf($1, false, $2, $3, $4)
        ), excluded as (
            select x as video_id from for_you_excluded($1) x
            -- their own: they would take places in the ranking, never on the page
            union select id from video where owner_id = $1
        ), skills as (
            -- their top skills as the pass found them; worked out now for someone it
            -- has not seen (`coalesce` asks the function only then)
            select unnest(coalesce((select skills from for_you_list where user_id = $1), for_you_skills($1, $2))) as tag
        ), skill as (
            -- each video once, with its most popular skill (one sort, not one per video;
            -- a tie goes to the first skill by name)
            select distinct on (p.video_id) p.video_id, p.score::float8 as score, p.key as skill
              from video_popular p join skills s on p.kind = 'skill' and p.key = s.tag
             order by p.video_id, p.score desc, p.key
        ), team as (
            select video_id, score::float8 as score from video_popular
             where kind = 'team' and key = (select team from app_user where id = $1)
        ), org as (
            -- (the key too: the index walks one key's list in order, no sort)
            select video_id, score::float8 as score from video_popular where kind = 'org' and key = ''
             order by score desc limit $5
        ), peers as (
            select r.video_id,
                   array_agg(r.sender_id order by r.created_at desc) as ids,
                   array_agg(u.name order by r.created_at desc) as names
              from peer_recommendation r join app_user u on u.id = r.sender_id
             where r.recipient_id = $1 and r.state <> 'dismissed' and r.video_id is not null
             group by r.video_id
        ), followed as (
            select latest.id as video_id
              from person_follow f
              cross join lateral (
                  select v.id from video v
                   where v.owner_id = f.followee_id and v.status = 'published'
                   order by v.published_at desc limit 5
              ) latest
             where f.follower_id = $1
        ), fresh as (
            select v.id as video_id from video v
             where v.status = 'published' and coalesce(v.published_at, v.created_at) > now() - interval '14 days'
               and v.like_count < 5
             order by coalesce(v.published_at, v.created_at) desc, v.id desc limit 20
        ), signal as (
            -- every signal as a row of its own, folded into one row per video by one
            -- aggregate: joining the lists to each other would pair rows by estimates
            -- the planner cannot make for a prepared statement
            select video_id, score as cf, because, because_completed, null::float8 as team, null::text as skill,
                   null::float8 as skill_score, null::float8 as org, false as followed, false as fresh from cf
            union all select video_id, null, null, null, score, null, null, null, false, false from team
            union all select video_id, null, null, null, null, skill, score, null, false, false from skill
            union all select video_id, null, null, null, null, null, null, score, false, false from org
            union all select video_id, null, null, null, null, null, null, null, false, false from peers
            union all select video_id, null, null, null, null, null, null, null, true, false from followed
            union all select video_id, null, null, null, null, null, null, null, false, true from fresh
        ), candidate as (
            select video_id, max(cf) as cf,
                   (array_agg(because) filter (where because is not null))[1] as because,
                   bool_or(because_completed) as because_completed,
                   max(team) as team, max(skill) as skill, max(skill_score) as skill_score, max(org) as org,
                   bool_or(followed) as followed, bool_or(fresh) as fresh
              from signal
             where video_id not in (select video_id from excluded where video_id is not null)
             group by video_id
        )
        select c.video_id as "id!",
               c.cf as "cf?", c.because as "because_id?",
               c.because_completed as "because_completed?",
               peers.ids as "peer_ids?", peers.names as "peer_names?",
               c.followed as "followed!",
               c.team as "team_score?", c.skill as "skill?", c.skill_score as "skill_score?",
               c.org as "org_score?",
               c.fresh as "fresh!"
          from candidate c
          left join peers on peers.video_id = c.video_id
        "#,
        user,
        HISTORY,
        NEIGHBOURS,
        FROM_CF,
        FROM_ORG,
    )
    .fetch_all(conn)
    .await
}

/// A video as the access policy judges it, with its title and author: a candidate's
/// (`candidate`), or a history video a candidate's reason would quote.
pub struct CardRow {
    pub id: Uuid,
    pub title: String,
    pub owner_id: Uuid,
    pub owner_name: String,
    pub visibility: String,
    pub community_id: Option<Uuid>,
    pub membership: Option<String>,
    pub candidate: bool,
}

/// The videos of `videos` still published and not `user`'s own, and of `because` (the
/// history videos they are near) still published, with their authors' names and
/// `user`'s role in their community, in one round trip: the access policy decides
/// which of them `user` sees, and so which titles a reason may quote. For a shortlist
/// of candidates, not for every one gathered.
pub async fn cards(
    conn: &mut PgConnection,
    user: Uuid,
    videos: &[Uuid],
    because: &[Uuid],
) -> Result<Vec<CardRow>, sqlx::Error> {
    sqlx::query_as!(
        CardRow,
        r#"
        select v.id, v.title, v.owner_id, u.name as owner_name, v.visibility, v.community_id,
               m.role as "membership?", v.id = any($2) as "candidate!"
          from video v
          join app_user u on u.id = v.owner_id
          left join community_member m on m.community_id = v.community_id and m.user_id = $1
         where v.status = 'published' and (v.id = any($2) and v.owner_id <> $1 or v.id = any($3))
        "#,
        user,
        videos,
        because,
    )
    .fetch_all(conn)
    .await
}

/// Rebuilds the lists of `people` from their whole history (the model pass, with the
/// request's own function and limits, so that a list and a request agree): how many of
/// them have one (someone whose history has no neighbours gets none).
pub async fn build_lists(conn: &mut PgConnection, people: &[Uuid]) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        insert into for_you_list (user_id, built_at, history_ids, skills, video_ids, scores, strongest, because_ids,
                                  because_completed)
        select p.id, now(), array(select h.video_id from for_you_history(p.id, $2) h), for_you_skills(p.id, $2),
               array_agg(c.video_id order by c.score desc, c.video_id),
               array_agg(c.score::float4 order by c.score desc, c.video_id),
               array_agg(c.strongest::float4 order by c.score desc, c.video_id),
               array_agg(c.because order by c.score desc, c.video_id),
               array_agg(c.because_completed order by c.score desc, c.video_id)
          from unnest($1::uuid[]) as p(id)
          cross join lateral for_you_cf(p.id, true, $2, $3, $4) c
         group by p.id
        on conflict (user_id) do update
            set built_at = excluded.built_at, history_ids = excluded.history_ids, skills = excluded.skills, video_ids = excluded.video_ids, scores = excluded.scores,
                strongest = excluded.strongest, because_ids = excluded.because_ids,
                because_completed = excluded.because_completed
        "#,
        people,
        HISTORY,
        NEIGHBOURS,
        FROM_CF,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
