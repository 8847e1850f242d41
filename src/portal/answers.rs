//! Every workflow step as a form (the issuing side's, the approver's and the
//! responder's): what each step means, the fields it takes, and the post that
//! takes it through the same use case as the API
//! (`service::requests::transition`, its body read by the API's own parser).

use std::collections::BTreeMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use serde_json::{Map, Value};

use super::requests::{Notice, render_request};
use super::{Failure, Visitor};
use crate::domain::requests::RefusalGround;
use crate::domain::workflow::Action;
use crate::error::{Error, Kind};
use crate::state::AppState;

/// One input of a step's form.
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub input: Input,
    pub required: bool,
}

impl Field {
    pub fn is_check(&self) -> bool {
        matches!(self.input, Input::Check)
    }
}

pub enum Input {
    Line {
        max: usize,
    },
    Text,
    /// A calendar day; the step receives its first instant, in UTC.
    Day,
    Ground,
    Provider,
    Jurisdiction,
    Check,
    /// One of the request's follow-ups.
    FollowUp,
}

/// A step as a form: its name, what it means, what it asks.
pub struct StepForm {
    pub action: &'static str,
    pub title: &'static str,
    pub meaning: &'static str,
    pub button: &'static str,
    pub fields: Vec<Field>,
}

fn field(name: &'static str, label: &'static str, help: &'static str, input: Input) -> Field {
    Field {
        name,
        label,
        help,
        input,
        required: false,
    }
}

fn required(field: Field) -> Field {
    Field {
        required: true,
        ..field
    }
}

