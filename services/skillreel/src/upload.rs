//! `skillreel upload FILE`: a resumable tus client with a progress line.
//!
//! The upload URL is remembered in a state file (per file, size, modification time and
//! server), so running the same command again after a crash, a closed laptop or a
//! dropped connection continues where the server says the upload stands.

use std::io::{SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Client, StatusCode};
use sha1::Digest;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

#[derive(clap::Args)]
pub struct UploadArgs {
    /// The video file.
    file: PathBuf,
    #[arg(long)]
    title: String,
    #[arg(long, default_value = "")]
    description: String,
    /// Comma-separated, e.g. `git,workflow`.
    #[arg(long, default_value = "")]
    tags: String,
    /// Where Skillreel listens.
    #[arg(long, env = "SKILLREEL_URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// A bearer token (`skillreel token` makes development ones).
    #[arg(long, env = "SKILLREEL_TOKEN", hide_env_values = true)]
    token: String,
    /// Bytes per PATCH.
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    chunk_size: usize,
    /// Where resumable uploads are remembered.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Stop after this many chunks, as if interrupted (for tests).
    #[arg(long, hide = true)]
    stop_after_chunks: Option<usize>,
}

fn encode_metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k} {}", STANDARD.encode(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Remembers the upload URL of a (file, server) pair.
struct State {
    path: PathBuf,
}

