//! Federation over real sockets: two Skillreel instances (two servers, two databases)
//! that find each other by WebFinger and follow each other with signed activities
//! under their admins' control; and a hand-made remote actor (its own HTTP server and
//! key) that sends the inbox every kind of bad request, each refused with a clear
//! answer and nothing changed.

#[path = "../support/mod.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use skillreel_config::{FederationMode, Settings};
use skillreel_federation::keys::PrivateKey;
use skillreel_federation::signature::{self, SignatureHeader, Signer};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::{Backend, TestApp, assert_problem};

const ADMIN: &str = "fed-admin";

/// Request headers, as names and values.
type Headers = Vec<(String, String)>;
/// What the hand-made remote actor's inbox received: headers and body.
type Received = (Headers, Vec<u8>);

/// Asks `probe` every 250 ms until it answers `Ok`, for up to a minute, then fails
/// with `what` and the probe's last answer.
async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Result<T, String>) -> T {
    let mut last = String::new();
    for _ in 0..240 {
        match probe().await {
            Ok(found) => return found,
            Err(seen) => last = seen,
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{what} never happened; last seen: {last}");
}

/// One instance under test, with its admin's token.
struct Instance {
    app: TestApp,
    admin: String,
}

impl Instance {
    async fn spawn(db: &PgConnectOptions, tweak: impl FnOnce(&mut Settings)) -> Self {
        let app = TestApp::spawn(db, Backend::Local, |s| {
            s.federation.allowed_private_hosts = vec!["127.0.0.1".into()];
            s.federation.key_refresh_seconds = 0;
            tweak(s);
        })
        .await;
        Self {
            app,
            admin: skillreel_testkit::token(ADMIN, &["admin"]),
        }
    }

    fn url(&self) -> &str {
        &self.app.catalog
    }

    fn host(&self) -> String {
        self.url().trim_start_matches("http://").to_owned()
    }

    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> reqwest::Response {
        let mut request = self.app.client.request(method, format!("{}{path}", self.url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    async fn admin_ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.ok_as(&self.admin, method, path, body).await
    }

    /// As [`Instance::admin_ok`], with someone else's token.
    async fn ok_as(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
        let response = self.call(method.clone(), path, Some(token), body).await;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn get_json(&self, path: &str) -> Value {
        let response = self.call(Method::GET, path, None, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The state of the follow with `host` in `list` (`follows` or `followers`).
    async fn follow_state(&self, list: &str, host: &str) -> Option<String> {
        let follows = self
            .admin_ok(Method::GET, &format!("/api/v1/admin/federation/{list}"), None)
            .await;
        follows
            .as_array()
            .and_then(|all| all.iter().find(|f| f["instance"] == host))
            .map(|f| f["state"].as_str().unwrap_or_default().to_owned())
    }

    /// Waits (up to 30 s) until the follow with `host` in `list` is in `state`
    /// (`None`: gone).
    async fn await_follow(&self, list: &str, host: &str, state: Option<&str>) {
        let what = format!("{host} in the {list} of {} becoming {state:?}", self.url());
        eventually(&what, async || match self.follow_state(list, host).await {
            now if now.as_deref() == state => Ok(()),
            now => Err(format!("{now:?}")),
        })
        .await;
    }
}

/// The first journey `token`'s holder sees on `instance`, once there is one (up to a
/// minute).
async fn first_journey(instance: &Instance, token: &str) -> Value {
    eventually(&format!("a journey appearing on {}", instance.url()), async || {
        let journeys: Value = instance
            .call(Method::GET, "/api/v1/journeys", Some(token), None)
            .await
            .json()
            .await
            .unwrap_or_default();
        match journeys["items"].as_array().and_then(|all| all.first()) {
            Some(j) => Ok(j.clone()),
            None => Err(journeys.to_string()),
        }
    })
    .await
}

/// A pool on `db`, for a test's own queries.
async fn pool_on(db: &PgConnectOptions) -> sqlx::PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect_with(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A allows B, and B follows A (until A accepts).
async fn b_follows_a(a: &Instance, b: &Instance) {
    a.admin_ok(
        Method::PUT,
        &format!("/api/v1/admin/federation/instances/{}", b.host()),
        Some(json!({"status": "allowed"})),
    )
    .await;
    b.admin_ok(
        Method::POST,
        "/api/v1/admin/federation/follows",
        Some(json!({"instance": a.url()})),
    )
    .await;
    b.await_follow("follows", &a.host(), Some("accepted")).await;
}

/// A second database on the same server, migrated, for a second instance (named after
/// the test's own, whose name already uses all 63 characters PostgreSQL keeps).
async fn peer_database(db: &PgConnectOptions) -> PgConnectOptions {
    let own = db.get_database().unwrap_or("skillreel");
    let name = format!("peer{}", &own[own.len().saturating_sub(50)..]);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for statement in [
        format!("drop database if exists \"{name}\" with (force)"),
        format!("create database \"{name}\""),
    ] {
        sqlx::query(&statement)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let peer = db.clone().database(&name);
    let peer_pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(peer.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    skillreel_db::MIGRATOR
        .run(&peer_pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    peer
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_instance_describes_itself_by_webfinger_nodeinfo_and_its_actor(_: PgPoolOptions, db: PgConnectOptions) {
    let a = Instance::spawn(&db, |_| {}).await;
    let host = a.host();
    let finger = a
        .get_json(&format!("/.well-known/webfinger?resource=acct:{host}@{host}"))
        .await;
    let actor_id = format!("{}/federation/actor", a.url());
    assert_eq!(finger["subject"], format!("acct:{host}@{host}"));
    let link = finger["links"]
        .as_array()
        .and_then(|links| links.iter().find(|l| l["rel"] == "self"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(link["href"], actor_id.as_str(), "{finger}");
    assert_eq!(link["type"], "application/activity+json");

    let response = a.call(Method::GET, "/federation/actor", None, None).await;
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/activity+json")),
        "{response:?}"
    );
    let actor: Value = response.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(actor["id"], actor_id.as_str());
    assert_eq!(actor["type"], "Application");
    assert_eq!(
        actor["endpoints"]["sharedInbox"],
        format!("{}/federation/inbox", a.url())
    );
    assert_eq!(actor["publicKey"]["id"], format!("{actor_id}#main-key"));
    assert_eq!(actor["publicKey"]["owner"], actor_id.as_str());
    let pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap_or_default();
    assert!(signature::public_key(pem).is_ok(), "{pem}");
    // The key is made once and kept: a restart (another replica) publishes the same.
    let replica = a.app.spawn_catalog_replica().await;
    let again: Value = reqwest::get(format!("{replica}/federation/actor"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again["publicKey"]["publicKeyPem"], pem);

    // People are actors too, found by their id.
    let me = a
        .app
        .client
        .get(format!("{}/api/v1/me", a.url()))
        .bearer_auth(&a.admin)
        .send()
        .await;
    let me: Value = me
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let user = me["id"].as_str().unwrap_or_default().to_owned();
    let person_finger = a
        .get_json(&format!("/.well-known/webfinger?resource=acct:{user}@{host}"))
        .await;
    let person_id = format!("{}/federation/users/{user}", a.url());
    assert_eq!(person_finger["aliases"][0], person_id.as_str(), "{person_finger}");
    let person = a.get_json(&format!("/federation/users/{user}")).await;
    assert_eq!(person["type"], "Person");
    assert_eq!(person["name"], format!("{ADMIN} (test)"));

    let links = a.get_json("/.well-known/nodeinfo").await;
    assert_eq!(links["links"][0]["href"], format!("{}/nodeinfo/2.1", a.url()));
    let info = a.get_json("/nodeinfo/2.1").await;
    assert_eq!(info["version"], "2.1");
    assert_eq!(info["software"]["name"], "skillreel");
    assert_eq!(info["protocols"], json!(["activitypub"]));
    assert_eq!(info["usage"]["users"]["total"], 1, "{info}");
    assert_eq!(info["usage"]["localPosts"], 0);

    for (query, status) in [
        ("", StatusCode::BAD_REQUEST),
        ("?resource=acct:nobody@elsewhere.example", StatusCode::NOT_FOUND),
        (&format!("?resource=acct:not-a-person@{host}"), StatusCode::NOT_FOUND),
        (
            &format!("?resource=acct:{}@{host}", uuid::Uuid::new_v4()),
            StatusCode::NOT_FOUND,
        ),
        ("?resource=https://elsewhere.example/", StatusCode::NOT_FOUND),
    ] {
        let response = a
            .call(Method::GET, &format!("/.well-known/webfinger{query}"), None, None)
            .await;
        assert_problem(
            response,
            status,
            if status == StatusCode::NOT_FOUND {
                "not_found"
            } else {
                "bad_request"
            },
        )
        .await;
    }
    let response = a.call(Method::GET, "/federation/users/nobody", None, None).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn partners_follow_each_other_and_unfollow(_: PgPoolOptions, db: PgConnectOptions) {
    let a = Instance::spawn(&db, |_| {}).await;
    let b = Instance::spawn(&peer_database(&db).await, |_| {}).await;

    // B is in allowlist mode: A is a partner once B's admin says so.
    let allowed = b
        .admin_ok(
            Method::PUT,
            &format!("/api/v1/admin/federation/instances/{}", a.host()),
            Some(json!({"status": "allowed"})),
        )
        .await;
    assert_eq!(allowed["status"], "allowed");

    let response = a
        .call(
            Method::POST,
            "/api/v1/admin/federation/follows",
            Some(&a.admin),
            Some(json!({"instance": b.url()})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let started: Value = response.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(started["instance"], b.host());
    assert_eq!(started["state"], "resolving");

    a.await_follow("follows", &b.host(), Some("accepted")).await;
    b.await_follow("followers", &a.host(), Some("accepted")).await;
    let follows = a.admin_ok(Method::GET, "/api/v1/admin/federation/follows", None).await;
    assert_eq!(
        follows[0]["actor"],
        format!("{}/federation/actor", b.url()),
        "{follows}"
    );
    let collection = b.get_json("/federation/actor/followers").await;
    assert_eq!(collection["totalItems"], 1, "{collection}");
    // Following again changes nothing: 200 with the follow as it stands.
    let response = a
        .call(
            Method::POST,
            "/api/v1/admin/federation/follows",
            Some(&a.admin),
            Some(json!({"instance": b.url()})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let instances = a
        .admin_ok(Method::GET, "/api/v1/admin/federation/instances", None)
        .await;
    assert_eq!(instances[0]["host"], b.host());
    assert_eq!(instances[0]["status"], "allowed", "following allows: {instances}");
    assert_eq!(instances[0]["following"], "accepted");

    // A unfollows: B hears of it (Undo{Follow}) and drops A from its followers.
    let response = a
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/federation/follows/{}", b.host()),
            Some(&a.admin),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    b.await_follow("followers", &a.host(), None).await;
    assert_eq!(a.follow_state("follows", &b.host()).await, None);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn an_admin_decides_on_follows_that_are_not_auto_accepted(_: PgPoolOptions, db: PgConnectOptions) {
    let a = Instance::spawn(&db, |_| {}).await;
    // B is open to any instance but accepts followers by hand.
    let b = Instance::spawn(&peer_database(&db).await, |s| {
        s.federation.mode = FederationMode::Open;
        s.federation.auto_accept = false;
    })
    .await;
    a.admin_ok(
        Method::POST,
        "/api/v1/admin/federation/follows",
        Some(json!({"instance": format!("{}/", b.url())})),
    )
    .await;
    b.await_follow("followers", &a.host(), Some("pending")).await;
    a.await_follow("follows", &b.host(), Some("pending")).await;

    let accepted = b
        .admin_ok(
            Method::POST,
            &format!("/api/v1/admin/federation/followers/{}/accept", a.host()),
            None,
        )
        .await;
    assert_eq!(accepted["state"], "accepted");
    a.await_follow("follows", &b.host(), Some("accepted")).await;

    // Removing a follower tells it: A's follow ends rejected.
    let response = b
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/federation/followers/{}", a.host()),
            Some(&b.admin),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    a.await_follow("follows", &b.host(), Some("rejected")).await;
    assert_eq!(b.follow_state("followers", &a.host()).await, None);

    // Blocking ends everything at once and refuses to follow until unblocked.
    a.admin_ok(
        Method::PUT,
        &format!("/api/v1/admin/federation/instances/{}", b.host()),
        Some(json!({"status": "blocked"})),
    )
    .await;
    assert_eq!(a.follow_state("follows", &b.host()).await, None);
    let response = a
        .call(
            Method::POST,
            "/api/v1/admin/federation/follows",
            Some(&a.admin),
            Some(json!({"instance": b.url()})),
        )
        .await;
    assert_problem(response, StatusCode::CONFLICT, "conflict").await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_admin_api_is_for_admins_and_refuses_what_cannot_be_followed(_: PgPoolOptions, db: PgConnectOptions) {
    let a = Instance::spawn(&db, |_| {}).await;
    let member = skillreel_testkit::token("member", &[]);
    for (method, path) in [
        (Method::GET, "/api/v1/admin/federation/follows".to_owned()),
        (Method::GET, "/api/v1/admin/federation/followers".to_owned()),
        (Method::GET, "/api/v1/admin/federation/instances".to_owned()),
    ] {
        let response = a.call(method.clone(), &path, Some(&member), None).await;
        assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
        let response = a.call(method, &path, None, None).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
    let response = a
        .call(
            Method::POST,
            "/api/v1/admin/federation/follows",
            Some(&member),
            Some(json!({"instance": "https://b.example"})),
        )
        .await;
    assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    let unfollowable = [
        a.url(),
        "ftp://b.example",
        "not a url",
        "http://10.1.2.3",
        "http://169.254.169.254",
    ];
    let refusals = unfollowable
        .iter()
        .map(|url| {
            (
                json!({"instance": url}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            )
        })
        .chain([
            (
                json!({"url": "https://b.example"}),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (json!([]), StatusCode::BAD_REQUEST, "bad_request"),
        ]);
    for (body, status, code) in refusals {
        let response = a
            .call(
                Method::POST,
                "/api/v1/admin/federation/follows",
                Some(&a.admin),
                Some(body.clone()),
            )
            .await;
        assert_problem(response, status, code).await;
    }
    for (method, path, status, code) in [
        (
            Method::DELETE,
            "/api/v1/admin/federation/follows/nobody.example",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/admin/federation/followers/nobody.example",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            "/api/v1/admin/federation/followers/nobody.example/accept",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/admin/federation/follows/a%20b",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let response = a.call(method, path, Some(&a.admin), None).await;
        assert_problem(response, status, code).await;
    }
    let response = a
        .call(
            Method::PUT,
            "/api/v1/admin/federation/instances/b.example",
            Some(&a.admin),
            Some(json!({"status": "trusted"})),
        )
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "bad_request").await;
    let instances = a
        .admin_ok(Method::GET, "/api/v1/admin/federation/instances", None)
        .await;
    assert_eq!(instances, json!([]), "nothing was recorded");
}

/// A remote actor made by hand: its own HTTP server publishing its actor document
/// and key, and an inbox that keeps what it receives.
struct Remote {
    base: String,
    key: PrivateKey,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Remote {
    async fn start() -> Self {
        let key = PrivateKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let pem = key.public_key().to_pem().unwrap_or_else(|e| panic!("{e}"));
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
        let base = format!("http://127.0.0.1:{port}");
        let actor = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": format!("{base}/actor"),
            "type": "Application",
            "inbox": format!("{base}/inbox"),
            "publicKey": {"id": format!("{base}/actor#main-key"), "owner": format!("{base}/actor"), "publicKeyPem": pem},
        });
        let (kept, document) = (received.clone(), actor.clone());
        let people_base = base.clone();
        let server = HttpServer::new(move || {
            let (kept, document) = (kept.clone(), document.clone());
            let people_base = people_base.clone();
            App::new()
                // Its people, as ActivityPub actors that give their name.
                .route(
                    "/people/{n}",
                    web::get().to(move |n: web::Path<u32>| {
                        let base = people_base.clone();
                        async move {
                            HttpResponse::Ok()
                                .content_type("application/activity+json")
                                .json(json!({
                                    "@context": "https://www.w3.org/ns/activitystreams",
                                    "id": format!("{base}/people/{n}"),
                                    "type": "Person",
                                    "name": format!("Person {n}"),
                                    "inbox": format!("{base}/inbox"),
                                }))
                        }
                    }),
                )
                .route(
                    "/actor",
                    web::get().to(move || {
                        let document = document.clone();
                        async move {
                            HttpResponse::Ok()
                                .content_type("application/activity+json")
                                .json(document)
                        }
                    }),
                )
                .route(
                    "/inbox",
                    web::post().to(move |req: HttpRequest, body: web::Bytes| {
                        let kept = kept.clone();
                        async move {
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                                .collect();
                            kept.lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push((headers, body.to_vec()));
                            HttpResponse::Accepted().finish()
                        }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap_or_else(|e| panic!("{e}"))
        .run();
        tokio::spawn(server);
        Self { base, key, received }
    }

    fn host(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    fn actor(&self) -> String {
        format!("{}/actor", self.base)
    }

    fn signer(&self) -> Signer {
        Signer::new(self.key.clone(), format!("{}#main-key", self.actor()))
    }

    /// A Follow of `instance`'s actor, with a fresh id.
    fn follow(&self, instance: &Instance) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/follows/{}", self.base, uuid::Uuid::new_v4()),
            "type": "Follow",
            "actor": self.actor(),
            "object": format!("{}/federation/actor", instance.url()),
        })
    }

    /// The headers that sign `body` for `url`, then `tamper`ed with.
    fn signed(&self, url: &str, body: &[u8], when: SystemTime) -> Vec<(String, String)> {
        let url = url::Url::parse(url).unwrap_or_else(|e| panic!("{e}"));
        self.signer()
            .headers("POST", &url, Some(body), when)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .filter(|(name, _)| *name != "host")
            .map(|(n, v)| (n.to_owned(), v))
            .collect()
    }
}

async fn post(client: &reqwest::Client, url: &str, headers: &[(String, String)], body: Vec<u8>) -> reqwest::Response {
    let mut request = client.post(url).header("content-type", "application/activity+json");
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    request.body(body).send().await.unwrap_or_else(|e| panic!("{e}"))
}

fn replace(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.clone(), if n == name { value.to_owned() } else { v.clone() }))
        .collect()
}

fn without(headers: &[(String, String)], name: &str) -> Vec<(String, String)> {
    headers.iter().filter(|(n, _)| n != name).cloned().collect()
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn the_inbox_refuses_what_is_unsigned_forged_stale_replayed_or_unwelcome(_: PgPoolOptions, db: PgConnectOptions) {
    let b = Instance::spawn(&db, |s| s.federation.max_activity_bytes = 4096).await;
    let remote = Remote::start().await;
    let inbox = format!("{}/federation/inbox", b.url());
    let client = &b.app.client;
    let follow = serde_json::to_vec(&remote.follow(&b)).unwrap_or_default();

    // Not a partner yet (allowlist mode): 403, nothing recorded.
    let response = post(
        client,
        &inbox,
        &remote.signed(&inbox, &follow, SystemTime::now()),
        follow.clone(),
    )
    .await;
    assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    b.admin_ok(
        Method::PUT,
        &format!("/api/v1/admin/federation/instances/{}", remote.host()),
        Some(json!({"status": "allowed"})),
    )
    .await;

    let now = SystemTime::now();
    let good = remote.signed(&inbox, &follow, now);
    let other_key = Signer::new(
        PrivateKey::generate().unwrap_or_else(|e| panic!("{e}")),
        format!("{}#main-key", remote.actor()),
    );
    let forged: Vec<(String, String)> = other_key
        .headers(
            "POST",
            &url::Url::parse(&inbox).unwrap_or_else(|e| panic!("{e}")),
            Some(&follow),
            now,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|(n, _)| *n != "host")
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
    let sig = good
        .iter()
        .find(|(n, _)| n == "signature")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let parsed = SignatureHeader::parse(&sig).unwrap_or_else(|e| panic!("{e}"));
    let uncovered = format!(
        "keyId=\"{}\",algorithm=\"hs2019\",headers=\"(request-target) host date\",signature=\"AAAA\"",
        parsed.key_id
    );
    let stale = remote.signed(&inbox, &follow, now - Duration::from_secs(3600));
    let future = remote.signed(&inbox, &follow, now + Duration::from_secs(3600));
    let other_body = serde_json::to_vec(&remote.follow(&b)).unwrap_or_default();
    let big = vec![b' '; 5000];
    let cases: Vec<(&str, Headers, Vec<u8>, StatusCode, &str)> = vec![
        (
            "unsigned",
            without(&good, "signature"),
            follow.clone(),
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            "garbage signature header",
            replace(&good, "signature", "nonsense"),
            follow.clone(),
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            "signed by another key",
            forged,
            follow.clone(),
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            "digest left unsigned",
            replace(&good, "signature", &uncovered),
            follow.clone(),
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            "an hour old",
            stale,
            follow.clone(),
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            "an hour ahead",
            future,
            follow.clone(),
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            "no date",
            without(&good, "date"),
            follow.clone(),
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            "no digest",
            without(&good, "digest"),
            follow.clone(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "body swapped",
            good.clone(),
            other_body,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "oversized",
            remote.signed(&inbox, &big, now),
            big,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (what, headers, body, status, code) in cases {
        let response = post(client, &inbox, &headers, body).await;
        assert_eq!(response.status(), status, "{what}");
        assert_problem(response, status, code).await;
    }
    assert_eq!(
        b.follow_state("followers", &remote.host()).await,
        None,
        "nothing was applied"
    );

    // Well signed but wrong inside.
    let signed_body = |value: &Value| {
        let body = serde_json::to_vec(value).unwrap_or_default();
        (remote.signed(&inbox, &body, SystemTime::now()), body)
    };
    let mut foreign_id = remote.follow(&b);
    foreign_id["id"] = json!("https://elsewhere.example/follows/1");
    let mut someone_else = remote.follow(&b);
    someone_else["actor"] = json!(format!("{}/federation/actor", b.url()));
    for (what, value, status, code) in [
        (
            "an id on another host",
            foreign_id,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "acting as someone else",
            someone_else,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            "not an object",
            json!(["Follow"]),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "no type",
            json!({"id": format!("{}/x", remote.base), "actor": remote.actor()}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ] {
        let (headers, body) = signed_body(&value);
        let response = post(client, &inbox, &headers, body).await;
        assert_problem(response, status, code).await;
        let _ = what;
    }
    let broken = b"{\"id\": ".to_vec();
    let response = post(
        client,
        &inbox,
        &remote.signed(&inbox, &broken, SystemTime::now()),
        broken,
    )
    .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(
        b.follow_state("followers", &remote.host()).await,
        None,
        "nothing was applied"
    );

    // An activity type nobody here acts on: accepted and ignored.
    let (headers, body) = signed_body(&json!({
        "id": format!("{}/questions/1", remote.base), "type": "Question", "actor": remote.actor(),
    }));
    assert_eq!(
        post(client, &inbox, &headers, body).await.status(),
        StatusCode::ACCEPTED
    );

    // The real thing: accepted, applied, answered with a signed Accept.
    let response = post(client, &inbox, &good, follow.clone()).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(
        b.follow_state("followers", &remote.host()).await.as_deref(),
        Some("accepted")
    );
    // The very same request again is a replay.
    let response = post(client, &inbox, &good, follow.clone()).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // A retry of the same activity (signed anew, a moment later: a signature within the
    // same second would be the same bytes, a replay) is accepted and applied once.
    let response = post(
        client,
        &inbox,
        &remote.signed(&inbox, &follow, SystemTime::now() + Duration::from_secs(2)),
        follow.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let accept = wait_for_delivery(&remote).await;
    let (headers, body) = accept;
    let value = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let activity: Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(activity["type"], "Accept", "{activity}");
    assert_eq!(activity["actor"], format!("{}/federation/actor", b.url()));
    assert_eq!(activity["object"]["type"], "Follow");
    // The Accept is signed by B's key, as published in B's actor.
    let actor = b.get_json("/federation/actor").await;
    let key = signature::public_key(actor["publicKey"]["publicKeyPem"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let parsed = SignatureHeader::parse(&value("signature").unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.key_id, format!("{}/federation/actor#main-key", b.url()));
    assert_eq!(parsed.check_coverage(true), Ok(()));
    assert!(signature::digest_matches(&value("digest").unwrap_or_default(), &body));
    let string = signature::signing_string("POST", "/inbox", &parsed.headers, value).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(signature::verify(&key, &string, &parsed.signature), Ok(()));

    // Blocked: refused at the door, and the follow is gone.
    b.admin_ok(
        Method::PUT,
        &format!("/api/v1/admin/federation/instances/{}", remote.host()),
        Some(json!({"status": "blocked"})),
    )
    .await;
    assert_eq!(b.follow_state("followers", &remote.host()).await, None);
    let again = serde_json::to_vec(&remote.follow(&b)).unwrap_or_default();
    let response = post(client, &inbox, &remote.signed(&inbox, &again, SystemTime::now()), again).await;
    assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
}

/// The first activity the remote actor's inbox received (waits up to 30 s).
async fn wait_for_delivery(remote: &Remote) -> Received {
    eventually("a delivery to the remote actor", async || {
        let first = remote
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first()
            .cloned();
        first.ok_or_else(|| "nothing".to_owned())
    })
    .await
}

/// A video of `author`'s, transcoded (its row as the transcoder leaves it), ready to
/// publish.
async fn ready_video(pool: &sqlx::PgPool, author: uuid::Uuid, title: &str) -> uuid::Uuid {
    let id = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into video (id, owner_id, title, description, tags, status, hls_key, thumbnail_key, duration_ms, width, height)
         values ($1, $2, $3, 'How we do it.', '{rust,tracing}', 'ready', $4 || 'master.m3u8', $4 || 'thumbnail.jpg',
                 42400, 1280, 720)",
    )
    .bind(id)
    .bind(author)
    .bind(title)
    .bind(format!("videos/{id}/media/"))
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    id
}

/// Everything the remote actor's inbox received once there are at least `n` (up to 30 s).
async fn received(remote: &Remote, n: usize) -> Vec<Value> {
    eventually(&format!("{n} activities at the remote actor"), async || {
        let all: Vec<Value> = remote
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|(_, body)| serde_json::from_slice(body).ok())
            .collect();
        if all.len() >= n {
            Ok(all)
        } else {
            Err(format!("{} of them", all.len()))
        }
    })
    .await
}

/// A signed GET from the remote actor.
async fn signed_get(client: &reqwest::Client, remote: &Remote, url: &str) -> reqwest::Response {
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{e}"));
    let mut request = client.get(url).header("accept", "application/activity+json");
    let headers = remote
        .signer()
        .headers("GET", &parsed, None, SystemTime::now())
        .unwrap_or_else(|e| panic!("{e}"));
    for (name, value) in headers {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    request.send().await.unwrap_or_else(|e| panic!("{e}"))
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn federated_videos_reach_followers_and_org_videos_never_leave(_: PgPoolOptions, db: PgConnectOptions) {
    let b = Instance::spawn(&db, |_| {}).await;
    let pool = pool_on(&db).await;
    let remote = Remote::start().await;
    let inbox = format!("{}/federation/inbox", b.url());
    b.admin_ok(
        Method::PUT,
        &format!("/api/v1/admin/federation/instances/{}", remote.host()),
        Some(json!({"status": "allowed"})),
    )
    .await;
    let follow = serde_json::to_vec(&remote.follow(&b)).unwrap_or_default();
    let response = post(
        &b.app.client,
        &inbox,
        &remote.signed(&inbox, &follow, SystemTime::now()),
        follow,
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accept = received(&remote, 1).await;
    assert_eq!(accept[0]["type"], "Accept");

    let author = skillreel_testkit::token("author", &[]);
    let me: Value = b
        .call(Method::GET, "/api/v1/me", Some(&author), None)
        .await
        .json()
        .await
        .unwrap_or_default();
    let author_id: uuid::Uuid = me["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default();
    let inside = ready_video(&pool, author_id, "Our on-call rota").await;
    let shared = ready_video(&pool, author_id, "Tracing async Rust").await;
    for (video, visibility) in [(inside, "org"), (shared, "federated")] {
        let response = b
            .call(
                Method::POST,
                &format!("/api/v1/videos/{video}/publish"),
                Some(&author),
                Some(json!({"visibility": visibility})),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{visibility}");
    }
    // Locally a federated video is listed like an org one.
    let listed: Value = b
        .call(Method::GET, "/api/v1/videos", Some(&b.admin), None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2), "{listed}");

    let sent = received(&remote, 3).await;
    let video_id = format!("{}/federation/videos/{shared}", b.url());
    let of_type = |kind: &str| sent.iter().find(|a| a["type"] == kind).cloned().unwrap_or_default();
    let create = &of_type("Create");
    assert_eq!(create["type"], "Create", "{create}");
    assert_eq!(create["actor"], format!("{}/federation/actor", b.url()));
    let video = &create["object"];
    assert_eq!(video["type"], "Video");
    assert_eq!(video["id"], video_id.as_str());
    assert_eq!(video["name"], "Tracing async Rust");
    assert_eq!(video["content"], "How we do it.");
    assert_eq!(video["duration"], "PT42S");
    assert_eq!(
        video["tag"],
        json!([{"type": "Hashtag", "name": "#rust"}, {"type": "Hashtag", "name": "#tracing"}])
    );
    assert_eq!(
        video["attributedTo"],
        json!([{"type": "Person", "id": format!("{}/federation/users/{author_id}", b.url()), "name": "author (test)"}])
    );
    let links = video["url"].as_array().cloned().unwrap_or_default();
    assert!(links.iter().any(|l| l["mediaType"] == "text/html"), "{video}");
    let hls = links
        .iter()
        .find(|l| l["mediaType"] == "application/x-mpegURL")
        .and_then(|l| l["href"].as_str())
        .unwrap_or_default();
    assert!(
        hls.starts_with(&format!("{}/api/v1/media/{shared}/", b.url())) && hls.ends_with("/media/master.m3u8"),
        "{hls}"
    );
    assert!(
        video["icon"][0]["url"]
            .as_str()
            .is_some_and(|u| u.contains(&shared.to_string())),
        "{video}"
    );
    assert_eq!(video["to"], json!([format!("{}/federation/actor/followers", b.url())]));
    let announce = &of_type("Announce");
    assert_eq!(announce["type"], "Announce");
    assert_eq!(announce["object"], video_id.as_str());
    let everything = serde_json::to_string(&sent).unwrap_or_default();
    assert!(
        !everything.contains(&inside.to_string()),
        "the org video left: {everything}"
    );

    // Partners fetch it signed; nobody else, and never the org video.
    let response = signed_get(&b.app.client, &remote, &video_id).await;
    assert_eq!(response.status(), StatusCode::OK);
    let fetched: Value = response.json().await.unwrap_or_default();
    assert_eq!(fetched["name"], "Tracing async Rust");
    let response = b
        .app
        .client
        .get(&video_id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let response = signed_get(
        &b.app.client,
        &remote,
        &format!("{}/federation/videos/{inside}", b.url()),
    )
    .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;

    // An edit is an Update, a deletion a Delete; the org video's edit sends nothing.
    for (video, title) in [(inside, "Our rota"), (shared, "Tracing async Rust, again")] {
        let response = b
            .call(
                Method::PATCH,
                &format!("/api/v1/videos/{video}"),
                Some(&author),
                Some(json!({"title": title})),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let sent = received(&remote, 4).await;
    assert_eq!(sent[3]["type"], "Update", "{}", sent[3]);
    assert_eq!(sent[3]["object"]["name"], "Tracing async Rust, again");
    let response = b
        .call(Method::DELETE, &format!("/api/v1/videos/{shared}"), Some(&author), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let sent = received(&remote, 5).await;
    assert_eq!(sent[4]["type"], "Delete", "{}", sent[4]);
    assert_eq!(sent[4]["object"]["id"], video_id.as_str());
    assert_eq!(sent[4]["object"]["type"], "Tombstone");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(received(&remote, 5).await.len(), 5, "nothing else was sent");
    let response = signed_get(&b.app.client, &remote, &video_id).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

/// Publishes a transcoded video of `who`'s on `instance` with `visibility`, its master
/// playlist in the store so that it plays.
async fn publish_video(
    instance: &Instance,
    pool: &sqlx::PgPool,
    who: &str,
    title: &str,
    visibility: &str,
) -> uuid::Uuid {
    let master: &[u8] = b"#EXTM3U\n#EXT-X-VERSION:7\n";
    publish_video_with(instance, pool, who, title, visibility, &[("master.m3u8", master)]).await
}

/// As [`publish_video`], with these media files (paths under `media/`) in the store.
async fn publish_video_with(
    instance: &Instance,
    pool: &sqlx::PgPool,
    who: &str,
    title: &str,
    visibility: &str,
    files: &[(&str, &[u8])],
) -> uuid::Uuid {
    let token = skillreel_testkit::token(who, &[]);
    let me: Value = instance
        .call(Method::GET, "/api/v1/me", Some(&token), None)
        .await
        .json()
        .await
        .unwrap_or_default();
    let owner: uuid::Uuid = me["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default();
    let video = ready_video(pool, owner, title).await;
    for (name, content) in files {
        let path = instance.app.media_root().join(format!("videos/{video}/media/{name}"));
        std::fs::create_dir_all(path.parent().unwrap_or(&path)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("{e}"));
    }
    let response = instance
        .call(
            Method::POST,
            &format!("/api/v1/videos/{video}/publish"),
            Some(&token),
            Some(json!({"visibility": visibility})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "publish {title}");
    video
}

/// The titles of the remote videos `who` sees on `instance`, once `until` holds
/// (up to 30 s).
async fn remote_titles(instance: &Instance, token: &str, until: impl Fn(&[String]) -> bool) -> (Vec<String>, Value) {
    let what = format!("the remote videos on {} settling", instance.url());
    eventually(&what, async || {
        let page: Value = instance
            .call(Method::GET, "/api/v1/federation/videos", Some(token), None)
            .await
            .json()
            .await
            .unwrap_or_default();
        let titles: Vec<String> = page["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v["title"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if until(&titles) {
            Ok((titles, page))
        } else {
            Err(page.to_string())
        }
    })
    .await
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_federated_video_on_a_appears_on_b_follows_its_edits_and_goes_with_a_block(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let a = Instance::spawn(&db, |_| {}).await;
    let a_pool = pool_on(&db).await;
    let b_db = peer_database(&db).await;
    let b = Instance::spawn(&b_db, |_| {}).await;
    let b_pool = pool_on(&b_db).await;
    // A lets B in; B follows A.
    b_follows_a(&a, &b).await;

    let inside = publish_video(&a, &a_pool, "ana", "Our on-call rota", "org").await;
    let shared = publish_video(&a, &a_pool, "ana", "Tracing async Rust", "federated").await;
    let reader = skillreel_testkit::token("ben", &[]);
    let (titles, page) = remote_titles(&b, &reader, |t| !t.is_empty()).await;
    assert_eq!(titles, ["Tracing async Rust"], "the org video never leaves A");
    let item = &page["items"][0];
    assert_eq!(item["origin"], a.host());
    assert_eq!(item["object_id"], format!("{}/federation/videos/{shared}", a.url()));
    assert_eq!(item["duration_seconds"], 42);
    assert_eq!(item["tags"], json!(["rust", "tracing"]));
    assert!(
        item["thumbnail"]
            .as_str()
            .is_some_and(|t| t.contains(&shared.to_string())),
        "{item}"
    );
    // Playable from the origin.
    let hls = item["hls"].as_str().unwrap_or_default();
    let playlist = reqwest::get(hls).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(playlist.status(), StatusCode::OK, "{hls}");
    assert!(playlist.text().await.unwrap_or_default().starts_with("#EXTM3U"));

    // Search and origin filters.
    let found: Value = b
        .call(
            Method::GET,
            "/api/v1/federation/videos?q=async%20TRACING",
            Some(&reader),
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");
    let none: Value = b
        .call(
            Method::GET,
            "/api/v1/federation/videos?q=kubernetes",
            Some(&reader),
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(none["items"], json!([]));
    let response = b.call(Method::GET, "/api/v1/federation/videos", None, None).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let response = b
        .call(
            Method::GET,
            "/api/v1/federation/videos?cursor=nonsense",
            Some(&reader),
            None,
        )
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "bad_request").await;
    let long = "x".repeat(201);
    let response = b
        .call(
            Method::GET,
            &format!("/api/v1/federation/videos?q={long}"),
            Some(&reader),
            None,
        )
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "bad_request").await;

    // On B it is a video like B's own: in the main list and in search, marked with its
    // origin, played from there, and changed only there.
    let remote_id = item["id"].as_str().unwrap_or_default().to_owned();
    let listed: Value = b
        .call(Method::GET, "/api/v1/videos?q=tracing", Some(&reader), None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(listed["items"][0]["id"], remote_id.as_str(), "{listed}");
    assert_eq!(listed["items"][0]["origin"]["host"], a.host());
    let copy: Value = b
        .call(Method::GET, &format!("/api/v1/videos/{remote_id}"), Some(&reader), None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(copy["playback"]["hls"], hls, "{copy}");
    assert_eq!(copy["owner"]["name"], "ana (test)");
    assert_eq!(copy["visibility"], "federated");
    let response = b
        .call(
            Method::PATCH,
            &format!("/api/v1/videos/{remote_id}"),
            Some(&b.admin),
            Some(json!({"title": "Hijacked"})),
        )
        .await;
    let problem = assert_problem(response, StatusCode::CONFLICT, "conflict").await;
    assert!(
        problem["detail"].as_str().unwrap_or_default().contains(&a.host()),
        "{problem}"
    );
    // Nobody signs in as a partner's person.
    let response = b
        .call(
            Method::GET,
            "/api/v1/me",
            Some(&skillreel_testkit::token("remote:https://x.example/u/1", &[])),
            None,
        )
        .await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    // A like on B counts on A, once per person; taking it back uncounts it.
    let ana = skillreel_testkit::token("ana", &[]);
    let likes_on_a = async || -> i64 {
        let video: Value = a
            .call(Method::GET, &format!("/api/v1/videos/{shared}"), Some(&ana), None)
            .await
            .json()
            .await
            .unwrap_or_default();
        video["like_count"].as_i64().unwrap_or(-1)
    };
    let await_likes = async |want: i64| {
        eventually(&format!("A counting {want} likes"), async || match likes_on_a().await {
            n if n == want => Ok(()),
            n => Err(n.to_string()),
        })
        .await;
    };
    for _ in 0..2 {
        let response = b
            .call(
                Method::PUT,
                &format!("/api/v1/videos/{remote_id}/like"),
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    await_likes(1).await;
    let other_reader = skillreel_testkit::token("cleo", &[]);
    let response = b
        .call(
            Method::PUT,
            &format!("/api/v1/videos/{remote_id}/like"),
            Some(&other_reader),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    await_likes(2).await;
    let response = b
        .call(
            Method::DELETE,
            &format!("/api/v1/videos/{remote_id}/like"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    await_likes(1).await;
    // Someone new on B finds it in "for you" too, with a reason.
    b.admin_ok(Method::POST, "/api/v1/admin/recommendations/model", None)
        .await;
    let newcomer = skillreel_testkit::token("dora", &[]);
    let feed: Value = b
        .call(Method::GET, "/api/v1/me/recommendations", Some(&newcomer), None)
        .await
        .json()
        .await
        .unwrap_or_default();
    let mine = feed["items"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["item"]["id"] == remote_id.as_str()))
        .cloned();
    assert!(
        mine.as_ref()
            .is_some_and(|r| r["reasons"].as_array().is_some_and(|why| !why.is_empty())),
        "{feed}"
    );

    // A comment on B reaches A, by a person A knows as B's; A's reply reaches B in
    // the same thread; a deletion on B empties it on A.
    let comment: Value = b
        .call(
            Method::POST,
            &format!("/api/v1/videos/{remote_id}/comments"),
            Some(&reader),
            Some(json!({"body": "Does this work with <tokio-console>?"})),
        )
        .await
        .json()
        .await
        .unwrap_or_default();
    let comment_id = comment["id"].as_str().unwrap_or_default().to_owned();
    let threads_on = async |instance: &Instance, token: &str, video: &str| -> Value {
        instance
            .call(
                Method::GET,
                &format!("/api/v1/videos/{video}/comments"),
                Some(token),
                None,
            )
            .await
            .json()
            .await
            .unwrap_or_default()
    };
    let shared_id = shared.to_string();
    let on_a = eventually("B's comment reaching A", async || {
        let threads = threads_on(&a, &ana, &shared_id).await;
        match threads[0]["body"].as_str() {
            Some(_) => Ok(threads[0].clone()),
            None => Err(threads.to_string()),
        }
    })
    .await;
    assert_eq!(on_a["body"], "Does this work with <tokio-console>?");
    assert_eq!(on_a["author_name"], "ben (test)");
    assert_eq!(on_a["author_origin"], b.host());
    let notified: Value = a
        .call(Method::GET, "/api/v1/me/inbox", Some(&ana), None)
        .await
        .json()
        .await
        .unwrap_or_default();
    let told = notified["items"].as_array().is_some_and(|all| {
        all.iter()
            .any(|n| n["kind"] == "comment" && n["payload"]["by"].as_str().is_some_and(|by| by.contains(&b.host())))
    });
    assert!(told, "ana hears of it, from whom and where: {notified}");
    let reply = a
        .call(
            Method::POST,
            &format!("/api/v1/videos/{shared}/comments"),
            Some(&ana),
            Some(json!({"body": "Yes, since 0.1.", "parent_id": on_a["id"]})),
        )
        .await;
    assert_eq!(reply.status(), StatusCode::CREATED);
    eventually("A's reply reaching B in its thread", async || {
        let threads = threads_on(&b, &reader, &remote_id).await;
        let replies = &threads[0]["replies"];
        match (threads[0]["id"].as_str(), replies[0]["body"].as_str()) {
            (Some(id), Some("Yes, since 0.1.")) if id == comment_id => Ok(()),
            _ => Err(threads.to_string()),
        }
    })
    .await;
    // Its author's edit on B reaches A.
    let edited = b
        .ok_as(
            &reader,
            Method::PATCH,
            &format!("/api/v1/comments/{comment_id}"),
            Some(json!({"body": "Does this work with tokio-console 0.1?"})),
        )
        .await;
    assert_eq!(edited["body"], "Does this work with tokio-console 0.1?");
    eventually("the edit reaching A", async || {
        let threads = threads_on(&a, &ana, &shared_id).await;
        match threads[0]["body"].as_str() {
            Some("Does this work with tokio-console 0.1?") => Ok(()),
            _ => Err(threads.to_string()),
        }
    })
    .await;
    let response = b
        .call(
            Method::DELETE,
            &format!("/api/v1/comments/{comment_id}"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    eventually("the deletion reaching A", async || {
        let threads = threads_on(&a, &ana, &shared_id).await;
        match threads[0]["status"].as_str() {
            Some("deleted") if threads[0]["body"] == "" => Ok(()),
            _ => Err(threads.to_string()),
        }
    })
    .await;

    // A journey on A appears on B, its step the video B has; a manager on B assigns it
    // to a report, who finds it among their assignments; it is changed at A only.
    let second = publish_video(&a, &a_pool, "ana", "Async cancellation", "federated").await;
    let (_, page) = remote_titles(&b, &reader, |t| t.len() == 2).await;
    let second_on_b = page["items"]
        .as_array()
        .and_then(|all| all.iter().find(|v| v["title"] == "Async cancellation"))
        .map(|v| v["id"].clone())
        .unwrap_or_default();
    let journey = a
        .ok_as(
            &ana,
            Method::POST,
            "/api/v1/journeys",
            Some(json!({"title": "Async Rust in a week", "skills": ["rust"], "visibility": "federated"})),
        )
        .await;
    let journey_id = journey["id"].as_str().unwrap_or_default().to_owned();
    a.ok_as(
        &ana,
        Method::PUT,
        &format!("/api/v1/journeys/{journey_id}/steps"),
        Some(json!({"steps": [{"video_id": second}, {"video_id": inside}, {"video_id": shared}]})),
    )
    .await;
    a.ok_as(
        &ana,
        Method::POST,
        &format!("/api/v1/journeys/{journey_id}/publish"),
        None,
    )
    .await;
    let manager = skillreel_testkit::token("mia", &[]);
    let report = skillreel_testkit::token_with_manager("rob", &[], Some("mia"));
    let report_me: Value = b
        .call(Method::GET, "/api/v1/me", Some(&report), None)
        .await
        .json()
        .await
        .unwrap_or_default();
    let remote_journey = first_journey(&b, &manager).await;
    assert_eq!(remote_journey["title"], "Async Rust in a week");
    assert_eq!(remote_journey["origin"], a.host());
    assert_eq!(remote_journey["owner"]["name"], "ana (test)");
    let steps: Vec<&Value> = remote_journey["steps"]
        .as_array()
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    assert_eq!(
        steps.len(),
        2,
        "the org video is not a step partners see: {remote_journey}"
    );
    assert_eq!(steps[0]["video"]["id"], second_on_b);
    assert_eq!(steps[1]["video"]["id"], remote_id.as_str());
    let remote_journey_id = remote_journey["id"].as_str().unwrap_or_default().to_owned();
    let assigned = b
        .ok_as(
            &manager,
            Method::POST,
            &format!("/api/v1/journeys/{remote_journey_id}/assignments"),
            Some(json!({"people": [report_me["id"]], "type": "required"})),
        )
        .await;
    assert_eq!(assigned["assigned"].as_array().map(Vec::len), Some(1), "{assigned}");
    // A's videos are steps of B's own journeys too.
    let own = b
        .ok_as(
            &manager,
            Method::POST,
            "/api/v1/journeys",
            Some(
                json!({"title": "Our async onboarding", "steps": [{"video_id": second_on_b}, {"video_id": remote_id}]}),
            ),
        )
        .await;
    assert_eq!(own["available_steps"], 2, "{own}");
    let mine: Value = b
        .call(Method::GET, "/api/v1/me/assignments", Some(&report), None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert!(mine.to_string().contains(&remote_journey_id), "{mine}");
    // Watching its first step is recorded on B, and told as xAPI about the video's id
    // at its origin.
    let session = uuid::Uuid::new_v4();
    let mut watched = Value::Null;
    for (sequence, position) in [(0, 0.0), (1, 1.5)] {
        if sequence > 0 {
            tokio::time::sleep(Duration::from_millis(1600)).await;
        }
        watched = b
            .ok_as(
                &report,
                Method::POST,
                &format!("/api/v1/videos/{}/progress", second_on_b.as_str().unwrap_or_default()),
                Some(json!({"session_id": session, "sequence": sequence, "position": position, "playing": true})),
            )
            .await;
    }
    assert!(
        watched["watched_seconds"].as_f64().is_some_and(|s| s > 0.0),
        "{watched}"
    );
    let second_at_a = format!("{}/federation/videos/{second}", a.url());
    eventually("an xAPI statement about A's video", async || {
        let about: i64 =
            sqlx::query_scalar("select count(*) from xapi_statement where statement -> 'object' ->> 'id' = $1")
                .bind(&second_at_a)
                .fetch_one(&b_pool)
                .await
                .unwrap_or_default();
        if about > 0 { Ok(()) } else { Err(about.to_string()) }
    })
    .await;
    let response = b
        .call(
            Method::PATCH,
            &format!("/api/v1/journeys/{remote_journey_id}"),
            Some(&b.admin),
            Some(json!({"title": "Hijacked"})),
        )
        .await;
    assert_problem(response, StatusCode::CONFLICT, "conflict").await;
    // A renames it; B follows.
    a.ok_as(
        &ana,
        Method::PATCH,
        &format!("/api/v1/journeys/{journey_id}"),
        Some(json!({"title": "Async Rust in ten days"})),
    )
    .await;
    eventually("the rename reaching B", async || {
        let j: Value = b
            .call(
                Method::GET,
                &format!("/api/v1/journeys/{remote_journey_id}"),
                Some(&manager),
                None,
            )
            .await
            .json()
            .await
            .unwrap_or_default();
        match j["title"].as_str() {
            Some("Async Rust in ten days") => Ok(()),
            _ => Err(j.to_string()),
        }
    })
    .await;

    // An edit on A reaches B; so does a deletion.
    let response = a
        .call(
            Method::PATCH,
            &format!("/api/v1/videos/{shared}"),
            Some(&ana),
            Some(json!({"title": "Tracing async Rust, part 1"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    remote_titles(&b, &reader, |t| t.contains(&"Tracing async Rust, part 1".to_owned())).await;
    let response = a
        .call(Method::DELETE, &format!("/api/v1/videos/{shared}"), Some(&ana), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    remote_titles(&b, &reader, |t| t == ["Async cancellation"]).await;
    let response = b
        .call(Method::GET, &format!("/api/v1/videos/{remote_id}"), Some(&reader), None)
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;

    // Blocking A on B removes what B holds of A at once: videos and journeys.
    publish_video(&a, &a_pool, "ana", "Profiling with perf", "federated").await;
    remote_titles(&b, &reader, |t| {
        t.len() == 2 && t.contains(&"Profiling with perf".to_owned())
    })
    .await;
    b.admin_ok(
        Method::PUT,
        &format!("/api/v1/admin/federation/instances/{}", a.host()),
        Some(json!({"status": "blocked"})),
    )
    .await;
    let (titles, _) = remote_titles(&b, &reader, |_| true).await;
    assert!(titles.is_empty(), "{titles:?}");
    let response = b
        .call(
            Method::GET,
            &format!("/api/v1/journeys/{remote_journey_id}"),
            Some(&manager),
            None,
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    let mine: Value = b
        .call(Method::GET, "/api/v1/me/assignments", Some(&report), None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert!(!mine.to_string().contains(&remote_journey_id), "{mine}");
}

fn required_env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with scripts/test, which installs bovine"))
}

/// The events bovine's peer has written so far (one JSON object per line).
fn peer_events(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Waits (up to 60 s) for the peer to have written an event matching `want`.
async fn peer_event(path: &std::path::Path, what: &str, want: impl Fn(&Value) -> bool) -> Value {
    eventually(&format!("bovine's peer reporting {what}"), async || {
        let events = peer_events(path);
        events
            .iter()
            .find(|e| want(e))
            .cloned()
            .ok_or_else(|| format!("{events:#?}"))
    })
    .await
}

/// Stops the peer when the test ends, however it ends.
struct Peer(std::process::Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn bovine_follows_us_verifies_what_we_send_and_its_like_counts(_: PgPoolOptions, db: PgConnectOptions) {
    let b = Instance::spawn(&db, |_| {}).await;
    let pool = pool_on(&db).await;
    let liked = publish_video(&b, &pool, "ana", "Tracing async Rust", "federated").await;
    let liked_id = format!("{}/federation/videos/{liked}", b.url());

    // bovine, an independent ActivityPub implementation, on a port of its own.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    b.admin_ok(
        Method::PUT,
        &format!("/api/v1/admin/federation/instances/127.0.0.1:{port}"),
        Some(json!({"status": "allowed"})),
    )
    .await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let events = dir.path().join("events.jsonl");
    let _peer = Peer(
        std::process::Command::new(required_env("SKILLREEL_TEST_BOVINE_PYTHON"))
            .arg(required_env("SKILLREEL_TEST_BOVINE_PEER"))
            .args([
                "--port",
                &port.to_string(),
                "--target",
                b.url(),
                "--like",
                &liked_id,
                "--linger",
                "-1",
            ])
            .arg("--out")
            .arg(&events)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start bovine's peer: {e}")),
    );

    // It found us by WebFinger, followed with a signed Follow and got our Accept,
    // which bovine's own signature check verified.
    let finger = peer_event(&events, "the WebFinger lookup", |e| e["event"] == "webfinger").await;
    assert_eq!(finger["actor"], format!("{}/federation/actor", b.url()));
    let follow = peer_event(&events, "its Follow", |e| e["event"] == "follow_sent").await;
    assert_eq!(follow["status"], 202, "{follow}");
    peer_event(&events, "our Accept", |e| e["event"] == "accept").await;
    let accept = peer_event(&events, "the verified Accept", |e| {
        e["event"] == "received" && e["type"] == "Accept"
    })
    .await;
    assert_eq!(accept["verified"], true);
    assert_eq!(accept["signer"], format!("{}/federation/actor", b.url()));
    b.await_follow("followers", &format!("127.0.0.1:{port}"), Some("accepted"))
        .await;

    // Its signed Like counts.
    let like = peer_event(&events, "its Like", |e| e["event"] == "like_sent").await;
    assert_eq!(like["status"], 202, "{like}");
    let ana = skillreel_testkit::token("ana", &[]);
    eventually("bovine's like counted", async || {
        let video: Value = b
            .call(Method::GET, &format!("/api/v1/videos/{liked}"), Some(&ana), None)
            .await
            .json()
            .await
            .unwrap_or_default();
        match video["like_count"].as_i64() {
            Some(1) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // What federated before it followed reached it once accepted (verified by bovine);
    // a video published now reaches it as Create and Announce, each verified.
    let liked_id = format!("{}/federation/videos/{liked}", b.url());
    let backfilled = peer_event(&events, "the Create of what federated before", |e| {
        e["event"] == "received" && e["type"] == "Create" && e["activity"]["object"]["id"] == liked_id.as_str()
    })
    .await;
    assert_eq!(backfilled["verified"], true);
    let shared = publish_video(&b, &pool, "ana", "Profiling with perf", "federated").await;
    let shared_id = format!("{}/federation/videos/{shared}", b.url());
    let create = peer_event(&events, "a verified Create", |e| {
        e["event"] == "received" && e["type"] == "Create" && e["activity"]["object"]["id"] == shared_id.as_str()
    })
    .await;
    assert_eq!(create["verified"], true);
    assert_eq!(create["activity"]["object"]["type"], "Video");
    assert_eq!(create["activity"]["object"]["id"], shared_id.as_str());
    let announce = peer_event(&events, "a verified Announce", |e| {
        e["event"] == "received" && e["type"] == "Announce"
    })
    .await;
    assert_eq!(announce["activity"]["object"], shared_id.as_str());
    let refused: Vec<Value> = peer_events(&events)
        .into_iter()
        .filter(|e| e["event"] == "inbox_refused")
        .collect();
    assert!(refused.is_empty(), "bovine refused something we sent: {refused:#?}");
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn deliveries_to_a_dead_instance_back_off_pause_it_and_are_given_up(_: PgPoolOptions, db: PgConnectOptions) {
    let b = Instance::spawn(&db, |s| {
        s.federation.circuit_failures = 2;
        s.federation.circuit_open_seconds = 3600;
    })
    .await;
    let pool = pool_on(&db).await;
    // A follower whose inbox nobody answers (port 9, discard, is closed here).
    for statement in [
        "insert into federation_instance (host, status) values ('dead.example', 'allowed')",
        "insert into federation_actor (id, host, kind, inbox, key_id, public_key_pem)
         values ('http://127.0.0.1:9/actor', 'dead.example', 'Application', 'http://127.0.0.1:9/inbox',
                 'http://127.0.0.1:9/actor#main-key', 'unused')",
        "insert into federation_follow (direction, host, actor, activity_id, state)
         values ('incoming', 'dead.example', 'http://127.0.0.1:9/actor', 'http://127.0.0.1:9/follow', 'accepted')",
    ] {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    publish_video(&b, &pool, "ana", "Tracing async Rust", "federated").await;

    // Two failures in a row pause the instance; its deliveries wait, retried later.
    let instance = eventually("dead.example paused", async || {
        let all = b
            .admin_ok(Method::GET, "/api/v1/admin/federation/instances", None)
            .await;
        let instance = all
            .as_array()
            .and_then(|all| all.iter().find(|i| i["host"] == "dead.example"))
            .cloned()
            .unwrap_or_default();
        if instance["paused_until"].is_null() {
            Err(instance.to_string())
        } else {
            Ok(instance)
        }
    })
    .await;
    assert!(instance["failures"].as_i64().is_some_and(|f| f >= 2), "{instance}");
    assert!(
        !instance["failing_since"].is_null() && !instance["paused_until"].is_null(),
        "{instance}"
    );
    let waiting: Vec<(String, Option<String>)> =
        sqlx::query_as("select status, last_error from job where queue = 'federation' order by created_at")
            .fetch_all(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(waiting.len(), 2, "a Create and an Announce: {waiting:?}");
    assert!(
        waiting.iter().all(|(status, error)| status == "queued"
            && error
                .as_deref()
                .is_some_and(|e| e.contains("could not reach") || e.contains("paused"))),
        "{waiting:?}"
    );

    // Failing for longer than federation.give_up_after_hours: given up for good.
    sqlx::query(
        "update federation_instance set failing_since = now() - interval '49 hours', circuit_open_until = null
          where host = 'dead.example'",
    )
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("update job set run_at = now() where queue = 'federation'")
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ended = eventually("the deliveries to dead.example failing for good", async || {
        let jobs = sqlx::query_as::<_, (String, Option<String>)>(
            "select status, last_error from job where queue = 'federation' order by created_at",
        )
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        if jobs.iter().all(|(status, _)| status == "failed") {
            Ok(jobs)
        } else {
            Err(format!("{jobs:?}"))
        }
    })
    .await;
    assert!(
        ended
            .iter()
            .all(|(status, error)| status == "failed" && error.as_deref().is_some_and(|e| e.contains("given up"))),
        "{ended:?}"
    );
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_partners_notes_land_only_where_they_may(_: PgPoolOptions, db: PgConnectOptions) {
    let b = Instance::spawn(&db, |_| {}).await;
    let pool = pool_on(&db).await;
    let remote = Remote::start().await;
    b.admin_ok(
        Method::PUT,
        &format!("/api/v1/admin/federation/instances/{}", remote.host()),
        Some(json!({"status": "allowed"})),
    )
    .await;
    let shared = publish_video(&b, &pool, "bob", "Tracing async Rust", "federated").await;
    let inside = publish_video(&b, &pool, "bob", "Our on-call rota", "org").await;
    let inbox = format!("{}/federation/inbox", b.url());
    // Each delivery signed at its own second, as a sender's retry is (the same
    // signature twice would be a replay).
    // (Counted back from one instant: two readings of the clock may fall in one second.)
    let sent = std::sync::atomic::AtomicU64::new(0);
    let start = SystemTime::now();
    let send = async |activity: &Value| {
        let body = serde_json::to_vec(activity).unwrap_or_default();
        let nth = sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let when = start - Duration::from_secs(nth);
        post(&b.app.client, &inbox, &remote.signed(&inbox, &body, when), body).await
    };
    let person = format!("{}/people/1", remote.base);
    let note = |id: &str, in_reply_to: String, content: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/activities/{}", remote.base, uuid::Uuid::new_v4()),
            "type": "Create",
            "actor": person,
            "object": {
                "id": format!("{}/notes/{id}", remote.base), "type": "Note",
                "attributedTo": {"type": "Person", "id": person, "name": "Rémi"},
                "inReplyTo": in_reply_to, "content": content,
            },
        })
    };
    let bob = skillreel_testkit::token("bob", &[]);
    let threads = async |video: uuid::Uuid| -> Value {
        b.call(
            Method::GET,
            &format!("/api/v1/videos/{video}/comments"),
            Some(&bob),
            None,
        )
        .await
        .json()
        .await
        .unwrap_or_default()
    };
    let video_id = |video: uuid::Uuid| format!("{}/federation/videos/{video}", b.url());

    // On a federated video: kept, by its remote author; sent again, kept once.
    let first = note("1", video_id(shared), "<p>Great &amp; <b>short</b></p>");
    for _ in 0..2 {
        assert_eq!(send(&first).await.status(), StatusCode::ACCEPTED);
    }
    let kept = threads(shared).await;
    assert_eq!(kept.as_array().map(Vec::len), Some(1), "{kept}");
    assert_eq!(kept[0]["body"], "Great & short");
    assert_eq!(kept[0]["author_name"], "Rémi");
    assert_eq!(kept[0]["author_origin"], remote.host());

    // A reply to it joins its thread; an edit and a deletion by its author follow.
    let reply = note("2", format!("{}/notes/1", remote.base), "<p>And clear.</p>");
    assert_eq!(send(&reply).await.status(), StatusCode::ACCEPTED);
    let kept = threads(shared).await;
    assert_eq!(kept[0]["replies"][0]["body"], "And clear.", "{kept}");
    // Someone its note names by id alone is named after their actor document.
    let mut nameless = note("9", video_id(shared), "<p>Me too</p>");
    nameless["actor"] = json!(format!("{}/people/2", remote.base));
    nameless["object"]["attributedTo"] = json!(format!("{}/people/2", remote.base));
    assert_eq!(send(&nameless).await.status(), StatusCode::ACCEPTED);
    eventually("the nameless author learning their name", async || {
        let all = threads(shared).await;
        let theirs = all
            .as_array()
            .and_then(|t| t.iter().find(|c| c["body"] == "Me too"))
            .cloned();
        match theirs {
            Some(c) if c["author_name"] == "Person 2" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let mut update = first.clone();
    update["id"] = json!(format!("{}/activities/{}", remote.base, uuid::Uuid::new_v4()));
    update["type"] = json!("Update");
    update["object"]["content"] = json!("<p>Great, short</p>");
    assert_eq!(send(&update).await.status(), StatusCode::ACCEPTED);
    assert_eq!(threads(shared).await[0]["body"], "Great, short");

    // Refused, and nothing kept: a note whose id or author is another host's, a note
    // that says nothing, a reply to nothing.
    let mut foreign_id = note("3", video_id(shared), "x");
    foreign_id["object"]["id"] = json!("https://elsewhere.example/notes/3");
    let mut foreign_author = note("4", video_id(shared), "x");
    foreign_author["object"]["attributedTo"] = json!("https://elsewhere.example/people/1");
    let empty = note("5", video_id(shared), "<p> </p>");
    let mut orphan = note("6", video_id(shared), "x");
    orphan["object"].as_object_mut().map(|o| o.remove("inReplyTo"));
    for bad in [foreign_id, foreign_author, empty, orphan] {
        assert_problem(send(&bad).await, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    // Ignored: a note on an org video (partners cannot see it), on an unknown video.
    for ignored in [
        note("7", video_id(inside), "I should not be here"),
        note("8", video_id(uuid::Uuid::new_v4()), "nor here"),
    ] {
        assert_eq!(send(&ignored).await.status(), StatusCode::ACCEPTED);
    }
    assert_eq!(threads(inside).await, json!([]));
    let stored: i64 = sqlx::query_scalar("select count(*) from comment")
        .fetch_one(&pool)
        .await
        .unwrap_or_default();
    assert_eq!(stored, 3, "the first note, its reply and the nameless author's");

    // Only its own host may delete a note.
    let delete = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/{}", remote.base, uuid::Uuid::new_v4()),
        "type": "Delete", "actor": person,
        "object": {"id": format!("{}/notes/1", remote.base), "type": "Tombstone"},
    });
    assert_eq!(send(&delete).await.status(), StatusCode::ACCEPTED);
    let kept = threads(shared).await;
    assert_eq!(
        (kept[0]["status"].as_str(), kept[0]["body"].as_str()),
        (Some("deleted"), Some("")),
        "{kept}"
    );

    // A comment made here on a federated video is a Note a partner can fetch (signed);
    // one on an org video, a partner's own words and anything unsigned are not.
    let comment_on = async |video: uuid::Uuid, body: &str| -> String {
        let made = b
            .ok_as(
                &bob,
                Method::POST,
                &format!("/api/v1/videos/{video}/comments"),
                Some(json!({"body": body})),
            )
            .await;
        made["id"].as_str().unwrap_or_default().to_owned()
    };
    let public = comment_on(shared, "Slides: <see the description> & more").await;
    let private = comment_on(inside, "Internal only").await;
    let note_url = |id: &str| format!("{}/federation/comments/{id}", b.url());
    let response = signed_get(&b.app.client, &remote, &note_url(&public)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let fetched: Value = response.json().await.unwrap_or_default();
    assert_eq!(fetched["type"], "Note");
    assert_eq!(fetched["id"], note_url(&public));
    assert_eq!(fetched["inReplyTo"], video_id(shared));
    assert_eq!(
        fetched["content"],
        "<p>Slides: &lt;see the description&gt; &amp; more</p>"
    );
    let remis = kept[0]["id"].as_str().unwrap_or_default().to_owned();
    for hidden in [private, remis, uuid::Uuid::new_v4().to_string()] {
        let response = signed_get(&b.app.client, &remote, &note_url(&hidden)).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let response = b
        .app
        .client
        .get(note_url(&public))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    // A playlist from an instance this one does not follow is not kept.
    let playlist = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/{}", remote.base, uuid::Uuid::new_v4()),
        "type": "Create", "actor": remote.actor(),
        "object": {
            "id": format!("{}/playlists/1", remote.base), "type": "Playlist", "name": "Unasked",
            "orderedItems": [{"type": "PlaylistElement", "url": video_id(shared), "position": 1}],
        },
    });
    assert_eq!(send(&playlist).await.status(), StatusCode::ACCEPTED);
    let journeys: i64 = sqlx::query_scalar("select count(*) from journey")
        .fetch_one(&pool)
        .await
        .unwrap_or_default();
    assert_eq!(journeys, 0);
    // Partners' people are nobody's to assign, and not actors of this instance.
    let remi: uuid::Uuid = sqlx::query_scalar("select id from app_user where origin is not null")
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let response = b
        .call(Method::GET, &format!("/federation/users/{remi}"), None, None)
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = b
        .call(
            Method::POST,
            &format!("/api/v1/videos/{shared}/assignments"),
            Some(&b.admin),
            Some(json!({"people": [remi], "type": "required"})),
        )
        .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_new_follower_receives_what_already_federates(_: PgPoolOptions, db: PgConnectOptions) {
    let a = Instance::spawn(&db, |_| {}).await;
    let a_pool = pool_on(&db).await;
    let b = Instance::spawn(&peer_database(&db).await, |_| {}).await;
    // Before anyone follows A: a federated video, an org one, a federated journey.
    let shared = publish_video(&a, &a_pool, "ana", "Tracing async Rust", "federated").await;
    let inside = publish_video(&a, &a_pool, "ana", "Our on-call rota", "org").await;
    let ana = skillreel_testkit::token("ana", &[]);
    let journey = a
        .ok_as(
            &ana,
            Method::POST,
            "/api/v1/journeys",
            Some(json!({"title": "Async Rust in a week", "visibility": "federated",
                        "steps": [{"video_id": inside}, {"video_id": shared}]})),
        )
        .await;
    let journey_id = journey["id"].as_str().unwrap_or_default().to_owned();
    a.ok_as(
        &ana,
        Method::POST,
        &format!("/api/v1/journeys/{journey_id}/publish"),
        None,
    )
    .await;

    // B follows A: once accepted, B has them (and not the org video).
    b_follows_a(&a, &b).await;
    let reader = skillreel_testkit::token("ben", &[]);
    let (titles, page) = remote_titles(&b, &reader, |t| !t.is_empty()).await;
    assert_eq!(titles, ["Tracing async Rust"]);
    let video_on_b = page["items"][0]["id"].clone();
    let remote_journey = first_journey(&b, &reader).await;
    assert_eq!(remote_journey["title"], "Async Rust in a week");
    assert_eq!(
        remote_journey["steps"].as_array().map(Vec::len),
        Some(1),
        "{remote_journey}"
    );
    assert_eq!(remote_journey["steps"][0]["video"]["id"], video_on_b);
}

#[sqlx::test(migrator = "skillreel_db::MIGRATOR")]
async fn a_mirroring_instance_plays_a_partners_video_from_its_own_copy(_: PgPoolOptions, db: PgConnectOptions) {
    let a = Instance::spawn(&db, |_| {}).await;
    let a_pool = pool_on(&db).await;
    let b = Instance::spawn(&peer_database(&db).await, |s| s.federation.mirror_media = true).await;
    b_follows_a(&a, &b).await;

    let master: &[u8] =
        b"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=1280x720\n720p/index.m3u8\n";
    let rung: &[u8] = b"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.0,\nseg_00001.m4s\n#EXT-X-ENDLIST\n";
    let segment: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let poster: &[u8] = b"\xff\xd8\xff\xe0 not really a JPEG";
    let video = publish_video_with(
        &a,
        &a_pool,
        "ana",
        "Tracing async Rust",
        "federated",
        &[
            ("master.m3u8", master),
            ("720p/index.m3u8", rung),
            ("720p/init.mp4", b"init"),
            ("720p/seg_00001.m4s", &segment),
            ("thumbnail.jpg", poster),
        ],
    )
    .await;
    let reader = skillreel_testkit::token("ben", &[]);
    let (_, page) = remote_titles(&b, &reader, |t| !t.is_empty()).await;
    let on_b = page["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    let view = eventually("B playing its own copy", async || {
        let view: Value = b
            .call(Method::GET, &format!("/api/v1/videos/{on_b}"), Some(&reader), None)
            .await
            .json()
            .await
            .unwrap_or_default();
        match view["playback"]["hls"].as_str() {
            Some(hls) if hls.starts_with(b.url()) => Ok(view),
            _ => Err(view.to_string()),
        }
    })
    .await;
    assert_eq!(view["origin"]["host"], a.host(), "still marked with its origin");
    let get = async |url: &str| -> Vec<u8> {
        let response = reqwest::get(url).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        response.bytes().await.map(|b| b.to_vec()).unwrap_or_default()
    };
    let hls = view["playback"]["hls"].as_str().unwrap_or_default();
    assert_eq!(get(hls).await, master);
    let folder = hls.trim_end_matches("master.m3u8");
    assert_eq!(get(&format!("{folder}720p/index.m3u8")).await, rung);
    assert_eq!(get(&format!("{folder}720p/seg_00001.m4s")).await, segment);
    let thumbnail = view["thumbnail"].as_str().unwrap_or_default();
    assert!(thumbnail.starts_with(b.url()), "{view}");
    assert_eq!(get(thumbnail).await, poster);

    // Its origin deletes it: the copy goes too.
    let ana = skillreel_testkit::token("ana", &[]);
    let response = a
        .call(Method::DELETE, &format!("/api/v1/videos/{video}"), Some(&ana), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let copy = b.app.media_root().join(format!("videos/{on_b}"));
    eventually("the copy going with the video", async || {
        if copy.exists() {
            Err(format!("{} is still there", copy.display()))
        } else {
            Ok(())
        }
    })
    .await;
}
