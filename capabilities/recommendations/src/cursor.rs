//! The cursor of a list ordered newest first: the last row's instant and id.

use time::OffsetDateTime;
use uuid::Uuid;

pub fn encode(at: OffsetDateTime, id: Uuid) -> String {
    format!("{}.{id}", at.unix_timestamp_nanos())
}

/// The instant and id of `raw`, or `None` when it is not a cursor of ours.
pub fn decode(raw: &str) -> Option<(OffsetDateTime, Uuid)> {
    let (nanos, id) = raw.split_once('.')?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
    Some((at, id.parse().ok()?))
}

/// The `cursor` parameter, decoded (400 when it is not one of ours).
pub fn parse(raw: Option<&str>) -> Result<Option<(OffsetDateTime, Uuid)>, skillreel_web::ApiError> {
    match raw.filter(|c| !c.is_empty()) {
        Some(raw) => decode(raw)
            .map(Some)
            .ok_or_else(|| skillreel_web::ApiError::bad_request("cursor is not valid")),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_456_789).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let id = Uuid::now_v7();
        assert_eq!(decode(&encode(at, id)), Some((at, id)));
        assert_eq!(decode("12.not-a-uuid"), None);
        assert_eq!(decode("x"), None);
        assert!(parse(Some("x")).is_err());
        assert_eq!(parse(Some("")).ok(), Some(None));
    }
}
