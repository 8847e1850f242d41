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
    /// This instance cannot serve now (starting, draining, its writers
    /// queue full): try again shortly.
    Unavailable(String),
    /// A fault outside mlat: the database away or slow, the disk full. Not a
    /// bug: the caller retries (503) or an operator acts (507).
    Outage {
        fault: Fault,
        detail: String,
    },
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
            | Kind::Unavailable(d)
            | Kind::Outage { detail: d, .. } => f.write_str(d),
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

    /// A fault outside mlat, raised with its operator alarm (`alarm`); for
    /// contention, only once it outlasts a second run.
    #[track_caller]
    pub fn outage(fault: Fault, cause: &dyn std::fmt::Display) -> Self {
        match fault {
            // Usually gone when the change is run again (`db::retry::write`),
            // which raises the alarm if it is not.
            Fault::DatabaseContention => {
                tracing::warn!(fault = fault.slug(), %cause, "concurrent changes could not be ordered")
            }
            Fault::DatabaseDown => {
                alarm(fault, &cause.to_string());
                crate::db::pool::suspect_connections();
            }
            Fault::DatabaseTimeout | Fault::StorageFull => alarm(fault, &cause.to_string()),
            // What lost the connection has raised its own alarm.
            Fault::OutcomeUnknown => {}
        }
        Self::new(Kind::Outage {
            fault,
            detail: fault.said().to_owned(),
        })
    }

    /// A write to the data directory that failed: out of space, over a
    /// quota, a read-only or size-limited file system are the disk's fault
    /// (507); anything else is a bug until shown otherwise.
    #[track_caller]
    pub fn from_write(err: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        match err.kind() {
            K::StorageFull | K::QuotaExceeded | K::ReadOnlyFilesystem | K::FileTooLarge => {
                Error::outage(Fault::StorageFull, &err)
            }
            _ => Error::internal(err),
        }
    }

    pub fn fault(&self) -> Option<Fault> {
        match self.kind {
            Kind::Outage { fault, .. } => Some(fault),
            _ => None,
        }
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

/// A fault outside mlat, by cause: each has its problem type, its status,
/// and its operator alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The database refused or dropped the connection, or is shutting down
    /// or starting.
    DatabaseDown,
    /// A statement ran past `MLAT_DB_STATEMENT_TIMEOUT_SECS`, or no
    /// connection came free within `MLAT_DB_POOL_WAIT_SECS`.
    DatabaseTimeout,
    /// Concurrent changes the database could not order (serialization
    /// failure, deadlock).
    DatabaseContention,
    /// No space, over a quota, a read-only or size-limited file system.
    StorageFull,
    /// The connection was lost once `COMMIT` had been sent: the change may
    /// or may not have been made, and is not run again (`db::retry`).
    OutcomeUnknown,
}

impl Fault {
    const ALL: [Fault; 5] = [
        Fault::DatabaseDown,
        Fault::DatabaseTimeout,
        Fault::DatabaseContention,
        Fault::StorageFull,
        Fault::OutcomeUnknown,
    ];

    /// The tail of the problem's `type`, and the alarm's name in the log.
    pub fn slug(self) -> &'static str {
        match self {
            Fault::DatabaseDown => "database-unavailable",
            Fault::DatabaseTimeout => "database-timeout",
            Fault::DatabaseContention => "database-contention",
            Fault::StorageFull => "insufficient-storage",
            Fault::OutcomeUnknown => "database-outcome-unknown",
        }
    }

    /// What the caller is told.
    pub fn said(self) -> &'static str {
        match self {
            Fault::DatabaseDown => "the database is not reachable; try again shortly",
            Fault::DatabaseTimeout => "the database did not answer in time; try again shortly",
            Fault::DatabaseContention => {
                "the database could not order this change with others; try again"
            }
            Fault::StorageFull => {
                "the service has no room to store this; nothing was kept, and its operators are alerted"
            }
            Fault::OutcomeUnknown => {
                "the database was lost while this change was being committed: it may or may not have been made; look before sending it again"
            }
        }
    }

    /// Which fault a database's own words describe, if any (PostgreSQL's
    /// and SQLite's messages: diesel passes no SQLSTATE).
    pub fn of_database_message(message: &str) -> Option<Fault> {
        let m = message.to_ascii_lowercase();
        let any = |words: &[&str]| words.iter().any(|w| m.contains(w));
        if any(&[
            "canceling statement due to statement timeout",
            "canceling statement due to lock timeout",
        ]) {
            Some(Fault::DatabaseTimeout)
        } else if any(&[
            "terminating connection",
            "server closed the connection",
            "connection to server",
            "could not connect",
            "no connection to the server",
            "the database system is shutting down",
            "the database system is starting up",
            "the database system is in recovery mode",
            "connection reset",
            "broken pipe",
            "ssl connection has been closed",
            "disk i/o error",
        ]) {
            Some(Fault::DatabaseDown)
        } else if any(&["could not serialize access", "deadlock detected"]) {
            Some(Fault::DatabaseContention)
        } else if any(&[
            "database or disk is full",
            "could not extend file",
            "no space left on device",
            "attempt to write a readonly database",
        ]) {
            Some(Fault::StorageFull)
        } else {
            None
        }
    }
}

/// When each fault's alarm was last raised (seconds since the epoch).
static LAST_ALARM: [std::sync::atomic::AtomicI64; 5] = [
    std::sync::atomic::AtomicI64::new(i64::MIN),
    std::sync::atomic::AtomicI64::new(i64::MIN),
    std::sync::atomic::AtomicI64::new(i64::MIN),
    std::sync::atomic::AtomicI64::new(i64::MIN),
    std::sync::atomic::AtomicI64::new(i64::MIN),
];

