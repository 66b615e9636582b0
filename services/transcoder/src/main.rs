//! `skillreel-transcoder`: the transcoder service on its own, configured by environment
//! (`DATABASE_URL`, `SKILLREEL__SECTION__KEY`) or a file named by `SKILLREEL_CONFIG`.

use std::process::ExitCode;

use skillreel_config::Settings;
use skillreel_transcoder::Application;

fn main() -> ExitCode {
    // The worker runs each transcode in a child: this same binary, started so.
    skillreel_transcoder::main_or_media_child("skillreel-transcoder", serve)
}

async fn serve() -> ExitCode {
    let settings = match Settings::load(None) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skillreel-transcoder: {e}");
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
    tracing::info!(port = app.port(), "skillreel-transcoder listening");
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}
