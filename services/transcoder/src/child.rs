//! FFmpeg work in a child process the worker can always stop.
//!
//! A thread cannot be interrupted while libav loops on a hostile file, and a crash in
//! libav would take the whole worker down with it. So the worker runs each transcode
//! in a child: the same binary started with [`MEDIA_CHILD_ARG`] (both
//! `skillreel-transcoder` and `skillreel` answer to it). The parent writes one JSON
//! [`ChildRequest`] line to the child's stdin and keeps stdin open; the child caps its
//! own memory and CPU time (rlimits), transcodes, and reports [`ChildMessage`] JSON
//! lines on stdout. The parent enforces the job timeout and cancellation by killing
//! the child (SIGKILL); a child whose parent died sees stdin close and exits.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use skillreel_domain::Rendition;
use skillreel_media::{Cancel, Event, Limits, MediaError, TranscodeOutput};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The first argument that turns a Skillreel binary into a media child.
pub const MEDIA_CHILD_ARG: &str = "media-child";

/// Longest line the parent accepts from a child: a message is far smaller, and a
/// child subverted by a hostile file must not grow the worker's memory.
const MAX_LINE: u64 = 256 * 1024;
/// Longest request line the child reads.
const MAX_REQUEST: u64 = 64 * 1024;
/// How much of the child's stderr is kept for the log.
const STDERR_TAIL: usize = 8 * 1024;

/// What the child is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChildRequest {
    pub source: PathBuf,
    pub out_dir: PathBuf,
    pub ladder: Vec<u32>,
    pub min_duration_ms: u64,
    pub max_duration_ms: u64,
    /// Cap on the child's data segment (heap, stacks), in MiB.
    pub max_memory_mb: u64,
    /// Cap on the child's CPU time over all its threads, in seconds.
    pub max_cpu_seconds: u64,
}

/// What the worker records of a finished transcode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MediaSummary {
    pub duration_ms: u64,
    pub width: u32,
    pub height: u32,
    pub has_storyboard: bool,
    pub renditions: Vec<Rendition>,
}

impl MediaSummary {
    fn of(output: &TranscodeOutput) -> Self {
        Self {
            duration_ms: u64::try_from(output.probe.duration.as_millis()).unwrap_or(u64::MAX),
            width: output.probe.width,
            height: output.probe.height,
            has_storyboard: output.storyboard.is_file(),
            renditions: output
                .rungs
                .iter()
                .map(|r| Rendition {
                    width: r.rung.width,
                    height: r.rung.height,
                    bandwidth: r.bandwidth,
                    codecs: r.codecs.clone(),
                    playlist: r.playlist.clone(),
                })
                .collect(),
        }
    }
}

/// One line the child writes on stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum ChildMessage {
    Progress { fraction: f32 },
    Playable,
    Done { media: MediaSummary },
    Failed { error: MediaError },
}

/// `main` of a binary the worker may start as its media child (`skillreel-transcoder`,
/// `skillreel`): the child's work when started with [`MEDIA_CHILD_ARG`], else `run` on
/// a multi-threaded runtime. The child starts no runtime: it needs none.
pub fn main_or_media_child<F>(program: &str, run: impl FnOnce() -> F) -> ExitCode
where
    F: std::future::Future<Output = ExitCode>,
{
    if std::env::args().nth(1).as_deref() == Some(MEDIA_CHILD_ARG) {
        return run_media_child();
    }
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The child's `main`: reads the request, caps itself, transcodes, reports.
fn run_media_child() -> ExitCode {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if let Err(e) = std::io::Read::take(stdin.lock(), MAX_REQUEST).read_line(&mut line) {
        eprintln!("media child: cannot read the request: {e}");
        return ExitCode::from(2);
    }
    let request: ChildRequest = match serde_json::from_str(&line) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("media child: malformed request: {e}");
            return ExitCode::from(2);
        }
    };
    exit_when_parent_goes();
    if let Err(e) = cap_resources(&request) {
        eprintln!("media child: cannot set resource limits: {e}");
        return ExitCode::from(2);
    }
    let limits = Limits {
        min_duration: Duration::from_millis(request.min_duration_ms),
        max_duration: Duration::from_millis(request.max_duration_ms),
        ..Limits::default()
    };
    let mut last_percent = -1;
    let outcome = skillreel_media::transcode(
        &request.source,
        &request.out_dir,
        &request.ladder,
        &limits,
        &Cancel::default(),
        &mut |event| match event {
            Event::Playable => report(&ChildMessage::Playable),
            Event::Progress(fraction) => {
                let percent = (fraction * 100.0) as i32;
                if percent != last_percent {
                    last_percent = percent;
                    report(&ChildMessage::Progress { fraction });
                }
            }
        },
    );
    match outcome {
        Ok(output) => {
            report(&ChildMessage::Done {
                media: MediaSummary::of(&output),
            });
            ExitCode::SUCCESS
        }
        Err(error) => {
            report(&ChildMessage::Failed { error });
            ExitCode::from(1)
        }
    }
}

