//! The pipeline: demux → decode once → one thread per rung (scale, rotate, encode,
//! mux HLS); AAC encoded once and shared.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::ScopedJoinHandle;
use std::time::Duration;

use ffmpeg_next::format::Sample;
use ffmpeg_next::format::sample::Type as SampleType;
use ffmpeg_next::software::resampling;
use ffmpeg_next::{ChannelLayout, Packet, Rational, codec, decoder, encoder, frame, media, threading};

use crate::hls::{
    AUDIO_BITRATE, AudioTrack, KEYFRAME_INTERVAL_S, RungWriter, has_segment, write_master, write_provisional_master,
};
use crate::probe::{describe, open};
use crate::rotate::upright;
use crate::storyboard::Storyboard;
use crate::thumbnail::{PosterPicker, write_posters};
use crate::{Ladder, Limits, MediaError, Probe, Rung};

/// Set from another thread to stop a transcode at the next packet.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What a running transcode reports to its caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// The fraction of the source decoded so far, 0 to 1.
    Progress(f32),
    /// Every rung has a finished first segment and `master.m3u8` lists them: what is in
    /// the output directory can be published and watched while the rest is encoded.
    Playable,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TranscodedRung {
    pub rung: Rung,
    /// Relative to the output directory, e.g. `720p/index.m3u8`.
    pub playlist: String,
    pub bandwidth: u64,
    pub average_bandwidth: u64,
    pub codecs: String,
}

#[derive(Debug, Clone)]
pub struct TranscodeOutput {
    pub probe: Probe,
    pub rungs: Vec<TranscodedRung>,
    /// `master.m3u8` in the output directory.
    pub master_playlist: PathBuf,
    /// `thumbnail.jpg` in the output directory (beside it `thumbnail-small.jpg`).
    pub thumbnail: PathBuf,
    /// `storyboard.vtt`, indexing `storyboard.jpg`, in the output directory.
    pub storyboard: PathBuf,
}

/// More undecodable packets than this and the file is called damaged.
const MAX_DECODE_ERRORS: usize = 32;

/// Decoded frames waiting per rung: enough to keep every encoder busy, few enough
/// that memory does not grow with a slow rung (the decoder waits instead).
const LANE_DEPTH: usize = 8;

/// AAC sample rates; anything else is resampled to 48 kHz.
const AAC_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// What the decode thread hands a rung's thread.
enum LaneInput {
    Video {
        frame: Arc<frame::Video>,
        pts: i64,
        /// How long the frame shows (variable in VFR sources); 0 when unknown.
        duration: i64,
        keyframe: bool,
    },
    Audio {
        packet: Packet,
        time_base: Rational,
    },
}

/// One rung's thread and the channel that feeds it.
struct Lane<'scope> {
    dir: PathBuf,
    input: SyncSender<LaneInput>,
    handle: ScopedJoinHandle<'scope, Result<TranscodedRung, MediaError>>,
}

/// The rung threads, fed in lockstep by the decode thread.
struct Lanes<'scope> {
    lanes: Vec<Lane<'scope>>,
}

impl Lanes<'_> {
    /// Hands the input to every rung; `Err` when one has stopped (its error is
    /// reported by [`Lanes::finish`]).
    fn send(&self, make: impl Fn() -> LaneInput) -> Result<(), MediaError> {
        for lane in &self.lanes {
            if lane.input.send(make()).is_err() {
                return Err(MediaError::Internal("a rendition stopped".into()));
            }
        }
        Ok(())
    }

    fn all_have_a_segment(&self) -> bool {
        self.lanes.iter().all(|l| has_segment(&l.dir))
    }

    /// Closes the inputs and waits for every rung; the first failure wins.
    fn finish(self) -> Result<Vec<TranscodedRung>, MediaError> {
        let handles: Vec<_> = self
            .lanes
            .into_iter()
            .map(|l| {
                drop(l.input);
                l.handle
            })
            .collect();
        let mut rungs = Vec::with_capacity(handles.len());
        let mut first_error = None;
        for handle in handles {
            match handle.join() {
                Ok(Ok(rung)) => rungs.push(rung),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error.get_or_insert(MediaError::Internal("a rendition thread panicked".into()));
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(rungs),
        }
    }
}

