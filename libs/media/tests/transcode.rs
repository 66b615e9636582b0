//! Real files in, real HLS out, checked with `ffprobe`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use skillreel_media::{Cancel, Event, Limits, MediaError, Rotation, TranscodeOutput, probe, transcode};
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

/// Presentation times of the video keyframes of a playlist, as `ffprobe` reads them.
fn keyframe_times(playlist: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,flags",
        ])
        .args(["-of", "csv=p=0"])
        .arg(playlist)
        .output()
        .unwrap_or_else(|e| panic!("ffprobe: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains('K'))
        .filter_map(|l| l.split(',').next().map(str::to_owned))
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
fn a_240p_source_gets_one_240p_rung() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "small.mp4", VideoSpec::landscape(426, 240, 2.0));
    let out = dir.path().join("out");
    let output = run(&src, &out, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sizes(&output), vec![(426, 240)]);
    assert_eq!(
        ffprobe_streams(&out.join("240p/index.m3u8"))[0],
        ("h264".to_owned(), 426, 240)
    );
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
    let cases: Vec<(std::path::PathBuf, ExpectedError)> = vec![
        (empty, |e| matches!(e, MediaError::Empty)),
        (
            fixtures::random_bytes(d, "random.mp4"),
            |e| matches!(e, MediaError::Unreadable(r) if r.contains("no known video format")),
        ),
        (
            fixtures::truncated(&good, d, "cut.mp4", 0.5),
            |e| matches!(e, MediaError::Corrupt(r) if r.contains("without its index")),
        ),
        (
            fixtures::moov_cut(&good, d, "moov-cut.mp4"),
            |e| matches!(e, MediaError::Corrupt(r) if r.contains("index (moov box) is cut off")),
        ),
        (
            fixtures::text_file(d, "notes.mp4"),
            |e| matches!(e, MediaError::Unreadable(r) if r.contains("text document")),
        ),
        (fixtures::audio_only(d, "podcast.m4a"), |e| {
            matches!(e, MediaError::NoVideoStream)
        }),
        (
            fixtures::image(d, "slide.png"),
            |e| matches!(e, MediaError::Unreadable(r) if r.contains("still image")),
        ),
        (fixtures::long_video(d, "lecture.mp4", 20 * 60), |e| {
            matches!(e, MediaError::TooLong { .. })
        }),
        (fixtures::absurd_dimensions(d, "huge.mp4"), |e| {
            matches!(e, MediaError::TooLarge { .. })
        }),
        (
            fixtures::video(d, "blink.mp4", VideoSpec::landscape(320, 240, 0.5)),
            |e| matches!(e, MediaError::TooShort { .. }),
        ),
    ];
    let mut reasons = std::collections::HashSet::new();
    for (path, expected) in &cases {
        let err = run(path, &d.join("out"), &Limits::default())
            .err()
            .unwrap_or_else(|| panic!("{} was accepted", path.display()));
        assert!(expected(&err), "{}: unexpected {err:?}", path.display());
        assert!(err.is_bad_media(), "{err:?} would be retried");
        assert!(err.to_string().len() > 15, "reason too terse: {err}");
        assert!(reasons.insert(err.to_string()), "reason given twice: {err}");
        // probe agrees with transcode on what is refused
        assert!(probe(path, &Limits::default()).is_err());
    }
    let short = Limits {
        max_duration: Duration::from_secs(3),
        ..Limits::default()
    };
    assert!(matches!(
        run(&good, &d.join("out"), &short),
        Err(MediaError::TooLong { .. })
    ));
}

#[test]
fn a_1080p_source_becomes_five_rungs_with_aligned_keyframes_and_a_storyboard() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "screen.mp4", VideoSpec::landscape(1920, 1080, 5.0));
    let out = dir.path().join("out");
    let output = run(&src, &out, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sizes(&output),
        vec![(426, 240), (640, 360), (854, 480), (1280, 720), (1920, 1080)]
    );
    let reference = keyframe_times(&out.join("240p/index.m3u8"));
    // A keyframe every 2 s: at 0, 2 and 4 s.
    assert_eq!(reference.len(), 3, "{reference:?}");
    for rung in &output.rungs {
        let playlist = out.join(&rung.playlist);
        assert_eq!(keyframe_times(&playlist), reference, "{}", rung.playlist);
        let text = std::fs::read_to_string(&playlist).unwrap_or_default();
        assert!(
            text.contains("#EXT-X-PLAYLIST-TYPE:VOD") && text.contains("#EXT-X-ENDLIST"),
            "{text}"
        );
        assert_eq!(
            ffprobe_streams(&playlist)[0],
            ("h264".to_owned(), rung.rung.width, rung.rung.height)
        );
    }
    let master = std::fs::read_to_string(&output.master_playlist).unwrap_or_default();
    assert!(
        master.contains("RESOLUTION=1920x1080") && master.contains("avc1.640028"),
        "{master}"
    );
    assert!(
        !master.contains("EXT-X-START"),
        "the final master is plain VOD: {master}"
    );

    let vtt = std::fs::read_to_string(&output.storyboard).unwrap_or_default();
    assert!(vtt.starts_with("WEBVTT\n"), "{vtt}");
    assert!(
        vtt.contains("00:00:00.000 --> 00:00:01.000\nstoryboard.jpg#xywh=0,0,160,90"),
        "{vtt}"
    );
    assert_eq!(vtt.matches("#xywh=").count(), 5, "one tile a second: {vtt}");
    assert_eq!(
        ffprobe_streams(&out.join("storyboard.jpg"))[0],
        ("mjpeg".to_owned(), 800, 90)
    );
}

