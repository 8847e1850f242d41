//! How long a portal session lives: 30 minutes without a page, 12 hours in
//! all (a working day), whichever comes first. A session is marked as seen at
//! most once a minute, so that reading pages does not write on every view.

use chrono::TimeDelta;

use crate::time::UtcTime;

pub const IDLE: TimeDelta = TimeDelta::minutes(30);
pub const ABSOLUTE: TimeDelta = TimeDelta::hours(12);
const SEEN_EVERY: TimeDelta = TimeDelta::minutes(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// In use; `mark_seen` when its last view is older than a minute.
    Live {
        mark_seen: bool,
    },
    Expired,
}

pub fn standing(created_at: UtcTime, last_seen_at: UtcTime, now: UtcTime) -> Standing {
    if now >= created_at + ABSOLUTE || now >= last_seen_at + IDLE {
        Standing::Expired
    } else {
        Standing::Live {
            mark_seen: now >= last_seen_at + SEEN_EVERY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> UtcTime {
        UtcTime::from(chrono::DateTime::UNIX_EPOCH) + TimeDelta::minutes(minutes)
    }

    #[test]
    fn a_session_ends_after_half_an_hour_idle() {
        assert_eq!(
            standing(at(0), at(0), at(29)),
            Standing::Live { mark_seen: true }
        );
        assert_eq!(standing(at(0), at(0), at(30)), Standing::Expired);
    }

    #[test]
    fn a_session_in_use_ends_after_twelve_hours() {
        let start = at(0);
        let end = start + ABSOLUTE;
        assert_eq!(
            standing(
                start,
                end - TimeDelta::minutes(1),
                end - TimeDelta::seconds(1)
            ),
            Standing::Live { mark_seen: false }
        );
        assert_eq!(
            standing(start, end - TimeDelta::minutes(1), end),
            Standing::Expired
        );
    }

    #[test]
    fn a_view_within_a_minute_of_the_last_is_not_written() {
        assert_eq!(
            standing(at(0), at(5), at(5) + TimeDelta::seconds(59)),
            Standing::Live { mark_seen: false }
        );
    }
}
