//! The index of one replica: opened (or made) at start, written by one [`IndexWriter`]
//! that follows the change feed, read by every search.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tantivy::directory::MmapDirectory;
use tantivy::indexer::{IndexWriterOptions, LogMergePolicy, NoMergePolicy};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term};
use tokio::sync::{Notify, watch};

use crate::columns::OpenColumns;
use crate::query::{self, Found, SearchRequest};
use crate::schema::{self, Analyzers, Fields, SCHEMA_VERSION};
use crate::{IndexedVideo, SearchError};

/// Bytes the writer buffers before it writes a segment: a build of a million videos
/// writes a few dozen segments, an update a small one.
const WRITER_MEMORY: usize = 64 * 1024 * 1024;

/// The read side, shared by every request.
pub struct SearchIndex {
    fields: Fields,
    reader: IndexReader,
    /// The last change applied and committed; `None` until the index has been built.
    position: watch::Sender<Option<i64>>,
    /// Asks the writer's follower to look for changes now.
    wake: Notify,
    /// The result columns of the segments searched, opened once each.
    columns: Arc<OpenColumns>,
}

/// The write side: one per index, owned by whoever follows the change feed.
pub struct IndexWriter {
    shared: Arc<SearchIndex>,
    writer: tantivy::IndexWriter<TantivyDocument>,
    analyzers: Analyzers,
}

impl SearchIndex {
    /// Opens the index kept in `dir`, or makes an empty one (in memory without a
    /// `dir`). An index written by another schema version is wiped: its position then
    /// reads `None`, and the caller builds it again.
    pub fn open(dir: Option<&Path>) -> Result<(Arc<SearchIndex>, IndexWriter), SearchError> {
        let (schema, fields) = schema::schema();
        let (index, position) = match dir {
            None => (Index::create_in_ram(schema), None),
            Some(dir) => open_dir(dir, schema)?,
        };
        schema::register_analyzers(&index);
        let options = IndexWriterOptions::builder()
            .num_worker_threads(1)
            .num_merge_threads(1)
            .memory_budget_per_thread(WRITER_MEMORY)
            .build();
        let writer = index.writer_with_options(options)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let shared = Arc::new(SearchIndex {
            fields,
            reader,
            position: watch::Sender::new(position),
            wake: Notify::new(),
            columns: Arc::default(),
        });
        let analyzers = Analyzers::new();
        Ok((
            Arc::clone(&shared),
            IndexWriter {
                shared,
                writer,
                analyzers,
            },
        ))
    }

    /// Marks the index as not built: searches ask PostgreSQL until a commit, and the
    /// follower builds it again.
    pub(crate) fn forget_position(&self) {
        self.position.send_replace(None);
    }

    /// The position of the last change the index holds; `None` while it is not built.
    pub fn position(&self) -> Option<i64> {
        *self.position.borrow()
    }

    /// Waits until the index holds every change up to `position` (a search that must
    /// see what was just committed), at most `timeout`; whether it got there.
    pub async fn caught_up(&self, position: i64, timeout: Duration) -> bool {
        if self.position().is_some_and(|p| p >= position) {
            return true;
        }
        self.wake.notify_one();
        let mut seen = self.position.subscribe();
        tokio::time::timeout(timeout, seen.wait_for(|p| p.is_some_and(|p| p >= position)))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Resolves when a search found the index behind (the follower then looks now
    /// rather than at its next round).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// The page `request` asks for: ids and keys, best first. CPU-bound (a few
    /// milliseconds at a million videos): run it off the async workers.
    pub fn search(&self, request: &SearchRequest) -> Result<Vec<Found>, SearchError> {
        let mut analyzers = Analyzers::new();
        let found = self.run(request, &mut analyzers, &[])?;
        if !found.is_empty() {
            return Ok(found);
        }
        let unknown = self.unknown_words(request)?;
        if unknown.is_empty() {
            return Ok(found);
        }
        // Past the last page of what matched as typed: the end, not the typos.
        if request.after.is_some() {
            let first = SearchRequest {
                after: None,
                limit: 1,
                ..request.clone()
            };
            if !self.run(&first, &mut analyzers, &[])?.is_empty() {
                return Ok(found);
            }
        }
        self.run(request, &mut analyzers, &unknown)
    }

    /// The words, long enough to forgive a typo in, that no video has as written.
    fn unknown_words<'r>(&self, request: &'r SearchRequest) -> Result<Vec<&'r str>, SearchError> {
        let searcher = self.reader.searcher();
        let mut unknown = Vec::new();
        for word in request.typo_candidates() {
            let mut seen = false;
            for text in self.fields.texts() {
                let term = Term::from_field_text(text.of(schema::Analyzer::Simple), word);
                seen |= searcher.doc_freq(&term)? > 0;
            }
            if !seen {
                unknown.push(word);
            }
        }
        Ok(unknown)
    }

    fn run(
        &self,
        request: &SearchRequest,
        analyzers: &mut Analyzers,
        typos: &[&str],
    ) -> Result<Vec<Found>, SearchError> {
        let searcher = self.reader.searcher();
        let query = query::build(request, &self.fields, analyzers, typos);
        let ranked = searcher.search(&query, &query::collector(request, Arc::clone(&self.columns)))?;
        Ok(query::found(ranked))
    }

    /// Moves searches to the segments last committed, closing the columns of those
    /// merged away.
    fn reload(&self) -> tantivy::Result<()> {
        self.reader.reload()?;
        self.columns.keep_only(&self.reader.searcher());
        Ok(())
    }

