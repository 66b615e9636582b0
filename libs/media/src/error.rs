//! Why media work failed, in words for the video's author.

/// Why a source could not be turned into a video. The `Display` text is shown to the
/// video's author, so it says what is wrong with *their file* in plain words.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum MediaError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not a video we can read ({0})")]
    Unreadable(String),
    #[error("the file has no video track")]
    NoVideoStream,
    #[error("the video codec `{0}` is not supported")]
    UnsupportedCodec(String),
    #[error("the video is damaged and could not be decoded ({0})")]
    Corrupt(String),
    #[error("the video is {actual_s:.0} s long; the limit is {limit_s:.0} s")]
    TooLong { actual_s: f64, limit_s: f64 },
    #[error("the video is {actual_s:.1} s long; it must be at least {limit_s:.1} s")]
    TooShort { actual_s: f64, limit_s: f64 },
    #[error("the picture is {width}x{height}; the largest accepted is 8K (7680x4320)")]
    TooLarge { width: u32, height: u32 },
    #[error("processing was cancelled")]
    Cancelled,
    /// Memory or threads ran out (the process's caps, or the machine's): not the
    /// file's fault as far as we can tell, so worth another attempt.
    #[error("processing ran out of memory or threads ({0})")]
    OutOfResources(String),
    #[error("could not write the output: {0}")]
    Io(String),
    #[error("internal media error: {0}")]
    Internal(String),
}

impl MediaError {
    /// Whether the fault lies with the file (retrying cannot help) rather than with us.
    pub fn is_bad_media(&self) -> bool {
        !matches!(
            self,
            Self::Cancelled | Self::Io(_) | Self::Internal(_) | Self::OutOfResources(_)
        )
    }

    /// An error libav gave while opening a codec: out of memory or threads is ours,
    /// anything else means the file's codec cannot be used (`otherwise`).
    pub(crate) fn opening_codec(error: ffmpeg_next::Error, otherwise: impl FnOnce(String) -> Self) -> Self {
        use ffmpeg_next::util::error::{EAGAIN, ENOMEM};
        match error {
            ffmpeg_next::Error::Other { errno } if errno == EAGAIN || errno == ENOMEM => {
                Self::OutOfResources(error.to_string())
            }
            other => otherwise(other.to_string()),
        }
    }
}

impl From<std::io::Error> for MediaError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}
