//! The catalog over HTTP: who may see and do what (the authorisation matrix), search
//! in two languages, pagination under inserts, exact like counts, publishing under
//! each approval policy, flags, views and people.

mod support;

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use skillreel_testkit::{token, token_with_manager};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::{Backend, TestApp, assert_problem};
use uuid::Uuid;

/// The cast of the matrix: an author, a colleague, the author's manager, another
/// manager, a moderator of the community, an admin.
struct World {
    app: TestApp,
    pool: PgPool,
    author: String,
    other: String,
    manager: String,
    unrelated_manager: String,
    moderator: String,
    admin: String,
    author_id: Uuid,
    /// Policy `moderator`; the author and the moderator are members.
    community: Uuid,
}

async fn world(db: &PgConnectOptions, tweak: impl FnOnce(&mut skillreel_config::Settings)) -> World {
    let app = TestApp::spawn(db, Backend::Local, tweak).await;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let w = World {
        author: token_with_manager("alice", &[], Some("maria")),
        other: token("bob", &[]),
        manager: token("maria", &["manager"]),
        unrelated_manager: token("omar", &["manager"]),
        moderator: token("mo", &[]),
        admin: token("root", &["admin"]),
        author_id: Uuid::nil(),
        community: Uuid::nil(),
        app,
        pool,
    };
    let author_id = id_of(&w.app.me(&w.author).await);
    for t in [&w.other, &w.manager, &w.unrelated_manager, &w.moderator, &w.admin] {
        w.app.me(t).await;
    }
    let community = w.create_community(&w.moderator, "Rustaceans", "moderator").await;
    w.join(&w.author, community).await;
    World {
        author_id,
        community,
        ..w
    }
}

fn id_of(v: &Value) -> Uuid {
    v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no id in {v}"))
}

