//! One way to run an actix-web server, shared by every service and by `skillreel dev`.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use skillreel_config::{ServerSettings, Settings};
use skillreel_storage::Storage;
use sqlx::PgPool;

use crate::KnownRoutes;
use crate::ops::{DatabaseCheck, Metrics, Readiness, StorageCheck, record_metrics};

/// What every service connects to at start-up, and the `/readyz` checks for them.
pub struct Backends {
    pub pool: PgPool,
    pub storage: Arc<dyn Storage>,
    pub readiness: web::Data<Readiness>,
}

impl Backends {
    /// Builds the pool (lazily, so a service starts while the database comes up), runs
    /// migrations when configured and opens the store.
    pub async fn connect(settings: &Settings) -> Result<Self, StartError> {
        let pool = skillreel_db::connect(&settings.database)?;
        if settings.database.migrate {
            skillreel_db::migrate(&pool).await?;
        }
        let storage = skillreel_storage::from_settings(&settings.storage).await?;
        let readiness = web::Data::new(
            Readiness::default()
                .with(DatabaseCheck(pool.clone()))
                .with(StorageCheck(storage.clone())),
        );
        Ok(Self {
            pool,
            storage,
            readiness,
        })
    }
}

/// The base URL clients reach this deployment at: the configured public URL, or else
/// the scheme and host the request came in on.
pub fn public_base_url(public_url: Option<&str>, req: &actix_web::HttpRequest) -> String {
    match public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// Binds the configured address; returns the listener and the port it got (port 0
/// picks a free one).
pub fn bind(settings: &ServerSettings) -> Result<(TcpListener, u16), StartError> {
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

/// Serves `mount`'s routes plus the operations endpoints, problem-document errors and
/// request metrics. `app_data` registers shared state (e.g. the authenticator) on
/// every worker.
///
/// `known` lists the routes `mount` registers, so that a known path asked with another
/// method answers 405 with `Allow`.
pub fn serve<M>(
    listener: TcpListener,
    metrics: web::Data<Metrics>,
    readiness: web::Data<Readiness>,
    known: KnownRoutes,
    mount: M,
) -> std::io::Result<Server>
where
    M: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let mut known = known;
    known.add_specs(&crate::ops::routes());
    let known = web::Data::new(known);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(method_override))
            .wrap(from_fn(limit_headers))
            .wrap(from_fn(crate::body::idle_timeout))
            .wrap(cors())
            .wrap(from_fn(record_metrics))
            .app_data(metrics.clone())
            .app_data(readiness.clone())
            .app_data(known.clone())
            .configure(crate::configure_extractors)
            .configure(crate::ops::configure)
            .configure(mount.clone())
            .default_service(web::to(crate::not_found))
    })
    // Uploads can be slow; let a client stream for as long as it keeps sending.
    .client_request_timeout(std::time::Duration::from_secs(60))
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Browsers upload from other origins (a learning portal embedding an uploader). Tokens
/// travel in `Authorization`, never in cookies, so any origin may call; the tus headers
/// are exposed so tus-js-client and Uppy can resume.
fn cors() -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allow_any_origin()
        .allow_any_header()
        .allowed_methods(["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"])
        .expose_headers([
            "Location",
            "Upload-Offset",
            "Upload-Length",
            "Upload-Metadata",
            "Upload-Defer-Length",
            "Upload-Expires",
            "Tus-Resumable",
            "Tus-Version",
            "Tus-Extension",
            "Tus-Max-Size",
            "Tus-Checksum-Algorithm",
            "Video-Id",
        ])
        .max_age(86_400)
}

/// Most header bytes (names and values together) a request may carry: a bearer token
/// with many roles fits many times over; more is someone probing our memory.
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses requests whose headers together pass [`MAX_HEADER_BYTES`] with 431, before
/// anything else reads them.
async fn limit_headers(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let size: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > MAX_HEADER_BYTES {
        let error = crate::ApiError::new(
            crate::ErrorCode::HeadersTooLarge,
            format!("the request headers hold {size} bytes; at most {MAX_HEADER_BYTES} are read"),
        );
        return Ok(req.error_response(error));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// `X-HTTP-Method-Override` on a POST (for clients and proxies that only speak GET and
/// POST, as tus allows) becomes the method it names, before routing.
async fn method_override(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::http::Method;
    if req.method() == Method::POST {
        let wanted = req
            .headers()
            .get("X-HTTP-Method-Override")
            .and_then(|v| v.to_str().ok());
        let method = match wanted.map(str::to_ascii_uppercase).as_deref() {
            Some("PATCH") => Some(Method::PATCH),
            Some("DELETE") => Some(Method::DELETE),
            Some("HEAD") => Some(Method::HEAD),
            _ => None,
        };
        if let Some(method) = method {
            req.head_mut().method = method;
        }
    }
    next.call(req).await
}

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("storage: {0}")]
    Storage(#[from] skillreel_storage::StorageError),
    #[error("auth: {0}")]
    Auth(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}
