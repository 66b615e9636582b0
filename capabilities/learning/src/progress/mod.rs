//! Progress: `POST /api/v1/videos/{id}/progress` (the player's heartbeats),
//! `GET /api/v1/journeys/{id}/progress`, `GET /api/v1/journeys/{id}/assignments` and
//! `GET /api/v1/teams/{team}/progress`.
//!
//! A heartbeat says where the player is, whether it plays, at what rate, in which
//! session and with which sequence number. The server judges each against the
//! session's previous one by its own clock ([`Interval::between`]): only playing time
//! it saw pass counts, so jumping to the end completes nothing, and the watched
//! intervals of every device are united, so two devices do not double-count. A video
//! is complete at 90 % watched; a journey when every available step is.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_db::{events, users};
use skillreel_domain::events::{DomainEvent, Playback};
use skillreel_domain::learning::{COMPLETION_THRESHOLD, Interval, PlayerState, completes};
use skillreel_domain::{JourneyId, UserId, VideoId, VideoStatus};
use skillreel_web::{ApiError, ErrorCode, JsonObject};
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::assignments::{self, AssignmentView, sort_by_urgency};
use crate::journeys::{self, PersonRef};
use crate::{LearningContext, access, org};

pub mod store;

/// Two heartbeats of one session closer than this are refused (429).
const MIN_HEARTBEAT_GAP_SECONDS: f64 = 0.2;
/// A position this far past the end is refused.
const END_SLACK_SECONDS: f64 = 1.0;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The player's id for this viewing (a new one each time the video is opened).
    session_id: Uuid,
    /// Increases with each heartbeat of the session.
    #[serde(deserialize_with = "skillreel_web::integral")]
    #[schema(minimum = 0, maximum = 2147483647)]
    sequence: i64,
    /// Seconds into the video; at most its duration.
    #[schema(minimum = 0, maximum = 86400)]
    position: f64,
    playing: bool,
    /// The playback rate (default 1); up to 2 is credited in full.
    #[schema(minimum = 0.25, maximum = 4)]
    playback_rate: Option<f64>,
    /// The player closes the session with this heartbeat.
    #[serde(default)]
    ended: bool,
}

/// Where the caller stands on a video.
#[derive(Debug, Serialize, ToSchema)]
pub struct VideoProgress {
    pub video_id: Uuid,
    /// Distinct seconds watched, over every device and session.
    pub watched_seconds: f64,
    pub duration_seconds: f64,
    /// 0 to 1: the share of the 90 % that completes it.
    pub progress: f64,
    pub completed: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
}

fn video_progress(video: Uuid, duration: f64, watched: store::Watched) -> VideoProgress {
    let completed = watched.completed_at.is_some();
    VideoProgress {
        video_id: video,
        watched_seconds: (watched.seconds * 10.0).round() / 10.0,
        duration_seconds: duration,
        progress: if completed {
            1.0
        } else {
            (watched.seconds / (duration * COMPLETION_THRESHOLD)).clamp(0.0, 1.0)
        },
        completed,
        completed_at: watched.completed_at,
    }
}

fn check_beat(beat: &Heartbeat, duration: f64) -> Result<store::Beat, ApiError> {
    if !(0..=i64::from(i32::MAX)).contains(&beat.sequence) {
        return Err(ApiError::validation("sequence must be between 0 and 2147483647"));
    }
    if !beat.position.is_finite() || beat.position < 0.0 || beat.position > duration + END_SLACK_SECONDS {
        return Err(ApiError::validation(format!(
            "position must be between 0 and the video's duration ({duration} s)"
        )));
    }
    let rate = beat.playback_rate.unwrap_or(1.0);
    if !(0.25..=4.0).contains(&rate) {
        return Err(ApiError::validation("playback_rate must be between 0.25 and 4"));
    }
    Ok(store::Beat {
        sequence: beat.sequence,
        position: beat.position.min(duration),
        playing: beat.playing && !beat.ended,
        rate,
        ended: beat.ended,
    })
}

/// `POST /api/v1/videos/{id}/progress`: one heartbeat; answers where the caller now
/// stands. Out of order (a sequence not above the last) is a 409 and too fast a 429;
/// neither changes anything.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn heartbeat(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
    body: JsonObject<Heartbeat>,
) -> Result<web::Json<VideoProgress>, ApiError> {
    let now = ctx.clock.now();
    let mut tx = ctx.pool.begin().await?;
    let video = access::visible_video_cached(&mut tx, &ctx.videos, &user, &path).await?;
    let duration = match (video.facts.status, video.duration_seconds()) {
        (VideoStatus::Uploading | VideoStatus::Processing | VideoStatus::Failed, _) | (_, None) => {
            return Err(ApiError::conflict("this video cannot be played yet"));
        }
        (_, Some(d)) => d,
    };
    let beat = check_beat(&body, duration)?;
    let judged = judge(&mut tx, &user, video.id, body.session_id, &beat, now).await?;
    let watched = record(&mut tx, &user, video.id, &judged, duration, now).await?;
    tx.commit().await?;
    Ok(web::Json(video_progress(video.id.as_uuid(), duration, watched)))
}

