//! A mirrored copy of partners' media (`federation.mirror_media`): once a partner's
//! video is kept here, a job copies its HLS (the master playlist, every rendition's
//! playlist, init segment and segments) and its poster into our storage, under the
//! video's own folder, and the video then plays from here, as ours do (signed media
//! URLs), whatever becomes of the origin's signed links.
//!
//! Only what the origin's master playlist names by relative URIs under its own folder,
//! in Skillreel's media layout (what our media route serves: a Skillreel partner's
//! videos), is copied, at most
//! `federation.mirror_max_bytes` and [`MAX_FILES`] files; anything else leaves the
//! video playing from its origin, with the reason in the job's error.

use bytes::Bytes;
use sqlx::PgConnection;
use url::Url;
use uuid::Uuid;

use crate::FederationContext;
use crate::remote::{self, FetchError};
use skillreel_storage::{ObjectKey, VideoFiles, content_type, is_playback_file, put_bytes};

/// Most files one video is made of.
const MAX_FILES: usize = 5000;
/// Largest playlist read.
const MAX_PLAYLIST: usize = 1024 * 1024;
/// Largest poster read.
const MAX_POSTER: usize = 10 * 1024 * 1024;

/// Why a video was not mirrored.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// The origin could not be reached, or the database or storage failed: try again.
    #[error("{0}")]
    Transient(String),
    /// The media are not something we copy; it plays from its origin.
    #[error("{0}")]
    Refused(String),
}

impl From<FetchError> for MirrorError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Unreachable(reason) => Self::Transient(reason),
            FetchError::Database(e) => Self::Transient(e.to_string()),
            FetchError::Refused(reason) | FetchError::Invalid(reason) => Self::Refused(reason),
        }
    }
}

impl From<sqlx::Error> for MirrorError {
    fn from(e: sqlx::Error) -> Self {
        Self::Transient(format!("database: {e}"))
    }
}

impl From<skillreel_storage::StorageError> for MirrorError {
    fn from(e: skillreel_storage::StorageError) -> Self {
        Self::Transient(format!("storage: {e}"))
    }
}

/// Queues the copy of a partner's video, when mirroring is on and it has none yet.
pub async fn queue(
    ctx: &FederationContext,
    conn: &mut PgConnection,
    host: &str,
    video: Uuid,
) -> Result<(), sqlx::Error> {
    if !ctx.settings.mirror_media {
        return Ok(());
    }
    let job = crate::delivery::Job::Mirror {
        host: host.to_owned(),
        video,
    };
    crate::delivery::enqueue(conn, &job)
        .await
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))
}

/// Copies the video's media; returns the bytes stored (0 when there was nothing to do).
pub async fn mirror(ctx: &FederationContext, video: Uuid) -> Result<u64, MirrorError> {
    let Some(row) = sqlx::query!(
        r#"select origin_hls_url, origin_thumbnail_url from video
            where id = $1 and origin is not null and status = 'published' and hls_key is null"#,
        video
    )
    .fetch_optional(&ctx.pool)
    .await?
    else {
        return Ok(0);
    };
    let Some(master) = row.origin_hls_url else {
        return Err(MirrorError::Refused("the video names no master playlist".into()));
    };
    let master = remote::parse_url(&master)?;
    let files = VideoFiles::of(skillreel_domain::VideoId::from_uuid(video));
    let mut copy = Mirroring {
        ctx,
        files: &files,
        base: folder_of(&master),
        stored: 0,
        count: 0,
    };
    // The master first read, stored last: until it is there, nothing plays from here.
    let master_text = copy.fetch_playlist(&master).await?;
    for variant in uris(&master_text) {
        let url = copy.resolve(&master, &variant)?;
        if variant.ends_with(".m3u8") {
            let text = copy.fetch_playlist(&url).await?;
            for file in uris(&text) {
                let file_url = copy.resolve(&url, &file)?;
                copy.copy_file(&file_url).await?;
            }
            copy.store(&url, Bytes::from(text)).await?;
        } else {
            copy.copy_file(&url).await?;
        }
    }
    let poster = match row.origin_thumbnail_url.as_deref().map(remote::parse_url).transpose()? {
        Some(url) => copy.copy_poster(&url).await?,
        None => false,
    };
    copy.store(&master, Bytes::from(master_text)).await?;
    let thumbnail = poster.then(|| files.thumbnail());
    let master_key = files.master_playlist();
    sqlx::query!(
        "update video set hls_key = $2, thumbnail_key = $3 where id = $1 and hls_key is null",
        video,
        master_key.as_str(),
        thumbnail.as_ref().map(ObjectKey::as_str),
    )
    .execute(&ctx.pool)
    .await?;
    Ok(copy.stored)
}

/// One video's copy in progress.
struct Mirroring<'a> {
    ctx: &'a FederationContext,
    files: &'a VideoFiles,
    /// The folder of the master playlist: every file must be under it.
    base: String,
    stored: u64,
    count: usize,
}

