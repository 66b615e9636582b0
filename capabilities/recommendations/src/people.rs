//! People who share a passion: `GET /api/v1/people?skill=…` and `GET /api/v1/me/people`.
//!
//! A person's standing on a skill is what they did with its videos (those tagged with
//! it): each video they published counts 5, each they completed 2, each they liked 1.
//! Only videos the caller may list count, so the ranking reveals nothing the caller
//! could not see. `/me/people` takes the caller's own top skills (from what they
//! published, completed and liked) and ranks colleagues by what they did on those,
//! each skill weighted by how much it is the caller's. Each person comes with the
//! reason in words and whether the caller follows them.

use actix_web::web;
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_domain::Tag;
use skillreel_web::ApiError;
use skillreel_web::paging::{Page, by_key, parse_limit};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::RecommendationsContext;

/// A colleague and what they did on a skill (or on the caller's skills).
#[derive(Debug, Serialize, ToSchema)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Videos they published on it, completed and liked (of those the caller may see).
    pub published: i64,
    pub completed: i64,
    pub liked: i64,
    /// The skills it is about.
    pub skills: Vec<String>,
    /// The ranking's score: 5 per video published, 2 completed, 1 liked (weighted by
    /// the caller's interest in each skill for `/me/people`).
    pub score: f64,
    /// Why they are listed, in words.
    pub reason: String,
    /// Whether the caller follows them.
    pub following: bool,
}

/// A person as a listing's statement returns them.
struct PersonRow {
    id: Uuid,
    name: String,
    team: Option<String>,
    published: i64,
    completed: i64,
    liked: i64,
    score: f64,
    skills: Vec<String>,
    following: bool,
}

impl PersonRow {
    /// The person, with `reason` telling why they are listed.
    fn into_person(self, reason: fn(i64, i64, i64, &[String]) -> String) -> Person {
        Person {
            reason: reason(self.published, self.completed, self.liked, &self.skills),
            id: self.id,
            name: self.name,
            team: self.team,
            published: self.published,
            completed: self.completed,
            liked: self.liked,
            skills: self.skills,
            score: self.score,
            following: self.following,
        }
    }
}

/// "3 videos" or "1 video".
fn videos(n: i64) -> String {
    if n == 1 {
        "1 video".into()
    } else {
        format!("{n} videos")
    }
}

/// "rust", "rust and go", "rust, go and sql".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// What someone did, in words: "published 2 videos, completed 1 video and liked 3 videos".
fn acts_in_words(published: i64, completed: i64, liked: i64) -> String {
    let acts: Vec<String> = [("published", published), ("completed", completed), ("liked", liked)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(verb, n)| format!("{verb} {}", videos(n)))
        .collect();
    and_list(&acts)
}

/// What someone did on `skills`, in words: "Published 2 videos and liked 1 video on rust".
fn reason_on_skill(published: i64, completed: i64, liked: i64, skills: &[String]) -> String {
    let acts = acts_in_words(published, completed, liked);
    let mut chars = acts.chars();
    let capitalised: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    format!("{capitalised} on {}", and_list(skills))
}

