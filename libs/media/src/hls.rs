//! One rung of the ladder: scaler, libx264 encoder and libavformat's `hls` muxer
//! writing fMP4 segments; plus the master playlist over all rungs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{Dictionary, Packet, Rational, codec, encoder, format, frame, picture};

use crate::rotate::{Rotation, rotate_yuv420p};
use crate::{MediaError, Rung};

/// The AAC bitrate every rung carries.
pub(crate) const AUDIO_BITRATE: u64 = 128_000;

/// Brings decoded pictures to a rung's size, upright. Made on the rung's own thread
/// (a libswscale context is not `Send`).
pub(crate) struct RungScaler {
    stored: (u32, u32),
    rotation: Rotation,
    context: Option<scaling::Context>,
}

impl RungScaler {
    pub fn new(rung: &Rung, rotation: Rotation) -> Self {
        Self {
            stored: rotation.stored_size(rung.width, rung.height),
            rotation,
            context: None,
        }
    }

    /// A fresh frame each time: the encoder may keep a reference to the last one.
    pub fn scale(&mut self, decoded: &frame::Video) -> Result<frame::Video, MediaError> {
        if self.context.is_none() {
            let context = scaling::Context::get(
                decoded.format(),
                decoded.width(),
                decoded.height(),
                Pixel::YUV420P,
                self.stored.0,
                self.stored.1,
                scaling::Flags::BICUBIC,
            )
            .map_err(internal("scaler"))?;
            self.context = Some(context);
        }
        let Some(context) = self.context.as_mut() else {
            return Err(MediaError::Internal("scaler missing".into()));
        };
        let mut scaled = frame::Video::empty();
        context
            .run(decoded, &mut scaled)
            .map_err(|e| MediaError::Corrupt(format!("picture could not be scaled: {e}")))?;
        Ok(if self.rotation == Rotation::None {
            scaled
        } else {
            rotate_yuv420p(&scaled, self.rotation)
        })
    }
}

/// HLS segment duration; keyframes every [`KEYFRAME_INTERVAL_S`] keep segments aligned.
pub(crate) const SEGMENT_S: u32 = 4;
pub(crate) const KEYFRAME_INTERVAL_S: f64 = 2.0;

fn internal(what: &str) -> impl Fn(ffmpeg_next::Error) -> MediaError + '_ {
    move |e| MediaError::Internal(format!("{what}: {e}"))
}

/// What the muxer must know about the shared AAC track.
pub(crate) struct AudioTrack<'a> {
    pub encoder: &'a encoder::Audio,
    pub time_base: Rational,
}

pub(crate) struct RungWriter {
    pub rung: Rung,
    dir: PathBuf,
    output: format::context::Output,
    encoder: encoder::Video,
    rotation: Rotation,
    time_base: Rational,
    /// Used when a frame's own duration is unknown: one frame at the average rate.
    frame_duration: i64,
    /// Durations of frames sent to the encoder, by pts, until their packet comes out
    /// (x264 reorders): a variable-frame-rate source keeps its timing.
    durations: std::collections::HashMap<i64, i64>,
    video_out_tb: Rational,
    audio_out_tb: Option<Rational>,
}

impl RungWriter {
    /// `time_base` is the decoder's; frames keep their timestamps in it.
    /// `rotation` is applied to every picture after scaling (the rung's size is upright).
    pub fn new(
        rung: Rung,
        dir: &Path,
        time_base: Rational,
        frame_rate: Rational,
        rotation: Rotation,
        audio: Option<&AudioTrack<'_>>,
    ) -> Result<Self, MediaError> {
        std::fs::create_dir_all(dir)?;
        let mut output = format::output_as(&dir.join("index.m3u8"), "hls").map_err(internal("hls muxer"))?;
        let encoder = open_x264(&rung, time_base, frame_rate)?;
        let mut video = output
            .add_stream(encoder::find(codec::Id::H264))
            .map_err(internal("video stream"))?;
        video.set_parameters(&encoder);
        video.set_time_base(time_base);
        if let Some(track) = audio {
            let mut stream = output
                .add_stream(encoder::find(codec::Id::AAC))
                .map_err(internal("audio stream"))?;
            stream.set_parameters(track.encoder);
            stream.set_time_base(track.time_base);
        }
        let mut options = Dictionary::new();
        options.set("hls_time", &SEGMENT_S.to_string());
        // `event` rewrites the playlist after every segment, so the first segments can be
        // published (and watched) while the rest is encoded; `finish` makes it `VOD`.
        options.set("hls_playlist_type", "event");
        options.set("hls_segment_type", "fmp4");
        options.set("hls_fmp4_init_filename", "init.mp4");
        options.set("hls_segment_filename", &dir.join("seg_%05d.m4s").to_string_lossy());
        // temp_file: a playlist is renamed into place, never seen half-written.
        options.set("hls_flags", "independent_segments+temp_file");
        // A misspelt muxer option is silently ignored by FFmpeg: refuse to go on.
        let ignored = {
            let unused = output.write_header_with(options).map_err(internal("hls header"))?;
            unused.iter().next().map(|(key, _)| key.to_owned())
        };
        if let Some(key) = ignored {
            return Err(MediaError::Internal(format!("hls muxer ignored option `{key}`")));
        }
        let video_out_tb = output.stream(0).map(|s| s.time_base()).unwrap_or(time_base);
        let audio_out_tb = audio.and_then(|_| output.stream(1).map(|s| s.time_base()));
        let fps = if frame_rate.numerator() > 0 && frame_rate.denominator() > 0 {
            f64::from(frame_rate)
        } else {
            30.0
        };
        let frame_duration = ((f64::from(time_base.denominator()) / f64::from(time_base.numerator().max(1))) / fps)
            .round()
            .max(1.0) as i64;
        Ok(Self {
            rung,
            dir: dir.to_path_buf(),
            output,
            encoder,
            rotation,
            time_base,
            frame_duration,
            durations: std::collections::HashMap::new(),
            video_out_tb,
            audio_out_tb,
        })
    }

