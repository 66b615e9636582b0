//! Journeys: `GET|POST /api/v1/journeys`, `GET|PATCH|DELETE /api/v1/journeys/{id}`,
//! `PUT /api/v1/journeys/{id}/steps`, `POST /api/v1/journeys/{id}/publish` and
//! `/review`.
//!
//! Any employee creates one (a draft, theirs alone); its owner and admins edit it;
//! publishing follows its community's approval policy, as for a video. Whoever may see
//! a journey sees every step, but a step whose video they may not see (or that was
//! removed) shows only its place and note, marked unavailable: its video's id, title
//! and length are not leaked. The estimated duration sums the available steps.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_db::communities;
use skillreel_db::events;
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_db::videos::RankCursor;
use skillreel_domain::access::{Action, Membership};
use skillreel_domain::events::DomainEvent;
use skillreel_domain::learning::JourneyStatus;
use skillreel_domain::{
    CommunityId, Description, JourneyId, Language, TagText, Tags, Title, VideoStatus, Visibility, multiline_text,
};
use skillreel_web::paging::{Page, parse_limit};
use skillreel_web::search::{self, Terms};
use skillreel_web::{ApiError, JsonObject, double_option};
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::LearningContext;
use crate::access::{self, VideoEntry};

pub mod store;

pub use store::JourneyRecord;

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Database(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

/// Someone named in a view.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonRef {
    pub id: Uuid,
    pub name: String,
}

/// The video of a step the viewer may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepVideo {
    pub id: Uuid,
    pub title: String,
    pub duration_seconds: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    /// 1-based place in the journey.
    pub position: i32,
    pub note: Option<String>,
    /// Whether the viewer may watch this step's video; when not, `video` is absent.
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<StepVideo>,
}

/// A journey as its viewer may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JourneyView {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    /// The skills it teaches (tags).
    pub skills: Vec<String>,
    pub status: JourneyStatus,
    pub visibility: Visibility,
    pub community_id: Option<Uuid>,
    pub language: String,
    pub owner: PersonRef,
    pub steps: Vec<StepView>,
    pub available_steps: usize,
    /// The length of the steps the viewer may watch, in seconds.
    pub estimated_duration_seconds: f64,
    /// Why a reviewer rejected it (its owner and admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The instance it comes from (`host[:port]`), when a partner published it: it is
    /// changed there, and assigned and followed here like any other.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

fn step_view(step: &store::StepRow, video: Option<&VideoEntry>, user: &AuthUser) -> StepView {
    let video = video
        .filter(|v| v.facts.status == VideoStatus::Published || v.facts.owner == user.id)
        .filter(|v| v.visible_to(user));
    StepView {
        position: step.position,
        note: step.note.clone(),
        available: video.is_some(),
        video: video.map(|v| StepVideo {
            id: v.id.as_uuid(),
            title: v.title.clone(),
            duration_seconds: v.duration_seconds(),
        }),
    }
}

/// The views of `journeys` for `user`, with their steps (two statements in all).
pub async fn views(
    conn: &mut PgConnection,
    user: &AuthUser,
    journeys: Vec<JourneyRecord>,
) -> Result<Vec<JourneyView>, ApiError> {
    let ids: Vec<Uuid> = journeys.iter().map(|j| j.id.as_uuid()).collect();
    let steps = store::steps(conn, &ids).await?;
    let video_ids: Vec<Uuid> = steps.iter().map(|s| s.video_id).collect();
    let videos = access::videos(conn, &video_ids, user.id).await?;
    let mut by_journey: HashMap<Uuid, Vec<StepView>> = HashMap::new();
    for step in &steps {
        by_journey
            .entry(step.journey_id)
            .or_default()
            .push(step_view(step, videos.get(&step.video_id), user));
    }
    Ok(journeys
        .into_iter()
        .map(|j| {
            let steps = by_journey.remove(&j.id.as_uuid()).unwrap_or_default();
            let available: Vec<&StepVideo> = steps.iter().filter_map(|s| s.video.as_ref()).collect();
            let private = user
                .viewer()
                .may(Action::SeePrivateDetails, &j.facts(), Membership::None);
            JourneyView {
                id: j.id.as_uuid(),
                available_steps: available.len(),
                estimated_duration_seconds: available.iter().filter_map(|v| v.duration_seconds).sum(),
                title: j.title,
                description: j.description,
                skills: j.skills,
                status: j.status,
                visibility: j.visibility,
                community_id: j.community_id.map(|c| c.as_uuid()),
                language: j.language,
                owner: PersonRef {
                    id: j.owner_id.as_uuid(),
                    name: j.owner_name,
                },
                steps,
                review_reason: j.review_reason.filter(|_| private),
                published_at: j.published_at,
                created_at: j.created_at,
                updated_at: j.updated_at,
                origin: j.origin,
            }
        })
        .collect())
}

