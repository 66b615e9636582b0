//! Videos: the rows every service reads or moves along their lifecycle.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use skillreel_domain::access::VideoFacts;
use skillreel_domain::{ApprovalPolicy, CommunityId, Rendition, UserId, VideoId, VideoStatus, Visibility};
use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
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
    /// Where it comes from, when another instance published it.
    pub origin: Option<VideoOrigin>,
}

/// A video of another instance, as kept here: its media stay at the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoOrigin {
    /// `host[:port]` of the instance that published it.
    pub host: String,
    /// Its ActivityPub id there.
    pub object_id: String,
    /// Its page there.
    pub url: Option<String>,
    pub hls_url: Option<String>,
    pub thumbnail_url: Option<String>,
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
    origin: Option<String>,
    origin_id: Option<String>,
    origin_url: Option<String>,
    origin_hls_url: Option<String>,
    origin_thumbnail_url: Option<String>,
    reader_likes: Option<bool>,
    reader_role: Option<String>,
    sort_key: Option<f64>,
    page: Option<i64>,
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
            origin: r.origin.zip(r.origin_id).map(|(host, object_id)| VideoOrigin {
                host,
                object_id,
                url: r.origin_url,
                hls_url: r.origin_hls_url,
                thumbnail_url: r.origin_thumbnail_url,
            }),
        })
    }
}

