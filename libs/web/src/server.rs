//! One way to run an actix-web server, shared by every service and by `skillreel dev`.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use skillreel_config::{ServerSettings, Settings};
use skillreel_storage::Storage;
use sqlx::PgPool;

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
pub fn serve<M>(
    listener: TcpListener,
    metrics: web::Data<Metrics>,
    readiness: web::Data<Readiness>,
    mount: M,
) -> std::io::Result<Server>
where
    M: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(record_metrics))
            .app_data(metrics.clone())
            .app_data(readiness.clone())
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
