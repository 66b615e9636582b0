//! `ApiError`: every refusal as an RFC 9457 problem document with one `code` per cause,
//! and the mapping of lower layers' errors onto it.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;
use skillreel_domain::ValidationError;

/// A stable, machine-readable reason for an error; clients may match on it.
///
/// One shared set rather than one per service: the services mount into one server in
/// development, and a client should see the same code for the same problem wherever
/// it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Validation,
    Unauthenticated,
    Forbidden,
    NotFound,
    /// The client did not send its request body in time.
    RequestTimeout,
    /// The request's headers together are larger than we read.
    HeadersTooLarge,
    /// No route has this path: a client bug, not a missing object.
    RouteNotFound,
    MethodNotAllowed,
    Conflict,
    Gone,
    PreconditionFailed,
    PayloadTooLarge,
    /// The person's storage or daily upload quota would be exceeded.
    QuotaExceeded,
    UnsupportedMediaType,
    RangeNotSatisfiable,
    /// The client sends faster than the endpoint accepts (heartbeats, recommendations).
    TooManyRequests,
    /// tus: the `Upload-Checksum` does not match the bytes received.
    ChecksumMismatch,
    Unavailable,
    /// Every database connection is busy, or a statement ran past its time limit: the
    /// request was shed rather than queued; retry after `Retry-After` seconds.
    Overloaded,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::Gone => StatusCode::GONE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge | Self::QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::ChecksumMismatch => StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
            Self::Unavailable | Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Validation => "validation_failed",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::RouteNotFound => "route_not_found",
            Self::RequestTimeout => "request_timeout",
            Self::HeadersTooLarge => "headers_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::Gone => "gone",
            Self::PreconditionFailed => "precondition_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::QuotaExceeded => "quota_exceeded",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RangeNotSatisfiable => "range_not_satisfiable",
            Self::TooManyRequests => "too_many_requests",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::Unavailable => "unavailable",
            Self::Overloaded => "overloaded",
            Self::Internal => "internal",
        }
    }

    const fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "The request is malformed",
            Self::Validation => "The request is well-formed but its content is invalid",
            Self::Unauthenticated => "Authentication is required",
            Self::Forbidden => "You may not do this",
            Self::NotFound => "Not found",
            Self::RouteNotFound => "No such endpoint",
            Self::RequestTimeout => "The request body did not arrive in time",
            Self::HeadersTooLarge => "The request headers are too large",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "The request conflicts with the current state",
            Self::Gone => "It is gone",
            Self::PreconditionFailed => "A precondition of the request failed",
            Self::PayloadTooLarge => "The request body is too large",
            Self::QuotaExceeded => "Your upload quota would be exceeded",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::RangeNotSatisfiable => "The requested range is not satisfiable",
            Self::TooManyRequests => "Too many requests; slow down",
            Self::ChecksumMismatch => "The checksum does not match the data received",
            Self::Unavailable => "The service is temporarily unavailable",
            Self::Overloaded => "The service is busy",
            Self::Internal => "Something went wrong on our side",
        }
    }
}

/// An error on its way to becoming a problem document.
pub struct ApiError {
    code: ErrorCode,
    detail: Option<String>,
    /// Only logged, never sent.
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: Some(detail.into()),
            source: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, detail)
    }

    pub fn validation(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, detail)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    /// `what` names the thing, e.g. "video": "video not found".
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, detail)
    }

    /// A failure of ours: the client learns nothing about it, the log learns all.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            code: ErrorCode::Internal,
            detail: None,
            source: Some(source.into()),
        }
    }

    /// A dependency (database, object store) is down: worth retrying later.
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            code: ErrorCode::Unavailable,
            detail: Some("a backing service is unavailable; retry shortly".into()),
            source: Some(source.into()),
        }
    }

    /// The database is saturated (no free connection in time, or a statement hit its
    /// time limit): shed the request so it does not queue behind the others.
    pub fn overloaded(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            code: ErrorCode::Overloaded,
            detail: Some("the service is busy; retry after the number of seconds in Retry-After".into()),
            source: Some(source.into()),
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The same problem for another request (everyone in a failed batch): code and
    /// detail alike; the cause stays with the original, so it is logged once.
    pub fn same_problem(&self) -> Self {
        Self {
            code: self.code,
            detail: self.detail.clone(),
            source: None,
        }
    }

    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("code", &self.code.as_str())
            .field("detail", &self.detail)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code.as_str())?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct ProblemDocument<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    code: &'a str,
}