/// A rung's thread: scale, encode and mux everything it is given, then finish.
fn run_lane(mut writer: RungWriter, input: Receiver<LaneInput>, has_audio: bool) -> Result<TranscodedRung, MediaError> {
    let mut scaler = writer.scaler();
    for item in input {
        match item {
            LaneInput::Video {
                frame,
                pts,
                duration,
                keyframe,
            } => writer.push_frame(scaler.scale(&frame)?, pts, duration, keyframe)?,
            LaneInput::Audio { packet, time_base } => writer.push_audio(&packet, time_base)?,
        }
    }
    writer.finish(has_audio)
}

/// Transcodes `input` into `out_dir` (which it fills with `master.m3u8`, one folder
/// per rung, the posters and the storyboard). `sizes` are the ladder's short-side
/// sizes. `events` hears progress and the moment the output becomes playable.
pub fn transcode(
    input: &Path,
    out_dir: &Path,
    sizes: &[u32],
    limits: &Limits,
    cancel: &Cancel,
    events: &mut dyn FnMut(Event),
) -> Result<TranscodeOutput, MediaError> {
    crate::init()?;
    let mut ictx = open(input)?;
    let probe = describe(&ictx, limits)?;
    let ladder = Ladder::for_source(sizes, probe.width, probe.height, probe.frame_rate, probe.bitrate);

    let video_stream = ictx
        .streams()
        .best(media::Type::Video)
        .ok_or(MediaError::NoVideoStream)?;
    let video_index = video_stream.index();
    let video_tb = video_stream.time_base();
    let frame_rate = match video_stream.avg_frame_rate() {
        r if r.numerator() > 0 && r.denominator() > 0 => r,
        _ => Rational::new(30, 1),
    };
    let mut video_decoder = open_video_decoder(&video_stream)?;

    let mut audio = match ictx.streams().best(media::Type::Audio) {
        Some(stream) => AudioPipeline::new(&stream).ok(),
        None => None,
    };
    let has_audio = audio.is_some();
    let mut writers = Vec::with_capacity(ladder.rungs.len());
    for rung in &ladder.rungs {
        let track = audio.as_ref().map(|a| AudioTrack {
            encoder: &a.encoder,
            time_base: a.encoder_tb,
        });
        writers.push(RungWriter::new(
            *rung,
            &out_dir.join(rung.name()),
            video_tb,
            frame_rate,
            probe.rotation,
            track.as_ref(),
        )?);
    }

    let mut state = VideoState::new(video_tb, &probe, limits);
    let fps = f64::from(frame_rate);
    let (decoded, rungs) = std::thread::scope(|scope| {
        let lanes = Lanes {
            lanes: writers
                .into_iter()
                .map(|writer| {
                    let (input, receiver) = sync_channel(LANE_DEPTH);
                    let dir = writer.dir().to_path_buf();
                    let handle = scope.spawn(move || run_lane(writer, receiver, has_audio));
                    Lane { dir, input, handle }
                })
                .collect(),
        };
        let decoded = decode_all(
            &mut ictx,
            video_index,
            &mut video_decoder,
            audio.as_mut(),
            &mut state,
            &lanes,
            cancel,
            events,
            &mut |lanes| {
                if lanes.all_have_a_segment() {
                    write_provisional_master(out_dir, &ladder.rungs, has_audio, fps)?;
                    return Ok(true);
                }
                Ok(false)
            },
        );
        // Every rung is finished (or stopped) before we look at the outcome, so no
        // thread outlives a failure.
        let rungs = lanes.finish();
        (decoded, rungs)
    });
    // A rung's own failure explains a stopped decode better than "a rendition stopped".
    let rungs = rungs?;
    decoded?;
    state.check_coverage()?;

    // A video too short for the poster window falls back to its last frame.
    let poster = match state.poster.chosen() {
        Some(frame) => frame,
        None => state
            .last_frame
            .take()
            .ok_or_else(|| MediaError::Corrupt("no picture could be decoded".into()))?,
    };
    let thumbnail = write_posters(&upright(&poster, probe.rotation)?, out_dir)?;
    state.storyboard.write(out_dir, probe.duration.as_secs_f64())?;
    let master_playlist = write_master(out_dir, &rungs, fps)?;
    if !state.announced_playable {
        events(Event::Playable);
    }
    events(Event::Progress(1.0));
    Ok(TranscodeOutput {
        probe,
        rungs,
        master_playlist,
        thumbnail,
        storyboard: out_dir.join(crate::storyboard::INDEX_FILE),
    })
}

