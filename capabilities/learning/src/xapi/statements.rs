//! Domain events as xAPI 1.0.3 statements: the xAPI Video Profile
//! (`https://w3id.org/xapi/video`) for what happens in the player, ADL verbs for a
//! completed journey, comments and questions, and Skillreel's own verb for likes.
//! Pure functions: the caller looks up who and what.

use serde_json::{Value, json};
use skillreel_domain::events::{DomainEvent, Playback};
use skillreel_domain::learning::COMPLETION_THRESHOLD;
use uuid::Uuid;

pub const VIDEO_PROFILE: &str = "https://w3id.org/xapi/video";
pub const VIDEO_ACTIVITY: &str = "https://w3id.org/xapi/video/activity-type/video";
pub const COURSE_ACTIVITY: &str = "http://adlnet.gov/expapi/activities/course";
/// Skillreel's verbs: no published profile has "liked" or "recommended".
pub const LIKED: &str = "https://skillreel.dev/xapi/verbs/liked";
pub const RECOMMENDED: &str = "https://skillreel.dev/xapi/verbs/recommended";

const EXT: &str = "https://w3id.org/xapi/video/extensions/";

/// Who did it, as their xAPI account on this instance.
pub struct Agent<'a> {
    pub subject: &'a str,
    pub name: &'a str,
}

/// What it was done to.
pub struct Object<'a> {
    pub id: Uuid,
    /// Its id at the partner instance it comes from, which names it instead, so that
    /// statements from both instances are about one activity.
    pub origin_id: Option<&'a str>,
    pub title: &'a str,
    /// The ISO 639-1 language of its title.
    pub language: &'a str,
}

/// Which object an event needs looked up.
pub enum Needs {
    Video(Uuid),
    Journey(Uuid),
}

/// The verb, and the object the caller must look up, of an event that is a learning
/// event; `None` for the others.
pub fn verb_of(event: &DomainEvent) -> Option<(&'static str, Needs)> {
    let video = |p: &Playback| Needs::Video(p.video.as_uuid());
    Some(match event {
        DomainEvent::VideoInitialized(p) => ("http://adlnet.gov/expapi/verbs/initialized", video(p)),
        DomainEvent::VideoPlayed(p) => ("https://w3id.org/xapi/video/verbs/played", video(p)),
        DomainEvent::VideoPaused(p) => ("https://w3id.org/xapi/video/verbs/paused", video(p)),
        DomainEvent::VideoSeeked(p) => ("https://w3id.org/xapi/video/verbs/seeked", video(p)),
        DomainEvent::VideoTerminated(p) => ("http://adlnet.gov/expapi/verbs/terminated", video(p)),
        DomainEvent::VideoCompleted { video, .. } => (
            "http://adlnet.gov/expapi/verbs/completed",
            Needs::Video(video.as_uuid()),
        ),
        DomainEvent::JourneyCompleted { journey, .. } => (
            "http://adlnet.gov/expapi/verbs/completed",
            Needs::Journey(journey.as_uuid()),
        ),
        DomainEvent::CommentCreated { video, question, .. } => (
            if *question {
                "http://adlnet.gov/expapi/verbs/asked"
            } else {
                "http://adlnet.gov/expapi/verbs/commented"
            },
            Needs::Video(video.as_uuid()),
        ),
        DomainEvent::VideoLiked { video, .. } => (LIKED, Needs::Video(video.as_uuid())),
        _ => return None,
    })
}

fn display(verb: &str) -> &str {
    verb.rsplit('/').next().unwrap_or(verb)
}

