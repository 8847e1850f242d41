//! The queue of writers waiting for SQLite's one write lock.
//!
//! SQLite lets one transaction write at a time. A writer that finds the lock
//! taken waits in SQLite's busy handler, which sleeps (1, 2, 5 ... up to 100 ms)
//! and tries again, so the lock stands idle while the next writer sleeps: with
//! eight writers at once, create's p99 was over 100 ms (docs/benchmarks.md,
//! third round). Queued here in arrival order, the next writer starts the moment
//! the previous one is done, and waits without holding a pooled connection that
//! a reader could use.
//!
//! The queue orders only the writes made through `AppState::write`; correctness
//! never rests on it. Sign-in, the mail sender, the watcher and other processes
//! (the CLI, a second server) still meet the lock in SQLite, whose `BEGIN
//! IMMEDIATE` and busy timeout handle it as before. PostgreSQL locks rows, not
//! the database, so its writers are not queued.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Backend;

pub struct WriterQueue {
    /// One permit when writers take turns; `None` when they need not.
    turn: Option<Arc<Semaphore>>,
    patience: Duration,
}

/// A writer's turn: the next one starts when this is dropped. It can move to
/// the thread that writes, so that the turn passes on the moment the write is
/// done rather than when the async task that waited for it is next polled.
pub struct Turn {
    _permit: Option<OwnedSemaphorePermit>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("other changes have held the database for {0:?}")]
pub struct Busy(pub Duration);

/// How long a writer waits for its turn: the connections' `busy_timeout`, which
/// bounded the same wait before there was a queue.
pub const PATIENCE: Duration = Duration::from_secs(10);

impl WriterQueue {
    /// `patience` bounds the wait (`PATIENCE` in the server).
    pub fn new(backend: Backend, patience: Duration) -> Self {
        WriterQueue {
            turn: (backend == Backend::Sqlite).then(|| Arc::new(Semaphore::new(1))),
            patience,
        }
    }

    /// Waits for this writer's turn, in arrival order.
    pub async fn turn(&self) -> Result<Turn, Busy> {
        let Some(turn) = &self.turn else {
            return Ok(Turn { _permit: None });
        };
        match tokio::time::timeout(self.patience, turn.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Turn {
                _permit: Some(permit),
            }),
            // The semaphore is never closed; a closed one would mean no queue.
            Ok(Err(_closed)) => Ok(Turn { _permit: None }),
            Err(_elapsed) => Err(Busy(self.patience)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_millis(50);

    #[actix_rt::test]
    async fn sqlite_writers_take_turns_and_give_up_after_their_patience() {
        let queue = WriterQueue::new(Backend::Sqlite, SHORT);
        let first = queue.turn().await.unwrap();
        assert_eq!(queue.turn().await.err(), Some(Busy(SHORT)));
        drop(first);
        assert!(queue.turn().await.is_ok());
    }

    #[actix_rt::test]
    async fn the_next_sqlite_writer_starts_when_the_previous_is_done() {
        let queue = std::rc::Rc::new(WriterQueue::new(Backend::Sqlite, Duration::from_secs(5)));
        let first = queue.turn().await.unwrap();
        let waiting = actix_rt::spawn({
            let queue = queue.clone();
            async move {
                let _turn = queue.turn().await.unwrap();
                std::time::Instant::now()
            }
        });
        actix_rt::time::sleep(SHORT).await;
        assert!(!waiting.is_finished(), "the second writer went ahead");
        let released = std::time::Instant::now();
        drop(first);
        let started = waiting.await.unwrap();
        assert!(started >= released);
    }

    #[actix_rt::test]
    async fn postgres_writers_are_not_queued() {
        let queue = WriterQueue::new(Backend::Postgres, SHORT);
        let _first = queue.turn().await.unwrap();
        assert!(queue.turn().await.is_ok());
    }
}
