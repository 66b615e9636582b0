//! Finding videos: the feed, filters, sorts and search, each restricted to what the
//! viewer may list (the access policy's listing rule, [`with_listing_rule`]).

use super::*;

/// The listing rule of the access policy in SQL: the twin of
/// [`Viewer::may_list`](skillreel_domain::access::Viewer::may_list), written once here
/// and shown to agree with it by `tests/access_policy.rs`. `$1` is the viewer, `$2`
/// whether they are an admin, `$3` the status listed. `query!` takes only literal SQL,
/// so the rule is handed to `$then!` as its first argument.
#[macro_export]
macro_rules! with_listing_rule {
    ($then:ident!($($args:tt)*)) => {
        $then!(
            r#"
            v.status = $3
            and ($2 or v.owner_id = $1 or ($3 = 'published' and (
                 v.visibility in ('org', 'federated')
                 or (v.visibility = 'community'
                     and v.community_id in (select m.community_id from community_member m where m.user_id = $1)))))
            "#,
            $($args)*
        )
    };
}

/// [`with_listing_rule`] for published videos, with the status spelled out instead of
/// bound (`$3` must still be `published`): PostgreSQL then plans the statement once
/// (a generic plan as good as a per-request one) instead of on every request, and can
/// use the indexes that hold published videos only. Shown to agree with the Rust
/// policy by the same property test (its feed, popular, trending and tag paths).
#[macro_export]
macro_rules! with_published_listing_rule {
    ($then:ident!($($args:tt)*)) => {
        $then!(
            r#"
            v.status = 'published' and $3::text = 'published'
            and ($2 or v.owner_id = $1
                 or v.visibility in ('org', 'federated')
                 or (v.visibility = 'community'
                     and v.community_id in (select m.community_id from community_member m where m.user_id = $1)))
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
    /// Most engaged with first: 2 per like, 1 per viewer, 3 per person who completed it
    /// (`video_score.popularity`, folded from engagements within a second).
    Popular,
    /// Engagement with time decay: the same weights, each halving every 24 hours, and
    /// the publication itself worth 1 (`video_score.trending`).
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

/// A position in a ranked listing: the row's sort key and id. Trending keys are
/// forward-decayed (they do not change as time passes), so a key alone continues the
/// same order on the next page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankCursor {
    pub key: f64,
    pub id: Uuid,
}

impl RankCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.key, self.id))
    }

    /// Also reads the cursors handed out before the key sufficed, which carried the
    /// instant of the ranking as a third part (checked, then ignored).
    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let mut parts = text.split('|');
        let key: f64 = parts.next()?.parse().ok()?;
        let id = parts.next()?.parse().ok()?;
        let instant_ok = match parts.next() {
            None => true,
            Some(nanos) => OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?)
                .ok()
                .is_some_and(plausible_instant),
        };
        let plausible = key.is_finite() && key.abs() <= MAX_SORT_KEY && instant_ok;
        (plausible && parts.next().is_none()).then_some(Self { key, id })
    }
}

/// One page of a listing and the cursor of its last row.
#[derive(Default)]
pub struct Listed {
    pub videos: Vec<VideoRecord>,
    pub keys: Vec<f64>,
}

