//! When to remind people of a deadline: for clocks of days, 7 days, 2 days and
//! 1 day before; for clocks of hours (72 or fewer), at half-time and 1 hour
//! before. Only the latest mark reached is sent, so a deadline that appears
//! late does not send a burst of stale reminders.

use chrono::TimeDelta;
use serde::Serialize;

use crate::time::UtcTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mark {
    SevenDays,
    TwoDays,
    OneDay,
    HalfTime,
    OneHour,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::SevenDays => "7d",
            Mark::TwoDays => "2d",
            Mark::OneDay => "1d",
            Mark::HalfTime => "half-time",
            Mark::OneHour => "1h",
        }
    }
}

pub const HOURS_SCALE: TimeDelta = TimeDelta::hours(72);

/// The reminder instants of a clock, earliest first.
pub fn marks(started_at: Option<UtcTime>, due: UtcTime) -> Vec<(Mark, UtcTime)> {
    let hours_scale = started_at.is_some_and(|s| due - s <= HOURS_SCALE);
    let all = match (hours_scale, started_at) {
        (true, Some(start)) => vec![
            (Mark::HalfTime, start + (due - start) / 2),
            (Mark::OneHour, due - TimeDelta::hours(1)),
        ],
        _ => vec![
            (Mark::SevenDays, due - TimeDelta::days(7)),
            (Mark::TwoDays, due - TimeDelta::days(2)),
            (Mark::OneDay, due - TimeDelta::days(1)),
        ],
    };
    all.into_iter()
        .filter(|(_, at)| started_at.is_none_or(|s| *at > s))
        .collect()
}

/// The reminder due at `now`, if any: the latest mark reached before the deadline.
pub fn due_now(started_at: Option<UtcTime>, due: UtcTime, now: UtcTime) -> Option<(Mark, UtcTime)> {
    if now >= due {
        return None;
    }
    marks(started_at, due)
        .into_iter()
        .rev()
        .find(|(_, at)| *at <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identifiers::parse_instant;

    fn t(s: &str) -> UtcTime {
        parse_instant(s).unwrap()
    }

    #[test]
    fn days_scale_marks() {
        let due = t("2027-03-01T09:00:00Z");
        let start = Some(t("2026-12-01T09:00:00Z"));
        assert_eq!(
            marks(start, due),
            vec![
                (Mark::SevenDays, t("2027-02-22T09:00:00Z")),
                (Mark::TwoDays, t("2027-02-27T09:00:00Z")),
                (Mark::OneDay, t("2027-02-28T09:00:00Z")),
            ]
        );
        assert_eq!(due_now(start, due, t("2027-02-21T00:00:00Z")), None);
        assert_eq!(
            due_now(start, due, t("2027-02-23T00:00:00Z")).unwrap().0,
            Mark::SevenDays
        );
        assert_eq!(
            due_now(start, due, t("2027-02-28T10:00:00Z")).unwrap().0,
            Mark::OneDay
        );
        assert_eq!(
            due_now(start, due, t("2027-03-01T09:00:00Z")),
            None,
            "due: a miss, not a reminder"
        );
    }

    #[test]
    fn hours_scale_marks() {
        let start = Some(t("2027-01-08T15:20:00Z"));
        let due = t("2027-01-08T23:20:00Z");
        assert_eq!(
            marks(start, due),
            vec![
                (Mark::HalfTime, t("2027-01-08T19:20:00Z")),
                (Mark::OneHour, t("2027-01-08T22:20:00Z")),
            ]
        );
        assert_eq!(
            due_now(start, due, t("2027-01-08T20:00:00Z")).unwrap().0,
            Mark::HalfTime
        );
    }

    #[test]
    fn marks_before_the_clock_started_are_dropped() {
        // A 3-day clock of days started 2 days before due: only 1 day is left to mark.
        let start = Some(t("2027-01-01T00:00:00Z"));
        let due = t("2027-01-05T00:00:00Z");
        assert_eq!(
            marks(start, due).iter().map(|m| m.0).collect::<Vec<_>>(),
            [Mark::TwoDays, Mark::OneDay]
        );
        // No start (a retention risk seen long ago): all marks.
        assert_eq!(marks(None, due).len(), 3);
    }
}
