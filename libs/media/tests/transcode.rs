//! Real files in, real HLS out, checked with `ffprobe`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use skillreel_media::{Cancel, Limits, MediaError, TranscodeOutput, probe, transcode};
use skillreel_testkit::fixtures::{self, VideoSpec};

const SIZES: [u32; 5] = [240, 360, 480, 720, 1080];

fn run(input: &Path, out: &Path, limits: &Limits) -> Result<TranscodeOutput, MediaError> {
    transcode(input, out, &SIZES, limits, &Cancel::default(), &mut |_| {})
}

fn ffprobe_streams(path: &Path) -> Vec<(String, u32, u32)> {
    fixtures::ffprobe_streams(&path.to_string_lossy())
}

/// The segment durations a media playlist lists.
fn segment_durations(playlist: &Path) -> Vec<String> {
    std::fs::read_to_string(playlist)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:").map(str::to_owned))
        .collect()
}

fn sizes(output: &TranscodeOutput) -> Vec<(u32, u32)> {
    output.rungs.iter().map(|r| (r.rung.width, r.rung.height)).collect()
}

#[test]
fn a_720p_source_with_sound_becomes_four_aligned_rungs_with_aac() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "talk.mp4", VideoSpec::landscape(1280, 720, 9.0));
    let out = dir.path().join("out");
    let output = run(&src, &out, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(sizes(&output), vec![(426, 240), (640, 360), (854, 480), (1280, 720)]);
    assert!((output.probe.duration.as_secs_f64() - 9.0).abs() < 0.2);
    let master = std::fs::read_to_string(&output.master_playlist).unwrap_or_default();
    assert!(
        master.contains("RESOLUTION=1280x720") && master.contains("CODECS=\"avc1.64001f,mp4a.40.2\""),
        "{master}"
    );
    assert!(
        master.contains("AVERAGE-BANDWIDTH=") && master.contains("FRAME-RATE=25.000"),
        "{master}"
    );

    let reference = segment_durations(&out.join("240p/index.m3u8"));
    assert_eq!(reference.len(), 3, "9 s in 4 s segments: {reference:?}");
    for rung in &output.rungs {
        let playlist = out.join(&rung.playlist);
        let streams = ffprobe_streams(&playlist);
        assert_eq!(
            streams[0],
            ("h264".to_owned(), rung.rung.width, rung.rung.height),
            "{}",
            rung.playlist
        );
        assert_eq!(streams[1].0, "aac");
        // Segments cut at the same instants in every rung: keyframes are aligned.
        assert_eq!(segment_durations(&playlist), reference, "{}", rung.playlist);
        assert!(rung.bandwidth >= rung.average_bandwidth && rung.average_bandwidth > 0);
    }
    assert_eq!(
        ffprobe_streams(&output.master_playlist)
            .iter()
            .filter(|s| s.0 == "h264")
            .count(),
        4
    );
    let jpeg = std::fs::read(&output.thumbnail).unwrap_or_default();
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF], "not a JPEG");
    assert_eq!(ffprobe_streams(&output.thumbnail)[0], ("mjpeg".to_owned(), 1280, 720));
}

/// Mean brightness (0-255) of an image, as ffmpeg sees it.
fn mean_luma(path: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-vf", "scale=32:18,format=gray", "-f", "rawvideo", "-"])
        .output()
        .unwrap_or_else(|e| panic!("ffmpeg: {e}"));
    out.stdout.iter().map(|b| f64::from(*b)).sum::<f64>() / out.stdout.len().max(1) as f64
}

