//! Videos: the rows every service reads or moves along their lifecycle.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use skillreel_domain::access::VideoFacts;
use skillreel_domain::{ApprovalPolicy, CommunityId, Rendition, UserId, VideoId, VideoStatus, Visibility};
use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct VideoRecord {
    pub id: VideoId,
    pub owner_id: UserId,
    pub owner_name: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub status: VideoStatus,
    pub failure_reason: Option<String>,
    pub source_key: Option<String>,
    pub source_size: Option<i64>,
    pub duration_ms: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub hls_key: Option<String>,
    pub thumbnail_key: Option<String>,
    pub storyboard_key: Option<String>,
    pub renditions: Vec<Rendition>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// While `uploading`: bytes received and expected (`None` while deferred).
    pub upload_progress: Option<(i64, Option<i64>)>,
    /// While `processing`: how far the transcode has come, 0 to 1.
    pub processing_progress: Option<f32>,
    /// When the first segments of every rendition were stored (watchable before `ready`).
    pub playable_at: Option<OffsetDateTime>,
    pub time_to_playable_ms: Option<i64>,
    pub time_to_complete_ms: Option<i64>,
    pub community_id: Option<CommunityId>,
    /// The approval policy of its community (`None` policy without a community).
    pub community_policy: ApprovalPolicy,
    /// The `sub` of the author's manager, when known: who approves under `manager`.
    pub owner_manager_subject: Option<String>,
    pub visibility: Visibility,
    pub language: String,
    pub published_at: Option<OffsetDateTime>,
    /// Why a reviewer rejected it.
    pub review_reason: Option<String>,
    pub like_count: i64,
    pub view_count: i64,
}

/// What the upload service knows when a source has been stored.
#[derive(Debug, Clone)]
pub struct NewVideo<'a> {
    pub id: VideoId,
    pub owner_id: UserId,
    pub title: &'a str,
    pub description: &'a str,
    pub tags: &'a [String],
    pub source_key: &'a str,
    pub source_size: i64,
    pub source_filename: Option<&'a str>,
}

/// What a finished transcode produced.
#[derive(Debug, Clone)]
pub struct TranscodedMedia {
    pub duration_ms: i64,
    pub width: i32,
    pub height: i32,
    pub hls_key: String,
    pub thumbnail_key: String,
    pub storyboard_key: Option<String>,
    pub renditions: Vec<Rendition>,
    pub time_to_complete_ms: i64,
}

/// A position in a newest-first listing; opaque to clients and stable under inserts
/// because it names a row, not an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: OffsetDateTime,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.created_at.unix_timestamp_nanos(), self.id))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let (nanos, id) = text.split_once('|')?;
        let created_at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
        plausible_instant(created_at).then_some(Self {
            created_at,
            id: id.parse().ok()?,
        })
    }
}

/// A cursor names a row the server listed, so its instant lies between the project's
/// beginning and now (plus clock skew); anything else was forged, and would only
/// make the arithmetic on it overflow.
fn plausible_instant(at: OffsetDateTime) -> bool {
    at.year() >= 2000 && at <= OffsetDateTime::now_utc() + time::Duration::DAY
}

/// Largest sort key a real row can have: the feed's key is microseconds since the
/// epoch (1.8e15 today, 1e17 in the year 5138); counts and scores are far below.
const MAX_SORT_KEY: f64 = 1e17;

