//! Peer recommendations: `POST /api/v1/videos/{id}/recommendations`,
//! `POST /api/v1/journeys/{id}/recommendations`,
//! `GET /api/v1/me/recommendations?source=peers`, `PATCH /api/v1/me/recommendations/{id}`.
//!
//! Anyone recommends a published item they may see to colleagues and/or a team; those
//! the access policy does not let see it are left out (and counted, never named). Each
//! new recipient is told in their inbox. A recipient sees each item once, with every
//! colleague who recommended it and their messages, and keeps it in the inbox, saves it
//! for later or dismisses it.

use std::collections::{HashMap, HashSet};

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_db::events;
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_domain::events::DomainEvent;
use skillreel_domain::{UserId, multiline_text};
use skillreel_learning::items::{self, Item, Shareable};
use skillreel_learning::org;
use skillreel_web::paging::{Page, newest_first};
use skillreel_web::{ApiError, ErrorCode, JsonObject};
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::RecommendationsContext;
use crate::view::{ItemView, PersonRef, Reason, ReasonKind, Recommendation, Recommender, people_in_words};

mod store;

/// Characters a recommendation's message may have.
const MAX_MESSAGE: usize = 1_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendRequest {
    /// Colleagues to recommend it to, by id.
    #[schema(max_items = 1000)]
    people: Option<Vec<Uuid>>,
    /// Everyone in this team (the `team` of the org chart), but you.
    #[schema(min_length = 1, max_length = 200)]
    team: Option<String>,
    /// Why you recommend it; shown to each recipient.
    #[schema(max_length = 1000)]
    message: Option<String>,
}

/// The outcome of a recommendation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendResult {
    /// The people it newly reached.
    pub recommended: Vec<PersonRef>,
    /// People you had recommended it to already (unchanged).
    pub already_recommended: Vec<Uuid>,
    /// How many of the people named may not see it, and were left out.
    pub left_out: usize,
}

/// The people a request names: they exist and are not the caller; a team counts each
/// member but the caller and the item's author (who has it already).
async fn recipients(
    conn: &mut PgConnection,
    user: &AuthUser,
    body: &RecommendRequest,
    author: Uuid,
    max: usize,
) -> Result<Vec<Uuid>, ApiError> {
    let me = user.id.as_uuid();
    let mut people: Vec<Uuid> = body.people.clone().unwrap_or_default();
    if people.contains(&me) {
        return Err(ApiError::validation("recommend to colleagues, not to yourself"));
    }
    if let Some(team) = body.team.as_deref().map(str::trim) {
        let members = org::team_members(conn, team).await?;
        if members.is_empty() {
            return Err(ApiError::validation(format!("nobody is in team `{team}`")));
        }
        people.extend(members.into_iter().filter(|p| *p != me && *p != author));
    }
    let mut seen = HashSet::new();
    people.retain(|p| seen.insert(*p));
    if people.is_empty() {
        return Err(ApiError::validation("name colleagues, a team, or both"));
    }
    if people.len() > max {
        return Err(ApiError::validation(format!("at most {max} people per recommendation")));
    }
    let existing: HashSet<Uuid> = org::existing(conn, &people).await?.into_iter().collect();
    if let Some(unknown) = people.iter().find(|p| !existing.contains(p)) {
        return Err(ApiError::validation(format!("no person {unknown}")));
    }
    Ok(people)
}

/// Refuses the request when, with it, the sender would have recommended to more than
/// `limit` people within the last hour (counted after recording it, under a lock held
/// to the end of the transaction, so that concurrent requests add up).
async fn within_hourly_limit(
    conn: &mut PgConnection,
    sender: Uuid,
    now: OffsetDateTime,
    limit: usize,
) -> Result<(), ApiError> {
    let sent = store::sent_since(conn, sender, now - time::Duration::HOUR).await?;
    if usize::try_from(sent).unwrap_or(usize::MAX) > limit {
        return Err(ApiError::new(
            ErrorCode::TooManyRequests,
            format!("you may recommend to at most {limit} people an hour; try again later"),
        ));
    }
    Ok(())
}