impl State {
    fn new(args: &UploadArgs, file: &Path, size: u64) -> Result<Self, String> {
        let modified = std::fs::metadata(file)
            .and_then(|m| m.modified())
            .map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs())
            .unwrap_or(0);
        let identity = format!("{}|{size}|{modified}|{}", file.display(), args.server);
        let name = hex::encode(sha1::Sha1::digest(identity.as_bytes()));
        let dir = match &args.state_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(".cache/skillreel/uploads"),
        };
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self { path: dir.join(name) })
    }

    fn load(&self) -> Option<String> {
        std::fs::read_to_string(&self.path)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    fn save(&self, url: &str) -> Result<(), String> {
        std::fs::write(&self.path, url).map_err(|e| format!("{}: {e}", self.path.display()))
    }

    fn clear(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

struct Progress {
    total: u64,
    started: Instant,
    resumed_at: u64,
}

impl Progress {
    fn show(&self, done: u64) {
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = (done - self.resumed_at) as f64 / elapsed;
        let eta = if rate > 0.0 {
            (self.total - done) as f64 / rate
        } else {
            0.0
        };
        let width = 30;
        let filled = (done * width as u64)
            .checked_div(self.total)
            .map_or(width, |f| f as usize);
        let mb = |b: u64| b as f64 / 1_000_000.0;
        eprint!(
            "\r[{}{}] {:.1} / {:.1} MB  {:.1} MB/s  ETA {:.0} s   ",
            "#".repeat(filled),
            ".".repeat(width - filled),
            mb(done),
            mb(self.total),
            rate / 1_000_000.0,
            eta
        );
        let _ = std::io::stderr().flush();
    }
}

fn tus(client: &Client, method: reqwest::Method, url: &str, token: &str) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Explains a refusal with the server's problem document.
async fn refused(what: &str, response: reqwest::Response) -> String {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let detail = body["detail"].as_str().unwrap_or("no detail");
    format!("{what} refused ({status}): {detail}")
}

/// Where the remembered upload stands, if the server still has it.
async fn resume_offset(client: &Client, url: &str, token: &str) -> Result<Option<u64>, String> {
    let head = tus(client, reqwest::Method::HEAD, url, token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match head.status() {
        s if s.is_success() => Ok(header(&head, "Upload-Offset").and_then(|o| o.parse().ok())),
        StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
        _ => Err(refused("checking the upload", head).await),
    }
}

async fn create(client: &Client, args: &UploadArgs, size: u64) -> Result<(String, String), String> {
    let filename = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let metadata = encode_metadata(&[
        ("title", &args.title),
        ("description", &args.description),
        ("tags", &args.tags),
        ("filename", &filename),
    ]);
    let endpoint = format!("{}/api/v1/uploads", args.server.trim_end_matches('/'));
    let response = tus(client, reqwest::Method::POST, &endpoint, &args.token)
        .header("Upload-Length", size.to_string())
        .header("Upload-Metadata", metadata)
        .send()
        .await
        .map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
    if response.status() != StatusCode::CREATED {
        return Err(refused("creating the upload", response).await);
    }
    let url = header(&response, "Location").ok_or("the server sent no upload URL")?;
    let video = header(&response, "Video-Id").unwrap_or_default();
    Ok((url, video))
}

/// Sends one chunk; on a network error, the caller asks the server where it stands.
async fn send_chunk(client: &Client, url: &str, token: &str, offset: u64, chunk: Vec<u8>) -> Result<u64, String> {
    let checksum = STANDARD.encode(sha1::Sha1::digest(&chunk));
    let response = tus(client, reqwest::Method::PATCH, url, token)
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Checksum", format!("sha1 {checksum}"))
        .body(chunk)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != StatusCode::NO_CONTENT {
        return Err(refused("sending data", response).await);
    }
    header(&response, "Upload-Offset")
        .and_then(|o| o.parse().ok())
        .ok_or_else(|| "no Upload-Offset".into())
}

pub async fn run(args: &UploadArgs) -> Result<(), String> {
    let size = std::fs::metadata(&args.file)
        .map_err(|e| format!("{}: {e}", args.file.display()))?
        .len();
    let file_path = std::fs::canonicalize(&args.file).map_err(|e| e.to_string())?;
    let state = State::new(args, &file_path, size)?;
    let client = Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;

    let remembered = match state.load() {
        Some(url) => resume_offset(&client, &url, &args.token)
            .await?
            .map(|offset| (url, offset)),
        None => None,
    };
    let (url, mut offset) = match remembered {
        Some((url, offset)) => {
            eprintln!("resuming at {offset} of {size} bytes");
            (url, offset)
        }
        None => {
            let (url, video) = create(&client, args, size).await?;
            state.save(&url)?;
            eprintln!("uploading to video {video}");
            (url, 0)
        }
    };

    let mut file = tokio::fs::File::open(&file_path).await.map_err(|e| e.to_string())?;
    let progress = Progress {
        total: size,
        started: Instant::now(),
        resumed_at: offset,
    };
    let (mut chunks, mut failures) = (0usize, 0u32);
    while offset < size {
        progress.show(offset);
        let len = (args.chunk_size as u64).min(size - offset) as usize;
        let mut chunk = vec![0; len];
        file.seek(SeekFrom::Start(offset)).await.map_err(|e| e.to_string())?;
        file.read_exact(&mut chunk).await.map_err(|e| e.to_string())?;
        match send_chunk(&client, &url, &args.token, offset, chunk).await {
            Ok(new_offset) => {
                offset = new_offset;
                failures = 0;
                chunks += 1;
                if args.stop_after_chunks.is_some_and(|n| chunks >= n) {
                    eprintln!("\nstopped after {chunks} chunks; run the same command to resume");
                    std::process::exit(3);
                }
            }
            Err(e) if failures < 8 => {
                failures += 1;
                let wait = Duration::from_secs(1 << failures.min(5));
                eprintln!("\n{e}; retrying in {} s", wait.as_secs());
                tokio::time::sleep(wait).await;
                // The server knows best how much arrived.
                offset = resume_offset(&client, &url, &args.token)
                    .await?
                    .ok_or("the upload expired on the server")?;
            }
            Err(e) => return Err(e),
        }
    }
    progress.show(offset);
    let head = tus(&client, reqwest::Method::HEAD, &url, &args.token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let video = header(&head, "Video-Id").unwrap_or_default();
    state.clear();
    eprintln!("\ndone");
    println!("{video}");
    Ok(())
}
