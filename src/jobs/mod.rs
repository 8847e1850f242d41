//! Background work inside the server.

use std::sync::Arc;
use std::time::Duration;

use crate::service::watcher;
use crate::state::AppState;
use crate::time::UtcTime;

/// Sends what the outbox holds every `interval` until the server stops.
pub fn spawn_sender(state: Arc<AppState>, interval: Duration) {
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(interval);
        loop {
            timer.tick().await;
            let app = state.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let mut conn = app.pool.get().map_err(|e| e.to_string())?;
                crate::mail::send_pass(&mut conn, &app.writers, &app.mailer, UtcTime::now())
                    .map_err(|e| crate::error::describe(&e))
            })
            .await;
            match outcome {
                Ok(Ok(report)) if report != crate::mail::SendReport::default() => {
                    tracing::info!(?report, "mail sender pass");
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::error!(%error, "mail sender pass failed"),
                Err(error) => tracing::error!(%error, "mail sender could not run"),
            }
        }
    });
}

/// Runs the deadline watcher every `interval` until the server stops. Several
/// instances may run it against one PostgreSQL: each message has a unique key
/// and each request is locked while it is looked at, so nothing happens twice.
pub fn spawn_watcher(state: Arc<AppState>, interval: Duration) {
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(interval);
        loop {
            timer.tick().await;
            let app = state.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let mut conn = app.pool.get().map_err(|e| e.to_string())?;
                watcher::tick(&mut conn, &app.writers, &app.rules(), UtcTime::now())
                    .map_err(|e| crate::error::describe(&e))
            })
            .await;
            match outcome {
                Ok(Ok(report)) if report != watcher::Report::default() => {
                    tracing::info!(?report, "deadline watcher pass");
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::error!(%error, "deadline watcher pass failed"),
                Err(error) => tracing::error!(%error, "deadline watcher could not run"),
            }
        }
    });
}