/// Checks and records a recommendation of `what` (already known visible to the
/// caller), tells each new recipient and records the events.
async fn recommend(
    ctx: &RecommendationsContext,
    conn: &mut PgConnection,
    user: &AuthUser,
    what: Shareable,
    body: &RecommendRequest,
) -> Result<HttpResponse, ApiError> {
    let noun = what.item.noun();
    if !what.published {
        return Err(ApiError::conflict(format!(
            "only a published {noun} can be recommended"
        )));
    }
    let message = multiline_text("message", body.message.as_deref().unwrap_or_default(), MAX_MESSAGE)
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let author = what.facts.owner.as_uuid();
    let people = recipients(conn, user, body, author, ctx.settings.max_recipients).await?;
    let seeing = items::who_may_see(conn, &people, &what).await?;
    let audience: Vec<Uuid> = people.iter().copied().filter(|p| seeing.contains(p)).collect();
    if audience.is_empty() {
        return Err(ApiError::validation(format!(
            "none of these people may see this {noun}"
        )));
    }
    let now = ctx.clock.now();
    store::lock_sender(conn, user.id.as_uuid()).await?;
    let (journey, video) = (what.item.journey(), what.item.video());
    let recommendation = store::NewRecommendation {
        sender: user.id.as_uuid(),
        journey: journey.map(|j| j.as_uuid()),
        video: video.map(|v| v.as_uuid()),
        message: &message,
        at: now,
    };
    let created = store::insert(conn, &recommendation, &audience).await?;
    within_hourly_limit(conn, user.id.as_uuid(), now, ctx.settings.recipients_per_hour).await?;
    for (recipient, id) in &created {
        let payload = serde_json::json!({
            "recommendation_id": id, "journey_id": journey, "video_id": video, "title": what.title,
            "from": user.name, "message": message,
        });
        let recipient = UserId::from_uuid(*recipient);
        notifications::push(conn, recipient, NotificationKind::Recommendation, video, &payload).await?;
        let event = DomainEvent::RecommendationCreated {
            recommendation: *id,
            recipient,
            actor: user.id,
            journey,
            video,
        };
        events::record(conn, &event).await?;
    }
    let new_people: Vec<Uuid> = created.iter().map(|(p, _)| *p).collect();
    let names = org::names(conn, &new_people).await?;
    let result = RecommendResult {
        recommended: new_people
            .iter()
            .map(|p| PersonRef {
                id: *p,
                name: names.get(p).cloned().unwrap_or_default(),
            })
            .collect(),
        already_recommended: audience.iter().filter(|p| !new_people.contains(p)).copied().collect(),
        left_out: people.len() - audience.len(),
    };
    Ok(if created.is_empty() {
        HttpResponse::Ok().json(result)
    } else {
        HttpResponse::Created().json(result)
    })
}

/// `POST /api/v1/journeys/{id}/recommendations`.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn recommend_journey(
    user: AuthUser,
    ctx: web::Data<RecommendationsContext>,
    path: web::Path<String>,
    body: JsonObject<RecommendRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let what = items::visible_journey(&mut tx, &user, &path).await?;
    let response = recommend(&ctx, &mut tx, &user, what, &body).await?;
    tx.commit().await?;
    Ok(response)
}

/// `POST /api/v1/videos/{id}/recommendations`.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn recommend_video(
    user: AuthUser,
    ctx: web::Data<RecommendationsContext>,
    path: web::Path<String>,
    body: JsonObject<RecommendRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let what = items::visible_video(&mut tx, &user, &path).await?;
    let response = recommend(&ctx, &mut tx, &user, what, &body).await?;
    tx.commit().await?;
    Ok(response)
}

/// Where a recommended item is for its recipient.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// New, or brought back by another colleague's recommendation.
    #[default]
    Inbox,
    /// Kept for later.
    Saved,
    /// Not wanted: off the list and off their assignments.
    Dismissed,
}

impl PeerState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Inbox => "inbox",
            Self::Saved => "saved",
            Self::Dismissed => "dismissed",
        }
    }

    fn parse(raw: &str) -> Self {
        match raw {
            "saved" => Self::Saved,
            "dismissed" => Self::Dismissed,
            _ => Self::Inbox,
        }
    }
}

