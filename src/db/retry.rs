//! When a write transaction that failed may be run once more inside the
//! server: only when the database is known to have undone all of it.

use super::conn::{begin_write, in_begun_write};
use super::{DbConn, Pool};
use crate::error::{Error, Fault};

/// How far a write transaction got before it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Taking a connection or beginning: nothing of the change ran.
    Begin,
    /// The change itself, before `COMMIT` was sent.
    Work,
    /// `COMMIT` was sent.
    Commit,
}

/// Whether a transaction that failed with `fault` at `step` is run again.
///
/// - Concurrent changes the database could not order (serialization failure,
///   deadlock): the database aborted the whole transaction, at `COMMIT` too,
///   so a second run cannot apply the change twice, and usually goes through
///   once the other transaction has finished.
/// - A connection lost before `COMMIT` was sent: the server rolls back a
///   session's open transaction when it ends, so nothing was kept.
/// - A connection lost once `COMMIT` was sent: the change may or may not have
///   been committed; running it again could apply it twice. The caller is told
///   503 and decides.
/// - A timeout is not retried: a second wait would double the bound that
///   `MLAT_DB_STATEMENT_TIMEOUT_SECS` and `MLAT_DB_POOL_WAIT_SECS` promise.
/// - Anything else is not an outage, and running it again would fail again.
pub fn worth_another_go(fault: Option<Fault>, step: Step) -> bool {
    match fault {
        Some(Fault::DatabaseContention) => true,
        Some(Fault::DatabaseDown) => step != Step::Commit,
        Some(Fault::DatabaseTimeout | Fault::StorageFull | Fault::OutcomeUnknown) | None => false,
    }
}

/// Runs `f` in a write transaction on a connection from `pool`, and once
/// more on another if the database undid the first run
/// (`worth_another_go`). `f` is `Clone` so that the second run starts from
/// the same inputs; it must touch nothing but the database, since a second
/// run repeats whatever else it does.
pub fn write<T, F>(pool: &Pool, f: F) -> Result<T, Error>
where
    F: FnOnce(&mut DbConn) -> Result<T, Error> + Clone,
{
    let again = f.clone();
    let done = match attempt(pool, f) {
        Err((step, err)) if worth_another_go(err.fault(), step) => {
            tracing::warn!(
                fault = err.fault().map(Fault::slug),
                ?step,
                "the database undid a change: running it once more"
            );
            attempt(pool, again)
        }
        first => first,
    };
    done.map_err(|(step, err)| match err.fault() {
        Some(Fault::DatabaseContention) => {
            // Raised only now: a change that went through on its second run
            // needs no operator (`Error::outage`).
            crate::error::alarm(
                Fault::DatabaseContention,
                "a change met conflicting changes on two runs",
            );
            err
        }
        // The caller must not take "503, try again" to mean "not done".
        Some(Fault::DatabaseDown) if step == Step::Commit => {
            tracing::warn!("the database was lost during a commit: its outcome is unknown");
            Error::outage(
                Fault::OutcomeUnknown,
                &"the connection was lost during COMMIT",
            )
        }
        _ => err,
    })
}

/// One run of a write transaction, and how far it got if it failed. A dead
/// connection goes back to the pool with the error, which has the pool check
/// the next ones it hands out (`pool::suspect_connections`).
fn attempt<T, F>(pool: &Pool, f: F) -> Result<T, (Step, Error)>
where
    F: FnOnce(&mut DbConn) -> Result<T, Error>,
{
    let mut conn = super::pool::live(pool).map_err(|e| (Step::Begin, e.into()))?;
    begin_write(&mut conn).map_err(|e| (Step::Begin, e.into()))?;
    in_begun_write(&mut conn, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [Step; 3] = [Step::Begin, Step::Work, Step::Commit];

    #[test]
    fn contention_is_run_again_at_any_step() {
        for step in STEPS {
            assert!(
                worth_another_go(Some(Fault::DatabaseContention), step),
                "{step:?}"
            );
        }
    }

    #[test]
    fn a_lost_connection_is_run_again_only_before_commit_was_sent() {
        assert!(worth_another_go(Some(Fault::DatabaseDown), Step::Begin));
        assert!(worth_another_go(Some(Fault::DatabaseDown), Step::Work));
        assert!(!worth_another_go(Some(Fault::DatabaseDown), Step::Commit));
    }

    #[test]
    fn timeouts_full_storage_and_other_errors_are_not_run_again() {
        for step in STEPS {
            for fault in [
                None,
                Some(Fault::DatabaseTimeout),
                Some(Fault::StorageFull),
                Some(Fault::OutcomeUnknown),
            ] {
                assert!(!worth_another_go(fault, step), "{fault:?} at {step:?}");
            }
        }
    }
}
