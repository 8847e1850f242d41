//! Deadlines: every clock of a request, computed from its legal basis and its
//! events, each with an explanation a lawyer can redo by hand: the event's local
//! date, the first and last counted day by name, the holiday behind any roll,
//! and the reading chosen. Pure: the caller supplies the request's facts, the
//! calendars and the time.
//!
//! For a preservation the one dangerous error is an expiry later than the real
//! one, so wherever the law leaves room the earliest plausible instant is shown
//! and its explanation names the later reading it did not use (LEGAL.md,
//! "Preservation clocks: never later than the law").

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Timelike, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::identifiers::Identifier;
use super::legal_bases::{
    Clock, ClockKind, ClockStart, Counting, FollowUpRule, LegalBasis, Period, SameParty, StopEvent,
    StoppedBy, Verification,
};
use super::reference::{DataCategory, RequestKind};
use super::workflow::Status;
use crate::time::UtcTime;

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

/// Where an explanation turns to what only the issuing side may read: the
/// case's other requests (follow-ups to other States or providers) that did
/// not stop a preservation clock. A responder reads the explanation up to it.
pub const ISSUING_SIDE_NOTE: &str = " For the issuing side: ";

/// An explanation as a responder may read it.
pub fn for_responder(explanation: &str) -> &str {
    explanation
        .split(ISSUING_SIDE_NOTE)
        .next()
        .unwrap_or(explanation)
}

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

/// Where days are counted: a jurisdiction's time zone and its public holidays
/// (date → name).
#[derive(Debug, Clone, Copy)]
pub struct Calendar<'a> {
    pub jurisdiction: &'a str,
    pub timezone: Tz,
    pub holidays: &'a BTreeMap<NaiveDate, String>,
}

/// A follow-up of the request (a child filed against it), as far as the clocks
/// need to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub id: String,
    pub reference: String,
    pub kind: RequestKind,
    pub legal_basis: String,
    pub responder_id: String,
    pub executing_jurisdiction: String,
    pub transmitted_at: Option<UtcTime>,
}

/// The issuing authority's confirmation to the addressee of an EPOC-PR that a
/// production request was issued (Regulation 2023/1543 Annex V).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductionConfirmation {
    pub at: UtcTime,
    pub follow_up_id: String,
}

/// What the computation needs to know about a request.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub kind: RequestKind,
    pub status: Status,
    pub emergency: bool,
    pub data_categories: &'a [DataCategory],
    pub identifiers: &'a [Identifier],
    pub responder_id: &'a str,
    pub executing_jurisdiction: &'a str,
    pub submitted_at: Option<UtcTime>,
    pub approved_at: Option<UtcTime>,
    pub transmitted_at: Option<UtcTime>,
    pub acknowledged_at: Option<UtcTime>,
    pub preserved_at: Option<UtcTime>,
    /// The executing authority's decision on recognition (EIO).
    pub decided_at: Option<UtcTime>,
    /// When the executing authority gave notice that it cannot decide in time
    /// (EIO Art. 12(5)).
    pub delay_notified_at: Option<UtcTime>,
    pub answered_at: Option<UtcTime>,
    /// When the request reached a final state other than an answer
    /// (withdrawn, rejected, released, expired), if it did.
    pub closed_at: Option<UtcTime>,
    pub extensions_granted: u32,
    /// The custodian's own date: "preserved until".
    pub preserved_until: Option<UtcTime>,
    /// When the provider submitted its CyberTipline report (18 U.S.C. 2258A).
    pub cybertipline_submitted_at: Option<UtcTime>,
    pub follow_ups: &'a [FollowUp],
    pub production_confirmed: Option<&'a ProductionConfirmation>,
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
    /// Whether what the clock waits for is still to be done: open, or missed
    /// with nothing done yet. A clock met late is not awaited any more.
    #[serde(skip)]
    pub awaited: bool,
}

impl Deadline {
    #[expect(
        clippy::too_many_arguments,
        reason = "every field of a deadline, named once instead of in every literal"
    )]
    fn new(
        kind: DeadlineKind,
        started_at: Option<UtcTime>,
        due_at: UtcTime,
        status: DeadlineStatus,
        explanation: String,
        tz: Tz,
        citation: &str,
        verification: Verification,
    ) -> Self {
        Deadline {
            kind,
            started_at,
            due_at,
            status,
            explanation,
            due_local: local(due_at, tz),
            timezone: tz.name().to_owned(),
            citation: citation.to_owned(),
            verification,
            awaited: status == DeadlineStatus::Open,
        }
    }
}

fn period_text(period: Period) -> String {
    match period {
        Period::Days(1) => "1 day".into(),
        Period::Days(n) => format!("{n} days"),
        Period::Hours(1) => "1 hour".into(),
        Period::Hours(n) => format!("{n} hours"),
    }
}

/// `period` plus `times` × `extension`, as one period counted from the start:
/// an extension runs on from the unrolled end of the period before it.
fn chained(period: Period, extension: Period, times: u32) -> Period {
    match (period, extension) {
        (Period::Days(a), Period::Days(b)) => Period::Days(a + b * times),
        (Period::Hours(a), Period::Hours(b)) => Period::Hours(a + b * times),
        (Period::Days(a), Period::Hours(b)) => Period::Hours(a * 24 + b * times),
        (Period::Hours(a), Period::Days(b)) => Period::Hours(a + b * 24 * times),
    }
}

/// "Monday 2027-01-11".
fn day_name(date: NaiveDate) -> String {
    date.format("%A %Y-%m-%d").to_string()
}

fn in_zone(at: UtcTime, tz: Tz) -> DateTime<Tz> {
    at.to_datetime().with_timezone(&tz)
}

/// An instant with its local reading: "2027-01-11T09:00:00Z (Monday 2027-01-11
/// 10:00 CET, Europe/Brussels)".
fn instant_text(at: UtcTime, tz: Tz) -> String {
    let here = in_zone(at, tz);
    format!(
        "{at} ({} {}, {})",
        day_name(here.date_naive()),
        here.format("%H:%M %Z"),
        tz.name()
    )
}

