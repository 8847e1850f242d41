//! What a workflow step writes, once `workflow::decide` has allowed it: the
//! request's dates and flags, the entries of its response (what the responder
//! said) and of its internal notes (the issuing side's), and the details of
//! the audit event. Pure: the service looks up what a step needs from other
//! rows first (`Found`) and persists the `Outcome`.

use chrono::TimeDelta;
use serde_json::{Map, Value, json};

use super::requests::RefusalGround;
use super::validation::FieldError;
use super::workflow::{Action, Status};
use crate::time::UtcTime;

/// What a step carries besides the version: its parsed body.
#[derive(Debug, Clone)]
pub enum Input {
    Note(Option<String>),
    Fulfil {
        note: Option<String>,
        no_data: bool,
    },
    Return {
        comment: String,
    },
    Reject {
        reason: String,
    },
    Acknowledge {
        provider_reference: Option<String>,
    },
    Preserve {
        preserved_until: Option<UtcTime>,
    },
    AskClarification {
        question: String,
    },
    AnswerClarification {
        answer: String,
    },
    Refuse {
        ground: RefusalGround,
        explanation: String,
    },
    ReportMoved {
        to_provider_id: Option<String>,
        to_jurisdiction: Option<String>,
        note: String,
    },
    /// Notice that the decision on recognition will be late, with the reasons
    /// and, if known, when it is expected (EIO Art. 12(5)).
    NotifyDelay {
        reason: String,
        expected_by: Option<UtcTime>,
    },
    /// The Annex V confirmation: the production request that follows an
    /// EPOC-PR was issued.
    ConfirmProduction {
        follow_up_id: String,
    },
}

/// The request's dates and flags a step may set (a new draft's: the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub submitted_at: Option<UtcTime>,
    pub approved_at: Option<UtcTime>,
    pub approved_by: Option<String>,
    pub transmitted_at: Option<UtcTime>,
    pub answered_at: Option<UtcTime>,
    pub preserved_until: Option<UtcTime>,
    pub extension_requested: bool,
    pub extensions_granted: i32,
}

/// What the service found in other rows, for the steps that need it.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Evidence items delivered so far (`fulfil`).
    pub evidence_items: i64,
    /// The transmitted production request a confirmation names: id and reference.
    pub follow_up: Option<(String, String)>,
}

/// One step, allowed, about to be taken.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    pub action: Action,
    pub input: Input,
    pub from: Status,
    pub to: Status,
    pub now: UtcTime,
    /// The user taking it.
    pub by: &'a str,
    /// How far one confirmed extension moves a preservation.
    pub extension: Option<TimeDelta>,
    pub found: Found,
}

/// An entry in the request's response or internal notes.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Set(&'static str, Value),
    /// Appended to the list under the key.
    Append(&'static str, Value),
}

/// What a step writes, for the service to persist with the new status.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub record: Record,
    pub response: Vec<Entry>,
    pub notes: Vec<Entry>,
    /// The audit event's details (`from`, `to` and what the step said).
    pub details: Map<String, Value>,
}

/// Why a step allowed by the state machine still cannot be taken.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// A field of the body is wrong for this request now.
    Field(FieldError),
    /// The body parsed is not the action's: a bug in the caller.
    Mismatch(Action),
}

fn field(name: &str, message: &str) -> Refused {
    Refused::Field(FieldError {
        field: name.into(),
        message: message.into(),
    })
}

