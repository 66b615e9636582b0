//! Publishing while encoding: finished segments go to storage as the encoder writes
//! them, each rung's playlist after the segments it lists, and the master playlist once
//! every rung has begun — from then on the video can be watched, minutes before the
//! whole ladder is done.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use skillreel_storage::{ObjectKey, StorageError, content_type, put_bytes};

use crate::SharedStorage;

/// Where one video's outputs go, and what of them is already there.
pub(crate) struct Publisher {
    storage: SharedStorage,
    prefix: ObjectKey,
    dir: PathBuf,
    /// Paths relative to `dir` of the segments and init files already stored
    /// (playlists are always stored again: they grow).
    stored: HashSet<String>,
}

/// The files a media playlist refers to: its init segment and its segments.
fn listed_files(playlist: &str) -> Vec<&str> {
    playlist
        .lines()
        .filter_map(|line| match line.strip_prefix("#EXT-X-MAP:URI=\"") {
            Some(rest) => rest.split('"').next(),
            None if !line.starts_with('#') && !line.trim().is_empty() => Some(line.trim()),
            None => None,
        })
        // Only plain names in the rung's folder: nothing the muxer would not write.
        .filter(|name| !name.contains('/') && !name.contains(".."))
        .collect()
}

impl Publisher {
    pub fn new(storage: SharedStorage, prefix: ObjectKey, dir: &Path) -> Self {
        Self {
            storage,
            prefix,
            dir: dir.to_path_buf(),
            stored: HashSet::new(),
        }
    }

    async fn put(&mut self, rel: &str) -> Result<(), StorageError> {
        let key = self.prefix.join(rel)?;
        self.storage
            .put_file(&key, &self.dir.join(rel), content_type(rel))
            .await?;
        self.stored.insert(rel.to_owned());
        Ok(())
    }

    /// Stores every segment the rungs' playlists list, then those playlists as they
    /// were read (so a stored playlist never names a segment that is not stored).
    pub async fn sync_rungs(&mut self) -> Result<(), StorageError> {
        let mut rungs = Vec::new();
        let mut entries = tokio::fs::read_dir(&self.dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            if entry.file_type().await?.is_dir() {
                rungs.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        for rung in rungs {
            let Ok(playlist) = tokio::fs::read_to_string(self.dir.join(&rung).join("index.m3u8")).await else {
                continue;
            };
            if !playlist.contains("#EXTINF:") {
                continue;
            }
            for name in listed_files(&playlist) {
                let rel = format!("{rung}/{name}");
                if !self.stored.contains(&rel) {
                    self.put(&rel).await?;
                }
            }
            let key = self.prefix.join(&format!("{rung}/index.m3u8"))?;
            put_bytes(
                self.storage.as_ref(),
                &key,
                Bytes::from(playlist),
                content_type("index.m3u8"),
            )
            .await?;
        }
        Ok(())
    }

    /// Stores the master playlist: the video is watchable from now on.
    pub async fn publish_master(&mut self) -> Result<(), StorageError> {
        self.sync_rungs().await?;
        self.put("master.m3u8").await
    }

    /// Stores everything not stored yet, and every playlist in its final form.
    pub async fn finish(&mut self, files: &[String]) -> Result<(), StorageError> {
        // Media playlists before the master, the master last: a player never follows
        // a link to something missing.
        let (playlists, others): (Vec<&String>, Vec<&String>) = files.iter().partition(|f| f.ends_with(".m3u8"));
        for rel in others {
            if !self.stored.contains(rel.as_str()) && !rel.ends_with(".tmp") {
                self.put(rel).await?;
            }
        }
        let (master, media): (Vec<&String>, Vec<&String>) =
            playlists.into_iter().partition(|f| f.as_str() == "master.m3u8");
        for rel in media.into_iter().chain(master) {
            self.put(rel).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_playlist_names_its_init_segment_and_segments_and_nothing_outside_its_folder() {
        let playlist = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4.000000,\nseg_00000.m4s\n#EXTINF:4.000000,\nseg_00001.m4s\n../../etc/passwd\n";
        assert_eq!(
            listed_files(playlist),
            vec!["init.mp4", "seg_00000.m4s", "seg_00001.m4s"]
        );
    }
}