fn local(due: UtcTime, tz: Tz) -> String {
    in_zone(due, tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// Why a date is not a working day, if it is not one.
fn not_working(date: NaiveDate, calendar: &Calendar<'_>) -> Option<String> {
    if let Some(name) = calendar.holidays.get(&date) {
        Some(format!(
            "a public holiday in {} ({name})",
            calendar.jurisdiction
        ))
    } else if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        Some(format!("a {}", date.format("%A")))
    } else {
        None
    }
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

/// A period of days under Regulation 1182/71: the day of the event is not
/// counted (Art. 3(1)); the period ends with the last hour of its last day
/// (Art. 3(2)(b)); if that day is a Saturday, Sunday or public holiday, with the
/// last hour of the next working day (Art. 3(4)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EuDays {
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// Why the last day is not a working day, if it is not.
    pub last_is: Option<String>,
    /// The next working day, where Art. 3(4) carries the end to it, with the
    /// days passed over and why.
    pub rolled_to: Option<(NaiveDate, Vec<(NaiveDate, String)>)>,
}

impl EuDays {
    pub fn count(start: UtcTime, days: u32, calendar: &Calendar<'_>) -> Self {
        let event = in_zone(start, calendar.timezone).date_naive();
        let first = event + TimeDelta::days(1);
        let last = event + TimeDelta::days(i64::from(days));
        let last_is = not_working(last, calendar);
        let rolled_to = last_is.as_ref().map(|why| {
            let mut passed = vec![(last, why.clone())];
            let mut day = last + TimeDelta::days(1);
            while let Some(why) = not_working(day, calendar) {
                passed.push((day, why));
                day += TimeDelta::days(1);
            }
            (day, passed)
        });
        EuDays {
            first,
            last,
            last_is,
            rolled_to,
        }
    }

    /// The end of the period: of its last day, or (with `roll`) of the working
    /// day Art. 3(4) carries it to.
    pub fn end(&self, roll: bool, tz: Tz) -> UtcTime {
        let last = match (&self.rolled_to, roll) {
            (Some((day, _)), true) => *day,
            _ => self.last,
        };
        start_of_day(last + TimeDelta::days(1), tz)
    }
}

/// The reading of a period the engine chose, with the words that redo it.
struct Counted {
    due: UtcTime,
    how: String,
}

/// The end of `period` from the event `start` (named `event`) under the entry's
/// counting. `roll` applies Art. 3(4); for a preservation it is off and the
/// later, rolled reading is named instead. `other_authority` counts hours by the
/// letter of Art. 3(1), for a window that is another authority's.
///
/// Long on purpose: one arm per counting rule and unit of period, each
/// explaining itself in words a lawyer can check.
fn count(
    start: UtcTime,
    event: &str,
    period: Period,
    counting: Counting,
    calendar: &Calendar<'_>,
    roll: bool,
    other_authority: bool,
) -> Counted {
    let tz = calendar.timezone;
    let from = format!("{event} {}", instant_text(start, tz));
    match (counting, period) {
        (Counting::Elapsed, Period::Hours(h)) => Counted {
            due: start + TimeDelta::hours(i64::from(h)),
            how: format!("{h} hours from {from}"),
        },
        (Counting::Elapsed, Period::Days(d)) => Counted {
            due: start + TimeDelta::hours(24 * i64::from(d)),
            how: format!("{d} days of 24 hours from {from} (elapsed time)"),
        },
        (Counting::Eu118271, Period::Hours(h)) => {
            let at = start.to_datetime();
            let next_hour = UtcTime::from(
                at - TimeDelta::minutes(i64::from(at.minute()))
                    - TimeDelta::seconds(i64::from(at.second()))
                    - TimeDelta::nanoseconds(i64::from(at.nanosecond()))
                    + TimeDelta::hours(1),
            );
            if other_authority {
                Counted {
                    due: next_hour + TimeDelta::hours(i64::from(h)),
                    how: format!(
                        "{h} hours from the beginning of the hour after {from}, i.e. from {next_hour}: \
                         Regulation 1182/71 Art. 3(1) by its letter, since this window is another \
                         authority's and must not be shown closed while it is open"
                    ),
                }
            } else {
                Counted {
                    due: start + TimeDelta::hours(i64::from(h)),
                    how: format!(
                        "{h} hours from {from}, from the instant itself: the earlier reading of \
                         Regulation 1182/71 Art. 3(1), which by its letter would start them at \
                         {next_hour}"
                    ),
                }
            }
        }
        (Counting::Eu118271, Period::Days(d)) => {
            let days = EuDays::count(start, d, calendar);
            let mut how = format!(
                "{d} days from {from}: the day of the event is not counted, so day 1 is {}; \
                 day {d} is {}",
                day_name(days.first),
                day_name(days.last)
            );
            let due = days.end(roll, tz);
            match (&days.rolled_to, &days.last_is) {
                (Some((to, passed)), Some(why)) if roll => {
                    let passed: Vec<String> = passed
                        .iter()
                        .map(|(day, why)| format!("{} is {why}", day_name(*day)))
                        .collect();
                    how.push_str(&format!(
                        ", {why}, so the period ends at the end of the next working day, {} \
                         ({}; Regulation 1182/71 Art. 3(4))",
                        day_name(*to),
                        passed.join(", ")
                    ));
                }
                (Some((to, _)), Some(why)) => {
                    how.push_str(&format!(
                        ", {why}; the period ends at the end of that day. Art. 3(4) of \
                         Regulation 1182/71 would carry the end to the end of {}, {}: the later \
                         reading, not used for a preservation",
                        day_name(*to),
                        start_of_day(*to + TimeDelta::days(1), tz)
                    ));
                }
                _ => how.push_str(", a working day; the period ends at the end of that day"),
            }
            how.push_str(&format!(
                " ({} time; Regulation 1182/71 Art. 3(1), 3(2)(b))",
                tz.name()
            ));
            Counted { due, how }
        }
    }
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

/// The follow-up that stopped a preservation clock: when, and which.
#[derive(Debug, Clone)]
struct Stop<'a> {
    at: UtcTime,
    follow_up: &'a FollowUp,
    /// What happened at `at`.
    event: &'static str,
}

/// Why `follow_up` does not stop the clock under `rule`, or `None` if it does.
fn unfit(follow_up: &FollowUp, rule: &StoppedBy, facts: &Facts<'_>) -> Option<String> {
    if follow_up.kind != RequestKind::Production {
        return Some(format!("its kind is {}, not production", follow_up.kind));
    }
    if !rule.bases.contains(&follow_up.legal_basis) {
        return Some(format!(
            "its basis `{}` is not one that counts ({})",
            follow_up.legal_basis,
            rule.bases.join(", ")
        ));
    }
    match rule.same {
        SameParty::ExecutingJurisdiction
            if follow_up.executing_jurisdiction != facts.executing_jurisdiction =>
        {
            Some(format!(
                "it goes to {}, not to the requested Party {}",
                follow_up.executing_jurisdiction, facts.executing_jurisdiction
            ))
        }
        SameParty::Responder if follow_up.responder_id != facts.responder_id => {
            Some("it is addressed to another organisation than this preservation".into())
        }
        _ if follow_up.transmitted_at.is_none() => Some("it has not been transmitted".into()),
        _ => None,
    }
}

/// The event the law accepts as stopping the clock, if it happened by `due`;
/// and, for the explanation, the follow-ups that do not count and why.
fn stopping<'a>(
    rule: &StoppedBy,
    facts: &'a Facts<'a>,
    due: UtcTime,
) -> (Option<Stop<'a>>, Vec<String>) {
    let mut refused = Vec::new();
    let mut stop: Option<Stop<'a>> = None;
    for follow_up in facts.follow_ups {
        if let Some(why) = unfit(follow_up, rule, facts) {
            refused.push(format!(
                "{} ({}) does not stop it: {why}",
                follow_up.reference, follow_up.legal_basis
            ));
            continue;
        }
        let candidate = match rule.event {
            StopEvent::FollowUpTransmitted => follow_up.transmitted_at.map(|at| Stop {
                at,
                follow_up,
                event: "received by the requested Party",
            }),
            StopEvent::ProductionConfirmed => facts
                .production_confirmed
                .filter(|c| c.follow_up_id == follow_up.id)
                .map(|c| Stop {
                    at: c.at,
                    follow_up,
                    event: "confirmed to the addressee as issued (Annex V)",
                }),
        };
        match candidate {
            Some(c) if c.at <= due && stop.as_ref().is_none_or(|s| c.at < s.at) => {
                stop = Some(c);
            }
            Some(c) if c.at <= due => {}
            Some(c) => refused.push(format!(
                "{} ({}) was {} at {}, after the expiry",
                follow_up.reference, follow_up.legal_basis, c.event, c.at
            )),
            None if rule.event == StopEvent::ProductionConfirmed => refused.push(format!(
                "{} ({}) stops it only once its issue is confirmed to the addressee (Annex V)",
                follow_up.reference, follow_up.legal_basis
            )),
            None => {}
        }
    }
    (stop, refused)
}

/// The preservation's expiry: the earlier of the instrument's clock and the
/// custodian's own date, with how it was read.
struct Expiry {
    due: UtcTime,
    started_at: UtcTime,
    explanation: String,
    status: DeadlineStatus,
    /// When a follow-up the law accepts stopped the clock, if one did.
    stopped_at: Option<UtcTime>,
}

