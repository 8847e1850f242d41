//! One error type for every handler, answered as RFC 9457 `application/problem+json`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::validation::FieldError;

pub const PROBLEM_JSON: &str = "application/problem+json";

type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{detail}")]
    Conflict {
        detail: String,
        extra: Option<serde_json::Value>,
    },
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body stopped arriving (`api::body_deadline`).
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ApiError {
    pub fn internal(cause: impl Into<Cause>) -> Self {
        ApiError::Internal(cause.into())
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// SQLite's one write lock held by other changes for longer than a writer
    /// waits: load, not a fault, and nothing was written.
    pub fn database_busy() -> Self {
        ApiError::Unavailable("the database is busy with other changes; try again shortly".into())
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            detail: detail.into(),
            extra: None,
        }
    }

    /// A short, stable name for the problem: the tail of its `type` URI.
    fn slug(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation-failed",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed(_) => "method-not-allowed",
            ApiError::Conflict { .. } => "conflict",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::RequestTimeout(_) => "request-timeout",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal-error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "The request is not valid",
            ApiError::BadRequest(_) => "Bad request",
            ApiError::Unauthenticated(_) => "Authentication required",
            ApiError::Forbidden(_) => "Not allowed",
            ApiError::NotFound(_) => "Not found",
            ApiError::MethodNotAllowed(_) => "Method not allowed",
            ApiError::Conflict { .. } => "Conflict with the current state",
            ApiError::PayloadTooLarge(_) => "Payload too large",
            ApiError::RequestTimeout(_) => "Request timeout",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::TooManyRequests { .. } => "Too many requests",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal error",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Validation(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!("check these fields: {}", fields.join(", "))
            }
            // The cause goes to the log, never to the caller.
            ApiError::Internal(_) => {
                "the server could not complete the request; it has been logged".into()
            }
            other => other.to_string(),
        }
    }
}

/// The body every error is answered with (RFC 9457), as the API documents it.
/// `errors` lists the fields at fault on a 422; a 409 may carry more members
/// (`current_version`, `status`...).
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// `urn:mlat:problem:<slug>`, stable for a kind of problem.
    #[serde(rename = "type")]
    #[schema(example = "urn:mlat:problem:validation-failed")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<FieldError>>,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    extra: Option<&'a serde_json::Value>,
}

/// The problem `type` URI for a slug; documented in docs/api.md.
pub fn problem_type(slug: &str) -> String {
    format!("urn:mlat:problem:{slug}")
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = %error_chain(cause.as_ref()), "request failed");
        }
        let status = self.status_code();
        let (errors, extra) = match self {
            ApiError::Validation(errors) => (Some(errors.as_slice()), None),
            ApiError::Conflict { extra, .. } => (None, extra.as_ref()),
            _ => (None, None),
        };
        let body = ProblemBody {
            kind: problem_type(self.slug()),
            title: self.title(),
            status: status.as_u16(),
            detail: self.detail(),
            errors,
            extra,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            ApiError::Unauthenticated(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            _ => {}
        }
        response.body(serde_json::to_vec(&body).unwrap_or_default())
    }
}

/// An error in words for a terminal or a log: field errors listed, internal
/// causes with their chain.
pub fn describe(err: &ApiError) -> String {
    match err {
        ApiError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        ApiError::Internal(cause) => error_chain(cause.as_ref()),
        other => other.to_string(),
    }
}

/// The whole `source()` chain of an error on one line, for the log.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => ApiError::NotFound("no such object".into()),
            // SQLITE_BUSY after the busy timeout: writes that do not pass through
            // the writer queue (sign-in, another process) can still meet it.
            diesel::result::Error::DatabaseError(_, info)
                if info.message() == "database is locked" =>
            {
                tracing::warn!("the SQLite database stayed locked for its whole busy timeout");
                ApiError::database_busy()
            }
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<crate::db::writers::Busy> for ApiError {
    fn from(busy: crate::db::writers::Busy) -> Self {
        tracing::warn!(error = %busy, "a change waited too long for the database");
        ApiError::database_busy()
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        tracing::error!(error = %err, "no database connection available");
        ApiError::Unavailable("the database is not reachable; try again shortly".into())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(Box::new(err))
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> Self {
        ApiError::Validation(errors)
    }
}

/// Maps the JSON extractor's failures: wrong media type 415, too large 413,
/// unparseable 400, well-formed but wrong in shape (a missing or unknown field, a
/// wrong type) 422.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::ContentType => ApiError::UnsupportedMediaType(
            "send the body as JSON with `Content-Type: application/json`".into(),
        ),
        E::OverflowKnownLength { limit, .. } | E::Overflow { limit } => {
            ApiError::PayloadTooLarge(format!("the body is larger than {limit} bytes"))
        }
        E::Deserialize(e) => serde_error(e),
        E::Payload(e) if timed_out(&e) => {
            ApiError::RequestTimeout(super::body_deadline::TIMED_OUT.into())
        }
        other => ApiError::BadRequest(format!("cannot read the body: {other}")),
    }
}

/// Whether a body failed because it stopped arriving.
pub fn timed_out(e: &actix_web::error::PayloadError) -> bool {
    matches!(e, actix_web::error::PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// A body that is not JSON is 400; JSON of the wrong shape is 422 naming the field.
pub fn serde_error(e: serde_json::Error) -> ApiError {
    match e.classify() {
        serde_json::error::Category::Data => ApiError::Validation(vec![FieldError {
            field: field_of(&e.to_string()).unwrap_or_else(|| "body".into()),
            message: e.to_string(),
        }]),
        _ => ApiError::BadRequest(format!("the body is not valid JSON: {e}")),
    }
}

/// Best effort: names the field a serde message is about ("missing field `x`",
/// "unknown field `x`").
fn field_of(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    let quoted = &message[start..end];
    (message.starts_with("missing field") || message.starts_with("unknown field"))
        .then(|| quoted.to_owned())
}

pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::Validation(vec![FieldError {
        field: "query".into(),
        message: err.to_string(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_of_a_serde_message() {
        assert_eq!(
            field_of("missing field `email` at line 1 column 2").as_deref(),
            Some("email")
        );
        assert_eq!(
            field_of("unknown field `colour`, expected one of `a`").as_deref(),
            Some("colour")
        );
        assert_eq!(field_of("invalid type: integer `1`"), None);
    }

    #[test]
    fn statuses_follow_the_kind() {
        assert_eq!(
            ApiError::field("x", "bad").status_code(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            ApiError::conflict("stale").status_code(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            ApiError::from(diesel::result::Error::NotFound).status_code(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn a_database_still_locked_after_the_busy_timeout_is_unavailable_not_a_fault() {
        use diesel::connection::SimpleConnection;
        use diesel::result::{DatabaseErrorKind, Error};
        let dir = tempfile::tempdir().unwrap();
        let url = crate::db::DatabaseUrl::Sqlite(dir.path().join("locked.db"));
        let mut holder = crate::db::conn::establish(&url).unwrap();
        let mut waiter = crate::db::conn::establish(&url).unwrap();
        holder.batch_execute("BEGIN IMMEDIATE").unwrap();
        waiter.batch_execute("PRAGMA busy_timeout = 0").unwrap();
        let locked = waiter.batch_execute("BEGIN IMMEDIATE").unwrap_err();
        assert_eq!(
            ApiError::from(locked).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let other = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("disk I/O error".to_owned()),
        );
        assert_eq!(
            ApiError::from(other).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