impl Mirroring<'_> {
    /// `uri` of the playlist at `from`, which must stay under the master's folder.
    fn resolve(&self, from: &Url, uri: &str) -> Result<Url, MirrorError> {
        if uri.contains("://") || uri.starts_with('/') {
            return Err(MirrorError::Refused(format!(
                "the playlist names `{}` outside its folder",
                short(uri)
            )));
        }
        let url = from
            .join(uri)
            .map_err(|_| MirrorError::Refused(format!("`{}` is not a URI", short(uri))))?;
        if !url.as_str().starts_with(&self.base) {
            return Err(MirrorError::Refused(format!(
                "the playlist names `{}` outside its folder",
                short(uri)
            )));
        }
        Ok(url)
    }

    /// Where `url` is kept here: its path under the master's folder, under our media.
    fn key_of(&self, url: &Url) -> Result<ObjectKey, MirrorError> {
        let mut plain = url.clone();
        plain.set_query(None);
        let rel = plain.as_str().strip_prefix(&self.base).unwrap_or_default();
        // Only what our media route serves is worth keeping: the transcoder's layout.
        if !is_playback_file(&format!("media/{rel}")) {
            return Err(MirrorError::Refused(format!(
                "`{}` is not in Skillreel's media layout",
                short(rel)
            )));
        }
        self.files
            .media_file(rel)
            .map_err(|_| MirrorError::Refused(format!("`{}` is not a file name we keep", short(rel))))
    }

    async fn fetch_playlist(&mut self, url: &Url) -> Result<String, MirrorError> {
        let body = remote::get_body(self.ctx, url, "application/vnd.apple.mpegurl", false, MAX_PLAYLIST).await?;
        let text = String::from_utf8(body).map_err(|_| MirrorError::Refused("a playlist is not text".into()))?;
        if !text.starts_with("#EXTM3U") {
            return Err(MirrorError::Refused("a playlist is not HLS (#EXTM3U)".into()));
        }
        Ok(text)
    }

    async fn copy_file(&mut self, url: &Url) -> Result<(), MirrorError> {
        let left = self.ctx.settings.mirror_max_bytes.saturating_sub(self.stored);
        let limit = usize::try_from(left).unwrap_or(usize::MAX);
        let body = remote::get_body(self.ctx, url, "*/*", false, limit).await?;
        self.store(url, Bytes::from(body)).await
    }

    /// The poster, if the origin has one (a missing poster is no reason to fail).
    async fn copy_poster(&mut self, url: &Url) -> Result<bool, MirrorError> {
        match remote::get_body(self.ctx, url, "image/*", false, MAX_POSTER).await {
            Ok(body) => {
                let body = Bytes::from(body);
                let large = self.files.thumbnail();
                let small = self
                    .files
                    .media_file("thumbnail-small.jpg")
                    .map_err(|_| MirrorError::Refused("no key for the small poster".into()))?;
                for key in [&large, &small] {
                    put_bytes(self.ctx.storage.as_ref(), key, body.clone(), "image/jpeg").await?;
                }
                self.stored += 2 * body.len() as u64;
                Ok(true)
            }
            Err(FetchError::Unreachable(reason)) if reason.contains("answered 404") => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn store(&mut self, url: &Url, body: Bytes) -> Result<(), MirrorError> {
        self.count += 1;
        self.stored += body.len() as u64;
        if self.count > MAX_FILES {
            return Err(MirrorError::Refused(format!(
                "the video has more than {MAX_FILES} files"
            )));
        }
        if self.stored > self.ctx.settings.mirror_max_bytes {
            return Err(MirrorError::Refused(format!(
                "the video is larger than federation.mirror_max_bytes ({})",
                self.ctx.settings.mirror_max_bytes
            )));
        }
        let key = self.key_of(url)?;
        put_bytes(self.ctx.storage.as_ref(), &key, body, content_type(key.as_str())).await?;
        Ok(())
    }
}

/// The URL up to its last `/`: the folder a playlist's relative URIs are under.
fn folder_of(url: &Url) -> String {
    let mut plain = url.clone();
    plain.set_query(None);
    let text = plain.as_str();
    text[..text.rfind('/').map_or(text.len(), |i| i + 1)].to_owned()
}

/// The URIs a playlist names: its non-comment lines, and the `URI="…"` attributes of
/// its tags (`EXT-X-MAP`, `EXT-X-MEDIA`, `EXT-X-I-FRAME-STREAM-INF`), in order, once.
fn uris(playlist: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut keep = |uri: &str| {
        let uri = uri.trim();
        if !uri.is_empty() && !found.iter().any(|f| f == uri) {
            found.push(uri.to_owned());
        }
    };
    for line in playlist.lines().map(str::trim) {
        if let Some(tag) = line.strip_prefix('#') {
            if let Some(start) = tag.find("URI=\"") {
                let rest = &tag[start + 5..];
                if let Some(end) = rest.find('"') {
                    keep(&rest[..end]);
                }
            }
        } else {
            keep(line);
        }
    }
    found
}

fn short(s: &str) -> String {
    s.chars().take(100).collect()
}

/// Drops the mirrored files of partners' videos that went (best effort: a stray file
/// only costs space).
pub async fn forget(ctx: &FederationContext, videos: &[Uuid]) {
    for video in videos {
        let root = VideoFiles::of(skillreel_domain::VideoId::from_uuid(*video)).root();
        if let Err(e) = ctx.storage.delete_prefix(&root).await {
            tracing::warn!(error = %e, %video, "could not delete a partner's mirrored media");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_playlist_names_its_files_once_in_order() {
        let master = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n\
                      #EXT-X-I-FRAME-STREAM-INF:URI=\"720p/iframes.m3u8\"\n720p/index.m3u8\n";
        assert_eq!(uris(master), ["720p/index.m3u8", "720p/iframes.m3u8"]);
        let media = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.0,\nseg_00001.m4s\n#EXT-X-ENDLIST\n";
        assert_eq!(uris(media), ["init.mp4", "seg_00001.m4s"]);
    }

    #[test]
    fn the_folder_of_a_signed_url_drops_its_query() {
        let url =
            Url::parse("https://a.example/api/v1/media/1/tok/media/master.m3u8?x=1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(folder_of(&url), "https://a.example/api/v1/media/1/tok/media/");
    }
}
