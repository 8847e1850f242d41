//! When to try a failed message again: exponential backoff from a base,
//! capped, until a number of attempts, after which the message is dead.

use std::time::Duration;

use chrono::TimeDelta;

use crate::time::UtcTime;

pub const CAP: TimeDelta = TimeDelta::hours(6);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    RetryAt(UtcTime),
    Dead,
}

/// After the `attempts`-th failed attempt at `now`.
pub fn after_failure(base: Duration, attempts: u32, max_attempts: u32, now: UtcTime) -> Next {
    if attempts >= max_attempts {
        return Next::Dead;
    }
    let base = TimeDelta::from_std(base).unwrap_or(CAP);
    let factor = 1i32 << attempts.saturating_sub(1).min(20);
    let delay = base.checked_mul(factor).unwrap_or(CAP).min(CAP);
    Next::RetryAt(now + delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps_then_dies() {
        let now = UtcTime::now();
        let base = Duration::from_secs(30);
        assert_eq!(
            after_failure(base, 1, 8, now),
            Next::RetryAt(now + TimeDelta::seconds(30))
        );
        assert_eq!(
            after_failure(base, 2, 8, now),
            Next::RetryAt(now + TimeDelta::seconds(60))
        );
        assert_eq!(
            after_failure(base, 5, 8, now),
            Next::RetryAt(now + TimeDelta::seconds(480))
        );
        assert_eq!(
            after_failure(Duration::from_secs(3600), 7, 8, now),
            Next::RetryAt(now + CAP)
        );
        assert_eq!(after_failure(base, 8, 8, now), Next::Dead);
    }
}
