//! `skillreel-catalog`: the catalog service on its own, configured by environment
//! (`DATABASE_URL`, `SKILLREEL__SECTION__KEY`) or a file named by `SKILLREEL_CONFIG`.

use std::process::ExitCode;

use skillreel_catalog::Application;
use skillreel_config::Settings;

/// Each request makes many small, short-lived allocations (rows, views, JSON): mimalloc
/// serves them with less work than glibc's malloc (`docs/BENCHMARKS.md`, stop 33).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::load(None) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skillreel-catalog: {e}");
            return ExitCode::FAILURE;
        }
    };
    skillreel_web::telemetry::init(&settings.log);
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "could not start");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(port = app.port(), "skillreel-catalog listening");
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}