fn report(message: &ChildMessage) {
    if let Ok(line) = serde_json::to_string(message) {
        let mut out = std::io::stdout().lock();
        // A parent that stopped listening kills us anyway; nothing to do on error.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
}

/// The parent keeps our stdin open while it wants us; end of input means it is gone.
fn exit_when_parent_goes() {
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        loop {
            match std::io::Read::read(&mut stdin, &mut sink) {
                Ok(0) | Err(_) => std::process::exit(3),
                Ok(_) => {}
            }
        }
    });
}

/// Memory (data segment: heap, anonymous mappings, stacks) and CPU time; the kernel
/// stops the child when it passes them, whatever libav is doing.
fn cap_resources(request: &ChildRequest) -> std::io::Result<()> {
    use rlimit::Resource;
    let bytes = request.max_memory_mb.saturating_mul(1024 * 1024);
    Resource::DATA.set(bytes, bytes)?;
    // SIGXCPU at the soft limit, SIGKILL a little later if it were ignored.
    let cpu = request.max_cpu_seconds.max(1);
    Resource::CPU.set(cpu, cpu.saturating_add(5))?;
    // A crash should not write a core file of gigabytes to the work directory.
    Resource::CORE.set(0, 0)?;
    Ok(())
}

/// How a child ended, short of success.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ChildFailure {
    /// The file is at fault, as the child explained.
    Media(MediaError),
    /// The kernel stopped it for using more CPU time than allowed.
    CpuExceeded,
    /// It died by a signal (a crash in libav, the OOM killer, an operator).
    Crashed { signal: Option<i32>, code: Option<i32> },
    /// It could not be started or spoke nonsense: our side.
    Broken(String),
}

/// A running media child, seen from the worker.
pub(crate) struct MediaChild {
    child: Child,
    /// Held open: closing it tells the child to stop.
    _stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: tokio::task::JoinHandle<String>,
    line: Vec<u8>,
    outcome: Option<Result<MediaSummary, MediaError>>,
}