#[test]
fn the_poster_shows_content_not_a_black_opening_in_two_sizes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = dir.path().join("fade.mp4");
    // Two seconds of black, then four of picture: a naive first or 10 % frame is black.
    let status = Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=black:s=640x360:r=25:d=2",
        ])
        .args(["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=4"])
        .args([
            "-filter_complex",
            "[0][1]concat=n=2:v=1:a=0",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&src)
        .status();
    assert!(status.map(|s| s.success()).unwrap_or(false));
    let output = run(&src, &dir.path().join("out"), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let small = output.thumbnail.with_file_name("thumbnail-small.jpg");
    assert_eq!(ffprobe_streams(&output.thumbnail)[0], ("mjpeg".to_owned(), 640, 360));
    assert_eq!(ffprobe_streams(&small)[0], ("mjpeg".to_owned(), 320, 180));
    let luma = mean_luma(&output.thumbnail);
    assert!(
        luma > 40.0,
        "the poster is dark (mean luma {luma:.0}): a black frame was picked"
    );
}

#[test]
fn a_silent_source_gives_video_only_renditions() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "slides.mp4", VideoSpec::landscape(640, 360, 3.0).silent());
    let output = run(&src, &dir.path().join("out"), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sizes(&output), vec![(426, 240), (640, 360)]);
    for rung in &output.rungs {
        assert!(!rung.codecs.contains("mp4a"), "{}", rung.codecs);
        let streams = ffprobe_streams(&dir.path().join("out").join(&rung.playlist));
        assert_eq!(streams.len(), 1, "{streams:?}");
    }
}

#[test]
fn a_portrait_source_gets_portrait_rungs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "phone.mp4", VideoSpec::landscape(360, 640, 2.0));
    let output = run(&src, &dir.path().join("out"), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sizes(&output), vec![(240, 426), (360, 640)]);
}

#[test]
fn a_source_smaller_than_every_rung_is_not_upscaled() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "tiny.mp4", VideoSpec::landscape(160, 120, 2.0));
    let output = run(&src, &dir.path().join("out"), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sizes(&output), vec![(160, 120)]);
}

/// Which error a broken input must end in.
type ExpectedError = fn(&MediaError) -> bool;

/// Each broken input ends in a distinct error that names the problem.
#[test]
fn broken_files_fail_with_distinct_readable_reasons() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let good = fixtures::video(d, "good.mp4", VideoSpec::landscape(320, 240, 4.0));
    let empty = d.join("empty.mp4");
    std::fs::write(&empty, b"").unwrap_or_else(|e| panic!("{e}"));
    let random = d.join("random.mp4");
    std::fs::write(
        &random,
        (0..50_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cut = fixtures::truncated(&good, d, "cut.mp4", 0.5);
    let text = fixtures::text_file(d, "notes.mp4");
    let audio_only = d.join("podcast.m4a");
    let status = Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=d=3",
            "-c:a",
            "aac",
        ])
        .arg(&audio_only)
        .status();
    assert!(status.map(|s| s.success()).unwrap_or(false));
    let image = d.join("slide.png");
    let status = Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240",
            "-frames:v",
            "1",
        ])
        .arg(&image)
        .status();
    assert!(status.map(|s| s.success()).unwrap_or(false));

    let limits = Limits {
        max_duration: Duration::from_secs(3),
        ..Limits::default()
    };
    let cases: Vec<(&Path, ExpectedError)> = vec![
        (&empty, |e| matches!(e, MediaError::Unreadable(_))),
        (&random, |e| matches!(e, MediaError::Unreadable(_))),
        (&cut, |e| {
            matches!(e, MediaError::Unreadable(_) | MediaError::Corrupt(_))
        }),
        (&text, |e| matches!(e, MediaError::Unreadable(_))),
        (&audio_only, |e| matches!(e, MediaError::NoVideoStream)),
        (
            &image,
            |e| matches!(e, MediaError::Unreadable(r) if r.contains("still image")),
        ),
        (&good, |e| matches!(e, MediaError::TooLong { .. })),
    ];
    for (path, expected) in cases {
        let err = run(path, &d.join("out"), &limits)
            .err()
            .unwrap_or_else(|| panic!("{} was accepted", path.display()));
        assert!(expected(&err), "{}: unexpected {err:?}", path.display());
        assert!(err.is_bad_media(), "{err:?} would be retried");
        assert!(err.to_string().len() > 15, "reason too terse: {err}");
        // probe agrees with transcode on what is refused
        assert!(probe(path, &limits).is_err());
    }
}

#[test]
fn a_cancelled_transcode_stops() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "long.mp4", VideoSpec::landscape(320, 240, 5.0));
    let cancel = Cancel::default();
    cancel.cancel();
    let result = transcode(
        &src,
        &dir.path().join("out"),
        &SIZES,
        &Limits::default(),
        &cancel,
        &mut |_| {},
    );
    assert_eq!(result.err(), Some(MediaError::Cancelled));
}