async fn view_of(conn: &mut PgConnection, user: &AuthUser, journey: JourneyRecord) -> Result<JourneyView, ApiError> {
    views(conn, user, vec![journey])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("journey"))
}

/// The journey as it now is, in `user`'s view, then commits `tx`: what every change
/// answers.
async fn committed_view(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    user: &AuthUser,
    id: JourneyId,
) -> Result<web::Json<JourneyView>, ApiError> {
    let journey = store::find(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("journey"))?;
    let view = view_of(&mut tx, user, journey).await?;
    tx.commit().await?;
    Ok(web::Json(view))
}

/// The journey `raw_id` names and the caller's standing in its community, or 404 when
/// the caller may not see it.
pub async fn load_visible(
    conn: &mut PgConnection,
    user: &AuthUser,
    raw_id: &str,
) -> Result<(JourneyRecord, Membership), ApiError> {
    let id: JourneyId = raw_id.parse().map_err(|_| ApiError::not_found("journey"))?;
    let journey = store::find(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("journey"))?;
    let membership = match journey.community_id {
        Some(c) => Membership::from_role(communities::role_of(conn, c, user.id).await?.as_deref()),
        None => Membership::None,
    };
    if !user.viewer().may(Action::View, &journey.facts(), membership) {
        return Err(ApiError::not_found("journey"));
    }
    Ok((journey, membership))
}

fn require(user: &AuthUser, action: Action, journey: &JourneyRecord, membership: Membership) -> Result<(), ApiError> {
    if let Some(origin) = journey.origin.as_deref().filter(|_| action != Action::Delete) {
        return Err(ApiError::conflict(format!(
            "this journey comes from {origin}; it is changed there"
        )));
    }
    if user.viewer().may(action, &journey.facts(), membership) {
        Ok(())
    } else {
        Err(ApiError::forbidden(match action {
            Action::Delete => "only the owner, a moderator or an admin may delete this journey",
            Action::Review => "you may not review this journey",
            _ => "only the owner or an admin may change this journey",
        }))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Words to search for in titles, skills and descriptions.
    #[param(max_length = 500)]
    q: Option<String>,
    /// Only journeys teaching this skill.
    #[param(max_length = 40)]
    skill: Option<String>,
    /// Only this person's journeys.
    owner: Option<Uuid>,
    community: Option<Uuid>,
    /// `published` (default); any other state lists the caller's own (an admin's: all).
    status: Option<JourneyStatus>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// From the previous page's `next_cursor`.
    #[param(max_length = 200)]
    cursor: Option<String>,
}

/// `GET /api/v1/journeys`: what the caller may list, newest first, or best match first
/// with `q`.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn list(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<JourneyView>>, ApiError> {
    let limit = parse_limit(query.limit, 20)?;
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(raw) => Some(RankCursor::decode(raw).ok_or_else(|| ApiError::bad_request("cursor is not valid"))?),
        None => None,
    };
    let Terms::Match { words, skill } = search::terms(query.q.as_deref(), query.skill.as_deref())? else {
        return Ok(web::Json(Page {
            items: Vec::new(),
            next_cursor: None,
        }));
    };
    let mut conn = ctx.pool.acquire().await?;
    let rows = store::list(
        &mut conn,
        &store::JourneyQuery {
            viewer: user.id,
            admin: user.is_admin(),
            status: query.status.unwrap_or(JourneyStatus::Published),
            words: words.as_deref(),
            skill: skill.as_deref(),
            owner: query.owner,
            community: query.community,
            after: after.map(|c| (c.key, c.id)),
            limit: limit + 1,
        },
    )
    .await?;
    let keys: HashMap<Uuid, f64> = rows.iter().copied().collect();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let journeys = store::load(&mut conn, &ids).await?;
    let page = Page::of(journeys, limit, |j| {
        RankCursor {
            key: keys.get(&j.id.as_uuid()).copied().unwrap_or_default(),
            id: j.id.as_uuid(),
        }
        .encode()
    });
    Ok(web::Json(Page {
        items: views(&mut conn, &user, page.items).await?,
        next_cursor: page.next_cursor,
    }))
}

#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn get(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
) -> Result<web::Json<JourneyView>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let (journey, _) = load_visible(&mut conn, &user, &path).await?;
    Ok(web::Json(view_of(&mut conn, &user, journey).await?))
}

