//! The learning vocabulary: journeys and their states, assignments and where a person
//! stands on one, and the rule that turns a player's heartbeats into seconds watched.
//!
//! A journey is published like a video (see [`JourneyStatus::as_content_status`]), so
//! the one access policy ([`crate::access`]) decides who sees it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{ValidationError, VideoStatus};

/// Where a journey is in its life: `draft → published`, through `pending_review` under
/// a community's approval policy, or `rejected` back to its owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JourneyStatus {
    #[default]
    Draft,
    PendingReview,
    Published,
    Rejected,
}

impl JourneyStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::PendingReview => "pending_review",
            Self::Published => "published",
            Self::Rejected => "rejected",
        }
    }

    /// The video state the access policy treats this journey like: a draft is its
    /// owner's, as a transcoded video is until it is published.
    pub const fn as_content_status(self) -> VideoStatus {
        match self {
            Self::Draft => VideoStatus::Ready,
            Self::PendingReview => VideoStatus::PendingReview,
            Self::Published => VideoStatus::Published,
            Self::Rejected => VideoStatus::Rejected,
        }
    }
}

impl FromStr for JourneyStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "draft" => Ok(Self::Draft),
            "pending_review" => Ok(Self::PendingReview),
            "published" => Ok(Self::Published),
            "rejected" => Ok(Self::Rejected),
            other => Err(ValidationError::Invalid {
                field: "status",
                value: other.chars().take(40).collect(),
            }),
        }
    }
}

impl fmt::Display for JourneyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why someone has an item on their list (Viva Learning's assignment types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentKind {
    /// Their manager (or an admin) requires it, usually by a due date.
    Required,
    /// Their manager (or an admin) suggests it.
    Recommended,
    /// A colleague recommended it (no due date); what the recommendations capability
    /// delivers, named as Viva Learning names it.
    #[serde(rename = "peerRecommended")]
    PeerRecommended,
}

impl AssignmentKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Recommended => "recommended",
            Self::PeerRecommended => "peerRecommended",
        }
    }
}

impl FromStr for AssignmentKind {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "required" => Ok(Self::Required),
            "recommended" => Ok(Self::Recommended),
            "peerRecommended" => Ok(Self::PeerRecommended),
            other => Err(ValidationError::Invalid {
                field: "type",
                value: other.chars().take(40).collect(),
            }),
        }
    }
}

/// Where the assignee stands. `overdue` is computed: not completed and past its due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentStatus {
    Overdue,
    InProgress,
    NotStarted,
    Completed,
}

impl AssignmentStatus {
    /// From the completion fraction (0..=1, 1 = complete), whether anything was
    /// watched, and whether the due date has passed.
    pub fn of(completed: bool, started: bool, past_due: bool) -> Self {
        match (completed, past_due, started) {
            (true, _, _) => Self::Completed,
            (false, true, _) => Self::Overdue,
            (false, false, true) => Self::InProgress,
            (false, false, false) => Self::NotStarted,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Overdue => "overdue",
            Self::InProgress => "in_progress",
            Self::NotStarted => "not_started",
            Self::Completed => "completed",
        }
    }
}

/// The share of a video that must be watched for it to count as completed.
pub const COMPLETION_THRESHOLD: f64 = 0.9;
/// The fastest playback rate credited in full; faster playback counts as seeking.
pub const MAX_PLAYBACK_RATE: f64 = 2.0;
/// Slack for network jitter between two heartbeats, in seconds of position.
pub const HEARTBEAT_SLACK_SECONDS: f64 = 1.5;

/// What the player reported at one moment of a viewing session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlayerState {
    /// Seconds into the video.
    pub position: f64,
    pub playing: bool,
    /// The playback rate the player reports (1.0 normal).
    pub rate: f64,
}

/// What happened between two consecutive heartbeats of one session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Interval {
    /// The video played from `from` to `to`: those seconds count as watched.
    Watched { from: f64, to: f64 },
    /// The position jumped (a seek, or playback faster than any player plays):
    /// nothing counts.
    Seeked { from: f64, to: f64 },
    /// Paused, or playing without the position moving: nothing counts.
    Still,
}

