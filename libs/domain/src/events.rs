//! What happened, as typed, versioned domain events.
//!
//! Each change writes its event in its own transaction (the outbox in
//! `skillreel_queue::events`); consumers read them in commit order. An event names its
//! kind (`video.published`), the version of its payload's shape, who did it and to
//! what. A payload's shape only grows within a version; anything else is a new version.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AssignmentId, JourneyId, UserId, VideoId};

/// A moment of one player session on a video: what the xAPI Video Profile reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playback {
    pub video: VideoId,
    pub actor: UserId,
    /// The player's session id.
    pub session: Uuid,
    /// Seconds into the video.
    pub time: f64,
    /// Where a seek started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<f64>,
    /// The video's length in seconds.
    pub length: f64,
    /// The share of the video the person has watched (0 to 1, all sessions).
    pub progress: f64,
    /// What this session played, as the Video Profile writes it (`0[.]12.5[,]20[.]30`).
    pub played_segments: String,
}

/// Everything Skillreel records as having happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum DomainEvent {
    /// A video became visible to its audience (at once, or on approval).
    #[serde(rename = "video.published")]
    VideoPublished { video: VideoId, actor: UserId },
    /// What a published video says or who sees it changed (title, description, tags,
    /// language, visibility).
    #[serde(rename = "video.updated")]
    VideoUpdated { video: VideoId, actor: UserId },
    /// A video was deleted or removed by a moderator.
    #[serde(rename = "video.removed")]
    VideoRemoved { video: VideoId, actor: UserId },
    #[serde(rename = "video.liked")]
    VideoLiked { video: VideoId, actor: UserId },
    #[serde(rename = "video.unliked")]
    VideoUnliked { video: VideoId, actor: UserId },
    #[serde(rename = "comment.created")]
    CommentCreated {
        comment: Uuid,
        video: VideoId,
        actor: UserId,
        /// Whether it asks a question.
        question: bool,
    },
    /// A comment's author changed its text.
    #[serde(rename = "comment.updated")]
    CommentUpdated {
        comment: Uuid,
        video: VideoId,
        actor: UserId,
    },
    /// A comment was deleted by its author or removed by a moderator.
    #[serde(rename = "comment.deleted")]
    CommentDeleted {
        comment: Uuid,
        video: VideoId,
        actor: UserId,
    },
    /// A journey became visible to its audience.
    #[serde(rename = "journey.published")]
    JourneyPublished { journey: JourneyId, actor: UserId },
    /// A journey's details, steps or visibility changed.
    #[serde(rename = "journey.updated")]
    JourneyUpdated { journey: JourneyId, actor: UserId },
    /// A journey was deleted.
    #[serde(rename = "journey.removed")]
    JourneyRemoved { journey: JourneyId, actor: UserId },
    /// Someone (`actor`) asked `assignee` to complete a journey or a video.
    #[serde(rename = "assignment.created")]
    AssignmentCreated {
        assignment: AssignmentId,
        assignee: UserId,
        actor: UserId,
        journey: Option<JourneyId>,
        video: Option<VideoId>,
        /// `required` or `recommended`.
        assignment_kind: String,
    },
    /// `actor` watched enough of `video` to complete it (once per person and video).
    #[serde(rename = "video.completed")]
    VideoCompleted {
        video: VideoId,
        actor: UserId,
        /// The session and moment it happened in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        playback: Option<Playback>,
    },
    /// A player session on a video started (its first heartbeat).
    #[serde(rename = "video.initialized")]
    VideoInitialized(Playback),
    /// Playback started or resumed.
    #[serde(rename = "video.played")]
    VideoPlayed(Playback),
    #[serde(rename = "video.paused")]
    VideoPaused(Playback),
    /// The position jumped from `from` to `time`.
    #[serde(rename = "video.seeked")]
    VideoSeeked(Playback),
    /// The player closed the session.
    #[serde(rename = "video.terminated")]
    VideoTerminated(Playback),
    /// `actor` recommended a journey or a video to a colleague (`recipient`).
    #[serde(rename = "recommendation.created")]
    RecommendationCreated {
        recommendation: Uuid,
        recipient: UserId,
        actor: UserId,
        journey: Option<JourneyId>,
        video: Option<VideoId>,
    },
    /// The recipient (`actor`) kept, saved or dismissed what colleagues recommended to
    /// them of one journey or video.
    #[serde(rename = "recommendation.updated")]
    RecommendationUpdated {
        actor: UserId,
        /// The colleague who recommended it most recently.
        by: UserId,
        journey: Option<JourneyId>,
        video: Option<VideoId>,
        /// `inbox`, `saved` or `dismissed`.
        state: String,
    },
    /// `actor` accepted `answer` (by `author`) to a question on `video`.
    #[serde(rename = "answer.accepted")]
    AnswerAccepted {
        answer: Uuid,
        video: VideoId,
        actor: UserId,
        author: UserId,
    },
    /// `actor` (a manager or an admin) gave `recipient` kudos.
    #[serde(rename = "kudos.given")]
    KudosGiven {
        kudos: Uuid,
        recipient: UserId,
        actor: UserId,
        message: String,
    },
    /// `actor` asked colleagues for a video on a topic.
    #[serde(rename = "request.created")]
    RequestCreated { request: Uuid, actor: UserId },
    /// `actor` fulfilled `requester`'s content request with `video`.
    #[serde(rename = "request.fulfilled")]
    RequestFulfilled {
        request: Uuid,
        actor: UserId,
        requester: UserId,
        video: VideoId,
    },
    /// `actor` completed every available step of `journey`.
    #[serde(rename = "journey.completed")]
    JourneyCompleted { journey: JourneyId, actor: UserId },
    /// Something landed in a person's inbox: what webhooks are sent.
    #[serde(rename = "notification.created")]
    NotificationCreated {
        notification: Uuid,
        user: UserId,
        /// The notification's kind (`video_ready`, `comment`, …).
        notification_kind: String,
        video: Option<VideoId>,
        details: serde_json::Value,
        /// When it happened, RFC 3339.
        timestamp: String,
    },
}