/// `select` of every column a [`VideoRecord`] needs, followed by `$tail` (string
/// literals: more joins, `where`, `order by`), with `$args` bound to its parameters.
/// One column list for every query that returns videos.
macro_rules! select_videos {
    ($tail:literal, $($arg:expr),* $(,)?) => {
        select_videos!([$tail], $($arg),*)
    };
    ([$($tail:tt)+], $($arg:expr),* $(,)?) => {
        select_videos!(with: ["null::bool", "null::text", "null::float8"], [$($tail)+], $($arg),*)
    };
    // With three more columns (SQL expressions): whether one reader likes it, their
    // role in its community, and the row's key in a ranked list.
    (with: [$liked:literal, $role:literal, $key:literal], [$($tail:tt)+], $($arg:expr),* $(,)?) => {
        select_videos!(from: ["video v"], with: [$liked, $role, $key, "null::int8"], [$($tail)+], $($arg),*)
    };
    // Videos `v` from `$source` (`video v`, or rows of `video` a statement walked to,
    // named `v`), with a fourth column: which of several asks the row answers.
    (from: [$($source:tt)+], with: [$liked:literal, $role:literal, $key:literal, $page:literal], [$($tail:tt)+],
     $($arg:expr),* $(,)?) => {
        sqlx::query_as!(
            VideoRow,
            r#"
            select v.id, v.owner_id, v.owner_name, v.title, v.description, v.tags, v.status,
                   v.failure_reason, v.source_key, v.source_size, v.duration_ms, v.width, v.height,
                   v.hls_key, v.thumbnail_key, v.storyboard_key, v.renditions as "renditions: Json<Vec<Rendition>>",
                   v.created_at, v.updated_at, up.upload_offset as "upload_offset?", up.length as "upload_length?",
                   v.processing_progress, v.playable_at, v.time_to_playable_ms, v.time_to_complete_ms,
                   v.community_id, vc.approval_policy as "community_policy?",
                   v.owner_manager_subject,
                   v.visibility, v.language, v.published_at, v.review_reason, v.like_count, v.view_count,
                   v.origin, v.origin_id, v.origin_url, v.origin_hls_url, v.origin_thumbnail_url,
                   "# + $liked + r#" as "reader_likes?", "# + $role + r#" as "reader_role?",
                   "# + $key + r#" as "sort_key?", "# + $page + r#" as "page?"
              from "# + $($source)+ + r#"
              left join upload up on up.video_id = v.id and v.status = 'uploading'
              -- (a join, not a subquery per row: communities are few, and PostgreSQL
              -- scans a small table whole rather than probe its key, once per row)
              left join community vc on vc.id = v.community_id
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

/// What one reader's view of a video depends on besides the video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderFacts {
    pub liked: bool,
    /// Their role in the video's community (`member`, `moderator`), if they belong.
    pub community_role: Option<String>,
}

/// The video with whether `reader` likes it and their role in its community: what a
/// point read needs, in one round trip ([`find_for_readers`] for one pair: one statement
/// for both, so a read alone and reads together are answered alike).
#[tracing::instrument(skip(conn))]
pub async fn find_for_reader(
    conn: &mut PgConnection,
    id: VideoId,
    reader: UserId,
) -> Result<Option<(VideoRecord, ReaderFacts)>, VideoQueryError> {
    let mut found = find_for_readers(conn, &[(id, reader)]).await?;
    Ok(found.pop().flatten())
}

/// [`find_for_reader`] for many (video, reader) pairs in one statement: what point
/// reads that arrive together ask (see `skillreel_web::Coalescer`). One answer per
/// pair, in their order; the same video asked by two readers comes back twice, each
/// with that reader's facts.
#[tracing::instrument(skip_all, fields(asked = asked.len()))]
pub async fn find_for_readers(
    conn: &mut PgConnection,
    asked: &[(VideoId, UserId)],
) -> Result<Vec<Option<(VideoRecord, ReaderFacts)>>, VideoQueryError> {
    let ids: Vec<Uuid> = asked.iter().map(|(video, _)| video.as_uuid()).collect();
    let readers: Vec<Uuid> = asked.iter().map(|(_, reader)| reader.as_uuid()).collect();
    let rows = select_videos!(
        from: ["video v"],
        with: [
            "exists(select 1 from video_like l where l.video_id = v.id and l.user_id = q.reader_id)",
            "(select m.role from community_member m where m.community_id = v.community_id and m.user_id = q.reader_id)",
            "null::float8",
            "q.n"
        ],
        ["join unnest($1::uuid[], $2::uuid[]) with ordinality as q(video_id, reader_id, n) on q.video_id = v.id"],
        &ids,
        &readers,
    )
    .fetch_all(conn)
    .await?;
    let mut found: Vec<Option<(VideoRecord, ReaderFacts)>> = asked.iter().map(|_| None).collect();
    for mut row in rows {
        let place = row
            .page
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| n.checked_sub(1));
        let Some(slot) = place.and_then(|place| found.get_mut(place)) else {
            continue;
        };
        let facts = ReaderFacts {
            liked: row.reader_likes.unwrap_or(false),
            community_role: row.reader_role.take(),
        };
        *slot = Some((VideoRecord::try_from(row)?, facts));
    }
    Ok(found)
}

mod lifecycle;
mod listing;
mod review;

pub use lifecycle::*;
pub use listing::*;
pub use review::*;

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
        };
        assert_eq!(RankCursor::decode(&ranked.encode()), Some(ranked));
        let forged = |text: &str| URL_SAFE_NO_PAD.encode(text);
        let id = Uuid::nil();
        let earlier = RankCursor { key: 1.5, id };
        assert_eq!(
            RankCursor::decode(&forged(&format!("1.5|{id}|1700000000000000000"))),
            Some(earlier)
        );
        assert_eq!(RankCursor::decode(&forged(&format!("1.5|{id}|1|2"))), None);
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

    #[test]
    fn only_the_unnarrowed_lists_and_one_tag_or_community_newest_first_are_common_lists() {
        let tag = VideoFilter {
            tag: Some("rust".into()),
            ..VideoFilter::default()
        };
        let community = CommunityId::new();
        let in_community = VideoFilter {
            community: Some(community),
            ..VideoFilter::default()
        };
        let none = VideoFilter::default();
        assert_eq!(CommonList::of(&none, Sort::Recent), Some(CommonList::Feed));
        assert_eq!(CommonList::of(&none, Sort::Popular), Some(CommonList::Popular));
        assert_eq!(CommonList::of(&none, Sort::Trending), Some(CommonList::Trending));
        assert_eq!(CommonList::of(&tag, Sort::Recent), Some(CommonList::Tag("rust".into())));
        assert_eq!(
            CommonList::of(&in_community, Sort::Recent),
            Some(CommonList::Community(community))
        );
        // Anything narrower, or another order, is a listing of its own.
        assert_eq!(CommonList::of(&tag, Sort::Popular), None);
        assert_eq!(CommonList::of(&in_community, Sort::Trending), None);
        assert_eq!(CommonList::of(&none, Sort::Relevance), None);
        let both = VideoFilter {
            community: Some(community),
            ..tag.clone()
        };
        assert_eq!(CommonList::of(&both, Sort::Recent), None);
        let tag_in_german = VideoFilter {
            language: Some("de".into()),
            ..tag
        };
        assert_eq!(CommonList::of(&tag_in_german, Sort::Recent), None);
        let by_author = VideoFilter {
            author: Some(UserId::new()),
            ..VideoFilter::default()
        };
        assert_eq!(CommonList::of(&by_author, Sort::Recent), None);
    }

    #[test]
    fn a_first_page_is_published_of_the_default_size_and_without_a_cursor() {
        let none = VideoFilter::default();
        let published = VideoStatus::Published;
        let first = |status, after, limit| CommonList::first_page(status, &none, Sort::Popular, after, limit);
        assert_eq!(first(published, None, DEFAULT_PAGE + 1), Some(CommonList::Popular));
        assert_eq!(first(published, None, 6), None);
        let after = RankCursor {
            key: 3.0,
            id: Uuid::now_v7(),
        };
        assert_eq!(first(published, Some(after), DEFAULT_PAGE + 1), None);
        assert_eq!(first(VideoStatus::Ready, None, DEFAULT_PAGE + 1), None);
        assert_eq!(
            CommonList::first_page(published, &none, Sort::Relevance, None, DEFAULT_PAGE + 1),
            None
        );
    }
}
