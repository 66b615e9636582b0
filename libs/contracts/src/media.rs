//! Signed playback URLs.
//!
//! `/api/v1/media/{video_id}/{expires}.{signature}/{path}`: the signature is an
//! HMAC-SHA256 over the video id and expiry, so the token sits in the *path* and the
//! relative URIs inside HLS playlists (`720p/index.m3u8`, `seg_00001.m4s`) inherit
//! it. Anyone holding the URL may fetch that video's files until it expires; only
//! someone allowed to view the video is ever given one.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use skillreel_domain::VideoId;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct MediaSigner {
    /// The HMAC with its key already absorbed: each token clones it instead of
    /// hashing the key again.
    keyed: HmacSha256,
    ttl_seconds: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl MediaSigner {
    pub fn new(key: &[u8], ttl_seconds: u64) -> Self {
        Self {
            // HMAC accepts keys of any length; this cannot fail.
            keyed: <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!()),
            ttl_seconds,
        }
    }

    fn mac(&self, video: VideoId, expires: u64) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(format!("{video}:{expires}").as_bytes());
        mac
    }

    /// A token valid for the configured time, rounded up to the hour so URLs (and the
    /// player's cache) stay stable across requests.
    pub fn token(&self, video: VideoId) -> String {
        let expires = (now() + self.ttl_seconds).div_ceil(3600) * 3600;
        self.token_until(video, expires)
    }

    pub fn token_until(&self, video: VideoId, expires: u64) -> String {
        let mut signature = [0u8; 64];
        // 32 bytes of HMAC-SHA256 are exactly 64 hex digits: this cannot fail.
        hex::encode_to_slice(self.mac(video, expires).finalize().into_bytes(), &mut signature)
            .unwrap_or_else(|_| unreachable!());
        format!("{expires}.{}", String::from_utf8_lossy(&signature))
    }

    /// Checks signature (in constant time) and expiry.
    pub fn verify(&self, video: VideoId, token: &str) -> bool {
        let Some((expires, signature)) = token.split_once('.') else {
            return false;
        };
        let (Ok(expires), Ok(signature)) = (expires.parse::<u64>(), hex::decode(signature)) else {
            return false;
        };
        expires >= now() && self.mac(video, expires).verify_slice(&signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_video_and_until_it_expires() {
        let signer = MediaSigner::new(b"0123456789abcdef0123456789abcdef", 3600);
        let (a, b) = (VideoId::new(), VideoId::new());
        let token = signer.token(a);
        assert!(signer.verify(a, &token));
        assert!(!signer.verify(b, &token));
        assert!(!signer.verify(a, &signer.token_until(a, now() - 1)));
        assert!(!signer.verify(a, "1.00"));
        assert!(!signer.verify(a, "garbage"));
        let other = MediaSigner::new(b"another key, just as long as the first", 3600);
        assert!(!other.verify(a, &token));
    }

    #[test]
    fn a_token_is_the_expiry_and_the_hex_hmac_of_video_and_expiry() {
        let key = b"0123456789abcdef0123456789abcdef";
        let video = VideoId::new();
        let mut fresh = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
        fresh.update(format!("{video}:4102444800").as_bytes());
        let expected = format!("4102444800.{}", hex::encode(fresh.finalize().into_bytes()));
        let signer = MediaSigner::new(key, 3600);
        // The same twice: the keyed state is cloned, never consumed.
        assert_eq!(signer.token_until(video, 4_102_444_800), expected);
        assert_eq!(signer.token_until(video, 4_102_444_800), expected);
    }
}
