//! The HTTP plumbing every Skillreel service shares.
//!
//! - [`ApiError`]: every failure becomes an RFC 9457 problem document with a stable
//!   machine `code`; a 5xx says nothing internal and logs its cause chain instead.
//! - [`configure_extractors`] and [`not_found`]: malformed JSON, paths and queries and
//!   unknown routes answer with problem documents too, never actix's plain text.
//! - [`telemetry`]: `tracing` set-up, pretty in development and JSON in production.
//! - [`ops`]: `/healthz`, `/readyz` (with pluggable [`ops::ReadinessCheck`]s) and
//!   `/metrics` with a request-metrics middleware.
//! - [`serve`]: the actix-web server every service (and `skillreel dev`) runs, and
//!   [`BackgroundTasks`], stopped and awaited when it ends.
//! - [`KnownRoutes`]: what a server answers, for `405` with `Allow` on a known path.
//! - [`Bulkhead`]: at most so many requests of one kind at their database work at once,
//!   the rest in line, so a burst of heavy reads keeps a short tail.
//! - [`Coalescer`]: point lookups that arrive together asked in one statement.
//! - [`egress`]: where the server may send requests on someone's behalf (webhooks,
//!   federation): public addresses only, unless an operator allowlisted the host.

mod background;
mod body;
pub mod bulkhead;
pub mod coalesce;
pub mod egress;
mod error;
mod json;
pub mod openapi;
pub mod ops;
pub mod paging;
pub mod range;
mod routes;
pub mod search;
mod server;
pub mod telemetry;

pub use background::{BackgroundTasks, repeat};
pub use body::{BODY_IDLE_TIMEOUT, is_timed_out};
pub use bulkhead::Bulkhead;
pub use coalesce::{BatchLookup, Coalescer};
pub use error::{ApiError, ErrorCode, configure_extractors, not_found};
pub use json::{JsonObject, double_option, integral, integral_option};
pub use routes::{KnownRoutes, RoutePattern, RouteSpec, mount, route};
pub use server::{Backends, StartError, bind, public_base_url, serve};
pub use tokio_util::sync::CancellationToken;
