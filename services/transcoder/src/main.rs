//! `skillreel-transcoder`: the transcoder service on its own, configured by environment
//! (`DATABASE_URL`, `SKILLREEL__SECTION__KEY`) or a file named by `SKILLREEL_CONFIG`.

use std::process::ExitCode;

use skillreel_config::Settings;
use skillreel_transcoder::Application;

fn main() -> ExitCode {
    // The worker runs each transcode in a child: this same binary, started so.
    if std::env::args().nth(1).as_deref() == Some(skillreel_transcoder::MEDIA_CHILD_ARG) {
        return skillreel_transcoder::run_media_child();
    }
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(serve()),
        Err(e) => {
            eprintln!("skillreel-transcoder: {e}");
            ExitCode::FAILURE
        }
    }
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
