//! What a source file is, and whether we accept it.

use std::path::Path;
use std::time::Duration;

use ffmpeg_next::{codec, format, media};

use crate::MediaError;

/// What we refuse before spending CPU on a source.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub min_duration: Duration,
    pub max_duration: Duration,
    pub max_width: u32,
    pub max_height: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            min_duration: Duration::from_millis(500),
            max_duration: Duration::from_secs(15 * 60),
            max_width: 7680,
            max_height: 7680,
        }
    }
}

/// A source's streams as far as we care.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub container: String,
    pub duration: Duration,
    pub video_codec: String,
    pub width: u32,
    pub height: u32,
    pub frame_rate: f64,
    pub has_audio: bool,
    /// Overall bitrate the container declares, if any.
    pub bitrate: Option<u64>,
}

/// Opens the file and checks it against `limits`.
pub fn probe(path: &Path, limits: &Limits) -> Result<Probe, MediaError> {
    crate::init()?;
    let input = open(path)?;
    describe(&input, limits)
}

pub(crate) fn open(path: &Path) -> Result<format::context::Input, MediaError> {
    format::input(&path).map_err(|e| MediaError::Unreadable(e.to_string()))
}

pub(crate) fn describe(input: &format::context::Input, limits: &Limits) -> Result<Probe, MediaError> {
    let stream = input
        .streams()
        .best(media::Type::Video)
        .ok_or(MediaError::NoVideoStream)?;
    let params = stream.parameters();
    let codec_id = params.id();
    let decoder = codec::context::Context::from_parameters(params)
        .and_then(|c| c.decoder().video())
        .map_err(|e| MediaError::UnsupportedCodec(format!("{codec_id:?} ({e})")))?;
    if codec_id == codec::Id::None || ffmpeg_next::decoder::find(codec_id).is_none() {
        return Err(MediaError::UnsupportedCodec(format!("{codec_id:?}")));
    }
    // Still images (PNG, JPEG, GIF) open as one-frame "videos": not what we host.
    if matches!(
        codec_id,
        codec::Id::PNG | codec::Id::MJPEG | codec::Id::GIF | codec::Id::BMP | codec::Id::WEBP | codec::Id::TIFF
    ) && input.format().name().contains("image2")
        || input.format().name().ends_with("_pipe")
    {
        return Err(MediaError::Unreadable("it is a still image".into()));
    }
    let (width, height) = (decoder.width(), decoder.height());
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt("the video track declares no picture size".into()));
    }
    if width > limits.max_width || height > limits.max_height || u64::from(width) * u64::from(height) > 7680 * 4320 {
        return Err(MediaError::TooLarge { width, height });
    }
    let duration = container_duration(input, &stream);
    let secs = duration.as_secs_f64();
    if duration > limits.max_duration {
        return Err(MediaError::TooLong {
            actual_s: secs,
            limit_s: limits.max_duration.as_secs_f64(),
        });
    }
    if duration < limits.min_duration {
        return Err(MediaError::TooShort {
            actual_s: secs,
            limit_s: limits.min_duration.as_secs_f64(),
        });
    }
    let rate = stream.avg_frame_rate();
    let frame_rate = if rate.denominator() != 0 && rate.numerator() > 0 {
        f64::from(rate)
    } else {
        30.0
    };
    Ok(Probe {
        container: input.format().name().to_owned(),
        duration,
        video_codec: format!("{codec_id:?}").to_lowercase(),
        width,
        height,
        frame_rate,
        has_audio: input.streams().best(media::Type::Audio).is_some(),
        bitrate: u64::try_from(input.bit_rate()).ok().filter(|b| *b > 0),
    })
}

/// The container's duration, or the video stream's when the container has none.
fn container_duration(input: &format::context::Input, stream: &format::stream::Stream) -> Duration {
    let micros = input.duration();
    if micros > 0 {
        return Duration::from_micros(micros as u64);
    }
    let tb = stream.time_base();
    let d = stream.duration();
    if d > 0 && tb.denominator() != 0 {
        return Duration::from_secs_f64(d as f64 * f64::from(tb));
    }
    Duration::ZERO
}