/// Writes the cause chain of a server-side error to the log.
fn log_cause(error: &ApiError) {
    let Some(source) = &error.source else { return };
    let mut chain = source.to_string();
    let mut next = source.source();
    while let Some(cause) = next {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        next = cause.source();
    }
    if error.code.status().is_server_error() {
        tracing::error!(code = error.code.as_str(), cause = %chain, "request failed");
    } else {
        tracing::debug!(code = error.code.as_str(), cause = %chain, "request refused");
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        log_cause(self);
        let body = ProblemDocument {
            kind: format!("urn:skillreel:problem:{}", self.code.as_str()),
            title: self.code.title(),
            status: self.code.status().as_u16(),
            detail: self.detail.as_deref(),
            code: self.code.as_str(),
        };
        let mut response = HttpResponse::build(self.code.status());
        match self.code {
            ErrorCode::Unauthenticated => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            // A busy database frees up within a second; one that is down takes longer.
            ErrorCode::Overloaded => {
                response.insert_header((actix_web::http::header::RETRY_AFTER, "1"));
            }
            ErrorCode::Unavailable => {
                response.insert_header((actix_web::http::header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        response
            .content_type(ContentType(mime_problem()))
            .body(serde_json::to_string(&body).unwrap_or_default())
    }
}

fn mime_problem() -> actix_web::mime::Mime {
    "application/problem+json"
        .parse()
        .unwrap_or(actix_web::mime::APPLICATION_JSON)
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::validation(e.to_string())
    }
}

/// A job or event the request queues: its database failing is the database's
/// answer (503 when unavailable); a payload that would not serialise is ours.
impl From<skillreel_queue::QueueError> for ApiError {
    fn from(e: skillreel_queue::QueueError) -> Self {
        match e {
            skillreel_queue::QueueError::Database(e) => e.into(),
            skillreel_queue::QueueError::Payload(e) => Self::internal(e),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// Unique violations are the client's conflict; a lost connection is an outage;
    /// anything else is a bug of ours.
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self {
                code: ErrorCode::Conflict,
                detail: Some("it already exists".into()),
                source: Some(e.into()),
            },
            // Text PostgreSQL cannot store (a NUL, an invalid byte sequence) came from
            // the client: what it sent is wrong, not the server.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")) => Self {
                code: ErrorCode::BadRequest,
                detail: Some("the text holds a character that cannot be stored (such as a NUL)".into()),
                source: Some(e.into()),
            },
            sqlx::Error::RowNotFound => Self {
                code: ErrorCode::NotFound,
                detail: Some("not found".into()),
                source: None,
            },
            // 57014: the statement ran past `statement_timeout`.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("57014") => Self::overloaded(e),
            sqlx::Error::PoolTimedOut => Self::overloaded(e),
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed => Self::unavailable(e),
            _ => Self::internal(e),
        }
    }
}

/// Makes actix's own extractors (JSON, path, query, form) refuse with problem documents.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().limit(256 * 1024).error_handler(|err, _| {
        let code = match &err {
            actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
            | actix_web::error::JsonPayloadError::Overflow { .. } => ErrorCode::PayloadTooLarge,
            actix_web::error::JsonPayloadError::ContentType => ErrorCode::UnsupportedMediaType,
            actix_web::error::JsonPayloadError::Payload(e) if crate::is_timed_out(e) => ErrorCode::RequestTimeout,
            _ => ErrorCode::BadRequest,
        };
        ApiError::new(code, format!("invalid JSON body: {err}")).into()
    }))
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _| ApiError::new(ErrorCode::NotFound, format!("no such resource: {err}")).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|err, _| ApiError::bad_request(format!("invalid query string: {err}")).into()),
    );
}

/// The default service: a known path asked with a method it does not answer gets 405
/// with `Allow`; an unknown path a problem document, not an empty 404.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let allowed = req
        .app_data::<web::Data<crate::KnownRoutes>>()
        .map(|known| known.allowed(req.path()))
        .unwrap_or_default();
    if !allowed.is_empty() && !allowed.contains(req.method()) {
        let allow = allowed.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
        let mut response =
            ApiError::new(ErrorCode::MethodNotAllowed, format!("{} answers {allow}", req.path())).error_response();
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
            response.headers_mut().insert(actix_web::http::header::ALLOW, value);
        }
        return response;
    }
    ApiError::new(
        ErrorCode::RouteNotFound,
        format!("no route for {} {}", req.method(), req.path()),
    )
    .error_response()
}
