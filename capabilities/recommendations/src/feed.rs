//! `GET /api/v1/me/recommendations`: "for you" ([`crate::for_you`]) by default, or
//! what colleagues recommended (`source=peers`, [`crate::peers`]).

use actix_web::web;
use serde::Deserialize;
use skillreel_auth::AuthUser;
use skillreel_web::ApiError;
use skillreel_web::paging::{Page, parse_limit};
use utoipa::{IntoParams, ToSchema};

use crate::peers::{self, PeerState};
use crate::view::Recommendation;
use crate::{RecommendationsContext, for_you};

/// Where recommendations come from.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The ranked feed, each item with why.
    #[default]
    ForYou,
    /// What colleagues recommended to you.
    Peers,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MineQuery {
    /// `for_you` (default) or `peers`.
    #[param(inline)]
    source: Option<Source>,
    /// With `source=peers`: only items in this state (default `inbox`).
    state: Option<PeerState>,
    /// 1 to 100 (default 20); "for you" answers at most 50.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// With `source=peers`: from the previous page's `next_cursor`.
    #[param(max_length = 200)]
    cursor: Option<String>,
}

/// "For you" is one page, ranked afresh on each request.
const FOR_YOU_MAX: i64 = 50;

/// `GET /api/v1/me/recommendations`.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn mine(
    user: AuthUser,
    ctx: web::Data<RecommendationsContext>,
    query: web::Query<MineQuery>,
) -> Result<web::Json<Page<Recommendation>>, ApiError> {
    let limit = parse_limit(query.limit, 20)?;
    let page = match query.source.unwrap_or_default() {
        Source::Peers => {
            let state = query.state.unwrap_or_default();
            peers::page(&ctx, &user, state, limit, query.cursor.as_deref()).await?
        }
        Source::ForYou => {
            if query.state.is_some() || query.cursor.is_some() {
                return Err(ApiError::validation("`state` and `cursor` go with source=peers"));
            }
            for_you::page(&ctx, &user, limit.min(FOR_YOU_MAX)).await?
        }
    };
    Ok(web::Json(page))
}