/// The form of a step. `Some` for every step; an `Option` because the
/// address a form posts to is a name anyone can type.
///
/// Long on purpose: one entry per step, each its words and fields.
pub fn form_of(action: Action) -> Option<StepForm> {
    let note = || {
        field(
            "note",
            "Note (optional)",
            "Seen by the issuing side.",
            Input::Text,
        )
    };
    let form = match action {
        Action::Acknowledge => StepForm {
            action: "acknowledge",
            title: "Acknowledge receipt",
            meaning: "Tells the issuing side that the request reached the right team. It is not a decision: the clocks to preserve or produce keep running.",
            button: "Acknowledge",
            fields: vec![field(
                "provider_reference",
                "Your reference (optional)",
                "Your own case number, quoted back to you in reminders and later requests.",
                Input::Line { max: 100 },
            )],
        },
        Action::Preserve => StepForm {
            action: "preserve",
            title: "Confirm preservation",
            meaning: "Confirms that the data described is frozen and will not be deleted. It is not disclosed: that needs a production order.",
            button: "Confirm preservation",
            fields: vec![field(
                "preserved_until",
                "Kept until (optional)",
                "The day your systems release the hold, if it is set. Read as the start of that day in UTC, so that no one counts on a later moment.",
                Input::Day,
            )],
        },
        Action::ConfirmExtension => StepForm {
            action: "confirm-extension",
            title: "Confirm the extension",
            meaning: "The issuing side asked to keep the data longer. Confirming extends the preservation by the period the legal basis allows.",
            button: "Confirm the extension",
            fields: vec![note()],
        },
        Action::AskClarification => StepForm {
            action: "ask-clarification",
            title: "Ask for clarification",
            meaning: "Asks the issuing side a question (an identifier that is ambiguous, a time zone, a period). The request waits for the answer, which appears on this page.",
            button: "Send the question",
            fields: vec![required(field(
                "question",
                "Your question",
                "Ask about the request only; the issuing side reads it as written.",
                Input::Text,
            ))],
        },
        Action::Decide => StepForm {
            action: "decide",
            title: "Record the decision",
            meaning: "Records that the request has been recognised and will be carried out: the period to carry it out starts now.",
            button: "Record the decision",
            fields: vec![note()],
        },
        Action::NotifyDelay => StepForm {
            action: "notify-delay",
            title: "Give notice of a delay",
            meaning: "Tells the issuing side that the decision cannot be taken in time, why, and when to expect it. It can be given once.",
            button: "Give notice",
            fields: vec![
                required(field("reason", "Why", "", Input::Text)),
                field(
                    "expected_by",
                    "Expected by (optional)",
                    "The day the decision is expected.",
                    Input::Day,
                ),
            ],
        },
        Action::Refuse => StepForm {
            action: "refuse",
            title: "Refuse",
            meaning: "Refuses the request on a ground the law recognises. It closes the request; the issuing side sees the ground and your explanation.",
            button: "Refuse the request",
            fields: vec![
                required(field("ground", "Ground", "", Input::Ground)),
                required(field(
                    "explanation",
                    "Explanation",
                    "What the issuing side needs to understand the refusal.",
                    Input::Text,
                )),
            ],
        },
        Action::ReportMoved => StepForm {
            action: "report-moved",
            title: "Report that the data is elsewhere",
            meaning: "Says that another provider, or the same company in another country, holds the data, so that the issuing side can turn to it at once.",
            button: "Send the report",
            fields: vec![
                field(
                    "to_provider_id",
                    "Provider that holds it (if known)",
                    "",
                    Input::Provider,
                ),
                field(
                    "to_jurisdiction",
                    "Country where it is held (if known)",
                    "Two letters, such as NL.",
                    Input::Jurisdiction,
                ),
                required(field(
                    "note",
                    "What you know",
                    "Who holds the data, and anything that helps to reach them.",
                    Input::Text,
                )),
            ],
        },
        Action::Fulfil => StepForm {
            action: "fulfil",
            title: "Fulfil",
            meaning: "Closes the request as answered: with the evidence uploaded above, or stating that you hold no data for it.",
            button: "Fulfil the request",
            fields: vec![
                field(
                    "no_data",
                    "We hold no data for this request",
                    "Tick only if nothing is delivered.",
                    Input::Check,
                ),
                note(),
            ],
        },
        Action::Submit => StepForm {
            action: "submit",
            title: "Submit for approval",
            meaning: "Sends the request to your central authority, which judges whether it is necessary and proportionate. Only a request with everything its legal basis requires can be submitted; after that it can no longer be edited, unless it is returned.",
            button: "Submit for approval",
            fields: vec![note()],
        },
        Action::Transmit => StepForm {
            action: "transmit",
            title: "Transmit to the responder",
            meaning: "Sends the request to the organisation it is addressed to. Its clocks start when it is received, which is now.",
            button: "Transmit",
            fields: vec![note()],
        },
        Action::Withdraw => StepForm {
            action: "withdraw",
            title: "Withdraw",
            meaning: "Withdraws the request: nothing more is asked of anyone, and its clocks stop. It cannot be undone.",
            button: "Withdraw the request",
            fields: vec![note()],
        },
        Action::RequestExtension => StepForm {
            action: "request-extension",
            title: "Ask to keep the data longer",
            meaning: "Asks the responder to extend the preservation by the period the legal basis allows, while the request for the data is on its way.",
            button: "Ask for the extension",
            fields: vec![note()],
        },
        Action::AnswerClarification => StepForm {
            action: "answer-clarification",
            title: "Answer the question",
            meaning: "Answers the responder's question; the request goes back to it with your answer.",
            button: "Send the answer",
            fields: vec![required(field(
                "answer",
                "Your answer",
                "The responder reads it as written.",
                Input::Text,
            ))],
        },
        Action::Release => StepForm {
            action: "release",
            title: "Release the preserved data",
            meaning: "Tells the responder that the data no longer needs to be kept. It cannot be undone: the data may be deleted at once.",
            button: "Release",
            fields: vec![note()],
        },
        Action::ConfirmProduction => StepForm {
            action: "confirm-production",
            title: "Confirm that a production order was issued",
            meaning: "Tells the addressee that the production order for this data has been issued, which keeps the data preserved until it is answered (Regulation 2023/1543 Art. 11(1), Annex V).",
            button: "Confirm",
            fields: vec![required(field(
                "follow_up_id",
                "The production order",
                "A follow-up of this request, already transmitted.",
                Input::FollowUp,
            ))],
        },
        Action::Approve => StepForm {
            action: "approve",
            title: "Approve",
            meaning: "Approves the request as necessary and proportionate, so that it may be transmitted. For an emergency already transmitted, this is its validation after the event.",
            button: "Approve",
            fields: vec![note()],
        },
        Action::Return => StepForm {
            action: "return",
            title: "Return with questions",
            meaning: "Sends the request back to the officer as a draft, with your questions; it can be submitted again.",
            button: "Return to the officer",
            fields: vec![required(field(
                "comment",
                "Your questions",
                "What the officer must add or change.",
                Input::Text,
            ))],
        },
        Action::Reject => StepForm {
            action: "reject",
            title: "Reject",
            meaning: "Rejects the request for good, with your reason. For an emergency already transmitted, validation is refused.",
            button: "Reject the request",
            fields: vec![required(field(
                "reason",
                "Reason",
                "The officer reads it.",
                Input::Text,
            ))],
        },
    };
    debug_assert_eq!(form.action, action.as_str());
    Some(form)
}

pub fn grounds() -> impl Iterator<Item = (&'static str, String)> {
    RefusalGround::ALL
        .iter()
        .map(|g| (g.as_str(), g.as_str().replace('_', " ")))
}

