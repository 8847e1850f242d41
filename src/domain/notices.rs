//! How a notification names what is urgent: an emergency says so before
//! anything else in its subject, and each clock the recipient owes is given
//! as an instant in UTC and in the recipient's own time, so that nobody
//! converts time zones under pressure (and nothing goes stale in the outbox,
//! as a count of hours left would).

use chrono_tz::Tz;

use super::deadlines::{DeadlineKind, DeadlineStatus};
use crate::time::UtcTime;

/// Who a step's notification goes to, as far as clocks are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The issuing jurisdiction's central authority: approvals and ex-post
    /// validations.
    Approvers,
    /// The issuing agency's officers: every clock of the request.
    Officers,
    /// The responder: the clocks it answers to.
    Responder,
}

/// Who owes what a clock waits for, and so is reminded of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The responder: acknowledge, decide, answer.
    Responder,
    /// The issuing jurisdiction's central authority: approve, validate.
    IssuingAuthority,
    /// The officer who filed the request: follow it up, keep it moving.
    Officer,
    /// Nobody: the clock asks nothing of anyone (an enforcing State's review).
    Nobody,
}

/// Who is reminded of a clock of `kind`.
pub fn owner(kind: DeadlineKind) -> Owner {
    use DeadlineKind::*;
    match kind {
        AcknowledgementDue | DecisionDue | ResponseDue => Owner::Responder,
        ApprovalDue | ExPostValidation => Owner::IssuingAuthority,
        PreservationExpires | FollowUpDue | RetentionRisk => Owner::Officer,
        EnforcingReview => Owner::Nobody,
    }
}

/// What the owner of a clock of `kind` is asked to do before it runs out.
pub fn owed_step(kind: DeadlineKind) -> &'static str {
    use DeadlineKind::*;
    match kind {
        ApprovalDue => "Approve, return or reject the request.",
        ExPostValidation => {
            "Validate the emergency request transmitted before approval, or reject it."
        }
        AcknowledgementDue => "Acknowledge receipt of the request.",
        DecisionDue => "Decide on the request: recognise it, or refuse it with a ground.",
        ResponseDue => "Answer the request: produce the data, or refuse it with a ground.",
        PreservationExpires => {
            "Transmit the formal request, or request an extension while one is allowed."
        }
        FollowUpDue => "Transmit the formal request before the preservation lapses.",
        RetentionRisk => "Move the request on: the provider deletes this data on its own schedule.",
        EnforcingReview => "No action needed unless grounds for refusal are raised.",
    }
}

/// The subject of a step's notification.
pub fn step_subject(reference: &str, happened: &str, emergency: bool) -> String {
    if emergency {
        format!("EMERGENCY: request {reference} {happened}")
    } else {
        format!("Request {reference} {happened}")
    }
}

/// Whether `side` is shown a clock of `kind` in its notifications.
pub fn concerns(side: Side, kind: DeadlineKind) -> bool {
    use DeadlineKind::*;
    match side {
        Side::Approvers => matches!(kind, ApprovalDue | ExPostValidation),
        Side::Officers => true,
        Side::Responder => matches!(
            kind,
            AcknowledgementDue | DecisionDue | ResponseDue | PreservationExpires
        ),
    }
}

/// An instant as its reader needs it: in UTC, and in `tz`, named.
pub fn both_times(at: UtcTime, tz: Tz) -> String {
    let utc = at.to_datetime();
    let local = utc.with_timezone(&tz);
    format!(
        "{} UTC ({} {}, {})",
        utc.format("%Y-%m-%d %H:%M"),
        local.format("%Y-%m-%d %H:%M"),
        local.format("%Z"),
        tz.name()
    )
}

