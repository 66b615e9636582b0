//! The video endpoints: read, list and search, edit, delete, publish and review,
//! like, view and flag. Every one loads the video, asks [`access`] and only then acts.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use skillreel_auth::AuthUser;
use skillreel_db::notifications::{self, NotificationKind};
use skillreel_db::videos::{self, RankCursor, Sort, VideoChanges, VideoFilter, VideoRecord};
use skillreel_db::{communities, engagement, events};
use skillreel_domain::events::DomainEvent;
use skillreel_domain::{
    ApprovalPolicy, CommunityId, Description, Language, Role, Tags, Title, UserId, VideoId, VideoStatus, Visibility,
};
use skillreel_storage::VideoFiles;
use skillreel_web::ApiError;
use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::access::{self, Action, Membership};
use skillreel_contracts::TRANSCODE_QUEUE;
use skillreel_contracts::views::{MediaLinks, VideoView};

use crate::views::{Page, paginate, parse_limit};
use crate::{CatalogContext, read_cache};

pub(crate) fn parse_video_id(raw: &str) -> Result<VideoId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("video"))
}

pub(crate) fn lookup_error(e: videos::VideoQueryError) -> ApiError {
    match e {
        videos::VideoQueryError::Database(e) => e.into(),
        other => ApiError::internal(other),
    }
}

/// The video and the caller's standing in its community, or 404 when the caller may
/// not see it: someone who may not see a video learns nothing, not even that it exists.
pub(crate) async fn load_visible(
    conn: &mut PgConnection,
    user: &AuthUser,
    raw_id: &str,
) -> Result<(VideoRecord, Membership), ApiError> {
    let id = parse_video_id(raw_id)?;
    let video = videos::find(conn, id)
        .await
        .map_err(lookup_error)?
        .ok_or_else(|| ApiError::not_found("video"))?;
    let membership = access::membership(conn, user, &video).await?;
    if !access::allows(user, Action::View, &video, membership) {
        return Err(ApiError::not_found("video"));
    }
    Ok((video, membership))
}

fn view_of(links: &MediaLinks<'_>, user: &AuthUser, video: VideoRecord) -> VideoView {
    let private = access::allows(user, Action::SeePrivateDetails, &video, Membership::None);
    VideoView::new(video, Some(links), private)
}

