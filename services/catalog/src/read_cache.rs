//! The hottest reads answered from memory: `GET /videos/{id}` of a published video by
//! someone who did not make it (recently read published videos, and each reader's
//! likes and community roles, which is all that read needs besides the caller), and
//! searches (each recent search's ranked matches among published videos, which every
//! reader's page is filtered from by the same visibility rule the SQL applies).
//!
//! PostgreSQL keeps it honest. Triggers `NOTIFY skillreel_cache` on every change to a
//! video, a like, a membership, an author's name or a community's policy, from any
//! service or statement (`migrations/*_read_cache.sql`); each replica listens and drops
//! what changed, so a change made on one replica is gone from every other's memory
//! within milliseconds of its commit. Handlers also drop what they change at once, so
//! the caller reads their own write. The cache serves nothing while it is not
//! listening (a lost connection empties it), and an entry lives at most the configured
//! TTL, which bounds what any missed notification could leave behind.
//!
//! A read that missed records the shard's generation before it queries and stores its
//! result only if nothing in the shard was dropped meanwhile, so a row read just before
//! a change can never be stored after the change's notification went by.

use std::collections::hash_map::{DefaultHasher, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use skillreel_db::engagement::ReaderState;
use skillreel_db::videos::{SearchMatch, VideoRecord};
use skillreel_domain::access::Viewer;
use skillreel_domain::{CommunityId, UserId, VideoId, VideoStatus};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::access::Membership;

/// The channel the triggers notify on.
const CHANNEL: &str = "skillreel_cache";
const SHARDS: usize = 64;
/// Readers who like more videos than this are not held in memory.
pub const MAX_LIKES_HELD: i64 = 10_000;
/// Searches matching more published videos than this are not held in memory.
pub const MAX_MATCHES_HELD: i64 = 2_000;
/// Searches held at once: at most about 130 MB with every one at [`MAX_MATCHES_HELD`]
/// (a match is about 64 bytes); typically a small fraction of that.
const SEARCHES_HELD: usize = 1_000;

/// A reader's likes and memberships, as the read needs them.
#[derive(Debug, Default)]
pub struct Reader {
    liked: std::collections::HashSet<VideoId>,
    communities: HashMap<CommunityId, Membership>,
}

impl Reader {
    pub fn likes(&self, video: VideoId) -> bool {
        self.liked.contains(&video)
    }

    /// Whether `viewer` (this reader) may find this match in a listing.
    pub fn may_list(&self, viewer: &Viewer, found: &SearchMatch) -> bool {
        viewer.may_list(
            VideoStatus::Published,
            &found.facts(),
            self.membership(found.community_id),
        )
    }

    pub fn membership(&self, community: Option<CommunityId>) -> Membership {
        community
            .and_then(|c| self.communities.get(&c).copied())
            .unwrap_or_default()
    }
}

impl From<ReaderState> for Reader {
    fn from(state: ReaderState) -> Self {
        Self {
            liked: state.liked.into_iter().collect(),
            communities: state
                .communities
                .into_iter()
                .map(|(c, moderates)| {
                    (
                        c,
                        if moderates {
                            Membership::Moderator
                        } else {
                            Membership::Member
                        },
                    )
                })
                .collect(),
        }
    }
}

struct Shard<K, V> {
    entries: HashMap<K, (Instant, V)>,
    /// Bumped whenever anything in the shard is dropped.
    generation: u64,
}

/// A map split into independently locked shards, each bounded.
struct Table<K, V> {
    shards: Vec<Mutex<Shard<K, V>>>,
    per_shard: usize,
}

impl<K: Hash + Eq, V: Clone> Table<K, V> {
    fn new(capacity: usize) -> Self {
        Self::with_shards(SHARDS, capacity)
    }

    /// One lock for everything: for what is dropped all at once.
    fn single(capacity: usize) -> Self {
        Self::with_shards(1, capacity)
    }

    fn with_shards(shards: usize, capacity: usize) -> Self {
        Self {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        entries: HashMap::new(),
                        generation: 0,
                    })
                })
                .collect(),
            per_shard: capacity.div_ceil(shards).max(1),
        }
    }

    fn shard(&self, key: &K) -> MutexGuard<'_, Shard<K, V>> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let shard = &self.shards[hasher.finish() as usize % self.shards.len()];
        // A panic while holding the lock cannot leave a shard half-written: every
        // operation below is a single map call.
        shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, key: &K, ttl: Duration) -> Option<V> {
        let shard = self.shard(key);
        let (at, value) = shard.entries.get(key)?;
        (at.elapsed() < ttl).then(|| value.clone())
    }

    fn generation(&self, key: &K) -> u64 {
        self.shard(key).generation
    }

    /// Stores `value` unless something in its shard was dropped since `generation`.
    fn put(&self, key: K, value: V, generation: u64, ttl: Duration) {
        let mut shard = self.shard(&key);
        if shard.generation != generation {
            return;
        }
        if shard.entries.len() >= self.per_shard {
            shard.entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if shard.entries.len() >= self.per_shard {
                shard.entries.clear();
            }
        }
        shard.entries.insert(key, (Instant::now(), value));
    }

    fn remove(&self, key: &K) {
        let mut shard = self.shard(key);
        shard.generation += 1;
        shard.entries.remove(key);
    }

    fn clear(&self) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            shard.generation += 1;
            shard.entries.clear();
        }
    }
}

