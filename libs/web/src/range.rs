//! HTTP `Range: bytes=…` requests (RFC 9110 §14), for serving media to players.

/// What a `Range` header asks of an object of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: send the whole object (also for multi-range requests, which
    /// the spec lets a server answer in full).
    Full,
    /// The inclusive byte range to send with 206.
    Partial(u64, u64),
    /// Nothing of the object is in range: 416.
    Unsatisfiable,
}

/// Parses `header` against an object of `size` bytes. Malformed headers are ignored
/// (served in full), as RFC 9110 requires.
pub fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (start, end) = (start.trim(), end.trim());
    match (start.parse::<u64>(), end.parse::<u64>()) {
        // bytes=-N: the last N bytes
        (Err(_), Ok(n)) if start.is_empty() => match (n, size) {
            (0, _) | (_, 0) => RangeRequest::Unsatisfiable,
            _ => RangeRequest::Partial(size.saturating_sub(n), size - 1),
        },
        (Ok(s), _) if s >= size => RangeRequest::Unsatisfiable,
        (Ok(s), Err(_)) if end.is_empty() => RangeRequest::Partial(s, size - 1),
        (Ok(s), Ok(e)) if e >= s => RangeRequest::Partial(s, e.min(size - 1)),
        _ => RangeRequest::Full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeRequest::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range(None, 100), Full);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Partial(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Partial(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Partial(90, 99));
        assert_eq!(parse_range(Some("bytes=-1000"), 100), Partial(0, 99));
        assert_eq!(parse_range(Some("bytes=50-1000"), 100), Partial(50, 99));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=9-3"), 100), Full);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Full);
        assert_eq!(parse_range(Some("items=0-1"), 100), Full);
        assert_eq!(parse_range(Some("bytes=x-y"), 100), Full);
    }
}