/// Reads every packet: video is decoded once and fanned out to the rungs, audio is
/// encoded once and shared. `playable` is asked now and then whether the first
/// segments are out (it writes the provisional master when they are).
#[allow(clippy::too_many_arguments)]
fn decode_all(
    ictx: &mut ffmpeg_next::format::context::Input,
    video_index: usize,
    video_decoder: &mut decoder::Video,
    mut audio: Option<&mut AudioPipeline>,
    state: &mut VideoState,
    lanes: &Lanes<'_>,
    cancel: &Cancel,
    events: &mut dyn FnMut(Event),
    playable: &mut dyn FnMut(&Lanes<'_>) -> Result<bool, MediaError>,
) -> Result<(), MediaError> {
    let mut decode_errors = 0;
    let mut packet = Packet::empty();
    loop {
        if cancel.is_cancelled() {
            return Err(MediaError::Cancelled);
        }
        match packet.read(ictx) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::Eof) => break,
            // A read error mid-file: stop here; the coverage check decides whether
            // what was read is the whole video.
            Err(_) => break,
        }
        let stream = packet.stream();
        if stream == video_index {
            if video_decoder.send_packet(&packet).is_err() {
                decode_errors += 1;
                if decode_errors > MAX_DECODE_ERRORS {
                    return Err(MediaError::Corrupt(format!(
                        "{decode_errors} video packets could not be decoded"
                    )));
                }
                continue;
            }
            state.receive(video_decoder, lanes, events)?;
            if !state.announced_playable && state.frames.is_multiple_of(15) && playable(lanes)? {
                state.announced_playable = true;
                events(Event::Playable);
            }
        } else if let Some(a) = audio.as_deref_mut().filter(|a| a.stream_index == stream) {
            a.push_packet(&packet, lanes)?;
        }
        packet = Packet::empty();
    }
    let _ = video_decoder.send_eof();
    state.receive(video_decoder, lanes, events)?;
    if let Some(a) = audio {
        a.finish(lanes)?;
    }
    Ok(())
}