/// A form's fields as the API's JSON body: numbers and ticks as such, days as
/// their first instant in UTC, empty inputs left out.
pub fn body_of(action: Action, typed: &BTreeMap<String, String>) -> Result<Value, Error> {
    let form = form_of(action).ok_or_else(|| Error::not_found("no such form"))?;
    let mut body = Map::new();
    let version = typed.get("version").map(String::as_str).unwrap_or_default();
    let version: i64 = version.parse().map_err(|_| {
        Error::malformed("the form lost the version of the page it came from; reload the page")
    })?;
    body.insert("version".into(), version.into());
    for f in &form.fields {
        let value = typed.get(f.name).map(|v| v.trim()).unwrap_or_default();
        match f.input {
            Input::Check => {
                body.insert(f.name.into(), Value::Bool(!value.is_empty()));
            }
            _ if value.is_empty() && !f.required => {}
            Input::Day => {
                let day = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                    .map_err(|_| Error::field(f.name, "is a day, such as 2027-06-01"))?;
                let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
                body.insert(f.name.into(), Value::String(start.to_rfc3339()));
            }
            _ => {
                body.insert(f.name.into(), Value::String(value.to_owned()));
            }
        }
    }
    Ok(Value::Object(body))
}

/// Whether a refusal says that the request is at another version than the
/// one the form was read at.
fn moved_on(extra: Option<&Value>, typed: &BTreeMap<String, String>) -> bool {
    let current = extra
        .and_then(|x| x.get("current_version"))
        .and_then(Value::as_i64);
    let read = typed.get("version").and_then(|v| v.parse::<i64>().ok());
    current.is_some() && current != read
}

/// Refuses a form that does not carry the session's token.
pub(super) fn check_token(
    visitor: &Visitor,
    typed: &BTreeMap<String, String>,
) -> Result<(), Failure> {
    if visitor.sent_its_token(typed.get("csrf_token").map_or("", String::as_str)) {
        Ok(())
    } else {
        Err(Failure(Error::forbidden(
            "This form did not come from your session. Go back, reload the page and try again.",
        )))
    }
}

