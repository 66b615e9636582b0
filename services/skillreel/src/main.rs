//! `skillreel`: the command line.
//!
//! - `skillreel dev` runs upload, transcoder and catalog in one process on one port,
//!   with a private PostgreSQL cluster under the data folder (unless `DATABASE_URL` is
//!   set), media under `DIR/media` and a development token secret in `DIR`.
//! - `skillreel token` prints a development JWT that `dev` with the same folder accepts.
//! - `skillreel migrate` applies the schema to `DATABASE_URL`.
//! - `skillreel upload FILE --title ..` uploads over tus and resumes after interruptions.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// As in `skillreel-catalog`: mimalloc for the many small allocations of each request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod dev;
mod embedded_pg;
mod token;
mod transcode;
mod upload;

#[derive(Parser)]
#[command(name = "skillreel", version, about = "Skillreel: a microlearning video platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service in one process, on an embedded default.
    Dev {
        /// Where the database, media and development secrets live.
        #[arg(long, default_value = "skillreel-data")]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
    /// Print a development token accepted by `skillreel dev --data-dir DIR`.
    Token(token::TokenArgs),
    /// Apply pending database migrations to DATABASE_URL.
    Migrate,
    /// Upload a video over tus, resuming where an earlier run stopped.
    Upload(upload::UploadArgs),
    /// Transcode a local file into an HLS ladder (no database or storage needed).
    Transcode(transcode::TranscodeArgs),
}

fn main() -> ExitCode {
    // `skillreel dev` runs each transcode in a child: this same binary, started so.
    skillreel_transcoder::main_or_media_child("skillreel", run)
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dev { data_dir, port, host } => dev::run(&data_dir, &host, port).await,
        Command::Token(args) => token::run(&args),
        Command::Migrate => migrate().await,
        Command::Upload(args) => upload::run(&args).await,
        Command::Transcode(args) => tokio::task::spawn_blocking(move || transcode::run(&args))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skillreel: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate() -> Result<(), String> {
    let settings = skillreel_config::Settings::load(None).map_err(|e| e.to_string())?;
    let pool = skillreel_db::connect(&settings.database).map_err(|e| e.to_string())?;
    skillreel_db::migrate(&pool).await.map_err(|e| e.to_string())?;
    println!("migrations applied");
    Ok(())
}