#[derive(Debug, thiserror::Error)]
pub enum VideoQueryError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("row holds an unknown status: {0}")]
    Status(#[from] skillreel_domain::UnknownStatus),
    #[error("row holds an unknown value: {0}")]
    Value(#[from] skillreel_domain::ValidationError),
}

struct VideoRow {
    id: Uuid,
    owner_id: Uuid,
    owner_name: String,
    title: String,
    description: String,
    tags: Vec<String>,
    status: String,
    failure_reason: Option<String>,
    source_key: Option<String>,
    source_size: Option<i64>,
    duration_ms: Option<i64>,
    width: Option<i32>,
    height: Option<i32>,
    hls_key: Option<String>,
    thumbnail_key: Option<String>,
    storyboard_key: Option<String>,
    renditions: Json<Vec<Rendition>>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    upload_offset: Option<i64>,
    upload_length: Option<i64>,
    processing_progress: Option<f32>,
    playable_at: Option<OffsetDateTime>,
    time_to_playable_ms: Option<i64>,
    time_to_complete_ms: Option<i64>,
    community_id: Option<Uuid>,
    community_policy: Option<String>,
    owner_manager_subject: Option<String>,
    visibility: String,
    language: String,
    published_at: Option<OffsetDateTime>,
    review_reason: Option<String>,
    like_count: i64,
    view_count: i64,
}

impl VideoRecord {
    /// What the access policy needs to know about it.
    pub fn facts(&self) -> VideoFacts {
        VideoFacts {
            owner: self.owner_id,
            owner_manager: self.owner_manager_subject.clone(),
            status: self.status,
            visibility: self.visibility,
            community: self.community_id,
            policy: self.community_policy,
        }
    }
}

impl TryFrom<VideoRow> for VideoRecord {
    type Error = VideoQueryError;

    fn try_from(r: VideoRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: VideoId::from_uuid(r.id),
            owner_id: UserId::from_uuid(r.owner_id),
            owner_name: r.owner_name,
            title: r.title,
            description: r.description,
            tags: r.tags,
            status: r.status.parse()?,
            failure_reason: r.failure_reason,
            source_key: r.source_key,
            source_size: r.source_size,
            duration_ms: r.duration_ms,
            width: r.width,
            height: r.height,
            hls_key: r.hls_key,
            thumbnail_key: r.thumbnail_key,
            storyboard_key: r.storyboard_key,
            renditions: r.renditions.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
            upload_progress: r.upload_offset.map(|received| (received, r.upload_length)),
            processing_progress: r.processing_progress,
            playable_at: r.playable_at,
            time_to_playable_ms: r.time_to_playable_ms,
            time_to_complete_ms: r.time_to_complete_ms,
            community_id: r.community_id.map(CommunityId::from_uuid),
            community_policy: match r.community_policy {
                Some(p) => p.parse()?,
                None => ApprovalPolicy::None,
            },
            owner_manager_subject: r.owner_manager_subject,
            visibility: r.visibility.parse()?,
            language: r.language,
            published_at: r.published_at,
            review_reason: r.review_reason,
            like_count: r.like_count,
            view_count: r.view_count,
        })
    }
}

