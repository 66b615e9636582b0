//! What crosses a service boundary, so that no service crate depends on another:
//!
//! - [`jobs`]: the job queues and their payloads (upload → transcoder).
//! - [`views`]: the JSON shape of a video, returned by the catalog and by the upload
//!   service's `201 Created`, with [`MediaSigner`] for the signed playback URLs in it.
//!
//! A service that needs something another produces takes it from here; the
//! dependency graph (checked by `scripts/check-deps`) has no service → service edge.

pub mod jobs;
mod media;
pub mod views;

pub use jobs::{TRANSCODE_QUEUE, TranscodeRequest};
pub use media::MediaSigner;
