//! Operations endpoints (`/healthz`, `/readyz`, `/metrics`) and request metrics.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Mutex;

use crate::{RoutePattern, RouteSpec};

/// Something `/readyz` must reach before traffic is sent here.
#[async_trait]
pub trait ReadinessCheck: Send + Sync {
    fn name(&self) -> &'static str;
    async fn check(&self) -> Result<(), String>;
}

#[derive(Clone, Default)]
pub struct Readiness(Vec<Arc<dyn ReadinessCheck>>);

impl Readiness {
    pub fn with(mut self, check: impl ReadinessCheck + 'static) -> Self {
        self.0.push(Arc::new(check));
        self
    }

    pub fn extend(&mut self, other: &Readiness) {
        for c in &other.0 {
            if !self.0.iter().any(|mine| mine.name() == c.name()) {
                self.0.push(c.clone());
            }
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

/// The Prometheus registry of a process plus the HTTP request metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("skillreel");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", latency.clone());
        Self {
            registry: Mutex::new(registry),
            requests,
            latency,
        }
    }
}

impl Metrics {
    /// Lets a service add its own metrics (e.g. the transcoder's job counters).
    pub fn register(&self, name: &str, help: &str, metric: impl prometheus_client::registry::Metric) {
        if let Ok(mut registry) = self.registry.lock() {
            registry.register(name, help, metric);
        }
    }

    fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}

/// Middleware recording count and latency per route pattern (not raw path, so ids
/// don't explode the label space).
pub async fn record_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = method_label(req.method()).to_owned();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .app_data::<RoutePattern>()
            .map_or("unmatched", |pattern| pattern.0);
        let labels = RequestLabels {
            method,
            route: route.to_owned(),
            status: response.status().as_u16(),
        };
        metrics.requests.get_or_create(&labels).inc();
        metrics
            .latency
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}

/// `/healthz`, `/readyz` and `/metrics`.
pub fn routes() -> [RouteSpec; 3] {
    [
        RouteSpec::new(Method::GET, "/healthz", || web::get().to(healthz)),
        RouteSpec::new(Method::GET, "/readyz", || web::get().to(readyz)),
        RouteSpec::new(Method::GET, "/metrics", || web::get().to(metrics)),
    ]
}

/// A metric label for a request method: the methods HTTP defines, else `other`, so
/// that made-up methods cannot grow the label space (and the process's memory).
fn method_label(method: &Method) -> &'static str {
    [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ]
    .into_iter()
    .find(|(known, _)| known == method)
    .map_or("other", |(_, label)| label)
}

/// Mounts `/healthz`, `/readyz` and `/metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    crate::mount(cfg, &routes());
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(readiness: Option<web::Data<Readiness>>) -> HttpResponse {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    for check in readiness.iter().flat_map(|r| r.0.iter()) {
        let outcome = match check.check().await {
            Ok(()) => "ok".to_owned(),
            Err(e) => {
                ready = false;
                tracing::warn!(check = check.name(), error = %e, "readiness check failed");
                "unavailable".to_owned()
            }
        };
        checks.insert(check.name().to_owned(), outcome.into());
    }
    let body = serde_json::json!({ "status": if ready { "ok" } else { "unavailable" }, "checks": checks });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(metrics: Option<web::Data<Metrics>>) -> HttpResponse {
    let body = metrics.map(|m| m.encode()).unwrap_or_default();
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(body)
}

/// A readiness check for a PostgreSQL pool.
pub struct DatabaseCheck(pub sqlx::PgPool);

#[async_trait]
impl ReadinessCheck for DatabaseCheck {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> Result<(), String> {
        sqlx::query("select 1")
            .execute(&self.0)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// A readiness check for the object store.
pub struct StorageCheck(pub Arc<dyn skillreel_storage::Storage>);

#[async_trait]
impl ReadinessCheck for StorageCheck {
    fn name(&self) -> &'static str {
        "storage"
    }

    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}
