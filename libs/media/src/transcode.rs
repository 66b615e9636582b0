//! The pipeline: demux → decode once → (scale + encode) per rung → HLS; AAC once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ffmpeg_next::format::Sample;
use ffmpeg_next::format::sample::Type as SampleType;
use ffmpeg_next::software::resampling;
use ffmpeg_next::{ChannelLayout, Packet, Rational, codec, decoder, encoder, frame, media, threading};

use crate::hls::{AudioTrack, KEYFRAME_INTERVAL_S, RungWriter, write_master};
use crate::probe::{describe, open};
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
}

/// More undecodable packets than this and the file is called damaged.
const MAX_DECODE_ERRORS: usize = 32;

/// AAC sample rates; anything else is resampled to 48 kHz.
const AAC_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// Transcodes `input` into `out_dir` (which it fills with `master.m3u8`, one folder
/// per rung and `thumbnail.jpg`). `sizes` are the ladder's short-side sizes.
/// `progress` receives the fraction done, from 0 to 1.
pub fn transcode(
    input: &Path,
    out_dir: &Path,
    sizes: &[u32],
    limits: &Limits,
    cancel: &Cancel,
    progress: &mut dyn FnMut(f32),
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
            track.as_ref(),
        )?);
    }

    let mut state = VideoState::new(video_tb, probe.duration);
    let mut decode_errors = 0;
    let mut packet = Packet::empty();
    loop {
        if cancel.is_cancelled() {
            return Err(MediaError::Cancelled);
        }
        match packet.read(&mut ictx) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::Eof) => break,
            // A read error mid-file: stop here; the coverage check below decides
            // whether what was read is the whole video.
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
            state.receive(&mut video_decoder, &mut writers, progress)?;
        } else if let Some(a) = audio.as_mut().filter(|a| a.stream_index == stream) {
            a.push_packet(&packet, &mut writers)?;
        }
        packet = Packet::empty();
    }
    let _ = video_decoder.send_eof();
    state.receive(&mut video_decoder, &mut writers, progress)?;
    if let Some(a) = audio.as_mut() {
        a.finish(&mut writers)?;
    }
    state.check_coverage()?;
    // A video too short for the poster window falls back to its last frame.
    let poster = match state.poster.chosen() {
        Some(frame) => frame,
        None => state
            .last_frame
            .take()
            .ok_or_else(|| MediaError::Corrupt("no picture could be decoded".into()))?,
    };
    let thumbnail = write_posters(&poster, out_dir)?;

    let has_audio = audio.is_some();
    let rungs = writers
        .into_iter()
        .map(|w| w.finish(has_audio))
        .collect::<Result<Vec<_>, _>>()?;
    let master_playlist = write_master(out_dir, &rungs, f64::from(frame_rate))?;
    progress(1.0);
    Ok(TranscodeOutput {
        probe,
        rungs,
        master_playlist,
        thumbnail,
    })
}

fn open_video_decoder(stream: &ffmpeg_next::format::stream::Stream) -> Result<decoder::Video, MediaError> {
    let mut context = codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| MediaError::UnsupportedCodec(e.to_string()))?;
    context.set_threading(threading::Config {
        kind: threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    context
        .decoder()
        .video()
        .map_err(|e| MediaError::UnsupportedCodec(e.to_string()))
}

/// Per-frame bookkeeping of the one video decode.
struct VideoState {
    time_base: Rational,
    declared: Duration,
    first_pts: Option<i64>,
    last_pts: i64,
    next_keyframe_s: f64,
    frames: u64,
    poster: PosterPicker,
    last_frame: Option<frame::Video>,
}

impl VideoState {
    fn new(time_base: Rational, declared: Duration) -> Self {
        Self {
            time_base,
            declared,
            first_pts: None,
            last_pts: 0,
            next_keyframe_s: 0.0,
            frames: 0,
            poster: PosterPicker::new(declared.as_secs_f64()),
            last_frame: None,
        }
    }

    fn seconds(&self, pts: i64) -> f64 {
        pts as f64 * f64::from(self.time_base)
    }

    fn receive(
        &mut self,
        decoder: &mut decoder::Video,
        writers: &mut [RungWriter],
        progress: &mut dyn FnMut(f32),
    ) -> Result<(), MediaError> {
        loop {
            let mut decoded = frame::Video::empty();
            if decoder.receive_frame(&mut decoded).is_err() {
                return Ok(());
            }
            let raw = decoded.timestamp().unwrap_or(self.last_pts + 1);
            let first = *self.first_pts.get_or_insert(raw);
            // Timestamps from 0 and strictly increasing, whatever the source did.
            let pts = (raw - first).max(if self.frames == 0 { 0 } else { self.last_pts + 1 });
            self.last_pts = pts;
            self.frames += 1;
            let t = self.seconds(pts);
            let keyframe = t + 1e-6 >= self.next_keyframe_s;
            if keyframe {
                self.next_keyframe_s += KEYFRAME_INTERVAL_S;
            }
            for w in writers.iter_mut() {
                w.push_frame(&decoded, pts, keyframe)?;
            }
            self.poster.offer(t, &decoded);
            if self.frames.is_multiple_of(30) {
                let total = self.declared.as_secs_f64().max(0.001);
                progress((t / total).clamp(0.0, 0.99) as f32);
            }
            self.last_frame = Some(decoded);
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
        enc.set_bit_rate(128_000);
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

    fn push_packet(&mut self, packet: &Packet, writers: &mut [RungWriter]) -> Result<(), MediaError> {
        // Damaged audio is dropped rather than failing the video.
        if self.decoder.send_packet(packet).is_err() {
            return Ok(());
        }
        self.receive(writers)
    }

    fn receive(&mut self, writers: &mut [RungWriter]) -> Result<(), MediaError> {
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
            self.encode_full_frames(writers, false)?;
        }
    }

    fn encode_full_frames(&mut self, writers: &mut [RungWriter], flush: bool) -> Result<(), MediaError> {
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
            self.drain(writers)?;
        }
        Ok(())
    }

    fn drain(&mut self, writers: &mut [RungWriter]) -> Result<(), MediaError> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            for w in writers.iter_mut() {
                w.push_audio(&packet, self.encoder_tb)?;
            }
            packet = Packet::empty();
        }
        Ok(())
    }

    fn finish(&mut self, writers: &mut [RungWriter]) -> Result<(), MediaError> {
        let _ = self.decoder.send_eof();
        self.receive(writers)?;
        self.encode_full_frames(writers, true)?;
        let _ = self.encoder.send_eof();
        self.drain(writers)
    }
}