impl DomainEvent {
    /// The kind, as stored and as consumers match on it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::VideoPublished { .. } => "video.published",
            Self::VideoUpdated { .. } => "video.updated",
            Self::VideoRemoved { .. } => "video.removed",
            Self::VideoLiked { .. } => "video.liked",
            Self::VideoUnliked { .. } => "video.unliked",
            Self::CommentCreated { .. } => "comment.created",
            Self::CommentUpdated { .. } => "comment.updated",
            Self::CommentDeleted { .. } => "comment.deleted",
            Self::JourneyPublished { .. } => "journey.published",
            Self::JourneyUpdated { .. } => "journey.updated",
            Self::JourneyRemoved { .. } => "journey.removed",
            Self::AssignmentCreated { .. } => "assignment.created",
            Self::VideoCompleted { .. } => "video.completed",
            Self::VideoInitialized(_) => "video.initialized",
            Self::VideoPlayed(_) => "video.played",
            Self::VideoPaused(_) => "video.paused",
            Self::VideoSeeked(_) => "video.seeked",
            Self::VideoTerminated(_) => "video.terminated",
            Self::JourneyCompleted { .. } => "journey.completed",
            Self::RecommendationCreated { .. } => "recommendation.created",
            Self::RecommendationUpdated { .. } => "recommendation.updated",
            Self::AnswerAccepted { .. } => "answer.accepted",
            Self::KudosGiven { .. } => "kudos.given",
            Self::RequestCreated { .. } => "request.created",
            Self::RequestFulfilled { .. } => "request.fulfilled",
            Self::NotificationCreated { .. } => "notification.created",
        }
    }

    /// The version of this kind's payload shape.
    pub fn version(&self) -> i32 {
        1
    }

    /// Who did it, when a person did.
    pub fn actor(&self) -> Option<UserId> {
        match self {
            Self::VideoPublished { actor, .. }
            | Self::VideoUpdated { actor, .. }
            | Self::VideoRemoved { actor, .. }
            | Self::VideoLiked { actor, .. }
            | Self::VideoUnliked { actor, .. }
            | Self::CommentCreated { actor, .. }
            | Self::CommentUpdated { actor, .. }
            | Self::CommentDeleted { actor, .. }
            | Self::JourneyPublished { actor, .. }
            | Self::JourneyUpdated { actor, .. }
            | Self::JourneyRemoved { actor, .. }
            | Self::AssignmentCreated { actor, .. }
            | Self::VideoCompleted { actor, .. }
            | Self::JourneyCompleted { actor, .. }
            | Self::RecommendationCreated { actor, .. }
            | Self::RecommendationUpdated { actor, .. }
            | Self::AnswerAccepted { actor, .. }
            | Self::KudosGiven { actor, .. }
            | Self::RequestCreated { actor, .. }
            | Self::RequestFulfilled { actor, .. } => Some(*actor),
            Self::VideoInitialized(p)
            | Self::VideoPlayed(p)
            | Self::VideoPaused(p)
            | Self::VideoSeeked(p)
            | Self::VideoTerminated(p) => Some(p.actor),
            Self::NotificationCreated { .. } => None,
        }
    }

    /// What it happened to: a type and an id. Events about one object reach every
    /// consumer in the order they committed.
    pub fn object(&self) -> (&'static str, Uuid) {
        match self {
            Self::VideoPublished { video, .. }
            | Self::VideoUpdated { video, .. }
            | Self::VideoRemoved { video, .. }
            | Self::VideoLiked { video, .. }
            | Self::VideoUnliked { video, .. }
            | Self::VideoCompleted { video, .. } => ("video", video.as_uuid()),
            Self::VideoInitialized(p)
            | Self::VideoPlayed(p)
            | Self::VideoPaused(p)
            | Self::VideoSeeked(p)
            | Self::VideoTerminated(p) => ("video", p.video.as_uuid()),
            Self::JourneyPublished { journey, .. }
            | Self::JourneyUpdated { journey, .. }
            | Self::JourneyRemoved { journey, .. }
            | Self::JourneyCompleted { journey, .. } => ("journey", journey.as_uuid()),
            Self::AssignmentCreated { assignment, .. } => ("assignment", assignment.as_uuid()),
            Self::RecommendationCreated { recommendation, .. } => ("recommendation", *recommendation),
            // ordered per recipient, so a later state is never overtaken by an earlier one
            Self::RecommendationUpdated { actor, .. } => ("person", actor.as_uuid()),
            Self::CommentCreated { comment, .. }
            | Self::CommentUpdated { comment, .. }
            | Self::CommentDeleted { comment, .. } => ("comment", *comment),
            Self::AnswerAccepted { answer, .. } => ("comment", *answer),
            Self::KudosGiven { kudos, .. } => ("kudos", *kudos),
            Self::RequestCreated { request, .. } | Self::RequestFulfilled { request, .. } => ("request", *request),
            Self::NotificationCreated { notification, .. } => ("notification", *notification),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_round_trips_and_names_its_kind_in_the_payload() {
        let event = DomainEvent::VideoLiked {
            video: VideoId::new(),
            actor: UserId::new(),
        };
        let json = serde_json::to_value(&event).unwrap_or_default();
        assert_eq!(json["kind"], event.kind());
        let back: DomainEvent = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, event);
    }
}
