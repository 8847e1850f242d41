//! The one error of the use cases, the jobs and the mail sender: what kind of
//! failure it is, in words for the person who caused it, with its cause and
//! the place in the code it was raised. It names no HTTP type: the API maps it
//! to problem+json (`api::error`), the command line prints it (`describe`).

use std::panic::Location;

use crate::domain::validation::FieldError;

pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong, as the caller can act on it.
#[derive(Debug)]
pub enum Kind {
    /// Fields at fault, each with what is wrong with it.
    Invalid(Vec<FieldError>),
    /// The input cannot be read at all (not JSON, a cut body).
    Malformed(String),
    Unauthenticated(String),
    Forbidden(String),
    /// Absent, or not visible to the caller: the two are not told apart.
    NotFound(String),
    /// An operation the addressed thing does not offer.
    Unsupported(String),
    /// The state changed under the caller, or a unique name is taken;
    /// `extra` carries what the caller needs to retry (`current_version`...).
    Conflict {
        detail: String,
        extra: Option<serde_json::Value>,
    },
    TooLarge(String),
    /// The input stopped arriving before it was complete.
    Stalled(String),
    /// The input is in a format that is not accepted.
    UnsupportedFormat(String),
    TooManyAttempts {
        detail: String,
        retry_after_secs: u64,
    },
    /// Something outside mlat (the database, the store) cannot serve now.
    Unavailable(String),
    /// A bug or a fault the caller cannot act on; the cause is logged, never shown.
    Internal(Cause),
}

#[derive(Debug)]
pub struct Error {
    kind: Kind,
    place: &'static Location<'static>,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Invalid(_) => f.write_str("the input is not valid"),
            Kind::Internal(_) => f.write_str("internal error"),
            Kind::Malformed(d)
            | Kind::Unauthenticated(d)
            | Kind::Forbidden(d)
            | Kind::NotFound(d)
            | Kind::Unsupported(d)
            | Kind::Conflict { detail: d, .. }
            | Kind::TooLarge(d)
            | Kind::Stalled(d)
            | Kind::UnsupportedFormat(d)
            | Kind::TooManyAttempts { detail: d, .. }
            | Kind::Unavailable(d) => f.write_str(d),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Internal(cause) => Some(cause.as_ref()),
            _ => None,
        }
    }
}

impl Error {
    #[track_caller]
    pub fn new(kind: Kind) -> Self {
        Error {
            kind,
            place: Location::caller(),
        }
    }

    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// Where in mlat's code the error was raised.
    pub fn place(&self) -> &'static Location<'static> {
        self.place
    }

    #[track_caller]
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::new(Kind::Internal(cause.into()))
    }

    #[track_caller]
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self::new(Kind::Invalid(errors))
    }

    #[track_caller]
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    #[track_caller]
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(Kind::Malformed(detail.into()))
    }

    #[track_caller]
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(Kind::Unauthenticated(detail.into()))
    }

    #[track_caller]
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden(detail.into()))
    }

    #[track_caller]
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(Kind::NotFound(detail.into()))
    }

    #[track_caller]
    pub fn unsupported(detail: impl Into<String>) -> Self {
        Self::new(Kind::Unsupported(detail.into()))
    }

    #[track_caller]
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::conflict_with(detail, None)
    }

    #[track_caller]
    pub fn conflict_with(detail: impl Into<String>, extra: Option<serde_json::Value>) -> Self {
        Self::new(Kind::Conflict {
            detail: detail.into(),
            extra,
        })
    }

    #[track_caller]
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(Kind::TooLarge(detail.into()))
    }

    #[track_caller]
    pub fn stalled(detail: impl Into<String>) -> Self {
        Self::new(Kind::Stalled(detail.into()))
    }

    #[track_caller]
    pub fn unsupported_format(detail: impl Into<String>) -> Self {
        Self::new(Kind::UnsupportedFormat(detail.into()))
    }

    #[track_caller]
    pub fn too_many_attempts(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::new(Kind::TooManyAttempts {
            detail: detail.into(),
            retry_after_secs,
        })
    }

    #[track_caller]
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable(detail.into()))
    }

    /// SQLite's one write lock held by other changes for longer than a writer
    /// waits: load, not a fault, and nothing was written.
    #[track_caller]
    pub fn database_busy() -> Self {
        Self::unavailable("the database is busy with other changes; try again shortly")
    }

    /// A unique key already taken (a database error converts to a bare
    /// "it exists already") said in the words of the use case; any other error
    /// is left as it is.
    pub fn when_taken(self, detail: impl FnOnce() -> String) -> Self {
        match self.kind {
            Kind::Conflict { extra, .. } => Error {
                kind: Kind::Conflict {
                    detail: detail(),
                    extra,
                },
                place: self.place,
            },
            _ => self,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self.kind, Kind::NotFound(_))
    }

    pub fn is_too_many_attempts(&self) -> bool {
        matches!(self.kind, Kind::TooManyAttempts { .. })
    }

    pub fn is_internal(&self) -> bool {
        matches!(self.kind, Kind::Internal(_))
    }
}

