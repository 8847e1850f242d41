//! Argon2id password hashes in PHC string form.

use std::sync::{Arc, LazyLock, Mutex, mpsc};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

/// Each Argon2 run holds 19 MiB, and the allocator keeps a freed block for
/// the thread that used it: hashing on whichever thread served the request let
/// a burst of sign-ins leave the server holding 310 MiB (docs/benchmarks.md),
/// and let anyone who reaches the login take memory at will. Hashes run on a
/// few threads of their own instead, one per CPU (hashing is bound by the
/// CPUs anyway), and callers wait their turn.
type Job = Box<dyn FnOnce() + Send>;

static HASHERS: LazyLock<mpsc::Sender<Job>> = LazyLock::new(|| {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for i in 0..hasher_count() {
        let receiver = receiver.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || {
                loop {
                    let job = receiver.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        // A panicking job must not take its thread with it.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => break,
                    }
                }
            })
            .expect("start a hashing thread");
    }
    sender
});

fn hasher_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Every hashing thread busy until this is dropped: lets a test look at a
/// sign-in while its password waits for a hasher, without guessing how long.
#[cfg(test)]
pub(crate) struct HeldHashers {
    _release: mpsc::Sender<()>,
}

/// Occupies every hashing thread and returns once all of them are held.
#[cfg(test)]
pub(crate) fn hold_every_hasher() -> HeldHashers {
    let (release, released) = mpsc::channel::<()>();
    let released = Arc::new(Mutex::new(released));
    let (started, all_started) = mpsc::channel();
    for _ in 0..hasher_count() {
        let (released, started) = (released.clone(), started.clone());
        let job: Job = Box::new(move || {
            let _ = started.send(());
            // Returns when the guard drops its sender.
            let _ = released.lock().unwrap_or_else(|e| e.into_inner()).recv();
        });
        HASHERS.send(job).expect("the hashing threads run");
    }
    for _ in 0..hasher_count() {
        all_started.recv().expect("a held hasher starts");
    }
    HeldHashers { _release: release }
}

/// Runs `work` on a hashing thread and waits for it; `None` if it failed.
fn on_hasher<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (reply, answer) = mpsc::sync_channel(1);
    HASHERS
        .send(Box::new(move || {
            let _ = reply.send(work());
        }))
        .ok()?;
    answer.recv().ok()
}

/// Hashes with Argon2id and the crate's default cost (OWASP's minimum: 19 MiB,
/// two passes), with a fresh random salt.
pub fn hash(password: &str) -> Result<String, HashError> {
    let password = password.to_owned();
    on_hasher(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    })
    .unwrap_or_else(|| Err(HashError("the hashing thread failed".into())))
}

/// Checks a password against a stored hash; a malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let (password, stored) = (password.to_owned(), stored.to_owned());
    on_hasher(move || match PasswordHash::new(&stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    })
    .unwrap_or(false)
}

static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("a password no account has").expect("argon2 hashes a constant"));

/// Spends the same work as `verify` for an address with no account, so that the
/// time of a refusal does not tell which addresses exist.
pub fn verify_dummy(password: &str) {
    let _ = verify(password, &DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse battery!", &a));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn no_more_hashes_run_at_once_than_there_are_cpus() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let limit = hasher_count();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..limit * 3 {
                let (running, most) = (running.clone(), most.clone());
                scope.spawn(move || {
                    let name = on_hasher(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                        std::thread::current().name().map(str::to_owned)
                    });
                    assert!(name.flatten().unwrap().starts_with("argon2-"));
                });
            }
        });
        let most = most.load(Ordering::SeqCst);
        assert!((1..=limit).contains(&most), "{most}");
    }

    #[test]
    fn a_failing_job_leaves_the_hashers_working() {
        assert_eq!(on_hasher(|| -> u8 { panic!("a bug in a job") }), None);
        assert!(verify(
            "correct horse battery",
            &hash("correct horse battery").unwrap()
        ));
    }
}