/// A heartbeat judged against its session's previous one.
struct Judged {
    session: Uuid,
    beat: store::Beat,
    /// The session's first heartbeat.
    opened: bool,
    /// The previous heartbeat said it was playing.
    was_playing: bool,
    interval: Interval,
    /// The session's played segments, as the Video Profile writes them.
    segments: String,
    /// What the person has watched of the video now, this heartbeat credited.
    watched: store::Watched,
    ended: bool,
}

/// Opens or advances the session (locked meanwhile); refuses a heartbeat out of order,
/// too soon after the last, or for another video than the session's.
async fn judge(
    conn: &mut PgConnection,
    user: &AuthUser,
    video: VideoId,
    session_id: Uuid,
    beat: &store::Beat,
    now: OffsetDateTime,
) -> Result<Judged, ApiError> {
    let (me, vid) = (user.id.as_uuid(), video.as_uuid());
    let judged = |opened, was_playing, interval, segments, watched| Judged {
        session: session_id,
        beat: beat.clone(),
        opened,
        was_playing,
        interval,
        segments,
        watched,
        ended: beat.ended,
    };
    let Some(session) = store::session_for_update(conn, me, session_id).await? else {
        if !store::start_session(conn, me, session_id, vid, beat, now).await? {
            return Err(ApiError::conflict(
                "heartbeat out of order: the session was opened meanwhile",
            ));
        }
        let watched = store::watched(conn, me, vid).await?;
        return Ok(judged(true, false, Interval::Still, String::new(), watched));
    };
    if session.video_id != vid {
        return Err(ApiError::conflict("this session is playing another video"));
    }
    if beat.sequence <= session.sequence {
        return Err(ApiError::conflict(format!(
            "heartbeat out of order: sequence {} after {}",
            beat.sequence, session.sequence
        )));
    }
    let elapsed = (now - session.last_at).as_seconds_f64();
    if elapsed < MIN_HEARTBEAT_GAP_SECONDS {
        return Err(ApiError::new(
            ErrorCode::TooManyRequests,
            "heartbeats of one session must be at least 0.2 s apart",
        ));
    }
    let before = PlayerState {
        position: session.position,
        playing: session.playing,
        rate: session.rate,
    };
    let after = PlayerState {
        position: beat.position,
        playing: beat.playing,
        rate: beat.rate,
    };
    let interval = Interval::between(before, after, elapsed);
    let played = match interval {
        Interval::Watched { from, to } => Some((from, to)),
        Interval::Seeked { .. } | Interval::Still => None,
    };
    let (segments, watched) = store::advance(conn, me, session_id, vid, beat, played, now).await?;
    Ok(judged(false, session.playing, interval, segments, watched))
}

