//! The bodies of the workflow steps (`POST /requests/{id}/{action}`), parsed
//! into the use case's input.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::error::serde_error;

use crate::domain::requests::RefusalGround;
use crate::domain::validation::{Errors, text_field};
use crate::domain::workflow::Action;
use crate::error::Error;
use crate::service::requests::Input;
use crate::time::UtcTime;

use super::documents::*;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(max_length = 5000)]
    pub note: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(max_length = 5000)]
    pub note: Option<String>,
    /// The provider holds nothing: fulfilment without evidence.
    #[serde(default)]
    pub no_data: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(min_length = 1, max_length = 5000)]
    pub comment: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(max_length = 100)]
    pub provider_reference: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreserveIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    /// Until when the provider keeps the data, if it says.
    #[schema(value_type = Option<UtcTime>)]
    pub preserved_until: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(min_length = 1, max_length = 5000)]
    pub question: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(min_length = 1, max_length = 5000)]
    pub answer: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(value_type = crate::domain::requests::RefusalGround)]
    pub ground: String,
    #[schema(min_length = 1, max_length = 5000)]
    pub explanation: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    /// Why the decision on recognition cannot be taken within 30 days.
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
    /// When the decision is expected, if known.
    #[schema(value_type = Option<UtcTime>)]
    pub expected_by: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmProductionIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    /// The production follow-up, to this preservation's addressee, that was issued.
    #[schema(format = Uuid)]
    pub follow_up_id: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovedIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(format = Uuid)]
    pub to_provider_id: Option<String>,
    #[schema(example = "NL")]
    pub to_jurisdiction: Option<String>,
    #[schema(min_length = 1, max_length = 5000)]
    pub note: String,
}

fn body<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(serde_error)
}

fn required(e: &mut Errors, field: &str, text: &str) -> Option<String> {
    e.check(field, text_field(text, TEXT_MAX))
}

/// The body schema of each workflow step, with an example the step accepts;
/// the OpenAPI document and its test are built from this table.
pub fn transition_body(action: Action) -> (&'static str, Value) {
    match action {
        Action::Return => (
            "ReturnIn",
            json!({ "version": 2, "comment": "Name the account holder's platform." }),
        ),
        Action::Reject => (
            "RejectIn",
            json!({ "version": 2, "reason": "Not proportionate to the offence." }),
        ),
        Action::Acknowledge => (
            "AcknowledgeIn",
            json!({ "version": 4, "provider_reference": "LE-2027-0042" }),
        ),
        Action::Preserve => (
            "PreserveIn",
            json!({ "version": 5, "preserved_until": "2027-06-01T00:00:00Z" }),
        ),
        Action::AskClarification => (
            "QuestionIn",
            json!({ "version": 5, "question": "Which time zone is the observation in?" }),
        ),
        Action::AnswerClarification => (
            "AnswerIn",
            json!({ "version": 6, "answer": "UTC; the offset is in observed_at." }),
        ),
        Action::Refuse => (
            "RefuseIn",
            json!({ "version": 5, "ground": "data_deleted", "explanation": "The account was deleted in 2025." }),
        ),
        Action::ReportMoved => (
            "MovedIn",
            json!({ "version": 5, "to_jurisdiction": "NL", "note": "The service is run by our Dutch affiliate." }),
        ),
        Action::Fulfil => (
            "FulfilIn",
            json!({ "version": 6, "note": "Subscriber record attached.", "no_data": false }),
        ),
        Action::NotifyDelay => (
            "DelayIn",
            json!({ "version": 4, "reason": "The court must hear the account holder's lawyer first.", "expected_by": "2027-03-01T00:00:00Z" }),
        ),
        Action::ConfirmProduction => (
            "ConfirmProductionIn",
            json!({ "version": 5, "follow_up_id": "01a2235d-d22a-7c3e-8f00-5ad0c1f1e2a4" }),
        ),
        Action::Decide
        | Action::Submit
        | Action::Approve
        | Action::Transmit
        | Action::Withdraw
        | Action::RequestExtension
        | Action::ConfirmExtension
        | Action::Release => (
            "NoteIn",
            json!({ "version": 1, "note": "Urgent: the suspect is active." }),
        ),
    }
}

