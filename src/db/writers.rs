//! The queue of writers waiting for SQLite's one write lock.
//!
//! SQLite lets one transaction write at a time. A writer that finds the lock
//! taken waits in SQLite's busy handler, which sleeps (1, 2, 5 ... up to 100 ms)
//! and tries again, so the lock stands idle while the next writer sleeps: with
//! eight writers at once, create's p99 was over 100 ms (docs/benchmarks.md,
//! third round). Queued here in arrival order, the next writer starts the moment
//! the previous one is done.
//!
//! Every writer in the server queues: handlers through `AppState::write`, and
//! the writes made from blocking threads (sign-in, refresh and sign-out, the
//! mail sender, the watcher) through `WriterQueue::write` and `write_pooled`.
//! `AppState::write` and `write_pooled` wait without holding a pooled
//! connection that a reader could use. A writer left out would wait in SQLite's
//! busy handler, and under writes queued back to back it could lose every retry
//! to the writer the queue hands the lock to next.
//!
//! Correctness never rests on the queue: other processes (the CLI, a second
//! server) still meet the lock in SQLite, whose `BEGIN IMMEDIATE` and busy
//! timeout handle it as before. PostgreSQL locks rows, not the database, so its
//! writers are not queued.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Backend, DbConn, Pool, write_tx};

pub struct WriterQueue {
    /// One permit when writers take turns; `None` when they need not.
    turn: Option<Arc<Semaphore>>,
    patience: Duration,
    /// Writers in line now, the one writing apart.
    waiting: Arc<AtomicUsize>,
}

/// A place in the line, given up when the wait ends whichever way.
struct InLine(Arc<AtomicUsize>);

impl InLine {
    fn join(waiting: &Arc<AtomicUsize>) -> InLine {
        waiting.fetch_add(1, Ordering::SeqCst);
        InLine(waiting.clone())
    }
}

