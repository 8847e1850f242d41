//! Deadlines: every clock of a request, computed from its legal basis and its
//! events, each with an explanation a person can check by hand. Pure: the
//! caller supplies the request's facts, the calendars and the time.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeDelta, TimeZone, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::identifiers::Identifier;
use super::legal_bases::{
    ClockKind, ClockStart, Counting, FollowUpRule, LegalBasis, Period, Verification,
};
use super::reference::{DataCategory, RequestKind};
use super::workflow::Status;
use crate::db::UtcTime;

vocabulary!(
    DeadlineKind {
        ApprovalDue = "approval_due",
        ExPostValidation = "ex_post_validation",
        AcknowledgementDue = "acknowledgement_due",
        DecisionDue = "decision_due",
        ResponseDue = "response_due",
        EnforcingReview = "enforcing_review",
        PreservationExpires = "preservation_expires",
        FollowUpDue = "follow_up_due",
        RetentionRisk = "retention_risk",
    }
);

vocabulary!(
    DeadlineStatus {
        Open = "open",
        Met = "met",
        Missed = "missed",
        Cancelled = "cancelled",
    }
);

impl From<ClockKind> for DeadlineKind {
    fn from(kind: ClockKind) -> Self {
        match kind {
            ClockKind::ExPostValidation => DeadlineKind::ExPostValidation,
            ClockKind::AcknowledgementDue => DeadlineKind::AcknowledgementDue,
            ClockKind::DecisionDue => DeadlineKind::DecisionDue,
            ClockKind::ResponseDue => DeadlineKind::ResponseDue,
            ClockKind::EnforcingReview => DeadlineKind::EnforcingReview,
            ClockKind::PreservationExpires => DeadlineKind::PreservationExpires,
        }
    }
}

/// Clocks that concern only the issuing side (approval, validation, filing the
/// follow-up): not shown to responders.
pub const ISSUING_SIDE: [&str; 3] = ["approval_due", "ex_post_validation", "follow_up_due"];

/// A deployment's own targets, where the law sets none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub approval: TimeDelta,
    pub approval_emergency: TimeDelta,
    /// File the formal request this long before a preservation lapses.
    pub follow_up_margin: TimeDelta,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            approval: TimeDelta::hours(24),
            approval_emergency: TimeDelta::hours(2),
            follow_up_margin: TimeDelta::days(14),
        }
    }
}

/// Where days are counted: a time zone and its public holidays.
#[derive(Debug, Clone, Copy)]
pub struct Calendar<'a> {
    pub timezone: Tz,
    pub holidays: &'a [NaiveDate],
}

/// What the computation needs to know about a request.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub kind: RequestKind,
    pub status: Status,
    pub emergency: bool,
    pub data_categories: &'a [DataCategory],
    pub identifiers: &'a [Identifier],
    pub submitted_at: Option<UtcTime>,
    pub approved_at: Option<UtcTime>,
    pub transmitted_at: Option<UtcTime>,
    pub acknowledged_at: Option<UtcTime>,
    pub preserved_at: Option<UtcTime>,
    pub answered_at: Option<UtcTime>,
    /// When the request reached a final state other than an answer
    /// (withdrawn, rejected, released, expired), if it did.
    pub closed_at: Option<UtcTime>,
    pub extensions_granted: u32,
    /// When the first production follow-up of this preservation was transmitted.
    pub follow_up_transmitted_at: Option<UtcTime>,
    /// The responder's retention per data category, in days.
    pub retention_days: &'a BTreeMap<DataCategory, u32>,
}

/// One computed deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub kind: DeadlineKind,
    /// The instant the clock runs from, where it runs from one.
    pub started_at: Option<UtcTime>,
    pub due_at: UtcTime,
    pub status: DeadlineStatus,
    /// How the instant was computed, from what, under which provision.
    pub explanation: String,
    /// The due instant in the time zone the days were counted in.
    pub due_local: String,
    pub timezone: String,
    pub citation: String,
    pub verification: Verification,
}

fn period_text(period: Period) -> String {
    match period {
        Period::Days(1) => "1 day".into(),
        Period::Days(n) => format!("{n} days"),
        Period::Hours(1) => "1 hour".into(),
        Period::Hours(n) => format!("{n} hours"),
    }
}

fn is_working_day(date: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&date)
}

