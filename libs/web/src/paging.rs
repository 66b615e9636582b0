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
