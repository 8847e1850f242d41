//! Where the process is in its life: starting, serving, draining. Readiness
//! answers from it, and the background passes hold it while they run, so
//! a stop lets the pass that is running finish its transaction.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{RwLock, RwLockReadGuard};

#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
    /// Each background pass holds a read guard while it runs; the drain
    /// takes the write side to wait for them.
    passes: RwLock<()>,
}

impl Lifecycle {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// From now on: not ready, and no new background pass starts.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Leave to run one background pass; `None` once draining.
    pub async fn pass(&self) -> Option<RwLockReadGuard<'_, ()>> {
        if self.is_draining() {
            return None;
        }
        let guard = self.passes.read().await;
        (!self.is_draining()).then_some(guard)
    }

    /// Waits, up to `bound`, for the passes running now to end; whether they
    /// all did.
    pub async fn passes_finished(&self, bound: Duration) -> bool {
        tokio::time::timeout(bound, self.passes.write())
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn a_drain_waits_for_the_running_pass_and_starts_no_other() {
        let life = std::sync::Arc::new(Lifecycle::default());
        let running = life.pass().await.expect("serving: a pass may start");
        life.drain();
        assert!(life.is_draining());
        assert!(life.pass().await.is_none(), "no new pass once draining");
        // The running pass holds the drain up...
        assert!(!life.passes_finished(Duration::from_millis(50)).await);
        // ...until it ends.
        let ends = {
            let life = life.clone();
            actix_rt::spawn(async move { life.passes_finished(Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(running);
        assert!(ends.await.unwrap());
    }
}