/// A step as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// A published video the editor may see.
    video_id: Uuid,
    #[schema(max_length = 1000, pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$")]
    note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJourney {
    #[schema(
        max_length = 200,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x1f\\x7f-\\x9f\\s][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    title: String,
    #[schema(max_length = 5000, pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$")]
    description: Option<String>,
    /// At most 20 distinct skills, each a tag.
    #[schema(max_items = 20, inline)]
    skills: Option<Vec<TagText>>,
    #[schema(value_type = Option<Visibility>)]
    visibility: Option<String>,
    /// A community the owner belongs to.
    community_id: Option<Uuid>,
    /// ISO 639-1 code.
    #[schema(pattern = "^\\s*[A-Za-z]{2}\\s*$")]
    language: Option<String>,
    /// The steps, in order (see `PUT /api/v1/journeys/{id}/steps`).
    #[schema(max_items = 50)]
    steps: Option<Vec<StepInput>>,
}

/// Parsed, checked fields of a journey.
struct Fields {
    title: Title,
    description: Description,
    skills: Vec<String>,
    visibility: Visibility,
    community: Option<CommunityId>,
    language: Language,
}

impl Fields {
    fn as_store(&self) -> store::JourneyFields<'_> {
        store::JourneyFields {
            title: self.title.as_str(),
            description: self.description.as_str(),
            skills: &self.skills,
            visibility: self.visibility,
            community: self.community,
            language: self.language.as_str(),
        }
    }
}

fn invalid(e: skillreel_domain::ValidationError) -> ApiError {
    ApiError::validation(e.to_string())
}

fn parse_skills(raw: &[TagText]) -> Result<Vec<String>, ApiError> {
    Ok(Tags::parse_skills(raw).map_err(invalid)?.as_strings())
}

fn parse_visibility(raw: &str) -> Result<Visibility, ApiError> {
    raw.parse().map_err(invalid)
}

/// Checks that `user` may put a journey into `community`: it exists and they belong.
async fn check_community(conn: &mut PgConnection, user: &AuthUser, community: Uuid) -> Result<CommunityId, ApiError> {
    let id = CommunityId::from_uuid(community);
    if communities::find(conn, id).await?.is_none() {
        return Err(ApiError::validation("no such community"));
    }
    if communities::role_of(conn, id, user.id).await?.is_none() && !user.is_admin() {
        return Err(ApiError::forbidden("join the community before posting to it"));
    }
    Ok(id)
}

fn check_audience(visibility: Visibility, community: Option<CommunityId>) -> Result<(), ApiError> {
    if visibility == Visibility::Community && community.is_none() {
        return Err(ApiError::validation("visibility `community` needs a community_id"));
    }
    Ok(())
}

/// `POST /api/v1/journeys`: a draft of the caller's, with steps if given.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn create(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    body: JsonObject<NewJourney>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut tx = ctx.pool.begin().await?;
    let community = match body.community_id {
        Some(c) => Some(check_community(&mut tx, &user, c).await?),
        None => None,
    };
    let fields = Fields {
        title: Title::parse(&body.title).map_err(invalid)?,
        description: Description::parse(body.description.as_deref().unwrap_or_default()).map_err(invalid)?,
        skills: parse_skills(body.skills.as_deref().unwrap_or_default())?,
        visibility: body
            .visibility
            .as_deref()
            .map(parse_visibility)
            .transpose()?
            .unwrap_or_default(),
        community,
        language: Language::parse(body.language.as_deref().unwrap_or("en")).map_err(invalid)?,
    };
    check_audience(fields.visibility, fields.community)?;
    let id = JourneyId::new();
    store::insert(&mut tx, id, user.id, &fields.as_store()).await?;
    if let Some(steps) = &body.steps {
        let (videos, notes) = checked_steps(&mut tx, &user, steps, ctx.settings.max_steps).await?;
        store::replace_steps(&mut tx, id, &videos, &notes).await?;
    }
    let journey = store::find(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("journey"))?;
    let view = view_of(&mut tx, &user, journey).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/journeys/{id}")))
        .json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyPatch {
    #[schema(
        max_length = 200,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x1f\\x7f-\\x9f\\s][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    title: Option<String>,
    #[schema(max_length = 5000, pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$")]
    description: Option<String>,
    #[schema(max_items = 20, inline)]
    skills: Option<Vec<TagText>>,
    #[schema(value_type = Option<Visibility>)]
    visibility: Option<String>,
    /// A community the owner belongs to, or `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    community_id: Option<Option<Uuid>>,
    #[schema(pattern = "^\\s*[A-Za-z]{2}\\s*$")]
    language: Option<String>,
}