impl World {
    async fn create_community(&self, who: &str, name: &str, policy: &str) -> Uuid {
        let r = self
            .app
            .call(
                Method::POST,
                "/api/v1/communities",
                who,
                Some(json!({ "name": name, "description": "People who care", "approval_policy": policy })),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        id_of(&r.json().await.unwrap_or_default())
    }

    async fn join(&self, who: &str, community: Uuid) {
        let r = self
            .app
            .call(
                Method::PUT,
                &format!("/api/v1/communities/{community}/membership"),
                who,
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    /// A transcoded video row of the author's, as the transcoder leaves it, moved to
    /// `status` (no media files: the matrix is about who is let in, not playback).
    async fn seed(&self, title: &str, status: &str, visibility: &str, community: Option<Uuid>) -> Uuid {
        self.seed_for(self.author_id, title, status, visibility, community, "en", &[])
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn seed_for(
        &self,
        owner: Uuid,
        title: &str,
        status: &str,
        visibility: &str,
        community: Option<Uuid>,
        language: &str,
        tags: &[&str],
    ) -> Uuid {
        let id = Uuid::now_v7();
        let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
        sqlx::query(
            "insert into video (id, owner_id, title, description, tags, status, visibility, community_id, language,
                                hls_key, thumbnail_key, duration_ms, width, height, published_at)
             values ($1, $2, $3, 'A description', $4, $5, $6, $7, $8, $9, $10, 60000, 1280, 720,
                     case when $5 = 'published' then now() end)",
        )
        .bind(id)
        .bind(owner)
        .bind(title)
        .bind(&tags)
        .bind(status)
        .bind(visibility)
        .bind(community)
        .bind(language)
        .bind(format!("videos/{id}/media/master.m3u8"))
        .bind(format!("videos/{id}/media/thumbnail.jpg"))
        .execute(&self.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        id
    }

    async fn status_of(&self, id: Uuid) -> String {
        sqlx::query_scalar("select status from video where id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn cast(&self) -> [(&'static str, &str); 6] {
        [
            ("author", &self.author),
            ("other employee", &self.other),
            ("author's manager", &self.manager),
            ("unrelated manager", &self.unrelated_manager),
            ("community moderator", &self.moderator),
            ("admin", &self.admin),
        ]
    }
}

/// One cell: `who` doing `action` gets `want`.
async fn cell(w: &World, action: &str, who: &str, method: Method, path: &str, body: Option<Value>, want: StatusCode) {
    let token = w
        .cast()
        .iter()
        .find(|(name, _)| *name == who)
        .map(|(_, t)| (*t).to_owned())
        .unwrap_or_else(|| panic!("no {who}"));
    let r = w.app.call(method, path, &token, body).await;
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, want, "{action} as {who}: {text}");
    if !status.is_success() {
        let problem: Value = serde_json::from_str(&text).unwrap_or_default();
        assert!(
            problem["code"].is_string(),
            "{action} as {who}: not a problem document: {text}"
        );
    }
}

const OK: StatusCode = StatusCode::OK;
const NO_CONTENT: StatusCode = StatusCode::NO_CONTENT;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
const ROLES: [&str; 6] = [
    "author",
    "other employee",
    "author's manager",
    "unrelated manager",
    "community moderator",
    "admin",
];

/// Every role against every action, each cell asserted. A 404 means "you cannot even
/// see it"; a 403 "you see it, but may not do this".
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_authorisation_matrix_holds(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let c = Some(w.community);
    let published = w.seed("Borrowing explained", "published", "community", c).await;
    let pending = w.seed("Lifetimes explained", "pending_review", "org", c).await;
    let ready = w.seed("Traits explained", "ready", "org", None).await;
    let org_wide = w.seed("Cargo explained", "published", "org", None).await;

    // read (and with it the signed media URL: only readers ever get one)
    let expectations = [
        (published, [OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK]),
        (pending, [OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK]),
        (ready, [OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK]),
        (org_wide, [OK, OK, OK, OK, OK, OK]),
    ];
    for (video, wants) in expectations {
        for (who, want) in ROLES.iter().zip(wants) {
            let path = format!("/api/v1/videos/{video}");
            cell(&w, "read", who, Method::GET, &path, None, want).await;
            if want == OK {
                let token = &w.cast().iter().find(|(n, _)| n == who).map(|(_, t)| (*t).to_owned());
                let v: Value = w
                    .app
                    .call(Method::GET, &path, token.as_deref().unwrap_or_default(), None)
                    .await
                    .json()
                    .await
                    .unwrap_or_default();
                assert!(v["playback"]["hls"].is_string(), "media URL for {who}: {v}");
            }
        }
    }

    // edit: the author and admins; a moderator sees it but may not rewrite it
    for (who, want) in ROLES.iter().zip([OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, OK]) {
        let body = json!({ "title": format!("Borrowing, edited by the {who}") });
        cell(
            &w,
            "edit",
            who,
            Method::PATCH,
            &format!("/api/v1/videos/{published}"),
            Some(body),
            want,
        )
        .await;
    }
    // The author's edit sent it back to review (its community's policy is
    // `moderator`): approved again, the rows below see it published.
    let approved = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{published}/review"),
            &w.moderator,
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);

    // delete: the author, a moderator (remove) and admins; a fresh video for each
    for (who, want) in ROLES
        .iter()
        .zip([NO_CONTENT, NOT_FOUND, NOT_FOUND, NOT_FOUND, NO_CONTENT, NO_CONTENT])
    {
        let video = w.seed("To delete", "published", "community", c).await;
        cell(
            &w,
            "delete",
            who,
            Method::DELETE,
            &format!("/api/v1/videos/{video}"),
            None,
            want,
        )
        .await;
        let after = w.status_of(video).await;
        assert_eq!(
            after == "removed",
            want == NO_CONTENT,
            "delete as {who} left it {after}"
        );
    }

    // publish: the author and admins
    for (who, want) in ROLES.iter().zip([OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK]) {
        let video = w.seed("To publish", "ready", "org", None).await;
        cell(
            &w,
            "publish",
            who,
            Method::POST,
            &format!("/api/v1/videos/{video}/publish"),
            None,
            want,
        )
        .await;
        let after = w.status_of(video).await;
        assert_eq!(after == "published", want == OK, "publish as {who} left it {after}");
    }

    // review under the `moderator` policy: its moderators and admins; the author sees
    // it but may not approve it; the manager is no reviewer here
    for (who, want) in ROLES.iter().zip([FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK]) {
        let video = w.seed("To review", "pending_review", "org", c).await;
        let body = json!({ "decision": "approve" });
        cell(
            &w,
            "review",
            who,
            Method::POST,
            &format!("/api/v1/videos/{video}/review"),
            Some(body),
            want,
        )
        .await;
        let after = w.status_of(video).await;
        assert_eq!(after == "published", want == OK, "review as {who} left it {after}");
    }

    // review under the `manager` policy: the author's manager, not another manager
    let managed = w.create_community(&w.admin, "Managers decide", "manager").await;
    w.join(&w.author, managed).await;
    for (who, want) in ROLES.iter().zip([FORBIDDEN, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, OK]) {
        let video = w
            .seed("To review by the manager", "pending_review", "org", Some(managed))
            .await;
        let body = json!({ "decision": "reject", "reason": "Needs captions" });
        cell(
            &w,
            "review",
            who,
            Method::POST,
            &format!("/api/v1/videos/{video}/review"),
            Some(body),
            want,
        )
        .await;
        let after = w.status_of(video).await;
        assert_eq!(after == "rejected", want == OK, "review as {who} left it {after}");
    }

    // like: whoever can read a published video
    for (who, want) in ROLES.iter().zip([OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK]) {
        cell(
            &w,
            "like",
            who,
            Method::PUT,
            &format!("/api/v1/videos/{published}/like"),
            None,
            want,
        )
        .await;
    }

    // comment-remove: moderators of the video's community and admins remove a
    // member's comment; the video's author sees it but may not
    let carol = token("carol", &[]);
    w.app.me(&carol).await;
    w.join(&carol, w.community).await;
    for (who, want) in ROLES
        .iter()
        .zip([FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NO_CONTENT, NO_CONTENT])
    {
        let r = w
            .app
            .call(
                Method::POST,
                &format!("/api/v1/videos/{published}/comments"),
                &carol,
                Some(json!({ "body": "First!" })),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let comment = id_of(&r.json().await.unwrap_or_default());
        cell(
            &w,
            "remove comment",
            who,
            Method::DELETE,
            &format!("/api/v1/comments/{comment}"),
            None,
            want,
        )
        .await;
    }

    // comment: whoever can read a published video
    for (who, want) in ROLES.iter().zip([
        StatusCode::CREATED,
        NOT_FOUND,
        NOT_FOUND,
        NOT_FOUND,
        StatusCode::CREATED,
        StatusCode::CREATED,
    ]) {
        let body = json!({ "body": format!("A thought from the {who}") });
        cell(
            &w,
            "comment",
            who,
            Method::POST,
            &format!("/api/v1/videos/{published}/comments"),
            Some(body),
            want,
        )
        .await;
    }

    // captions: the author and admins; a moderator sees the video but may not
    let storage = w.app.storage().await;
    let master = skillreel_storage::ObjectKey::parse(&format!("videos/{published}/media/master.m3u8"))
        .unwrap_or_else(|e| panic!("{e}"));
    skillreel_storage::put_bytes(
        storage.as_ref(),
        &master,
        bytes::Bytes::from_static(
            b"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=1\n240p/index.m3u8\n",
        ),
        "application/vnd.apple.mpegurl",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let created = StatusCode::CREATED;
    for (who, want) in ROLES
        .iter()
        .zip([created, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, OK])
    {
        let token = w
            .cast()
            .iter()
            .find(|(n, _)| n == who)
            .map(|(_, t)| (*t).to_owned())
            .unwrap_or_default();
        let r = w
            .app
            .client
            .put(format!("{}/api/v1/videos/{published}/captions/en", w.app.catalog))
            .bearer_auth(token)
            .body("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status();
        assert_eq!(
            status,
            want,
            "captions as {who}: {}",
            r.text().await.unwrap_or_default()
        );
    }

    // a community's settings: its moderators and admins
    for (who, want) in ROLES.iter().zip([FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK]) {
        let body = json!({ "description": format!("Set by the {who}") });
        cell(
            &w,
            "edit community",
            who,
            Method::PATCH,
            &format!("/api/v1/communities/{}", w.community),
            Some(body),
            want,
        )
        .await;
    }

    // without a token, nothing
    let anonymous = w
        .app
        .client
        .get(format!("{}/api/v1/videos/{org_wide}", w.app.catalog))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

/// English and German, with stemming and prefixes; title matches rank first.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn search_finds_videos_in_two_languages_and_ranks_titles_first(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let a = w.author_id;
    let title_hit = w
        .seed_for(
            a,
            "Zero-downtime deployments",
            "published",
            "org",
            None,
            "en",
            &["kubernetes"],
        )
        .await;
    let tag_hit = w
        .seed_for(a, "Rolling updates", "published", "org", None, "en", &["deployment"])
        .await;
    let german = w
        .seed_for(
            a,
            "Datenbanken richtig indizieren",
            "published",
            "org",
            None,
            "de",
            &["postgres"],
        )
        .await;
    let _unrelated = w
        .seed_for(a, "Knife skills", "published", "org", None, "en", &["cooking"])
        .await;
    let _hidden = w
        .seed_for(a, "Deployment secrets", "ready", "org", None, "en", &[])
        .await;

    let search = |q: &str| {
        let path = format!("/api/v1/videos?q={q}");
        let app = &w.app;
        let who = w.other.clone();
        async move {
            let r = app.call(Method::GET, &path, &who, None).await;
            assert_eq!(r.status(), StatusCode::OK);
            let page: Value = r.json().await.unwrap_or_default();
            page["items"]
                .as_array()
                .map(|items| items.iter().map(id_of).collect::<Vec<_>>())
                .unwrap_or_default()
        }
    };
    // Stemming: "deploy" finds "deployments" and the tag "deployment"; the title
    // match first; the unpublished one never.
    assert_eq!(search("deploy").await, vec![title_hit, tag_hit]);
    // A prefix while typing.
    assert_eq!(search("deplo").await, vec![title_hit, tag_hit]);
    // German: the singular finds the plural ("Datenbank" → "Datenbanken").
    assert_eq!(search("Datenbank").await, vec![german]);
    assert_eq!(search("indizieren%20postgres").await, vec![german]);
    assert!(search("quantum").await.is_empty());
    // Hostile input is only words to us.
    assert!(search("%27%3B%20drop%20table%20video%3B--").await.len() <= 1);
    for bad in [
        "/api/v1/videos?q=%20%20",
        "/api/v1/videos?sort=relevance",
        "/api/v1/videos?sort=loud",
        "/api/v1/videos?limit=0",
    ] {
        assert_problem(
            w.app.call(Method::GET, bad, &w.other, None).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
    }
}

/// Pages stay stable while new videos are published: nothing is skipped or repeated.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn pagination_is_stable_under_concurrent_inserts(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let mut original = HashSet::new();
    for i in 0..30 {
        original.insert(w.seed(&format!("Video {i}"), "published", "org", None).await);
    }
    let inserter = {
        let pool = w.pool.clone();
        let author = w.author_id;
        tokio::spawn(async move {
            for i in 0..20 {
                sqlx::query(
                    "insert into video (id, owner_id, title, status, published_at) values ($1, $2, $3, 'published', now())",
                )
                .bind(Uuid::now_v7())
                .bind(author)
                .bind(format!("Late video {i}"))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    // The default page (the feed most people see) and each sort with a small page.
    for query in [
        "",
        "sort=recent&limit=7&",
        "sort=popular&limit=7&",
        "sort=trending&limit=7&",
    ] {
        let sort = query;
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/videos?{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("cursor={c}"));
            }
            let page: Value = w
                .app
                .call(Method::GET, &path, &w.other, None)
                .await
                .json()
                .await
                .unwrap_or_default();
            seen.extend(page["items"].as_array().into_iter().flatten().map(id_of));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let unique: HashSet<_> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: a video came twice");
        assert!(original.is_subset(&unique), "{sort}: a video was skipped");
    }
    let _ = inserter.await;
}

/// 100 people like at once, then half unlike while the other half like again: the
/// count is exact.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn like_counts_are_exact_under_concurrency(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |s| s.database.max_connections = 30).await;
    let video = w.seed("Popular", "published", "org", None).await;
    let people: Vec<String> = (0..100).map(|i| token(&format!("fan-{i}"), &[])).collect();
    let path = format!("/api/v1/videos/{video}/like");
    async fn run(app: &TestApp, path: &str, method: Method, who: &[String]) -> Vec<reqwest::Response> {
        futures_util::future::join_all(who.iter().map(|t| app.call(method.clone(), path, t, None))).await
    }
    for r in run(&w.app, &path, Method::PUT, &people).await {
        assert_eq!(r.status(), StatusCode::OK);
    }
    let (first, second) = people.split_at(50);
    let (unlikes, relikes) = tokio::join!(
        run(&w.app, &path, Method::DELETE, first),
        run(&w.app, &path, Method::PUT, second)
    );
    assert!(unlikes.iter().chain(&relikes).all(|r| r.status() == StatusCode::OK));
    let v: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}"), &people[60], None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["like_count"], 50, "{v}");
    assert_eq!(v["liked"], true);
    let rows: i64 = sqlx::query_scalar("select count(*) from video_like where video_id = $1")
        .bind(video)
        .fetch_one(&w.pool)
        .await
        .unwrap_or_default();
    assert_eq!(rows, 50);
}

/// Asks `base` (a catalog replica) for the video as `who` until `done` holds of the
/// status and body, for at most 10 s; returns the last answer.
async fn until_seen(
    w: &World,
    base: &str,
    who: &str,
    video: Uuid,
    done: impl Fn(StatusCode, &Value) -> bool,
) -> (StatusCode, Value) {
    let mut last = (StatusCode::IM_A_TEAPOT, Value::Null);
    for _ in 0..100 {
        let r = w
            .app
            .call_on(base, Method::GET, &format!("/api/v1/videos/{video}"), who, None)
            .await;
        last = (r.status(), r.json().await.unwrap_or_default());
        if done(last.0, &last.1) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    last
}

/// Two catalog replicas, each with its read cache: a change made through one, or
/// straight in the database, reaches what the other serves; the caller reads their own
/// write at once; and the cache really serves (a change that bypasses the triggers is
/// not seen, which is what the triggers are for).
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_read_cache_follows_changes_made_anywhere(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let (a, b) = (w.app.catalog.clone(), w.app.spawn_catalog_replica().await);
    let video = w.seed("Cached lesson", "published", "org", None).await;

    // Served from memory: a title changed behind the triggers' back stays unseen on `a`.
    let mut cached = false;
    for round in 0..50 {
        let (status, _) = until_seen(&w, &a, &w.other, video, |s, _| s == StatusCode::OK).await;
        assert_eq!(status, StatusCode::OK);
        let mut tx = w.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
        for statement in [
            "set local session_replication_role = replica".to_owned(),
            format!("update video set title = 'Unseen {round}' where id = '{video}'"),
        ] {
            sqlx::query(&statement)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let (_, body) = until_seen(&w, &a, &w.other, video, |_, _| true).await;
        if !body["title"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("Unseen {round}"))
        {
            cached = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(cached, "the catalog never answered from memory");

    // The author renames it through `b`: `a` follows.
    let r = w
        .app
        .call_on(
            &b,
            Method::PATCH,
            &format!("/api/v1/videos/{video}"),
            &w.author,
            Some(json!({ "title": "Renamed lesson" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, body) = until_seen(&w, &a, &w.other, video, |_, v| v["title"] == "Renamed lesson").await;
    assert_eq!(body["title"], "Renamed lesson");

    // Bob likes it through `b`: his like and the count show on `a`.
    let r = w
        .app
        .call_on(&b, Method::PUT, &format!("/api/v1/videos/{video}/like"), &w.other, None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, body) = until_seen(&w, &a, &w.other, video, |_, v| v["liked"] == true).await;
    assert_eq!(
        (body["liked"].clone(), body["like_count"].clone()),
        (json!(true), json!(1))
    );

    // ...and takes it back through `a`: the very next read on `a` shows it.
    let r = w
        .app
        .call(Method::DELETE, &format!("/api/v1/videos/{video}/like"), &w.other, None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = w
        .app
        .get_video(&w.other, &video.to_string())
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        (body["liked"].clone(), body["like_count"].clone()),
        (json!(false), json!(0))
    );

    // Another service writes the row (as the transcoder does): `a` follows.
    sqlx::query("update video set view_count = 42 where id = $1")
        .bind(video)
        .execute(&w.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, body) = until_seen(&w, &a, &w.other, video, |_, v| v["view_count"] == 42).await;
    assert_eq!(body["view_count"], 42);

    // A community video: Bob joins on `a` and sees it; he leaves on `b`, and `a` stops
    // showing it to him.
    let members_only = w
        .seed("Members only", "published", "community", Some(w.community))
        .await;
    let (status, _) = until_seen(&w, &a, &w.other, members_only, |_, _| true).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    w.join(&w.other, w.community).await;
    let (status, _) = until_seen(&w, &a, &w.other, members_only, |s, _| s == StatusCode::OK).await;
    assert_eq!(status, StatusCode::OK);
    let r = w
        .app
        .call_on(
            &b,
            Method::DELETE,
            &format!("/api/v1/communities/{}/membership", w.community),
            &w.other,
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = until_seen(&w, &a, &w.other, members_only, |s, _| s == StatusCode::NOT_FOUND).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The author deletes it through `b`: gone on `a`.
    let r = w
        .app
        .call_on(&b, Method::DELETE, &format!("/api/v1/videos/{video}"), &w.author, None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = until_seen(&w, &a, &w.other, video, |s, _| s == StatusCode::NOT_FOUND).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The titles a search on `base` finds for `who`, every page followed (2 a page).
async fn search_titles(w: &World, base: &str, who: &str, q: &str) -> Vec<String> {
    let (mut titles, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let mut path = format!("/api/v1/videos?q={q}&limit=2");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = w.app.call_on(base, Method::GET, &path, who, None).await;
        assert_eq!(r.status(), StatusCode::OK);
        let page: Value = r.json().await.unwrap_or_default();
        for item in page["items"].as_array().into_iter().flatten() {
            titles.push(item["title"].as_str().unwrap_or_default().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return titles,
        }
    }
}

/// Searches until `done` holds of the titles found, for at most 10 s.
async fn until_found(w: &World, base: &str, who: &str, q: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut titles = Vec::new();
    for _ in 0..100 {
        titles = search_titles(w, base, who, q).await;
        if done(&titles) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    titles
}

/// Searches are answered from each replica's memory, and follow what is published,
/// renamed and who may see it, wherever the change is made; each reader sees only
/// their share of the shared matches, page by page.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn searches_from_memory_follow_publishing_and_audience(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let (a, b) = (w.app.catalog.clone(), w.app.spawn_catalog_replica().await);
    let basics = w.seed("Kubernetes basics", "published", "org", None).await;
    let has = |titles: &[String], t: &str| titles.iter().any(|x| x == t);

    // Served from memory: the search text changed behind the triggers' back still finds it.
    let titles = until_found(&w, &a, &w.other, "kubernetes", |t| has(t, "Kubernetes basics")).await;
    assert_eq!(titles, ["Kubernetes basics"]);
    let mut cached = false;
    for _ in 0..50 {
        search_titles(&w, &a, &w.other, "kubernetes").await;
        let mut tx = w.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
        for statement in [
            "set local session_replication_role = replica".to_owned(),
            format!("update video set search = to_tsvector('simple', 'unrelated') where id = '{basics}'"),
        ] {
            sqlx::query(&statement)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        if has(
            &search_titles(&w, &a, &w.other, "kubernetes").await,
            "Kubernetes basics",
        ) {
            cached = true;
            break;
        }
        // not held yet: put the text back and try again
        sqlx::query("update video set title = title where id = $1")
            .bind(basics)
            .execute(&w.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(cached, "searches were never answered from memory");
    // Its search text put back (through the triggers, as any edit does).
    sqlx::query("update video set title = 'Kubernetes basics' || '' where id = $1")
        .bind(basics)
        .execute(&w.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // New videos, as other services publish them: `a` finds what Bob may see.
    let operators = w.seed("Kubernetes operators", "published", "org", None).await;
    w.seed("Kubernetes for members", "published", "community", Some(w.community))
        .await;
    w.seed("Kubernetes unlisted", "published", "unlisted", None).await;
    w.seed("Kubernetes draft", "ready", "org", None).await;
    let titles = until_found(&w, &a, &w.other, "kubernetes", |t| has(t, "Kubernetes operators")).await;
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(sorted, ["Kubernetes basics", "Kubernetes operators"], "{titles:?}");
    // The author (a member) sees their community and unlisted videos too, never a draft.
    let mut mine = search_titles(&w, &a, &w.author, "kubernetes").await;
    mine.sort();
    assert_eq!(
        mine,
        [
            "Kubernetes basics",
            "Kubernetes for members",
            "Kubernetes operators",
            "Kubernetes unlisted"
        ]
    );
    // Bob joins on `b`: `a` shows him the members' video.
    let r = w
        .app
        .call_on(
            &b,
            Method::PUT,
            &format!("/api/v1/communities/{}/membership", w.community),
            &w.other,
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let titles = until_found(&w, &a, &w.other, "kubernetes", |t| t.len() == 3).await;
    assert!(has(&titles, "Kubernetes for members"), "{titles:?}");

    // The author renames one on `b`: `a` stops finding it under its old words.
    let r = w
        .app
        .call_on(
            &b,
            Method::PATCH,
            &format!("/api/v1/videos/{operators}"),
            &w.author,
            Some(json!({ "title": "Terraform operators", "tags": ["terraform"] })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let titles = until_found(&w, &a, &w.other, "kubernetes", |t| !has(t, "Kubernetes operators")).await;
    assert!(
        !has(&titles, "Kubernetes operators") && !has(&titles, "Terraform operators"),
        "{titles:?}"
    );
    let titles = until_found(&w, &a, &w.other, "terraform", |t| !t.is_empty()).await;
    assert_eq!(titles, ["Terraform operators"]);
}

/// Publishing follows the community's policy; reviewers find it in their queue; the
/// author hears the decision.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn publishing_follows_each_approval_policy(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let publish = |video: Uuid, body: Value| {
        let app = &w.app;
        let who = w.author.clone();
        async move {
            let r = app
                .call(
                    Method::POST,
                    &format!("/api/v1/videos/{video}/publish"),
                    &who,
                    Some(body),
                )
                .await;
            let status = r.status();
            let v: Value = r.json().await.unwrap_or_default();
            assert_eq!(status, StatusCode::OK, "{v}");
            v
        }
    };
    // no community: published at once, and others find it
    let open = w.seed("Open", "ready", "org", None).await;
    assert_eq!(publish(open, json!({})).await["status"], "published");
    let listed: Value = w
        .app
        .call(Method::GET, "/api/v1/videos", &w.other, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(listed["items"][0]["id"], open.to_string());

    // policy `moderator`: pending, in the moderator's queue, approved
    let moderated = w.seed("Moderated", "ready", "org", None).await;
    let v = publish(
        moderated,
        json!({ "community": w.community, "visibility": "community" }),
    )
    .await;
    assert_eq!(v["status"], "pending_review");
    let queue: Value = w
        .app
        .call(Method::GET, "/api/v1/reviews", &w.moderator, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(queue["items"][0]["id"], moderated.to_string(), "{queue}");
    let empty: Value = w
        .app
        .call(Method::GET, "/api/v1/reviews", &w.other, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(empty["items"], json!([]));
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{moderated}/review"),
            &w.moderator,
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // policy `manager`: the author's manager rejects with a reason; the author edits
    // and publishes again
    let managed = w.create_community(&w.admin, "Managers decide", "manager").await;
    w.join(&w.author, managed).await;
    let video = w.seed("Managed", "ready", "org", None).await;
    assert_eq!(
        publish(video, json!({ "community": managed })).await["status"],
        "pending_review"
    );
    let queue: Value = w
        .app
        .call(Method::GET, "/api/v1/reviews", &w.manager, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(queue["items"][0]["id"], video.to_string(), "{queue}");
    assert_problem(
        w.app
            .call(
                Method::POST,
                &format!("/api/v1/videos/{video}/review"),
                &w.manager,
                Some(json!({ "decision": "reject" })),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/review"),
            &w.manager,
            Some(json!({ "decision": "reject", "reason": "Please add a summary" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mine: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}"), &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        (mine["status"].as_str(), mine["review_reason"].as_str()),
        (Some("rejected"), Some("Please add a summary"))
    );
    let theirs: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}"), &w.manager, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert!(
        theirs["status"].is_null() || theirs["review_reason"].is_null(),
        "{theirs}"
    );
    assert_eq!(publish(video, json!({})).await["status"], "pending_review");

    // the inbox tells the author both decisions
    let inbox: Value = w
        .app
        .call(Method::GET, "/api/v1/me/inbox", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    let kinds: Vec<&str> = inbox["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["video_rejected", "video_approved"], "{inbox}");
    assert_eq!(inbox["items"][0]["payload"]["reason"], "Please add a summary");

    // publishing twice, or into a community one has not joined, is refused
    assert_problem(
        w.app
            .call(Method::POST, &format!("/api/v1/videos/{open}/publish"), &w.author, None)
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let elsewhere = w.create_community(&w.other, "Closed circle", "none").await;
    let video = w.seed("Sneaky", "ready", "org", None).await;
    assert_problem(
        w.app
            .call(
                Method::POST,
                &format!("/api/v1/videos/{video}/publish"),
                &w.author,
                Some(json!({ "community": elsewhere })),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

/// Flags from enough people send a video back to review; a view counts once, after 10 s.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn flags_send_a_video_back_to_review_and_views_count_once(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |s| s.catalog.flag_threshold = 2).await;
    let video = w.seed("Controversial", "published", "org", None).await;
    let flag = |who: String| {
        let app = &w.app;
        async move {
            app.call(
                Method::POST,
                &format!("/api/v1/videos/{video}/flag"),
                &who,
                Some(json!({ "reason": "Outdated advice" })),
            )
            .await
        }
    };
    let first: Value = flag(w.other.clone()).await.json().await.unwrap_or_default();
    assert_eq!(first["sent_to_review"], false);
    // the same person twice still counts once
    let again: Value = flag(w.other.clone()).await.json().await.unwrap_or_default();
    assert_eq!(again["sent_to_review"], false);
    assert_problem(flag(w.author.clone()).await, StatusCode::CONFLICT, "conflict").await;
    let second: Value = flag(w.manager.clone()).await.json().await.unwrap_or_default();
    assert_eq!(second["sent_to_review"], true);
    assert_eq!(w.status_of(video).await, "pending_review");

    let watched = w.seed("Watched", "published", "org", None).await;
    let view = |who: String, seconds: f64| {
        let app = &w.app;
        async move {
            let r = app
                .call(
                    Method::POST,
                    &format!("/api/v1/videos/{watched}/views"),
                    &who,
                    Some(json!({ "watched_seconds": seconds })),
                )
                .await;
            r.json::<Value>().await.unwrap_or_default()
        }
    };
    assert_eq!(view(w.other.clone(), 4.0).await["counted"], false);
    assert_eq!(view(w.other.clone(), 12.0).await["counted"], true);
    assert_eq!(view(w.other.clone(), 30.0).await["counted"], false);
    let last = view(w.manager.clone(), 10.0).await;
    assert_eq!(
        (last["counted"].as_bool(), last["view_count"].as_i64()),
        (Some(true), Some(2))
    );
    assert_problem(
        w.app
            .call(
                Method::POST,
                &format!("/api/v1/videos/{watched}/views"),
                &w.other,
                Some(json!({ "watched_seconds": -1 })),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

/// Me, my videos in every state, a colleague's profile, a community's people.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn people_see_their_own_videos_and_each_others_profiles(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let a = w.author_id;
    for (title, status) in [("Failed", "failed"), ("Processing", "processing"), ("Out", "published")] {
        w.seed_for(a, title, status, "org", Some(w.community), "en", &["rust", "testing"])
            .await;
    }
    let mine: Value = w
        .app
        .call(Method::GET, "/api/v1/me/videos", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    let statuses: Vec<&str> = mine["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["published", "processing", "failed"], "{mine}");
    let failed: Value = w
        .app
        .call(Method::GET, "/api/v1/me/videos?status=failed", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(failed["items"].as_array().map(Vec::len), Some(1));

    let me = w.app.me(&w.author).await;
    assert_eq!(me["subject"], "alice");
    assert_eq!(me["manager"], "maria");
    assert_eq!(me["communities"][0]["name"], "Rustaceans");
    assert_eq!(me["published_videos"], 1);

    let profile: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/users/{a}"), &w.other, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(profile["skills"], json!(["rust", "testing"]), "{profile}");
    assert!(
        profile.get("subject").is_none(),
        "a profile shows no login details: {profile}"
    );
    assert_problem(
        w.app.call(Method::GET, "/api/v1/users/nobody", &w.other, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let members: Value = w
        .app
        .call(
            Method::GET,
            &format!("/api/v1/communities/{}/members", w.community),
            &w.other,
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(members["items"][0]["role"], "moderator", "{members}");
    assert_eq!(members["items"].as_array().map(Vec::len), Some(2));
    let top: Value = w
        .app
        .call(
            Method::GET,
            &format!("/api/v1/communities/{}/contributors", w.community),
            &w.other,
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(top["items"][0]["id"], a.to_string(), "{top}");
    assert_problem(
        w.app
            .call(
                Method::POST,
                "/api/v1/communities",
                &w.other,
                Some(json!({ "name": "rustaceans" })),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}

/// Questions get answers, one accepted; the right people hear of comments, answers
/// and mentions; people edit and delete only their own words.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn comments_thread_answer_and_mention(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let video = w.seed("Ownership", "published", "org", None).await;
    let post = |who: String, body: Value| {
        let app = &w.app;
        async move {
            let r = app
                .call(
                    Method::POST,
                    &format!("/api/v1/videos/{video}/comments"),
                    &who,
                    Some(body),
                )
                .await;
            let status = r.status();
            let v: Value = r.json().await.unwrap_or_default();
            assert_eq!(status, StatusCode::CREATED, "{v}");
            id_of(&v)
        }
    };
    let question = post(
        w.other.clone(),
        json!({ "body": "Why does the borrow end here?", "question": true }),
    )
    .await;
    let answer = post(
        w.manager.clone(),
        json!({ "body": "Non-lexical lifetimes, @bob.", "parent_id": question }),
    )
    .await;
    // a reply to a reply joins the thread
    let nested = post(
        w.other.clone(),
        json!({ "body": "Thanks, @maria and @nobody!", "parent_id": answer }),
    )
    .await;

    let threads: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}/comments"), &w.admin, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(threads.as_array().map(Vec::len), Some(1), "{threads}");
    let replies: Vec<Uuid> = threads[0]["replies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(id_of)
        .collect();
    assert_eq!(replies, vec![answer, nested]);
    assert_eq!(threads[0]["is_question"], true);

    // only the question's author, the video's author or a moderator accepts
    let accept = |who: String| {
        let app = &w.app;
        async move {
            app.call(Method::POST, &format!("/api/v1/comments/{answer}/accept"), &who, None)
                .await
        }
    };
    assert_problem(
        accept(w.unrelated_manager.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let accepted: Value = accept(w.other.clone()).await.json().await.unwrap_or_default();
    assert_eq!(accepted["accepted_answer_id"], answer.to_string(), "{accepted}");
    assert_problem(
        w.app
            .call(
                Method::POST,
                &format!("/api/v1/comments/{question}/accept"),
                &w.other,
                None,
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;

    // who heard what
    let kinds = |who: String| {
        let app = &w.app;
        async move {
            let inbox: Value = app
                .call(Method::GET, "/api/v1/me/inbox", &who, None)
                .await
                .json()
                .await
                .unwrap_or_default();
            let mut kinds: Vec<String> = inbox["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n["kind"].as_str().map(str::to_owned))
                .collect();
            kinds.sort();
            kinds
        }
    };
    assert_eq!(kinds(w.author.clone()).await, vec!["comment", "comment", "comment"]);
    assert_eq!(
        kinds(w.other.clone()).await,
        vec!["answer"],
        "bob: the answer (mentioning him) once"
    );
    assert_eq!(kinds(w.manager.clone()).await, vec!["mention"]);

    // edit and delete: one's own only
    let path = format!("/api/v1/comments/{answer}");
    assert_problem(
        w.app
            .call(
                Method::PATCH,
                &path,
                &w.other,
                Some(json!({ "body": "Edited by someone else" })),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let edited: Value = w
        .app
        .call(
            Method::PATCH,
            &path,
            &w.manager,
            Some(json!({ "body": "Non-lexical lifetimes (NLL)." })),
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(edited["body"], "Non-lexical lifetimes (NLL).");
    assert_problem(
        w.app.call(Method::DELETE, &path, &w.other, None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        w.app.call(Method::DELETE, &path, &w.manager, None).await.status(),
        StatusCode::NO_CONTENT
    );
    let gone: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}/comments"), &w.other, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        (
            gone[0]["replies"][0]["status"].as_str(),
            gone[0]["replies"][0]["body"].as_str()
        ),
        (Some("deleted"), Some(""))
    );

    // bad input
    for body in [
        json!({ "body": "   " }),
        json!({ "body": "x".repeat(5001) }),
        json!({ "body": "hi", "parent_id": Uuid::now_v7() }),
    ] {
        assert_problem(
            w.app
                .call(
                    Method::POST,
                    &format!("/api/v1/videos/{video}/comments"),
                    &w.other,
                    Some(body),
                )
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
}

/// An author's edit of what a reviewer approved goes back to review where the
/// community's policy asks for one; an unchanged value, an admin's edit, or a video
/// under no review policy stays published.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn editing_an_approved_video_sends_it_back_to_review_where_the_policy_asks(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let w = world(&db, |_| {}).await;
    let patch = |who: String, video: Uuid, body: Value| {
        let app = &w.app;
        async move {
            let r = app
                .call(Method::PATCH, &format!("/api/v1/videos/{video}"), &who, Some(body))
                .await;
            let status = r.status();
            let v: Value = r.json().await.unwrap_or_default();
            assert_eq!(status, StatusCode::OK, "{v}");
            v["status"].as_str().unwrap_or_default().to_owned()
        }
    };
    let reviewed = w.seed("Lifetimes", "published", "org", Some(w.community)).await;
    assert_eq!(
        patch(w.author.clone(), reviewed, json!({ "title": "Lifetimes" })).await,
        "published",
        "the same title is no change"
    );
    assert_eq!(
        patch(
            w.admin.clone(),
            reviewed,
            json!({ "description": "Tidied by an admin" })
        )
        .await,
        "published"
    );
    assert_eq!(
        patch(
            w.author.clone(),
            reviewed,
            json!({ "title": "Lifetimes, now with a link to my shop" })
        )
        .await,
        "pending_review"
    );
    let r = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{reviewed}"), &w.other, None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "others wait for the review");
    let approved = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{reviewed}/review"),
            &w.moderator,
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);

    let open = w.seed("Traits", "published", "org", None).await;
    assert_eq!(
        patch(w.author.clone(), open, json!({ "tags": ["rust", "traits"] })).await,
        "published",
        "no community: no review policy"
    );
}

/// A mention tells only people who may see the video: its title never reaches an
/// inbox the video itself would not.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_mention_reaches_only_people_who_may_see_the_video(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let video = w
        .seed("Members only", "published", "community", Some(w.community))
        .await;
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/comments"),
            &w.author,
            Some(json!({ "body": "@bob and @mo, have a look" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let inbox = |who: String| {
        let app = &w.app;
        async move {
            let inbox: Value = app
                .call(Method::GET, "/api/v1/me/inbox", &who, None)
                .await
                .json()
                .await
                .unwrap_or_default();
            inbox["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n["kind"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    assert!(inbox(w.other.clone()).await.is_empty(), "bob is no member");
    assert_eq!(inbox(w.moderator.clone()).await, vec!["mention"]);
}

/// A webhook receiver on a real socket: answers 500 to the first request, 200 after,
/// and keeps what it was sent (headers lowercased, body).
async fn receiver() -> (
    String,
    std::sync::Arc<tokio::sync::Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!(
        "http://{}/hook",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let seen = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let store = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let (headers, body) = loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break (Vec::new(), Vec::new());
                }
                data.extend_from_slice(&buf[..n]);
                let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&data[..end]).into_owned();
                let headers: Vec<(String, String)> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while data.len() < end + 4 + length {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                }
                break (headers, data[end + 4..].to_vec());
            };
            let mut seen = store.lock().await;
            let status = if seen.is_empty() {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            seen.push((headers, body));
            let _ = socket
                .write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes())
                .await;
        }
    });
    (url, seen)
}

/// A signed delivery, retried after a 500, and never again once it succeeded.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn webhooks_are_signed_retried_and_not_duplicated(_: PgPoolOptions, db: PgConnectOptions) {
    use base64::Engine;
    use hmac::Mac;
    // The receiver listens on loopback, which webhooks may reach only when allowed.
    let w = world(&db, |s| s.catalog.webhook_allowed_hosts = vec!["127.0.0.1".into()]).await;
    let (url, seen) = receiver().await;
    assert_problem(
        w.app
            .call(
                Method::POST,
                "/api/v1/admin/webhooks",
                &w.author,
                Some(json!({ "url": url })),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    for bad in [
        json!({ "url": "ftp://example.org" }),
        json!({ "url": url, "events": ["everything"] }),
    ] {
        assert_problem(
            w.app
                .call(Method::POST, "/api/v1/admin/webhooks", &w.admin, Some(bad))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    let created = w
        .app
        .call(
            Method::POST,
            "/api/v1/admin/webhooks",
            &w.admin,
            Some(json!({ "url": url, "events": ["video_approved"] })),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let hook: Value = created.json().await.unwrap_or_default();
    let secret = hook["secret"].as_str().unwrap_or_default().to_owned();
    assert!(secret.starts_with("whsec_"), "{hook}");

    // A comment (not subscribed) and an approval (subscribed).
    let video = w.seed("Hooked", "pending_review", "org", Some(w.community)).await;
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/review"),
            &w.moderator,
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/comments"),
            &w.other,
            Some(json!({ "body": "Nice" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // The first attempt gets a 500; the retry (after about a second) a 200.
    for _ in 0..100 {
        if seen.lock().await.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let seen = seen.lock().await;
    assert_eq!(seen.len(), 2, "one failed attempt, one success, nothing after");
    let header = |i: usize, name: &str| {
        seen[i]
            .0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header(0, "webhook-id"), header(1, "webhook-id"), "a retry keeps its id");
    for i in 0..2 {
        let (id, timestamp, body) = (header(i, "webhook-id"), header(i, "webhook-timestamp"), &seen[i].1);
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .unwrap_or_default();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap_or_else(|e| panic!("{e}"));
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        let expected = format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(header(i, "webhook-signature"), expected, "signature of attempt {i}");
        let event: Value = serde_json::from_slice(body).unwrap_or_default();
        assert_eq!(event["type"], "video_approved", "{event}");
        assert_eq!(event["data"]["video_id"], video.to_string());
        assert_eq!(event["data"]["details"]["title"], "Hooked");
    }
    let deliveries: Value = w
        .app
        .call(
            Method::GET,
            &format!("/api/v1/admin/webhooks/{}/deliveries", id_of(&hook)),
            &w.admin,
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries}");
    assert_eq!(deliveries[0]["attempts"], 2);
}

/// The org chart, as CSV or JSON: all rows or none; a manager imported here approves
/// under the `manager` policy even if their report's token has no `manager` claim.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_admin_imports_the_org_chart(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let import = |who: String, content_type: &'static str, body: String| {
        let app = &w.app;
        async move {
            app.client
                .post(format!("{}/api/v1/admin/users:import", app.catalog))
                .bearer_auth(who)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    let csv = "id,name,email,manager,team,roles\nzoe,\"Zoe, Lead\",zoe@example.org,,Platform,manager\nyan,Yan,,zoe,Platform,employee\n";
    assert_problem(
        import(w.other.clone(), "text/csv", csv.into()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let done: Value = import(w.admin.clone(), "text/csv", csv.into())
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        (done["created"].as_u64(), done["updated"].as_u64()),
        (Some(2), Some(0)),
        "{done}"
    );
    let again: Value = import(
        w.admin.clone(),
        "application/json",
        json!([{ "id": "yan", "name": "Yan Li", "manager": "zoe", "team": "Data", "roles": ["employee"] }]).to_string(),
    )
    .await
    .json()
    .await
    .unwrap_or_default();
    assert_eq!(
        (again["created"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(1))
    );

    // Bad files change nothing, and say which rows are wrong.
    let bad = "id,name,roles\nann,Ann,employee\n,Nameless,\ncid,Cid,wizard\n";
    let problem = assert_problem(
        import(w.admin.clone(), "text/csv", bad.into()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("row 3") && detail.contains("row 4") && detail.contains("wizard"),
        "{detail}"
    );
    let ann: i64 = sqlx::query_scalar("select count(*) from app_user where subject = 'ann'")
        .fetch_one(&w.pool)
        .await
        .unwrap_or(-1);
    assert_eq!(ann, 0, "a refused import created someone");
    assert_problem(
        import(w.admin.clone(), "application/xml", "<x/>".into()).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    assert_problem(
        import(w.admin.clone(), "application/json", "{".into()).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;

    // Yan signs in with a token that names no manager: the imported one still counts.
    let yan = token("yan", &[]);
    let me = w.app.me(&yan).await;
    assert_eq!(
        (me["manager"].as_str(), me["team"].as_str()),
        (Some("zoe"), Some("Data")),
        "{me}"
    );
    let managed = w.create_community(&w.admin, "Managers decide", "manager").await;
    w.join(&yan, managed).await;
    let video = w
        .seed_for(id_of(&me), "By Yan", "pending_review", "org", Some(managed), "en", &[])
        .await;
    let zoe = token("zoe", &["manager"]);
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/review"),
            &zoe,
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// The OpenAPI document covers the API and matches what the API really answers.
#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_openapi_document_describes_what_the_api_answers(_: PgPoolOptions, db: PgConnectOptions) {
    let w = world(&db, |_| {}).await;
    let fetch = |path: &str| w.app.client.get(format!("{}{path}", w.app.catalog)).send();
    let doc: Value = fetch("/api/v1/openapi.json")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, method) in [
        ("/api/v1/videos", "get"),
        ("/api/v1/videos", "post"),
        ("/api/v1/videos/{id}", "patch"),
        ("/api/v1/videos/{id}/captions/{lang}", "put"),
        ("/api/v1/uploads/{id}", "patch"),
        ("/api/v1/communities/{id}/moderators/{user_id}", "delete"),
        ("/api/v1/admin/users:import", "post"),
        ("/api/v1/media/{video_id}/{token}/{path}", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    assert_eq!(
        doc["paths"]["/api/v1/media/{video_id}/{token}/{path}"]["get"]["security"],
        json!([])
    );
    let ui = fetch("/api/docs").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap_or_default().contains("/api/v1/openapi.json"));

    // Real answers carry every field the schemas call required.
    let schemas = &doc["components"]["schemas"];
    let conforms = |schema: &str, value: &Value| {
        for field in schemas[schema]["required"].as_array().into_iter().flatten() {
            let field = field.as_str().unwrap_or_default();
            assert!(value.get(field).is_some(), "{schema} lacks `{field}`: {value}");
        }
    };
    let video = w.seed("Documented", "published", "org", Some(w.community)).await;
    let v: Value = w
        .app
        .call(Method::GET, &format!("/api/v1/videos/{video}"), &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("Video", &v);
    let page: Value = w
        .app
        .call(Method::GET, "/api/v1/videos", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("VideoPage", &page);
    let c: Value = w
        .app
        .call(
            Method::GET,
            &format!("/api/v1/communities/{}", w.community),
            &w.author,
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("Community", &c);
    let comment: Value = w
        .app
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/comments"),
            &w.author,
            Some(json!({ "body": "Hi" })),
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("Comment", &comment);
    conforms("Me", &w.app.me(&w.author).await);
    let inbox: Value = w
        .app
        .call(Method::GET, "/api/v1/me/inbox", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("InboxPage", &inbox);
    let problem: Value = w
        .app
        .call(Method::GET, "/api/v1/videos/nope", &w.author, None)
        .await
        .json()
        .await
        .unwrap_or_default();
    conforms("Problem", &problem);
}