fn preservation_expiry(
    basis: &LegalBasis,
    clock: &Clock,
    start: (UtcTime, &str),
    facts: &Facts<'_>,
    executing: &Calendar<'_>,
    now: UtcTime,
) -> Expiry {
    let started_at = start.0;
    let (reading, explanation) = instrument_reading(basis, clock, start, facts, executing);
    let (due, mut explanation) =
        earlier_of_custodian(reading, explanation, facts.preserved_until, executing);
    let (stop, refused) = match &basis.stopped_by {
        Some(rule) => stopping(rule, facts, due),
        None => (None, Vec::new()),
    };
    let closed =
        facts.closed_at.is_some() || matches!(facts.status, Status::Withdrawn | Status::Rejected);
    let status = if let Some(stop) = &stop {
        let rule = basis.stopped_by.as_ref().expect("a stop has a rule");
        explanation.push_str(&format!(
            ". Stopped: the follow-up {} ({} to {}) was {} at {}, before the expiry, so the data \
             stays preserved {} ({})",
            stop.follow_up.reference,
            stop.follow_up.legal_basis,
            stop.follow_up.executing_jurisdiction,
            stop.event,
            stop.at,
            if basis.follow_up == Some(FollowUpRule::PreservedPendingDecision) {
                "pending a decision on it"
            } else {
                "until production"
            },
            rule.citation
        ));
        DeadlineStatus::Cancelled
    } else if facts.status == Status::Released {
        DeadlineStatus::Met
    } else if facts.status == Status::Expired {
        DeadlineStatus::Missed
    } else if closed || matches!(facts.status, Status::Refused | Status::Moved) {
        DeadlineStatus::Cancelled
    } else if now > due {
        DeadlineStatus::Missed
    } else {
        DeadlineStatus::Open
    };
    if !refused.is_empty() {
        explanation.push_str(&format!(".{ISSUING_SIDE_NOTE}{}", refused.join("; ")));
    }
    Expiry {
        due,
        started_at,
        explanation,
        status,
        stopped_at: stop.map(|s| s.at),
    }
}

/// The expiry as the instrument reads it, with its explanation: the period
/// and any extensions granted, counted together from the start.
fn instrument_reading(
    basis: &LegalBasis,
    clock: &Clock,
    (started_at, event): (UtcTime, &str),
    facts: &Facts<'_>,
    executing: &Calendar<'_>,
) -> (UtcTime, String) {
    let granted = clock
        .extension
        .map_or(0, |e| facts.extensions_granted.min(e.max));
    let period = match clock.extension {
        Some(e) if granted > 0 => chained(clock.period, e.period, granted),
        _ => clock.period,
    };
    // For a preservation the Art. 3(4) roll is never applied: the no-roll
    // reading is the earlier one.
    let counted = count(
        started_at,
        event,
        period,
        basis.counting,
        executing,
        false,
        false,
    );
    let mut explanation = match clock.extension {
        Some(e) if granted > 0 => format!(
            "{} and {granted} extension(s) of {}, counted together from the start as one period \
             of {}: {}",
            period_text(clock.period),
            period_text(e.period),
            period_text(period),
            counted.how
        ),
        _ => counted.how,
    };
    if clock.minimum {
        explanation.push_str(
            "; the instrument sets this as a minimum, so the requested Party may keep the data longer",
        );
    }
    explanation.push_str(&format!(" — {}", clock.citation));
    (counted.due, explanation)
}

/// The custodian's own date governs when it is earlier than the instrument's
/// reading (for a preservation the only safe error is an early date); a later
/// one is noted and not used.
fn earlier_of_custodian(
    reading: UtcTime,
    mut explanation: String,
    preserved_until: Option<UtcTime>,
    executing: &Calendar<'_>,
) -> (UtcTime, String) {
    match preserved_until {
        Some(until) if until < reading => {
            let governs = format!(
                "The custodian's date governs: the responder confirmed preservation until {}, \
                 earlier than the instrument's reading {} (not used). The instrument's reading: {}",
                instant_text(until, executing.timezone),
                reading,
                explanation
            );
            (until, governs)
        }
        Some(until) => {
            explanation.push_str(&format!(
                ". The instrument's reading governs: the responder's stated date {until} is later \
                 and is not used"
            ));
            (reading, explanation)
        }
        None => (reading, explanation),
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
    let transmitted_before_approval = facts.emergency
        && facts.transmitted_at.is_some()
        && facts
            .approved_at
            .is_none_or(|a| facts.transmitted_at.is_some_and(|t| a > t));
    if let Some(approval) = approval_due(facts, targets, issuing, now, closed)
        && !transmitted_before_approval
    {
        out.push(approval);
    }
    let mut expiry = None;
    for clock in &basis.clocks {
        if clock.emergency_only && !transmitted_before_approval {
            continue;
        }
        if let Some(categories) = &clock.categories
            && !facts.data_categories.iter().any(|c| categories.contains(c))
        {
            continue;
        }
        let start = match clock.starts {
            ClockStart::Transmitted => facts.transmitted_at.map(|t| (t, "transmission")),
            ClockStart::Acknowledged => facts.acknowledged_at.map(|t| (t, "acknowledgement")),
            ClockStart::Decided => facts.decided_at.map(|t| (t, "the decision on recognition")),
            // The report precedes the request; the clock runs once it is sent.
            ClockStart::CybertiplineSubmitted => facts
                .cybertipline_submitted_at
                .filter(|_| facts.transmitted_at.is_some())
                .map(|t| (t, "submission of the CyberTipline report")),
        };
        let Some(start) = start else { continue };
        let kind = DeadlineKind::from(clock.kind);
        let verification = clock.verification.unwrap_or(basis.verification);
        if kind == DeadlineKind::PreservationExpires {
            let e = preservation_expiry(basis, clock, start, facts, executing, now);
            out.push(Deadline::new(
                kind,
                Some(e.started_at),
                e.due,
                e.status,
                e.explanation.clone(),
                executing.timezone,
                &clock.citation,
                verification,
            ));
            expiry = Some(e);
            continue;
        }
        out.push(response_clock(
            basis, clock, start, facts, executing, now, closed,
        ));
    }
    if facts.kind == RequestKind::Preservation
        && let Some(expiry) = &expiry
    {
        let stoppable = basis.stopped_by.is_some();
        out.push(follow_up_due(
            expiry, stoppable, facts, targets, issuing, now, closed,
        ));
    }
    if let Some(risk) = retention_risk(facts, executing, now, closed) {
        out.push(risk);
    }
    out
}

/// Approval by the central authority: a deployment target.
fn approval_due(
    facts: &Facts<'_>,
    targets: &Targets,
    issuing: &Calendar<'_>,
    now: UtcTime,
    closed: bool,
) -> Option<Deadline> {
    let submitted = facts.submitted_at?;
    let target = if facts.emergency {
        targets.approval_emergency
    } else {
        targets.approval
    };
    let due = submitted + target;
    let cancelled = closed || facts.status == Status::Draft;
    Some(Deadline::new(
        DeadlineKind::ApprovalDue,
        Some(submitted),
        due,
        status_of(due, facts.approved_at, cancelled, now),
        format!(
            "{} hours from submission {} — deployment target for approval{}",
            target.num_hours(),
            instant_text(submitted, issuing.timezone),
            if facts.emergency {
                " of an emergency"
            } else {
                ""
            }
        ),
        issuing.timezone,
        "Deployment target",
        Verification::Verified,
    ))
}

/// A clock the responder (or another authority) must answer by.
fn response_clock(
    basis: &LegalBasis,
    clock: &Clock,
    (start, event): (UtcTime, &str),
    facts: &Facts<'_>,
    executing: &Calendar<'_>,
    now: UtcTime,
    closed: bool,
) -> Deadline {
    let kind = DeadlineKind::from(clock.kind);
    let emergency = facts.emergency && clock.emergency_period.is_some();
    let base = match (facts.emergency, clock.emergency_period) {
        (true, Some(p)) => p,
        _ => clock.period,
    };
    // The EIO's decision period is extended once the executing authority gives
    // notice of the delay (Directive 2014/41 Art. 12(5)).
    let delayed = match (kind, clock.extension, facts.delay_notified_at) {
        (DeadlineKind::DecisionDue, Some(e), Some(at)) => Some((e.period, at)),
        _ => None,
    };
    let period = delayed.map_or(base, |(extra, _)| chained(base, extra, 1));
    let counted = count(
        start,
        event,
        period,
        basis.counting,
        executing,
        true,
        clock.other_authority,
    );
    let mut explanation = String::new();
    if let Some((extra, at)) = delayed {
        explanation.push_str(&format!(
            "{} and {} more after the notice of delay given at {at}, counted together: ",
            period_text(base),
            period_text(extra)
        ));
    } else if emergency {
        explanation.push_str("Emergency: ");
    }
    explanation.push_str(&counted.how);
    explanation.push_str(&format!(" — {}", clock.citation));
    if clock.target {
        explanation.push_str(" (no period in law: a deployment target)");
    }
    let due = counted.due;
    let answered = facts.answered_at;
    let met = match kind {
        DeadlineKind::AcknowledgementDue => facts.acknowledged_at.or(facts.decided_at).or(answered),
        DeadlineKind::DecisionDue => facts.decided_at.or(answered),
        DeadlineKind::ExPostValidation => facts.approved_at,
        _ => answered,
    };
    let status = match kind {
        // A period for the enforcing State: it runs out, nobody misses it.
        DeadlineKind::EnforcingReview if closed => DeadlineStatus::Cancelled,
        DeadlineKind::EnforcingReview if now > due => DeadlineStatus::Met,
        DeadlineKind::EnforcingReview => DeadlineStatus::Open,
        _ => status_of(due, met, closed, now),
    };
    let mut deadline = Deadline::new(
        kind,
        Some(start),
        due,
        status,
        explanation,
        executing.timezone,
        &clock.citation,
        clock.verification.unwrap_or(basis.verification),
    );
    // Overdue and still not done: the most pressing clock of all. The
    // enforcing State's review period asks nothing of the addressee.
    deadline.awaited |= status == DeadlineStatus::Missed && met.is_none();
    deadline.awaited &= kind != DeadlineKind::EnforcingReview;
    deadline
}

/// The soonest clock the responder still owes an answer to, if any: what its
/// inbox sorts by. The issuing side's own clocks are not the responder's.
pub fn responder_due(deadlines: &[Deadline]) -> Option<UtcTime> {
    deadlines
        .iter()
        .filter(|d| d.awaited && !ISSUING_SIDE.contains(&d.kind.as_str()))
        .map(|d| d.due_at)
        .min()
}

/// The soonest clock still owed on a request, of any kind: what the issuing
/// side's list sorts by when asked for the most urgent first.
pub fn issuer_due(deadlines: &[Deadline]) -> Option<UtcTime> {
    deadlines
        .iter()
        .filter(|d| d.awaited)
        .map(|d| d.due_at)
        .min()
}

/// File the formal request well before the preservation lapses: the margin
/// moves with whichever date governs the expiry.
fn follow_up_due(
    expiry: &Expiry,
    stoppable: bool,
    facts: &Facts<'_>,
    targets: &Targets,
    issuing: &Calendar<'_>,
    now: UtcTime,
    closed: bool,
) -> Deadline {
    let due = expiry.due - targets.follow_up_margin;
    // Where the law names the follow-up that stops the clock, only that one
    // is the follow-up due; where nothing stops it, filing any production is.
    let filed = if stoppable {
        expiry.stopped_at
    } else {
        facts
            .follow_ups
            .iter()
            .filter(|f| f.kind == RequestKind::Production)
            .filter_map(|f| f.transmitted_at)
            .min()
    };
    let status = match filed {
        Some(at) if at <= due => DeadlineStatus::Met,
        Some(_) => DeadlineStatus::Missed,
        None if expiry.status == DeadlineStatus::Met
            || closed
            || matches!(facts.status, Status::Refused | Status::Moved) =>
        {
            DeadlineStatus::Cancelled
        }
        None if now > due => DeadlineStatus::Missed,
        None => DeadlineStatus::Open,
    };
    Deadline::new(
        DeadlineKind::FollowUpDue,
        Some(expiry.started_at),
        due,
        status,
        format!(
            "{} days before the preservation expires at {} — deployment margin to transmit the \
             follow-up request",
            targets.follow_up_margin.num_days(),
            instant_text(expiry.due, issuing.timezone)
        ),
        issuing.timezone,
        "Deployment target",
        Verification::Verified,
    )
}

/// When a provider's retention lets go of what was seen at `seen`: the
/// soonest end over the categories asked for that it states a period for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionEnd {
    pub at: UtcTime,
    pub category: DataCategory,
    pub days: u32,
}