/// Inserts a video: `processing` when its source is stored, `uploading` while a
/// resumable upload fills it.
#[tracing::instrument(skip(conn, video), fields(video_id = %video.id))]
pub async fn insert(conn: &mut PgConnection, video: &NewVideo<'_>, status: VideoStatus) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into video (id, owner_id, title, description, tags, status, source_key, source_size, source_filename)
        values ($1, $2, $3, $4, $5, $9, $6, $7, $8)
        "#,
        video.id.as_uuid(),
        video.owner_id.as_uuid(),
        video.title,
        video.description,
        video.tags,
        video.source_key,
        video.source_size,
        video.source_filename,
        status.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An upload finished: the video waits for the transcoder now.
pub async fn start_processing(conn: &mut PgConnection, id: VideoId, source_size: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update video set status = 'processing', source_size = $2, processing_progress = 0, updated_at = now() where id = $1 and status = 'uploading'",
        id.as_uuid(),
        source_size,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the bytes an upload of unknown length has reserved of its owner's quota.
pub async fn reserve_source_size(conn: &mut PgConnection, id: VideoId, bytes: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update video set source_size = $2, updated_at = now() where id = $1 and status = 'uploading'",
        id.as_uuid(),
        bytes,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a video that never got past `uploading` (a terminated upload).
pub async fn delete_uploading(conn: &mut PgConnection, id: VideoId) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from video where id = $1 and status = 'uploading'", id.as_uuid())
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends an upload that never finished: the author sees why in their list.
pub async fn fail_uploading(conn: &mut PgConnection, id: VideoId, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update video set status = 'failed', failure_reason = $2, updated_at = now() where id = $1 and status = 'uploading'",
        id.as_uuid(),
        reason,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// `select` of every column a [`VideoRecord`] needs, followed by `$tail` (a string
/// literal: more joins, `where`, `order by`), with `$args` bound to its parameters.
/// One column list for every query that returns videos.
/// The listing rule of the access policy in SQL: the twin of
/// [`Viewer::may_list`](skillreel_domain::access::Viewer::may_list), written once here
/// and shown to agree with it by `tests/access_policy.rs`. `$1` is the viewer, `$2`
/// whether they are an admin, `$3` the status listed. `query!` takes only literal SQL,
/// so the rule is handed to `$then!` as its first argument.
macro_rules! with_listing_rule {
    ($then:ident!($($args:tt)*)) => {
        $then!(
            r#"
            v.status = $3
            and ($2 or v.owner_id = $1 or ($3 = 'published' and (
                 v.visibility = 'org'
                 or (v.visibility = 'community'
                     and v.community_id in (select m.community_id from community_member m where m.user_id = $1)))))
            "#,
            $($args)*
        )
    };
}

/// [`select_videos`] restricted to what the viewer may list (see [`with_listing_rule`]).
macro_rules! select_listable {
    ($rule:literal, $tail:literal, $($arg:expr),* $(,)?) => {
        select_videos!(["where " + $rule + $tail], $($arg),*)
    };
}

macro_rules! select_videos {
    ($tail:literal, $($arg:expr),* $(,)?) => {
        select_videos!([$tail], $($arg),*)
    };
    ([$($tail:tt)+], $($arg:expr),* $(,)?) => {
        sqlx::query_as!(
            VideoRow,
            r#"
            select v.id, v.owner_id, u.name as owner_name, v.title, v.description, v.tags, v.status,
                   v.failure_reason, v.source_key, v.source_size, v.duration_ms, v.width, v.height,
                   v.hls_key, v.thumbnail_key, v.storyboard_key, v.renditions as "renditions: Json<Vec<Rendition>>",
                   v.created_at, v.updated_at, up.upload_offset as "upload_offset?", up.length as "upload_length?",
                   v.processing_progress, v.playable_at, v.time_to_playable_ms, v.time_to_complete_ms,
                   v.community_id, c.approval_policy as "community_policy?", u.manager_subject as owner_manager_subject,
                   v.visibility, v.language, v.published_at, v.review_reason, v.like_count, v.view_count
              from video v join app_user u on u.id = v.owner_id
              left join upload up on up.video_id = v.id and v.status = 'uploading'
              left join community c on c.id = v.community_id
            "# + $($tail)+,
            $($arg),*
        )
    };
}

#[tracing::instrument(skip(conn))]
pub async fn find(conn: &mut PgConnection, id: VideoId) -> Result<Option<VideoRecord>, VideoQueryError> {
    let row = select_videos!("where v.id = $1", id.as_uuid())
        .fetch_optional(conn)
        .await?;
    row.map(VideoRecord::try_from).transpose()
}

/// The owner's videos in every state but `removed` (or only in `status`), newest first.
#[tracing::instrument(skip(conn))]
pub async fn list_owned(
    conn: &mut PgConnection,
    owner: UserId,
    status: Option<VideoStatus>,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<VideoRecord>, VideoQueryError> {
    let (after_at, after_id) = match after {
        Some(c) => (Some(c.created_at), Some(c.id)),
        None => (None, None),
    };
    let rows = select_videos!(
        r#"
        where v.owner_id = $1 and v.status <> 'removed'
          and ($2::text is null or v.status = $2)
          and ($3::timestamptz is null or (v.created_at, v.id) < ($3, $4::uuid))
        order by v.created_at desc, v.id desc
        limit $5
        "#,
        owner.as_uuid(),
        status.map(VideoStatus::as_str),
        after_at,
        after_id,
        limit,
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(VideoRecord::try_from).collect()
}

/// How a listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first (by publication, else creation).
    Recent,
    /// Most liked and watched first (a like counts twice a view).
    Popular,
    /// Engagement with time decay: (2 likes + views + 1) / (age in hours + 2)^1.5.
    Trending,
    /// Best search match first (`ts_rank_cd`, title above tags above description).
    Relevance,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recent => "recent",
            Self::Popular => "popular",
            Self::Trending => "trending",
            Self::Relevance => "relevance",
        }
    }
}

/// What a listing is narrowed to; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoFilter {
    /// Search words, already reduced to letters and digits and joined by spaces.
    pub words: Option<String>,
    pub tag: Option<String>,
    pub community: Option<CommunityId>,
    pub author: Option<UserId>,
    pub language: Option<String>,
    pub min_duration_ms: Option<i64>,
    pub max_duration_ms: Option<i64>,
}

impl VideoFilter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A position in a ranked listing: the row's sort key and id, and the instant the
/// ranking was computed at (trending decays with time; a cursor keeps its clock so the
/// next page continues the same order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankCursor {
    pub key: f64,
    pub id: Uuid,
    pub at: OffsetDateTime,
}

impl RankCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}|{}", self.key, self.id, self.at.unix_timestamp_nanos()))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let mut parts = text.split('|');
        let key: f64 = parts.next()?.parse().ok()?;
        let id = parts.next()?.parse().ok()?;
        let at = OffsetDateTime::from_unix_timestamp_nanos(parts.next()?.parse().ok()?).ok()?;
        let plausible = key.is_finite() && key.abs() <= MAX_SORT_KEY && plausible_instant(at);
        (plausible && parts.next().is_none()).then_some(Self { key, id, at })
    }
}

