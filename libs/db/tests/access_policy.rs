//! The access policy's listing rule exists twice: in Rust
//! ([`Viewer::may_list`]) and in SQL (`videos::list` and the feed). On random worlds of
//! people (roles, managers), communities (policies, members, moderators) and videos
//! (owner, status, visibility, community), every viewer's listing from the database
//! must be exactly the videos the Rust rule lets them list, on every listing path.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use skillreel_db::videos::{self, CommonList, Sort, VideoFilter};
use skillreel_domain::access::{Membership, VideoFacts, Viewer};
use skillreel_domain::{ApprovalPolicy, CommunityId, Roles, UserId, VideoStatus, Visibility};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

const CASES: u32 = 1_000;
const PEOPLE: usize = 4;
const COMMUNITIES: usize = 3;
/// At most a default page, so the feed's one page holds every listable video.
const VIDEOS: usize = 12;

#[derive(Debug, Clone)]
struct World {
    /// Per person: admin, org moderator, index of their manager.
    people: Vec<(bool, bool, Option<usize>)>,
    policies: Vec<ApprovalPolicy>,
    /// `memberships[person][community]`.
    memberships: Vec<Vec<Membership>>,
    /// Owner, status, visibility, community.
    videos: Vec<(usize, VideoStatus, Visibility, Option<usize>)>,
}

fn world() -> impl Strategy<Value = World> {
    let person = (any::<bool>(), any::<bool>(), proptest::option::of(0..PEOPLE));
    let policy = prop_oneof![
        Just(ApprovalPolicy::None),
        Just(ApprovalPolicy::Moderator),
        Just(ApprovalPolicy::Manager)
    ];
    let membership = prop_oneof![
        2 => Just(Membership::None),
        2 => Just(Membership::Member),
        1 => Just(Membership::Moderator)
    ];
    let status = proptest::sample::select(VideoStatus::ALL.to_vec());
    let visibility = prop_oneof![
        Just(Visibility::Org),
        Just(Visibility::Community),
        Just(Visibility::Unlisted),
        Just(Visibility::Federated)
    ];
    let video = (0..PEOPLE, status, visibility, proptest::option::of(0..COMMUNITIES));
    (
        proptest::collection::vec(person, PEOPLE),
        proptest::collection::vec(policy, COMMUNITIES),
        proptest::collection::vec(proptest::collection::vec(membership, COMMUNITIES), PEOPLE),
        proptest::collection::vec(video, 0..=VIDEOS),
    )
        .prop_map(|(people, policies, memberships, videos)| World {
            people,
            policies,
            memberships,
            videos,
        })
}

/// The world as rows, and as the policy sees it.
struct Stored {
    viewers: Vec<Viewer>,
    communities: Vec<CommunityId>,
    videos: Vec<(Uuid, VideoFacts)>,
}

async fn store(conn: &mut PgConnection, world: &World) -> sqlx::Result<Stored> {
    let mut viewers = Vec::new();
    for (i, (admin, moderator, _)) in world.people.iter().enumerate() {
        let mut claims = Vec::new();
        if *admin {
            claims.push("admin");
        }
        if *moderator {
            claims.push("moderator");
        }
        viewers.push(Viewer {
            id: UserId::new(),
            subject: format!("person-{i}"),
            roles: Roles::from_claims(claims),
        });
    }
    for (viewer, (_, _, manager)) in viewers.iter().zip(&world.people) {
        sqlx::query("insert into app_user (id, subject, name, roles, manager_subject) values ($1, $2, $2, $3, $4)")
            .bind(viewer.id.as_uuid())
            .bind(&viewer.subject)
            .bind(viewer.roles.as_strings())
            .bind(manager.map(|m| format!("person-{m}")))
            .execute(&mut *conn)
            .await?;
    }
    let mut communities = Vec::new();
    for (i, policy) in world.policies.iter().enumerate() {
        let id = CommunityId::new();
        sqlx::query("insert into community (id, name, approval_policy, created_by) values ($1, $2, $3, $4)")
            .bind(id.as_uuid())
            .bind(format!("community {i} {id}"))
            .bind(policy.as_str())
            .bind(viewers[0].id.as_uuid())
            .execute(&mut *conn)
            .await?;
        communities.push(id);
    }
    for (viewer, row) in viewers.iter().zip(&world.memberships) {
        for (community, membership) in communities.iter().zip(row) {
            let role = match membership {
                Membership::None => continue,
                Membership::Member => "member",
                Membership::Moderator => "moderator",
            };
            sqlx::query("insert into community_member (community_id, user_id, role) values ($1, $2, $3)")
                .bind(community.as_uuid())
                .bind(viewer.id.as_uuid())
                .bind(role)
                .execute(&mut *conn)
                .await?;
        }
    }
    let mut videos = Vec::new();
    for (i, (owner, status, visibility, community)) in world.videos.iter().enumerate() {
        let id = Uuid::new_v4();
        let community = community.map(|c| communities[c]);
        sqlx::query(
            "insert into video (id, owner_id, title, tags, status, visibility, community_id, published_at, created_at)
             values ($1, $2, 'video', '{lesson}', $3, $4, $5, case when $3 = 'published' then now() end, now() - make_interval(secs => $6))",
        )
        .bind(id)
        .bind(viewers[*owner].id.as_uuid())
        .bind(status.as_str())
        .bind(visibility.as_str())
        .bind(community.map(|c| c.as_uuid()))
        .bind(i as f64)
        .execute(&mut *conn)
        .await?;
        let owner_manager = world.people[*owner].2.map(|m| format!("person-{m}"));
        let policy = community
            .map(|c| world.policies[communities.iter().position(|x| *x == c).unwrap_or(0)])
            .unwrap_or_default();
        videos.push((
            id,
            VideoFacts {
                owner: viewers[*owner].id,
                owner_manager,
                status: *status,
                visibility: *visibility,
                community,
                policy,
            },
        ));
    }
    Ok(Stored {
        viewers,
        communities,
        videos,
    })
}

