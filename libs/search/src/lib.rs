//! Video search for the catalog: a [Tantivy](https://docs.rs/tantivy) index of the
//! published videos, so that every search (not only a repeated one) is answered in
//! milliseconds at a million videos, with BM25 ranking, English and German stemming,
//! prefix matching and tolerance for one typo.
//!
//! PostgreSQL stays the truth. The index holds only what finds, ranks and filters a
//! video (its words, tags, language, duration, publication time) and who may list it
//! (its audience terms); the catalog loads the videos it names from the database and
//! checks each against the access policy again, so a stale index can leave a video
//! out for a moment but never show one to someone who may not see it.
//!
//! Each catalog replica keeps its own index, fed by the database's search change feed
//! (`search_change`, in commit order). The position of the last change applied is
//! written in the same Tantivy commit as the documents, so a replica that restarts
//! continues from there instead of rebuilding; a new replica, or one whose index was
//! written by another schema, builds it from the `video` table while the catalog
//! answers searches from PostgreSQL.

mod any_of;
mod columns;
mod document;
pub mod feed;
mod index;
mod query;
mod schema;

pub use document::IndexedVideo;
pub use index::{IndexWriter, SearchIndex};
pub use query::{Found, Lister, SearchOrder, SearchRequest};

/// What can go wrong with the index (never with a search's input: every request
/// builds a valid query).
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory {path}: {source}")]
    Directory { path: String, source: std::io::Error },
}
