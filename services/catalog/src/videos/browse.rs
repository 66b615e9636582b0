//! Reading videos: one video, the feed, filters, sorts and search, answered from the
//! read cache when it holds the answer and from the database otherwise.

use super::*;
use skillreel_db::videos::CommonList;
use skillreel_domain::Tag;

#[tracing::instrument(skip(ctx, req, user), fields(user = %user.subject))]
pub async fn get_video(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<web::Json<VideoView>, ApiError> {
    let id = parse_video_id(&path)?;
    if let Some(view) = cached_view(&ctx, &req, &user, id) {
        return Ok(web::Json(view));
    }
    let ticket = ctx.cache.video_ticket(id);
    let (video, facts) = match &ctx.point_reads {
        Some(batched) => visible_to(&user, batched.get((id, user.id)).await?)?,
        None => find_visible(&mut *ctx.pool.acquire().await?, &user, id).await?,
    };
    // Kept for the next reads when it is what the cache serves, with the reader's
    // likes and memberships (loaded once per reader, not per video).
    if ctx.cache.is_serving() && serves_from_memory(&user, &video) {
        ctx.cache.put_video(ticket, &video);
        if ctx.cache.reader(user.id).is_none() {
            reader_of(&ctx, &mut *ctx.pool.acquire().await?, &user).await?;
        }
    }
    let mut view = view_of(&ctx.media_links(&req), &user, video);
    view.liked = Some(facts.liked);
    Ok(web::Json(view))
}

/// The read cache serves what everyone sees alike: a published video, to someone who
/// is neither its author nor an admin (they see private details), and who may see it
/// (anyone else is answered by the database path, which says 404).
fn serves_from_memory(user: &AuthUser, video: &VideoRecord) -> bool {
    video.status == VideoStatus::Published && !access::allows(user, Action::SeePrivateDetails, video, Membership::None)
}

fn cached_view(ctx: &CatalogContext, req: &HttpRequest, user: &AuthUser, id: VideoId) -> Option<VideoView> {
    let video = ctx.cache.video(id)?;
    let reader = ctx.cache.reader(user.id)?;
    if !serves_from_memory(user, &video)
        || !access::allows(user, Action::View, &video, reader.membership(video.community_id))
    {
        return None;
    }
    let mut view = view_of(&ctx.media_links(req), user, VideoRecord::clone(&video));
    view.liked = Some(reader.likes(id));
    Some(view)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Full-text search: each word as a prefix, or stemmed (English, German); at most
    /// 8 words count. It must contain a letter or digit.
    #[param(pattern = "[^\\W_]")]
    q: Option<String>,
    /// Exact tag (tags are at most 40 characters).
    #[param(max_length = 40)]
    tag: Option<String>,
    #[param(value_type = Option<CommunityId>, inline)]
    community: Option<String>,
    /// The author's user id.
    #[param(value_type = Option<UserId>, inline)]
    author: Option<String>,
    /// Default `published`; another status lists the caller's own videos (everyone's
    /// for admins).
    #[param(value_type = Option<VideoStatus>, inline)]
    status: Option<String>,
    /// ISO 639-1 code.
    #[param(pattern = "^\\s*[A-Za-z]{2}\\s*$")]
    language: Option<String>,
    /// Seconds.
    min_duration: Option<u32>,
    /// Seconds.
    max_duration: Option<u32>,
    /// Default `recent`, or `relevance` with `q` (`relevance` without `q` is `recent`).
    #[param(inline)]
    sort: Option<SortKey>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// How a listing is ordered.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Newest first.
    Recent,
    /// Most liked and watched first.
    Popular,
    /// Engagement with time decay.
    Trending,
    /// Best search match first (needs `q`).
    Relevance,
}

fn parse_sort(key: Option<SortKey>, searching: bool) -> Result<Sort, ApiError> {
    match key {
        None if searching => Ok(Sort::Relevance),
        None | Some(SortKey::Recent) => Ok(Sort::Recent),
        Some(SortKey::Popular) => Ok(Sort::Popular),
        Some(SortKey::Trending) => Ok(Sort::Trending),
        Some(SortKey::Relevance) if searching => Ok(Sort::Relevance),
        // Without a search every video is as relevant as the next: newest first.
        Some(SortKey::Relevance) => Ok(Sort::Recent),
    }
}

fn parse_uuid_param<T: std::str::FromStr>(raw: Option<&str>, name: &str) -> Result<Option<T>, ApiError> {
    raw.map(|r| {
        r.parse()
            .map_err(|_| ApiError::bad_request(format!("{name} must be an id")))
    })
    .transpose()
}

/// `GET /api/v1/videos`: search, filter, sort, paginate what the caller may list.
#[tracing::instrument(skip(ctx, req, user), fields(user = %user.subject))]
pub async fn list_videos(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<VideoView>>, ApiError> {
    let q = query.into_inner();
    let words = q.q.as_deref().and_then(skillreel_domain::search_words);
    if q.q.is_some() && words.is_none() {
        return Err(ApiError::bad_request("q must contain a word"));
    }
    if q.tag.as_deref().is_some_and(|t| t.chars().count() > Tag::MAX) {
        return Err(ApiError::bad_request(format!(
            "tag is longer than a tag can be ({} characters)",
            Tag::MAX
        )));
    }
    if words.is_some() {
        ctx.searches.searched(user.id.as_uuid());
    }
    let status: VideoStatus = match q.status.as_deref() {
        Some(raw) => raw
            .parse()
            .map_err(|_| ApiError::bad_request("status is not a video status"))?,
        None => VideoStatus::Published,
    };
    let language = q
        .language
        .as_deref()
        .map(|l| Language::parse(l).map(|l| l.as_str().to_owned()))
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let filter = VideoFilter {
        words,
        tag: q.tag.as_deref().map(|t| t.trim().to_lowercase()),
        community: parse_uuid_param::<CommunityId>(q.community.as_deref(), "community")?,
        author: parse_uuid_param::<UserId>(q.author.as_deref(), "author")?,
        language,
        min_duration_ms: q.min_duration.map(|s| i64::from(s) * 1000),
        max_duration_ms: q.max_duration.map(|s| i64::from(s) * 1000),
    };
    let sort = parse_sort(q.sort, filter.words.is_some())?;
    let limit = parse_limit(q.limit, videos::DEFAULT_PAGE)?;
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(raw) => Some(RankCursor::decode(raw).ok_or_else(|| ApiError::bad_request("invalid cursor"))?),
        None => None,
    };
    // Bounds that exclude each other find nothing (the contract cannot say that one
    // parameter limits another, so the answer is an empty page, not a refusal).
    if let (Some(min), Some(max)) = (q.min_duration, q.max_duration)
        && min > max
    {
        return Ok(web::Json(Page {
            items: Vec::new(),
            next_cursor: None,
        }));
    }
    // The search index first, then searches held in memory, then the database.
    let found = match crate::search::searched(&ctx, &user, status, &filter, sort, after, limit + 1).await? {
        Some(found) => Some(found),
        None => searched_in_memory(&ctx, &user, status, &filter, sort, after, limit + 1).await?,
    };
    let ranked = match found {
        Some(ranked) => ranked,
        None => {
            let first_page =
                CommonList::first_page(status, &filter, sort, after, limit + 1).filter(|_| !user.is_admin());
            let listed = match first_page.zip(ctx.first_pages.as_ref()) {
                Some((page, batched)) => batched.get((user.id, page)).await?,
                None => {
                    let mut conn = ctx.pool.acquire().await?;
                    let (viewer, admin) = (user.id, user.is_admin());
                    videos::list(&mut conn, viewer, admin, status, &filter, sort, after, limit + 1)
                        .await
                        .map_err(lookup_error)?
                }
            };
            listed.videos.into_iter().zip(listed.keys).collect()
        }
    };
    let (rows, next_cursor) = paginate(ranked, limit, |(v, key): &(VideoRecord, f64)| {
        RankCursor {
            key: *key,
            id: v.id.as_uuid(),
        }
        .encode()
    });
    let links = ctx.media_links(&req);
    let items = rows.into_iter().map(|(v, _)| view_of(&links, &user, v)).collect();
    Ok(web::Json(Page { items, next_cursor }))
}

/// A search's page from the read cache: the search's ranked matches (queried once and
/// shared by every reader), filtered by who the caller is, with the page's videos.
/// Whatever of that is not held yet is loaded and kept. `None` when the cache cannot
/// answer it: not serving, an admin (who lists everything), another status, no search,
/// an order that moves with likes and time (popular, trending), or too many matches to
/// hold.
#[allow(clippy::too_many_arguments)]
async fn searched_in_memory(
    ctx: &CatalogContext,
    user: &AuthUser,
    status: VideoStatus,
    filter: &VideoFilter,
    sort: Sort,
    after: Option<RankCursor>,
    limit: i64,
) -> Result<Option<Vec<(VideoRecord, f64)>>, ApiError> {
    if !ctx.cache.is_serving()
        || user.is_admin()
        || status != VideoStatus::Published
        || filter.words.is_none()
        || !matches!(sort, Sort::Relevance | Sort::Recent)
    {
        return Ok(None);
    }
    let key = read_cache::search_key(filter, sort);
    // Everything held: no connection needed.
    if let (Some(matches), Some(reader)) = (ctx.cache.search(&key), ctx.cache.reader(user.id)) {
        let page = visible_page(&matches, &reader, user, after, limit);
        let held: Option<Vec<_>> = page
            .iter()
            .map(|m| Some((VideoRecord::clone(&*ctx.cache.video(VideoId::from_uuid(m.id))?), m.key)))
            .collect();
        if let Some(held) = held {
            return Ok(Some(held));
        }
    }
    let mut conn = ctx.pool.acquire().await?;
    let matches = match ctx.cache.search(&key) {
        Some(matches) => matches,
        None => {
            let ticket = ctx.cache.search_ticket(&key);
            let found = videos::search_matches(&mut conn, filter, sort, read_cache::MAX_MATCHES_HELD)
                .await
                .map_err(lookup_error)?;
            let Some(found) = found else { return Ok(None) };
            let found = std::sync::Arc::new(found);
            ctx.cache.put_search(ticket, key, found.clone());
            found
        }
    };
    let Some(reader) = reader_of(ctx, &mut conn, user).await? else {
        return Ok(None);
    };
    let page = visible_page(&matches, &reader, user, after, limit);
    let ids: Vec<VideoId> = page.iter().map(|m| VideoId::from_uuid(m.id)).collect();
    let mut videos = held_or_loaded(ctx, &ids, |ids| async move {
        videos::load_in_order(&mut conn, &ids).await.map_err(lookup_error)
    })
    .await?;
    // A video that changed since the matches were taken (its notification on the way)
    // is left out rather than shown where it no longer belongs.
    Ok(Some(
        page.into_iter()
            .filter_map(|m| {
                videos
                    .remove(&m.id)
                    .filter(|v| v.status == VideoStatus::Published)
                    .map(|v| (v, m.key))
            })
            .collect(),
    ))
}

/// The matches the caller may list, after the cursor, at most `limit`.
fn visible_page<'m>(
    matches: &'m [videos::SearchMatch],
    reader: &read_cache::Reader,
    user: &AuthUser,
    after: Option<RankCursor>,
    limit: i64,
) -> Vec<&'m videos::SearchMatch> {
    let viewer = user.viewer();
    matches
        .iter()
        .filter(|m| reader.may_list(&viewer, m))
        .filter(|m| after.is_none_or(|a| (m.key, m.id) < (a.key, a.id)))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect()
}

