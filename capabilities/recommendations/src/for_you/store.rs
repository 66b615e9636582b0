//! The candidates of one person's "for you", with every signal, in one statement over
//! the lists the model pass keeps ([`super::model`]): the neighbours of their latest
//! likes and completions, colleagues' recommendations to them, the latest videos of the
//! people they follow, what is popular in their team, in their top skills and in the
//! organisation, and what is new. What they liked, completed or dismissed, and their
//! own videos, never come back.

use sqlx::PgConnection;
use uuid::Uuid;

/// History items the neighbours are looked up for (the most recent).
pub const HISTORY: i64 = 50;

pub struct CandidateRow {
    pub id: Uuid,
    pub title: String,
    pub owner_id: Uuid,
    pub owner_name: String,
    pub visibility: String,
    pub community_id: Option<Uuid>,
    pub membership: Option<String>,
    pub cf: Option<f64>,
    pub because_id: Option<Uuid>,
    pub because_title: Option<String>,
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

/// The candidates for `user` (their team's favourites among them, when they have one).
pub async fn candidates(conn: &mut PgConnection, user: Uuid) -> Result<Vec<CandidateRow>, sqlx::Error> {
    sqlx::query_as!(
        CandidateRow,
        r#"
        with history as (
            select video_id, max(at) as at, bool_or(completed) as completed,
                   row_number() over (order by max(at) desc, video_id) as recent
              from (
                  (select video_id, created_at as at, false as completed
                     from video_like where user_id = $1 order by created_at desc limit $2)
                  union all
                  (select video_id, completed_at, true
                     from video_progress where user_id = $1 and completed_at is not null
                    order by completed_at desc limit $2)
              ) h
             group by video_id
             order by max(at) desc
             limit $2
        ), excluded as (
            select video_id from video_like where user_id = $1
            union select video_id from video_progress where user_id = $1 and completed_at is not null
            union select video_id from for_you_dismissal where user_id = $1
            union select video_id from peer_recommendation
                   where recipient_id = $1 and state = 'dismissed' and video_id is not null
        ), cf as (
            select n.neighbor_id as video_id,
                   sum(n.score * power(0.95, h.recent - 1))::float8 as score,
                   (array_agg(h.video_id order by n.score * power(0.95, h.recent - 1) desc))[1] as because
              from history h
              join video_neighbor n on n.video_id = h.video_id
             group by n.neighbor_id
             order by 2 desc
             limit 300
        ), skills as (
            select tag from history h join video v on v.id = h.video_id, unnest(v.tags) as tag
             group by tag order by count(*) desc, tag limit 3
        ), skill as (
            select p.video_id, max(p.score)::float8 as score, (array_agg(p.key order by p.score desc))[1] as skill
              from video_popular p join skills s on p.kind = 'skill' and p.key = s.tag
             group by p.video_id
        ), team as (
            select video_id, score::float8 as score from video_popular
             where kind = 'team' and key = (select team from app_user where id = $1)
        ), org as (
            select video_id, score::float8 as score from video_popular where kind = 'org'
             order by score desc limit 100
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
             where v.status = 'published' and v.published_at > now() - interval '14 days' and v.like_count < 5
             order by v.published_at desc limit 20
        ), candidate as (
            select video_id from cf union select video_id from skill union select video_id from team
            union select video_id from org union select video_id from peers union select video_id from followed
            union select video_id from fresh
        )
        select v.id, v.title, v.owner_id, ou.name as owner_name, v.visibility, v.community_id,
               m.role as "membership?",
               cf.score as "cf?", cf.because as "because_id?", bv.title as "because_title?",
               h.completed as "because_completed?",
               peers.ids as "peer_ids?", peers.names as "peer_names?",
               (followed.video_id is not null) as "followed!",
               team.score as "team_score?", skill.skill as "skill?", skill.score as "skill_score?",
               org.score as "org_score?",
               (fresh.video_id is not null) as "fresh!"
          from candidate c
          join video v on v.id = c.video_id and v.status = 'published' and v.owner_id <> $1
          join app_user ou on ou.id = v.owner_id
          left join community_member m on m.community_id = v.community_id and m.user_id = $1
          left join cf on cf.video_id = c.video_id
          left join video bv on bv.id = cf.because
          left join history h on h.video_id = cf.because
          left join peers on peers.video_id = c.video_id
          left join (select distinct video_id from followed) followed on followed.video_id = c.video_id
          left join team on team.video_id = c.video_id
          left join skill on skill.video_id = c.video_id
          left join org on org.video_id = c.video_id
          left join fresh on fresh.video_id = c.video_id
         where c.video_id not in (select video_id from excluded where video_id is not null)
        "#,
        user,
        HISTORY,
    )
    .fetch_all(conn)
    .await
}