/// `POST /requests/{id}/{action}`: one step from a form. Done, the page is
/// shown again with what was done; refused, it is shown with why, next to
/// the form, and what was typed; stale, as it now is, saying so.
pub async fn take(
    state: web::Data<AppState>,
    visitor: Visitor,
    path: web::Path<(String, String)>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let (id, name) = path.into_inner();
    let typed = form.into_inner();
    let action = Action::parse(&name).ok().filter(|a| form_of(*a).is_some());
    let Some(action) = action else {
        return Err(Failure(Error::not_found("no such step")));
    };
    check_token(&visitor, &typed)?;
    let (viewer, actor, app) = (visitor.viewer()?, visitor.actor(), state.clone());
    let target = id.clone();
    let taken = async {
        let (version, input) =
            crate::api::requests::parse_transition(action, body_of(action, &typed)?)?;
        state
            .write_for(&visitor.principal(), move |conn| {
                crate::service::requests::transition(
                    conn,
                    &viewer,
                    &actor,
                    &app.rules(),
                    &target,
                    action,
                    version,
                    input,
                )
            })
            .await
    }
    .await;
    match taken {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/requests/{id}?done={name}#answer"),
            ))
            .finish()),
        Err(e) => {
            let (status, notice) = match e.kind() {
                // The page was read at another version: someone acted first.
                Kind::Conflict { extra, .. } if moved_on(extra.as_ref(), &typed) => {
                    (StatusCode::CONFLICT, Notice::Stale(super::pages::said(&e)))
                }
                Kind::Invalid(_)
                | Kind::Malformed(_)
                | Kind::Forbidden(_)
                | Kind::Conflict { .. } => (
                    e.status_code(),
                    Notice::Refused {
                        action: action.as_str(),
                        message: super::pages::said(&e),
                        typed,
                    },
                ),
                _ => return Err(Failure(e)),
            };
            render_request(&state, &visitor, id, notice, status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::requests::Input as Step;

    fn typed(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Every form, filled in as a person would, reads into the API's body
    /// and parser without a field lost or mistyped.
    #[test]
    fn every_answer_form_is_read_as_the_api_reads_its_body() {
        let provider = "01a2235d-d22a-7c3e-8f00-5ad0c1f1e2a4";
        let filled: Vec<(Action, Vec<(&str, &str)>)> = vec![
            (Action::Acknowledge, vec![("provider_reference", " LE-1 ")]),
            (Action::Preserve, vec![("preserved_until", "2027-06-01")]),
            (Action::ConfirmExtension, vec![("note", "Kept.")]),
            (Action::AskClarification, vec![("question", "Which zone?")]),
            (Action::Decide, vec![]),
            (
                Action::NotifyDelay,
                vec![("reason", "A hearing."), ("expected_by", "2027-03-01")],
            ),
            (
                Action::Refuse,
                vec![("ground", "data_deleted"), ("explanation", "Gone.")],
            ),
            (
                Action::ReportMoved,
                vec![
                    ("to_provider_id", provider),
                    ("to_jurisdiction", "NL"),
                    ("note", "Our affiliate."),
                ],
            ),
            (Action::Fulfil, vec![("no_data", "yes"), ("note", "")]),
            (Action::Submit, vec![("note", "Urgent.")]),
            (Action::Transmit, vec![]),
            (Action::Withdraw, vec![("note", "Case closed.")]),
            (Action::RequestExtension, vec![]),
            (Action::AnswerClarification, vec![("answer", "UTC.")]),
            (Action::Release, vec![]),
            (Action::ConfirmProduction, vec![("follow_up_id", provider)]),
            (Action::Approve, vec![("note", "Proportionate.")]),
            (Action::Return, vec![("comment", "Name the platform.")]),
            (Action::Reject, vec![("reason", "Not proportionate.")]),
        ];
        let offered: std::collections::BTreeSet<&str> = Action::ALL
            .iter()
            .filter(|a| form_of(**a).is_some())
            .map(|a| a.as_str())
            .collect();
        assert_eq!(offered.len(), Action::ALL.len(), "every step has a form");
        assert_eq!(
            offered,
            filled.iter().map(|(a, _)| a.as_str()).collect(),
            "every form is filled in here"
        );
        for (action, fields) in filled {
            let mut form = typed(&fields);
            form.insert("version".into(), "7".into());
            let body = body_of(action, &form).unwrap();
            let (version, input) = crate::api::requests::parse_transition(action, body)
                .unwrap_or_else(|e| panic!("{action}: {e:?}"));
            assert_eq!(version, 7);
            match (action, input) {
                (Action::Acknowledge, Step::Acknowledge { provider_reference }) => {
                    assert_eq!(provider_reference.as_deref(), Some("LE-1"));
                }
                (Action::Preserve, Step::Preserve { preserved_until }) => {
                    assert_eq!(
                        preserved_until.map(|t| t.to_string()).as_deref(),
                        Some("2027-06-01T00:00:00Z")
                    );
                }
                (Action::Refuse, Step::Refuse { ground, .. }) => {
                    assert_eq!(ground, RefusalGround::DataDeleted);
                }
                (
                    Action::ReportMoved,
                    Step::ReportMoved {
                        to_provider_id,
                        to_jurisdiction,
                        ..
                    },
                ) => {
                    assert_eq!(to_provider_id.as_deref(), Some(provider));
                    assert_eq!(to_jurisdiction.as_deref(), Some("NL"));
                }
                (Action::Fulfil, Step::Fulfil { no_data, note }) => {
                    assert!(no_data);
                    assert_eq!(note, None);
                }
                (Action::NotifyDelay, Step::NotifyDelay { expected_by, .. }) => {
                    assert!(expected_by.is_some());
                }
                (Action::ConfirmProduction, Step::ConfirmProduction { follow_up_id }) => {
                    assert_eq!(follow_up_id, provider);
                }
                (Action::Return, Step::Return { comment }) => {
                    assert_eq!(comment, "Name the platform.");
                }
                (Action::Reject, Step::Reject { reason }) => {
                    assert_eq!(reason, "Not proportionate.");
                }
                (Action::AnswerClarification, Step::AnswerClarification { answer }) => {
                    assert_eq!(answer, "UTC.");
                }
                (action, input) => {
                    assert!(
                        matches!(
                            (action, &input),
                            (
                                Action::ConfirmExtension
                                    | Action::Decide
                                    | Action::Submit
                                    | Action::Transmit
                                    | Action::Withdraw
                                    | Action::RequestExtension
                                    | Action::Release
                                    | Action::Approve,
                                Step::Note(_)
                            ) | (Action::AskClarification, Step::AskClarification { .. })
                        ),
                        "{action}: {input:?}"
                    );
                }
            }
        }
        // A box left unticked is a `false`, not a missing field.
        let body = body_of(Action::Fulfil, &typed(&[("version", "2")])).unwrap();
        assert_eq!(body["no_data"], serde_json::json!(false));
        // A day that is not one is said to be a day.
        let wrong = body_of(
            Action::Preserve,
            &typed(&[("version", "2"), ("preserved_until", "1 June")]),
        )
        .unwrap_err();
        let said = crate::portal::pages::said(&wrong);
        assert!(said.contains("preserved until: is a day"), "{said}");
    }
}
