//! Resumable uploads over tus 1.0 (`/api/v1/uploads`): core protocol plus the
//! creation, creation-with-upload, creation-defer-length, termination, checksum and
//! expiration extensions. The state of every upload lives in PostgreSQL, so a
//! restarted server or another replica takes the next PATCH where the last one ended.

mod append;
mod handlers;
mod protocol;
mod sweep;

pub use append::unavailable;
pub use handlers::routes;
pub use protocol::parse_metadata;
pub use sweep::{finish_assembled, spawn_sweeper, sweep_expired};