/// An error in words for a terminal or a log: field errors listed, internal
/// causes with their chain and the place they were raised.
pub fn describe(err: &Error) -> String {
    match &err.kind {
        Kind::Invalid(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        Kind::Internal(cause) => format!("{} (at {})", error_chain(cause.as_ref()), err.place),
        _ => err.to_string(),
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

/// The one place a database error becomes an mlat error: a missing row is
/// "not found", a unique key taken a conflict, SQLite's lock held past its
/// busy timeout a busy database; anything else is internal.
impl From<diesel::result::Error> for Error {
    #[track_caller]
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as Db};
        match err {
            Db::NotFound => Error::not_found("no such object"),
            Db::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Error::conflict("it exists already")
            }
            // SQLITE_BUSY after the busy timeout: writes that do not pass through
            // the writer queue (sign-in, another process) can still meet it.
            Db::DatabaseError(_, info) if info.message() == "database is locked" => {
                tracing::warn!("the SQLite database stayed locked for its whole busy timeout");
                Error::database_busy()
            }
            other => Error::internal(other),
        }
    }
}

impl From<crate::db::writers::Busy> for Error {
    #[track_caller]
    fn from(busy: crate::db::writers::Busy) -> Self {
        tracing::warn!(error = %busy, "a change waited too long for the database");
        Error::database_busy()
    }
}

impl From<diesel::r2d2::PoolError> for Error {
    #[track_caller]
    fn from(err: diesel::r2d2::PoolError) -> Self {
        tracing::error!(error = %err, "no database connection available");
        Error::unavailable("the database is not reachable; try again shortly")
    }
}

impl From<Vec<FieldError>> for Error {
    #[track_caller]
    fn from(errors: Vec<FieldError>) -> Self {
        Error::invalid(errors)
    }
}

impl From<tokio::task::JoinError> for Error {
    #[track_caller]
    fn from(err: tokio::task::JoinError) -> Self {
        Error::internal(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_knows_the_place_it_was_raised() {
        let raised = Error::internal("broken");
        assert_eq!(raised.place().file(), file!());
        let converted: Result<(), Error> = (|| {
            Err(diesel::result::Error::RollbackTransaction)?;
            Ok(())
        })();
        let converted = converted.unwrap_err();
        assert!(converted.is_internal());
        assert_eq!(converted.place().file(), file!());
        assert!(
            describe(&converted).contains(file!()),
            "{}",
            describe(&converted)
        );
    }

    #[test]
    fn database_errors_convert_by_kind() {
        assert!(Error::from(diesel::result::Error::NotFound).is_not_found());
        let taken = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            Box::new("UNIQUE constraint failed".to_owned()),
        );
        let said = Error::from(taken).when_taken(|| "a case with that reference exists".into());
        assert_eq!(said.to_string(), "a case with that reference exists");
        let missing = Error::from(diesel::result::Error::NotFound).when_taken(String::new);
        assert!(missing.is_not_found());
    }
}
