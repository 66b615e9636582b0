//! Search through the index this replica keeps (`skillreel-search`): opened with the
//! background work and kept up to date from the database's search change feed, asked
//! by `GET /api/v1/videos?q=…`. PostgreSQL answers instead while the index is not
//! built, for the orders the index does not keep (popular, trending: their scores move
//! with every like), and for any status but `published`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use skillreel_auth::AuthUser;
use skillreel_db::videos::{self, RankCursor, Sort, VideoFilter, VideoRecord};
use skillreel_domain::access::Membership;
use skillreel_domain::{CommunityId, UserId, VideoId, VideoStatus};
use skillreel_search::{Lister, SearchIndex, SearchOrder, SearchRequest, feed};
use skillreel_web::ApiError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::CatalogContext;
use crate::videos::{held_or_loaded, lookup_error};
use uuid::Uuid;

/// How long a search waits for the index to apply what was committed before it asked
/// (someone searching for the video they just published finds it); after that,
/// PostgreSQL answers.
const CATCH_UP: Duration = Duration::from_secs(2);

/// Opens the index (see `catalog.search_index_dir`) and starts following the feed;
/// `None` when search stays with PostgreSQL (turned off, or the index cannot be opened:
/// said in the log, and the catalog works on).
pub(crate) fn open(ctx: &CatalogContext, stop: CancellationToken) -> Option<JoinHandle<()>> {
    let (enabled, dir) = &ctx.search_settings;
    if !enabled || ctx.search.get().is_some() {
        return None;
    }
    match SearchIndex::open(dir.as_deref()) {
        Ok((index, writer)) => {
            ctx.search.set(index).ok()?;
            Some(tokio::spawn(feed::follow(ctx.pool.clone(), writer, stop)))
        }
        Err(e) => {
            tracing::error!(error = %e, dir = ?dir, "could not open the search index; searching with PostgreSQL");
            None
        }
    }
}

/// A search's page from the index, after the index has caught up with every change
/// committed before the request: the videos loaded from the read cache or the
/// database, each checked against the access policy again (the index only narrows what
/// is listed). `None` when the index does not answer this request.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn searched(
    ctx: &CatalogContext,
    user: &AuthUser,
    status: VideoStatus,
    filter: &VideoFilter,
    sort: Sort,
    after: Option<RankCursor>,
    limit: i64,
) -> Result<Option<Vec<(VideoRecord, f64)>>, ApiError> {
    let Some(index) = ctx.search.get().filter(|i| i.position().is_some()) else {
        return Ok(None);
    };
    let (Some(words), VideoStatus::Published) = (&filter.words, status) else {
        return Ok(None);
    };
    let order = match sort {
        Sort::Relevance => SearchOrder::Relevance,
        Sort::Recent => SearchOrder::Recent,
        Sort::Popular | Sort::Trending => return Ok(None),
    };
    // No connection is held while the index catches up: it needs one to do so.
    let (latest, communities) = context_of(ctx, user.id).await?;
    if !index.caught_up(latest, CATCH_UP).await {
        tracing::warn!(latest, at = ?index.position(), "the search index is behind; searching with PostgreSQL");
        return Ok(None);
    }
    let request = SearchRequest {
        words: words.clone(),
        lister: if user.is_admin() {
            Lister::Admin
        } else {
            Lister::Person {
                id: user.id,
                communities: communities.clone(),
            }
        },
        tag: filter.tag.clone(),
        community: filter.community,
        author: filter.author,
        language: filter.language.clone(),
        min_duration_ms: filter.min_duration_ms,
        max_duration_ms: filter.max_duration_ms,
        order,
        after: after.map(|c| (c.key, c.id)),
        limit: usize::try_from(limit).unwrap_or(0),
    };
    let index = Arc::clone(index);
    let found = tokio::task::spawn_blocking(move || index.search(&request))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let ids: Vec<VideoId> = found.iter().map(|f| f.id).collect();
    let mut videos = held_or_loaded(ctx, &ids, |ids| page_of(ctx, ids)).await?;
    let viewer = user.viewer();
    let member_of: HashSet<CommunityId> = communities.into_iter().collect();
    Ok(Some(
        found
            .into_iter()
            .filter_map(|f| {
                let video = videos.remove(&f.id.as_uuid())?;
                let membership = match video.community_id {
                    Some(c) if member_of.contains(&c) => Membership::Member,
                    _ => Membership::None,
                };
                viewer
                    .may_list(VideoStatus::Published, &video.facts(), membership)
                    .then_some((video, f.key))
            })
            .collect(),
    ))
}

/// How far the index must have caught up for `reader`'s search, and the reader's
/// communities: asked with other searches' readers when search lanes are set.
async fn context_of(ctx: &CatalogContext, reader: UserId) -> Result<(i64, Vec<CommunityId>), ApiError> {
    if let Some(batched) = &ctx.search_reads {
        return batched.contexts.get(reader).await;
    }
    let mut conn = ctx.pool.acquire().await?;
    feed::search_contexts(&mut conn, &[reader])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("the search context statement answered no row"))
}

/// The videos with these ids (a search's page, those not held in memory): loaded with
/// other searches' pages when search lanes are set.
async fn page_of(ctx: &CatalogContext, ids: Vec<Uuid>) -> Result<Vec<VideoRecord>, ApiError> {
    if let Some(batched) = &ctx.search_reads {
        return batched.pages.get(ids).await;
    }
    let mut conn = ctx.pool.acquire().await?;
    videos::load_in_order(&mut conn, &ids).await.map_err(lookup_error)
}
