//! Shared by several test binaries, each using a part of it.
#![allow(dead_code)]

//! A `TestApp`: the three services started separately on port 0, and one helper per
//! endpoint.

pub mod org;

use std::path::Path;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use skillreel_config::Settings;
use skillreel_testkit::Store;
use skillreel_transcoder::CancellationToken;
use sqlx::postgres::PgConnectOptions;

pub struct TestApp {
    pub upload: String,
    pub upload_handle: actix_web::dev::ServerHandle,
    pub catalog: String,
    pub transcoder: Option<String>,
    pub client: Client,
    settings: Settings,
    /// The clock learning runs on (a manual one from [`TestApp::spawn_with_clock`]).
    pub clock: skillreel_catalog::LearningClock,
    workers: Option<CancellationToken>,
    _media: tempfile::TempDir,
}

pub enum Backend {
    Local,
    S3,
}

impl TestApp {
    /// Starts upload and catalog; the transcoder only on [`TestApp::start_transcoder`],
    /// so a test can hold videos in `processing`.
    pub async fn spawn(db: &PgConnectOptions, backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_with_clock(db, backend, skillreel_catalog::LearningClock::system(), tweak).await
    }

    /// As [`TestApp::spawn`], with learning on `clock`.
    pub async fn spawn_with_clock(
        db: &PgConnectOptions,
        backend: Backend,
        clock: skillreel_catalog::LearningClock,
        tweak: impl FnOnce(&mut Settings),
    ) -> Self {
        let media = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = match backend {
            Backend::Local => Store::Local(media.path()),
            Backend::S3 => Store::S3,
        };
        let mut settings = skillreel_testkit::settings(&skillreel_testkit::database_url(db), store);
        tweak(&mut settings);
        let upload = skillreel_upload::Application::build(settings.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let catalog = skillreel_catalog::Application::build_with_clock(settings.clone(), clock.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (upload_port, catalog_port) = (upload.port(), catalog.port());
        let upload_handle = upload.handle();
        tokio::spawn(upload.run_until_stopped());
        tokio::spawn(catalog.run_until_stopped());
        Self {
            upload: format!("http://127.0.0.1:{upload_port}"),
            upload_handle,
            catalog: format!("http://127.0.0.1:{catalog_port}"),
            transcoder: None,
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
            settings,
            clock,
            workers: None,
            _media: media,
        }
    }

    pub fn media_root(&self) -> std::path::PathBuf {
        self.settings.storage.local_root.clone()
    }

    /// Another upload server on the same database and store: a replica, or the same
    /// service after a restart.
    pub async fn spawn_upload_replica(&self) -> (String, actix_web::dev::ServerHandle) {
        let app = skillreel_upload::Application::build(self.settings.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (port, handle) = (app.port(), app.handle());
        tokio::spawn(app.run_until_stopped());
        (format!("http://127.0.0.1:{port}"), handle)
    }

    /// Another catalog server on the same database: a replica with its own read cache.
    pub async fn spawn_catalog_replica(&self) -> String {
        let app = skillreel_catalog::Application::build_with_clock(self.settings.clone(), self.clock.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = app.port();
        tokio::spawn(app.run_until_stopped());
        format!("http://127.0.0.1:{port}")
    }

    /// The object store the services use, opened afresh.
    pub async fn storage(&self) -> std::sync::Arc<dyn skillreel_storage::Storage> {
        skillreel_storage::from_settings(&self.settings.storage)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub async fn start_transcoder(&mut self) {
        let app = skillreel_transcoder::Application::build(self.settings.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.transcoder = Some(format!("http://127.0.0.1:{}", app.port()));
        self.workers = Some(app.shutdown_token());
        tokio::spawn(app.run_until_stopped());
    }

    pub async fn post_video(&self, token: Option<&str>, file: Option<&Path>, fields: &[(&str, &str)]) -> Response {
        let mut form = Form::new();
        for (k, v) in fields {
            form = form.text((*k).to_owned(), (*v).to_owned());
        }
        if let Some(path) = file {
            let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            form = form.part("file", Part::bytes(bytes).file_name(name));
        }
        let mut req = self
            .client
            .post(format!("{}/api/v1/videos", self.upload))
            .multipart(form);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// Uploads and returns the new video's id, asserting a 201.
    pub async fn upload(&self, token: &str, file: &Path, title: &str) -> String {
        let response = self
            .post_video(Some(token), Some(file), &[("title", title), ("tags", "test")])
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap_or_default();
        body["id"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> Response {
        let mut req = self.client.get(format!("{}{path}", self.catalog));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn get_video(&self, token: &str, id: &str) -> Response {
        self.get(Some(token), &format!("/api/v1/videos/{id}")).await
    }

    /// Polls until the video leaves `processing` (bounded at 90 s).
    pub async fn settled(&self, token: &str, id: &str) -> Value {
        for _ in 0..360 {
            let v: Value = self.get_video(token, id).await.json().await.unwrap_or_default();
            if v["status"] != "processing" {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("video {id} still processing after 90 s");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(w) = &self.workers {
            w.cancel();
        }
    }
}

/// Asserts an RFC 9457 problem document with the given status and code.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["title"].is_string() && body["type"].is_string(), "{body}");
    body
}

impl TestApp {
    /// Any catalog request with a JSON body (or none), as `who`.
    pub async fn call(&self, method: reqwest::Method, path: &str, who: &str, body: Option<Value>) -> Response {
        self.call_on(&self.catalog, method, path, who, body).await
    }

    /// As [`TestApp::call`], on the catalog at `base` (a replica).
    pub async fn call_on(
        &self,
        base: &str,
        method: reqwest::Method,
        path: &str,
        who: &str,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, format!("{base}{path}")).bearer_auth(who);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// The caller's own profile (provisions them on first sight).
    pub async fn me(&self, who: &str) -> Value {
        let response = self.call(reqwest::Method::GET, "/api/v1/me", who, None).await;
        let status = response.status();
        if status != StatusCode::OK {
            panic!("GET /api/v1/me: {status} {}", response.text().await.unwrap_or_default());
        }
        response.json().await.unwrap_or_default()
    }
}
