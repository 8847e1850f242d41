//! Sign-in throttling: five failures for one e-mail within 15 minutes lock it for
//! 15 minutes. Pure rules over the stored state; the repository persists it.

use chrono::TimeDelta;

use crate::time::UtcTime;

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

    /// Whether nothing of this state still counts at `now`: no lock holds and
    /// no failure is within its window. Forgetting such a state changes nothing,
    /// since the next attempt starts from the same place as with no state at all.
    pub fn is_spent(&self, now: UtcTime) -> bool {
        self.locked_at(now).is_none()
            && self
                .window_started_at
                .is_none_or(|start| now - start >= WINDOW)
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
    fn a_state_is_spent_once_its_lock_and_its_window_are_over_and_then_counts_as_none() {
        let (once, _) = Throttle::default().fail(at(0));
        assert!(!once.is_spent(at(14)));
        assert!(once.is_spent(at(15)));
        let mut locked = Throttle::default();
        for minute in 0..5 {
            locked = locked.fail(at(minute)).0;
        }
        assert!(!locked.is_spent(at(18)), "locked until minute 19");
        assert!(locked.is_spent(at(19)));
        for (spent, now) in [(once, at(15)), (locked, at(19))] {
            let (after, outcome) = spent.fail(now);
            let (fresh, fresh_outcome) = Throttle::default().fail(now);
            assert_eq!(outcome, fresh_outcome);
            assert_eq!(after.failures, fresh.failures);
            assert_eq!(after.window_started_at, fresh.window_started_at);
            assert_eq!(after.locked_at(now), fresh.locked_at(now));
        }
        assert!(Throttle::default().is_spent(at(0)));
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
