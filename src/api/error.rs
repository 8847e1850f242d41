//! The crate's error (`crate::error`) answered as RFC 9457 `application/problem+json`,
//! and the extractors' failures mapped to it.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::validation::FieldError;
use crate::error::{Error, Kind, error_chain};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A short, stable name for the problem: the tail of its `type` URI.
fn slug(kind: &Kind) -> &'static str {
    match kind {
        Kind::Invalid(_) => "validation-failed",
        Kind::Malformed(_) => "bad-request",
        Kind::Unauthenticated(_) => "unauthenticated",
        Kind::Forbidden(_) => "forbidden",
        Kind::NotFound(_) => "not-found",
        Kind::Unsupported(_) => "method-not-allowed",
        Kind::Conflict { .. } => "conflict",
        Kind::TooLarge(_) => "payload-too-large",
        Kind::Stalled(_) => "request-timeout",
        Kind::UnsupportedFormat(_) => "unsupported-media-type",
        Kind::TooManyAttempts { .. } => "too-many-requests",
        Kind::Unavailable(_) => "unavailable",
        Kind::Outage { fault, .. } => fault.slug(),
        Kind::Internal(_) => "internal-error",
    }
}

fn title(kind: &Kind) -> &'static str {
    match kind {
        Kind::Invalid(_) => "The request is not valid",
        Kind::Malformed(_) => "Bad request",
        Kind::Unauthenticated(_) => "Authentication required",
        Kind::Forbidden(_) => "Not allowed",
        Kind::NotFound(_) => "Not found",
        Kind::Unsupported(_) => "Method not allowed",
        Kind::Conflict { .. } => "Conflict with the current state",
        Kind::TooLarge(_) => "Payload too large",
        Kind::Stalled(_) => "Request timeout",
        Kind::UnsupportedFormat(_) => "Unsupported media type",
        Kind::TooManyAttempts { .. } => "Too many requests",
        Kind::Unavailable(_) => "Service unavailable",
        Kind::Outage {
            fault: crate::error::Fault::StorageFull,
            ..
        } => "Insufficient storage",
        Kind::Outage { .. } => "Service unavailable",
        Kind::Internal(_) => "Internal error",
    }
}

fn detail(err: &Error) -> String {
    match err.kind() {
        Kind::Invalid(errors) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            format!("check these fields: {}", fields.join(", "))
        }
        // The cause goes to the log, never to the caller.
        Kind::Internal(_) => "the server could not complete the request; it has been logged".into(),
        _ => err.to_string(),
    }
}

/// The body every error is answered with (RFC 9457), as the API documents it.
/// `errors` lists the fields at fault on a 422; a 409 may carry more members
/// (`current_version`, `status`...).
#[derive(Serialize, utoipa::ToSchema)]
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