/// One page of a listing and the cursor of its last row.
pub struct Listed {
    pub videos: Vec<VideoRecord>,
    pub keys: Vec<f64>,
}

/// Ranks the videos `viewer` may list by a computed key; `$rank` is the relevance
/// expression and `$search` the search condition (both literals, so one SQL text
/// serves the search and the browse queries, each with its own plan: a search uses the
/// GIN index on `video.search`).
macro_rules! ranked_statement {
    ($rule:literal, $rank:tt; $search:tt; $($arg:expr),* $(,)?) => {
        sqlx::query!(
            r#"
            with candidates as (
                select v.id,
                       case $11::text
                           when 'recent' then extract(epoch from coalesce(v.published_at, v.created_at))::float8
                           when 'popular' then (v.like_count * 2 + v.view_count)::float8
                           when 'trending' then (v.like_count * 2 + v.view_count + 1)::float8
                                / power(greatest(extract(epoch from ($12::timestamptz - coalesce(v.published_at, v.created_at))), 0) / 3600 + 2, 1.5)
                           else "# + $rank + r#"
                       end as sort_key
                  from video v
                 where "# + $rule + $search + r#"
                   and ($5::text is null or $5 = any(v.tags))
                   and ($6::uuid is null or v.community_id = $6)
                   and ($7::uuid is null or v.owner_id = $7)
                   and ($8::text is null or v.language = $8)
                   and ($9::bigint is null or v.duration_ms >= $9)
                   and ($10::bigint is null or v.duration_ms <= $10)
            )
            select id as "id!", sort_key as "sort_key!"
              from candidates
             where sort_key is not null
               and ($13::float8 is null or (sort_key, id) < ($13, $14::uuid))
             order by sort_key desc, id desc
             limit $15
            "#,
            $($arg),*
        )
    };
}

/// `(id, sort key)` of the ranked page: with a search (`$searching`), relevance and the
/// search condition come from the words in `$4`; without, neither is there.
macro_rules! ranked_query {
    ($conn:expr, $searching:expr; $($arg:expr),* $(,)?) => {
        if $searching {
            with_listing_rule!(ranked_statement!(
                // each word as a prefix, unstemmed (any language), or the words stemmed
                // in English or German (a search need not be in the video's language)
                r#"ts_rank_cd(v.search, (to_tsquery('simple', regexp_replace(trim($4), '\s+', ':* & ', 'g') || ':*') || plainto_tsquery('english', $4) || plainto_tsquery('german', $4)))::float8"#;
                r#"and v.search @@ (to_tsquery('simple', regexp_replace(trim($4), '\s+', ':* & ', 'g') || ':*') || plainto_tsquery('english', $4) || plainto_tsquery('german', $4))"#;
                $($arg),*
            ))
            .fetch_all($conn)
            .await?
            .into_iter()
            .map(|r| (r.id, r.sort_key))
            .collect::<Vec<_>>()
        } else {
            with_listing_rule!(ranked_statement!("null::float8"; "and $4::text is null"; $($arg),*))
                .fetch_all($conn)
                .await?
                .into_iter()
                .map(|r| (r.id, r.sort_key))
                .collect::<Vec<_>>()
        }
    };
}

