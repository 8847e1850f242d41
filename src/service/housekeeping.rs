//! Forgetting sign-in state that no longer counts, so that its tables hold
//! what is live rather than everything since the service began: throttle
//! states with no lock and no failure in their window, and refresh-token
//! families whose every token has expired. Neither is a record anyone needs:
//! sign-ins, failures, lockouts and reuses are in the audit trail.

use crate::db::{DbConn, WriterQueue};
use crate::error::Error;
use crate::repo;
use crate::time::UtcTime;

/// What one purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub throttles: usize,
    pub refresh_tokens: usize,
    pub portal_sessions: usize,
}

/// Deletes at most `repo::sessions::PURGE_BATCH` rows of each kind, in one
/// write transaction.
pub fn purge(conn: &mut DbConn, writers: &WriterQueue, now: UtcTime) -> Result<Purged, Error> {
    writers.write(conn, |conn| {
        Ok(Purged {
            throttles: repo::sessions::purge_spent_throttles(conn, now)?,
            refresh_tokens: repo::sessions::purge_expired_families(conn, now)?,
            portal_sessions: repo::portal_sessions::purge_expired(
                conn,
                now - crate::domain::portal_sessions::IDLE,
                now - crate::domain::portal_sessions::ABSOLUTE,
            )?,
        })
    })
}