/// The listing paths `videos::list` takes: the feed, the filtered recent walk, the
/// ranked sorts and a search.
#[derive(Debug, Clone, Copy)]
enum Path {
    Feed,
    Recent,
    Popular,
    Trending,
    /// Every video has the tag: the tag's own index, with the same rule.
    Tag,
    Search,
    /// Every reader's first pages (feed, popular, trending, the tag, each community)
    /// asked in one statement (`videos::first_pages`).
    FirstPages,
}

async fn listed_by_sql(
    conn: &mut PgConnection,
    viewer: &Viewer,
    status: VideoStatus,
    path: Path,
) -> Result<BTreeSet<Uuid>, videos::VideoQueryError> {
    let (filter, sort, limit) = match path {
        Path::Feed => (VideoFilter::default(), Sort::Recent, videos::DEFAULT_PAGE + 1),
        Path::Recent => (VideoFilter::default(), Sort::Recent, 100),
        // The default page (a literal limit) and another size (a bound one): both
        // statements of the index walks. Every world fits a default page.
        Path::Popular => (VideoFilter::default(), Sort::Popular, videos::DEFAULT_PAGE + 1),
        Path::Trending => (VideoFilter::default(), Sort::Trending, 100),
        Path::Tag => (
            VideoFilter {
                tag: Some("lesson".into()),
                ..VideoFilter::default()
            },
            Sort::Recent,
            videos::DEFAULT_PAGE + 1,
        ),
        Path::Search => (
            VideoFilter {
                words: Some("video".into()),
                ..VideoFilter::default()
            },
            Sort::Relevance,
            100,
        ),
        Path::FirstPages => unreachable!("asked together: see `first_pages_agree`"),
    };
    let listed = videos::list(conn, viewer.id, viewer.is_admin(), status, &filter, sort, None, limit).await?;
    Ok(listed.videos.iter().map(|v| v.id.as_uuid()).collect())
}

fn listed_by_rust(stored: &Stored, world: &World, who: usize, status: VideoStatus) -> BTreeSet<Uuid> {
    let viewer = &stored.viewers[who];
    stored
        .videos
        .iter()
        .filter(|(_, facts)| {
            let membership = facts
                .community
                .and_then(|c| stored.communities.iter().position(|x| *x == c))
                .map(|c| world.memberships[who][c])
                .unwrap_or_default();
            viewer.may_list(status, facts, membership)
        })
        .map(|(id, _)| *id)
        .collect()
}

