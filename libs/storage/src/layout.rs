//! Where a video's files live in the store: one layout, used by every service (upload
//! writes the source, the transcoder the media, the catalog serves and deletes them).
//!
//! ```text
//! videos/{id}/source                 the upload (plus source.pending-N while resumable)
//! videos/{id}/media/master.m3u8      what the transcoder publishes, all under media/
//! videos/{id}/media/{rung}/…         one folder per rendition
//! videos/{id}/media/thumbnail.jpg    posters, storyboard, captions/{lang}.vtt …
//! ```

use skillreel_domain::VideoId;

use crate::{InvalidKey, ObjectKey};

/// The files of one video.
#[derive(Debug, Clone)]
pub struct VideoFiles {
    root: String,
}

impl VideoFiles {
    pub fn of(video: VideoId) -> Self {
        Self {
            root: format!("videos/{video}"),
        }
    }

    /// A key under the root made of fixed names: valid by construction (a UUID and
    /// names of `[a-z0-9._-]`), as the unit test below checks for each.
    fn fixed(&self, rel: &str) -> ObjectKey {
        ObjectKey::trusted(format!("{}/{rel}", self.root))
    }

    /// Everything of the video: deleted with it.
    pub fn root(&self) -> ObjectKey {
        ObjectKey::trusted(self.root.clone())
    }

    /// The uploaded original.
    pub fn source(&self) -> ObjectKey {
        self.fixed("source")
    }

    /// What the transcoder publishes.
    pub fn media(&self) -> ObjectKey {
        self.fixed("media")
    }

    pub fn master_playlist(&self) -> ObjectKey {
        self.fixed("media/master.m3u8")
    }

    pub fn thumbnail(&self) -> ObjectKey {
        self.fixed("media/thumbnail.jpg")
    }

    pub fn storyboard_index(&self) -> ObjectKey {
        self.fixed("media/storyboard.vtt")
    }

    /// `rel` (from a request or a playlist) under the video's folder.
    pub fn file(&self, rel: &str) -> Result<ObjectKey, InvalidKey> {
        ObjectKey::parse(&format!("{}/{rel}", self.root))
    }

    /// `rel` under the published media.
    pub fn media_file(&self, rel: &str) -> Result<ObjectKey, InvalidKey> {
        ObjectKey::parse(&format!("{}/media/{rel}", self.root))
    }

    /// The path of `key` under the video's folder, if it is one of its files.
    pub fn relative<'a>(&self, key: &'a str) -> Option<&'a str> {
        key.strip_prefix(self.root.as_str())?.strip_prefix('/')
    }
}

/// Whether `file` (relative to the video's folder) is one of the files the transcoder
/// publishes for playback: the master playlist, each rung's playlist, init segment
/// and media segments, the posters, the storyboard and the captions (each language's
/// WebVTT and the one-entry playlist that points at it).
pub fn is_playback_file(file: &str) -> bool {
    const TOP: [&str; 5] = [
        "master.m3u8",
        "thumbnail.jpg",
        "thumbnail-small.jpg",
        "storyboard.vtt",
        "storyboard.jpg",
    ];
    let Some(rest) = file.strip_prefix("media/") else {
        return false;
    };
    match rest.split('/').collect::<Vec<_>>()[..] {
        [name] => TOP.contains(&name),
        ["captions", name] => name
            .strip_suffix(".vtt")
            .or_else(|| name.strip_suffix(".m3u8"))
            .is_some_and(|lang| {
                (2..=16).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }),
        [rung, name] => {
            let is_rung = rung
                .strip_suffix('p')
                .is_some_and(|n| (1..=5).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
            let is_segment = name
                .strip_prefix("seg_")
                .and_then(|n| n.strip_suffix(".m4s"))
                .is_some_and(|n| !n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit()));
            is_rung && (name == "index.m3u8" || name == "init.mp4" || is_segment)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixed_key_is_a_valid_key_in_the_video_folder() {
        let files = VideoFiles::of(VideoId::new());
        for key in [
            files.root(),
            files.source(),
            files.media(),
            files.master_playlist(),
            files.thumbnail(),
            files.storyboard_index(),
        ] {
            assert_eq!(ObjectKey::parse(key.as_str()).as_ref(), Ok(&key));
            assert!(key.as_str().starts_with("videos/"), "{key}");
        }
        assert_eq!(
            files.relative(files.master_playlist().as_str()),
            Some("media/master.m3u8")
        );
        assert_eq!(files.relative("videos/other/media/master.m3u8"), None);
        assert!(files.file("../x").is_err());
        assert_eq!(
            files
                .media_file("720p/index.m3u8")
                .map(|k| files.relative(k.as_str()).map(str::to_owned)),
            Ok(Some("media/720p/index.m3u8".into()))
        );
    }

    #[test]
    fn only_the_published_playback_files_are_served() {
        for file in [
            "media/master.m3u8",
            "media/thumbnail.jpg",
            "media/thumbnail-small.jpg",
            "media/storyboard.vtt",
            "media/storyboard.jpg",
            "media/720p/index.m3u8",
            "media/240p/init.mp4",
            "media/1080p/seg_00042.m4s",
            "media/captions/en.vtt",
            "media/captions/en.m3u8",
            "media/captions/pt-BR.vtt",
        ] {
            assert!(is_playback_file(file), "{file}");
        }
        for file in [
            "source",
            "source.pending-5242880",
            "source.pending-0",
            "source/part-1",
            "media",
            "media/",
            "media/720p/index.m3u8.tmp",
            "media/720p/seg_00001.m4s.tmp",
            "media/720p/seg_.m4s",
            "media/abc/index.m3u8",
            "media/720p/../../source",
            "media/captions/../master.m3u8",
            "media/captions/e.vtt",
            "media/master.m3u8/x",
            "other/master.m3u8",
        ] {
            assert!(!is_playback_file(file), "{file}");
        }
    }
}