    /// Encodes one picture of the rung's size; `keyframe` forces an IDR (the same
    /// decision for every rung keeps segment boundaries aligned).
    pub fn push_frame(
        &mut self,
        mut scaled: frame::Video,
        pts: i64,
        duration: i64,
        keyframe: bool,
    ) -> Result<(), MediaError> {
        scaled.set_pts(Some(pts));
        if duration > 0 {
            self.durations.insert(pts, duration);
        }
        scaled.set_kind(if keyframe {
            picture::Type::I
        } else {
            picture::Type::None
        });
        self.encoder.send_frame(&scaled).map_err(internal("encode"))?;
        self.drain_video()
    }

    pub fn scaler(&self) -> RungScaler {
        RungScaler::new(&self.rung, self.rotation)
    }

    fn drain_video(&mut self) -> Result<(), MediaError> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            // libx264 in FFmpeg 5.1 leaves the duration at 0; the muxer needs it (the
            // last segment's length is summed from it).
            let own = packet.pts().and_then(|pts| self.durations.remove(&pts));
            packet.set_duration(own.unwrap_or(self.frame_duration));
            packet.set_stream(0);
            packet.rescale_ts(self.time_base, self.video_out_tb);
            packet
                .write_interleaved(&mut self.output)
                .map_err(internal("write video"))?;
            packet = Packet::empty();
        }
        Ok(())
    }

    /// Muxes one packet of the shared AAC track.
    pub fn push_audio(&mut self, packet: &Packet, time_base: Rational) -> Result<(), MediaError> {
        let Some(out_tb) = self.audio_out_tb else {
            return Ok(());
        };
        let mut packet = packet.clone();
        packet.set_stream(1);
        packet.rescale_ts(time_base, out_tb);
        packet
            .write_interleaved(&mut self.output)
            .map_err(internal("write audio"))
    }

    /// Flushes the encoder and closes the playlist; measures the bandwidth actually used.
    pub fn finish(mut self, has_audio: bool) -> Result<crate::TranscodedRung, MediaError> {
        self.encoder.send_eof().map_err(internal("flush encoder"))?;
        self.drain_video()?;
        self.output.write_trailer().map_err(internal("hls trailer"))?;
        mark_complete(&self.dir.join("index.m3u8"))?;
        let (bandwidth, average_bandwidth) = measure_bandwidth(&self.dir)?;
        let name = self.rung.name();
        Ok(crate::TranscodedRung {
            rung: self.rung,
            playlist: format!("{name}/index.m3u8"),
            bandwidth,
            average_bandwidth,
            codecs: codecs(&self.rung, has_audio),
        })
    }

    /// The rung's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn codecs(rung: &Rung, has_audio: bool) -> String {
    let avc = format!("avc1.6400{:02x}", rung.level);
    if has_audio { format!("{avc},mp4a.40.2") } else { avc }
}

/// Whether a rung's playlist lists a finished segment yet.
pub(crate) fn has_segment(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("index.m3u8")).is_ok_and(|p| p.contains("#EXTINF:"))
}