impl Listed {
    /// Appends a row of a statement that keys its rows (its `sort_key` column).
    fn push(&mut self, row: VideoRow) -> Result<(), VideoQueryError> {
        self.keys.push(row.sort_key.unwrap_or_default());
        self.videos.push(VideoRecord::try_from(row)?);
        Ok(())
    }
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
                           when 'popular' then s.popularity::float8
                           when 'trending' then s.trending
                           else "# + $rank + r#"
                       end as sort_key
                  from video v join video_score s on s.video_id = v.id
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
               and ($12::float8 is null or (sort_key, id) < ($12, $13::uuid))
             order by sort_key desc, id desc
             limit $14
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
    limit: i64,
) -> Result<Listed, VideoQueryError> {
    // The lists most people ask for walk an index in their own order and stop after a
    // page; the feed and the other filters walk the recency index; the rest rank every
    // match.
    if status == VideoStatus::Published
        && filter.words.is_none()
        && let Some(listed) = list_along_index(conn, viewer, admin, filter, sort, after, limit).await?
    {
        return Ok(listed);
    }
    if sort == Sort::Recent && filter.words.is_none() {
        return list_recent(conn, viewer, admin, status, filter, after, limit).await;
    }
    list_ranked(conn, viewer, admin, status, filter, sort, after, limit).await
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

/// One page along an index (see [`list_along_index`]), videos and keys in one
/// statement: `$1` viewer, `$2` admin, `$3` the status (published; the partial indexes
/// need it spelled out too). `$page` is `first` or `next` (after a cursor).
macro_rules! listing_page {
    ($conn:expr, $statement:ident, $page:ident, $limit:literal; $($arg:expr),* $(,)?) => {{
        let rows = with_published_listing_rule!($statement!($limit, $page, $($arg),*)).fetch_all(&mut *$conn).await?;
        let mut listed = Listed { videos: Vec::with_capacity(rows.len()), keys: Vec::with_capacity(rows.len()) };
        for row in rows {
            listed.push(row)?;
        }
        listed
    }};
}

/// A page in `$order` (a column list) after joining `$join`, keyed by `$key`, with
/// `$cond` after the viewer's rule, and on a `next` page also `$after` (the cursor's
/// condition), the page size in `$limit` (all literals; `$cond` and `$after` literals
/// joined by `+`).
macro_rules! along {
    ($rule:literal, $limit:literal, first, $join:literal, $key:literal, [$($cond:tt)+], [$($after:tt)+], $order:literal;
     $($arg:expr),*) => {
        select_videos!(
            with: ["null::bool", "null::text", $key],
            [$join + " where " + $rule + $($cond)+ + " order by " + $order + " limit " + $limit],
            $($arg),*
        )
    };
    ($rule:literal, $limit:literal, next, $join:literal, $key:literal, [$($cond:tt)+], [$($after:tt)+], $order:literal;
     $($arg:expr),*) => {
        select_videos!(
            with: ["null::bool", "null::text", $key],
            [$join + " where " + $rule + $($cond)+ + $($after)+ + " order by " + $order + " limit " + $limit],
            $($arg),*
        )
    };
}

/// A page of the default size names it as a literal, so PostgreSQL keeps one generic
/// plan for the page most people ask for (with `limit $n` it plans every request: a
/// bound limit looks like a tenth of the table to the generic planner); any other
/// size is bound as `$n`.
macro_rules! sized_page {
    ($conn:expr, $statement:ident($page:ident), $limit:expr, $n:literal; $($arg:expr),*) => {
        if $limit == DEFAULT_PAGE + 1 {
            listing_page!($conn, $statement, $page, "21"; $($arg),*)
        } else {
            listing_page!($conn, $statement, $page, $n; $($arg),*, $limit)
        }
    };
}

// The literal above is the default page and one more row (to know a next page exists).
const _: () = assert!(DEFAULT_PAGE + 1 == 21);

/// How a tag's list walks, newest first: its videos `v` joined to their `video_tag` row,
/// the row's key, the column naming the list (of SQL type `keyed_by`), the position a
/// cursor compares and the order. Handed to `$then!` before its arguments, so the
/// single-reader page ([`tag_page`]) and the batched one ([`tag_pages_statement`]) walk
/// alike.
macro_rules! tag_walk {
    ($then:ident!($($args:tt)*)) => {
        $then!(join: "join video_tag t on t.video_id = v.id",
               key: "(extract(epoch from t.listed_at) * 1000000)::float8",
               column: "t.tag", keyed_by: "text", position: "(t.listed_at, t.video_id)",
               order: "t.listed_at desc, t.video_id desc", $($args)*)
    };
}
/// How a community's list walks, newest first (see [`tag_walk`]).
macro_rules! community_walk {
    ($then:ident!($($args:tt)*)) => {
        $then!(join: "",
               key: "(extract(epoch from v.published_at) * 1000000)::float8",
               column: "v.community_id", keyed_by: "uuid", position: "(v.published_at, v.id)",
               order: "v.published_at desc, v.id desc", $($args)*)
    };
}
/// A page of a walk (`tag_walk`, `community_walk`) for one reader: the list named by
/// `$4`; after (`$5`, `$6`).
macro_rules! walk_page {
    (join: $join:literal, key: $key:literal, column: $column:literal, keyed_by: $type:literal,
     position: $position:literal, order: $order:literal, $rule:literal, $limit:literal, $page:ident, $($arg:expr),*) => {
        along!($rule, $limit, $page, $join, $key, [" and " + $column + " = $4"],
            [" and " + $position + " < ($5, $6)"], $order; $($arg),*)
    };
}
/// Published videos with tag `$4`, newest first; after (`$5`, `$6`).
macro_rules! tag_page {
    ($($args:tt)*) => { tag_walk!(walk_page!($($args)*)) };
}
/// Published videos of community `$4`, newest first; after (`$5`, `$6`).
macro_rules! community_page {
    ($($args:tt)*) => { community_walk!(walk_page!($($args)*)) };
}
/// Published videos by popularity; after (`$4`, `$5`).
macro_rules! popular_page {
    ($rule:literal, $limit:literal, $page:ident, $($arg:expr),*) => {
        along!($rule, $limit, $page, "join video_score s on s.video_id = v.id", "s.popularity::float8", [""],
            [" and (s.popularity, s.video_id) < ($4, $5)"], "s.popularity desc, s.video_id desc"; $($arg),*)
    };
}
/// Published videos by trending score; after (`$4`, `$5`).
macro_rules! trending_page {
    ($rule:literal, $limit:literal, $page:ident, $($arg:expr),*) => {
        along!($rule, $limit, $page, "join video_score s on s.video_id = v.id", "s.trending", [""],
            [" and (s.trending, s.video_id) < ($4, $5)"], "s.trending desc, s.video_id desc"; $($arg),*)
    };
}

/// Published videos narrowed by one tag, by one community, or unfiltered by popularity
/// or trending: each a walk down its own index (`video_tag_pkey`,
/// `video_community_recent_idx`, `video_score_popular_idx`, `video_score_trending_idx`)
/// that stops after a page, however many videos match. `None` for any other list.
async fn list_along_index(
    conn: &mut PgConnection,
    viewer: UserId,
    admin: bool,
    filter: &VideoFilter,
    sort: Sort,
    after: Option<RankCursor>,
    limit: i64,
) -> Result<Option<Listed>, VideoQueryError> {
    let (v, a, p) = (viewer.as_uuid(), admin, VideoStatus::Published.as_str());
    let after_at = after.and_then(|c| OffsetDateTime::from_unix_timestamp_nanos(c.key as i128 * 1000).ok());
    let after_id = after.map(|c| c.id);
    let listed = match CommonList::of(filter, sort) {
        Some(CommonList::Tag(tag)) => {
            let tag = Some(tag.as_str());
            match after_at.zip(after_id) {
                None => sized_page!(conn, tag_page(first), limit, "$5"; v, a, p, tag),
                Some((at, id)) => sized_page!(conn, tag_page(next), limit, "$7"; v, a, p, tag, at, id),
            }
        }
        Some(CommonList::Community(community)) => {
            let community = Some(community.as_uuid());
            match after_at.zip(after_id) {
                None => sized_page!(conn, community_page(first), limit, "$5"; v, a, p, community),
                Some((at, id)) => sized_page!(conn, community_page(next), limit, "$7"; v, a, p, community, at, id),
            }
        }
        Some(CommonList::Popular) => match after {
            None => sized_page!(conn, popular_page(first), limit, "$4"; v, a, p),
            // Popularity is a whole number; the cursor carries it exactly.
            Some(c) => sized_page!(conn, popular_page(next), limit, "$6"; v, a, p, c.key as i64, c.id),
        },
        Some(CommonList::Trending) => match after {
            None => sized_page!(conn, trending_page(first), limit, "$4"; v, a, p),
            Some(c) => sized_page!(conn, trending_page(next), limit, "$6"; v, a, p, c.key, c.id),
        },
        // (the feed walks the recency index: `feed_page`)
        Some(CommonList::Feed) | None => return Ok(None),
    };
    Ok(Some(listed))
}

/// The videos of a ranked page with their keys, in order (one deleted meanwhile is left
/// out with its key).
async fn load_ranked(conn: &mut PgConnection, ranked: Vec<(Uuid, f64)>) -> Result<Listed, VideoQueryError> {
    let ids: Vec<Uuid> = ranked.iter().map(|r| r.0).collect();
    let mut found = load_by_id(conn, &ids).await?;
    let (videos, keys) = ranked
        .into_iter()
        .filter_map(|(id, key)| found.remove(&id).map(|v| (v, key)))
        .unzip();
    Ok(Listed { videos, keys })
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
            with_published_listing_rule!(select_listable!(
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
            with_published_listing_rule!(select_listable!(
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

/// The videos with these ids, in this order (missing ones left out).
pub async fn load_in_order(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<VideoRecord>, VideoQueryError> {
    let mut found = load_by_id(conn, ids).await?;
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// The videos of several pages, each with what its page carries beside its id (a sort
/// key, or nothing), each page's in its order (missing ones left out), in one statement
/// that loads each video once however many pages hold it; a video on several pages is
/// cloned for all but its last.
pub async fn load_pages<T>(
    conn: &mut PgConnection,
    pages: Vec<Vec<(Uuid, T)>>,
) -> Result<Vec<Vec<(VideoRecord, T)>>, VideoQueryError> {
    let mut left: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
    for (id, _) in pages.iter().flatten() {
        *left.entry(*id).or_default() += 1;
    }
    let ids: Vec<Uuid> = left.keys().copied().collect();
    let mut found = load_by_id(conn, &ids).await?;
    Ok(pages
        .into_iter()
        .map(|page| {
            page.into_iter()
                .filter_map(|(id, carried)| {
                    let remaining = left.entry(id).or_default();
                    *remaining -= 1;
                    let video = if *remaining == 0 {
                        found.remove(&id)
                    } else {
                        found.get(&id).cloned()
                    };
                    Some((video?, carried))
                })
                .collect()
        })
        .collect())
}

/// The videos with these ids, by id (missing ones left out).
async fn load_by_id(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, VideoRecord>, VideoQueryError> {
    select_videos!("where v.id = any($1)", ids)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|row| VideoRecord::try_from(row).map(|v| (v.id.as_uuid(), v)))
        .collect()
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
        after_key,
        after_id,
        limit,
    );
    load_ranked(conn, rows).await
}

/// One of the lists most people ask for, each walked along its own index: their first
/// pages are what [`first_pages`] answers for many readers in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommonList {
    /// Published videos, newest first, unfiltered.
    Feed,
    Popular,
    Trending,
    /// Newest first with this tag.
    Tag(String),
    /// Newest first in this community.
    Community(CommunityId),
}

impl CommonList {
    /// The first page [`first_pages`] answers, if a listing of published videos in
    /// `filter` and `sort`, `limit` rows (the default page and one more) after `after`
    /// is one (the caller leaves admins out: they list everything).
    pub fn first_page(
        status: VideoStatus,
        filter: &VideoFilter,
        sort: Sort,
        after: Option<RankCursor>,
        limit: i64,
    ) -> Option<Self> {
        let first = status == VideoStatus::Published && after.is_none() && limit == DEFAULT_PAGE + 1;
        first.then(|| Self::of(filter, sort)).flatten()
    }

    /// Which of these lists `filter` and `sort` are, if one.
    pub fn of(filter: &VideoFilter, sort: Sort) -> Option<Self> {
        let only = |kept: VideoFilter| kept.is_empty();
        match sort {
            Sort::Recent if filter.is_empty() => Some(Self::Feed),
            Sort::Popular if filter.is_empty() => Some(Self::Popular),
            Sort::Trending if filter.is_empty() => Some(Self::Trending),
            Sort::Recent => match (&filter.tag, filter.community) {
                (Some(tag), None)
                    if only(VideoFilter {
                        tag: None,
                        ..filter.clone()
                    }) =>
                {
                    Some(Self::Tag(tag.clone()))
                }
                (None, Some(community))
                    if only(VideoFilter {
                        community: None,
                        ..filter.clone()
                    }) =>
                {
                    Some(Self::Community(community))
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Feed => "feed",
            Self::Popular => "popular",
            Self::Trending => "trending",
            Self::Tag(_) => "tag",
            Self::Community(_) => "community",
        }
    }
}

/// The listing rule of [`with_published_listing_rule`] for the viewer of a batch's row,
/// `q.viewer` (never an admin), handed to `$then!` as its first argument; shown to agree
/// with the Rust policy by `tests/access_policy.rs`.
macro_rules! with_batched_listing_rule {
    ($then:ident!($($args:tt)*)) => {
        $then!(
            r#"and (v.owner_id = q.viewer or v.visibility in ('org', 'federated')
                   or (v.visibility = 'community'
                       and v.community_id in (select m.community_id from community_member m where m.user_id = q.viewer)))"#,
            $($args)*
        )
    };
}

/// The pages many readers share (feed, popular, trending), each walked along its index
/// for its reader (the single-reader statements of [`list_along_index`] and
/// [`feed_page`] with the row's viewer): their ids and keys, loaded after, each video
/// once however many pages hold it.
macro_rules! shared_pages_statement {
    ($rule:literal, $($arg:expr),* $(,)?) => {
        sqlx::query!(
            r#"
        select q.n as "n!", p.id as "id!", p.sort_key as "sort_key!"
          from unnest($1::uuid[], $2::text[]) with ordinality q(viewer, kind, n)
          cross join lateral (
            (select v.id, (extract(epoch from coalesce(v.published_at, v.created_at)) * 1000000)::float8 as sort_key
               from video v
              where q.kind = 'feed' and v.status = 'published'
                "# + $rule + r#"
              order by coalesce(v.published_at, v.created_at) desc, v.id desc
              limit 21)
            union all
            (select v.id, s.popularity::float8
               from video v join video_score s on s.video_id = v.id
              where q.kind = 'popular' and v.status = 'published'
                "# + $rule + r#"
              order by s.popularity desc, s.video_id desc
              limit 21)
            union all
            (select v.id, s.trending
               from video v join video_score s on s.video_id = v.id
              where q.kind = 'trending' and v.status = 'published'
                "# + $rule + r#"
              order by s.trending desc, s.video_id desc
              limit 21)
          ) p
        "#,
            $($arg),*
        )
    };
}

/// Pages few readers share, one per row of `q` (the reader `viewer` and the list's
/// `key`), each walked along its index for its reader (a walk, `tag_walk` or
/// `community_walk`, as its single-reader page walks it, with the row's viewer) and
/// returned whole from the walk, not loaded after: that would probe every video a
/// second time for nothing shared. (One walk per statement: a `union` of walks would
/// hide which table the columns come from, and with it that they are not null.)
macro_rules! own_pages_statement {
    (join: $join:literal, key: $key:literal, column: $column:literal, keyed_by: $type:literal,
     position: $position:literal, order: $order:literal, $rule:literal, $($arg:expr),* $(,)?) => {
        select_videos!(
            from: ["unnest($1::uuid[], $2::" + $type + "[]) with ordinality q(viewer, key, n)
                    cross join lateral (
                      select v.*, " + $key + " as page_key from video v " + $join + "
                       where " + $column + " = q.key and v.status = 'published' " + $rule + "
                       order by " + $order + " limit 21) v"],
            with: ["null::bool", "null::text", "v.page_key", "q.n"],
            ["order by q.n, v.page_key desc, v.id desc"],
            $($arg),*
        )
    };
}

/// Each reader's newest videos with their tag (`tag_page`'s walk).
macro_rules! tag_pages_statement {
    ($($args:tt)*) => { tag_walk!(own_pages_statement!($($args)*)) };
}

/// Each reader's newest videos of their community (`community_page`'s walk).
macro_rules! community_pages_statement {
    ($($args:tt)*) => { community_walk!(own_pages_statement!($($args)*)) };
}

/// Some of a batch's asks: where each answer goes, its reader and what it asks.
type Asks<T> = Vec<(usize, Uuid, T)>;

/// The first pages that readers (never admins: they list everything, one statement
/// each) ask for at once, in a statement per kind of walk, all reading one snapshot.
/// Each page is walked along its index for its reader (the single-reader statement of
/// [`list_along_index`] or [`feed_page`], the viewer being the batch's row); the pages
/// readers share (feed, popular, trending: mostly the same videos) come back as ids,
/// loaded after, each video once however many pages hold it, and the pages few share (a
/// tag's, a community's) come back whole from their walk. Answers in the order asked.
pub async fn first_pages(
    conn: &mut PgConnection,
    asks: &[(UserId, CommonList)],
) -> Result<Vec<Listed>, VideoQueryError> {
    let (mut shared, mut tagged, mut in_community): (Asks<&str>, Asks<&str>, Asks<Uuid>) = Default::default();
    for (i, (viewer, list)) in asks.iter().enumerate() {
        match list {
            CommonList::Tag(tag) => tagged.push((i, viewer.as_uuid(), tag.as_str())),
            CommonList::Community(community) => in_community.push((i, viewer.as_uuid(), community.as_uuid())),
            CommonList::Feed | CommonList::Popular | CommonList::Trending => {
                shared.push((i, viewer.as_uuid(), list.kind()))
            }
        }
    }
    let mut answers: Vec<Listed> = asks.iter().map(|_| Listed::default()).collect();
    let mut tx = sqlx::Connection::begin_with(&mut *conn, "begin isolation level repeatable read, read only").await?;
    if !shared.is_empty() {
        let (viewers, kinds) = columns(&shared);
        let ranked = with_batched_listing_rule!(shared_pages_statement!(&viewers, &kinds as &[&str]))
            .fetch_all(&mut *tx)
            .await?;
        let ranked = ranked.into_iter().map(|r| (r.n, r.id, r.sort_key)).collect();
        place(&mut answers, &shared, load_walked(&mut tx, ranked, shared.len()).await?);
    }
    if !tagged.is_empty() {
        let (viewers, tags) = columns(&tagged);
        let rows = with_batched_listing_rule!(tag_pages_statement!(&viewers, &tags as &[&str]))
            .fetch_all(&mut *tx)
            .await?;
        place(&mut answers, &tagged, pages_of(rows, tagged.len())?);
    }
    if !in_community.is_empty() {
        let (viewers, communities) = columns(&in_community);
        let rows = with_batched_listing_rule!(community_pages_statement!(&viewers, &communities))
            .fetch_all(&mut *tx)
            .await?;
        place(&mut answers, &in_community, pages_of(rows, in_community.len())?);
    }
    tx.commit().await?;
    Ok(answers)
}

/// The asks as a statement binds them: the readers, and what each asks.
fn columns<T: Copy>(asks: &Asks<T>) -> (Vec<Uuid>, Vec<T>) {
    asks.iter().map(|&(_, viewer, asked)| (viewer, asked)).unzip()
}

/// Puts each answer where its ask came from.
fn place<T>(answers: &mut [Listed], asks: &Asks<T>, pages: Vec<Listed>) {
    for (&(i, _, _), page) in asks.iter().zip(pages) {
        if let Some(slot) = answers.get_mut(i) {
            *slot = page;
        }
    }
}

/// `count` pages from walked rows `(n, id, key)` (`n` numbering the asks sent, from 1),
/// each in its own order (as the single-reader statements order it), their videos
/// loaded each once.
async fn load_walked(
    conn: &mut PgConnection,
    mut ranked: Vec<(i64, Uuid, f64)>,
    count: usize,
) -> Result<Vec<Listed>, VideoQueryError> {
    ranked.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.2.total_cmp(&a.2)).then(b.1.cmp(&a.1)));
    let mut pages: Vec<Vec<(Uuid, f64)>> = (0..count).map(|_| Vec::with_capacity(21)).collect();
    for (n, id, key) in ranked {
        if let Some(page) = usize::try_from(n - 1).ok().and_then(|i| pages.get_mut(i)) {
            page.push((id, key));
        }
    }
    Ok(load_pages(conn, pages)
        .await?
        .into_iter()
        .map(|page| {
            let (videos, keys) = page.into_iter().unzip();
            Listed { videos, keys }
        })
        .collect())
}

/// `count` pages from whole rows in page order, each numbering its ask (from 1).
fn pages_of(rows: Vec<VideoRow>, count: usize) -> Result<Vec<Listed>, VideoQueryError> {
    let mut pages: Vec<Listed> = (0..count).map(|_| Listed::default()).collect();
    for row in rows {
        let page = row
            .page
            .and_then(|n| usize::try_from(n - 1).ok())
            .and_then(|i| pages.get_mut(i));
        if let Some(page) = page {
            page.push(row)?;
        }
    }
    Ok(pages)
}
