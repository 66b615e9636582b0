//! `skillreel transcode SOURCE --out DIR`: the transcoder's pipeline on one local file,
//! without database or storage — to try a file, or to measure (bench/transcode).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use skillreel_media::{Cancel, Event, Limits};

#[derive(Debug, Args)]
pub struct TranscodeArgs {
    /// The video to transcode.
    source: PathBuf,
    /// Where the HLS ladder, posters and storyboard go (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Short-side sizes of the ladder.
    #[arg(long, value_delimiter = ',', default_value = "240,360,480,720,1080")]
    ladder: Vec<u32>,
}

/// Prints progress to stderr and, last on stdout, one JSON line with the timings.
pub fn run(args: &TranscodeArgs) -> Result<(), String> {
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let started = Instant::now();
    let mut playable_after = None;
    let mut last_percent = -1;
    let output = skillreel_media::transcode(
        &args.source,
        &args.out,
        &args.ladder,
        &Limits::default(),
        &Cancel::default(),
        &mut |event| match event {
            Event::Playable => {
                playable_after.get_or_insert(started.elapsed());
            }
            Event::Progress(fraction) => {
                let percent = (fraction * 100.0) as i32;
                if percent / 10 != last_percent / 10 {
                    eprintln!("{percent:>3} % after {:.1} s", started.elapsed().as_secs_f64());
                }
                last_percent = percent;
            }
        },
    )
    .map_err(|e| e.to_string())?;
    let total = started.elapsed();
    let rungs: Vec<String> = output.rungs.iter().map(|r| r.rung.name()).collect();
    let ladder: Vec<_> = output
        .rungs
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.rung.name(),
                "width": r.rung.width,
                "height": r.rung.height,
                "video_bitrate": r.rung.video_bitrate,
                "max_bitrate": r.rung.max_bitrate,
            })
        })
        .collect();
    let line = serde_json::json!({
        "time_to_playable_s": playable_after.unwrap_or(total).as_secs_f64(),
        "total_s": total.as_secs_f64(),
        "rungs": rungs,
        "ladder": ladder,
        "master": output.master_playlist,
    });
    println!("{line}");
    Ok(())
}