/// The outcome of `step` on a request whose dates and flags are `record`.
///
/// Long on purpose: one arm per action, so that what every step writes can be
/// read side by side and against docs/workflow.md.
pub fn take(step: Step<'_>, mut record: Record) -> Result<Outcome, Refused> {
    let Step {
        action,
        input,
        from,
        to,
        now,
        by,
        extension,
        found,
    } = step;
    let (mut response, mut notes) = (Vec::new(), Vec::new());
    let mut details = Map::new();
    details.insert("from".into(), json!(from.as_str()));
    details.insert("to".into(), json!(to.as_str()));
    let mut say = |key: &str, value: Value| {
        details.insert(key.into(), value);
    };
    match (action, input) {
        (Action::Submit, Input::Note(note)) => {
            record.submitted_at = Some(now);
            say("note", json!(note));
        }
        (Action::Approve, Input::Note(note)) => {
            record.approved_at = Some(now);
            record.approved_by = Some(by.to_owned());
            say("ex_post", json!(from != Status::PendingApproval));
            say("note", json!(note));
        }
        (Action::Return, Input::Return { comment }) => {
            let entry = json!({ "at": now, "by": by, "comment": comment });
            notes.push(Entry::Append("returns", entry));
            say("comment", json!(comment));
        }
        (Action::Reject, Input::Reject { reason }) => {
            let entry = json!({ "at": now, "by": by, "reason": reason });
            notes.push(Entry::Set("rejection", entry));
            say("reason", json!(reason));
        }
        (Action::Transmit, Input::Note(note)) => {
            record.transmitted_at = Some(now);
            if from == Status::Draft {
                record.submitted_at.get_or_insert(now);
                say("emergency_before_approval", json!(true));
            }
            say("note", json!(note));
        }
        (Action::Withdraw, Input::Note(note)) => {
            response.push(Entry::Set("withdrawn", json!({ "at": now, "note": note })));
            say("note", json!(note));
        }
        (Action::Acknowledge, Input::Acknowledge { provider_reference }) => {
            let entry = json!({ "at": now, "provider_reference": provider_reference });
            response.push(Entry::Set("acknowledged", entry));
            say("provider_reference", json!(provider_reference));
        }
        (Action::Preserve, Input::Preserve { preserved_until }) => {
            if preserved_until.is_some_and(|until| until <= now) {
                return Err(field("preserved_until", "must be in the future"));
            }
            record.preserved_until = preserved_until;
            record.answered_at = Some(now);
            let entry = json!({ "at": now, "until": preserved_until });
            response.push(Entry::Set("preserved", entry));
            say("preserved_until", json!(preserved_until));
        }
        (Action::RequestExtension, Input::Note(note)) => {
            record.extension_requested = true;
            let entry = json!({ "requested_at": now, "note": note });
            response.push(Entry::Append("extensions", entry));
            say("note", json!(note));
        }
        (Action::ConfirmExtension, Input::Note(note)) => {
            record.extension_requested = false;
            record.extensions_granted += 1;
            if let (Some(until), Some(period)) = (record.preserved_until, extension) {
                record.preserved_until = Some(until + period);
            }
            let entry = json!({ "confirmed_at": now, "preserved_until": record.preserved_until, "note": note });
            response.push(Entry::Append("extensions", entry));
            say("preserved_until", json!(record.preserved_until));
        }
        (Action::AskClarification, Input::AskClarification { question }) => {
            let entry = json!({ "asked_at": now, "question": question });
            response.push(Entry::Append("clarifications", entry));
            say("question", json!(question));
        }
        (Action::AnswerClarification, Input::AnswerClarification { answer }) => {
            let entry = json!({ "answered_at": now, "answer": answer });
            response.push(Entry::Append("clarifications", entry));
            say("answer", json!(answer));
        }
        (Action::Fulfil, Input::Fulfil { note, no_data }) => {
            let items = found.evidence_items;
            if items == 0 && !no_data {
                return Err(field(
                    "no_data",
                    "upload the evidence first, or state that there is no data (`no_data: true`)",
                ));
            }
            record.answered_at = Some(now);
            let entry =
                json!({ "at": now, "note": note, "no_data": no_data, "evidence_items": items });
            response.push(Entry::Set("fulfilled", entry));
            say("note", json!(note));
            say("no_data", json!(no_data));
            say("evidence_items", json!(items));
        }
        (
            Action::Refuse,
            Input::Refuse {
                ground,
                explanation,
            },
        ) => {
            record.answered_at = Some(now);
            let entry = json!({ "at": now, "ground": ground, "explanation": explanation });
            response.push(Entry::Set("refusal", entry));
            say("ground", json!(ground));
            say("explanation", json!(explanation));
        }
        (
            Action::ReportMoved,
            Input::ReportMoved {
                to_provider_id,
                to_jurisdiction,
                note,
            },
        ) => {
            if to == Status::Moved {
                record.answered_at = Some(now);
            }
            let report = json!({
                "at": now, "to_provider_id": to_provider_id,
                "to_jurisdiction": to_jurisdiction, "note": note,
            });
            response.push(Entry::Append("moved", report.clone()));
            say("report", report);
        }
        (Action::Release, Input::Note(note)) => {
            response.push(Entry::Set("released", json!({ "at": now, "note": note })));
            say("note", json!(note));
        }
        (Action::Decide, Input::Note(note)) => {
            response.push(Entry::Set("decided", json!({ "at": now, "note": note })));
            say("note", json!(note));
        }
        (
            Action::NotifyDelay,
            Input::NotifyDelay {
                reason,
                expected_by,
            },
        ) => {
            if expected_by.is_some_and(|at| at <= now) {
                return Err(field("expected_by", "must be in the future"));
            }
            let notice = json!({ "at": now, "reason": reason, "expected_by": expected_by });
            response.push(Entry::Set("delay_notice", notice.clone()));
            say("notice", notice);
        }
        (Action::ConfirmProduction, Input::ConfirmProduction { .. }) => {
            let Some((id, reference)) = found.follow_up else {
                return Err(Refused::Mismatch(action));
            };
            let confirmation = json!({
                "at": now, "follow_up_id": id, "follow_up_reference": reference,
            });
            response.push(Entry::Set("production_confirmed", confirmation.clone()));
            say("confirmation", confirmation);
        }
        (action, _) => return Err(Refused::Mismatch(action)),
    }
    Ok(Outcome {
        record,
        response,
        notes,
        details,
    })
}

