//! Skillreel's object storage behind one trait, [`Storage`].
//!
//! Two stores implement it: [`LocalStore`] (files under a folder: the laptop and demo
//! default) and [`S3Store`] (AWS S3 or any S3-compatible server: Garage, MinIO, Ceph).
//! Services hold an `Arc<dyn Storage>` built by [`from_settings`] and never know which
//! one they talk to. Writes stream: an [`ObjectWriter`] takes chunks as they arrive and
//! never holds a whole file in memory (on S3 it is a multipart upload).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use skillreel_config::{StorageBackend, StorageSettings};

mod key;
mod layout;
mod local;
mod s3;

pub use key::{InvalidKey, ObjectKey};
pub use layout::{VideoFiles, is_playback_file};
pub use local::LocalStore;
pub use s3::S3Store;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object `{0}` not found")]
    NotFound(String),
    #[error(transparent)]
    InvalidKey(#[from] InvalidKey),
    #[error("requested range {start}-{end} is outside the object")]
    InvalidRange { start: u64, end: u64 },
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("object store request failed: {0}")]
    Remote(String),
}

impl StorageError {
    /// Whether retrying later may succeed (an outage rather than a wrong request).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Io(_) | Self::Remote(_))
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// An object's bytes (possibly a range of them), streamed.
pub struct ObjectBody {
    /// Size of the whole object.
    pub total_size: u64,
    /// First and last byte (inclusive) of what `stream` yields.
    pub range: (u64, u64),
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
}

impl fmt::Debug for ObjectBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectBody")
            .field("total_size", &self.total_size)
            .field("range", &self.range)
            .finish()
    }
}

/// A store of immutable objects addressed by [`ObjectKey`].
#[async_trait]
pub trait Storage: Send + Sync + fmt::Debug {
    /// Uploads a local file.
    async fn put_file(&self, key: &ObjectKey, path: &Path, content_type: &str) -> Result<()>;

    /// Starts a streamed write; nothing is visible under `key` until `finish`.
    async fn writer(&self, key: &ObjectKey, content_type: &str) -> Result<Box<dyn ObjectWriter>>;

    /// The object's size, or `NotFound`.
    async fn size(&self, key: &ObjectKey) -> Result<u64>;

    /// Streams the object, or the inclusive byte range `range` of it.
    async fn get(&self, key: &ObjectKey, range: Option<(u64, u64)>) -> Result<ObjectBody>;

    /// Copies the object to a local file (FFmpeg wants a seekable input).
    async fn download_to(&self, key: &ObjectKey, path: &Path) -> Result<u64>;

    /// Removes every object whose key starts with `prefix` (a "folder").
    async fn delete_prefix(&self, prefix: &ObjectKey) -> Result<()>;

    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> Result<()>;

    /// Starts an object assembled from numbered parts over many requests, even across
    /// processes: the caller keeps the returned multipart id and the parts' etags (in
    /// PostgreSQL), so any replica can continue. `None` when the store needs no id.
    async fn begin_parts(&self, key: &ObjectKey) -> Result<Option<String>>;

    /// Stores part `number` (from 1), which starts at byte `offset` of the object, and
    /// returns its etag; storing a number again replaces it, so a retried request can't
    /// corrupt the object.
    async fn put_part(
        &self,
        key: &ObjectKey,
        multipart: Option<&str>,
        number: i32,
        offset: u64,
        body: Bytes,
    ) -> Result<String>;

    /// Makes the parts stored so far durable. Callers record a part as stored (commit an
    /// upload's offset) only after this returns, so one sync covers a whole request.
    async fn sync_parts(&self, key: &ObjectKey) -> Result<()>;

    /// Joins `parts` (number, etag), in order, into the object of `size` bytes.
    async fn complete_parts(
        &self,
        key: &ObjectKey,
        multipart: Option<&str>,
        parts: &[(i32, String)],
        size: u64,
    ) -> Result<()>;

    /// Drops every stored part.
    async fn abort_parts(&self, key: &ObjectKey, multipart: Option<&str>) -> Result<()>;

    /// The smallest size of any part but the last (S3: 5 MiB).
    fn min_part_size(&self) -> usize;

    /// A URL a client may `PUT` part `number` to directly, for `valid_for`; `None` when
    /// the store cannot be reached by clients (the local store).
    async fn presign_part(
        &self,
        key: &ObjectKey,
        multipart: Option<&str>,
        number: i32,
        valid_for: std::time::Duration,
    ) -> Result<Option<String>>;

    /// The parts the store holds for a multipart write: (number, size, etag).
    async fn list_parts(&self, key: &ObjectKey, multipart: Option<&str>) -> Result<Vec<(i32, u64, String)>>;
}

/// A write in progress. Dropping it without `finish` leaves nothing visible, but
/// `abort` also frees what the store holds (S3 multipart parts).
#[async_trait]
pub trait ObjectWriter: Send {
    async fn write(&mut self, chunk: Bytes) -> Result<()>;

    /// Makes the object visible; returns its size.
    async fn finish(self: Box<Self>) -> Result<u64>;

    async fn abort(self: Box<Self>) -> Result<()>;
}

/// Builds the store the settings name.
pub async fn from_settings(settings: &StorageSettings) -> Result<Arc<dyn Storage>> {
    Ok(match settings.backend {
        StorageBackend::Local => Arc::new(LocalStore::new(&settings.local_root).await?),
        StorageBackend::S3 => Arc::new(S3Store::new(&settings.s3).await?),
    })
}

/// Streams `body` into a fresh object; used by tests and small writers.
pub async fn put_bytes(storage: &dyn Storage, key: &ObjectKey, body: Bytes, content_type: &str) -> Result<u64> {
    let mut writer = storage.writer(key, content_type).await?;
    writer.write(body).await?;
    writer.finish().await
}

/// The media type of a stored file, by its extension (HLS playlists and segments,
/// posters, captions); what the transcoder stores objects with and the catalog serves
/// them as.
pub fn content_type(key: &str) -> &'static str {
    match key.rsplit_once('.').map(|(_, ext)| ext) {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("m4s") => "video/iso.segment",
        Some("mp4") => "video/mp4",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("vtt") => "text/vtt; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Checks an inclusive range against an object's size.
fn check_range(range: Option<(u64, u64)>, size: u64) -> Result<(u64, u64)> {
    match range {
        None if size == 0 => Ok((0, 0)),
        None => Ok((0, size - 1)),
        Some((start, end)) if start <= end && end < size => Ok((start, end)),
        Some((start, end)) => Err(StorageError::InvalidRange { start, end }),
    }
}