impl Interval {
    /// Judges the step from `before` to `after`, `elapsed_seconds` of server time
    /// apart. Only time the server saw pass is credited: the position may advance by
    /// at most the elapsed time at the reported rate (capped at [`MAX_PLAYBACK_RATE`]),
    /// plus a little slack; a bigger jump, or any backwards move, is a seek.
    pub fn between(before: PlayerState, after: PlayerState, elapsed_seconds: f64) -> Self {
        let moved = after.position - before.position;
        if moved.abs() < 0.05 {
            return Self::Still;
        }
        let rate = before.rate.clamp(0.25, MAX_PLAYBACK_RATE);
        let plausible = elapsed_seconds.max(0.0) * rate + HEARTBEAT_SLACK_SECONDS;
        if before.playing && moved > 0.0 && moved <= plausible {
            Self::Watched {
                from: before.position,
                to: after.position,
            }
        } else {
            Self::Seeked {
                from: before.position,
                to: after.position,
            }
        }
    }
}

/// Whether `watched` seconds of a `duration`-second video complete it.
pub fn completes(watched: f64, duration: f64) -> bool {
    duration > 0.0 && watched >= duration * COMPLETION_THRESHOLD - 1e-6
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(position: f64, playing: bool) -> PlayerState {
        PlayerState {
            position,
            playing,
            rate: 1.0,
        }
    }

    #[test]
    fn ten_seconds_of_play_in_ten_seconds_count() {
        assert_eq!(
            Interval::between(at(0.0, true), at(10.0, true), 10.0),
            Interval::Watched { from: 0.0, to: 10.0 }
        );
    }

    #[test]
    fn jumping_to_the_end_is_a_seek_not_watching() {
        assert_eq!(
            Interval::between(at(1.0, true), at(59.0, true), 10.0),
            Interval::Seeked { from: 1.0, to: 59.0 }
        );
    }

    #[test]
    fn double_speed_is_honoured_but_not_tenfold() {
        let fast = PlayerState {
            rate: 2.0,
            ..at(0.0, true)
        };
        assert!(matches!(
            Interval::between(fast, at(20.0, true), 10.0),
            Interval::Watched { .. }
        ));
        let absurd = PlayerState {
            rate: 10.0,
            ..at(0.0, true)
        };
        assert!(matches!(
            Interval::between(absurd, at(100.0, true), 10.0),
            Interval::Seeked { .. }
        ));
    }

    #[test]
    fn a_paused_player_earns_nothing() {
        assert_eq!(Interval::between(at(5.0, false), at(5.0, true), 30.0), Interval::Still);
        assert!(matches!(
            Interval::between(at(5.0, false), at(15.0, true), 10.0),
            Interval::Seeked { .. }
        ));
    }

    #[test]
    fn overdue_wins_over_in_progress_and_completion_over_both() {
        assert_eq!(AssignmentStatus::of(false, true, true), AssignmentStatus::Overdue);
        assert_eq!(AssignmentStatus::of(true, true, true), AssignmentStatus::Completed);
        assert_eq!(AssignmentStatus::of(false, false, false), AssignmentStatus::NotStarted);
    }

    proptest! {
        /// However the heartbeats come, the credited seconds never exceed what the
        /// elapsed time allows at the fastest honoured rate, plus the slack.
        #[test]
        fn credit_never_outruns_the_clock(
            p0 in 0.0f64..1e5, p1 in 0.0f64..1e5, elapsed in -10.0f64..1e4,
            rate in -5.0f64..50.0, playing: bool,
        ) {
            let before = PlayerState { position: p0, playing, rate };
            if let Interval::Watched { from, to } = Interval::between(before, at(p1, true), elapsed) {
                prop_assert!(to > from);
                prop_assert!(to - from <= elapsed.max(0.0) * MAX_PLAYBACK_RATE + HEARTBEAT_SLACK_SECONDS + 1e-9);
                prop_assert!(playing);
            }
        }
    }
}