/// Writes `entries` into a request's response or notes object.
pub fn write_entries(map: &mut Map<String, Value>, entries: Vec<Entry>) {
    for entry in entries {
        match entry {
            Entry::Set(key, value) => {
                map.insert(key.to_owned(), value);
            }
            Entry::Append(key, value) => match map.get_mut(key) {
                Some(Value::Array(list)) => list.push(value),
                _ => {
                    map.insert(key.to_owned(), Value::Array(vec![value]));
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record::default()
    }

    fn at(text: &str) -> UtcTime {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .to_utc()
            .into()
    }

    fn step(action: Action, input: Input, from: Status, to: Status) -> Step<'static> {
        Step {
            action,
            input,
            from,
            to,
            now: at("2027-01-04T10:00:00Z"),
            by: "ca-user",
            extension: Some(TimeDelta::days(90)),
            found: Found::default(),
        }
    }

    #[test]
    fn an_emergency_transmitted_from_draft_counts_as_submitted_and_says_so() {
        let done = take(
            step(
                Action::Transmit,
                Input::Note(None),
                Status::Draft,
                Status::Transmitted,
            ),
            record(),
        )
        .unwrap();
        let now = at("2027-01-04T10:00:00Z");
        assert_eq!(done.record.transmitted_at, Some(now));
        assert_eq!(done.record.submitted_at, Some(now));
        assert_eq!(done.details["emergency_before_approval"], json!(true));
        assert_eq!(done.details["from"], json!("draft"));
    }

    #[test]
    fn a_confirmed_extension_moves_the_custodians_date_by_one_period() {
        let mut before = record();
        before.preserved_until = Some(at("2027-02-01T00:00:00Z"));
        before.extension_requested = true;
        let done = take(
            step(
                Action::ConfirmExtension,
                Input::Note(None),
                Status::Preserved,
                Status::Preserved,
            ),
            before,
        )
        .unwrap();
        assert_eq!(
            done.record.preserved_until,
            Some(at("2027-05-02T00:00:00Z"))
        );
        assert!(!done.record.extension_requested);
        assert_eq!(done.record.extensions_granted, 1);
        let mut response = Map::new();
        write_entries(&mut response, done.response.clone());
        write_entries(&mut response, done.response);
        assert_eq!(response["extensions"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn steps_refuse_dates_in_the_past_and_a_fulfilment_without_evidence_or_statement() {
        let past = Some(at("2027-01-01T00:00:00Z"));
        let preserve = Input::Preserve {
            preserved_until: past,
        };
        let refused = take(
            step(
                Action::Preserve,
                preserve,
                Status::Acknowledged,
                Status::Preserved,
            ),
            record(),
        );
        assert!(matches!(refused, Err(Refused::Field(f)) if f.field == "preserved_until"));
        let fulfil = Input::Fulfil {
            note: None,
            no_data: false,
        };
        let refused = take(
            step(
                Action::Fulfil,
                fulfil,
                Status::Acknowledged,
                Status::Fulfilled,
            ),
            record(),
        );
        assert!(matches!(refused, Err(Refused::Field(f)) if f.field == "no_data"));
        let mismatch = take(
            step(
                Action::Refuse,
                Input::Note(None),
                Status::Acknowledged,
                Status::Refused,
            ),
            record(),
        );
        assert_eq!(mismatch, Err(Refused::Mismatch(Action::Refuse)));
    }

    #[test]
    fn the_issuing_sides_remarks_go_to_the_notes_and_the_responders_words_to_the_response() {
        let returned = take(
            step(
                Action::Return,
                Input::Return {
                    comment: "add the IP's port".into(),
                },
                Status::PendingApproval,
                Status::Draft,
            ),
            record(),
        )
        .unwrap();
        assert!(returned.response.is_empty());
        assert!(matches!(&returned.notes[..], [Entry::Append("returns", _)]));
        let acknowledged = take(
            step(
                Action::Acknowledge,
                Input::Acknowledge {
                    provider_reference: Some("LE-42".into()),
                },
                Status::Transmitted,
                Status::Acknowledged,
            ),
            record(),
        )
        .unwrap();
        assert!(acknowledged.notes.is_empty());
        assert!(matches!(
            &acknowledged.response[..],
            [Entry::Set("acknowledged", _)]
        ));
    }
}
