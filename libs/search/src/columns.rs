//! The columns a search reads its results from, opened once per segment.
//!
//! Opening a column reads its block index (about two thousand entries per column at a
//! million videos) into memory: done for every search, opening the id and date columns
//! cost nearly as much as scoring the matches (measured with `perf`,
//! `docs/BENCHMARKS.md`).
//! A segment never changes once written (deletes are kept beside it), so what was
//! opened stays right for as long as the segment is searched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tantivy::columnar::{Column, StrColumn};
use tantivy::index::SegmentId;
use tantivy::{Searcher, SegmentReader};

use crate::schema::AUDIENCE;

/// One segment's result columns; a column the segment lacks (nothing indexed in it
/// yet) is `None`.
pub(crate) struct SegmentColumns {
    pub(crate) id_hi: Option<Column<u64>>,
    pub(crate) id_lo: Option<Column<u64>>,
    pub(crate) published_at: Option<Column<i64>>,
    pub(crate) audience: Option<StrColumn>,
}

impl SegmentColumns {
    fn open(segment: &SegmentReader) -> Self {
        let columns = segment.fast_fields();
        Self {
            id_hi: columns.u64("id_hi").ok(),
            id_lo: columns.u64("id_lo").ok(),
            published_at: columns.i64("published_at").ok(),
            audience: columns.str(AUDIENCE).ok().flatten(),
        }
    }
}

/// The opened columns of the segments being searched.
#[derive(Default)]
pub(crate) struct OpenColumns(Mutex<HashMap<SegmentId, Arc<SegmentColumns>>>);

impl OpenColumns {
    /// `segment`'s columns, opened now if no search opened them before.
    pub(crate) fn of(&self, segment: &SegmentReader) -> Arc<SegmentColumns> {
        let id = segment.segment_id();
        if let Some(open) = self.lock().get(&id) {
            return Arc::clone(open);
        }
        // Opened outside the lock: two searches may both open a new segment's columns
        // once, rather than every search wait behind one.
        let open = Arc::new(SegmentColumns::open(segment));
        self.lock().insert(id, Arc::clone(&open));
        open
    }

    /// Closes the columns of segments `searcher` no longer has (merged away), so their
    /// files can go. Called whenever the reader moves to new segments.
    pub(crate) fn keep_only(&self, searcher: &Searcher) {
        let current: Vec<SegmentId> = searcher.segment_readers().iter().map(|s| s.segment_id()).collect();
        self.lock().retain(|id, _| current.contains(id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Arc<SegmentColumns>>> {
        // The map holds no invariant a panicking holder could break.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}