    /// Videos the index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl IndexWriter {
    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.shared
    }

    /// Drops every video (the start of a build; nothing changes for searches until
    /// [`IndexWriter::commit`]). Until [`IndexWriter::compact`], segments are not merged
    /// in the background: the build's own merge would race those merges for the same
    /// segments, and fail.
    pub fn clear(&mut self) -> Result<(), SearchError> {
        self.writer.set_merge_policy(Box::new(NoMergePolicy));
        self.writer.delete_all_documents()?;
        Ok(())
    }

    /// Adds videos the index does not hold (a build).
    pub fn add(&mut self, videos: &[IndexedVideo]) -> Result<(), SearchError> {
        for video in videos {
            self.writer
                .add_document(video.to_document(&self.shared.fields, &mut self.analyzers))?;
        }
        Ok(())
    }

    /// Replaces what the index holds of `changed` by `current` (those of them still
    /// published; the others leave the index).
    pub fn replace(&mut self, changed: &[uuid::Uuid], current: &[IndexedVideo]) -> Result<(), SearchError> {
        for id in changed {
            self.writer
                .delete_term(Term::from_field_text(self.shared.fields.id, &id.to_string()));
        }
        self.add(current)
    }

    /// Merges the committed segments into one: a query looks each term up once per
    /// segment, so a freshly built index (a few dozen segments) answers faster merged.
    /// Background merges resume afterwards.
    pub fn compact(&mut self) -> Result<(), SearchError> {
        let merged = self.merge_all();
        self.writer.set_merge_policy(Box::new(LogMergePolicy::default()));
        merged
    }

    fn merge_all(&mut self) -> Result<(), SearchError> {
        let segments = self.writer.index().searchable_segment_ids()?;
        if segments.len() > 1 {
            self.writer.merge(&segments).wait()?;
            self.shared.reload()?;
        }
        Ok(())
    }

    /// Makes what was written searchable, with `position` (the last change it holds)
    /// in the same commit, so a restart continues after it.
    pub fn commit(&mut self, position: i64) -> Result<(), SearchError> {
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&payload(position));
        prepared.commit()?;
        self.shared.reload()?;
        self.shared.position.send_replace(Some(position));
        Ok(())
    }
}

fn payload(position: i64) -> String {
    format!("skillreel-search v{SCHEMA_VERSION} position {position}")
}

fn position_in(payload: &str) -> Option<i64> {
    payload
        .strip_prefix(&format!("skillreel-search v{SCHEMA_VERSION} position "))?
        .parse()
        .ok()
}

/// The index in `dir` and its position, or a fresh one (with none) when there is no
/// index there yet or it was written under another schema.
fn open_dir(dir: &Path, schema: tantivy::schema::Schema) -> Result<(Index, Option<i64>), SearchError> {
    let io = |source| SearchError::Directory {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let directory = MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?;
    if Index::exists(&directory).map_err(tantivy::TantivyError::from)? {
        match reusable(directory, &schema) {
            Ok(kept) => return Ok(kept),
            Err(why) => tracing::info!(dir = %dir.display(), %why, "building the search index again"),
        }
        // Derived data: whatever is there is rebuilt from the database.
        std::fs::remove_dir_all(dir).map_err(io)?;
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    Ok((Index::create_in_dir(dir, schema)?, None))
}

/// The index in `directory` with its position, if it was written by this schema version
/// and committed with a position; otherwise why not.
fn reusable(directory: MmapDirectory, schema: &tantivy::schema::Schema) -> Result<(Index, Option<i64>), String> {
    let index = Index::open(directory).map_err(|e| format!("unreadable: {e}"))?;
    if index.schema() != *schema {
        return Err("written by another schema".into());
    }
    let metas = index.load_metas().map_err(|e| format!("unreadable: {e}"))?;
    match metas.payload.as_deref().and_then(position_in) {
        Some(position) => Ok((index, Some(position))),
        None => Err("written by another version, or never committed with a position".into()),
    }
}

#[cfg(test)]
mod tests {
    use skillreel_domain::{UserId, VideoId, Visibility};

    use super::*;
    use crate::Lister;

    fn video(title: &str) -> IndexedVideo {
        IndexedVideo {
            id: VideoId::new(),
            owner: UserId::new(),
            title: title.into(),
            description: String::new(),
            tags: Vec::new(),
            spoken: String::new(),
            language: "en".into(),
            visibility: Visibility::Org,
            community: None,
            duration_ms: None,
            published_at: 1,
        }
    }

    fn found(index: &SearchIndex, words: &str) -> Result<usize, SearchError> {
        Ok(index.search(&SearchRequest::new(words, Lister::Admin))?.len())
    }

    /// Each segment's columns are opened by the first search that reads it, and closed
    /// once a merge has replaced the segment; results read through them stay right.
    #[test]
    fn columns_are_opened_once_per_segment_and_closed_after_a_merge() -> Result<(), SearchError> {
        let (index, mut writer) = SearchIndex::open(None)?;
        writer.clear()?;
        writer.add(&[video("Rust basics")])?;
        writer.commit(1)?;
        writer.add(&[video("Rust advanced")])?;
        writer.commit(2)?;
        let segments = index.reader.searcher().segment_readers().len();
        assert_eq!(segments, 2);
        assert_eq!(index.columns.len(), 0, "nothing opened before a search");
        assert_eq!(found(&index, "rust")?, 2);
        assert_eq!(index.columns.len(), 2);
        assert_eq!(found(&index, "basics")?, 1);
        assert_eq!(index.columns.len(), 2, "opened once, not per search");
        writer.compact()?;
        assert_eq!(index.columns.len(), 0, "the merged-away segments' columns closed");
        assert_eq!(found(&index, "rust")?, 2);
        assert_eq!(index.columns.len(), 1);
        Ok(())
    }
}
