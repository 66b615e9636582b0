//! What a source file is, and whether we accept it.

use std::path::Path;
use std::time::Duration;

use ffmpeg_next::{codec, format, media};

use crate::MediaError;
use crate::rotate::Rotation;

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
            min_duration: Duration::from_secs(1),
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
    /// The picture as shown, after `rotation`.
    pub width: u32,
    pub height: u32,
    /// What the source's display matrix asks for; applied to every output.
    pub rotation: Rotation,
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
    // FFmpeg makes do with half an index and would publish whatever it describes.
    if read_head(path).is_ok_and(|head| head.get(4..8) == Some(b"ftyp")) && matches!(mp4_index(path), Mp4Index::CutOff)
    {
        return Err(cut_off_index());
    }
    format::input(&path).map_err(|e| explain_unopenable(path, &e))
}

fn cut_off_index() -> MediaError {
    MediaError::Corrupt("the MP4 index (moov box) is cut off".into())
}

/// FFmpeg says "Invalid data found when processing input" about most broken files;
/// the author deserves to know which kind of broken theirs is.
fn explain_unopenable(path: &Path, error: &ffmpeg_next::Error) -> MediaError {
    let Ok(bytes) = read_head(path) else {
        return MediaError::Unreadable(error.to_string());
    };
    if bytes.is_empty() {
        return MediaError::Empty;
    }
    if bytes.get(4..8) == Some(b"ftyp") {
        return match mp4_index(path) {
            Mp4Index::Missing => MediaError::Corrupt(
                "it is an MP4 without its index (moov box): the upload was probably cut short".into(),
            ),
            Mp4Index::CutOff => cut_off_index(),
            Mp4Index::Present => MediaError::Corrupt(format!("the MP4 structure is broken: {error}")),
        };
    }
    let text = bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace() || *b >= 0x80);
    if text && std::str::from_utf8(&bytes).is_ok() {
        return MediaError::Unreadable("it is a text document, not a video".into());
    }
    MediaError::Unreadable(format!("no known video format: {error}"))
}

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)?.take(512).read_to_end(&mut head)?;
    Ok(head)
}

#[derive(Debug, PartialEq)]
enum Mp4Index {
    Missing,
    CutOff,
    Present,
}

/// Walks the top-level MP4 boxes (without reading their contents) to find `moov`.
/// Every size comes from the file, so every sum is checked: a box that claims to end
/// past `u64::MAX` (or before it starts) ends the walk instead of looping forever.
fn mp4_index(path: &Path) -> Mp4Index {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Mp4Index::Missing;
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    mp4_index_of(&mut file, len)
}

/// Most top-level boxes a real file has; more means a crafted walk.
const MAX_TOP_LEVEL_BOXES: usize = 4096;

fn mp4_index_of(file: &mut (impl std::io::Read + std::io::Seek), len: u64) -> Mp4Index {
    use std::io::SeekFrom;
    let mut at = 0u64;
    let mut header = [0u8; 16];
    for _ in 0..MAX_TOP_LEVEL_BOXES {
        if at.checked_add(8).is_none_or(|end| end > len) {
            break;
        }
        if file.seek(SeekFrom::Start(at)).is_err() || file.read_exact(&mut header[..8]).is_err() {
            break;
        }
        let mut size = u64::from(u32::from_be_bytes([header[0], header[1], header[2], header[3]]));
        if size == 1 {
            if file.read_exact(&mut header[8..16]).is_err() {
                break;
            }
            size = u64::from_be_bytes([
                header[8], header[9], header[10], header[11], header[12], header[13], header[14], header[15],
            ]);
        } else if size == 0 {
            size = len - at;
        }
        let end = at.checked_add(size);
        if &header[4..8] == b"moov" {
            return if end.is_none_or(|end| end > len) {
                Mp4Index::CutOff
            } else {
                Mp4Index::Present
            };
        }
        match end {
            Some(end) if size >= 8 => at = end,
            _ => break,
        }
    }
    Mp4Index::Missing
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
        .map_err(|e| MediaError::opening_codec(e, |e| MediaError::UnsupportedCodec(format!("{codec_id:?} ({e})"))))?;
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
    let rotation = rotation_of(&stream);
    let (width, height) = if rotation.swaps_sides() {
        (height, width)
    } else {
        (width, height)
    };
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
        rotation,
        frame_rate,
        has_audio: input.streams().best(media::Type::Audio).is_some(),
        bitrate: u64::try_from(input.bit_rate()).ok().filter(|b| *b > 0),
    })
}