fn seconds(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// The statement for `event` (whose verb is `verb`, see [`verb_of`]), with `id` and
/// `timestamp` (RFC 3339) fixed, so that building it again gives the same statement.
pub fn statement(
    id: Uuid,
    timestamp: &str,
    home: &str,
    verb: &str,
    event: &DomainEvent,
    agent: &Agent<'_>,
    object: &Object<'_>,
) -> Value {
    let home = home.trim_end_matches('/');
    let journey = matches!(event, DomainEvent::JourneyCompleted { .. });
    let activity = json!({
        "objectType": "Activity",
        "id": object.origin_id.map_or_else(
            || format!("{home}/{}/{}", if journey { "journeys" } else { "videos" }, object.id),
            str::to_owned,
        ),
        "definition": {
            "type": if journey { COURSE_ACTIVITY } else { VIDEO_ACTIVITY },
            "name": { object.language: object.title },
        },
    });
    let mut statement = json!({
        "id": id,
        "actor": { "objectType": "Agent", "name": agent.name,
                   "account": { "homePage": home, "name": agent.subject } },
        "verb": { "id": verb, "display": { "en-US": display(verb) } },
        "object": activity,
        "timestamp": timestamp,
        "context": { "platform": "Skillreel" },
    });
    let playback = match event {
        DomainEvent::VideoInitialized(p)
        | DomainEvent::VideoPlayed(p)
        | DomainEvent::VideoPaused(p)
        | DomainEvent::VideoSeeked(p)
        | DomainEvent::VideoTerminated(p) => Some(p),
        DomainEvent::VideoCompleted { playback, .. } => playback.as_ref(),
        _ => None,
    };
    if let Some(p) = playback {
        statement["context"] = video_context(p);
        statement["result"] = video_result(event, p);
    } else if matches!(
        event,
        DomainEvent::VideoCompleted { .. } | DomainEvent::JourneyCompleted { .. }
    ) {
        statement["result"] = json!({ "completion": true });
    }
    statement
}

/// What the Video Profile puts in every statement's context: the profile as a
/// category, the session, the length and the completion threshold.
fn video_context(p: &Playback) -> Value {
    json!({
        "platform": "Skillreel",
        "contextActivities": { "category": [{
            "objectType": "Activity", "id": VIDEO_PROFILE,
            "definition": { "type": "http://adlnet.gov/expapi/activities/profile" },
        }] },
        "extensions": {
            format!("{EXT}session-id"): p.session,
            format!("{EXT}length"): seconds(p.length),
            format!("{EXT}completion-threshold"): COMPLETION_THRESHOLD,
        },
    })
}

fn video_result(event: &DomainEvent, p: &Playback) -> Value {
    let time = format!("{EXT}time");
    let progress = format!("{EXT}progress");
    let segments = format!("{EXT}played-segments");
    match event {
        DomainEvent::VideoSeeked(p) => json!({ "extensions": {
            format!("{EXT}time-from"): seconds(p.from.unwrap_or_default()),
            format!("{EXT}time-to"): seconds(p.time),
        } }),
        DomainEvent::VideoPlayed(_) | DomainEvent::VideoInitialized(_) => {
            json!({ "extensions": { time: seconds(p.time) } })
        }
        DomainEvent::VideoCompleted { .. } => json!({
            "completion": true,
            "duration": format!("PT{:.2}S", p.progress * p.length),
            "extensions": { time: seconds(p.time), progress: 1.0, segments: p.played_segments },
        }),
        _ => json!({ "extensions": {
            time: seconds(p.time),
            progress: (p.progress * 1000.0).round() / 1000.0,
            segments: p.played_segments,
        } }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillreel_domain::{UserId, VideoId};

    fn playback() -> Playback {
        Playback {
            video: VideoId::new(),
            actor: UserId::new(),
            session: Uuid::now_v7(),
            time: 30.0,
            from: Some(2.0),
            length: 60.0,
            progress: 0.5,
            played_segments: "0[.]30".into(),
        }
    }

    fn build(event: &DomainEvent) -> Value {
        let (verb, _) = verb_of(event).unwrap_or(("none", Needs::Video(Uuid::nil())));
        let agent = Agent {
            subject: "alice",
            name: "Alice",
        };
        let object = Object {
            id: Uuid::nil(),
            origin_id: None,
            title: "Rust",
            language: "en",
        };
        statement(
            Uuid::nil(),
            "2026-12-02T10:00:00Z",
            "https://sr.example/",
            verb,
            event,
            &agent,
            &object,
        )
    }

    #[test]
    fn a_pause_reports_time_progress_and_segments_in_the_video_profile() {
        let s = build(&DomainEvent::VideoPaused(playback()));
        assert_eq!(s["verb"]["id"], "https://w3id.org/xapi/video/verbs/paused");
        assert_eq!(s["object"]["definition"]["type"], VIDEO_ACTIVITY);
        assert_eq!(s["object"]["id"], format!("https://sr.example/videos/{}", Uuid::nil()));
        assert_eq!(s["result"]["extensions"][format!("{EXT}played-segments")], "0[.]30");
        assert_eq!(s["context"]["extensions"][format!("{EXT}completion-threshold")], 0.9);
        assert_eq!(s["actor"]["account"]["homePage"], "https://sr.example");
    }

    #[test]
    fn a_seek_reports_where_from_and_where_to() {
        let s = build(&DomainEvent::VideoSeeked(playback()));
        assert_eq!(s["result"]["extensions"][format!("{EXT}time-from")], 2.0);
        assert_eq!(s["result"]["extensions"][format!("{EXT}time-to")], 30.0);
    }

    #[test]
    fn events_that_are_no_learning_have_no_statement() {
        let published = DomainEvent::VideoPublished {
            video: VideoId::new(),
            actor: UserId::new(),
        };
        assert!(verb_of(&published).is_none());
    }

    #[test]
    fn a_partners_video_is_named_by_its_id_at_the_origin() {
        let event = DomainEvent::VideoPaused(playback());
        let (verb, _) = verb_of(&event).unwrap_or(("none", Needs::Video(Uuid::nil())));
        let agent = Agent {
            subject: "alice",
            name: "Alice",
        };
        let object = Object {
            id: Uuid::nil(),
            origin_id: Some("https://a.example/federation/videos/1"),
            title: "Rust",
            language: "en",
        };
        let s = statement(
            Uuid::nil(),
            "2026-12-02T10:00:00Z",
            "https://sr.example/",
            verb,
            &event,
            &agent,
            &object,
        );
        assert_eq!(s["object"]["id"], "https://a.example/federation/videos/1");
    }
}