/// The views of `rows` the caller may still see (an item removed or moved out of the
/// caller's reach since is left out), with who recommended each.
async fn views(
    conn: &mut PgConnection,
    user: &AuthUser,
    rows: Vec<store::ItemRow>,
) -> Result<Vec<Recommendation>, ApiError> {
    let item_of = |r: &store::ItemRow| match (r.journey_id, r.video_id) {
        (Some(j), _) => Item::Journey(j.into()),
        (None, v) => Item::Video(v.unwrap_or_default().into()),
    };
    let wanted: Vec<Item> = rows.iter().map(item_of).collect();
    let visible = items::visible_among(conn, user, &wanted).await?;
    let ids: Vec<Uuid> = wanted.iter().map(|i| i.id()).collect();
    let mut by_item: HashMap<Uuid, Vec<Recommender>> = HashMap::new();
    for s in store::senders(conn, user.id.as_uuid(), &ids).await? {
        by_item.entry(s.item_id).or_default().push(Recommender {
            person: PersonRef {
                id: s.sender_id,
                name: s.sender_name,
            },
            message: (!s.message.is_empty()).then_some(s.message),
            recommended_at: s.created_at,
        });
    }
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let item = item_of(&row);
            let shown = visible.get(&item)?;
            let recommended_by = by_item.remove(&item.id()).unwrap_or_default();
            let people: Vec<PersonRef> = recommended_by.iter().map(|r| r.person.clone()).collect();
            let text = format!("Recommended by {}", people_in_words(&people));
            let reason = Reason::new(ReasonKind::RecommendedBy, text).people(people);
            Some(Recommendation {
                id: Some(row.id),
                item: ItemView {
                    kind: item.noun(),
                    id: item.id(),
                    title: shown.title.clone(),
                    author: None,
                },
                reasons: vec![reason],
                state: Some(PeerState::parse(&row.state)),
                recommended_by,
                recommended_at: Some(row.latest),
                score: None,
            })
        })
        .collect())
}

/// One page of the items colleagues recommended to the caller in `state`, each once,
/// most recently recommended first.
pub async fn page(
    ctx: &RecommendationsContext,
    user: &AuthUser,
    state: PeerState,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<Recommendation>, ApiError> {
    let after = newest_first::parse(cursor)?;
    let selection = store::Selection::State {
        state: state.as_str(),
        after,
        limit: limit + 1,
    };
    let mut conn = ctx.pool.acquire().await?;
    let rows = store::items(&mut conn, user.id.as_uuid(), &selection).await?;
    let (rows, next) = skillreel_web::paging::paginate(rows, limit, |r| {
        newest_first::encode(r.latest, r.journey_id.or(r.video_id).unwrap_or_default())
    });
    Ok(Page {
        items: views(&mut conn, user, rows).await?,
        next_cursor: next,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateRequest {
    pub state: PeerState,
}

/// `PATCH /api/v1/me/recommendations/{id}`: keeps, saves or dismisses the item the
/// recommendation is of (every colleague's recommendation of it at once).
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn set_state(
    user: AuthUser,
    ctx: web::Data<RecommendationsContext>,
    path: web::Path<String>,
    body: JsonObject<StateRequest>,
) -> Result<web::Json<Recommendation>, ApiError> {
    let id: Uuid = path.parse().map_err(|_| ApiError::not_found("recommendation"))?;
    let me = user.id.as_uuid();
    let mut tx = ctx.pool.begin().await?;
    let found = store::items(&mut tx, me, &store::Selection::Of { recommendation: id }).await?;
    let Some(row) = found.into_iter().next() else {
        return Err(ApiError::not_found("recommendation"));
    };
    let item_id = row.journey_id.or(row.video_id).unwrap_or_default();
    let state = body.state;
    if PeerState::parse(&row.state) != state {
        let by = store::set_state(&mut tx, me, item_id, state.as_str(), ctx.clock.now())
            .await?
            .ok_or_else(|| ApiError::not_found("recommendation"))?;
        let event = DomainEvent::RecommendationUpdated {
            actor: user.id,
            by: UserId::from_uuid(by),
            journey: row.journey_id.map(Into::into),
            video: row.video_id.map(Into::into),
            state: state.as_str().to_owned(),
        };
        events::record(&mut tx, &event).await?;
    }
    let rows = store::items(&mut tx, me, &store::Selection::Of { recommendation: id }).await?;
    let view = views(&mut tx, &user, rows)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("recommendation"))?;
    tx.commit().await?;
    Ok(web::Json(view))
}