/// See the module documentation.
pub struct ReadCache {
    videos: Table<VideoId, Arc<VideoRecord>>,
    readers: Table<UserId, Arc<Reader>>,
    /// By [`search_key`]: one shard, as any change to what searches find drops them all.
    searches: Table<String, Arc<Vec<SearchMatch>>>,
    ttl: Duration,
    /// Whether changes are being heard; nothing is served or stored while not.
    listening: AtomicBool,
}

/// A shard's generation, taken before a read that missed, to store its result with.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl ReadCache {
    /// `ttl` zero turns the cache off.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            videos: Table::new(capacity),
            readers: Table::new(capacity),
            searches: Table::single(SEARCHES_HELD),
            ttl,
            listening: AtomicBool::new(false),
        }
    }

    /// Whether it serves at all: configured on, and hearing of changes.
    pub fn is_serving(&self) -> bool {
        !self.ttl.is_zero() && self.listening.load(Ordering::Acquire)
    }

    /// A held published video.
    pub fn video(&self, video: VideoId) -> Option<Arc<VideoRecord>> {
        self.is_serving().then(|| self.videos.get(&video, self.ttl)).flatten()
    }

    /// Taken before querying what [`ReadCache::put_video`] stores.
    pub fn video_ticket(&self, video: VideoId) -> Ticket {
        Ticket(self.videos.generation(&video))
    }

    /// Holds a published video; any other is never served from memory.
    pub fn put_video(&self, ticket: Ticket, video: &VideoRecord) {
        if self.is_serving() && video.status == VideoStatus::Published {
            self.videos.put(video.id, Arc::new(video.clone()), ticket.0, self.ttl);
        }
    }

    /// Taken before querying what [`ReadCache::put_reader`] stores.
    pub fn reader_ticket(&self, reader: UserId) -> Ticket {
        Ticket(self.readers.generation(&reader))
    }

    pub fn put_reader(&self, ticket: Ticket, reader: UserId, state: Arc<Reader>) {
        if self.is_serving() {
            self.readers.put(reader, state, ticket.0, self.ttl);
        }
    }

    pub fn forget_video(&self, video: VideoId) {
        self.videos.remove(&video);
    }

    pub fn forget_reader(&self, reader: UserId) {
        self.readers.remove(&reader);
    }

    /// The reader, when held.
    pub fn reader(&self, reader: UserId) -> Option<Arc<Reader>> {
        self.is_serving().then(|| self.readers.get(&reader, self.ttl)).flatten()
    }

    /// The ranked matches of a search (see [`search_key`]), when held.
    pub fn search(&self, key: &String) -> Option<Arc<Vec<SearchMatch>>> {
        self.is_serving().then(|| self.searches.get(key, self.ttl)).flatten()
    }

    /// Taken before querying what [`ReadCache::put_search`] stores.
    pub fn search_ticket(&self, key: &String) -> Ticket {
        Ticket(self.searches.generation(key))
    }

    pub fn put_search(&self, ticket: Ticket, key: String, matches: Arc<Vec<SearchMatch>>) {
        if self.is_serving() {
            self.searches.put(key, matches, ticket.0, self.ttl);
        }
    }

    /// After a change to what searches find (text, status, audience of a published video).
    pub fn forget_searches(&self) {
        self.searches.clear();
    }

    pub fn forget_all(&self) {
        self.videos.clear();
        self.readers.clear();
        self.searches.clear();
    }

    /// Applies one notification payload (see the migration).
    fn apply(&self, payload: &str) {
        let parsed = |id: &str| id.parse::<Uuid>().ok();
        match payload.split_once(':') {
            Some(("v", id)) => match parsed(id) {
                Some(id) => self.forget_video(VideoId::from_uuid(id)),
                None => self.forget_all(),
            },
            Some(("u", id)) => match parsed(id) {
                Some(id) => self.forget_reader(UserId::from_uuid(id)),
                None => self.forget_all(),
            },
            None if payload == "s" => self.forget_searches(),
            // '*' and anything this version does not know
            _ => self.forget_all(),
        }
    }

    fn set_listening(&self, listening: bool) {
        // Whatever changed while nobody listened is unknown: start from nothing.
        self.forget_all();
        self.listening.store(listening, Ordering::Release);
    }

    /// Listens for changes until `shutdown`, reconnecting after a lost connection.
    pub fn spawn_listener(self: Arc<Self>, pool: PgPool, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            if self.ttl.is_zero() {
                return;
            }
            loop {
                match listen(&self, &pool, &shutdown).await {
                    Ok(()) => break,
                    Err(e) => tracing::warn!(error = %e, "read cache stopped listening; retrying in 1 s"),
                }
                self.set_listening(false);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            self.set_listening(false);
        })
    }
}