/// Credits what was watched and records the moments the Video Profile reports
/// (initialized, played, paused, seeked, completed, terminated) as domain events; on
/// reaching the threshold, completes the video and every journey it completes, once.
async fn record(
    conn: &mut PgConnection,
    user: &AuthUser,
    video: VideoId,
    judged: &Judged,
    duration: f64,
    now: OffsetDateTime,
) -> Result<store::Watched, ApiError> {
    let (me, vid) = (user.id.as_uuid(), video.as_uuid());
    let mut watched = judged.watched;
    let moment = |time: f64, from: Option<f64>, watched: &store::Watched| Playback {
        video,
        actor: user.id,
        session: judged.session,
        time,
        from,
        length: duration,
        progress: if watched.completed_at.is_some() {
            1.0
        } else {
            (watched.seconds / duration).clamp(0.0, 1.0)
        },
        played_segments: judged.segments.clone(),
    };
    let at = judged.beat.position;
    let mut moments = Vec::new();
    if judged.opened {
        moments.push(DomainEvent::VideoInitialized(moment(at, None, &watched)));
    }
    if let Interval::Seeked { from, to } = judged.interval {
        moments.push(DomainEvent::VideoSeeked(moment(to, Some(from), &watched)));
    }
    match (judged.was_playing, judged.beat.playing) {
        (false, true) => moments.push(DomainEvent::VideoPlayed(moment(at, None, &watched))),
        (true, false) => moments.push(DomainEvent::VideoPaused(moment(at, None, &watched))),
        _ => {}
    }
    if watched.completed_at.is_none()
        && completes(watched.seconds, duration)
        && store::complete(conn, me, vid, now).await?
    {
        watched.completed_at = Some(now);
        moments.push(DomainEvent::VideoCompleted {
            video,
            actor: user.id,
            playback: Some(moment(at, None, &watched)),
        });
        for journey in store::journeys_completed_with(conn, me, vid).await? {
            moments.push(DomainEvent::JourneyCompleted {
                journey: JourneyId::from_uuid(journey),
                actor: user.id,
            });
        }
    }
    if judged.ended {
        moments.push(DomainEvent::VideoTerminated(moment(at, None, &watched)));
    }
    for event in &moments {
        events::record(conn, event).await?;
    }
    Ok(watched)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepProgress {
    pub position: i32,
    /// Whether the person may watch this step's video; unavailable steps do not count.
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_id: Option<Uuid>,
    pub watched_seconds: f64,
    pub completed: bool,
}

/// Where one person stands on a journey.
#[derive(Debug, Serialize, ToSchema)]
pub struct JourneyProgress {
    pub journey_id: Uuid,
    pub person: PersonRef,
    pub steps: Vec<StepProgress>,
    pub available_steps: usize,
    pub completed_steps: usize,
    pub completion_percentage: f64,
    pub completed: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProgressQuery {
    /// Someone else's progress: for whoever assigned them the journey, their managers
    /// and admins.
    person: Option<Uuid>,
}

/// Whether `user` may follow `person`'s learning: themselves, their managers, admins,
/// or whoever assigned them `journey`.
async fn may_follow(
    conn: &mut PgConnection,
    user: &AuthUser,
    person: UserId,
    journey: Option<JourneyId>,
) -> Result<bool, ApiError> {
    if person == user.id || user.is_admin() {
        return Ok(true);
    }
    if let Some(journey) = journey
        && assignments::store::assigned_by(conn, journey.as_uuid(), person.as_uuid(), user.id.as_uuid()).await?
    {
        return Ok(true);
    }
    Ok(org::manages(conn, &user.subject, person).await?)
}

/// `GET /api/v1/journeys/{id}/progress`: the caller's, or `person`'s.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn journey_progress(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
    query: web::Query<ProgressQuery>,
) -> Result<web::Json<JourneyProgress>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let (journey, _) = journeys::load_visible(&mut conn, &user, &path).await?;
    let person: AuthUser = match query.person {
        None => user.clone(),
        Some(id) => {
            let id = UserId::from_uuid(id);
            if !may_follow(&mut conn, &user, id, Some(journey.id)).await? {
                return Err(ApiError::forbidden(
                    "only the person, their managers, whoever assigned them this journey and admins may see this",
                ));
            }
            users::find(&mut conn, id)
                .await?
                .ok_or_else(|| ApiError::not_found("person"))?
                .into()
        }
    };
    let steps = journeys::store::steps(&mut conn, &[journey.id.as_uuid()]).await?;
    let ids: Vec<Uuid> = steps.iter().map(|s| s.video_id).collect();
    let videos = access::videos(&mut conn, &ids, person.id).await?;
    let watched: std::collections::HashMap<Uuid, store::Watched> =
        store::watched_many(&mut conn, person.id.as_uuid(), &ids)
            .await?
            .into_iter()
            .collect();
    let mut out = Vec::with_capacity(steps.len());
    for step in &steps {
        let available = videos
            .get(&step.video_id)
            .is_some_and(|v| v.facts.status == VideoStatus::Published && v.visible_to(&person));
        let w = watched.get(&step.video_id).copied().unwrap_or_default();
        out.push(StepProgress {
            position: step.position,
            available,
            video_id: available.then_some(step.video_id),
            watched_seconds: if available {
                (w.seconds * 10.0).round() / 10.0
            } else {
                0.0
            },
            completed: available && w.completed_at.is_some(),
        });
    }
    let available = out.iter().filter(|s| s.available).count();
    let completed_steps = out.iter().filter(|s| s.completed).count();
    let completed = available > 0 && completed_steps == available;
    let share: f64 = steps
        .iter()
        .zip(&out)
        .filter(|(_, p)| p.available)
        .map(|(s, p)| {
            let duration = videos
                .get(&s.video_id)
                .and_then(|v| v.duration_seconds())
                .unwrap_or(1.0);
            if p.completed {
                1.0
            } else {
                (p.watched_seconds / (duration * COMPLETION_THRESHOLD)).clamp(0.0, 1.0)
            }
        })
        .sum();
    let completed_at = completed
        .then(|| {
            steps
                .iter()
                .filter_map(|s| watched.get(&s.video_id).and_then(|w| w.completed_at))
                .max()
        })
        .flatten();
    Ok(web::Json(JourneyProgress {
        journey_id: journey.id.as_uuid(),
        person: PersonRef {
            id: person.id.as_uuid(),
            name: person.name.clone(),
        },
        available_steps: available,
        completed_steps,
        completion_percentage: if completed {
            100.0
        } else if available > 0 {
            (share / available as f64 * 1000.0).round() / 10.0
        } else {
            0.0
        },
        completed,
        completed_at,
        steps: out,
    }))
}

