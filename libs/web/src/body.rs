//! Request bodies that stop arriving: a sender silent for [`BODY_IDLE_TIMEOUT`] ends
//! its body with a timeout error, so nothing (a worker slot, a tus lease, the bytes
//! buffered so far) is held for a client that went quiet. Handlers answer that error
//! with 408 `request_timeout` (see [`is_timed_out`]); a tus PATCH keeps what arrived,
//! as it does for any interrupted body.

use std::time::Duration;

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use futures_util::StreamExt as _;

/// Longest silence within a request body.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a body error is the idle timeout.
pub fn is_timed_out(error: &PayloadError) -> bool {
    matches!(error, PayloadError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut)
}

/// Middleware: every request body ends with a timeout error after
/// [`BODY_IDLE_TIMEOUT`] without a byte.
pub(crate) async fn idle_timeout(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let payload = req.take_payload();
    let timed = futures_util::stream::unfold(Some(payload), |state| async move {
        let mut payload = state?;
        match tokio::time::timeout(BODY_IDLE_TIMEOUT, payload.next()).await {
            Ok(Some(item)) => Some((item, Some(payload))),
            Ok(None) => None,
            Err(_) => {
                let silent = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no data for {} s", BODY_IDLE_TIMEOUT.as_secs()),
                );
                Some((Err(PayloadError::Io(silent)), None))
            }
        }
    });
    // Fused: body readers (multipart among them) may poll again after the end.
    req.set_payload(Payload::Stream {
        payload: Box::pin(timed.fuse()),
    });
    next.call(req).await
}