/// The video as it is now (after a change the caller just made), in the caller's view.
async fn current_view(
    ctx: &CatalogContext,
    req: &HttpRequest,
    user: &AuthUser,
    id: VideoId,
) -> Result<web::Json<VideoView>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let video = videos::find(&mut conn, id)
        .await
        .map_err(lookup_error)?
        .ok_or_else(|| ApiError::not_found("video"))?;
    Ok(web::Json(view_of(&ctx.media_links(req), user, video)))
}

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
    let mut conn = ctx.pool.acquire().await?;
    let (video, _) = load_visible(&mut conn, &user, &path).await?;
    // Kept for the next reads when it is what the cache serves; the reader, held or
    // loaded for them, then says whether the caller likes it.
    let reader = if ctx.cache.is_serving() && serves_from_memory(&user, &video) {
        ctx.cache.put_video(ticket, &video);
        reader_of(&ctx, &mut conn, &user).await?
    } else {
        None
    };
    let liked = match reader {
        Some(reader) => reader.likes(video.id),
        None => engagement::has_liked(&mut conn, video.id, user.id).await?,
    };
    let mut view = view_of(&ctx.media_links(&req), &user, video);
    view.liked = Some(liked);
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    q: Option<String>,
    tag: Option<String>,
    community: Option<String>,
    author: Option<String>,
    status: Option<String>,
    language: Option<String>,
    min_duration: Option<u32>,
    max_duration: Option<u32>,
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// Letters and digits of a search, lowercased, at most 8 words of 64 characters: all
/// `to_tsquery` ever sees, so no input can make the query fail.
fn search_words(raw: &str) -> Option<String> {
    let words: Vec<String> = raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(|w| w.chars().take(64).collect::<String>().to_lowercase())
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn parse_sort(raw: Option<&str>, searching: bool) -> Result<Sort, ApiError> {
    match raw {
        None if searching => Ok(Sort::Relevance),
        None | Some("recent") => Ok(Sort::Recent),
        Some("popular") => Ok(Sort::Popular),
        Some("trending") => Ok(Sort::Trending),
        Some("relevance") if searching => Ok(Sort::Relevance),
        Some("relevance") => Err(ApiError::bad_request("sort=relevance needs a search `q`")),
        Some(_) => Err(ApiError::bad_request(
            "sort must be one of recent, popular, trending, relevance",
        )),
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
    let words = q.q.as_deref().and_then(search_words);
    if q.q.is_some() && words.is_none() {
        return Err(ApiError::bad_request("q must contain a word"));
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
    if let (Some(min), Some(max)) = (q.min_duration, q.max_duration)
        && min > max
    {
        return Err(ApiError::bad_request("min_duration is above max_duration"));
    }
    let filter = VideoFilter {
        words,
        tag: q.tag.as_deref().map(|t| t.trim().to_lowercase()),
        community: parse_uuid_param::<CommunityId>(q.community.as_deref(), "community")?,
        author: parse_uuid_param::<UserId>(q.author.as_deref(), "author")?,
        language,
        min_duration_ms: q.min_duration.map(|s| i64::from(s) * 1000),
        max_duration_ms: q.max_duration.map(|s| i64::from(s) * 1000),
    };
    let sort = parse_sort(q.sort.as_deref(), filter.words.is_some())?;
    let limit = parse_limit(q.limit, videos::DEFAULT_PAGE)?;
    let after = match q.cursor.as_deref() {
        Some(raw) => Some(RankCursor::decode(raw).ok_or_else(|| ApiError::bad_request("invalid cursor"))?),
        None => None,
    };
    // A cursor keeps the clock its first page was ranked at (trending decays).
    let now = after.map_or_else(OffsetDateTime::now_utc, |c| c.at);
    let ranked = match searched_in_memory(&ctx, &user, status, &filter, sort, after, now, limit + 1).await? {
        Some(ranked) => ranked,
        None => {
            let mut conn = ctx.pool.acquire().await?;
            let listed = videos::list(
                &mut conn,
                user.id,
                user.is_admin(),
                status,
                &filter,
                sort,
                after,
                now,
                limit + 1,
            )
            .await
            .map_err(lookup_error)?;
            listed.videos.into_iter().zip(listed.keys).collect()
        }
    };
    let (rows, next_cursor) = paginate(ranked, limit, |(v, key): &(VideoRecord, f64)| {
        RankCursor {
            key: *key,
            id: v.id.as_uuid(),
            at: now,
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
    now: OffsetDateTime,
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
            let found = videos::search_matches(&mut conn, filter, sort, now, read_cache::MAX_MATCHES_HELD)
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
    let mut videos = held_or_loaded(ctx, &mut conn, &ids).await?;
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

/// The videos with these ids: from memory where held, the rest in one query (and kept).
async fn held_or_loaded(
    ctx: &CatalogContext,
    conn: &mut PgConnection,
    ids: &[VideoId],
) -> Result<std::collections::HashMap<uuid::Uuid, VideoRecord>, ApiError> {
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
    for video in videos::load_in_order(conn, &ids).await.map_err(lookup_error)? {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MineQuery {
    status: Option<String>,
    cursor: Option<String>,
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
    let after = match q.cursor.as_deref() {
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

/// A field that may be absent (leave it), `null` (clear it) or a value.
fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoPatch {
    title: Option<String>,
    description: Option<String>,
    tags: Option<Vec<String>>,
    language: Option<String>,
    visibility: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    community: Option<Option<String>>,
}

/// Checks a community id and that the author may post there (is a member).
async fn community_for_author(
    conn: &mut PgConnection,
    user: &AuthUser,
    raw: &str,
) -> Result<(CommunityId, ApprovalPolicy), ApiError> {
    let id: CommunityId = raw
        .parse()
        .map_err(|_| ApiError::validation("community must be a community id"))?;
    let community = communities::find(conn, id)
        .await?
        .ok_or_else(|| ApiError::validation("no such community"))?;
    if communities::role_of(conn, id, user.id).await?.is_none() && !user.is_admin() {
        return Err(ApiError::forbidden("join the community before posting to it"));
    }
    let policy = community
        .approval_policy
        .parse()
        .map_err(|e: skillreel_domain::ValidationError| ApiError::internal(e))?;
    Ok((id, policy))
}

/// `PATCH /api/v1/videos/{id}`: the author or an admin changes what the video says
/// and who sees it. Moving a published video to another community is refused (its
/// new community may want to review it): unpublish by deleting, or ask an admin.
#[tracing::instrument(skip(ctx, req, user, body), fields(user = %user.subject))]
pub async fn patch_video(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<VideoPatch>,
) -> Result<web::Json<VideoView>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let (video, _) = load_visible(&mut conn, &user, &path).await?;
    if !access::allows(&user, Action::Edit, &video, Membership::None) {
        return Err(ApiError::forbidden("only the author or an admin may edit this video"));
    }
    let patch = body.into_inner();
    let invalid = |e: skillreel_domain::ValidationError| ApiError::validation(e.to_string());
    let mut changes = VideoChanges {
        title: patch
            .title
            .as_deref()
            .map(Title::parse)
            .transpose()
            .map_err(invalid)?
            .map(Title::into_inner),
        description: patch
            .description
            .as_deref()
            .map(Description::parse)
            .transpose()
            .map_err(invalid)?
            .map(Description::into_inner),
        tags: patch
            .tags
            .as_ref()
            .map(|t| Tags::parse_all(t.iter().map(String::as_str)))
            .transpose()
            .map_err(invalid)?
            .map(|t| t.as_strings()),
        language: patch
            .language
            .as_deref()
            .map(Language::parse)
            .transpose()
            .map_err(invalid)?
            .map(|l| l.as_str().to_owned()),
        visibility: patch
            .visibility
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(invalid)?,
        community: None,
        to_review: false,
    };
    if let Some(community) = patch.community {
        if matches!(video.status, VideoStatus::Published | VideoStatus::PendingReview) {
            return Err(ApiError::conflict("a published video cannot move to another community"));
        }
        changes.community = Some(match community {
            Some(raw) => Some(community_for_author(&mut conn, &user, &raw).await?.0),
            None => None,
        });
    }
    if changes.visibility == Some(Visibility::Community)
        && changes.community.map_or(video.community_id.is_none(), |c| c.is_none())
    {
        return Err(ApiError::validation("visibility `community` needs a community"));
    }
    // An edit must not get around the review a policy asked for: what a reviewer
    // approved, changed by its author, is reviewed again (admins review anyway).
    changes.to_review = video.status == VideoStatus::Published
        && !user.is_admin()
        && changes.alter_reviewed_content(&video)
        && needs_review(&mut conn, video.community_policy, video.community_id, video.owner_id).await?;
    videos::update(&mut conn, video.id, &changes).await?;
    ctx.listing_changed(video.id);
    drop(conn);
    current_view(&ctx, &req, &user, video.id).await
}

/// `DELETE /api/v1/videos/{id}`: the author, an admin or a moderator removes a video;
/// its jobs are cancelled (a running transcode stops at its next heartbeat) and its
/// files deleted. An unfinished upload is left to the expiry sweep, which frees its
/// parts.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn delete_video(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let (video, membership) = load_visible(&mut tx, &user, &path).await?;
    if !access::allows(&user, Action::Delete, &video, membership) {
        return Err(ApiError::forbidden(
            "only the author, an admin or a moderator may delete this video",
        ));
    }
    let id = video.id;
    videos::mark_removed(&mut tx, id).await?;
    skillreel_queue::cancel_matching(&mut tx, TRANSCODE_QUEUE, "video_id", &id.to_string())
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    ctx.listing_changed(id);
    if let Err(e) = ctx.storage.delete_prefix(&VideoFiles::of(id).root()).await {
        // The row is gone from every listing; stray files only cost space.
        tracing::warn!(error = %e, video = %id, "could not delete a removed video's files");
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Publish into this community (the author must be a member); default: the
    /// video's community, if any.
    community: Option<String>,
    visibility: Option<String>,
}

/// `POST /api/v1/videos/{id}/publish`: applies the community's approval policy.
/// `none` (and no community) publishes at once; `moderator` and `manager` send it to
/// review, unless the author is a moderator there, or has no manager to ask.
#[tracing::instrument(skip(ctx, req, user, body), fields(user = %user.subject))]
pub async fn publish(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<web::Json<VideoView>, ApiError> {
    // The body is optional; when there is one it must be right.
    let request: PublishRequest = if body.iter().all(u8::is_ascii_whitespace) {
        PublishRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let mut tx = ctx.pool.begin().await?;
    let (video, _) = load_visible(&mut tx, &user, &path).await?;
    if !access::allows(&user, Action::Publish, &video, Membership::None) {
        return Err(ApiError::forbidden(
            "only the author or an admin may publish this video",
        ));
    }
    if !matches!(video.status, VideoStatus::Ready | VideoStatus::Rejected) {
        return Err(ApiError::conflict(format!(
            "a video that is {} cannot be published",
            video.status
        )));
    }
    let (community, policy) = match request.community.as_deref() {
        Some(raw) => {
            let (id, policy) = community_for_author(&mut tx, &user, raw).await?;
            (Some(id), policy)
        }
        None => (video.community_id, video.community_policy),
    };
    let visibility = match request.visibility.as_deref() {
        Some(raw) => raw
            .parse()
            .map_err(|e: skillreel_domain::ValidationError| ApiError::validation(e.to_string()))?,
        None => video.visibility,
    };
    if visibility == Visibility::Community && community.is_none() {
        return Err(ApiError::validation("visibility `community` needs a community"));
    }
    let to = if needs_review(&mut tx, policy, community, video.owner_id).await? {
        VideoStatus::PendingReview
    } else {
        VideoStatus::Published
    };
    if !videos::submit(&mut tx, video.id, community, visibility, to).await? {
        return Err(ApiError::conflict("the video changed meanwhile; try again"));
    }
    if to == VideoStatus::Published {
        let published = DomainEvent::VideoPublished {
            video: video.id,
            actor: user.id,
        };
        events::record(&mut tx, &published).await?;
    }
    tx.commit().await?;
    ctx.listing_changed(video.id);
    current_view(&ctx, &req, &user, video.id).await
}

/// Whether `author`'s video in `community` under `policy` waits for a reviewer before
/// it is published: under `moderator` and `manager`, unless the author moderates
/// that community.
async fn needs_review(
    conn: &mut PgConnection,
    policy: ApprovalPolicy,
    community: Option<CommunityId>,
    author: UserId,
) -> Result<bool, ApiError> {
    if policy == ApprovalPolicy::None {
        return Ok(false);
    }
    let author_moderates = match community {
        Some(c) => communities::role_of(conn, c, author).await?.as_deref() == Some("moderator"),
        None => false,
    };
    Ok(!author_moderates)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    decision: String,
    reason: Option<String>,
}

/// `POST /api/v1/videos/{id}/review`: a reviewer approves (published) or rejects
/// (with a reason for the author) a video waiting for review.
#[tracing::instrument(skip(ctx, req, user, body), fields(user = %user.subject))]
pub async fn review(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<ReviewRequest>,
) -> Result<web::Json<VideoView>, ApiError> {
    let approve = match body.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(ApiError::validation("decision must be `approve` or `reject`")),
    };
    let reason = body.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if !approve && reason.is_none() {
        return Err(ApiError::validation("a rejection needs a reason for the author"));
    }
    if let Some(r) = reason {
        Description::parse(r).map_err(|e| ApiError::validation(e.to_string().replace("description", "reason")))?;
    }
    let mut tx = ctx.pool.begin().await?;
    let (video, membership) = load_visible(&mut tx, &user, &path).await?;
    if !access::allows(&user, Action::Review, &video, membership) {
        return Err(ApiError::forbidden("you are not a reviewer of this video"));
    }
    if video.status != VideoStatus::PendingReview || !videos::review(&mut tx, video.id, approve, reason).await? {
        return Err(ApiError::conflict("the video is not waiting for review"));
    }
    let (kind, payload) = if approve {
        (NotificationKind::VideoApproved, json!({ "title": video.title }))
    } else {
        (
            NotificationKind::VideoRejected,
            json!({ "title": video.title, "reason": reason }),
        )
    };
    notifications::push(&mut tx, video.owner_id, kind, Some(video.id), &payload).await?;
    if approve {
        let published = DomainEvent::VideoPublished {
            video: video.id,
            actor: user.id,
        };
        events::record(&mut tx, &published).await?;
    }
    tx.commit().await?;
    ctx.listing_changed(video.id);
    current_view(&ctx, &req, &user, video.id).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/reviews`: what waits for the caller's decision, oldest first.
#[tracing::instrument(skip(ctx, req, user), fields(user = %user.subject))]
pub async fn review_queue(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    query: web::Query<QueueQuery>,
) -> Result<web::Json<Page<VideoView>>, ApiError> {
    let limit = parse_limit(query.limit, videos::DEFAULT_PAGE)?;
    let everything = user.is_admin() || user.roles.contains(Role::Moderator);
    let mut conn = ctx.pool.acquire().await?;
    let rows = videos::review_queue(&mut conn, user.id, &user.subject, everything, limit)
        .await
        .map_err(lookup_error)?;
    let links = ctx.media_links(&req);
    let items = rows.into_iter().map(|v| view_of(&links, &user, v)).collect();
    Ok(web::Json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Serialize)]
pub struct LikeState {
    pub liked: bool,
    pub like_count: i64,
}

/// Likes (or takes back the like of) a published video the caller can see.
async fn set_like(
    user: &AuthUser,
    ctx: &CatalogContext,
    raw: &str,
    liked: bool,
) -> Result<web::Json<LikeState>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let (video, _) = load_visible(&mut tx, user, raw).await?;
    if video.status != VideoStatus::Published {
        return Err(ApiError::conflict("only published videos can be liked"));
    }
    let (video_id, actor) = (video.id, user.id);
    let (change, event) = if liked {
        let change = engagement::like(&mut tx, video_id, actor).await?;
        (change, DomainEvent::VideoLiked { video: video_id, actor })
    } else {
        let change = engagement::unlike(&mut tx, video_id, actor).await?;
        (change, DomainEvent::VideoUnliked { video: video_id, actor })
    };
    if change.changed {
        events::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    let like_count = change.like_count;
    ctx.changed(video.id);
    ctx.cache.forget_reader(user.id);
    Ok(web::Json(LikeState { liked, like_count }))
}

/// `PUT /api/v1/videos/{id}/like`: idempotent.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn like(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<web::Json<LikeState>, ApiError> {
    set_like(&user, &ctx, &path, true).await
}

/// `DELETE /api/v1/videos/{id}/like`: idempotent.
#[tracing::instrument(skip(ctx, user), fields(user = %user.subject))]
pub async fn unlike(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
) -> Result<web::Json<LikeState>, ApiError> {
    set_like(&user, &ctx, &path, false).await
}

/// Seconds someone must have watched for a view to count.
pub const VIEW_AFTER_SECONDS: f64 = 10.0;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewReport {
    /// Seconds actually watched (not the position: skipping ahead is not watching).
    watched_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct ViewState {
    pub counted: bool,
    pub view_count: i64,
}

/// `POST /api/v1/videos/{id}/views`: counts a view once per person, after 10 s
/// watched (or the whole of a shorter video).
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn record_view(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
    body: web::Json<ViewReport>,
) -> Result<web::Json<ViewState>, ApiError> {
    let watched = body.watched_seconds;
    if !watched.is_finite() || !(0.0..=86_400.0).contains(&watched) {
        return Err(ApiError::validation("watched_seconds must be between 0 and 86400"));
    }
    let mut conn = ctx.pool.acquire().await?;
    let (video, _) = load_visible(&mut conn, &user, &path).await?;
    if video.status != VideoStatus::Published {
        return Err(ApiError::conflict("only views of published videos are counted"));
    }
    let needed = video.duration_ms.map_or(VIEW_AFTER_SECONDS, |ms| {
        (ms as f64 / 1000.0 * 0.9).min(VIEW_AFTER_SECONDS)
    });
    if watched < needed {
        return Ok(web::Json(ViewState {
            counted: false,
            view_count: video.view_count,
        }));
    }
    let (counted, view_count) = engagement::record_view(&mut conn, video.id, user.id).await?;
    ctx.changed(video.id);
    Ok(web::Json(ViewState { counted, view_count }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagRequest {
    reason: String,
}

#[derive(Debug, Serialize)]
pub struct FlagState {
    /// Whether the video went back to review.
    pub sent_to_review: bool,
}

/// `POST /api/v1/videos/{id}/flag`: a person reports a published video (once); at
/// `catalog.flag_threshold` reports it goes back to review.
#[tracing::instrument(skip(ctx, user, body), fields(user = %user.subject))]
pub async fn flag(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    path: web::Path<String>,
    body: web::Json<FlagRequest>,
) -> Result<web::Json<FlagState>, ApiError> {
    let reason = Description::parse(&body.reason)
        .map_err(|e| ApiError::validation(e.to_string().replace("description", "reason")))?;
    if reason.as_str().is_empty() {
        return Err(ApiError::validation("a flag needs a reason"));
    }
    let mut tx = ctx.pool.begin().await?;
    let (video, _) = load_visible(&mut tx, &user, &path).await?;
    if video.status != VideoStatus::Published {
        return Err(ApiError::conflict("only published videos can be flagged"));
    }
    if video.owner_id == user.id {
        return Err(ApiError::conflict("you cannot flag your own video"));
    }
    engagement::flag(&mut tx, video.id, user.id, reason.as_str()).await?;
    let sent_to_review = videos::recheck_flags(&mut tx, video.id, ctx.flag_threshold).await?;
    tx.commit().await?;
    ctx.listing_changed(video.id);
    Ok(web::Json(FlagState { sent_to_review }))
}