/// `GET /api/v1/journeys/{id}/assignments`: who the journey is assigned to and where
/// each stands: everyone's for admins, else those the caller assigned and those of
/// their reports.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn journey_assignments(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
) -> Result<web::Json<Vec<AssignmentView>>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let (journey, _) = journeys::load_visible(&mut conn, &user, &path).await?;
    let rows =
        assignments::store::rows(&mut conn, assignments::store::Selection::Journey(journey.id.as_uuid())).await?;
    let now = ctx.clock.now();
    let rows = if user.is_admin() {
        rows
    } else {
        let people: Vec<Uuid> = rows.iter().map(|r| r.assignee_id).collect();
        let reports: std::collections::HashSet<Uuid> = org::reports_among(&mut conn, &user.subject, &people)
            .await?
            .into_iter()
            .collect();
        rows.into_iter()
            .filter(|r| r.assigner_id == user.id.as_uuid() || reports.contains(&r.assignee_id))
            .collect()
    };
    let mut views: Vec<AssignmentView> = rows.into_iter().map(|r| AssignmentView::of(r, now)).collect();
    sort_by_urgency(&mut views);
    Ok(web::Json(views))
}

/// A team's standing: each report × each assignment.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamProgress {
    pub team: String,
    /// Members of the team the caller may follow (their reports; everyone for admins).
    pub people: usize,
    pub assignments: usize,
    pub completed: usize,
    pub overdue: usize,
    pub rows: Vec<AssignmentView>,
}

pub const TEAM_CSV_HEADER: &str = "person_id,person_name,assignment_id,type,item_type,item_id,title,status,completion_percentage,due_at,completed_at,assigner_name";

/// A CSV field, quoted when it needs to be; a leading `=`, `+`, `-` or `@` is
/// prefixed with `'` so a spreadsheet does not run it as a formula.
fn csv_field(raw: &str) -> String {
    let safe = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if safe.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe
    }
}

fn rfc3339(at: Option<OffsetDateTime>) -> String {
    at.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

fn team_csv(progress: &TeamProgress) -> String {
    let mut out = String::from(TEAM_CSV_HEADER);
    out.push_str("\r\n");
    for r in &progress.rows {
        let fields = [
            r.assignee.id.to_string(),
            csv_field(&r.assignee.name),
            r.id.to_string(),
            r.kind.as_str().to_owned(),
            r.item.kind.to_owned(),
            r.item.id.to_string(),
            csv_field(&r.item.title),
            r.status.as_str().to_owned(),
            r.completion_percentage.to_string(),
            rfc3339(r.due_at),
            rfc3339(r.completed_at),
            csv_field(&r.assigner.name),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.split(',').any(|t| t.trim().starts_with("text/csv")))
}

/// `GET /api/v1/teams/{team}/progress`: for the team's managers (people the team's
/// members report to, directly or not) and admins; JSON, or CSV with
/// `Accept: text/csv`.
#[tracing::instrument(skip(ctx, user, req), fields(user = %user.subject))]
pub async fn team_progress(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let team = path.into_inner();
    let mut conn = ctx.pool.acquire().await?;
    let members = org::team_members(&mut conn, &team).await?;
    let people = if user.is_admin() {
        members
    } else {
        org::reports_among(&mut conn, &user.subject, &members).await?
    };
    if people.is_empty() {
        return Err(ApiError::forbidden(
            "only the team's managers and admins may see its progress",
        ));
    }
    let now = ctx.clock.now();
    let mut rows: Vec<AssignmentView> =
        assignments::store::rows(&mut conn, assignments::store::Selection::Assignees(&people))
            .await?
            .into_iter()
            .map(|r| AssignmentView::of(r, now))
            .collect();
    sort_by_urgency(&mut rows);
    rows.sort_by(|a, b| {
        a.assignee
            .name
            .cmp(&b.assignee.name)
            .then(a.assignee.id.cmp(&b.assignee.id))
    });
    let progress = TeamProgress {
        team,
        people: people.len(),
        assignments: rows.len(),
        completed: rows
            .iter()
            .filter(|r| r.status == skillreel_domain::learning::AssignmentStatus::Completed)
            .count(),
        overdue: rows.iter().filter(|r| r.overdue).count(),
        rows,
    };
    Ok(if wants_csv(&req) {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(team_csv(&progress))
    } else {
        HttpResponse::Ok().json(progress)
    })
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