/// One listening session: returns `Ok` on shutdown, `Err` when the connection is lost.
async fn listen(cache: &ReadCache, pool: &PgPool, shutdown: &CancellationToken) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    cache.set_listening(true);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            // `try_recv`, not `recv`: `recv` would reconnect silently, hiding the
            // notifications missed meanwhile.
            received = listener.try_recv() => match received? {
                Some(notification) => cache.apply(notification.payload()),
                None => return Err(sqlx::Error::Protocol("the notification connection was lost".into())),
            },
        }
    }
}

/// What identifies a search's matches: its words, filters and (static) order. Not the
/// reader: their visibility is applied to the matches afterwards.
pub fn search_key(filter: &skillreel_db::videos::VideoFilter, sort: skillreel_db::videos::Sort) -> String {
    format!(
        "{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        sort.as_str(),
        filter.words,
        filter.tag,
        filter.community,
        filter.author,
        filter.language,
        filter.min_duration_ms,
        filter.max_duration_ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_during_a_read_keeps_the_stale_result_out() {
        let table: Table<u32, &str> = Table::new(100);
        let ttl = Duration::from_secs(60);
        let before = table.generation(&1);
        table.remove(&1); // a change heard while the read was in flight
        table.put(1, "stale", before, ttl);
        assert_eq!(table.get(&1, ttl), None);
        table.put(1, "fresh", table.generation(&1), ttl);
        assert_eq!(table.get(&1, ttl), Some("fresh"));
    }

    #[test]
    fn entries_expire_and_shards_stay_bounded() {
        let table: Table<u32, u32> = Table::new(SHARDS);
        for key in 0..10_000 {
            table.put(key, key, table.generation(&key), Duration::from_secs(60));
        }
        let held: usize = table
            .shards
            .iter()
            .map(|s| s.lock().map(|s| s.entries.len()).unwrap_or(0))
            .sum();
        assert!(held <= SHARDS, "held {held}");
        table.put(7, 7, table.generation(&7), Duration::from_secs(60));
        assert_eq!(table.get(&7, Duration::ZERO), None);
    }

    #[test]
    fn nothing_is_served_until_it_listens() {
        let cache = ReadCache::new(Duration::from_secs(60), 100);
        let reader = UserId::new();
        cache.put_reader(cache.reader_ticket(reader), reader, Arc::default());
        assert!(cache.reader(reader).is_none());
        cache.set_listening(true);
        cache.put_reader(cache.reader_ticket(reader), reader, Arc::default());
        assert!(cache.reader(reader).is_some());
        cache.apply(&format!("u:{}", reader.as_uuid()));
        assert!(cache.reader(reader).is_none());
    }
}
