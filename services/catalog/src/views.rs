//! Paging helpers for the catalog's lists (shared with other capabilities, in
//! `skillreel_web::paging`). The video's own JSON shape is shared with the upload
//! service and lives in `skillreel_contracts::views`.

pub use skillreel_web::paging::{Page, paginate, parse_limit};