/// The lines that give `side` the open clocks it is concerned with, soonest
/// first: "Preservation expires: 2026-12-04 17:00 UTC (… CET, Europe/Berlin)".
pub fn clock_lines(
    side: Side,
    clocks: impl IntoIterator<Item = (DeadlineKind, DeadlineStatus, UtcTime)>,
    tz: Tz,
) -> Vec<String> {
    let mut open: Vec<(DeadlineKind, UtcTime)> = clocks
        .into_iter()
        .filter(|(kind, status, _)| *status == DeadlineStatus::Open && concerns(side, *kind))
        .map(|(kind, _, due)| (kind, due))
        .collect();
    open.sort_by_key(|(_, due)| *due);
    open.into_iter()
        .map(|(kind, due)| format!("{}: {}", label(kind), both_times(due, tz)))
        .collect()
}

fn label(kind: DeadlineKind) -> &'static str {
    use DeadlineKind::*;
    match kind {
        ApprovalDue => "Approval due",
        ExPostValidation => "Ex-post validation due",
        AcknowledgementDue => "Acknowledgement due",
        DecisionDue => "Decision due",
        ResponseDue => "Response due",
        EnforcingReview => "Enforcing State's review ends",
        PreservationExpires => "Preservation expires",
        FollowUpDue => "File the follow-up by",
        RetentionRisk => "Data at risk of deletion from",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> UtcTime {
        UtcTime::from(text.parse::<chrono::DateTime<chrono::Utc>>().unwrap())
    }

    #[test]
    fn each_clock_is_owed_by_the_side_that_must_act() {
        use DeadlineKind::*;
        // The responder's answers, not the officer who waits for them.
        assert_eq!(owner(AcknowledgementDue), Owner::Responder);
        assert_eq!(owner(ResponseDue), Owner::Responder);
        // An emergency sent before approval waits for the central authority.
        assert_eq!(owner(ExPostValidation), Owner::IssuingAuthority);
        assert_eq!(owner(ApprovalDue), Owner::IssuingAuthority);
        // Keeping the data from lapsing is the officer's to do.
        assert_eq!(owner(FollowUpDue), Owner::Officer);
        assert_eq!(owner(PreservationExpires), Owner::Officer);
        assert_eq!(owner(EnforcingReview), Owner::Nobody);
        for kind in DeadlineKind::ALL {
            assert!(owed_step(*kind).ends_with('.'), "{kind:?}");
        }
    }

    #[test]
    fn an_emergency_says_so_first() {
        assert_eq!(
            step_subject("R-2026-000001", "received", true),
            "EMERGENCY: request R-2026-000001 received"
        );
        assert_eq!(
            step_subject("R-2026-000001", "received", false),
            "Request R-2026-000001 received"
        );
    }

    #[test]
    fn a_due_instant_is_given_in_utc_and_in_local_time() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            both_times(t("2026-12-04T23:30:00Z"), berlin),
            "2026-12-04 23:30 UTC (2026-12-05 00:30 CET, Europe/Berlin)"
        );
        let new_york: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            both_times(t("2026-07-01T12:00:00Z"), new_york),
            "2026-07-01 12:00 UTC (2026-07-01 08:00 EDT, America/New_York)"
        );
    }

    #[test]
    fn each_side_sees_the_open_clocks_it_owes_soonest_first() {
        use DeadlineKind::*;
        use DeadlineStatus::*;
        let clocks = [
            (PreservationExpires, Open, t("2027-02-01T00:00:00Z")),
            (AcknowledgementDue, Open, t("2026-12-10T00:00:00Z")),
            (ExPostValidation, Open, t("2026-12-05T00:00:00Z")),
            (FollowUpDue, Open, t("2027-01-18T00:00:00Z")),
            (ResponseDue, Met, t("2026-12-04T00:00:00Z")),
        ];
        let utc: Tz = "UTC".parse().unwrap();
        let labels = |side| -> Vec<String> {
            clock_lines(side, clocks, utc)
                .into_iter()
                .map(|l| l.split(':').next().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            labels(Side::Responder),
            ["Acknowledgement due", "Preservation expires"]
        );
        assert_eq!(labels(Side::Approvers), ["Ex-post validation due"]);
        assert_eq!(
            labels(Side::Officers),
            [
                "Ex-post validation due",
                "Acknowledgement due",
                "File the follow-up by",
                "Preservation expires"
            ]
        );
    }
}
