//! A video's lifecycle states and its renditions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a video is in its life: `uploading → processing → ready → published`, or one
/// of the side exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VideoStatus {
    Uploading,
    Processing,
    Ready,
    PendingReview,
    Published,
    Rejected,
    Failed,
    Removed,
}

impl VideoStatus {
    pub const ALL: [Self; 8] = [
        Self::Uploading,
        Self::Processing,
        Self::Ready,
        Self::PendingReview,
        Self::Published,
        Self::Rejected,
        Self::Failed,
        Self::Removed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Uploading => "uploading",
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::PendingReview => "pending_review",
            Self::Published => "published",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Removed => "removed",
        }
    }

    /// Whether people other than the owner, reviewers and admins may see it (its
    /// visibility then decides who).
    pub const fn is_visible_to_others(self) -> bool {
        matches!(self, Self::Published)
    }
}

impl fmt::Display for VideoStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown video status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for VideoStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name() {
        for st in VideoStatus::ALL {
            assert_eq!(st.as_str().parse::<VideoStatus>().ok(), Some(st));
        }
        assert!("deleted".parse::<VideoStatus>().is_err());
    }
}

/// One rung of a video's HLS ladder, as the master playlist lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rendition {
    pub width: u32,
    pub height: u32,
    /// Peak bits per second, as in the master playlist's `BANDWIDTH`.
    pub bandwidth: u64,
    pub codecs: String,
    /// Path of the media playlist relative to the master playlist.
    pub playlist: String,
}