#[test]
fn a_variable_frame_rate_clip_keeps_its_timing_and_keyframes_every_two_seconds() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::variable_frame_rate(dir.path(), "webcam.mp4");
    let out = dir.path().join("out");
    let output = run(&src, &out, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let playlist = out.join(&output.rungs[0].playlist);
    let total: f64 = segment_durations(&playlist)
        .iter()
        .filter_map(|d| d.trim_end_matches(',').parse::<f64>().ok())
        .sum();
    assert!(
        (total - 6.9).abs() < 0.3,
        "the rendition lasts {total} s, the source 6.9 s"
    );
    let keyframes: Vec<f64> = keyframe_times(&playlist)
        .iter()
        .filter_map(|t| t.parse().ok())
        .collect();
    for want in [0.0, 2.0, 4.0, 6.0] {
        assert!(
            keyframes.iter().any(|k| (k - want).abs() < 0.11),
            "no keyframe at {want} s: {keyframes:?}"
        );
    }
}

#[test]
fn a_phone_clip_with_rotation_metadata_gets_upright_portrait_rungs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::rotated(dir.path(), "phone.mp4", 90);
    let probed = probe(&src, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(probed.rotation, Rotation::None);
    assert_eq!((probed.width, probed.height), (720, 1280));

    let out = dir.path().join("out");
    let output = run(&src, &out, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sizes(&output), vec![(240, 426), (360, 640), (480, 854), (720, 1280)]);
    // The pixels are turned the way ffmpeg's own autorotate turns them (the outputs
    // carry no rotation of their own, so every player shows them the same way).
    let (want_left, want_right) = fixtures::left_right_luma(&src);
    assert!((want_left - want_right).abs() > 100.0, "{want_left} vs {want_right}");
    for picture in [out.join("720p/index.m3u8"), output.thumbnail.clone()] {
        let (left, right) = fixtures::left_right_luma(&picture);
        assert!(
            (left - want_left).abs() < 40.0 && (right - want_right).abs() < 40.0,
            "{}: {left:.0}/{right:.0}, ffmpeg shows {want_left:.0}/{want_right:.0}",
            picture.display()
        );
    }
    assert_eq!(ffprobe_streams(&output.thumbnail)[0], ("mjpeg".to_owned(), 720, 1280));
}

#[test]
fn the_first_segments_are_playable_long_before_the_end() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = fixtures::video(dir.path(), "talk.mp4", VideoSpec::landscape(640, 360, 16.0));
    let out = dir.path().join("out");
    let mut last_progress = 0.0;
    let mut playable_at = None;
    let mut master_then = String::new();
    let result = transcode(
        &src,
        &out,
        &SIZES,
        &Limits::default(),
        &Cancel::default(),
        &mut |event| match event {
            Event::Progress(f) => last_progress = f,
            Event::Playable => {
                playable_at.get_or_insert(last_progress);
                master_then = std::fs::read_to_string(out.join("master.m3u8")).unwrap_or_default();
            }
        },
    );
    result.unwrap_or_else(|e| panic!("{e}"));
    let at = playable_at.unwrap_or_else(|| panic!("never playable"));
    assert!(at < 0.6, "playable only at {at:.2} of the way");
    // What was playable then: a master that starts players at the beginning, over
    // rung playlists that already list a segment.
    assert!(master_then.contains("#EXT-X-START:TIME-OFFSET=0"), "{master_then}");
    assert_eq!(master_then.matches("#EXT-X-STREAM-INF").count(), 2, "{master_then}");
    assert_eq!(last_progress, 1.0);
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
