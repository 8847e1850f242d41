//! Sign-in throttling: five failures for one e-mail within 15 minutes lock it for
//! 15 minutes. Pure rules over the stored state; the repository persists it.

use chrono::TimeDelta;

use crate::db::UtcTime;

pub const MAX_FAILURES: i32 = 5;
pub const WINDOW: TimeDelta = TimeDelta::minutes(15);
pub const LOCK: TimeDelta = TimeDelta::minutes(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttle {
    pub failures: i32,
    pub window_started_at: Option<UtcTime>,
    pub locked_until: Option<UtcTime>,
}

/// What a failed attempt did to the account's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    Counted,
    LockedNow,
}

impl Throttle {
    /// `Some(until)` while the lock holds.
    pub fn locked_at(&self, now: UtcTime) -> Option<UtcTime> {
        self.locked_until.filter(|until| *until > now)
    }

    /// Records one failed attempt at `now`.
    pub fn fail(self, now: UtcTime) -> (Throttle, FailureOutcome) {
        let in_window = self
            .window_started_at
            .is_some_and(|start| now - start < WINDOW);
        let (failures, start) = if in_window {
            (self.failures + 1, self.window_started_at)
        } else {
            (1, Some(now))
        };
        if failures >= MAX_FAILURES {
            let locked = Throttle {
                failures: 0,
                window_started_at: None,
                locked_until: Some(now + LOCK),
            };
            (locked, FailureOutcome::LockedNow)
        } else {
            let counted = Throttle {
                failures,
                window_started_at: start,
                locked_until: self.locked_until,
            };
            (counted, FailureOutcome::Counted)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> UtcTime {
        let base = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .unwrap()
            .to_utc();
        UtcTime::from(base + TimeDelta::minutes(minutes))
    }

    #[test]
    fn five_failures_within_the_window_lock_for_fifteen_minutes() {
        let mut t = Throttle::default();
        for minute in 0..4 {
            let (next, outcome) = t.fail(at(minute));
            assert_eq!(outcome, FailureOutcome::Counted);
            t = next;
        }
        let (t, outcome) = t.fail(at(10));
        assert_eq!(outcome, FailureOutcome::LockedNow);
        assert_eq!(t.locked_at(at(10)), Some(at(25)));
        assert_eq!(t.locked_at(at(24)), Some(at(25)));
        assert_eq!(t.locked_at(at(25)), None);
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        let mut t = Throttle::default();
        for minute in [0, 5, 10, 14, 16] {
            let (next, outcome) = t.fail(at(minute));
            assert_eq!(outcome, FailureOutcome::Counted, "at minute {minute}");
            t = next;
        }
        assert_eq!(t.failures, 1);
        assert_eq!(t.locked_at(at(16)), None);
    }
}
