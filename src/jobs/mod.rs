//! Background work inside the server.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use crate::db::DbConn;
use crate::error::Error;
use crate::service::watcher;
use crate::state::AppState;
use crate::time::UtcTime;

/// Sends what the outbox holds every `interval` until the server stops.
pub fn spawn_sender(state: Arc<AppState>, interval: Duration) {
    spawn_every(state, interval, "mail sender", |app, conn| {
        crate::mail::send_pass(conn, &app.writers, &app.mailer, UtcTime::now())
    });
}

/// Runs the deadline watcher every `interval` until the server stops. Several
/// instances may run it against one PostgreSQL: each message has a unique key
/// and each request is locked while it is looked at, so nothing happens twice.
pub fn spawn_watcher(state: Arc<AppState>, interval: Duration) {
    spawn_every(state, interval, "deadline watcher", |app, conn| {
        let report = watcher::tick(conn, &app.writers, &app.rules(), UtcTime::now())?;
        // Each pass anchors what the trail recorded since the last one.
        let anchored = crate::service::anchor::checkpoint(
            conn,
            &app.writers,
            &app.anchoring,
            UtcTime::now(),
            None,
        )
        .unwrap_or_else(|error| {
            let error = crate::error::describe(&error);
            tracing::error!(%error, "audit checkpoint failed");
            Default::default()
        });
        Ok((report, anchored))
    });
}

/// Runs `pass` on a blocking thread every `interval`, logging what it did
/// (nothing when its report is empty) and why it failed. After a failed pass
/// it waits longer before the next (`backoff`), so an outage of the database
/// is not hammered, and says when it resumes.
fn spawn_every<R>(
    state: Arc<AppState>,
    interval: Duration,
    what: &'static str,
    pass: fn(&AppState, &mut DbConn) -> Result<R, Error>,
) where
    R: Debug + Default + PartialEq + Send + 'static,
{
    tokio::spawn(async move {
        let mut failures: u32 = 0;
        // The first pass at once, as the server starts.
        let mut wait = Duration::ZERO;
        loop {
            tokio::time::sleep(wait).await;
            wait = interval;
            // A stop lets the running pass finish (`Lifecycle::passes_finished`)
            // and starts no other.
            let lifecycle = state.lifecycle.clone();
            let Some(_running) = lifecycle.pass().await else {
                return;
            };
            let app = state.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let mut conn = app
                    .pool
                    .get()
                    .map_err(|e| crate::error::describe(&Error::from(e)))?;
                pass(&app, &mut conn).map_err(|e| crate::error::describe(&e))
            })
            .await;
            match outcome {
                Ok(Ok(report)) => {
                    if failures > 0 {
                        tracing::info!(failed_passes = failures, "{what} resumed");
                        failures = 0;
                    }
                    if report != R::default() {
                        tracing::info!(?report, "{what} pass");
                    }
                }
                Ok(Err(error)) => {
                    failures = failures.saturating_add(1);
                    wait = backoff(interval, failures);
                    tracing::error!(%error, retry_in_secs = wait.as_secs(), "{what} pass failed");
                }
                Err(error) => tracing::error!(%error, "{what} could not run"),
            }
        }
    });
}

/// The wait after `failures` failed passes in a row: the interval doubled
/// each time, at most five minutes (and never shorter than the interval).
fn backoff(interval: Duration, failures: u32) -> Duration {
    let doubled = interval.saturating_mul(1u32 << failures.min(16));
    doubled.min(Duration::from_secs(300)).max(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_passes_wait_longer_each_time_up_to_five_minutes() {
        let minute = Duration::from_secs(60);
        assert_eq!(backoff(minute, 1), Duration::from_secs(120));
        assert_eq!(backoff(minute, 2), Duration::from_secs(240));
        assert_eq!(backoff(minute, 3), Duration::from_secs(300));
        assert_eq!(backoff(minute, 40), Duration::from_secs(300));
        let second = Duration::from_secs(1);
        assert_eq!(backoff(second, 1), Duration::from_secs(2));
        // An interval longer than the cap is never shortened.
        let hour = Duration::from_secs(3600);
        assert_eq!(backoff(hour, 5), hour);
    }
}