/// The videos with these ids: from memory where held, the rest by `load` (and kept).
pub(crate) async fn held_or_loaded<Loaded>(
    ctx: &CatalogContext,
    ids: &[VideoId],
    load: impl FnOnce(Vec<uuid::Uuid>) -> Loaded,
) -> Result<std::collections::HashMap<uuid::Uuid, VideoRecord>, ApiError>
where
    Loaded: Future<Output = Result<Vec<VideoRecord>, ApiError>>,
{
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    let mut missing = Vec::new();
    for &id in ids {
        match ctx.cache.video(id) {
            Some(video) => {
                found.insert(id.as_uuid(), VideoRecord::clone(&video));
            }
            None => missing.push((id.as_uuid(), ctx.cache.video_ticket(id))),
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let missing: std::collections::HashMap<_, _> = missing.into_iter().collect();
    let ids: Vec<uuid::Uuid> = missing.keys().copied().collect();
    for video in load(ids).await? {
        if let Some(&ticket) = missing.get(&video.id.as_uuid()) {
            ctx.cache.put_video(ticket, &video);
        }
        found.insert(video.id.as_uuid(), video);
    }
    Ok(found)
}

/// The caller's likes and memberships, from memory or loaded (and kept) once.
async fn reader_of(
    ctx: &CatalogContext,
    conn: &mut PgConnection,
    user: &AuthUser,
) -> Result<Option<std::sync::Arc<read_cache::Reader>>, ApiError> {
    if let Some(reader) = ctx.cache.reader(user.id) {
        return Ok(Some(reader));
    }
    let ticket = ctx.cache.reader_ticket(user.id);
    let Some(state) = engagement::reader_state(conn, user.id, read_cache::MAX_LIKES_HELD).await? else {
        return Ok(None);
    };
    let reader = std::sync::Arc::new(read_cache::Reader::from(state));
    ctx.cache.put_reader(ticket, user.id, reader.clone());
    Ok(Some(reader))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MineQuery {
    /// Only videos in this status.
    #[param(value_type = Option<VideoStatus>, inline)]
    status: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// `GET /api/v1/me/videos`: the caller's videos in every state (or one), newest first,
/// with upload and processing progress and failure reasons.
#[tracing::instrument(skip(ctx, req, user), fields(user = %user.subject))]
pub async fn my_videos(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    query: web::Query<MineQuery>,
) -> Result<web::Json<Page<VideoView>>, ApiError> {
    let q = query.into_inner();
    let status = q
        .status
        .as_deref()
        .map(|raw| {
            raw.parse::<VideoStatus>()
                .map_err(|_| ApiError::bad_request("status is not a video status"))
        })
        .transpose()?;
    let limit = parse_limit(q.limit, videos::DEFAULT_PAGE)?;
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(raw) => Some(videos::Cursor::decode(raw).ok_or_else(|| ApiError::bad_request("invalid cursor"))?),
        None => None,
    };
    let mut conn = ctx.pool.acquire().await?;
    let owned = videos::list_owned(&mut conn, user.id, status, after, limit + 1)
        .await
        .map_err(lookup_error)?;
    let (rows, next_cursor) = paginate(owned, limit, |v| {
        videos::Cursor {
            created_at: v.created_at,
            id: v.id.as_uuid(),
        }
        .encode()
    });
    let links = ctx.media_links(&req);
    let items = rows.into_iter().map(|v| view_of(&links, &user, v)).collect();
    Ok(web::Json(Page { items, next_cursor }))
}
