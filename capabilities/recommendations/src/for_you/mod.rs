//! "For you": `GET /api/v1/me/recommendations` (without `source=peers`), a ranked feed
//! in which every item says why, `POST /api/v1/me/dismissals` ("not for
//! me") and `POST /api/v1/admin/recommendations/model` (rebuild the lists now).
//!
//! A request reads the candidates the model pass precomputed ([`model`]): the person's
//! own list, with what they did since, and the shared lists, by id and signals in one
//! statement ([`store`]); ranks them ([`rank`]); looks up the videos of the best few
//! dozen, keeps those the access policy lists to the person, and chooses the page among
//! them. The signals: item-to-item collaborative filtering over likes, completions and
//! colleagues' recommendations, colleagues' recommendations
//! themselves, the people they follow, their team, their skills, the organisation, and
//! exploration slots for new videos. Someone new sees their team's and the
//! organisation's favourites; what they completed, liked or dismissed never comes back.

use std::collections::{HashMap, HashSet};

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use skillreel_auth::AuthUser;
use skillreel_domain::access::{Membership, VideoFacts};
use skillreel_domain::{ApprovalPolicy, CommunityId, UserId, VideoStatus, Visibility};
use skillreel_web::paging::Page;
use skillreel_web::{ApiError, CancellationToken, JsonObject};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::RecommendationsContext;
use crate::view::{ItemView, PersonRef, Recommendation, VideoRef};

pub mod model;
pub mod rank;
mod store;

use rank::{Because, Candidate};

/// The card as the access policy sees it, for the listing rule.
fn facts(card: &store::CardRow) -> Option<(VideoFacts, Membership)> {
    let facts = VideoFacts {
        owner: UserId::from_uuid(card.owner_id),
        owner_manager: None,
        status: VideoStatus::Published,
        visibility: card.visibility.parse::<Visibility>().ok()?,
        community: card.community_id.map(CommunityId::from_uuid),
        policy: ApprovalPolicy::default(),
    };
    Some((facts, Membership::from_role(card.membership.as_deref())))
}

/// A candidate by id and signals: its title and author come with its card
/// ([`carded`]), the title its reason quotes once the page is chosen ([`name`]).
fn candidate(row: store::CandidateRow) -> Candidate {
    let because = row.because_id.map(|id| Because {
        video: VideoRef {
            id,
            title: String::new(),
        },
        completed: row.because_completed.unwrap_or(false),
    });
    let peers = row
        .peer_ids
        .unwrap_or_default()
        .into_iter()
        .zip(row.peer_names.unwrap_or_default())
        .map(|(id, name)| PersonRef { id, name })
        .collect();
    Candidate {
        video: VideoRef {
            id: row.id,
            title: String::new(),
        },
        author: PersonRef {
            id: Uuid::nil(),
            name: String::new(),
        },
        cf: row.cf.unwrap_or(0.0),
        because,
        peers,
        followed: row.followed,
        team: row.team_score.unwrap_or(0.0),
        skill: row.skill.zip(row.skill_score),
        org: row.org_score.unwrap_or(0.0),
        fresh: row.fresh,
    }
}

/// The candidate with its card's title and author.
fn carded(mut c: rank::Chosen, card: store::CardRow) -> rank::Chosen {
    c.candidate.video.title = card.title;
    c.candidate.author = PersonRef {
        id: card.owner_id,
        name: card.owner_name,
    };
    c
}

/// The caller's "for you", `limit` items: the page chosen among the candidates they
/// may see ([`within_reach`], which brings the names its reasons quote), its reasons
/// put in words. A few pages at a time ([`RecommendationsContext::for_you_turns`]).
pub async fn page(ctx: &RecommendationsContext, user: &AuthUser, limit: i64) -> Result<Page<Recommendation>, ApiError> {
    let _turn = ctx.for_you_turns.enter().await?;
    let mut conn = ctx.pool.acquire().await?;
    let rows = store::candidates(&mut conn, user.id.as_uuid()).await?;
    let limit = usize::try_from(limit).unwrap_or(20);
    let candidates = rows.into_iter().map(candidate).collect();
    let (visible, titles) = within_reach(&mut conn, user, candidates, limit).await?;
    let visible = visible.into_iter().map(|c| c.candidate).collect();
    let mut chosen = rank::choose(visible, limit, ctx.settings.exploration_slots);
    name(&mut chosen, &titles);
    let items = chosen
        .into_iter()
        .map(rank::explain)
        .map(|r| Recommendation {
            id: None,
            item: ItemView {
                kind: "video",
                id: r.video.id,
                title: r.video.title,
                author: Some(r.author),
            },
            reasons: r.reasons,
            state: None,
            recommended_by: Vec::new(),
            recommended_at: None,
            score: Some((r.score * 10_000.0).round() / 10_000.0),
        })
        .collect();
    Ok(Page {
        items,
        next_cursor: None,
    })
}

