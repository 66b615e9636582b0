//! Work one service queues for another: the queue names and their payloads.

use serde::{Deserialize, Serialize};
use skillreel_domain::VideoId;

/// The queue the transcoder takes its work from; the upload service fills it.
pub const TRANSCODE_QUEUE: &str = "transcode";

/// The payload of a transcoding job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TranscodeRequest {
    pub video_id: VideoId,
}