/// `PATCH /api/v1/journeys/{id}`: the owner or an admin. A published journey whose
/// community reviews what is published goes back to review when what it says changes.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn patch(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
    body: JsonObject<JourneyPatch>,
) -> Result<web::Json<JourneyView>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let (journey, membership) = load_visible(&mut tx, &user, &path).await?;
    require(&user, Action::Edit, &journey, membership)?;
    let community = match body.community_id {
        Some(Some(c)) if Some(CommunityId::from_uuid(c)) != journey.community_id => {
            if journey.status != JourneyStatus::Draft {
                return Err(ApiError::conflict(
                    "only a draft moves to another community (its new community may review it)",
                ));
            }
            Some(check_community(&mut tx, &user, c).await?)
        }
        Some(Some(_)) => journey.community_id,
        Some(None) => None,
        None => journey.community_id,
    };
    let fields = Fields {
        title: Title::parse(body.title.as_deref().unwrap_or(&journey.title)).map_err(invalid)?,
        description: Description::parse(body.description.as_deref().unwrap_or(&journey.description))
            .map_err(invalid)?,
        skills: match &body.skills {
            Some(s) => parse_skills(s)?,
            None => journey.skills.clone(),
        },
        visibility: match body.visibility.as_deref() {
            Some(v) => parse_visibility(v)?,
            None => journey.visibility,
        },
        community,
        language: Language::parse(body.language.as_deref().unwrap_or(&journey.language)).map_err(invalid)?,
    };
    check_audience(fields.visibility, fields.community)?;
    let says_otherwise = fields.title.as_str() != journey.title
        || fields.description.as_str() != journey.description
        || fields.skills != journey.skills;
    let back_to_review = journey.status == JourneyStatus::Published
        && says_otherwise
        && !user.is_admin()
        && communities::needs_review(&mut tx, journey.policy, journey.community_id, journey.owner_id).await?;
    let status = back_to_review.then_some(JourneyStatus::PendingReview);
    store::update(&mut tx, journey.id, &fields.as_store(), status).await?;
    changed(&mut tx, &user, journey.id).await?;
    committed_view(tx, &user, journey.id).await
}

/// Records that `journey` changed (what it says, its steps or its audience), for
/// those who keep a copy of it (partners, through federation).
async fn changed(conn: &mut PgConnection, user: &AuthUser, journey: JourneyId) -> Result<(), ApiError> {
    let updated = DomainEvent::JourneyUpdated {
        journey,
        actor: user.id,
    };
    events::record(conn, &updated).await?;
    Ok(())
}

/// `DELETE /api/v1/journeys/{id}`: the owner, an admin, or a moderator of a published
/// one. Its assignments go with it.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn delete(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let (journey, membership) = load_visible(&mut tx, &user, &path).await?;
    require(&user, Action::Delete, &journey, membership)?;
    store::delete(&mut tx, journey.id).await?;
    let removed = DomainEvent::JourneyRemoved {
        journey: journey.id,
        actor: user.id,
    };
    events::record(&mut tx, &removed).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepsRequest {
    /// The new list, in order; it replaces the old one whole.
    #[schema(max_items = 50)]
    steps: Vec<StepInput>,
}

/// Checks a step list: at most `max` steps, no video twice, each a published video
/// the editor may see (an unknown and an invisible video get the same answer), notes
/// clean. Returns the video ids and notes in order.
async fn checked_steps(
    conn: &mut PgConnection,
    user: &AuthUser,
    steps: &[StepInput],
    max: usize,
) -> Result<(Vec<Uuid>, Vec<Option<String>>), ApiError> {
    if steps.len() > max {
        return Err(ApiError::validation(format!("a journey has at most {max} steps")));
    }
    let ids: Vec<Uuid> = steps.iter().map(|s| s.video_id).collect();
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(ApiError::validation(format!(
                "step {}: video {id} is already step {}",
                i + 1,
                ids[..i].iter().position(|x| x == id).unwrap_or_default() + 1
            )));
        }
    }
    let videos = access::videos(conn, &ids, user.id).await?;
    let mut notes = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let usable = videos
            .get(&step.video_id)
            .is_some_and(|v| v.facts.status == VideoStatus::Published && v.visible_to(user));
        if !usable {
            return Err(ApiError::validation(format!(
                "step {}: no published video {} that you may see",
                i + 1,
                step.video_id
            )));
        }
        let note = multiline_text("note", step.note.as_deref().unwrap_or_default(), 1000)
            .map_err(|e| ApiError::validation(format!("step {}: {e}", i + 1)))?;
        notes.push((!note.is_empty()).then_some(note));
    }
    Ok((ids, notes))
}

