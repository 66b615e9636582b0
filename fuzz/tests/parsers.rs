//! The fuzz targets: every parser of outside bytes, fed mutated seeds. Each must
//! return (never panic, never hang), and what it accepts must be well-formed.

use proptest::prelude::*;
use skillreel_fuzz::{corpus, mutated};

proptest! {
    /// Captions: any bytes parse or are refused; accepted captions are WebVTT that
    /// parses again to themselves.
    #[test]
    fn captions(bytes in mutated(corpus("captions"))) {
        if let Ok(captions) = skillreel_domain::parse_captions(&bytes) {
            prop_assert!(captions.webvtt.starts_with("WEBVTT"));
            prop_assert!(captions.end_seconds.is_finite() && captions.end_seconds >= 0.0);
            let again = skillreel_domain::parse_captions(captions.webvtt.as_bytes());
            prop_assert_eq!(again.map(|c| c.webvtt), Ok(captions.webvtt));
        }
    }

    /// The container sniff looks at any head without panicking.
    #[test]
    fn sniff(bytes in mutated(corpus("sniff"))) {
        let _ = skillreel_upload::looks_like_video(&bytes);
    }

    /// tus `Upload-Metadata`: any header value parses or is refused.
    #[test]
    fn upload_metadata(bytes in mutated(corpus("metadata"))) {
        let raw = String::from_utf8_lossy(&bytes);
        if let Ok(pairs) = skillreel_upload::tus::parse_metadata(&raw) {
            prop_assert!(pairs.keys().all(|k| !k.is_empty() && k.len() <= 64));
        }
    }

    /// Cursors: any string decodes or is refused; what decodes encodes back to a
    /// cursor that decodes the same.
    #[test]
    fn cursors(bytes in mutated(corpus("cursors"))) {
        use skillreel_db::videos::{Cursor, RankCursor};
        let raw = String::from_utf8_lossy(&bytes);
        if let Some(c) = Cursor::decode(&raw) {
            prop_assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        if let Some(c) = RankCursor::decode(&raw) {
            prop_assert_eq!(RankCursor::decode(&c.encode()).map(|r| (r.id, r.key.to_bits())), Some((c.id, c.key.to_bits())));
        }
    }
}

proptest! {
    // Each case writes a file and opens it with libav: fewer cases per run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)
    ))]

    /// The media probe (libav) opens any file and answers with a description or a
    /// reason; it never crashes or loops (the worker's child process is the second
    /// line of defence, this is the first).
    #[test]
    fn probe(bytes in mutated(corpus("probe"))) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let path = dir.path().join("source");
        std::fs::write(&path, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Ok(probe) = skillreel_media::probe(&path, &skillreel_media::Limits::default()) {
            prop_assert!(probe.width > 0 && probe.height > 0);
            prop_assert!(probe.width <= 7680 && probe.height <= 7680);
        }
    }
}