fn open_video_decoder(stream: &ffmpeg_next::format::stream::Stream) -> Result<decoder::Video, MediaError> {
    let mut context = codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| MediaError::opening_codec(e, MediaError::UnsupportedCodec))?;
    context.set_threading(threading::Config {
        kind: threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    context
        .decoder()
        .video()
        .map_err(|e| MediaError::opening_codec(e, MediaError::UnsupportedCodec))
}

/// Per-frame bookkeeping of the one video decode.
struct VideoState {
    time_base: Rational,
    declared: Duration,
    /// Where decoding stops, whatever the header declared.
    max_duration: Duration,
    first_pts: Option<i64>,
    last_pts: i64,
    next_keyframe_s: f64,
    frames: u64,
    poster: PosterPicker,
    storyboard: Storyboard,
    last_frame: Option<frame::Video>,
    announced_playable: bool,
}

impl VideoState {
    fn new(time_base: Rational, probe: &Probe, limits: &Limits) -> Self {
        let declared = probe.duration;
        Self {
            time_base,
            declared,
            max_duration: limits.max_duration,
            first_pts: None,
            last_pts: 0,
            next_keyframe_s: 0.0,
            frames: 0,
            poster: PosterPicker::new(declared.as_secs_f64()),
            storyboard: Storyboard::new(declared.as_secs_f64(), probe.width, probe.height, probe.rotation),
            last_frame: None,
            announced_playable: false,
        }
    }

    fn seconds(&self, pts: i64) -> f64 {
        pts as f64 * f64::from(self.time_base)
    }

    fn receive(
        &mut self,
        decoder: &mut decoder::Video,
        lanes: &Lanes<'_>,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), MediaError> {
        loop {
            let mut decoded = frame::Video::empty();
            if decoder.receive_frame(&mut decoded).is_err() {
                return Ok(());
            }
            let raw = decoded.timestamp().unwrap_or(self.last_pts.saturating_add(1));
            let first = *self.first_pts.get_or_insert(raw);
            // Timestamps from 0 and strictly increasing, whatever the source did.
            let pts = raw.saturating_sub(first).max(if self.frames == 0 {
                0
            } else {
                self.last_pts.saturating_add(1)
            });
            self.last_pts = pts;
            self.frames += 1;
            let t = self.seconds(pts);
            // A header can lie about the length; the decoded pictures cannot.
            let limit_s = self.max_duration.as_secs_f64();
            if t > limit_s + 1.0 {
                return Err(MediaError::TooLong { actual_s: t, limit_s });
            }
            let keyframe = t + 1e-6 >= self.next_keyframe_s;
            if keyframe {
                self.next_keyframe_s += KEYFRAME_INTERVAL_S;
            }
            self.poster.offer(t, &decoded);
            self.storyboard.offer(t, &decoded)?;
            let duration = decoded.packet().duration.max(0);
            let shared = Arc::new(decoded);
            lanes.send(|| LaneInput::Video {
                frame: Arc::clone(&shared),
                pts,
                duration,
                keyframe,
            })?;
            if self.frames.is_multiple_of(30) {
                let total = self.declared.as_secs_f64().max(0.001);
                events(Event::Progress((t / total).clamp(0.0, 0.99) as f32));
            }
            // The last frame is kept for a video too short for the poster window.
            self.last_frame = Some(frame::Video::clone(&shared));
        }
    }

    /// A file that stops well before its declared end was cut short.
    fn check_coverage(&self) -> Result<(), MediaError> {
        if self.frames == 0 {
            return Err(MediaError::Corrupt("no picture could be decoded".into()));
        }
        let read = self.seconds(self.last_pts);
        let declared = self.declared.as_secs_f64();
        if read + 1.5 < declared * 0.9 {
            return Err(MediaError::Corrupt(format!(
                "the file ends early: only {read:.1} s of its {declared:.1} s could be read"
            )));
        }
        Ok(())
    }
}

/// Decodes the source's audio, converts it to stereo float planar and encodes AAC
/// in frames of exactly the encoder's frame size.
struct AudioPipeline {
    stream_index: usize,
    decoder: decoder::Audio,
    resampler: Option<resampling::Context>,
    encoder: encoder::Audio,
    encoder_tb: Rational,
    rate: u32,
    frame_size: usize,
    fifo: [Vec<f32>; 2],
    next_pts: i64,
}

impl AudioPipeline {
    fn new(stream: &ffmpeg_next::format::stream::Stream) -> Result<Self, MediaError> {
        let err = |e: ffmpeg_next::Error| MediaError::Internal(format!("audio: {e}"));
        let decoder = codec::context::Context::from_parameters(stream.parameters())
            .and_then(|c| c.decoder().audio())
            .map_err(err)?;
        let rate = if AAC_RATES.contains(&decoder.rate()) {
            decoder.rate()
        } else {
            48000
        };
        let codec = encoder::find(codec::Id::AAC).ok_or_else(|| MediaError::Internal("no AAC encoder".into()))?;
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .map_err(err)?;
        enc.set_rate(rate as i32);
        enc.set_channel_layout(ChannelLayout::STEREO);
        enc.set_channels(2);
        enc.set_format(Sample::F32(SampleType::Planar));
        enc.set_bit_rate(AUDIO_BITRATE as usize);
        enc.set_time_base(Rational::new(1, rate as i32));
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
        let encoder = enc.open().map_err(err)?;
        let frame_size = (encoder.frame_size() as usize).max(1);
        Ok(Self {
            stream_index: stream.index(),
            decoder,
            resampler: None,
            encoder,
            encoder_tb: Rational::new(1, rate as i32),
            rate,
            frame_size,
            fifo: [Vec::new(), Vec::new()],
            next_pts: 0,
        })
    }

    fn push_packet(&mut self, packet: &Packet, lanes: &Lanes<'_>) -> Result<(), MediaError> {
        // Damaged audio is dropped rather than failing the video.
        if self.decoder.send_packet(packet).is_err() {
            return Ok(());
        }
        self.receive(lanes)
    }

    fn receive(&mut self, lanes: &Lanes<'_>) -> Result<(), MediaError> {
        loop {
            let mut decoded = frame::Audio::empty();
            if self.decoder.receive_frame(&mut decoded).is_err() {
                return Ok(());
            }
            if decoded.samples() == 0 {
                continue;
            }
            let layout = match decoded.channel_layout() {
                l if l.is_empty() => ChannelLayout::default(i32::from(decoded.channels().max(1))),
                l => l,
            };
            decoded.set_channel_layout(layout);
            let resampler = match &mut self.resampler {
                Some(r) => r,
                None => self.resampler.insert(
                    resampling::Context::get(
                        decoded.format(),
                        layout,
                        decoded.rate(),
                        Sample::F32(SampleType::Planar),
                        ChannelLayout::STEREO,
                        self.rate,
                    )
                    .map_err(|e| MediaError::Internal(format!("resampler: {e}")))?,
                ),
            };
            let capacity = decoded.samples() * self.rate as usize / decoded.rate().max(1) as usize + 256;
            let mut converted = frame::Audio::new(Sample::F32(SampleType::Planar), capacity, ChannelLayout::STEREO);
            if resampler.run(&decoded, &mut converted).is_err() {
                continue;
            }
            let n = converted.samples();
            for ch in 0..2 {
                self.fifo[ch].extend_from_slice(&converted.plane::<f32>(ch)[..n]);
            }
            self.encode_full_frames(lanes, false)?;
        }
    }

    fn encode_full_frames(&mut self, lanes: &Lanes<'_>, flush: bool) -> Result<(), MediaError> {
        while self.fifo[0].len() >= self.frame_size || (flush && !self.fifo[0].is_empty()) {
            let n = self.fifo[0].len().min(self.frame_size);
            let mut frame = frame::Audio::new(Sample::F32(SampleType::Planar), n, ChannelLayout::STEREO);
            frame.set_rate(self.rate);
            for ch in 0..2 {
                frame.plane_mut::<f32>(ch)[..n].copy_from_slice(&self.fifo[ch][..n]);
                self.fifo[ch].drain(..n);
            }
            frame.set_pts(Some(self.next_pts));
            self.next_pts += n as i64;
            self.encoder
                .send_frame(&frame)
                .map_err(|e| MediaError::Internal(format!("aac encode: {e}")))?;
            self.drain(lanes)?;
        }
        Ok(())
    }

    fn drain(&mut self, lanes: &Lanes<'_>) -> Result<(), MediaError> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            let time_base = self.encoder_tb;
            lanes.send(|| LaneInput::Audio {
                packet: packet.clone(),
                time_base,
            })?;
            packet = Packet::empty();
        }
        Ok(())
    }

    fn finish(&mut self, lanes: &Lanes<'_>) -> Result<(), MediaError> {
        let _ = self.decoder.send_eof();
        self.receive(lanes)?;
        self.encode_full_frames(lanes, true)?;
        let _ = self.encoder.send_eof();
        self.drain(lanes)
    }
}