/// Whether an alarm raised at `now` (seconds) follows one raised at `last`
/// closely enough to be the same outage: one line a minute per cause, not
/// one per failed request.
fn same_outage(last: i64, now: i64) -> bool {
    now.saturating_sub(last) < 60
}

/// The operator's alarm for a fault: `OPERATOR ALARM <slug>` in the log, at
/// most once a minute per cause, with the cause as the database or the
/// system said it.
pub fn alarm(fault: Fault, cause: &str) {
    use std::sync::atomic::Ordering;
    let slot = &LAST_ALARM[Fault::ALL.iter().position(|f| *f == fault).unwrap_or(0)];
    let now = chrono::Utc::now().timestamp();
    let last = slot.load(Ordering::Relaxed);
    if same_outage(last, now)
        || slot
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        tracing::warn!(fault = fault.slug(), %cause, "outside fault (alarm raised already)");
        return;
    }
    tracing::error!(alarm = fault.slug(), %cause, "OPERATOR ALARM {}: {}", fault.slug(), fault.said());
}

/// The one place a database error becomes an mlat error: a missing row is
/// "not found", a unique key taken a conflict, SQLite's lock held past its
/// busy timeout a busy database, a connection lost, a timeout or a full disk
/// an outage (`Fault`); anything else is internal.
impl From<diesel::result::Error> for Error {
    #[track_caller]
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as Db};
        match err {
            Db::NotFound => Error::not_found("no such object"),
            Db::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Error::conflict("it exists already")
            }
            Db::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                Error::outage(Fault::DatabaseDown, &info.message())
            }
            Db::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                Error::outage(Fault::DatabaseContention, &info.message())
            }
            // A failed COMMIT that could not be rolled back either (the
            // connection is gone): the commit's own error says why.
            Db::RollbackErrorOnCommit { commit_error, .. } => Error::from(*commit_error),
            // SQLITE_BUSY after the busy timeout: writes that do not pass through
            // the writer queue (sign-in, another process) can still meet it.
            Db::DatabaseError(_, info) if info.message() == "database is locked" => {
                tracing::warn!("the SQLite database stayed locked for its whole busy timeout");
                Error::database_busy()
            }
            Db::DatabaseError(_, info)
                if let Some(fault) = Fault::of_database_message(info.message()) =>
            {
                Error::outage(fault, &info.message())
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
        // The wait for a connection ran out: the database refuses new
        // connections, or every connection is busy.
        Error::outage(Fault::DatabaseTimeout, &err)
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
    fn outside_faults_are_told_apart_by_the_databases_words() {
        let said = |m: &str| Fault::of_database_message(m);
        assert_eq!(
            said("terminating connection due to administrator command"),
            Some(Fault::DatabaseDown)
        );
        assert_eq!(
            said("server closed the connection unexpectedly\n\tThis probably means..."),
            Some(Fault::DatabaseDown)
        );
        assert_eq!(
            said("FATAL:  the database system is shutting down"),
            Some(Fault::DatabaseDown)
        );
        assert_eq!(
            said("canceling statement due to statement timeout"),
            Some(Fault::DatabaseTimeout)
        );
        assert_eq!(
            said("could not serialize access due to concurrent update"),
            Some(Fault::DatabaseContention)
        );
        assert_eq!(said("deadlock detected"), Some(Fault::DatabaseContention));
        assert_eq!(said("database or disk is full"), Some(Fault::StorageFull));
        assert_eq!(
            said("could not extend file \"base/16384/2619\": No space left on device"),
            Some(Fault::StorageFull)
        );
        // A bug stays a bug.
        assert_eq!(said("syntax error at or near \"SELEC\""), None);
        assert_eq!(
            said("null value in column \"x\" violates not-null constraint"),
            None
        );
        let lost = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ClosedConnection,
            Box::new("server closed the connection unexpectedly".to_owned()),
        );
        assert_eq!(Error::from(lost).fault(), Some(Fault::DatabaseDown));
        let timeout = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("canceling statement due to statement timeout".to_owned()),
        );
        assert_eq!(Error::from(timeout).fault(), Some(Fault::DatabaseTimeout));
        // A COMMIT lost with its connection, whose rollback failed too.
        let closed = || {
            Box::new(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection,
                Box::new("server closed the connection unexpectedly".to_owned()),
            ))
        };
        let lost_at_commit = diesel::result::Error::RollbackErrorOnCommit {
            rollback_error: closed(),
            commit_error: closed(),
        };
        assert_eq!(
            Error::from(lost_at_commit).fault(),
            Some(Fault::DatabaseDown)
        );
    }

    #[test]
    fn a_full_disk_is_the_disks_fault_and_other_write_errors_are_bugs() {
        use std::io::{Error as Io, ErrorKind as K};
        for kind in [
            K::StorageFull,
            K::QuotaExceeded,
            K::ReadOnlyFilesystem,
            K::FileTooLarge,
        ] {
            assert_eq!(
                Error::from_write(Io::from(kind)).fault(),
                Some(Fault::StorageFull)
            );
        }
        assert!(Error::from_write(Io::from(K::PermissionDenied)).is_internal());
        assert_eq!(
            Error::from_write(Io::from_raw_os_error(28)).fault(),
            Some(Fault::StorageFull),
            "ENOSPC, as the kernel says it"
        );
    }

    #[test]
    fn one_alarm_a_minute_per_cause() {
        assert!(!same_outage(i64::MIN, 1_000));
        assert!(same_outage(1_000, 1_059));
        assert!(!same_outage(1_000, 1_060));
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