/// The rotation a stream's display matrix (if any) asks for.
pub(crate) fn rotation_of(stream: &format::stream::Stream) -> Rotation {
    stream
        .side_data()
        .find(|d| d.kind() == codec::packet::side_data::Type::DisplayMatrix)
        .map(|d| Rotation::from_display_matrix(d.data()))
        .unwrap_or_default()
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
        // `try_from` refuses what `from_secs_f64` would panic on (a crafted huge or
        // negative time base).
        return Duration::try_from_secs_f64(d as f64 * f64::from(tb)).unwrap_or(Duration::MAX);
    }
    Duration::ZERO
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn index_of(bytes: &[u8]) -> Mp4Index {
        mp4_index_of(&mut std::io::Cursor::new(bytes), bytes.len() as u64)
    }

    /// A top-level box: 32-bit size (1 = a 64-bit size follows), type, then `body` bytes.
    fn boxed(size32: u32, kind: &[u8; 4], large: Option<u64>, body: usize) -> Vec<u8> {
        let mut bytes = size32.to_be_bytes().to_vec();
        bytes.extend_from_slice(kind);
        if let Some(large) = large {
            bytes.extend_from_slice(&large.to_be_bytes());
        }
        bytes.resize(bytes.len() + body, 0);
        bytes
    }

    #[test]
    fn box_sizes_that_wrap_end_the_walk() {
        let ftyp = boxed(16, b"ftyp", None, 8);
        let wrap = [ftyp.clone(), boxed(1, b"free", Some(u64::MAX - 15), 0)].concat();
        assert_eq!(index_of(&wrap), Mp4Index::Missing);
        let moov = [ftyp.clone(), boxed(1, b"moov", Some(u64::MAX), 0)].concat();
        assert_eq!(index_of(&moov), Mp4Index::CutOff);
        let whole = [ftyp.clone(), boxed(16, b"moov", None, 8)].concat();
        assert_eq!(index_of(&whole), Mp4Index::Present);
        let cut = [ftyp, boxed(64, b"moov", None, 8)].concat();
        assert_eq!(index_of(&cut), Mp4Index::CutOff);
    }

    proptest! {
        /// Whatever the sizes say, the walk ends, without overflow (debug builds
        /// panic on one), and names `moov` present only when it fits the file.
        #[test]
        fn the_walk_ends_on_any_box_sizes(
            boxes in proptest::collection::vec(
                (any::<u32>(), prop::sample::select(vec![*b"ftyp", *b"free", *b"mdat", *b"moov"]),
                 proptest::option::of(any::<u64>()), 0usize..64),
                0..12,
            ),
            tail in proptest::collection::vec(any::<u8>(), 0..32),
        ) {
            let mut bytes: Vec<u8> = boxes
                .iter()
                .flat_map(|(size, kind, large, body)| {
                    let size = if large.is_some() { 1 } else { *size };
                    boxed(size, kind, *large, *body)
                })
                .collect();
            bytes.extend_from_slice(&tail);
            let found = index_of(&bytes);
            if found == Mp4Index::Present {
                prop_assert!(bytes.windows(4).any(|w| w == b"moov"));
            }
        }

        #[test]
        fn the_walk_ends_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = index_of(&bytes);
        }
    }
}