/// Every reader's (not admins') first pages, asked in one batch: each the videos the Rust
/// rule lets that reader list (of the community, for a community's page), and each
/// exactly the page, whole rows and keys included, that the reader's single statement
/// answers.
/// Returns how many pages were compared.
async fn first_pages_agree(
    conn: &mut PgConnection,
    stored: &Stored,
    world: &World,
    case: usize,
) -> Result<usize, videos::VideoQueryError> {
    let mut pages = vec![
        (CommonList::Feed, VideoFilter::default(), Sort::Recent),
        (CommonList::Popular, VideoFilter::default(), Sort::Popular),
        (CommonList::Trending, VideoFilter::default(), Sort::Trending),
        (
            CommonList::Tag("lesson".into()),
            VideoFilter {
                tag: Some("lesson".into()),
                ..VideoFilter::default()
            },
            Sort::Recent,
        ),
    ];
    for community in &stored.communities {
        let filter = VideoFilter {
            community: Some(*community),
            ..VideoFilter::default()
        };
        pages.push((CommonList::Community(*community), filter, Sort::Recent));
    }
    let readers: Vec<usize> = (0..PEOPLE).filter(|&who| !stored.viewers[who].is_admin()).collect();
    let asks: Vec<(UserId, CommonList)> = readers
        .iter()
        .flat_map(|&who| {
            pages
                .iter()
                .map(move |(page, _, _)| (stored.viewers[who].id, page.clone()))
        })
        .collect();
    let answers = videos::first_pages(conn, &asks).await?;
    assert_eq!(answers.len(), asks.len(), "case {case}: one page per ask");
    let mut answers = answers.into_iter();
    for &who in &readers {
        let viewer = &stored.viewers[who];
        for (page, filter, sort) in &pages {
            let Some(batched) = answers.next() else { unreachable!() };
            let ids: Vec<Uuid> = batched.videos.iter().map(|v| v.id.as_uuid()).collect();
            let single = videos::list(conn, viewer.id, false, VideoStatus::Published, filter, *sort, None, 21).await?;
            let single_ids: Vec<Uuid> = single.videos.iter().map(|v| v.id.as_uuid()).collect();
            assert_eq!(
                (&ids, &batched.keys),
                (&single_ids, &single.keys),
                "case {case}: person {who}'s {page:?}, batched and alone"
            );
            // Whole rows too: tag and community pages come back from their walk, the
            // others from a second statement.
            assert!(
                batched.videos == single.videos,
                "case {case}: person {who}'s {page:?}, the same videos batched and alone"
            );
            let mut rust = listed_by_rust(stored, world, who, VideoStatus::Published);
            if let CommonList::Community(community) = page {
                rust.retain(|id| {
                    stored
                        .videos
                        .iter()
                        .any(|(v, f)| v == id && f.community == Some(*community))
                });
            }
            assert_eq!(
                ids.into_iter().collect::<BTreeSet<_>>(),
                rust,
                "case {case}: person {who}'s {page:?} in {world:#?}"
            );
        }
    }
    Ok(asks.len())
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_sql_listing_rule_and_the_rust_policy_agree_on_random_worlds(pool: PgPool) -> sqlx::Result<()> {
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        ..Config::default()
    });
    let strategy = world();
    let paths = [
        Path::Feed,
        Path::Recent,
        Path::Popular,
        Path::Trending,
        Path::Tag,
        Path::Search,
        Path::FirstPages,
    ];
    let statuses = [VideoStatus::Published, VideoStatus::PendingReview, VideoStatus::Ready];
    let mut compared = 0;
    for case in 0..CASES as usize {
        let world = strategy
            .new_tree(&mut runner)
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?
            .current();
        let mut tx = pool.begin().await?;
        let stored = store(&mut tx, &world).await?;
        let path = paths[case % paths.len()];
        if matches!(path, Path::FirstPages) {
            // The batch reads in a snapshot transaction of its own: the world is
            // committed for it, and emptied after (this database is the test's alone).
            tx.commit().await?;
            let mut conn = pool.acquire().await?;
            compared += first_pages_agree(&mut conn, &stored, &world, case)
                .await
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            sqlx::query("truncate video, community, app_user cascade")
                .execute(&mut *conn)
                .await?;
            continue;
        }
        // The feed lists published videos to people who aren't admins only.
        let status = match path {
            Path::Feed => VideoStatus::Published,
            _ => statuses[(case / paths.len()) % statuses.len()],
        };
        for who in 0..PEOPLE {
            if matches!(path, Path::Feed) && stored.viewers[who].is_admin() {
                continue;
            }
            let sql = listed_by_sql(&mut tx, &stored.viewers[who], status, path)
                .await
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            let rust = listed_by_rust(&stored, &world, who, status);
            assert_eq!(
                sql, rust,
                "case {case}: person {who} listing {status:?} by {path:?} in {world:#?}"
            );
            compared += 1;
        }
        tx.rollback().await?;
    }
    assert!(compared >= CASES as usize, "only {compared} listings compared");
    Ok(())
}