impl MediaChild {
    pub async fn spawn(program: &Path, request: &ChildRequest) -> Result<Self, ChildFailure> {
        let broken = |what: &str, e: &dyn std::fmt::Display| ChildFailure::Broken(format!("{what}: {e}"));
        let mut child = tokio::process::Command::new(program)
            .arg(MEDIA_CHILD_ARG)
            // Whatever libav might write relative to it lands in the job's folder.
            .current_dir(&request.out_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| broken(&format!("cannot start {}", program.display()), &e))?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ChildFailure::Broken("the media child has no pipes".into()));
        };
        let mut line = serde_json::to_vec(request).map_err(|e| broken("request", &e))?;
        line.push(b'\n');
        stdin
            .write_all(&line)
            .await
            .map_err(|e| broken("writing the request", &e))?;
        stdin.flush().await.map_err(|e| broken("writing the request", &e))?;
        Ok(Self {
            child,
            _stdin: stdin,
            stdout: BufReader::new(stdout),
            stderr: tokio::spawn(tail_of(stderr)),
            line: Vec::new(),
            outcome: None,
        })
    }

    /// The next progress report; `None` once the child has said its last word.
    /// Cancellation-safe: a line cut short by another `select!` branch is kept and
    /// completed by the next call.
    pub async fn next_event(&mut self) -> Option<Event> {
        loop {
            let room = MAX_LINE.saturating_sub(self.line.len() as u64).max(1);
            match (&mut self.stdout).take(room).read_until(b'\n', &mut self.line).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            if !self.line.ends_with(b"\n") {
                if self.line.len() as u64 >= MAX_LINE {
                    tracing::warn!("the media child wrote an overlong line; dropped");
                    self.line.clear();
                }
                continue;
            }
            let message = serde_json::from_slice::<ChildMessage>(&self.line);
            self.line.clear();
            match message {
                Ok(ChildMessage::Progress { fraction }) => return Some(Event::Progress(fraction)),
                Ok(ChildMessage::Playable) => return Some(Event::Playable),
                Ok(ChildMessage::Done { media }) => self.outcome = Some(Ok(media)),
                Ok(ChildMessage::Failed { error }) => self.outcome = Some(Err(error)),
                Err(e) => tracing::warn!(error = %e, "the media child wrote something unreadable"),
            }
        }
    }

    /// Waits for the child to exit and says how it went.
    pub async fn finish(mut self) -> Result<MediaSummary, ChildFailure> {
        while self.next_event().await.is_some() {}
        let status = self.child.wait().await;
        let stderr = self.stderr.await.unwrap_or_default();
        let status = status.map_err(|e| ChildFailure::Broken(format!("waiting for the media child: {e}")))?;
        match (self.outcome, status.success()) {
            (Some(Ok(media)), true) => Ok(media),
            (Some(Err(error)), _) => Err(ChildFailure::Media(error)),
            _ => {
                let failure = failure_of(status);
                tracing::warn!(?failure, stderr = %stderr, "the media child ended abnormally");
                Err(failure)
            }
        }
    }

    /// Stops the child at once (SIGKILL) and reaps it.
    pub async fn kill(mut self) {
        if let Err(e) = self.child.kill().await {
            tracing::warn!(error = %e, "could not kill the media child");
        }
    }
}

fn failure_of(status: ExitStatus) -> ChildFailure {
    use std::os::unix::process::ExitStatusExt as _;
    match status.signal() {
        Some(SIGXCPU) => ChildFailure::CpuExceeded,
        signal => ChildFailure::Crashed {
            signal,
            code: status.code(),
        },
    }
}

/// Linux's signal number for "CPU time limit exceeded".
const SIGXCPU: i32 = 24;

async fn tail_of(mut stderr: tokio::process::ChildStderr) -> String {
    let mut tail = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&chunk[..n]);
        if tail.len() > STDERR_TAIL {
            tail.drain(..tail.len() - STDERR_TAIL);
        }
    }
    String::from_utf8_lossy(&tail).into_owned()
}

/// The program to start as the media child: the configured one, else this binary when
/// it is a Skillreel binary, else `skillreel-transcoder` beside it (or one folder up,
/// where cargo puts binaries next to the `deps/` of test executables), else on `PATH`.
pub fn resolve_media_program(configured: Option<&Path>) -> PathBuf {
    if let Some(path) = configured {
        return path.to_path_buf();
    }
    const NAMES: [&str; 2] = ["skillreel-transcoder", "skillreel"];
    let Ok(exe) = std::env::current_exe() else {
        return PathBuf::from(NAMES[0]);
    };
    if exe
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| NAMES.contains(&n))
    {
        return exe;
    }
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(NAMES[0]))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from(NAMES[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_one_json_line_each() {
        let messages = [
            ChildMessage::Progress { fraction: 0.5 },
            ChildMessage::Playable,
            ChildMessage::Failed {
                error: MediaError::TooLong {
                    actual_s: 901.0,
                    limit_s: 900.0,
                },
            },
        ];
        for message in messages {
            let line = serde_json::to_string(&message).unwrap_or_else(|e| panic!("{e}"));
            assert!(!line.contains('\n'));
            let back: ChildMessage = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, message);
        }
    }

    #[test]
    fn a_configured_program_wins() {
        let path = Path::new("/opt/skillreel/bin/skillreel-transcoder");
        assert_eq!(resolve_media_program(Some(path)), path);
    }
}
