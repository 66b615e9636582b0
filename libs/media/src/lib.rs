//! Skillreel's media processing, on ffmpeg-next (libavformat, libavcodec, libswscale,
//! libswresample).
//!
//! [`probe`] reads what a source is and refuses what we cannot or will not process,
//! with a reason its author can read. [`transcode`] decodes the source **once** and
//! feeds every decoded frame to one thread per rung of the [`Ladder`], each with its
//! own scaler (which also applies the source's [`Rotation`]) and libx264 encoder;
//! audio is encoded to AAC once and shared by every rung. Each rung is muxed by
//! libavformat's `hls` muxer into fMP4 (CMAF) segments in a playlist that grows as
//! they are written, so the first segments can be published while the rest is
//! encoded ([`Event::Playable`]). We write the master playlist ourselves, and from the
//! same decode a JPEG poster in two sizes and a storyboard sprite with its WebVTT index.
//!
//! Everything here is blocking CPU work: callers run it on a dedicated thread
//! (`spawn_blocking`) and stop it through the [`Cancel`] flag.

mod error;
mod hls;
mod ladder;
mod probe;
mod rotate;
mod storyboard;
mod thumbnail;
mod transcode;

pub use error::MediaError;
pub use ladder::{Ladder, Rung};
pub use probe::{Limits, Probe, probe};
pub use rotate::Rotation;
pub use transcode::{Cancel, Event, TranscodeOutput, TranscodedRung, transcode};

/// Initialises FFmpeg once per process and quiets its logging (our errors carry the
/// reasons; FFmpeg's own chatter would flood the logs on every corrupt upload).
pub fn init() -> Result<(), MediaError> {
    static INIT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    INIT.get_or_init(|| {
        ffmpeg_next::init().map_err(|e| e.to_string())?;
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Fatal);
        Ok(())
    })
    .clone()
    .map_err(MediaError::Internal)
}
