//! Journeys in PostgreSQL: one row per journey, its steps in order, and the listing,
//! restricted by the access policy's listing rule (the same SQL as for videos:
//! `skillreel_db::with_listing_rule!`, shown to agree with the Rust rule by the
//! property test in `libs/db/tests/access_policy.rs`).

use skillreel_domain::access::VideoFacts;
use skillreel_domain::learning::JourneyStatus;
use skillreel_domain::{ApprovalPolicy, CommunityId, JourneyId, UserId, Visibility};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// A journey as stored, with what the access policy needs.
#[derive(Debug, Clone)]
pub struct JourneyRecord {
    pub id: JourneyId,
    pub owner_id: UserId,
    pub owner_name: String,
    pub owner_manager: Option<String>,
    pub title: String,
    pub description: String,
    pub skills: Vec<String>,
    pub status: JourneyStatus,
    pub visibility: Visibility,
    pub community_id: Option<CommunityId>,
    pub policy: ApprovalPolicy,
    pub language: String,
    pub review_reason: Option<String>,
    pub published_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The instance it comes from (`host[:port]`), when a partner published it.
    pub origin: Option<String>,
}

impl JourneyRecord {
    /// The journey as the access policy sees it: like a video in the matching state.
    pub fn facts(&self) -> VideoFacts {
        VideoFacts {
            owner: self.owner_id,
            owner_manager: self.owner_manager.clone(),
            status: self.status.as_content_status(),
            visibility: self.visibility,
            community: self.community_id,
            policy: self.policy,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("a stored journey holds an invalid value: {0}")]
    Invalid(#[from] skillreel_domain::ValidationError),
}

/// The journeys with these ids, in the order given (missing ones left out).
pub async fn load(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<JourneyRecord>, StoreError> {
    let rows = sqlx::query!(
        r#"
        select j.id, j.owner_id, u.name as owner_name, u.manager_subject as owner_manager,
               j.title, j.description, j.skills, j.status, j.visibility, j.community_id,
               coalesce(c.approval_policy, 'none') as "policy!", j.language, j.review_reason,
               j.published_at, j.created_at, j.updated_at, j.origin
          from journey j
          join app_user u on u.id = j.owner_id
          left join community c on c.id = j.community_id
         where j.id = any($1)
        "#,
        ids
    )
    .fetch_all(conn)
    .await?;
    let mut records = rows
        .into_iter()
        .map(|r| {
            Ok(JourneyRecord {
                id: JourneyId::from_uuid(r.id),
                owner_id: UserId::from_uuid(r.owner_id),
                owner_name: r.owner_name,
                owner_manager: r.owner_manager,
                title: r.title,
                description: r.description,
                skills: r.skills,
                status: r.status.parse()?,
                visibility: r.visibility.parse()?,
                community_id: r.community_id.map(CommunityId::from_uuid),
                policy: r.policy.parse()?,
                language: r.language,
                review_reason: r.review_reason,
                published_at: r.published_at,
                created_at: r.created_at,
                updated_at: r.updated_at,
                origin: r.origin,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    records.sort_by_key(|j| ids.iter().position(|id| *id == j.id.as_uuid()));
    Ok(records)
}

pub async fn find(conn: &mut PgConnection, id: JourneyId) -> Result<Option<JourneyRecord>, StoreError> {
    Ok(load(conn, &[id.as_uuid()]).await?.pop())
}

/// What a new journey or an edit sets.
pub struct JourneyFields<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub skills: &'a [String],
    pub visibility: Visibility,
    pub community: Option<CommunityId>,
    pub language: &'a str,
}

pub async fn insert(
    conn: &mut PgConnection,
    id: JourneyId,
    owner: UserId,
    fields: &JourneyFields<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into journey (id, owner_id, title, description, skills, visibility, community_id, language)
        values ($1, $2, $3, $4, $5, $6, $7, $8)
        "#,
        id.as_uuid(),
        owner.as_uuid(),
        fields.title,
        fields.description,
        fields.skills,
        fields.visibility.as_str(),
        fields.community.map(|c| c.as_uuid()),
        fields.language,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes `fields` and, when `status` is given, moves the journey to it.
pub async fn update(
    conn: &mut PgConnection,
    id: JourneyId,
    fields: &JourneyFields<'_>,
    status: Option<JourneyStatus>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        update journey
           set title = $2, description = $3, skills = $4, visibility = $5, community_id = $6, language = $7,
               status = coalesce($8, status), updated_at = now()
         where id = $1
        "#,
        id.as_uuid(),
        fields.title,
        fields.description,
        fields.skills,
        fields.visibility.as_str(),
        fields.community.map(|c| c.as_uuid()),
        fields.language,
        status.map(JourneyStatus::as_str),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the journey to `to` (stamping `published_at` on first publication), with the
/// reviewer's reason when rejected. `from` guards against a concurrent change.
pub async fn set_status(
    conn: &mut PgConnection,
    id: JourneyId,
    from: JourneyStatus,
    to: JourneyStatus,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update journey
           set status = $3, review_reason = $4, updated_at = now(),
               published_at = case when $3 = 'published' then coalesce(published_at, now()) else published_at end
         where id = $1 and status = $2
        "#,
        id.as_uuid(),
        from.as_str(),
        to.as_str(),
        reason,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(conn: &mut PgConnection, id: JourneyId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!("delete from journey where id = $1", id.as_uuid())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One step as stored.
#[derive(Debug, Clone)]
pub struct StepRow {
    pub journey_id: Uuid,
    pub position: i32,
    pub video_id: Uuid,
    pub note: Option<String>,
}

/// The steps of these journeys, in order.
pub async fn steps(conn: &mut PgConnection, journeys: &[Uuid]) -> Result<Vec<StepRow>, sqlx::Error> {
    sqlx::query_as!(
        StepRow,
        r#"
        select journey_id, position, video_id, note
          from journey_step
         where journey_id = any($1)
         order by journey_id, position
        "#,
        journeys
    )
    .fetch_all(conn)
    .await
}

/// Replaces the journey's steps with `videos` (and their notes), in order. The caller
/// holds the transaction, so readers see the old list or the new one, never a mix.
pub async fn replace_steps(
    conn: &mut PgConnection,
    id: JourneyId,
    videos: &[Uuid],
    notes: &[Option<String>],
) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from journey_step where journey_id = $1", id.as_uuid())
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        r#"
        insert into journey_step (journey_id, position, video_id, note)
        select $1, s.ord::int, s.video_id, s.note
          from unnest($2::uuid[], $3::text[]) with ordinality as s (video_id, note, ord)
        "#,
        id.as_uuid(),
        videos,
        notes as &[Option<String>],
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("update journey set updated_at = now() where id = $1", id.as_uuid())
        .execute(conn)
        .await?;
    Ok(())
}

/// What a listing asks for.
pub struct JourneyQuery<'a> {
    pub viewer: UserId,
    pub admin: bool,
    pub status: JourneyStatus,
    /// Search words (letters and digits only), when searching.
    pub words: Option<&'a str>,
    pub skill: Option<&'a str>,
    pub owner: Option<Uuid>,
    pub community: Option<Uuid>,
    /// The last row of the previous page: its sort key and id.
    pub after: Option<(f64, Uuid)>,
    pub limit: i64,
}

/// Lists journey ids with their sort key: relevance when searching, else newest
/// first. `$rank` and `$search` are literals, so each branch gets its own plan.
macro_rules! journey_page {
    ($rule:literal, $rank:literal, $search:literal, $($arg:expr),* $(,)?) => {
        sqlx::query!(
            r#"
            with candidates as (
                select v.id, "# + $rank + r#" as sort_key
                  from journey v
                 where "# + $rule + $search + r#"
                   and ($5::text is null or $5 = any(v.skills))
                   and ($6::uuid is null or v.owner_id = $6)
                   and ($7::uuid is null or v.community_id = $7)
            )
            select id as "id!", sort_key as "sort_key!"
              from candidates
             where ($8::float8 is null or (sort_key, id) < ($8, $9::uuid))
             order by sort_key desc, id desc
             limit $10
            "#,
            $($arg),*
        )
    };
}

/// The page of journeys `query` asks for: `(id, sort key)`, best first.
pub async fn list(conn: &mut PgConnection, q: &JourneyQuery<'_>) -> Result<Vec<(Uuid, f64)>, sqlx::Error> {
    let (after_key, after_id) = (q.after.map(|a| a.0), q.after.map(|a| a.1));
    let args = (
        q.viewer.as_uuid(),
        q.admin,
        q.status.as_str(),
        q.words,
        q.skill,
        q.owner,
        q.community,
        after_key,
        after_id,
        q.limit,
    );
    Ok(if q.words.is_some() {
        // The same query as video search: each word as a prefix, or stemmed in English
        // or German.
        skillreel_db::with_listing_rule!(journey_page!(
            r#"ts_rank_cd(v.search, (to_tsquery('simple', regexp_replace(trim($4), '\s+', ':* & ', 'g') || ':*') || plainto_tsquery('english', $4) || plainto_tsquery('german', $4)))::float8"#,
            r#" and v.search @@ (to_tsquery('simple', regexp_replace(trim($4), '\s+', ':* & ', 'g') || ':*') || plainto_tsquery('english', $4) || plainto_tsquery('german', $4))"#,
            args.0, args.1, args.2, args.3, args.4, args.5, args.6, args.7, args.8, args.9,
        ))
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| (r.id, r.sort_key))
        .collect()
    } else {
        skillreel_db::with_listing_rule!(journey_page!(
            "extract(epoch from coalesce(v.published_at, v.created_at))::float8",
            " and $4::text is null",
            args.0,
            args.1,
            args.2,
            args.3,
            args.4,
            args.5,
            args.6,
            args.7,
            args.8,
            args.9,
        ))
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| (r.id, r.sort_key))
        .collect()
    })
}

/// The journey listing splices the access policy's listing rule over `journey`: on
/// random worlds of people (admins or not), communities and memberships, and journeys
/// in every state and visibility, every viewer's listing in every state must be
/// exactly what [`Viewer::may_list`](skillreel_domain::access::Viewer::may_list) lets
/// them list (the video listing has the same test in `libs/db/tests/access_policy.rs`).
#[cfg(test)]
mod listing_rule {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    use skillreel_domain::access::{Membership, Viewer};
    use skillreel_domain::{Role, Roles};
    use sqlx::PgPool;

    use super::*;

    const CASES: u32 = 1_000;
    const PEOPLE: usize = 4;
    const COMMUNITIES: usize = 3;
    const JOURNEYS: usize = 10;
    const STATES: [JourneyStatus; 4] = [
        JourneyStatus::Draft,
        JourneyStatus::PendingReview,
        JourneyStatus::Published,
        JourneyStatus::Rejected,
    ];

    #[derive(Debug, Clone)]
    struct World {
        admins: Vec<bool>,
        /// `memberships[person][community]`.
        memberships: Vec<Vec<Membership>>,
        /// Owner, status, visibility, community.
        journeys: Vec<(usize, JourneyStatus, Visibility, Option<usize>)>,
    }

    fn world() -> impl Strategy<Value = World> {
        let membership = prop_oneof![
            2 => Just(Membership::None),
            2 => Just(Membership::Member),
            1 => Just(Membership::Moderator)
        ];
        let visibility = prop_oneof![
            Just(Visibility::Org),
            Just(Visibility::Community),
            Just(Visibility::Unlisted)
        ];
        let journey = (
            0..PEOPLE,
            proptest::sample::select(STATES.to_vec()),
            visibility,
            proptest::option::of(0..COMMUNITIES),
        );
        (
            proptest::collection::vec(any::<bool>(), PEOPLE),
            proptest::collection::vec(proptest::collection::vec(membership, COMMUNITIES), PEOPLE),
            proptest::collection::vec(journey, 0..=JOURNEYS),
        )
            .prop_map(|(admins, memberships, journeys)| World {
                admins,
                memberships,
                journeys,
            })
    }

    #[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
    async fn the_journey_listing_and_the_rust_policy_agree_on_random_worlds(pool: PgPool) -> sqlx::Result<()> {
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            ..Config::default()
        });
        for case in 0..CASES {
            let world = world()
                .new_tree(&mut runner)
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?
                .current();
            let mut tx = pool.begin().await?;
            let people: Vec<Uuid> = (0..PEOPLE).map(|_| Uuid::now_v7()).collect();
            for (i, id) in people.iter().enumerate() {
                let roles = if world.admins[i] {
                    vec!["admin"]
                } else {
                    vec!["employee"]
                };
                sqlx::query("insert into app_user (id, subject, name, roles) values ($1, $2, $2, $3)")
                    .bind(id)
                    .bind(format!("p{case}-{i}"))
                    .bind(&roles)
                    .execute(&mut *tx)
                    .await?;
            }
            let communities: Vec<Uuid> = (0..COMMUNITIES).map(|_| Uuid::now_v7()).collect();
            for (c, id) in communities.iter().enumerate() {
                sqlx::query("insert into community (id, name, created_by) values ($1, $2, $3)")
                    .bind(id)
                    .bind(format!("c{case}-{c}"))
                    .bind(people[0])
                    .execute(&mut *tx)
                    .await?;
                for (p, person) in people.iter().enumerate() {
                    let role = match world.memberships[p][c] {
                        Membership::None => continue,
                        Membership::Member => "member",
                        Membership::Moderator => "moderator",
                    };
                    sqlx::query("insert into community_member (community_id, user_id, role) values ($1, $2, $3)")
                        .bind(id)
                        .bind(person)
                        .bind(role)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let mut journeys = Vec::new();
            for (owner, status, visibility, community) in &world.journeys {
                let id = Uuid::now_v7();
                sqlx::query(
                    "insert into journey (id, owner_id, title, status, visibility, community_id) values ($1, $2, 'J', $3, $4, $5)",
                )
                .bind(id)
                .bind(people[*owner])
                .bind(status.as_str())
                .bind(visibility.as_str())
                .bind(community.map(|c| communities[c]))
                .execute(&mut *tx)
                .await?;
                journeys.push(id);
            }
            for (who, person) in people.iter().enumerate() {
                let viewer = Viewer {
                    id: UserId::from_uuid(*person),
                    subject: format!("p{case}-{who}"),
                    roles: Roles::from_claims([if world.admins[who] {
                        Role::Admin.as_str()
                    } else {
                        "employee"
                    }]),
                };
                for status in STATES {
                    let query = JourneyQuery {
                        viewer: viewer.id,
                        admin: world.admins[who],
                        status,
                        words: None,
                        skill: None,
                        owner: None,
                        community: None,
                        after: None,
                        limit: 100,
                    };
                    let by_sql: BTreeSet<Uuid> = list(&mut tx, &query).await?.into_iter().map(|(id, _)| id).collect();
                    let by_rust: BTreeSet<Uuid> = world
                        .journeys
                        .iter()
                        .zip(&journeys)
                        .filter(|((owner, state, visibility, community), _)| {
                            let facts = VideoFacts {
                                owner: UserId::from_uuid(people[*owner]),
                                owner_manager: None,
                                status: state.as_content_status(),
                                visibility: *visibility,
                                community: community.map(|c| CommunityId::from_uuid(communities[c])),
                                policy: ApprovalPolicy::None,
                            };
                            let membership = community.map_or(Membership::None, |c| world.memberships[who][c]);
                            viewer.may_list(status.as_content_status(), &facts, membership)
                        })
                        .map(|(_, id)| *id)
                        .collect();
                    assert_eq!(by_sql, by_rust, "case {case}, viewer {who}, {status}: {world:?}");
                }
            }
            tx.rollback().await?;
        }
        Ok(())
    }
}