/// `PUT /api/v1/journeys/{id}/steps`: replaces the steps at once (owner or admin).
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn put_steps(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
    body: JsonObject<StepsRequest>,
) -> Result<web::Json<JourneyView>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let (journey, membership) = load_visible(&mut tx, &user, &path).await?;
    require(&user, Action::Edit, &journey, membership)?;
    let (videos, notes) = checked_steps(&mut tx, &user, &body.steps, ctx.settings.max_steps).await?;
    if videos.is_empty() && journey.status == JourneyStatus::Published {
        return Err(ApiError::conflict("a published journey keeps at least one step"));
    }
    store::replace_steps(&mut tx, journey.id, &videos, &notes).await?;
    changed(&mut tx, &user, journey.id).await?;
    committed_view(tx, &user, journey.id).await
}

/// `POST /api/v1/journeys/{id}/publish`: under the community's approval policy, as a
/// video: published at once, or waiting for a reviewer.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn publish(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
) -> Result<web::Json<JourneyView>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let (journey, membership) = load_visible(&mut tx, &user, &path).await?;
    require(&user, Action::Publish, &journey, membership)?;
    if !matches!(journey.status, JourneyStatus::Draft | JourneyStatus::Rejected) {
        return Err(ApiError::conflict(format!(
            "a journey that is {} cannot be published",
            journey.status
        )));
    }
    if store::steps(&mut tx, &[journey.id.as_uuid()]).await?.is_empty() {
        return Err(ApiError::conflict("a journey needs at least one step to be published"));
    }
    let to = if communities::needs_review(&mut tx, journey.policy, journey.community_id, journey.owner_id).await? {
        JourneyStatus::PendingReview
    } else {
        JourneyStatus::Published
    };
    if !store::set_status(&mut tx, journey.id, journey.status, to, None).await? {
        return Err(ApiError::conflict("the journey changed meanwhile; try again"));
    }
    if to == JourneyStatus::Published {
        let published = DomainEvent::JourneyPublished {
            journey: journey.id,
            actor: user.id,
        };
        events::record(&mut tx, &published).await?;
    }
    committed_view(tx, &user, journey.id).await
}

/// A reviewer's decision on a journey waiting for review.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReviewRequest {
    Approve {},
    Reject {
        /// Shown to the owner.
        #[schema(
            max_length = 5000,
            pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\s][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
        )]
        reason: String,
    },
}

/// `POST /api/v1/journeys/{id}/review`: whoever reviews such a video (a moderator of
/// its community, an org-wide moderator, an admin, the owner's manager under the
/// `manager` policy) approves or rejects it; the owner is told.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn review(
    user: AuthUser,
    ctx: web::Data<LearningContext>,
    path: web::Path<String>,
    body: JsonObject<ReviewRequest>,
) -> Result<web::Json<JourneyView>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let (journey, membership) = load_visible(&mut tx, &user, &path).await?;
    require(&user, Action::Review, &journey, membership)?;
    if journey.status != JourneyStatus::PendingReview {
        return Err(ApiError::conflict("the journey is not waiting for review"));
    }
    let (to, reason, kind) = match body.into_inner() {
        ReviewRequest::Approve {} => (JourneyStatus::Published, None, NotificationKind::JourneyApproved),
        ReviewRequest::Reject { reason } => {
            let reason = multiline_text("reason", &reason, 5000).map_err(invalid)?;
            if reason.is_empty() {
                return Err(ApiError::validation("a rejection needs a reason"));
            }
            (JourneyStatus::Rejected, Some(reason), NotificationKind::JourneyRejected)
        }
    };
    if !store::set_status(&mut tx, journey.id, JourneyStatus::PendingReview, to, reason.as_deref()).await? {
        return Err(ApiError::conflict("the journey changed meanwhile; try again"));
    }
    let payload = serde_json::json!({ "journey_id": journey.id, "title": journey.title, "reason": reason });
    notifications::push(&mut tx, journey.owner_id, kind, None, &payload).await?;
    if to == JourneyStatus::Published {
        let published = DomainEvent::JourneyPublished {
            journey: journey.id,
            actor: user.id,
        };
        events::record(&mut tx, &published).await?;
    }
    committed_view(tx, &user, journey.id).await
}