/// Videos in `status` that `viewer` may list, filtered and sorted, `limit` after
/// `after`. Published ones: `org` videos and `community` videos of the viewer's
/// communities, never `unlisted` ones (those are reached by link). Any other status:
/// the viewer's own videos (everyone's for admins).
#[tracing::instrument(skip(conn, filter))]
#[allow(clippy::too_many_arguments)]
pub async fn list(
    conn: &mut PgConnection,
    viewer: UserId,
    admin: bool,
    status: VideoStatus,
    filter: &VideoFilter,
    sort: Sort,
    after: Option<RankCursor>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Listed, VideoQueryError> {
    // The feed's common case walks an index in order and stops after a page; the
    // others rank every match.
    if sort == Sort::Recent && filter.words.is_none() {
        return list_recent(conn, viewer, admin, status, filter, after, limit).await;
    }
    list_ranked(conn, viewer, admin, status, filter, sort, after, now, limit).await
}

/// Newest first along `video_status_recent_idx`. The cursor key is the row's
/// publication (else creation) time in whole microseconds, exact in an `f64`.
#[allow(clippy::too_many_arguments)]
async fn list_recent(
    conn: &mut PgConnection,
    viewer: UserId,
    admin: bool,
    status: VideoStatus,
    filter: &VideoFilter,
    after: Option<RankCursor>,
    limit: i64,
) -> Result<Listed, VideoQueryError> {
    let after_at = after.and_then(|c| OffsetDateTime::from_unix_timestamp_nanos(c.key as i128 * 1000).ok());
    let after_id = after.map(|c| c.id);
    if !admin && status == VideoStatus::Published && filter.is_empty() && limit == DEFAULT_PAGE + 1 {
        return feed_page(conn, viewer, after_at.zip(after_id)).await;
    }
    // One query: the page comes straight off the index walk, whole.
    let rows = with_listing_rule!(select_listable!(
        r#"
          and ($4::text is null or $4 = any(v.tags))
          and ($5::uuid is null or v.community_id = $5)
          and ($6::uuid is null or v.owner_id = $6)
          and ($7::text is null or v.language = $7)
          and ($8::bigint is null or v.duration_ms >= $8)
          and ($9::bigint is null or v.duration_ms <= $9)
          and ($10::timestamptz is null or (coalesce(v.published_at, v.created_at), v.id) < ($10, $11::uuid))
        order by coalesce(v.published_at, v.created_at) desc, v.id desc
        limit $12
        "#,
        viewer.as_uuid(),
        admin,
        status.as_str(),
        filter.tag,
        filter.community.map(|c| c.as_uuid()),
        filter.author.map(|a| a.as_uuid()),
        filter.language,
        filter.min_duration_ms,
        filter.max_duration_ms,
        after_at,
        after_id,
        limit,
    ))
    .fetch_all(&mut *conn)
    .await?;
    let videos: Vec<VideoRecord> = rows.into_iter().map(VideoRecord::try_from).collect::<Result<_, _>>()?;
    Ok(Listed {
        keys: recent_keys(&videos),
        videos,
    })
}

/// The page size clients get by default.
pub const DEFAULT_PAGE: i64 = 20;

/// The feed as most people see it (published, no filter, the default page size):
/// statements without optional filters, so PostgreSQL settles on one plan (the index
/// walk) instead of planning every request anew.
async fn feed_page(
    conn: &mut PgConnection,
    viewer: UserId,
    after: Option<(OffsetDateTime, Uuid)>,
) -> Result<Listed, VideoQueryError> {
    let (after_at, after_id) = after.unzip();
    let rows = match after {
        None => {
            with_listing_rule!(select_listable!(
                r#"
                order by coalesce(v.published_at, v.created_at) desc, v.id desc
                limit 21
                "#,
                viewer.as_uuid(),
                false,
                VideoStatus::Published.as_str(),
            ))
            .fetch_all(&mut *conn)
            .await?
        }
        Some(_) => {
            with_listing_rule!(select_listable!(
                r#"
                  and (coalesce(v.published_at, v.created_at), v.id) < ($4, $5)
                order by coalesce(v.published_at, v.created_at) desc, v.id desc
                limit 21
                "#,
                viewer.as_uuid(),
                false,
                VideoStatus::Published.as_str(),
                after_at,
                after_id,
            ))
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let videos: Vec<VideoRecord> = rows.into_iter().map(VideoRecord::try_from).collect::<Result<_, _>>()?;
    Ok(Listed {
        keys: recent_keys(&videos),
        videos,
    })
}

/// A recent listing's cursor keys: publication (else creation) time in whole
/// microseconds, exact in an `f64`.
fn recent_keys(videos: &[VideoRecord]) -> Vec<f64> {
    videos
        .iter()
        .map(|v| (v.published_at.unwrap_or(v.created_at).unix_timestamp_nanos() / 1000) as f64)
        .collect()
}

/// The videos of `ids`, in that order.
/// The videos with these ids, in this order (missing ones left out).
pub async fn load_in_order(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<VideoRecord>, VideoQueryError> {
    let mut found = select_videos!("where v.id = any($1)", ids)
        .fetch_all(&mut *conn)
        .await?;
    found.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    found.into_iter().map(VideoRecord::try_from).collect()
}

/// A published video a search matched: its place in the order, and what decides who
/// may list it.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchMatch {
    pub id: Uuid,
    pub key: f64,
    pub owner_id: UserId,
    pub visibility: Visibility,
    pub community_id: Option<CommunityId>,
}

impl SearchMatch {
    /// What the access policy needs to decide who may list it (it is published).
    pub fn facts(&self) -> VideoFacts {
        VideoFacts {
            owner: self.owner_id,
            owner_manager: None,
            status: VideoStatus::Published,
            visibility: self.visibility,
            community: self.community_id,
            policy: ApprovalPolicy::None,
        }
    }
}

/// Every published video that matches `filter` (which has search words), in `sort`
/// order, before anyone's visibility is applied; `None` when more than `cap` match.
/// What one reader may list of it is [`SearchMatch`]'s owner, visibility and
/// community against the reader: the same rule [`list`] applies in SQL.
pub async fn search_matches(
    conn: &mut PgConnection,
    filter: &VideoFilter,
    sort: Sort,
    now: OffsetDateTime,
    cap: i64,
) -> Result<Option<Vec<SearchMatch>>, VideoQueryError> {
    // As an admin (`$2`), the statement lists every published video.
    let ranked = ranked_query!(
        &mut *conn,
        true;
        Uuid::nil(),
        true,
        VideoStatus::Published.as_str(),
        filter.words,
        filter.tag,
        filter.community.map(|c| c.as_uuid()),
        filter.author.map(|a| a.as_uuid()),
        filter.language,
        filter.min_duration_ms,
        filter.max_duration_ms,
        sort.as_str(),
        now,
        None::<f64>,
        None::<Uuid>,
        cap + 1,
    );
    if ranked.len() as i64 > cap {
        return Ok(None);
    }
    let ids: Vec<Uuid> = ranked.iter().map(|r| r.0).collect();
    let audience: std::collections::HashMap<Uuid, _> = sqlx::query!(
        "select id, owner_id, visibility, community_id from video where id = any($1)",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, (r.owner_id, r.visibility, r.community_id)))
    .collect();
    let mut matches = Vec::with_capacity(ranked.len());
    for (id, key) in ranked {
        if let Some((owner, visibility, community)) = audience.get(&id) {
            matches.push(SearchMatch {
                id,
                key,
                owner_id: UserId::from_uuid(*owner),
                visibility: visibility.parse()?,
                community_id: community.map(CommunityId::from_uuid),
            });
        }
    }
    Ok(Some(matches))
}

/// Ranked by a computed key (popular, trending, relevance), keyset-paged on it.
#[allow(clippy::too_many_arguments)]
async fn list_ranked(
    conn: &mut PgConnection,
    viewer: UserId,
    admin: bool,
    status: VideoStatus,
    filter: &VideoFilter,
    sort: Sort,
    after: Option<RankCursor>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Listed, VideoQueryError> {
    let (after_key, after_id) = match after {
        Some(c) => (Some(c.key), Some(c.id)),
        None => (None, None),
    };
    let rows = ranked_query!(
        &mut *conn,
        filter.words.is_some();
        viewer.as_uuid(),
        admin,
        status.as_str(),
        filter.words,
        filter.tag,
        filter.community.map(|c| c.as_uuid()),
        filter.author.map(|a| a.as_uuid()),
        filter.language,
        filter.min_duration_ms,
        filter.max_duration_ms,
        sort.as_str(),
        now,
        after_key,
        after_id,
        limit,
    );
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let keys = rows.iter().map(|r| r.1).collect();
    let videos = load_in_order(conn, &ids).await?;
    Ok(Listed { videos, keys })
}

/// Moves a processing video to ready with what the transcoder made. Returns false when
/// the video is no longer processing (deleted meanwhile), so the caller can clean up.
#[tracing::instrument(skip(conn, media))]
pub async fn mark_ready(conn: &mut PgConnection, id: VideoId, media: &TranscodedMedia) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video
           set status = 'ready', failure_reason = null, duration_ms = $2, width = $3, height = $4,
               hls_key = $5, thumbnail_key = $6, renditions = $7, processing_progress = 1,
               time_to_complete_ms = $8, playable_at = coalesce(playable_at, now()),
               time_to_playable_ms = coalesce(time_to_playable_ms, $8), storyboard_key = $9, updated_at = now()
         where id = $1 and status = 'processing'
        "#,
        id.as_uuid(),
        media.duration_ms,
        media.width,
        media.height,
        media.hls_key,
        media.thumbnail_key,
        Json(&media.renditions) as _,
        media.time_to_complete_ms,
        media.storyboard_key,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How far the transcode of a processing video has come.
pub async fn set_progress(conn: &mut PgConnection, id: VideoId, progress: f32) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update video set processing_progress = $2 where id = $1 and status = 'processing'",
        id.as_uuid(),
        progress.clamp(0.0, 1.0),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The first segments of every rendition are stored: the author can start watching
/// while the rest of the ladder is made. False when the video is no longer processing.
pub async fn mark_playable(
    conn: &mut PgConnection,
    id: VideoId,
    hls_key: &str,
    time_to_playable_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video set hls_key = $2, playable_at = now(), time_to_playable_ms = $3, updated_at = now()
         where id = $1 and status = 'processing'
        "#,
        id.as_uuid(),
        hls_key,
        time_to_playable_ms,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a video from every listing (its media is deleted by the caller). An
/// unfinished upload is made due for the expiry sweep, which frees its parts.
/// Returns false when there was nothing to remove.
pub async fn mark_removed(conn: &mut PgConnection, id: VideoId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video set status = 'removed', hls_key = null, thumbnail_key = null, storyboard_key = null,
               playable_at = null,
               updated_at = now()
         where id = $1 and status <> 'removed'
        "#,
        id.as_uuid(),
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query!(
        "update upload set expires_at = now() where video_id = $1 and status = 'uploading'",
        id.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// A failed video goes back to `processing` for another transcode (an operator's retry).
pub async fn retry_processing(conn: &mut PgConnection, id: VideoId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video set status = 'processing', failure_reason = null, processing_progress = 0, playable_at = null,
               time_to_playable_ms = null, time_to_complete_ms = null, updated_at = now()
         where id = $1 and status = 'failed'
        "#,
        id.as_uuid(),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a video as failed with a reason its author can read.
#[tracing::instrument(skip(conn))]
pub async fn mark_failed(conn: &mut PgConnection, id: VideoId, reason: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update video set status = 'failed', failure_reason = $2, updated_at = now() where id = $1 and status = 'processing'",
        id.as_uuid(),
        reason,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What an author may change after upload; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct VideoChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub language: Option<String>,
    pub visibility: Option<Visibility>,
    /// `Some(None)` takes the video out of its community.
    pub community: Option<Option<CommunityId>>,
    /// A published video goes back to `pending_review` with the change (its
    /// community's policy wants a reviewer to see what is published).
    pub to_review: bool,
}

impl VideoChanges {
    /// Whether applying these changes alters what a reviewer approved of `video`:
    /// its text, tags, language or audience.
    pub fn alter_reviewed_content(&self, video: &VideoRecord) -> bool {
        let differs = |new: Option<&str>, old: &str| new.is_some_and(|new| new != old);
        differs(self.title.as_deref(), &video.title)
            || differs(self.description.as_deref(), &video.description)
            || differs(self.language.as_deref(), &video.language)
            || self.tags.as_ref().is_some_and(|tags| *tags != video.tags)
            || self.visibility.is_some_and(|v| v != video.visibility)
    }
}

pub async fn update(conn: &mut PgConnection, id: VideoId, changes: &VideoChanges) -> Result<bool, sqlx::Error> {
    let (set_community, community) = match changes.community {
        Some(c) => (true, c.map(|c| c.as_uuid())),
        None => (false, None),
    };
    let done = sqlx::query!(
        r#"
        update video
           set title = coalesce($2, title), description = coalesce($3, description),
               tags = coalesce($4, tags), language = coalesce($5, language),
               visibility = coalesce($6, visibility),
               community_id = case when $7 then $8 else community_id end,
               status = case when $9 and status = 'published' then 'pending_review' else status end,
               updated_at = now()
         where id = $1 and status <> 'removed'
        "#,
        id.as_uuid(),
        changes.title,
        changes.description,
        changes.tags.as_deref(),
        changes.language,
        changes.visibility.map(Visibility::as_str),
        set_community,
        community,
        changes.to_review,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A ready (or rejected, then edited) video goes out: `published` at once or
/// `pending_review`, as its community's policy says. False when it is in no state to.
pub async fn submit(
    conn: &mut PgConnection,
    id: VideoId,
    community: Option<CommunityId>,
    visibility: Visibility,
    to: VideoStatus,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video
           set status = $4, community_id = $2, visibility = $3, review_reason = null,
               published_at = case when $4 = 'published' then now() else null end, updated_at = now()
         where id = $1 and status in ('ready', 'rejected')
        "#,
        id.as_uuid(),
        community.map(|c| c.as_uuid()),
        visibility.as_str(),
        to.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A reviewer's decision on a `pending_review` video. Approval publishes it (keeping
/// its first publication date) and clears its flags; rejection records why.
pub async fn review(
    conn: &mut PgConnection,
    id: VideoId,
    approve: bool,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video
           set status = case when $2 then 'published' else 'rejected' end,
               published_at = case when $2 then coalesce(published_at, now()) else published_at end,
               review_reason = case when $2 then null else $3 end,
               flag_count = case when $2 then 0 else flag_count end,
               updated_at = now()
         where id = $1 and status = 'pending_review'
        "#,
        id.as_uuid(),
        approve,
        reason,
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 && approve {
        sqlx::query!("delete from video_flag where video_id = $1", id.as_uuid())
            .execute(conn)
            .await?;
    }
    Ok(done.rows_affected() == 1)
}

/// A published video flagged by `threshold` people goes back to review.
pub async fn recheck_flags(conn: &mut PgConnection, id: VideoId, threshold: i32) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        update video set status = 'pending_review', updated_at = now()
         where id = $1 and status = 'published' and flag_count >= $2
        "#,
        id.as_uuid(),
        threshold,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The review queue of someone: what waits in the communities they moderate, what
/// their reports wrote under the `manager` policy (or outside any community), and
/// everything for admins and org-wide moderators. Oldest first.
pub async fn review_queue(
    conn: &mut PgConnection,
    reviewer: UserId,
    reviewer_subject: &str,
    everything: bool,
    limit: i64,
) -> Result<Vec<VideoRecord>, VideoQueryError> {
    let rows = select_videos!(
        r#"
        where v.status = 'pending_review'
          and v.owner_id <> $1
          and ($3
               or v.community_id in (select m.community_id from community_member m
                                      where m.user_id = $1 and m.role = 'moderator')
               or (u.manager_subject = $2 and (c.approval_policy = 'manager' or v.community_id is null)))
        order by v.updated_at, v.id
        limit $4
        "#,
        reviewer.as_uuid(),
        reviewer_subject,
        everything,
        limit,
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(VideoRecord::try_from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let c = Cursor {
            created_at: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not a cursor"), None);
        let ranked = RankCursor {
            key: 1.8e15,
            id: Uuid::now_v7(),
            at: OffsetDateTime::now_utc(),
        };
        assert_eq!(RankCursor::decode(&ranked.encode()), Some(ranked));
        let forged = |text: &str| URL_SAFE_NO_PAD.encode(text);
        let id = Uuid::nil();
        for text in [
            format!("1e300|{id}|1700000000000000000"),
            format!("-1e300|{id}|1700000000000000000"),
            format!("1.5|{id}|99999999999999999999999999"),
            format!("1.5|{id}|-1700000000000000000"),
            format!("1.5|{id}|{}", i128::MAX),
        ] {
            assert_eq!(RankCursor::decode(&forged(&text)), None, "{text}");
        }
        assert_eq!(Cursor::decode(&forged(&format!("253402300799000000000|{id}"))), None);
        assert_eq!(Cursor::decode(&forged(&format!("-62135596800000000000|{id}"))), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("12|nope")), None);
    }
}