/// The candidates `user` may see, with their videos' titles and authors, looked up a
/// shortlist at a time ([`rank::Shortlists`]) until the page is settled; and the
/// titles of the history videos their reasons quote.
async fn within_reach(
    conn: &mut sqlx::PgConnection,
    user: &AuthUser,
    candidates: Vec<Candidate>,
    limit: usize,
) -> Result<(Vec<rank::Chosen>, HashMap<Uuid, String>), ApiError> {
    let mut shortlists = rank::Shortlists::new(candidates);
    let viewer = user.viewer();
    let mut visible = Vec::new();
    let mut titles = HashMap::new();
    // history videos already asked for (found, invisible or gone): asked once
    let mut asked = HashSet::new();
    loop {
        let shortlist = shortlists.next(&visible, limit);
        if shortlist.is_empty() {
            break;
        }
        let videos: Vec<Uuid> = shortlist.iter().map(|c| c.candidate.video.id).collect();
        let because: Vec<Uuid> = shortlist
            .iter()
            .filter_map(|c| c.candidate.because.as_ref().map(|b| b.video.id))
            .filter(|id| asked.insert(*id))
            .collect();
        let (cards, quoted): (Vec<_>, Vec<_>) = store::cards(conn, user.id.as_uuid(), &videos, &because)
            .await?
            .into_iter()
            .filter(|card| {
                facts(card)
                    .is_some_and(|(facts, membership)| viewer.may_list(VideoStatus::Published, &facts, membership))
            })
            .partition(|card| card.candidate);
        titles.extend(quoted.into_iter().map(|card| (card.id, card.title)));
        let mut cards: HashMap<Uuid, store::CardRow> = cards.into_iter().map(|card| (card.id, card)).collect();
        visible.extend(
            shortlist
                .into_iter()
                .filter_map(|c| cards.remove(&c.candidate.video.id).map(|card| carded(c, card))),
        );
    }
    Ok((visible, titles))
}

/// Names the history video each of the chosen page's reasons quotes (one gone since,
/// or that the person may no longer see, is not named).
fn name(chosen: &mut [rank::Chosen], titles: &HashMap<Uuid, String>) {
    for c in chosen.iter_mut() {
        let because = c.candidate.because.take();
        c.candidate.because = because.and_then(|mut b| {
            b.video.title = titles.get(&b.video.id)?.clone();
            Some(b)
        });
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissRequest {
    /// A video in your feed you do not want.
    pub video_id: Uuid,
}

/// `POST /api/v1/me/dismissals`: the video never comes back in the
/// caller's "for you" (204, also when already dismissed; 404 for a video they may not
/// see).
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn dismiss(
    user: AuthUser,
    ctx: web::Data<RecommendationsContext>,
    body: JsonObject<DismissRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let video = skillreel_learning::items::visible_video(&mut tx, &user, &body.video_id.to_string()).await?;
    sqlx::query!(
        "insert into for_you_dismissal (user_id, video_id) values ($1, $2) on conflict do nothing",
        user.id.as_uuid(),
        video.item.id(),
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/admin/recommendations/model`: rebuilds the lists now (admins): after
/// an import, or to see a change at once. `409` while another replica builds them.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn rebuild(
    user: AuthUser,
    ctx: web::Data<RecommendationsContext>,
) -> Result<web::Json<model::ModelStats>, ApiError> {
    if !user.is_admin() {
        return Err(ApiError::forbidden("admins rebuild the recommender"));
    }
    // (an admin's pass is a request: the background tasks' stop does not end it)
    match model::build(&ctx.pool, &CancellationToken::new()).await? {
        model::Pass::Built(stats) => Ok(web::Json(stats)),
        model::Pass::Busy => Err(ApiError::conflict("the lists are being built; try again shortly")),
        model::Pass::Stopped => Err(ApiError::unavailable("the pass was stopped")),
    }
}
