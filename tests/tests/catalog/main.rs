//! The catalog over HTTP: who may see and do what (the authorisation matrix), search
//! in two languages, pagination under inserts, exact like counts, publishing under
//! each approval policy, flags, views and people.

#[path = "../support/mod.rs"]
mod support;

mod access_rules;
mod admin;
mod contract;
mod events;
mod first_pages;
mod listing;
mod overload;
mod point_reads;
mod publishing;
mod scores;
mod search_index;
mod social;

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

/// GETs every path at once, each with its token: each answer's status and JSON body,
/// in the order asked.
async fn get_at_once<'t>(app: &TestApp, asks: impl IntoIterator<Item = (&'t str, String)>) -> Vec<(StatusCode, Value)> {
    futures_util::future::join_all(asks.into_iter().map(|(token, path)| async move {
        let r = app.get(Some(token), &path).await;
        (r.status(), r.json().await.unwrap_or_default())
    }))
    .await
}

/// The catalog's `/metrics` as it is now, read one figure at a time by the start of its
/// line (a missing line fails the test, naming it).
async fn scraped_metrics(app: &TestApp) -> impl Fn(&str) -> f64 {
    let metrics = app.get(None, "/metrics").await.text().await.unwrap_or_default();
    move |name| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
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