/// Parses a transition body for `action` into its version and input.
///
/// Long on purpose: one arm per action and its body, each a few lines.
pub fn parse_transition(action: Action, value: Value) -> Result<(i64, Input), Error> {
    let mut e = Errors::new();
    let (version, input) = match action {
        Action::Return => {
            let b: ReturnIn = body(value)?;
            let comment = required(&mut e, "comment", &b.comment);
            (b.version, comment.map(|comment| Input::Return { comment }))
        }
        Action::Reject => {
            let b: RejectIn = body(value)?;
            let reason = required(&mut e, "reason", &b.reason);
            (b.version, reason.map(|reason| Input::Reject { reason }))
        }
        Action::Acknowledge => {
            let b: AcknowledgeIn = body(value)?;
            let reference = optional_text(
                &mut e,
                "provider_reference",
                b.provider_reference.as_deref(),
                100,
            );
            (
                b.version,
                Some(Input::Acknowledge {
                    provider_reference: reference,
                }),
            )
        }
        Action::Preserve => {
            let b: PreserveIn = body(value)?;
            let until = instant(&mut e, "preserved_until", b.preserved_until.as_deref());
            (
                b.version,
                Some(Input::Preserve {
                    preserved_until: until,
                }),
            )
        }
        Action::AskClarification => {
            let b: QuestionIn = body(value)?;
            let question = required(&mut e, "question", &b.question);
            (
                b.version,
                question.map(|question| Input::AskClarification { question }),
            )
        }
        Action::AnswerClarification => {
            let b: AnswerIn = body(value)?;
            let answer = required(&mut e, "answer", &b.answer);
            (
                b.version,
                answer.map(|answer| Input::AnswerClarification { answer }),
            )
        }
        Action::Refuse => {
            let b: RefuseIn = body(value)?;
            let ground = e.check("ground", RefusalGround::parse(&b.ground));
            let explanation = required(&mut e, "explanation", &b.explanation);
            (
                b.version,
                ground
                    .zip(explanation)
                    .map(|(ground, explanation)| Input::Refuse {
                        ground,
                        explanation,
                    }),
            )
        }
        Action::ReportMoved => {
            let b: MovedIn = body(value)?;
            let to_provider_id = b
                .to_provider_id
                .as_deref()
                .and_then(|p| id_field(&mut e, "to_provider_id", p));
            let to_jurisdiction = b
                .to_jurisdiction
                .as_deref()
                .and_then(|j| jurisdiction(&mut e, "to_jurisdiction", j));
            let note = required(&mut e, "note", &b.note);
            (
                b.version,
                note.map(|note| Input::ReportMoved {
                    to_provider_id,
                    to_jurisdiction,
                    note,
                }),
            )
        }
        Action::Fulfil => {
            let b: FulfilIn = body(value)?;
            let note = optional_text(&mut e, "note", b.note.as_deref(), TEXT_MAX);
            (
                b.version,
                Some(Input::Fulfil {
                    note,
                    no_data: b.no_data,
                }),
            )
        }
        Action::NotifyDelay => {
            let b: DelayIn = body(value)?;
            let reason = required(&mut e, "reason", &b.reason);
            let expected_by = instant(&mut e, "expected_by", b.expected_by.as_deref());
            (
                b.version,
                reason.map(|reason| Input::NotifyDelay {
                    reason,
                    expected_by,
                }),
            )
        }
        Action::ConfirmProduction => {
            let b: ConfirmProductionIn = body(value)?;
            let follow_up_id = id_field(&mut e, "follow_up_id", &b.follow_up_id);
            (
                b.version,
                follow_up_id.map(|follow_up_id| Input::ConfirmProduction { follow_up_id }),
            )
        }
        Action::Decide
        | Action::Submit
        | Action::Approve
        | Action::Transmit
        | Action::Withdraw
        | Action::RequestExtension
        | Action::ConfirmExtension
        | Action::Release => {
            let b: NoteIn = body(value)?;
            let note = optional_text(&mut e, "note", b.note.as_deref(), TEXT_MAX);
            (b.version, Some(Input::Note(note)))
        }
    };
    if version < 1 {
        e.add(
            "version",
            "is the `version` of the request you read (1 or more)",
        );
    }
    let input = e.finish(input)?;
    Ok((version, input))
}
