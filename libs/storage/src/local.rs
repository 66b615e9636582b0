//! `LocalStore`: storage in a directory, for development and single-machine installs.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::fs;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use crate::{ObjectBody, ObjectKey, ObjectWriter, Result, Storage, StorageError, check_range};

mod direct;

/// Objects as files under a root folder. Writes go to `.partial/` first and are renamed
/// into place, so a reader never sees half an object.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub async fn new(root: &Path) -> Result<Self> {
        fs::create_dir_all(root.join(".partial")).await?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    /// Where an object assembled from parts grows until it is complete.
    fn staging_path(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(".parts").join(key.as_str())
    }
}

fn not_found(key: &ObjectKey) -> impl Fn(std::io::Error) -> StorageError + '_ {
    move |e| match e.kind() {
        std::io::ErrorKind::NotFound => StorageError::NotFound(key.to_string()),
        _ => StorageError::Io(e),
    }
}

async fn ensure_parent(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).await?;
    }
    Ok(())
}

#[async_trait]
impl Storage for LocalStore {
    async fn put_file(&self, key: &ObjectKey, path: &Path, _content_type: &str) -> Result<()> {
        let partial = self.root.join(".partial").join(uuid::Uuid::now_v7().to_string());
        fs::copy(path, &partial).await?;
        let target = self.path(key);
        ensure_parent(&target).await?;
        fs::rename(&partial, &target).await?;
        Ok(())
    }

    async fn writer(&self, key: &ObjectKey, _content_type: &str) -> Result<Box<dyn ObjectWriter>> {
        let partial = self.root.join(".partial").join(uuid::Uuid::now_v7().to_string());
        let file = fs::File::create(&partial).await?;
        Ok(Box::new(LocalWriter {
            file,
            partial,
            target: self.path(key),
            written: 0,
        }))
    }

    async fn size(&self, key: &ObjectKey) -> Result<u64> {
        let meta = fs::metadata(self.path(key)).await.map_err(not_found(key))?;
        if !meta.is_file() {
            return Err(StorageError::NotFound(key.to_string()));
        }
        Ok(meta.len())
    }

    async fn get(&self, key: &ObjectKey, range: Option<(u64, u64)>) -> Result<ObjectBody> {
        let mut file = fs::File::open(self.path(key)).await.map_err(not_found(key))?;
        let total_size = file.metadata().await?.len();
        let (start, end) = check_range(range, total_size)?;
        file.seek(SeekFrom::Start(start)).await?;
        let len = if total_size == 0 { 0 } else { end - start + 1 };
        let stream = ReaderStream::with_capacity(file.take(len), 64 * 1024).boxed();
        Ok(ObjectBody {
            total_size,
            range: (start, end),
            stream,
        })
    }

    async fn download_to(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
        fs::copy(self.path(key), path).await.map_err(not_found(key))
    }

    async fn delete_prefix(&self, prefix: &ObjectKey) -> Result<()> {
        let path = self.path(prefix);
        let result = match fs::metadata(&path).await {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(&path).await,
            Ok(_) => fs::remove_file(&path).await,
            Err(e) => Err(e),
        };
        match result {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn ping(&self) -> Result<()> {
        fs::metadata(&self.root).await?;
        Ok(())
    }

    async fn begin_parts(&self, key: &ObjectKey) -> Result<Option<String>> {
        let staging = self.staging_path(key);
        ensure_parent(&staging).await?;
        fs::File::create(&staging).await?;
        Ok(None)
    }

    /// Parts land at their offset in one staging file: the object is appended to as it
    /// arrives, a re-sent part overwrites its own range, and completion is a rename.
    async fn put_part(
        &self,
        key: &ObjectKey,
        _multipart: Option<&str>,
        _number: i32,
        offset: u64,
        body: Bytes,
    ) -> Result<String> {
        let staging = self.staging_path(key);
        let len = body.len();
        tokio::task::spawn_blocking(move || direct::write_at(&staging, offset, &body))
            .await
            .map_err(|e| StorageError::Io(std::io::Error::other(e)))?
            .map_err(not_found(key))?;
        Ok(len.to_string())
    }

    async fn sync_parts(&self, key: &ObjectKey) -> Result<()> {
        let file = fs::OpenOptions::new()
            .write(true)
            .open(self.staging_path(key))
            .await
            .map_err(not_found(key))?;
        file.sync_data().await?;
        Ok(())
    }

    async fn complete_parts(
        &self,
        key: &ObjectKey,
        _multipart: Option<&str>,
        _parts: &[(i32, String)],
        size: u64,
    ) -> Result<()> {
        let staging = self.staging_path(key);
        // Bytes of a failed request beyond the end are not part of the object.
        fs::OpenOptions::new()
            .write(true)
            .open(&staging)
            .await
            .map_err(not_found(key))?
            .set_len(size)
            .await?;
        let target = self.path(key);
        ensure_parent(&target).await?;
        fs::rename(&staging, &target).await?;
        Ok(())
    }

    async fn abort_parts(&self, key: &ObjectKey, _multipart: Option<&str>) -> Result<()> {
        match fs::remove_file(self.staging_path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn min_part_size(&self) -> usize {
        1
    }

    async fn presign_part(
        &self,
        _key: &ObjectKey,
        _multipart: Option<&str>,
        _number: i32,
        _valid_for: std::time::Duration,
    ) -> Result<Option<String>> {
        Ok(None)
    }

    async fn list_parts(&self, _key: &ObjectKey, _multipart: Option<&str>) -> Result<Vec<(i32, u64, String)>> {
        Ok(Vec::new())
    }
}

struct LocalWriter {
    file: fs::File,
    partial: PathBuf,
    target: PathBuf,
    written: u64,
}

#[async_trait]
impl ObjectWriter for LocalWriter {
    async fn write(&mut self, chunk: Bytes) -> Result<()> {
        self.file.write_all(&chunk).await?;
        self.written += chunk.len() as u64;
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<u64> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        ensure_parent(&self.target).await?;
        fs::rename(&self.partial, &self.target).await?;
        Ok(self.written)
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        drop(self.file);
        match fs::remove_file(&self.partial).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}
