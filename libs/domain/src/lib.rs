//! Skillreel's domain vocabulary, shared by every service.
//!
//! Input is parsed into these types at the edge (a [`Title`], a [`Tag`], a [`VideoId`]);
//! code past the edge trusts them. This crate does no I/O so that every other crate can
//! depend on it without paying for a database driver or FFmpeg.

pub mod access;
mod captions;
mod catalog;
pub mod events;
mod ids;
pub mod learning;
pub mod recognition;
mod role;
mod text;
mod video;

pub use captions::{CaptionError, Captions, MAX_CAPTION_BYTES, parse_captions, webvtt_timestamp};
pub use catalog::{ApprovalPolicy, Language, Visibility};
pub use ids::{AssignmentId, CommunityId, JourneyId, UserId, VideoId};
pub use role::{Role, Roles, UnknownRole};
pub use text::{CommunityName, Description, Tag, TagText, Tags, Title, ValidationError, multiline_text, search_words};
pub use video::{Rendition, UnknownStatus, VideoStatus};