impl Drop for InLine {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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
            waiting: Arc::default(),
        }
    }

    /// How many writers wait for their turn at this moment: what an operator
    /// would ask of a slow server, and what a test asks instead of guessing how
    /// long a writer takes to join the line.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Waits for this writer's turn, in arrival order.
    pub async fn turn(&self) -> Result<Turn, Busy> {
        let Some(turn) = &self.turn else {
            return Ok(Turn { _permit: None });
        };
        let _in_line = InLine::join(&self.waiting);
        match tokio::time::timeout(self.patience, turn.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Turn {
                _permit: Some(permit),
            }),
            // The semaphore is never closed; a closed one would mean no queue.
            Ok(Err(_closed)) => Ok(Turn { _permit: None }),
            Err(_elapsed) => Err(Busy(self.patience)),
        }
    }

    /// Waits for this writer's turn from a blocking thread (`web::block`), in
    /// the same line as `turn`. Not for an async task: on a single-threaded
    /// runtime it would block the thread that has to hand the turn over.
    pub fn turn_blocking(&self) -> Result<Turn, Busy> {
        let Some(turn) = &self.turn else {
            return Ok(Turn { _permit: None });
        };
        // A free permit means nobody is waiting: tokio's semaphore hands a
        // released permit to the first waiter, so this cannot jump the line.
        if let Ok(permit) = turn.clone().try_acquire_owned() {
            return Ok(Turn {
                _permit: Some(permit),
            });
        }
        // Outside a runtime (a test's own thread) there is no line to join;
        // SQLite's busy handler still keeps the writes apart.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Ok(Turn { _permit: None });
        };
        // A task waits in the line on this thread's behalf and hands the permit
        // over; this thread needs no timer to give up.
        let (hand_over, receive) = mpsc::sync_channel(1);
        let waiter = runtime.spawn({
            let (turn, waiting) = (turn.clone(), self.waiting.clone());
            async move {
                // In line from the first poll, which also queues the acquire.
                let _in_line = InLine::join(&waiting);
                if let Ok(permit) = turn.acquire_owned().await {
                    // Refused only once this thread has given up: the permit
                    // is dropped here and passes on.
                    let _ = hand_over.send(permit);
                }
            }
        });
        match receive.recv_timeout(self.patience) {
            Ok(permit) => Ok(Turn {
                _permit: Some(permit),
            }),
            Err(_) => {
                // Leaves the line; a permit already handed over is dropped
                // with `receive`.
                waiter.abort();
                Err(Busy(self.patience))
            }
        }
    }

    /// `write_tx` in this writer's turn, from a blocking thread.
    pub fn write<T, E, F>(&self, conn: &mut DbConn, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<diesel::result::Error> + From<Busy>,
    {
        let _turn = self.turn_blocking()?;
        write_tx(conn, f)
    }

    /// Like `write`, with a connection taken from `pool` once the turn has
    /// come, so that a waiting writer holds none; run once more if the
    /// database undid it (`retry::write`).
    pub fn write_pooled<T, F>(&self, pool: &Pool, f: F) -> Result<T, crate::error::Error>
    where
        F: FnOnce(&mut DbConn) -> Result<T, crate::error::Error> + Clone,
    {
        let _turn = self.turn_blocking()?;
        super::retry::write(pool, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_millis(50);

    /// Until `count` writers are in line, for at most 10 s.
    async fn until_waiting(queue: &WriterQueue, count: usize) {
        for _ in 0..10_000 {
            if queue.waiting() == count {
                return;
            }
            actix_rt::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("{} writers in line, not {count}", queue.waiting());
    }

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
        until_waiting(&queue, 1).await;
        assert!(!waiting.is_finished(), "the second writer went ahead");
        let released = std::time::Instant::now();
        drop(first);
        let started = waiting.await.unwrap();
        assert!(started >= released);
    }

    #[actix_rt::test]
    async fn a_blocking_writer_waits_in_the_same_line_as_the_async_ones() {
        let queue = std::sync::Arc::new(WriterQueue::new(Backend::Sqlite, Duration::from_secs(5)));
        let first = queue.turn().await.unwrap();
        let blocking = actix_rt::task::spawn_blocking({
            let queue = queue.clone();
            move || {
                let turn = queue.turn_blocking().unwrap();
                let started = std::time::Instant::now();
                std::thread::sleep(SHORT);
                // Read before the turn passes on: the next writer may start
                // (and read the clock) before this thread runs again.
                let finished = std::time::Instant::now();
                drop(turn);
                (started, finished)
            }
        });
        until_waiting(&queue, 1).await;
        assert!(!blocking.is_finished(), "the blocking writer went ahead");
        // Joins the line after the blocking writer.
        let last = actix_rt::spawn({
            let queue = queue.clone();
            async move {
                let _turn = queue.turn().await.unwrap();
                std::time::Instant::now()
            }
        });
        until_waiting(&queue, 2).await;
        let released = std::time::Instant::now();
        drop(first);
        let (started, finished) = blocking.await.unwrap();
        assert!(started >= released);
        assert!(
            last.await.unwrap() >= finished,
            "the later writer jumped the line"
        );
    }

    #[actix_rt::test]
    async fn a_blocking_writer_gives_up_after_its_patience_and_leaves_the_line() {
        let queue = std::sync::Arc::new(WriterQueue::new(Backend::Sqlite, SHORT));
        let first = queue.turn().await.unwrap();
        let waited = actix_rt::task::spawn_blocking({
            let queue = queue.clone();
            move || queue.turn_blocking().err()
        });
        assert_eq!(waited.await.unwrap(), Some(Busy(SHORT)));
        drop(first);
        // Nobody left waiting holds on to the turn.
        let again = actix_rt::task::spawn_blocking(move || queue.turn_blocking().is_ok());
        assert!(again.await.unwrap());
    }

    #[test]
    fn outside_a_runtime_a_blocking_writer_takes_a_free_turn_and_does_not_wait_for_a_taken_one() {
        let queue = WriterQueue::new(Backend::Sqlite, Duration::from_secs(5));
        let first = queue.turn_blocking().unwrap();
        assert!(first._permit.is_some());
        let second = queue.turn_blocking().unwrap();
        assert!(second._permit.is_none(), "no runtime to wait in");
    }

    #[actix_rt::test]
    async fn postgres_writers_are_not_queued() {
        let queue = WriterQueue::new(Backend::Postgres, SHORT);
        let _first = queue.turn().await.unwrap();
        assert!(queue.turn().await.is_ok());
    }
}