pub fn retention_end(
    seen: UtcTime,
    categories: &[DataCategory],
    retention_days: &BTreeMap<DataCategory, u32>,
) -> Option<RetentionEnd> {
    categories
        .iter()
        .filter_map(|category| {
            retention_days.get(category).map(|days| RetentionEnd {
                at: seen + TimeDelta::days(i64::from(*days)),
                category: *category,
                days: *days,
            })
        })
        .min_by_key(|end| end.at)
}

/// The provider's own deletion clock runs from when the identifier was seen.
fn retention_risk(
    facts: &Facts<'_>,
    executing: &Calendar<'_>,
    now: UtcTime,
    closed: bool,
) -> Option<Deadline> {
    let mut earliest: Option<(UtcTime, &Identifier, UtcTime, DataCategory, u32)> = None;
    for identifier in facts.identifiers {
        let Some(seen) = identifier.observed_at else {
            continue;
        };
        if let Some(end) = retention_end(seen, facts.data_categories, facts.retention_days)
            && earliest.is_none_or(|(e, ..)| end.at < e)
        {
            earliest = Some((end.at, identifier, seen, end.category, end.days));
        }
    }
    let (due, identifier, seen, category, days) = earliest?;
    let secured = facts.preserved_at.or(match facts.status {
        Status::Fulfilled => facts.answered_at,
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
    Some(Deadline::new(
        DeadlineKind::RetentionRisk,
        Some(seen),
        due,
        status,
        format!(
            "{} {} seen {seen} + {days} days the responder keeps {category} data — provider \
             retention profile",
            identifier.kind, identifier.value,
        ),
        executing.timezone,
        "Provider retention profile",
        Verification::Secondary,
    ))
}

#[cfg(test)]
mod tests {
    //! Every expected instant here was counted by hand on a calendar, not by the
    //! engine; the comment above each says how.
    use super::*;
    use crate::domain::identifiers::{IdentifierType, parse_instant};
    use crate::domain::legal_bases::Catalogue;

    fn t(text: &str) -> UtcTime {
        parse_instant(text).unwrap()
    }

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    static NO_HOLIDAYS: BTreeMap<NaiveDate, String> = BTreeMap::new();

    fn cal(tz: Tz) -> Calendar<'static> {
        Calendar {
            jurisdiction: "XX",
            timezone: tz,
            holidays: &NO_HOLIDAYS,
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
            responder_id: "responder",
            executing_jurisdiction: "NL",
            submitted_at: None,
            approved_at: None,
            transmitted_at: None,
            acknowledged_at: None,
            preserved_at: None,
            decided_at: None,
            delay_notified_at: None,
            answered_at: None,
            closed_at: None,
            extensions_granted: 0,
            preserved_until: None,
            cybertipline_submitted_at: None,
            follow_ups: &[],
            production_confirmed: None,
            retention_days: retention,
        }
    }

    fn find(list: &[Deadline], kind: DeadlineKind) -> Deadline {
        list.iter()
            .find(|d| d.kind == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} in {list:#?}"))
    }

    fn run(id: &str, f: &Facts<'_>, executing: &Calendar<'_>, now: &str) -> Vec<Deadline> {
        let catalogue = Catalogue::embedded();
        compute(
            catalogue.get(id).unwrap(),
            f,
            &Targets::default(),
            &cal(chrono_tz::Europe::London),
            executing,
            t(now),
        )
    }

    #[test]
    fn the_worked_example_of_legal_md() {
        // eu-epoc, 10 days: received Friday 2027-01-08 15:20 in Dublin → day 1
        // is Saturday 9th, day 10 Monday 18th → due at the end of Monday 18th.
        let days = EuDays::count(
            t("2027-01-08T15:20:00Z"),
            10,
            &cal(chrono_tz::Europe::Dublin),
        );
        assert_eq!((days.first, days.last), (d("2027-01-09"), d("2027-01-18")));
        assert_eq!(days.rolled_to, None);
        assert_eq!(
            days.end(true, chrono_tz::Europe::Dublin),
            t("2027-01-19T00:00:00Z")
        );
    }

    #[test]
    fn a_last_day_on_a_weekend_or_holiday_rolls_to_the_next_working_day() {
        // Received Wednesday 2027-01-06 → day 10 is Saturday 16th → Monday 18th.
        let dublin = cal(chrono_tz::Europe::Dublin);
        let days = EuDays::count(t("2027-01-06T10:00:00Z"), 10, &dublin);
        assert_eq!(days.end(true, dublin.timezone), t("2027-01-19T00:00:00Z"));
        assert_eq!(days.end(false, dublin.timezone), t("2027-01-17T00:00:00Z"));
        // If that Monday is a public holiday there, Tuesday; the explanation
        // names the holiday.
        let holidays = BTreeMap::from([(d("2027-01-18"), "Founders' Day".to_owned())]);
        let calendar = Calendar {
            jurisdiction: "IE",
            timezone: chrono_tz::Europe::Dublin,
            holidays: &holidays,
        };
        let counted = count(
            t("2027-01-06T10:00:00Z"),
            "transmission",
            Period::Days(10),
            Counting::Eu118271,
            &calendar,
            true,
            false,
        );
        assert_eq!(counted.due, t("2027-01-20T00:00:00Z"));
        for part in [
            "Wednesday 2027-01-06 10:00 GMT",
            "day 1 is Thursday 2027-01-07",
            "day 10 is Saturday 2027-01-16",
            "Tuesday 2027-01-19",
            "Monday 2027-01-18 is a public holiday in IE (Founders' Day)",
            "Art. 3(4)",
        ] {
            assert!(counted.how.contains(part), "{part} not in {}", counted.how);
        }
    }

    #[test]
    fn days_end_at_local_midnight_across_a_daylight_saving_change() {
        // Berlin moves to summer time on Sunday 2027-03-28. Received Thursday
        // 2027-03-18 → day 10 is Sunday 28th → Monday 29th, which ends at
        // midnight CEST (22:00 UTC), not CET.
        let berlin = cal(chrono_tz::Europe::Berlin);
        let days = EuDays::count(t("2027-03-18T09:00:00Z"), 10, &berlin);
        assert_eq!(days.end(true, berlin.timezone), t("2027-03-29T22:00:00Z"));
        // Elapsed days stay N × 24 hours across the change.
        let elapsed = count(
            t("2027-03-20T09:00:00Z"),
            "transmission",
            Period::Days(10),
            Counting::Elapsed,
            &berlin,
            true,
            false,
        );
        assert_eq!(elapsed.due, t("2027-03-30T09:00:00Z"));
    }

    #[test]
    fn a_leap_day_counts_as_a_day() {
        let utc = cal(chrono_tz::UTC);
        let elapsed = count(
            t("2028-02-20T12:00:00Z"),
            "transmission",
            Period::Days(10),
            Counting::Elapsed,
            &utc,
            true,
            false,
        );
        assert_eq!(elapsed.due, t("2028-03-01T12:00:00Z"));
        // Thursday 2028-02-24 + 5 days → Tuesday 29 February, ends at its end.
        let days = EuDays::count(t("2028-02-24T12:00:00Z"), 5, &utc);
        assert_eq!(days.end(true, chrono_tz::UTC), t("2028-03-01T00:00:00Z"));
    }

    /// Long on purpose: a table of hand-counted due instants, one row per
    /// clock, each checked against LEGAL.md rather than recorded from the code.
    /// Every catalogue entry's clocks from one transmission (Friday 2027-01-08
    /// 15:20 UTC), counted in Dublin without holidays.
    #[test]
    fn every_catalogue_clock() {
        let catalogue = Catalogue::embedded();
        let retention = BTreeMap::new();
        let dublin = cal(chrono_tz::Europe::Dublin);
        let sent = t("2027-01-08T15:20:00Z");
        let cases: &[(&str, RequestKind, bool, DeadlineKind, &str)] = &[
            // 60 × 24 hours: 8 Jan + 60 days = 9 March.
            (
                "budapest-29",
                RequestKind::Preservation,
                false,
                DeadlineKind::PreservationExpires,
                "2027-03-09T15:20:00Z",
            ),
            // 90 × 24 hours: 8 Jan + 90 days = 8 April.
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
            // 365 × 24 hours from the submission (set to the same instant).
            (
                "ncmec-2258a",
                RequestKind::Preservation,
                false,
                DeadlineKind::PreservationExpires,
                "2028-01-08T15:20:00Z",
            ),
            // Day 1 Saturday 9 Jan, day 60 Tuesday 9 March, ends at its end.
            (
                "eu-epoc-pr",
                RequestKind::Preservation,
                false,
                DeadlineKind::PreservationExpires,
                "2027-03-10T00:00:00Z",
            ),
            // Day 10 is Monday 18 Jan.
            (
                "eu-epoc",
                RequestKind::Production,
                false,
                DeadlineKind::ResponseDue,
                "2027-01-19T00:00:00Z",
            ),
            // 8 hours from the instant.
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
            // The enforcing State's 96 hours start at 16:00, the next full hour.
            (
                "eu-epoc",
                RequestKind::Production,
                true,
                DeadlineKind::EnforcingReview,
                "2027-01-12T16:00:00Z",
            ),
            (
                "eu-epoc",
                RequestKind::Production,
                true,
                DeadlineKind::ExPostValidation,
                "2027-01-10T15:20:00Z",
            ),
            // Day 7 is Friday 15 Jan.
            (
                "eio",
                RequestKind::Production,
                false,
                DeadlineKind::AcknowledgementDue,
                "2027-01-16T00:00:00Z",
            ),
            // Day 30 is Sunday 7 Feb → Monday 8 Feb.
            (
                "eio",
                RequestKind::Production,
                false,
                DeadlineKind::DecisionDue,
                "2027-02-09T00:00:00Z",
            ),
            // 90 days from the decision (same instant): Thursday 8 April, Irish
            // summer time.
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
                "coe-mla-1959",
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
            f.decided_at = Some(sent);
            f.cybertipline_submitted_at = Some(sent);
            let list = compute(
                basis,
                &f,
                &Targets::default(),
                &cal(chrono_tz::Europe::London),
                &dublin,
                sent,
            );
            let found = find(&list, *deadline);
            assert_eq!(
                found.due_at,
                t(due),
                "{id} {deadline}: {}",
                found.explanation
            );
            let citation = &basis
                .clocks
                .iter()
                .find(|c| DeadlineKind::from(c.kind) == *deadline)
                .unwrap()
                .citation;
            assert!(found.explanation.contains(citation), "{id}");
        }
    }

    #[test]
    fn the_custodians_earlier_date_governs_and_the_follow_up_clock_moves_with_it() {
        // us-2703f sent Wednesday 2026-12-02 09:00 UTC: 90 × 24 hours is
        // 2027-03-02 09:00 (29 days left in December, 31 in January, 28 in
        // February, 2 in March). The provider confirmed "until 2027-01-15".
        let retention = BTreeMap::new();
        let mut f = facts(RequestKind::Preservation, Status::Preserved, &retention);
        f.transmitted_at = Some(t("2026-12-02T09:00:00Z"));
        f.preserved_at = Some(t("2026-12-04T09:00:00Z"));
        f.preserved_until = Some(t("2027-01-15T00:00:00Z"));
        let ny = cal(chrono_tz::America::New_York);
        let list = run("us-2703f", &f, &ny, "2026-12-05T00:00:00Z");
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.due_at, t("2027-01-15T00:00:00Z"));
        assert!(
            expiry
                .explanation
                .starts_with("The custodian's date governs: the responder confirmed preservation until 2027-01-15T00:00:00Z"),
            "{}",
            expiry.explanation
        );
        assert!(
            expiry
                .explanation
                .contains("instrument's reading 2027-03-02T09:00:00Z (not used)")
        );
        // 14 days before the custodian's date, not before the instrument's.
        assert_eq!(
            find(&list, DeadlineKind::FollowUpDue).due_at,
            t("2027-01-01T00:00:00Z")
        );
        // A later stated date does not move the expiry, and is named.
        f.preserved_until = Some(t("2027-06-01T00:00:00Z"));
        let list = run("us-2703f", &f, &ny, "2026-12-05T00:00:00Z");
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.due_at, t("2027-03-02T09:00:00Z"));
        assert!(expiry.explanation.contains(
            "The instrument's reading governs: the responder's stated date 2027-06-01T00:00:00Z is later and is not used"
        ));
        assert_eq!(
            find(&list, DeadlineKind::FollowUpDue).due_at,
            t("2027-02-16T09:00:00Z")
        );
    }

    #[test]
    fn a_preservation_runs_from_receipt_not_from_confirmation() {
        let retention = BTreeMap::new();
        let berlin = Calendar {
            jurisdiction: "DE",
            ..cal(chrono_tz::Europe::Berlin)
        };
        // EPOC-PR received Monday 2027-01-11, preserved Friday 15th. Day 1 is
        // Tuesday 12 Jan; 20 days to 31 Jan, 28 in February, day 60 is Friday
        // 12 March; its end is midnight CET, 23:00 UTC.
        let mut f = facts(RequestKind::Preservation, Status::Preserved, &retention);
        f.transmitted_at = Some(t("2027-01-11T09:00:00Z"));
        f.preserved_at = Some(t("2027-01-15T09:00:00Z"));
        let list = run("eu-epoc-pr", &f, &berlin, "2027-01-16T00:00:00Z");
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.due_at, t("2027-03-12T23:00:00Z"));
        assert_eq!(expiry.started_at, Some(t("2027-01-11T09:00:00Z")));
        for part in [
            "transmission 2027-01-11T09:00:00Z (Monday 2027-01-11 10:00 CET, Europe/Berlin)",
            "day 1 is Tuesday 2027-01-12",
            "day 60 is Friday 2027-03-12",
        ] {
            assert!(
                expiry.explanation.contains(part),
                "{part}: {}",
                expiry.explanation
            );
        }
    }

    #[test]
    fn an_epoc_pr_extension_chains_from_the_unrolled_end_and_never_rolls() {
        let retention = BTreeMap::new();
        let berlin = cal(chrono_tz::Europe::Berlin);
        // Received Tuesday 2027-01-05: day 60 is Saturday 6 March (26 days in
        // January, 28 in February, 6 in March). A preservation does not roll:
        // it ends at the end of that Saturday, 23:00 UTC; the roll to Monday
        // 8 March is named as the later reading.
        let mut f = facts(RequestKind::Preservation, Status::Preserved, &retention);
        f.transmitted_at = Some(t("2027-01-05T09:00:00Z"));
        let list = run("eu-epoc-pr", &f, &berlin, "2027-01-06T00:00:00Z");
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.due_at, t("2027-03-06T23:00:00Z"));
        assert!(
            expiry
                .explanation
                .contains("day 60 is Saturday 2027-03-06, a Saturday")
        );
        assert!(expiry.explanation.contains(
            "would carry the end to the end of Monday 2027-03-08, 2027-03-08T23:00:00Z: the later reading, not used for a preservation"
        ), "{}", expiry.explanation);
        // With the 30-day extension: 90 days from receipt, day 90 is Monday
        // 5 April (31 more days in March), ending at midnight CEST, 22:00 UTC —
        // not 30 days from a Monday 8 March the roll would have made (7 April).
        f.extensions_granted = 1;
        let list = run("eu-epoc-pr", &f, &berlin, "2027-01-06T00:00:00Z");
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.due_at, t("2027-04-05T22:00:00Z"));
        assert!(expiry.explanation.contains("one period of 90 days"));
        // Across a public holiday: received Thursday 2027-01-28 in NL, day 60
        // is Easter Monday 29 March (3 days in January, 28 in February, 29 in
        // March); it ends that day, midnight CEST; Tuesday is the later reading.
        let holidays = BTreeMap::from([(d("2027-03-29"), "Easter Monday".to_owned())]);
        let amsterdam = Calendar {
            jurisdiction: "NL",
            timezone: chrono_tz::Europe::Amsterdam,
            holidays: &holidays,
        };
        f.extensions_granted = 0;
        f.transmitted_at = Some(t("2027-01-28T09:00:00Z"));
        let list = run("eu-epoc-pr", &f, &amsterdam, "2027-01-29T00:00:00Z");
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.due_at, t("2027-03-29T22:00:00Z"));
        assert!(
            expiry
                .explanation
                .contains("a public holiday in NL (Easter Monday)")
        );
        assert!(expiry.explanation.contains("Tuesday 2027-03-30"));
    }

    fn follow_up(
        reference: &str,
        basis: &str,
        to: &str,
        responder: &str,
        sent: Option<&str>,
    ) -> FollowUp {
        FollowUp {
            id: format!("id-{reference}"),
            reference: reference.into(),
            kind: if basis == "us-2702-emergency" {
                RequestKind::EmergencyDisclosure
            } else {
                RequestKind::Production
            },
            legal_basis: basis.into(),
            responder_id: responder.into(),
            executing_jurisdiction: to.into(),
            transmitted_at: sent.map(t),
        }
    }

    /// Long on purpose: each follow-up that does not stop the preservation is
    /// a case of its own, side by side with the one that does.
    #[test]
    fn only_a_mutual_assistance_request_to_the_same_party_stops_a_budapest_preservation() {
        // Budapest Art. 29 to the Dutch authority, sent 2026-12-01 09:00 UTC:
        // 60 × 24 hours → 2027-01-30 09:00 UTC.
        let retention = BTreeMap::new();
        let utc = cal(chrono_tz::UTC);
        let wrong = [
            follow_up(
                "R-US",
                "us-2702-emergency",
                "IE",
                "irish-provider",
                Some("2026-12-10T09:00:00Z"),
            ),
            follow_up(
                "R-DE",
                "budapest-31",
                "DE",
                "de-authority",
                Some("2026-12-10T09:00:00Z"),
            ),
            follow_up(
                "R-LATE",
                "budapest-31",
                "NL",
                "responder",
                Some("2027-02-01T09:00:00Z"),
            ),
            follow_up("R-DRAFT", "budapest-31", "NL", "responder", None),
        ];
        let mut f = facts(RequestKind::Preservation, Status::Preserved, &retention);
        f.transmitted_at = Some(t("2026-12-01T09:00:00Z"));
        f.follow_ups = &wrong;
        let list = run("budapest-29", &f, &utc, "2026-12-20T00:00:00Z");
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.due_at, t("2027-01-30T09:00:00Z"));
        assert_eq!(
            expiry.status,
            DeadlineStatus::Open,
            "{}",
            expiry.explanation
        );
        // Filing the wrong follow-ups does not meet the follow-up clock either.
        assert_eq!(
            find(&list, DeadlineKind::FollowUpDue).status,
            DeadlineStatus::Open
        );
        for part in [
            "R-US (us-2702-emergency) does not stop it: its kind is emergency_disclosure, not production",
            "R-DE (budapest-31) does not stop it: it goes to DE, not to the requested Party NL",
            "R-LATE (budapest-31) was received by the requested Party at 2027-02-01T09:00:00Z, after the expiry",
            "R-DRAFT (budapest-31) does not stop it: it has not been transmitted",
        ] {
            assert!(
                expiry.explanation.contains(part),
                "{part}: {}",
                expiry.explanation
            );
        }
        // Past the expiry with only those: missed.
        let list = run("budapest-29", &f, &utc, "2027-01-31T00:00:00Z");
        assert_eq!(
            find(&list, DeadlineKind::PreservationExpires).status,
            DeadlineStatus::Missed
        );
        // The right one: an MLA request received by the Netherlands in time.
        let mut all = wrong.to_vec();
        all.push(follow_up(
            "R-NL",
            "budapest-31",
            "NL",
            "responder",
            Some("2027-01-10T09:00:00Z"),
        ));
        f.follow_ups = &all;
        let list = run("budapest-29", &f, &utc, "2027-06-01T00:00:00Z");
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.status, DeadlineStatus::Cancelled);
        assert!(expiry.explanation.contains(
            "Stopped: the follow-up R-NL (budapest-31 to NL) was received by the requested Party at 2027-01-10T09:00:00Z"
        ), "{}", expiry.explanation);
        assert!(
            expiry
                .explanation
                .contains("pending a decision on it (ETS 185 Art. 29(7))")
        );
        // Filed after the 14-day margin (due 2027-01-16 09:00): late but stopping.
        assert_eq!(
            find(&list, DeadlineKind::FollowUpDue).status,
            DeadlineStatus::Met
        );
    }

    #[test]
    fn only_the_annex_v_confirmation_to_the_same_addressee_stops_an_epoc_pr() {
        // EPOC-PR received Friday 2027-01-08 in Dublin: ends with Tuesday 9 March.
        let retention = BTreeMap::new();
        let dublin = cal(chrono_tz::Europe::Dublin);
        let same = follow_up(
            "R-SAME",
            "eu-epoc",
            "NL",
            "responder",
            Some("2027-02-01T09:00:00Z"),
        );
        let other = follow_up(
            "R-OTHER",
            "eu-epoc",
            "NL",
            "other-provider",
            Some("2027-02-01T09:00:00Z"),
        );
        let list_of = [same.clone(), other.clone()];
        let mut f = facts(RequestKind::Preservation, Status::Preserved, &retention);
        f.transmitted_at = Some(t("2027-01-08T15:20:00Z"));
        f.follow_ups = &list_of;
        // The production is sent, but its issue is not confirmed: still running.
        let list = run("eu-epoc-pr", &f, &dublin, "2027-02-02T00:00:00Z");
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.status, DeadlineStatus::Open);
        assert!(
            expiry
                .explanation
                .contains("R-SAME (eu-epoc) stops it only once its issue is confirmed")
        );
        assert!(expiry.explanation.contains(
            "R-OTHER (eu-epoc) does not stop it: it is addressed to another organisation"
        ));
        // A confirmation naming the production at another provider stops nothing.
        let wrong = ProductionConfirmation {
            at: t("2027-02-02T09:00:00Z"),
            follow_up_id: other.id.clone(),
        };
        f.production_confirmed = Some(&wrong);
        let list = run("eu-epoc-pr", &f, &dublin, "2027-02-03T00:00:00Z");
        assert_eq!(
            find(&list, DeadlineKind::PreservationExpires).status,
            DeadlineStatus::Open
        );
        // Confirmed after the expiry: too late.
        let late = ProductionConfirmation {
            at: t("2027-03-10T09:00:00Z"),
            follow_up_id: same.id.clone(),
        };
        f.production_confirmed = Some(&late);
        let list = run("eu-epoc-pr", &f, &dublin, "2027-03-11T00:00:00Z");
        assert_eq!(
            find(&list, DeadlineKind::PreservationExpires).status,
            DeadlineStatus::Missed
        );
        // Confirmed in time for the production to the same addressee: stopped.
        let right = ProductionConfirmation {
            at: t("2027-02-02T09:00:00Z"),
            follow_up_id: same.id.clone(),
        };
        f.production_confirmed = Some(&right);
        let list = run("eu-epoc-pr", &f, &dublin, "2027-04-01T00:00:00Z");
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.status, DeadlineStatus::Cancelled);
        assert!(expiry.explanation.contains(
            "Stopped: the follow-up R-SAME (eu-epoc to NL) was confirmed to the addressee as issued (Annex V) at 2027-02-02T09:00:00Z"
        ), "{}", expiry.explanation);
        assert!(expiry.explanation.contains("until production"));
    }

    #[test]
    fn a_provider_policy_preservation_is_stopped_by_nothing() {
        let retention = BTreeMap::new();
        let utc = cal(chrono_tz::UTC);
        let sent = [follow_up(
            "R-P",
            "budapest-31",
            "NL",
            "x",
            Some("2026-12-20T09:00:00Z"),
        )];
        let mut f = facts(RequestKind::Preservation, Status::Preserved, &retention);
        f.transmitted_at = Some(t("2026-12-01T09:00:00Z"));
        f.follow_ups = &sent;
        let list = run("provider-voluntary", &f, &utc, "2027-06-01T00:00:00Z");
        assert_eq!(
            find(&list, DeadlineKind::PreservationExpires).status,
            DeadlineStatus::Missed
        );
        // Filing the production in time still meets the follow-up clock.
        assert_eq!(
            find(&list, DeadlineKind::FollowUpDue).status,
            DeadlineStatus::Met
        );
    }

    #[test]
    fn a_cybertipline_preservation_counts_its_year_from_the_submission() {
        // Reported 2026-06-15 12:00 UTC; the request is sent in December: 365
        // × 24 hours from the report is 2027-06-15 12:00 UTC.
        let retention = BTreeMap::new();
        let mut f = facts(RequestKind::Preservation, Status::Preserved, &retention);
        f.cybertipline_submitted_at = Some(t("2026-06-15T12:00:00Z"));
        f.transmitted_at = Some(t("2026-12-01T09:00:00Z"));
        f.preserved_at = Some(t("2026-12-02T09:00:00Z"));
        let list = run(
            "ncmec-2258a",
            &f,
            &cal(chrono_tz::America::New_York),
            "2026-12-03T00:00:00Z",
        );
        let expiry = find(&list, DeadlineKind::PreservationExpires);
        assert_eq!(expiry.due_at, t("2027-06-15T12:00:00Z"));
        assert!(
            expiry
                .explanation
                .contains("submission of the CyberTipline report 2026-06-15T12:00:00Z")
        );
    }

    #[test]
    fn the_responder_is_due_by_its_soonest_clock_still_owed_overdue_ones_first() {
        let retention = BTreeMap::new();
        let berlin = Calendar {
            jurisdiction: "DE",
            ..cal(chrono_tz::Europe::Berlin)
        };
        let mut f = facts(RequestKind::Production, Status::Transmitted, &retention);
        f.transmitted_at = Some(t("2027-01-08T15:20:00Z"));
        // Long after the acknowledgement was due, with nothing done: it is
        // missed and still owed, so it is what the responder is due by.
        let list = run("eio", &f, &berlin, "2027-03-01T00:00:00Z");
        let ack = find(&list, DeadlineKind::AcknowledgementDue);
        assert_eq!(ack.status, DeadlineStatus::Missed);
        assert!(ack.awaited);
        assert_eq!(responder_due(&list), Some(ack.due_at));
        // Acknowledged late: missed still, but owed no more; the decision is.
        f.status = Status::Acknowledged;
        f.acknowledged_at = Some(t("2027-02-20T10:00:00Z"));
        let list = run("eio", &f, &berlin, "2027-03-01T00:00:00Z");
        let ack = find(&list, DeadlineKind::AcknowledgementDue);
        assert_eq!(ack.status, DeadlineStatus::Missed);
        assert!(!ack.awaited);
        let decision = find(&list, DeadlineKind::DecisionDue);
        assert_eq!(responder_due(&list), Some(decision.due_at));
        // Answered: nothing is owed.
        f.status = Status::Fulfilled;
        f.decided_at = Some(t("2027-02-21T10:00:00Z"));
        f.answered_at = Some(t("2027-02-22T10:00:00Z"));
        let list = run("eio", &f, &berlin, "2027-03-01T00:00:00Z");
        assert_eq!(responder_due(&list), None);
    }

    #[test]
    fn the_issuing_side_is_due_by_its_soonest_clock_of_any_kind() {
        let clock = |kind, due: &str, status| {
            Deadline::new(
                kind,
                None,
                t(due),
                status,
                String::new(),
                chrono_tz::UTC,
                "",
                Verification::Verified,
            )
        };
        let mut list = vec![
            clock(
                DeadlineKind::PreservationExpires,
                "2027-03-01T00:00:00Z",
                DeadlineStatus::Open,
            ),
            clock(
                DeadlineKind::FollowUpDue,
                "2027-02-15T00:00:00Z",
                DeadlineStatus::Open,
            ),
            clock(
                DeadlineKind::AcknowledgementDue,
                "2027-01-10T00:00:00Z",
                DeadlineStatus::Met,
            ),
        ];
        // The follow-up is the issuing side's own clock: not the responder's.
        assert_eq!(issuer_due(&list), Some(t("2027-02-15T00:00:00Z")));
        assert_eq!(responder_due(&list), Some(t("2027-03-01T00:00:00Z")));
        list.iter_mut().for_each(|d| d.awaited = false);
        assert_eq!(issuer_due(&list), None);
    }

    #[test]
    fn an_eio_decision_is_its_own_event_and_a_notice_of_delay_extends_it() {
        // Received Friday 2027-01-08 in Berlin: day 30 is Sunday 7 February, so
        // the period ends with Monday 8 February (midnight CET, 23:00 UTC).
        let retention = BTreeMap::new();
        let berlin = Calendar {
            jurisdiction: "DE",
            ..cal(chrono_tz::Europe::Berlin)
        };
        let mut f = facts(RequestKind::Production, Status::Acknowledged, &retention);
        f.transmitted_at = Some(t("2027-01-08T15:20:00Z"));
        f.acknowledged_at = Some(t("2027-01-09T10:00:00Z"));
        let list = run("eio", &f, &berlin, "2027-01-10T00:00:00Z");
        let decision = find(&list, DeadlineKind::DecisionDue);
        assert_eq!(decision.due_at, t("2027-02-08T23:00:00Z"));
        // The acknowledgement is not the decision.
        assert_eq!(decision.status, DeadlineStatus::Open);
        assert_eq!(
            find(&list, DeadlineKind::AcknowledgementDue).status,
            DeadlineStatus::Met
        );
        assert!(list.iter().all(|d| d.kind != DeadlineKind::ResponseDue));
        // A notice of delay: 60 days, day 60 is Tuesday 9 March.
        f.delay_notified_at = Some(t("2027-02-01T09:00:00Z"));
        let list = run("eio", &f, &berlin, "2027-02-10T00:00:00Z");
        let decision = find(&list, DeadlineKind::DecisionDue);
        assert_eq!(decision.due_at, t("2027-03-09T23:00:00Z"));
        assert_eq!(decision.status, DeadlineStatus::Open);
        assert!(
            decision
                .explanation
                .contains("30 days more after the notice of delay given at 2027-02-01T09:00:00Z")
        );
        // Decided Wednesday 2027-01-20: met, and the 90 days to carry it out run
        // from the decision: day 90 is Tuesday 20 April (11 + 28 + 31 + 20),
        // midnight CEST, 22:00 UTC.
        f.decided_at = Some(t("2027-01-20T10:00:00Z"));
        let list = run("eio", &f, &berlin, "2027-01-21T00:00:00Z");
        assert_eq!(
            find(&list, DeadlineKind::DecisionDue).status,
            DeadlineStatus::Met
        );
        assert_eq!(
            find(&list, DeadlineKind::ResponseDue).due_at,
            t("2027-04-20T22:00:00Z")
        );
    }

    #[test]
    fn an_eight_hour_clock_across_a_daylight_saving_change() {
        // An emergency EPOC sent Sunday 2027-03-28 00:30 UTC (01:30 CET), half
        // an hour before Berlin moves to summer time: 8 hours later is 08:30
        // UTC, 10:30 CEST. The enforcing State's 96 hours start at 01:00 UTC.
        let retention = BTreeMap::new();
        let berlin = cal(chrono_tz::Europe::Berlin);
        let mut f = facts(RequestKind::Production, Status::Transmitted, &retention);
        f.emergency = true;
        f.data_categories = &[DataCategory::Traffic];
        f.approved_at = Some(t("2027-03-28T00:10:00Z"));
        f.transmitted_at = Some(t("2027-03-28T00:30:00Z"));
        let list = run("eu-epoc", &f, &berlin, "2027-03-28T01:00:00Z");
        let response = find(&list, DeadlineKind::ResponseDue);
        assert_eq!(response.due_at, t("2027-03-28T08:30:00Z"));
        assert_eq!(response.due_local, "2027-03-28 10:30 CEST");
        assert!(
            response
                .explanation
                .contains("(Sunday 2027-03-28 01:30 CET, Europe/Berlin)")
        );
        let review = find(&list, DeadlineKind::EnforcingReview);
        assert_eq!(review.due_at, t("2027-04-01T01:00:00Z"));
        assert!(
            review
                .explanation
                .contains("from the beginning of the hour after")
        );
        // The addressee owes the 8 hours; the enforcing State's review asks
        // nothing of it, so once it has answered it owes nothing.
        assert_eq!(responder_due(&list), Some(response.due_at));
        f.status = Status::Fulfilled;
        f.answered_at = Some(t("2027-03-28T06:00:00Z"));
        let list = run("eu-epoc", &f, &berlin, "2027-03-28T07:00:00Z");
        assert_eq!(
            find(&list, DeadlineKind::EnforcingReview).status,
            DeadlineStatus::Open
        );
        assert_eq!(responder_due(&list), None);
    }

    #[test]
    fn ex_post_validation_runs_only_where_an_unvalidated_emergency_is_allowed() {
        let catalogue = Catalogue::embedded();
        let epoc = catalogue.get("eu-epoc").unwrap();
        assert!(epoc.allows_unvalidated_emergency(&[
            DataCategory::Subscriber,
            DataCategory::Identification
        ]));
        assert!(
            !epoc.allows_unvalidated_emergency(&[DataCategory::Subscriber, DataCategory::Traffic])
        );
        assert!(!epoc.allows_unvalidated_emergency(&[DataCategory::Content]));
        let retention = BTreeMap::new();
        let mut f = facts(RequestKind::Production, Status::Transmitted, &retention);
        f.emergency = true;
        f.submitted_at = Some(t("2027-01-08T15:20:00Z"));
        f.transmitted_at = Some(t("2027-01-08T15:20:00Z"));
        f.data_categories = &[DataCategory::Content];
        let list = run("eu-epoc", &f, &cal(chrono_tz::UTC), "2027-01-08T16:00:00Z");
        assert!(
            list.iter()
                .all(|d| d.kind != DeadlineKind::ExPostValidation)
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
        let list = run("provider-voluntary", &f, &utc, "2026-11-28T00:00:00Z");
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
        f.transmitted_at = Some(t("2026-11-30T00:00:00Z"));
        f.status = Status::Preserved;
        let list = run("provider-voluntary", &f, &utc, "2026-12-20T00:00:00Z");
        assert_eq!(
            find(&list, DeadlineKind::RetentionRisk).status,
            DeadlineStatus::Met
        );
    }

    #[test]
    fn an_emergency_transmitted_before_approval_runs_ex_post_validation_not_approval() {
        let retention = BTreeMap::new();
        let utc = cal(chrono_tz::UTC);
        let mut f = facts(RequestKind::Production, Status::Transmitted, &retention);
        f.emergency = true;
        f.submitted_at = Some(t("2027-01-08T15:20:00Z"));
        f.transmitted_at = Some(t("2027-01-08T15:20:00Z"));
        let list = run("eu-epoc", &f, &utc, "2027-01-08T16:00:00Z");
        assert!(list.iter().all(|d| d.kind != DeadlineKind::ApprovalDue));
        assert_eq!(
            find(&list, DeadlineKind::ExPostValidation).status,
            DeadlineStatus::Open
        );
        f.approved_at = Some(t("2027-01-09T10:00:00Z"));
        let list = run("eu-epoc", &f, &utc, "2027-01-09T11:00:00Z");
        assert_eq!(
            find(&list, DeadlineKind::ExPostValidation).status,
            DeadlineStatus::Met
        );
    }
}