/// The first instant of a local date (midnight, or the first valid instant if a
/// time-zone change skips midnight).
fn start_of_day(date: NaiveDate, tz: Tz) -> UtcTime {
    let mut time = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    for _ in 0..4 {
        if let Some(instant) = tz.from_local_datetime(&time).earliest() {
            return UtcTime::from(instant.to_utc());
        }
        time += TimeDelta::minutes(30);
    }
    UtcTime::from(date.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
}

/// Regulation 1182/71: the day of the event is not counted (Art. 3(1)); a period
/// of days ends with the last hour of its last day (Art. 3(2)(b)); if that day is
/// a Saturday, Sunday or public holiday, the period ends with the last hour of
/// the next working day (Art. 3(4)). Returns the due instant and whether the
/// last day was rolled forward.
pub fn eu_days(start: UtcTime, days: u32, calendar: &Calendar<'_>) -> (UtcTime, bool) {
    let local = start
        .to_datetime()
        .with_timezone(&calendar.timezone)
        .date_naive();
    let mut last = local + TimeDelta::days(i64::from(days));
    let mut rolled = false;
    while !is_working_day(last, calendar.holidays) {
        last += TimeDelta::days(1);
        rolled = true;
    }
    (
        start_of_day(last + TimeDelta::days(1), calendar.timezone),
        rolled,
    )
}

/// The end of `period` from `start` under `counting`, and the words that say how.
fn count(
    start: UtcTime,
    period: Period,
    counting: Counting,
    calendar: &Calendar<'_>,
) -> (UtcTime, String) {
    match (counting, period) {
        (_, Period::Hours(h)) => {
            let note = if counting == Counting::Eu118271 {
                " (hours run from the instant itself, the earlier reading of Regulation 1182/71 Art. 3(1))"
            } else {
                ""
            };
            (start + TimeDelta::hours(i64::from(h)), note.to_owned())
        }
        (Counting::Elapsed, Period::Days(d)) => (
            start + TimeDelta::hours(24 * i64::from(d)),
            " (elapsed: N × 24 hours from the instant)".to_owned(),
        ),
        (Counting::Eu118271, Period::Days(d)) => {
            let (due, rolled) = eu_days(start, d, calendar);
            let roll = if rolled {
                ", rolled to the next working day because the last day is a weekend or public holiday (Art. 3(4))"
            } else {
                ""
            };
            (
                due,
                format!(
                    " (Regulation 1182/71: the day of the event is not counted, the period ends at the end of its last day in {}{roll})",
                    calendar.timezone.name()
                ),
            )
        }
    }
}

fn local(due: UtcTime, tz: Tz) -> String {
    due.to_datetime()
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

fn status_of(
    due: UtcTime,
    met_at: Option<UtcTime>,
    cancelled: bool,
    now: UtcTime,
) -> DeadlineStatus {
    match met_at {
        Some(at) if at <= due => DeadlineStatus::Met,
        Some(_) => DeadlineStatus::Missed,
        None if cancelled => DeadlineStatus::Cancelled,
        None if now > due => DeadlineStatus::Missed,
        None => DeadlineStatus::Open,
    }
}

/// Every deadline of a request at `now`. `issuing` is the calendar of the issuing
/// jurisdiction (approval), `executing` that of the executing jurisdiction (the
/// responder's clocks, LEGAL.md: Art. 2(1) of Regulation 1182/71).
pub fn compute(
    basis: &LegalBasis,
    facts: &Facts<'_>,
    targets: &Targets,
    issuing: &Calendar<'_>,
    executing: &Calendar<'_>,
    now: UtcTime,
) -> Vec<Deadline> {
    let mut out = Vec::new();
    let closed =
        facts.closed_at.is_some() || matches!(facts.status, Status::Withdrawn | Status::Rejected);
    let answered = facts.answered_at;

    // Approval by the central authority: a deployment target.
    let transmitted_before_approval = facts.emergency
        && facts.transmitted_at.is_some()
        && facts
            .approved_at
            .is_none_or(|a| facts.transmitted_at.is_some_and(|t| a > t));
    if let Some(submitted) = facts.submitted_at
        && !transmitted_before_approval
    {
        let target = if facts.emergency {
            targets.approval_emergency
        } else {
            targets.approval
        };
        let due = submitted + target;
        let cancelled = closed || facts.status == Status::Draft;
        out.push(Deadline {
            kind: DeadlineKind::ApprovalDue,
            started_at: Some(submitted),
            due_at: due,
            status: status_of(due, facts.approved_at, cancelled, now),
            explanation: format!(
                "{} hours from submission {} — deployment target for approval{}",
                target.num_hours(),
                submitted,
                if facts.emergency {
                    " of an emergency"
                } else {
                    ""
                }
            ),
            due_local: local(due, issuing.timezone),
            timezone: issuing.timezone.name().to_owned(),
            citation: "Deployment target".into(),
            verification: Verification::Verified,
        });
    }

    let mut preservation_due = None;
    for clock in &basis.clocks {
        if clock.emergency_only && !transmitted_before_approval {
            continue;
        }
        if let Some(categories) = &clock.categories
            && !facts.data_categories.iter().any(|c| categories.contains(c))
        {
            continue;
        }
        let (start, start_name) = match clock.starts {
            ClockStart::Transmitted => (facts.transmitted_at, "transmission"),
            ClockStart::Acknowledged => (facts.acknowledged_at, "acknowledgement"),
            ClockStart::Preserved => (facts.preserved_at, "preservation confirmed"),
        };
        let Some(start) = start else { continue };
        let period = match (facts.emergency, clock.emergency_period) {
            (true, Some(p)) => p,
            _ => clock.period,
        };
        let (mut due, mut how) = count(start, period, basis.counting, executing);
        let kind = DeadlineKind::from(clock.kind);
        let mut extended = String::new();
        if kind == DeadlineKind::PreservationExpires
            && let Some(extension) = clock.extension
        {
            for _ in 0..facts.extensions_granted.min(extension.max) {
                // Under Regulation 1182/71 an extension's days start after the
                // last day of the period before, not after the midnight ending it.
                let from = match basis.counting {
                    Counting::Eu118271 => due - TimeDelta::microseconds(1),
                    Counting::Elapsed => due,
                };
                let (next, _) = count(from, extension.period, basis.counting, executing);
                due = next;
            }
            if facts.extensions_granted > 0 {
                extended = format!(
                    ", extended {} × {}",
                    facts.extensions_granted.min(extension.max),
                    period_text(extension.period)
                );
            }
        }
        if clock.minimum {
            how.push_str("; the instrument sets this as a minimum");
        }
        let mut explanation = format!(
            "{}{} from {} {}{}{} — {}",
            period_text(period),
            if facts.emergency && clock.emergency_period.is_some() {
                " (emergency)"
            } else {
                ""
            },
            start_name,
            start,
            extended,
            how,
            clock.citation
        );
        if clock.target {
            explanation.push_str(" (no period in law: a deployment target)");
        }
        let status = match kind {
            DeadlineKind::AcknowledgementDue => {
                status_of(due, facts.acknowledged_at.or(answered), closed, now)
            }
            DeadlineKind::DecisionDue => {
                status_of(due, facts.acknowledged_at.or(answered), closed, now)
            }
            DeadlineKind::ResponseDue => status_of(due, answered, closed, now),
            DeadlineKind::ExPostValidation => status_of(due, facts.approved_at, closed, now),
            // A period for the enforcing State: it runs out, nobody misses it.
            DeadlineKind::EnforcingReview => {
                if closed {
                    DeadlineStatus::Cancelled
                } else if now > due {
                    DeadlineStatus::Met
                } else {
                    DeadlineStatus::Open
                }
            }
            DeadlineKind::PreservationExpires => {
                let pending = matches!(
                    basis.follow_up,
                    Some(
                        FollowUpRule::PreservedPendingDecision
                            | FollowUpRule::PreservedUntilProduction
                    )
                );
                match facts.follow_up_transmitted_at {
                    Some(at) if pending && at <= due => {
                        explanation.push_str(&format!(
                            "; the follow-up request was transmitted {at}, so the data stays preserved {}",
                            if basis.follow_up == Some(FollowUpRule::PreservedPendingDecision) {
                                "pending a decision on it"
                            } else {
                                "until production"
                            }
                        ));
                        DeadlineStatus::Cancelled
                    }
                    _ if facts.status == Status::Released => DeadlineStatus::Met,
                    _ if facts.status == Status::Expired => DeadlineStatus::Missed,
                    _ if closed => DeadlineStatus::Cancelled,
                    _ if now > due => DeadlineStatus::Missed,
                    _ => DeadlineStatus::Open,
                }
            }
            _ => status_of(due, answered, closed, now),
        };
        if kind == DeadlineKind::PreservationExpires {
            preservation_due = Some((due, status));
        }
        out.push(Deadline {
            kind,
            started_at: Some(start),
            due_at: due,
            status,
            explanation,
            due_local: local(due, executing.timezone),
            timezone: executing.timezone.name().to_owned(),
            citation: clock.citation.clone(),
            verification: clock.verification.unwrap_or(basis.verification),
        });
    }

    // File the formal request well before the preservation lapses.
    if facts.kind == RequestKind::Preservation
        && let Some((expiry, expiry_status)) = preservation_due
    {
        let due = expiry - targets.follow_up_margin;
        let status = match facts.follow_up_transmitted_at {
            Some(at) if at <= due => DeadlineStatus::Met,
            Some(_) => DeadlineStatus::Missed,
            None if expiry_status == DeadlineStatus::Met || closed => DeadlineStatus::Cancelled,
            None if now > due => DeadlineStatus::Missed,
            None => DeadlineStatus::Open,
        };
        out.push(Deadline {
            kind: DeadlineKind::FollowUpDue,
            started_at: facts.preserved_at,
            due_at: due,
            status,
            explanation: format!(
                "{} days before the preservation expires {} — deployment margin to transmit the follow-up request",
                targets.follow_up_margin.num_days(),
                expiry
            ),
            due_local: local(due, issuing.timezone),
            timezone: issuing.timezone.name().to_owned(),
            citation: "Deployment target".into(),
            verification: Verification::Verified,
        });
    }

    // The provider's own deletion clock runs from when the identifier was seen.
    let mut earliest: Option<(UtcTime, &Identifier, DataCategory, u32)> = None;
    for identifier in facts.identifiers {
        let Some(seen) = identifier.observed_at else {
            continue;
        };
        for category in facts.data_categories {
            if let Some(days) = facts.retention_days.get(category) {
                let at = seen + TimeDelta::days(i64::from(*days));
                if earliest.is_none_or(|(e, ..)| at < e) {
                    earliest = Some((at, identifier, *category, *days));
                }
            }
        }
    }
    if let Some((due, identifier, category, days)) = earliest {
        let secured = facts.preserved_at.or(match facts.status {
            Status::Fulfilled => answered,
            _ => None,
        });
        let status = match secured {
            Some(at) if at <= due => DeadlineStatus::Met,
            Some(_) => DeadlineStatus::Missed,
            None if closed || matches!(facts.status, Status::Refused | Status::Moved) => {
                DeadlineStatus::Cancelled
            }
            None if now > due => DeadlineStatus::Missed,
            None => DeadlineStatus::Open,
        };
        out.push(Deadline {
            kind: DeadlineKind::RetentionRisk,
            started_at: identifier.observed_at,
            due_at: due,
            status,
            explanation: format!(
                "{} {} seen {} + {days} days the responder keeps {category} data — provider retention profile",
                identifier.kind,
                identifier.value,
                identifier.observed_at.map(|s| s.to_string()).unwrap_or_default()
            ),
            due_local: local(due, executing.timezone),
            timezone: executing.timezone.name().to_owned(),
            citation: "Provider retention profile".into(),
            verification: Verification::Secondary,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identifiers::{IdentifierType, parse_instant};
    use crate::domain::legal_bases::Catalogue;

    fn t(text: &str) -> UtcTime {
        parse_instant(text).unwrap()
    }

    const NO_HOLIDAYS: &[NaiveDate] = &[];

    fn cal(tz: Tz) -> Calendar<'static> {
        Calendar {
            timezone: tz,
            holidays: NO_HOLIDAYS,
        }
    }

    fn facts<'a>(
        kind: RequestKind,
        status: Status,
        retention: &'a BTreeMap<DataCategory, u32>,
    ) -> Facts<'a> {
        Facts {
            kind,
            status,
            emergency: false,
            data_categories: &[DataCategory::Subscriber],
            identifiers: &[],
            submitted_at: None,
            approved_at: None,
            transmitted_at: None,
            acknowledged_at: None,
            preserved_at: None,
            answered_at: None,
            closed_at: None,
            extensions_granted: 0,
            follow_up_transmitted_at: None,
            retention_days: retention,
        }
    }

    fn find(list: &[Deadline], kind: DeadlineKind) -> Deadline {
        list.iter()
            .find(|d| d.kind == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} in {list:#?}"))
    }

    #[test]
    fn the_worked_example_of_legal_md() {
        // eu-epoc, 10 days: received Friday 2027-01-08 15:20 in Dublin → due at
        // the end of Monday 2027-01-18, Dublin time.
        let (due, rolled) = eu_days(
            t("2027-01-08T15:20:00Z"),
            10,
            &cal(chrono_tz::Europe::Dublin),
        );
        assert_eq!(due, t("2027-01-19T00:00:00Z"));
        assert!(!rolled);
    }

    #[test]
    fn a_last_day_on_a_weekend_or_holiday_rolls_to_the_next_working_day() {
        // Received Wednesday 2027-01-06 → day 10 is Saturday 16th → Monday 18th.
        let (due, rolled) = eu_days(
            t("2027-01-06T10:00:00Z"),
            10,
            &cal(chrono_tz::Europe::Dublin),
        );
        assert_eq!(due, t("2027-01-19T00:00:00Z"));
        assert!(rolled);
        // If that Monday is a public holiday there, Tuesday.
        let holidays = [NaiveDate::from_ymd_opt(2027, 1, 18).unwrap()];
        let calendar = Calendar {
            timezone: chrono_tz::Europe::Dublin,
            holidays: &holidays,
        };
        assert_eq!(
            eu_days(t("2027-01-06T10:00:00Z"), 10, &calendar).0,
            t("2027-01-20T00:00:00Z")
        );
    }

    #[test]
    fn days_end_at_local_midnight_across_a_daylight_saving_change() {
        // Berlin moves to summer time on Sunday 2027-03-28. Received Thursday
        // 2027-03-18 → day 10 is Sunday 28th → Monday 29th, which ends at
        // midnight CEST (22:00 UTC), not CET.
        let (due, _) = eu_days(
            t("2027-03-18T09:00:00Z"),
            10,
            &cal(chrono_tz::Europe::Berlin),
        );
        assert_eq!(due, t("2027-03-29T22:00:00Z"));
        // Elapsed days stay N × 24 hours across the change.
        let (elapsed, _) = count(
            t("2027-03-20T09:00:00Z"),
            Period::Days(10),
            Counting::Elapsed,
            &cal(chrono_tz::Europe::Berlin),
        );
        assert_eq!(elapsed, t("2027-03-30T09:00:00Z"));
    }

    #[test]
    fn a_leap_day_counts_as_a_day() {
        let (elapsed, _) = count(
            t("2028-02-20T12:00:00Z"),
            Period::Days(10),
            Counting::Elapsed,
            &cal(chrono_tz::UTC),
        );
        assert_eq!(elapsed, t("2028-03-01T12:00:00Z"));
        // Thursday 2028-02-24 + 5 days → Tuesday 29 February, ends at its end.
        let (eu, _) = eu_days(t("2028-02-24T12:00:00Z"), 5, &cal(chrono_tz::UTC));
        assert_eq!(eu, t("2028-03-01T00:00:00Z"));
    }

    /// Every catalogue entry's clocks, from a transmission, acknowledgement and
    /// preservation at known instants: (basis, kind, emergency, due).
    #[test]
    fn every_catalogue_clock() {
        let catalogue = Catalogue::embedded();
        let retention = BTreeMap::new();
        let dublin = cal(chrono_tz::Europe::Dublin);
        let london = cal(chrono_tz::Europe::London);
        let sent = t("2027-01-08T15:20:00Z"); // a Friday
        let cases: &[(&str, RequestKind, bool, DeadlineKind, &str)] = &[
            (
                "budapest-29",
                RequestKind::Preservation,
                false,
                DeadlineKind::PreservationExpires,
                "2027-03-09T15:20:00Z",
            ),
            (
                "us-2703f",
                RequestKind::Preservation,
                false,
                DeadlineKind::PreservationExpires,
                "2027-04-08T15:20:00Z",
            ),
            (
                "provider-voluntary",
                RequestKind::Preservation,
                false,
                DeadlineKind::PreservationExpires,
                "2027-04-08T15:20:00Z",
            ),
            (
                "ncmec-2258a",
                RequestKind::Preservation,
                false,
                DeadlineKind::PreservationExpires,
                "2028-01-08T15:20:00Z",
            ),
            // 60 days from Friday 8 January: Tuesday 9 March, ends at its end.
            (
                "eu-epoc-pr",
                RequestKind::Preservation,
                false,
                DeadlineKind::PreservationExpires,
                "2027-03-10T00:00:00Z",
            ),
            (
                "eu-epoc",
                RequestKind::Production,
                false,
                DeadlineKind::ResponseDue,
                "2027-01-19T00:00:00Z",
            ),
            (
                "eu-epoc",
                RequestKind::Production,
                true,
                DeadlineKind::ResponseDue,
                "2027-01-08T23:20:00Z",
            ),
            (
                "eu-epoc",
                RequestKind::Production,
                false,
                DeadlineKind::EnforcingReview,
                "2027-01-19T00:00:00Z",
            ),
            (
                "eu-epoc",
                RequestKind::Production,
                true,
                DeadlineKind::EnforcingReview,
                "2027-01-12T15:20:00Z",
            ),
            (
                "eu-epoc",
                RequestKind::Production,
                true,
                DeadlineKind::ExPostValidation,
                "2027-01-10T15:20:00Z",
            ),
            (
                "eio",
                RequestKind::Production,
                false,
                DeadlineKind::AcknowledgementDue,
                "2027-01-16T00:00:00Z",
            ),
            (
                "eio",
                RequestKind::Production,
                false,
                DeadlineKind::DecisionDue,
                "2027-02-09T00:00:00Z",
            ),
            (
                "eio",
                RequestKind::Production,
                false,
                DeadlineKind::ResponseDue,
                "2027-04-08T23:00:00Z",
            ),
            (
                "budapest-31",
                RequestKind::Production,
                false,
                DeadlineKind::ResponseDue,
                "2027-04-08T15:20:00Z",
            ),
            (
                "us-2702-emergency",
                RequestKind::EmergencyDisclosure,
                true,
                DeadlineKind::ResponseDue,
                "2027-01-09T15:20:00Z",
            ),
            (
                "eu-2013-40-urgent",
                RequestKind::Preservation,
                true,
                DeadlineKind::AcknowledgementDue,
                "2027-01-08T23:20:00Z",
            ),
            (
                "cets224-7",
                RequestKind::Production,
                false,
                DeadlineKind::ResponseDue,
                "2027-02-07T15:20:00Z",
            ),
            (
                "cets224-8",
                RequestKind::Production,
                false,
                DeadlineKind::AcknowledgementDue,
                "2027-02-22T15:20:00Z",
            ),
        ];
        for (id, kind, emergency, deadline, due) in cases {
            let basis = catalogue.get(id).unwrap();
            let mut f = facts(*kind, Status::Preserved, &retention);
            f.emergency = *emergency;
            f.data_categories = &[DataCategory::Subscriber, DataCategory::Traffic];
            f.transmitted_at = Some(sent);
            f.acknowledged_at = Some(sent);
            f.preserved_at = Some(sent);
            let list = compute(basis, &f, &Targets::default(), &london, &dublin, sent);
            let d = find(&list, *deadline);
            assert_eq!(d.due_at, t(due), "{id} {deadline}: {}", d.explanation);
            assert!(
                d.explanation.contains(
                    &basis
                        .clocks
                        .iter()
                        .find(|c| DeadlineKind::from(c.kind) == *deadline)
                        .unwrap()
                        .citation
                )
            );
        }
    }

    #[test]
    fn the_explanation_can_be_checked_by_hand() {
        let catalogue = Catalogue::embedded();
        let retention = BTreeMap::new();
        let mut f = facts(RequestKind::Preservation, Status::Preserved, &retention);
        f.preserved_at = Some(t("2026-12-01T09:00:00Z"));
        let list = compute(
            catalogue.get("us-2703f").unwrap(),
            &f,
            &Targets::default(),
            &cal(chrono_tz::America::New_York),
            &cal(chrono_tz::America::New_York),
            t("2026-12-02T00:00:00Z"),
        );
        let d = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(
            d.explanation,
            "90 days from preservation confirmed 2026-12-01T09:00:00Z (elapsed: N × 24 hours from the instant) — 18 U.S.C. 2703(f)(2)"
        );
        assert_eq!(d.due_local, "2027-03-01 04:00 EST");
        assert_eq!(d.status, DeadlineStatus::Open);
    }

    #[test]
    fn extensions_move_the_expiry_and_follow_up_is_due_before_it() {
        let catalogue = Catalogue::embedded();
        let retention = BTreeMap::new();
        let mut f = facts(RequestKind::Preservation, Status::Preserved, &retention);
        f.preserved_at = Some(t("2026-12-01T09:00:00Z"));
        f.extensions_granted = 1;
        let utc = cal(chrono_tz::UTC);
        let list = compute(
            catalogue.get("us-2703f").unwrap(),
            &f,
            &Targets::default(),
            &utc,
            &utc,
            t("2026-12-02T00:00:00Z"),
        );
        assert_eq!(
            find(&list, DeadlineKind::PreservationExpires).due_at,
            t("2027-05-30T09:00:00Z")
        );
        assert_eq!(
            find(&list, DeadlineKind::FollowUpDue).due_at,
            t("2027-05-16T09:00:00Z")
        );
        // Extensions beyond the maximum do not count.
        f.extensions_granted = 3;
        let list = compute(
            catalogue.get("us-2703f").unwrap(),
            &f,
            &Targets::default(),
            &utc,
            &utc,
            t("2026-12-02T00:00:00Z"),
        );
        assert_eq!(
            find(&list, DeadlineKind::PreservationExpires).due_at,
            t("2027-05-30T09:00:00Z")
        );
        // EPOC-PR: 60 days + 30, counted under Regulation 1182/71.
        f.extensions_granted = 1;
        f.preserved_at = Some(t("2027-01-08T15:20:00Z"));
        let list = compute(
            catalogue.get("eu-epoc-pr").unwrap(),
            &f,
            &Targets::default(),
            &utc,
            &utc,
            t("2027-01-09T00:00:00Z"),
        );
        // 60 days → end of Tuesday 9 March; + 30 → Thursday 8 April, ends at its end.
        assert_eq!(
            find(&list, DeadlineKind::PreservationExpires).due_at,
            t("2027-04-09T00:00:00Z")
        );
    }

    #[test]
    fn a_transmitted_follow_up_cancels_the_expiry_where_the_basis_says_so() {
        let catalogue = Catalogue::embedded();
        let retention = BTreeMap::new();
        let utc = cal(chrono_tz::UTC);
        let mut f = facts(RequestKind::Preservation, Status::Preserved, &retention);
        f.preserved_at = Some(t("2026-12-01T09:00:00Z"));
        f.follow_up_transmitted_at = Some(t("2026-12-20T09:00:00Z"));
        let list = compute(
            catalogue.get("budapest-29").unwrap(),
            &f,
            &Targets::default(),
            &utc,
            &utc,
            t("2027-06-01T00:00:00Z"),
        );
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.status, DeadlineStatus::Cancelled);
        assert!(expiry.explanation.contains("pending a decision"));
        assert_eq!(
            find(&list, DeadlineKind::FollowUpDue).status,
            DeadlineStatus::Met
        );
        // Under a provider's policy the follow-up changes nothing: it lapses.
        let list = compute(
            catalogue.get("provider-voluntary").unwrap(),
            &f,
            &Targets::default(),
            &utc,
            &utc,
            t("2027-06-01T00:00:00Z"),
        );
        assert_eq!(
            find(&list, DeadlineKind::PreservationExpires).status,
            DeadlineStatus::Missed
        );
    }

    #[test]
    fn statuses_follow_the_events() {
        let catalogue = Catalogue::embedded();
        let retention = BTreeMap::new();
        let utc = cal(chrono_tz::UTC);
        let basis = catalogue.get("eu-epoc").unwrap();
        let mut f = facts(RequestKind::Production, Status::Transmitted, &retention);
        f.submitted_at = Some(t("2027-01-08T09:00:00Z"));
        f.approved_at = Some(t("2027-01-08T10:00:00Z"));
        f.transmitted_at = Some(t("2027-01-08T15:20:00Z"));
        let at = |now| compute(basis, &f, &Targets::default(), &utc, &utc, t(now));
        assert_eq!(
            find(&at("2027-01-09T00:00:00Z"), DeadlineKind::ApprovalDue).status,
            DeadlineStatus::Met
        );
        assert_eq!(
            find(&at("2027-01-09T00:00:00Z"), DeadlineKind::ResponseDue).status,
            DeadlineStatus::Open
        );
        assert_eq!(
            find(&at("2027-02-01T00:00:00Z"), DeadlineKind::ResponseDue).status,
            DeadlineStatus::Missed
        );
        f.answered_at = Some(t("2027-01-12T00:00:00Z"));
        f.status = Status::Fulfilled;
        let at = |now| compute(basis, &f, &Targets::default(), &utc, &utc, t(now));
        assert_eq!(
            find(&at("2027-02-01T00:00:00Z"), DeadlineKind::ResponseDue).status,
            DeadlineStatus::Met
        );
        f.answered_at = None;
        f.status = Status::Withdrawn;
        f.closed_at = Some(t("2027-01-10T00:00:00Z"));
        let at = |now| compute(basis, &f, &Targets::default(), &utc, &utc, t(now));
        assert_eq!(
            find(&at("2027-02-01T00:00:00Z"), DeadlineKind::ResponseDue).status,
            DeadlineStatus::Cancelled
        );
        // Approval late is approval missed.
        let mut g = facts(RequestKind::Production, Status::Approved, &retention);
        g.submitted_at = Some(t("2027-01-08T09:00:00Z"));
        g.approved_at = Some(t("2027-01-10T09:00:00Z"));
        let list = compute(
            basis,
            &g,
            &Targets::default(),
            &utc,
            &utc,
            t("2027-01-11T00:00:00Z"),
        );
        assert_eq!(
            find(&list, DeadlineKind::ApprovalDue).status,
            DeadlineStatus::Missed
        );
    }

    #[test]
    fn retention_risk_runs_from_the_observation() {
        let catalogue = Catalogue::embedded();
        let retention = BTreeMap::from([
            (DataCategory::Identification, 25),
            (DataCategory::Content, 30),
        ]);
        let identifiers = [
            Identifier {
                kind: IdentifierType::Ip,
                value: "198.51.100.23".into(),
                port: Some(40112),
                observed_at: Some(t("2026-11-20T21:15:03Z")),
            },
            Identifier {
                kind: IdentifierType::Account,
                value: "sunny".into(),
                port: None,
                observed_at: None,
            },
        ];
        let mut f = facts(RequestKind::Preservation, Status::Draft, &retention);
        f.identifiers = &identifiers;
        f.data_categories = &[DataCategory::Identification, DataCategory::Content];
        let utc = cal(chrono_tz::UTC);
        let list = compute(
            catalogue.get("provider-voluntary").unwrap(),
            &f,
            &Targets::default(),
            &utc,
            &utc,
            t("2026-11-28T00:00:00Z"),
        );
        let risk = find(&list, DeadlineKind::RetentionRisk);
        assert_eq!(risk.due_at, t("2026-12-15T21:15:03Z"));
        assert_eq!(risk.status, DeadlineStatus::Open);
        assert!(
            risk.explanation
                .contains("25 days the responder keeps identification data"),
            "{}",
            risk.explanation
        );
        f.preserved_at = Some(t("2026-12-01T00:00:00Z"));
        f.status = Status::Preserved;
        let list = compute(
            catalogue.get("provider-voluntary").unwrap(),
            &f,
            &Targets::default(),
            &utc,
            &utc,
            t("2026-12-20T00:00:00Z"),
        );
        assert_eq!(
            find(&list, DeadlineKind::RetentionRisk).status,
            DeadlineStatus::Met
        );
    }

    #[test]
    fn an_emergency_transmitted_before_approval_runs_ex_post_validation_not_approval() {
        let catalogue = Catalogue::embedded();
        let retention = BTreeMap::new();
        let utc = cal(chrono_tz::UTC);
        let mut f = facts(RequestKind::Production, Status::Transmitted, &retention);
        f.emergency = true;
        f.submitted_at = Some(t("2027-01-08T15:20:00Z"));
        f.transmitted_at = Some(t("2027-01-08T15:20:00Z"));
        let list = compute(
            catalogue.get("eu-epoc").unwrap(),
            &f,
            &Targets::default(),
            &utc,
            &utc,
            t("2027-01-08T16:00:00Z"),
        );
        assert!(list.iter().all(|d| d.kind != DeadlineKind::ApprovalDue));
        assert_eq!(
            find(&list, DeadlineKind::ExPostValidation).status,
            DeadlineStatus::Open
        );
        f.approved_at = Some(t("2027-01-09T10:00:00Z"));
        let list = compute(
            catalogue.get("eu-epoc").unwrap(),
            &f,
            &Targets::default(),
            &utc,
            &utc,
            t("2027-01-09T11:00:00Z"),
        );
        assert_eq!(
            find(&list, DeadlineKind::ExPostValidation).status,
            DeadlineStatus::Met
        );
    }
}
