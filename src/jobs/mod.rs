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
/// (nothing when its report is empty) and why it failed; a failed pass is
/// tried again at the next tick.
fn spawn_every<R>(
    state: Arc<AppState>,
    interval: Duration,
    what: &'static str,
    pass: fn(&AppState, &mut DbConn) -> Result<R, Error>,
) where
    R: Debug + Default + PartialEq + Send + 'static,
{
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(interval);
        loop {
            timer.tick().await;
            // A stop lets the running pass finish (`Lifecycle::passes_finished`)
            // and starts no other.
            let lifecycle = state.lifecycle.clone();
            let Some(_running) = lifecycle.pass().await else {
                return;
            };
            let app = state.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let mut conn = app.pool.get().map_err(|e| e.to_string())?;
                pass(&app, &mut conn).map_err(|e| crate::error::describe(&e))
            })
            .await;
            match outcome {
                Ok(Ok(report)) if report != R::default() => {
                    tracing::info!(?report, "{what} pass");
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::error!(%error, "{what} pass failed"),
                Err(error) => tracing::error!(%error, "{what} could not run"),
            }
        }
    });
}