/// The cause of an internal error goes to the log with its whole chain and
/// its place, never to the caller (the portal's pages log the same way).
pub(crate) fn log_internal(err: &Error) {
    if let Kind::Internal(cause) = err.kind() {
        tracing::error!(error = %error_chain(cause.as_ref()), place = %err.place(), "request failed");
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self.kind() {
            Kind::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Malformed(_) => StatusCode::BAD_REQUEST,
            Kind::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Kind::Forbidden(_) => StatusCode::FORBIDDEN,
            Kind::NotFound(_) => StatusCode::NOT_FOUND,
            Kind::Unsupported(_) => StatusCode::METHOD_NOT_ALLOWED,
            Kind::Conflict { .. } => StatusCode::CONFLICT,
            Kind::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::Stalled(_) => StatusCode::REQUEST_TIMEOUT,
            Kind::UnsupportedFormat(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Kind::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Outage {
                fault: crate::error::Fault::StorageFull,
                ..
            } => StatusCode::INSUFFICIENT_STORAGE,
            Kind::Outage { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        log_internal(self);
        let status = self.status_code();
        let (errors, extra) = match self.kind() {
            Kind::Invalid(errors) => (Some(errors.as_slice()), None),
            Kind::Conflict { extra, .. } => (None, extra.as_ref()),
            _ => (None, None),
        };
        let body = ProblemBody {
            kind: problem_type(slug(self.kind())),
            title: title(self.kind()),
            status: status.as_u16(),
            detail: detail(self),
            errors,
            extra,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self.kind() {
            Kind::Unauthenticated(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Kind::TooManyAttempts {
                retry_after_secs, ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            // Transient: the caller is told when to try again.
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        response.body(serde_json::to_vec(&body).unwrap_or_default())
    }
}

impl From<actix_web::error::BlockingError> for Error {
    #[track_caller]
    fn from(err: actix_web::error::BlockingError) -> Self {
        Error::internal(err)
    }
}

/// Maps the JSON extractor's failures: wrong media type 415, too large 413,
/// unparseable 400, well-formed but wrong in shape (a missing or unknown field, a
/// wrong type) 422.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> Error {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::ContentType => {
            Error::unsupported_format("send the body as JSON with `Content-Type: application/json`")
        }
        E::OverflowKnownLength { limit, .. } | E::Overflow { limit } => {
            Error::too_large(format!("the body is larger than {limit} bytes"))
        }
        E::Deserialize(e) => serde_error(e),
        E::Payload(e) if timed_out(&e) => Error::stalled(super::body_deadline::TIMED_OUT),
        other => Error::malformed(format!("cannot read the body: {other}")),
    }
}

/// Whether a body failed because it stopped arriving.
pub fn timed_out(e: &actix_web::error::PayloadError) -> bool {
    matches!(e, actix_web::error::PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// A body that is not JSON is 400; JSON of the wrong shape is 422 naming the field.
pub fn serde_error(e: serde_json::Error) -> Error {
    match e.classify() {
        serde_json::error::Category::Data => Error::invalid(vec![FieldError {
            field: field_of(&e.to_string()).unwrap_or_else(|| "body".into()),
            message: e.to_string(),
        }]),
        _ => Error::malformed(format!("the body is not valid JSON: {e}")),
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

/// Maps the query string's failures: a parameter the endpoint does not know
/// is 400 naming it (a misspelt filter must not silently return
/// everything); a known one of the wrong type 422 at its name.
pub fn query_error(err: actix_web::error::QueryPayloadError) -> Error {
    let message = match &err {
        actix_web::error::QueryPayloadError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    let named = field_of(&message);
    match named {
        Some(name) if message.starts_with("unknown field") => {
            let takes = message
                .split_once(", expected ")
                .map(|(_, rest)| format!("; it takes {rest}"))
                .unwrap_or_default();
            Error::malformed(format!("unknown query parameter `{name}`{takes}"))
        }
        _ => Error::invalid(vec![FieldError {
            field: named.unwrap_or_else(|| "query".into()),
            message,
        }]),
    }
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
            Error::field("x", "bad").status_code(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(Error::conflict("stale").status_code(), StatusCode::CONFLICT);
        assert_eq!(
            Error::from(diesel::result::Error::NotFound).status_code(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn a_database_still_locked_after_the_busy_timeout_is_unavailable_not_a_fault() {
        use diesel::connection::SimpleConnection;
        use diesel::result::{DatabaseErrorKind, Error as Db};
        let dir = tempfile::tempdir().unwrap();
        let url = crate::db::DatabaseUrl::Sqlite(dir.path().join("locked.db"));
        let mut holder = crate::db::conn::establish(&url).unwrap();
        let mut waiter = crate::db::conn::establish(&url).unwrap();
        holder.batch_execute("BEGIN IMMEDIATE").unwrap();
        waiter.batch_execute("PRAGMA busy_timeout = 0").unwrap();
        let locked = waiter.batch_execute("BEGIN IMMEDIATE").unwrap_err();
        assert_eq!(
            Error::from(locked).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        // A query mlat got wrong stays a bug.
        let other = Db::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("no such column: x".to_owned()),
        );
        assert_eq!(
            Error::from(other).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        // The disk failing under SQLite is the disk's fault, and transient
        // as far as the caller can tell.
        let disk = Db::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("disk I/O error".to_owned()),
        );
        let disk = Error::from(disk);
        assert_eq!(disk.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            disk.error_response().headers().get("retry-after").unwrap(),
            "5"
        );
    }
}
