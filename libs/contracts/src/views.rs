//! The JSON a client sees of a video, built from its row: one representation, used by
//! every endpoint that returns one, whichever service answers (the catalog's reads,
//! the upload service's 201).

use serde::Serialize;
use skillreel_db::videos::VideoRecord;
use skillreel_domain::{CommunityId, UserId, VideoId, VideoStatus, Visibility};
use skillreel_storage::VideoFiles;
use time::OffsetDateTime;

use crate::MediaSigner;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Owner)]
pub struct OwnerView {
    pub id: UserId,
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = RenditionSummary)]
pub struct RenditionView {
    pub width: u32,
    pub height: u32,
    pub bandwidth: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Playback)]
pub struct PlaybackView {
    /// The master playlist.
    pub hls: String,
    /// WebVTT index of the storyboard sprite (scrubbing previews), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storyboard: Option<String>,
}

/// While `processing`, to its owner: how far it has come and how long it took.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Processing)]
pub struct ProcessingView {
    /// 0 to 1.
    pub progress: f32,
    /// Whether the first segments are out: `playback` works before `ready`.
    pub playable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_playable_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_complete_seconds: Option<f64>,
}

/// How far a resumable upload has come.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = UploadProgress)]
pub struct UploadProgressView {
    pub received_bytes: i64,
    /// Absent while the client defers the length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<i64>,
}

/// Where a video from another instance comes from.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Origin)]
pub struct OriginView {
    /// The instance that published it (`host[:port]`).
    pub host: String,
    /// Its page there.
    pub url: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Video)]
pub struct VideoView {
    pub id: VideoId,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub status: VideoStatus,
    /// Why processing failed, in words for the author; only the author sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Why a reviewer rejected it; only the author sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_reason: Option<String>,
    pub owner: OwnerView,
    pub community_id: Option<CommunityId>,
    pub visibility: Visibility,
    /// ISO 639-1 code.
    pub language: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
    pub like_count: i64,
    pub view_count: i64,
    /// Whether the caller likes it (absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liked: Option<bool>,
    /// While `uploading`, to its owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadProgressView>,
    /// Once processing has begun, to its owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing: Option<ProcessingView>,
    pub duration_seconds: Option<f64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub renditions: Vec<RenditionView>,
    pub playback: Option<PlaybackView>,
    pub thumbnail: Option<String>,
    /// The poster at most 320 pixels wide, for lists.
    pub thumbnail_small: Option<String>,
    /// Set when another instance published it: it plays from there, and is edited there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<OriginView>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// How to reach media: the URL base and a signer; `None` when the caller gets no
/// playback URLs (e.g. the upload response, before there is anything to play).
pub struct MediaLinks<'a> {
    pub base_url: String,
    pub signer: &'a MediaSigner,
}

impl MediaLinks<'_> {
    /// The URLs of one video's files, which share one token: signed once per video
    /// (a page of twenty videos has sixty URLs).
    pub fn of(&self, video: VideoId) -> VideoLinks {
        VideoLinks {
            prefix: format!("{}/api/v1/media/{video}/{}/", self.base_url, self.signer.token(video)),
            files: VideoFiles::of(video),
        }
    }

    /// `key` is a storage key of one of the video's files (see `VideoFiles`).
    pub fn url(&self, video: &VideoRecord, key: &str) -> Option<String> {
        self.of(video.id).url(key)
    }
}

/// [`MediaLinks`] for one video.
pub struct VideoLinks {
    /// Everything before the file's path: base, video and token.
    prefix: String,
    files: VideoFiles,
}

impl VideoLinks {
    /// `key` is a storage key of one of the video's files (see `VideoFiles`).
    pub fn url(&self, key: &str) -> Option<String> {
        let path = self.files.relative(key)?;
        let mut url = String::with_capacity(self.prefix.len() + path.len());
        url.push_str(&self.prefix);
        url.push_str(path);
        Some(url)
    }
}

