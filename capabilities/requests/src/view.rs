//! A request as the API shows it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Wanted, and nobody has said they will make it.
    Open,
    /// A contributor said they will make it.
    Claimed,
    /// A video answers it.
    Fulfilled,
    /// Its author (or an admin) closed it unfulfilled.
    Closed,
}

impl RequestState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Claimed => "claimed",
            Self::Fulfilled => "fulfilled",
            Self::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Open, Self::Claimed, Self::Fulfilled, Self::Closed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }

    /// Still wanted: open or claimed, so votes and claims still count.
    pub const fn is_wanted(self) -> bool {
        matches!(self, Self::Open | Self::Claimed)
    }
}

/// Someone named in a view.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonRef {
    pub id: Uuid,
    pub name: String,
}

/// The video that fulfilled a request, when the viewer may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VideoRef {
    pub id: Uuid,
    pub title: String,
}

/// A content request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    pub id: Uuid,
    pub title: String,
    pub details: String,
    pub skills: Vec<String>,
    pub state: RequestState,
    /// Colleagues who want it (its author included, unless they took their vote back).
    pub votes: i32,
    /// Whether the caller voted for it.
    pub voted: bool,
    pub author: PersonRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<PersonRef>,
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfilled_by: Option<PersonRef>,
    /// The video that fulfilled it; absent when the caller may not see that video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoRef>,
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub fulfilled_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}
