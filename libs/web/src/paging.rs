//! Cursor pagination shared by every list endpoint: the `limit` parameter, a page
//! fetched with one row more than shown, and the page's JSON shape.

use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiError;

/// The `limit` of a listing: 1 to 100, `default` when absent.
pub fn parse_limit(raw: Option<u32>, default: i64) -> Result<i64, ApiError> {
    let limit = raw.map_or(default, i64::from);
    if (1..=100).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::bad_request("limit must be between 1 and 100"))
    }
}

/// A listing fetched with `limit + 1` rows becomes a page: the extra row only says that
/// there is more, and the cursor names the last row shown.
pub fn paginate<T>(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(cursor_of);
    (rows, next)
}

/// A page of a cursor-paginated list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The page of `rows` (fetched with `limit + 1`), its cursor made by `cursor_of`.
    pub fn of(rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Self {
        let (items, next_cursor) = paginate(rows, limit, cursor_of);
        Self { items, next_cursor }
    }
}

/// The cursor of a list ordered by a number, highest first: the last row's key and id.
pub mod by_key {
    use crate::ApiError;
    use uuid::Uuid;

    pub fn encode(key: f64, id: Uuid) -> String {
        format!("{key}~{id}")
    }

    /// The key and id of `raw`, or `None` when it is not a cursor of ours.
    pub fn decode(raw: &str) -> Option<(f64, Uuid)> {
        let (key, id) = raw.split_once('~')?;
        let key: f64 = key.parse().ok()?;
        key.is_finite().then_some(())?;
        Some((key, id.parse().ok()?))
    }

    /// The longest cursor accepted (the `max_length` every listing documents).
    pub const MAX_LEN: usize = 200;

    /// The `cursor` parameter, decoded (400 when it is not one of ours).
    pub fn parse(raw: Option<&str>) -> Result<Option<(f64, Uuid)>, ApiError> {
        if raw.is_some_and(|c| c.len() > MAX_LEN) {
            return Err(ApiError::bad_request(format!("cursor is at most {MAX_LEN} characters")));
        }
        match raw.filter(|c| !c.is_empty()) {
            Some(raw) => decode(raw)
                .map(Some)
                .ok_or_else(|| ApiError::bad_request("cursor is not valid")),
            None => Ok(None),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_keyed_cursor_round_trips_and_garbage_is_refused() {
            let id = Uuid::now_v7();
            assert_eq!(decode(&encode(3.0, id)), Some((3.0, id)));
            assert_eq!(decode(&encode(1_800_000_000.5, id)), Some((1_800_000_000.5, id)));
            assert_eq!(decode(&format!("NaN~{id}")), None);
            assert_eq!(decode(&format!("inf~{id}")), None);
            assert_eq!(decode("3~nope"), None);
            assert!(parse(Some("x")).is_err());
            assert_eq!(parse(Some("")).ok(), Some(None));
            let padded = format!("0.{}~{id}", "0".repeat(MAX_LEN));
            assert_eq!(decode(&padded), Some((0.0, id)), "well formed…");
            assert!(parse(Some(&padded)).is_err(), "…but longer than documented");
        }
    }
}

/// The cursor of a list ordered newest first: the last row's instant and id.
pub mod newest_first {
    use crate::ApiError;
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
    pub fn parse(raw: Option<&str>) -> Result<Option<(OffsetDateTime, Uuid)>, ApiError> {
        match raw.filter(|c| !c.is_empty()) {
            Some(raw) => decode(raw)
                .map(Some)
                .ok_or_else(|| ApiError::bad_request("cursor is not valid")),
            None => Ok(None),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_newest_first_cursor_round_trips_and_garbage_is_refused() {
            let at = OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_456_789)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let id = Uuid::now_v7();
            assert_eq!(decode(&encode(at, id)), Some((at, id)));
            assert_eq!(decode("12.not-a-uuid"), None);
            assert_eq!(decode("x"), None);
            assert!(parse(Some("x")).is_err());
            assert_eq!(parse(Some("")).ok(), Some(None));
        }
    }
}