/// The encoder's playlist says `EVENT` while it grows; once complete it is `VOD`.
fn mark_complete(playlist: &Path) -> Result<(), MediaError> {
    let text = std::fs::read_to_string(playlist)?;
    let text = text.replace("#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-PLAYLIST-TYPE:VOD");
    let tmp = playlist.with_extension("m3u8.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, playlist)?;
    Ok(())
}

fn open_x264(rung: &Rung, time_base: Rational, frame_rate: Rational) -> Result<encoder::Video, MediaError> {
    let codec = encoder::find_by_name("libx264")
        .ok_or_else(|| MediaError::Internal("FFmpeg was built without libx264".into()))?;
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(internal("x264 context"))?;
    let fps = if frame_rate.numerator() > 0 && frame_rate.denominator() > 0 {
        f64::from(frame_rate)
    } else {
        30.0
    };
    let gop = (fps * KEYFRAME_INTERVAL_S).round().max(1.0) as u32;
    enc.set_width(rung.width);
    enc.set_height(rung.height);
    enc.set_format(Pixel::YUV420P);
    enc.set_time_base(time_base);
    enc.set_frame_rate(Some(frame_rate));
    enc.set_gop(gop);
    enc.set_bit_rate(rung.video_bitrate as usize);
    enc.set_max_bit_rate(rung.max_bitrate as usize);
    enc.set_flags(codec::Flags::GLOBAL_HEADER);
    let maxrate_k = rung.max_bitrate / 1000;
    let mut options = Dictionary::new();
    options.set("preset", "veryfast");
    options.set("profile", "high");
    // Time-based keyframes are forced per frame; these keep x264 from adding others.
    options.set("forced-idr", "1");
    options.set(
        "x264-params",
        &format!(
            "keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:vbv-maxrate={maxrate_k}:vbv-bufsize={}:level={}.{}",
            maxrate_k * 2,
            rung.level / 10,
            rung.level % 10
        ),
    );
    enc.open_with(options).map_err(internal("open libx264"))
}

/// Peak (per segment) and average bits per second of a rung, from its playlist.
fn measure_bandwidth(dir: &Path) -> Result<(u64, u64), MediaError> {
    let playlist = std::fs::read_to_string(dir.join("index.m3u8"))?;
    let init = std::fs::metadata(dir.join("init.mp4")).map(|m| m.len()).unwrap_or(0);
    let (mut total_bits, mut total_s, mut peak) = (init as f64 * 8.0, 0.0_f64, 0.0_f64);
    let mut pending: Option<f64> = None;
    for line in playlist.lines() {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            pending = rest.split(',').next().and_then(|d| d.parse().ok());
        } else if let (Some(secs), false) = (pending.take(), line.starts_with('#') || line.is_empty()) {
            let file = Path::new(line)
                .file_name()
                .map(|f| dir.join(f))
                .unwrap_or_else(|| dir.join(line));
            let bits = std::fs::metadata(file)?.len() as f64 * 8.0;
            total_bits += bits;
            total_s += secs;
            if secs > 0.5 {
                peak = peak.max(bits / secs);
            }
        }
    }
    let average = if total_s > 0.0 { total_bits / total_s } else { 0.0 };
    Ok((peak.max(average).ceil() as u64, average.ceil() as u64))
}

/// Writes `master.m3u8` listing every rung, best first.
pub(crate) fn write_master(
    dir: &Path,
    rungs: &[crate::TranscodedRung],
    frame_rate: f64,
) -> Result<PathBuf, MediaError> {
    write_master_text(dir, rungs, frame_rate, "")
}

/// The master playlist published as soon as every rung has its first segment, with
/// bandwidths from the encoder's targets (measured ones replace them at the end).
/// Players start at the beginning rather than at the growing end.
pub(crate) fn write_provisional_master(
    dir: &Path,
    rungs: &[Rung],
    has_audio: bool,
    frame_rate: f64,
) -> Result<PathBuf, MediaError> {
    let audio = if has_audio { AUDIO_BITRATE } else { 0 };
    let estimated: Vec<crate::TranscodedRung> = rungs
        .iter()
        .map(|r| crate::TranscodedRung {
            rung: *r,
            playlist: format!("{}/index.m3u8", r.name()),
            bandwidth: r.max_bitrate + audio,
            average_bandwidth: r.video_bitrate + audio,
            codecs: codecs(r, has_audio),
        })
        .collect();
    write_master_text(dir, &estimated, frame_rate, "#EXT-X-START:TIME-OFFSET=0,PRECISE=YES\n")
}

fn write_master_text(
    dir: &Path,
    rungs: &[crate::TranscodedRung],
    frame_rate: f64,
    extra: &str,
) -> Result<PathBuf, MediaError> {
    let mut out = format!("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n{extra}");
    for r in rungs.iter().rev() {
        let _ = writeln!(
            out,
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},RESOLUTION={}x{},CODECS=\"{}\",FRAME-RATE={:.3}\n{}",
            r.bandwidth, r.average_bandwidth, r.rung.width, r.rung.height, r.codecs, frame_rate, r.playlist
        );
    }
    let path = dir.join("master.m3u8");
    // Renamed into place: a publisher reading it never sees half a playlist.
    let tmp = dir.join("master.m3u8.tmp");
    std::fs::write(&tmp, out)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}