/// Why someone shares the caller's interests: "Shares your interest in rust and go:
/// published 1 video".
fn reason_like_me(published: i64, completed: i64, liked: i64, skills: &[String]) -> String {
    format!(
        "Shares your interest in {}: {}",
        and_list(skills),
        acts_in_words(published, completed, liked)
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// The skill (a tag), as on videos.
    #[param(min_length = 1, max_length = 40)]
    skill: String,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// From the previous page's `next_cursor`.
    #[param(
        max_length = 200,
        pattern = "^$|^-?[0-9]+(\\.[0-9]+)?~[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    cursor: Option<String>,
}

/// Lists the people on a skill. `$rule` is the access policy's listing rule.
macro_rules! people_on_skill {
    ($rule:literal, $($arg:expr),* $(,)?) => {
        sqlx::query_as!(
            PersonRow,
            r#"
            with skilled as (
                select v.id, v.owner_id from video v where v.tags @> array[$4::text] and "# + $rule + r#"
            ), acts as (
                select s.owner_id as user_id, 1 as published, 0 as completed, 0 as liked from skilled s
                union all
                select p.user_id, 0, 1, 0 from video_progress p join skilled s on s.id = p.video_id
                 where p.completed_at is not null
                union all
                select l.user_id, 0, 0, 1 from video_like l join skilled s on s.id = l.video_id
            ), scored as (
                select user_id, sum(published)::int8 as published, sum(completed)::int8 as completed,
                       sum(liked)::int8 as liked, (5 * sum(published) + 2 * sum(completed) + sum(liked))::float8 as score
                  from acts
                 where user_id <> $1
                 group by user_id
            )
            select s.user_id as "id!", u.name, u.team, s.published as "published!", s.completed as "completed!",
                   s.liked as "liked!", s.score as "score!", array[$4::text] as "skills!",
                   exists (select 1 from person_follow f where f.follower_id = $1 and f.followee_id = s.user_id) as "following!"
              from scored s join app_user u on u.id = s.user_id and u.origin is null
             where ($5::float8 is null or (s.score, s.user_id) < ($5, $6::uuid))
             order by s.score desc, s.user_id desc
             limit $7
            "#,
            $($arg),*
        )
    };
}

/// `GET /api/v1/people?skill=…`: who publishes, completes and likes videos on a skill.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn on_skill(
    user: AuthUser,
    ctx: web::Data<RecommendationsContext>,
    query: web::Query<PeopleQuery>,
) -> Result<web::Json<Page<Person>>, ApiError> {
    let limit = parse_limit(query.limit, 20)?;
    let after = by_key::parse(query.cursor.as_deref())?;
    if query.skill.trim().is_empty() {
        return Err(ApiError::bad_request("name a skill: skill=…"));
    }
    if query.skill.chars().count() > Tag::MAX {
        return Err(ApiError::bad_request("skill is at most 40 characters"));
    }
    // a skill that is no valid tag is on no video
    let Ok(skill) = Tag::parse(&query.skill) else {
        return Ok(web::Json(Page {
            items: Vec::new(),
            next_cursor: None,
        }));
    };
    let rows = skillreel_db::with_listing_rule!(people_on_skill!(
        user.id.as_uuid(),
        user.is_admin(),
        "published",
        skill.as_str(),
        after.map(|a| a.0),
        after.map(|a| a.1),
        limit + 1,
    ))
    .fetch_all(&ctx.pool)
    .await?;
    let people = rows.into_iter().map(|r| r.into_person(reason_on_skill)).collect();
    Ok(web::Json(Page::of(people, limit, |p| by_key::encode(p.score, p.id))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyPeopleQuery {
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// From the previous page's `next_cursor`.
    #[param(
        max_length = 200,
        pattern = "^$|^-?[0-9]+(\\.[0-9]+)?~[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    cursor: Option<String>,
}

/// Lists the people on the caller's top skills. `$rule` is the access policy's listing rule.
macro_rules! people_like_me {
    ($rule:literal, $($arg:expr),* $(,)?) => {
        sqlx::query_as!(
            PersonRow,
            r#"
            with mine as (
                select t.tag, sum(x.w)::float8 as weight
                  from (
                    select v.tags, 3 as w from video v where v.owner_id = $1 and v.status = 'published'
                    union all
                    select v.tags, 2 from video_progress p join video v on v.id = p.video_id
                     where p.user_id = $1 and p.completed_at is not null
                    union all
                    select v.tags, 1 from video_like l join video v on v.id = l.video_id where l.user_id = $1
                  ) x
                  cross join lateral unnest(x.tags) as t (tag)
                 group by t.tag
                 order by weight desc, t.tag
                 limit 5
            ), skilled as (
                select v.id, v.owner_id, v.tags from video v
                 where v.tags && (select coalesce(array_agg(tag), '{}') from mine) and "# + $rule + r#"
            ), acts as (
                select s.owner_id as user_id, s.id as video_id, s.tags, 'published' as kind, 5 as w from skilled s
                union all
                select p.user_id, s.id, s.tags, 'completed', 2 from video_progress p join skilled s on s.id = p.video_id
                 where p.completed_at is not null
                union all
                select l.user_id, s.id, s.tags, 'liked', 1 from video_like l join skilled s on s.id = l.video_id
            ), scored as (
                select a.user_id,
                       count(distinct a.video_id) filter (where a.kind = 'published') as published,
                       count(distinct a.video_id) filter (where a.kind = 'completed') as completed,
                       count(distinct a.video_id) filter (where a.kind = 'liked') as liked,
                       sum(a.w * m.weight)::float8 as score,
                       array_agg(distinct m.tag) as skills
                  from acts a join mine m on m.tag = any(a.tags)
                 where a.user_id <> $1
                 group by a.user_id
            )
            select s.user_id as "id!", u.name, u.team, s.published as "published!", s.completed as "completed!",
                   s.liked as "liked!", s.score as "score!", s.skills as "skills!",
                   exists (select 1 from person_follow f where f.follower_id = $1 and f.followee_id = s.user_id) as "following!"
              from scored s join app_user u on u.id = s.user_id and u.origin is null
             where ($4::float8 is null or (s.score, s.user_id) < ($4, $5::uuid))
             order by s.score desc, s.user_id desc
             limit $6
            "#,
            $($arg),*
        )
    };
}

/// `GET /api/v1/me/people`: colleagues who share the caller's skills, most active first.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn like_me(
    user: AuthUser,
    ctx: web::Data<RecommendationsContext>,
    query: web::Query<MyPeopleQuery>,
) -> Result<web::Json<Page<Person>>, ApiError> {
    let limit = parse_limit(query.limit, 20)?;
    let after = by_key::parse(query.cursor.as_deref())?;
    let rows = skillreel_db::with_listing_rule!(people_like_me!(
        user.id.as_uuid(),
        user.is_admin(),
        "published",
        after.map(|a| a.0),
        after.map(|a| a.1),
        limit + 1,
    ))
    .fetch_all(&ctx.pool)
    .await?;
    let people = rows.into_iter().map(|r| r.into_person(reason_like_me)).collect();
    Ok(web::Json(Page::of(people, limit, |p| by_key::encode(p.score, p.id))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_names_what_was_done_on_which_skills() {
        assert_eq!(
            reason_on_skill(2, 1, 3, &["rust".to_owned()]),
            "Published 2 videos, completed 1 video and liked 3 videos on rust"
        );
        assert_eq!(reason_on_skill(0, 0, 1, &["rust".to_owned()]), "Liked 1 video on rust");
        let three = ["rust".to_owned(), "go".to_owned(), "sql".to_owned()];
        assert_eq!(
            reason_like_me(1, 0, 2, &three),
            "Shares your interest in rust, go and sql: published 1 video and liked 2 videos"
        );
    }
}
