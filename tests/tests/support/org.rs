//! The org chart the learning and recommendations tests share, on a manual clock,
//! with helpers to make videos and journeys and to call the API as each person.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use skillreel_catalog::LearningClock;
use skillreel_testkit::{token, token_in_team};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{Backend, TestApp};

/// The org chart of the tests: `ceo` manages `maria` (team lead of `platform`), who
/// manages `alice` (an engineer) and `tom` (a lead), who manages `ivan` (an intern):
/// `ivan` is an indirect report of `maria`. `omar` manages `bea` in team `sales`.
/// `root` is an admin.
pub struct Org {
    pub app: TestApp,
    pub pool: PgPool,
    pub maria: String,
    pub alice: String,
    pub tom: String,
    pub ivan: String,
    pub omar: String,
    pub bea: String,
    pub admin: String,
    pub ids: std::collections::HashMap<&'static str, Uuid>,
}

/// The instant the manual clock starts at.
pub fn start() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or_else(|e| panic!("{e}"))
}

pub async fn org(db: &PgConnectOptions, tweak: impl FnOnce(&mut skillreel_config::Settings)) -> Org {
    let app = TestApp::spawn_with_clock(db, Backend::Local, LearningClock::manual(start()), tweak).await;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let people = [
        (
            "maria",
            token_in_team("maria", &["manager"], Some("ceo"), Some("platform")),
        ),
        ("alice", token_in_team("alice", &[], Some("maria"), Some("platform"))),
        (
            "tom",
            token_in_team("tom", &["manager"], Some("maria"), Some("platform")),
        ),
        ("ivan", token_in_team("ivan", &[], Some("tom"), Some("platform"))),
        ("omar", token_in_team("omar", &["manager"], Some("ceo"), Some("sales"))),
        ("bea", token_in_team("bea", &[], Some("omar"), Some("sales"))),
        ("root", token("root", &["admin"])),
    ];
    let mut ids = std::collections::HashMap::new();
    for (name, t) in &people {
        ids.insert(*name, id_of(&app.me(t).await));
    }
    let [maria, alice, tom, ivan, omar, bea, admin] = people.map(|(_, t)| t);
    Org {
        app,
        pool,
        maria,
        alice,
        tom,
        ivan,
        omar,
        bea,
        admin,
        ids,
    }
}

pub fn id_of(v: &Value) -> Uuid {
    v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no id in {v}"))
}

impl Org {
    pub fn id(&self, name: &str) -> Uuid {
        self.ids
            .get(name)
            .copied()
            .unwrap_or_else(|| panic!("nobody called {name}"))
    }

    /// A community `owner` (by name) creates, with its approval `policy`; they
    /// moderate it.
    pub async fn community(&self, owner: &str, name: &str, policy: &str) -> Uuid {
        let created = self
            .ok(
                Method::POST,
                "/api/v1/communities",
                self.token(owner),
                Some(json!({ "name": name, "approval_policy": policy })),
                StatusCode::CREATED,
            )
            .await;
        id_of(&created)
    }

    /// A published, transcoded video of `owner`'s, `seconds` long (rows as the
    /// transcoder and publishing leave them; playback is not what these tests are about).
    pub async fn video(&self, owner: &str, title: &str, seconds: i64) -> Uuid {
        self.video_in(owner, title, seconds, "published", "org", None).await
    }

    pub async fn video_in(
        &self,
        owner: &str,
        title: &str,
        seconds: i64,
        status: &str,
        visibility: &str,
        community: Option<Uuid>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into video (id, owner_id, title, status, visibility, community_id, hls_key, duration_ms, width, height,
                                published_at)
             values ($1, $2, $3, $4, $5, $6, 'videos/x/master.m3u8', $7, 1280, 720,
                     case when $4 = 'published' then now() end)",
        )
        .bind(id)
        .bind(self.id(owner))
        .bind(title)
        .bind(status)
        .bind(visibility)
        .bind(community)
        .bind(seconds * 1000)
        .execute(&self.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        id
    }

    pub async fn call(&self, method: Method, path: &str, who: &str, body: Option<Value>) -> reqwest::Response {
        self.app.call(method, path, who, body).await
    }

    /// Calls and asserts the status, returning the JSON body.
    pub async fn ok(&self, method: Method, path: &str, who: &str, body: Option<Value>, want: StatusCode) -> Value {
        let r = self.call(method.clone(), path, who, body).await;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert_eq!(status, want, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub fn token(&self, name: &str) -> &str {
        match name {
            "maria" => &self.maria,
            "alice" => &self.alice,
            "tom" => &self.tom,
            "ivan" => &self.ivan,
            "omar" => &self.omar,
            "bea" => &self.bea,
            "root" => &self.admin,
            other => panic!("nobody called {other}"),
        }
    }

    /// A published journey of `owner`'s (by name) through `videos`.
    pub async fn journey(&self, owner: &str, title: &str, videos: &[Uuid]) -> Uuid {
        let owner = self.token(owner);
        let steps: Vec<Value> = videos.iter().map(|v| json!({ "video_id": v })).collect();
        let created = self
            .ok(
                Method::POST,
                "/api/v1/journeys",
                owner,
                Some(json!({ "title": title, "skills": ["rust"], "steps": steps })),
                StatusCode::CREATED,
            )
            .await;
        let id = id_of(&created);
        let published = self
            .ok(
                Method::POST,
                &format!("/api/v1/journeys/{id}/publish"),
                owner,
                None,
                StatusCode::OK,
            )
            .await;
        assert_eq!(published["status"], "published");
        id
    }

    /// One heartbeat.
    pub async fn beat(
        &self,
        who: &str,
        video: Uuid,
        session: Uuid,
        sequence: i64,
        position: f64,
        playing: bool,
    ) -> reqwest::Response {
        self.call(
            Method::POST,
            &format!("/api/v1/videos/{video}/progress"),
            who,
            Some(json!({ "session_id": session, "sequence": sequence, "position": position, "playing": playing })),
        )
        .await
    }

    /// Plays `video` from `from` to `to` seconds in real-time steps of 10 s on the
    /// manual clock, in a new session; returns the last answer.
    pub async fn watch(&self, who: &str, video: Uuid, from: f64, to: f64) -> Value {
        let session = Uuid::now_v7();
        let mut last = Value::Null;
        let (mut position, mut sequence) = (from, 0);
        let r = self.beat(who, video, session, sequence, position, true).await;
        assert_eq!(r.status(), StatusCode::OK);
        while position < to {
            self.app.clock.advance(Duration::seconds(10));
            position = (position + 10.0).min(to);
            sequence += 1;
            let r = self.beat(who, video, session, sequence, position, true).await;
            assert_eq!(r.status(), StatusCode::OK);
            last = r.json().await.unwrap_or_default();
        }
        last
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}
