//! `ObjectKey`: a storage key that is safe as a file path and as an S3 key.

use std::fmt;

/// A storage key: `/`-separated segments of `[A-Za-z0-9._-]`, none of them `.` or `..`.
///
/// The restriction makes keys safe as file paths in the local store (no traversal) and
/// as URL paths on S3, whatever a client sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid storage key `{0}`")]
pub struct InvalidKey(pub String);

impl ObjectKey {
    pub const MAX_LEN: usize = 512;

    pub fn parse(raw: &str) -> Result<Self, InvalidKey> {
        let valid_segment = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        if raw.len() > Self::MAX_LEN || !raw.split('/').all(valid_segment) {
            return Err(InvalidKey(raw.chars().take(80).collect()));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A key this crate built from parts known to be valid (see `layout`).
    pub(crate) fn trusted(raw: String) -> Self {
        debug_assert!(Self::parse(&raw).is_ok(), "{raw}");
        Self(raw)
    }

    /// `self/child`, with `child` validated.
    pub fn join(&self, child: &str) -> Result<Self, InvalidKey> {
        Self::parse(&format!("{}/{}", self.0, child))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_or_carry_odd_characters() {
        assert!(ObjectKey::parse("videos/0190/hls/master.m3u8").is_ok());
        for bad in [
            "",
            "/abs",
            "a//b",
            "../etc/passwd",
            "a/../b",
            "a/./b",
            "a b",
            "a\\b",
            "trailing/",
            "ü",
        ] {
            assert!(ObjectKey::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(ObjectKey::parse(&"a".repeat(513)).is_err());
    }
}