impl VideoView {
    pub fn new(video: VideoRecord, links: Option<&MediaLinks<'_>>, private_details: bool) -> Self {
        // A processing video plays (to those who may see it) once its first segments are out.
        let playable = matches!(
            video.status,
            VideoStatus::Ready | VideoStatus::Published | VideoStatus::PendingReview | VideoStatus::Rejected
        ) || (video.status == VideoStatus::Processing && video.playable_at.is_some());
        let links = links.filter(|_| playable).map(|l| l.of(video.id));
        // A partner's video plays from its origin, unless it was mirrored here.
        let remote = video.origin.as_ref().filter(|_| video.hls_key.is_none());
        let hls = match remote {
            Some(origin) => origin.hls_url.clone(),
            None => links.as_ref().zip(video.hls_key.as_deref()).and_then(|(l, k)| l.url(k)),
        };
        let storyboard = links
            .as_ref()
            .zip(video.storyboard_key.as_deref())
            .and_then(|(l, k)| l.url(k));
        let seconds = |ms: Option<i64>| ms.map(|ms| ms as f64 / 1000.0);
        let processing = (private_details
            && matches!(
                video.status,
                VideoStatus::Processing | VideoStatus::Ready | VideoStatus::Failed
            )
            && video.processing_progress.is_some())
        .then(|| ProcessingView {
            progress: video.processing_progress.unwrap_or_default(),
            playable: video.playable_at.is_some(),
            time_to_playable_seconds: seconds(video.time_to_playable_ms),
            time_to_complete_seconds: seconds(video.time_to_complete_ms),
        });
        let (thumbnail, thumbnail_small) = match remote {
            Some(origin) => (origin.thumbnail_url.clone(), origin.thumbnail_url.clone()),
            None => {
                let large = links
                    .as_ref()
                    .zip(video.thumbnail_key.as_deref())
                    .and_then(|(l, k)| l.url(k));
                // The small poster sits beside the large one.
                let small = large
                    .as_ref()
                    .map(|url| url.replace("thumbnail.jpg", "thumbnail-small.jpg"));
                (large, small)
            }
        };
        Self {
            id: video.id,
            title: video.title,
            description: video.description,
            tags: video.tags,
            status: video.status,
            failure_reason: video.failure_reason.filter(|_| private_details),
            review_reason: video.review_reason.filter(|_| private_details),
            owner: OwnerView {
                id: video.owner_id,
                name: video.owner_name,
            },
            community_id: video.community_id,
            visibility: video.visibility,
            language: video.language,
            published_at: video.published_at,
            like_count: video.like_count,
            view_count: video.view_count,
            liked: None,
            upload: video
                .upload_progress
                .filter(|_| private_details)
                .map(|(received_bytes, total_bytes)| UploadProgressView {
                    received_bytes,
                    total_bytes,
                }),
            duration_seconds: video.duration_ms.map(|ms| ms as f64 / 1000.0),
            width: video.width,
            height: video.height,
            renditions: video
                .renditions
                .iter()
                .map(|r| RenditionView {
                    width: r.width,
                    height: r.height,
                    bandwidth: r.bandwidth,
                })
                .collect(),
            processing,
            playback: hls.map(|hls| PlaybackView { hls, storyboard }),
            thumbnail,
            thumbnail_small,
            origin: video.origin.map(|o| OriginView {
                host: o.host,
                url: o.url,
            }),
            created_at: video.created_at,
            updated_at: video.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_videos_files_share_one_token_that_verifies_for_that_video() {
        let signer = MediaSigner::new(b"0123456789abcdef0123456789abcdef", 3600);
        let links = MediaLinks {
            base_url: "https://reel.example".into(),
            signer: &signer,
        };
        let (video, other) = (VideoId::new(), VideoId::new());
        let files = VideoFiles::of(video);
        let of = links.of(video);
        let urls: Vec<String> = [files.master_playlist(), files.thumbnail(), files.storyboard_index()]
            .iter()
            .filter_map(|key| of.url(key.as_str()))
            .collect();
        assert_eq!(urls.len(), 3);
        let prefix = format!("https://reel.example/api/v1/media/{video}/");
        let mut tokens = Vec::new();
        for (url, file) in urls
            .iter()
            .zip(["media/master.m3u8", "media/thumbnail.jpg", "media/storyboard.vtt"])
        {
            let rest = url.strip_prefix(&prefix).unwrap_or_default();
            let (token, path) = rest.split_once('/').unwrap_or_default();
            assert_eq!(path, file, "{url}");
            assert!(signer.verify(video, token), "{url}");
            assert!(!signer.verify(other, token), "{url}");
            tokens.push(token.to_owned());
        }
        tokens.dedup();
        assert_eq!(tokens.len(), 1);
        // A key outside the video's folder gets no URL.
        assert_eq!(of.url(VideoFiles::of(other).thumbnail().as_str()), None);
    }
}
