//! Who hears of a workflow step, and what they are told: the reference, what
//! happened (an emergency first of all), what is needed, the clocks the
//! recipient owes with their due instants, a link. Never case facts,
//! identifiers or victims.

use chrono_tz::Tz;

use crate::db::DbConn;
use crate::domain::messages::MessageKind;
use crate::domain::notices::{self, Side};
use crate::domain::workflow::Action;
use crate::error::Error;
use crate::repo;
use crate::repo::outbox::NewMessage;
use crate::repo::requests::RequestRow;
use crate::repo::users::UserRow;

/// Who is told of an action.
enum Audience {
    /// Central-authority users of the issuing jurisdiction.
    Approvers,
    /// The user who created the request.
    Creator,
    /// The officers of the creating agency.
    Agency,
    /// The responder's users (and, on transmission, its legal-process address).
    Responder,
    Nobody,
}

fn audience(action: Action, was_transmitted: bool) -> Audience {
    use Action::*;
    match action {
        Submit => Audience::Approvers,
        Approve | Return | Reject => Audience::Creator,
        Transmit | AnswerClarification | RequestExtension | Release | ConfirmProduction => {
            Audience::Responder
        }
        Withdraw if was_transmitted => Audience::Responder,
        Withdraw => Audience::Nobody,
        Acknowledge | Preserve | Fulfil | Refuse | ReportMoved | AskClarification
        | ConfirmExtension | Decide | NotifyDelay => Audience::Agency,
    }
}

/// Whose jurisdiction's time a side reads its clocks in.
pub(crate) enum LocalTo {
    Issuer,
    Responder,
}

/// The side an audience is on for its clocks, and whose time it reads them in.
fn side(audience: Audience) -> Option<(Side, LocalTo)> {
    match audience {
        Audience::Approvers => Some((Side::Approvers, LocalTo::Issuer)),
        Audience::Creator | Audience::Agency => Some((Side::Officers, LocalTo::Issuer)),
        Audience::Responder => Some((Side::Responder, LocalTo::Responder)),
        Audience::Nobody => None,
    }
}

/// The time zone of the issuing jurisdiction or of the responder's, UTC
/// when it names none this build knows.
pub(crate) fn time_zone(conn: &mut DbConn, row: &RequestRow, of: LocalTo) -> Result<Tz, Error> {
    let code = match of {
        LocalTo::Issuer => Some(row.issuing_jurisdiction.clone()),
        LocalTo::Responder => {
            repo::organisations::get(conn, &row.responder_id)?.map(|o| o.jurisdiction)
        }
    };
    let zone = match code {
        Some(code) => repo::jurisdictions::get(conn, &code)?.map(|j| j.timezone),
        None => None,
    };
    Ok(zone.and_then(|z| z.parse().ok()).unwrap_or(Tz::UTC))
}

fn wording(action: Action) -> (&'static str, &'static str) {
    use Action::*;
    match action {
        Submit => ("submitted for approval", "Approve, return or reject it."),
        Approve => ("approved", "Transmit it to the responder."),
        Return => (
            "returned to draft",
            "Read the comment, correct the request and submit it again.",
        ),
        Reject => ("rejected", "Read the reason in the request."),
        Transmit => (
            "received",
            "Acknowledge it, then preserve or produce the data, ask a question, or refuse with a ground.",
        ),
        Withdraw => ("withdrawn", "No further action is needed."),
        Acknowledge => ("acknowledged by the responder", "No action needed now."),
        Preserve => (
            "preserved",
            "File the formal request before the preservation lapses.",
        ),
        RequestExtension => (
            "extension requested",
            "Confirm the extension of the preservation.",
        ),
        ConfirmExtension => (
            "extension confirmed",
            "File the formal request before the new expiry.",
        ),
        AskClarification => ("clarification asked", "Answer the responder's question."),
        AnswerClarification => ("clarification answered", "Continue with the request."),
        Fulfil => ("fulfilled", "Collect what was produced."),
        Refuse => ("refused", "Read the ground and decide how to proceed."),
        ReportMoved => (
            "reported: the data sits with another provider",
            "File a follow-up request to the provider named.",
        ),
        Release => (
            "released",
            "The preservation is no longer needed; the data may be deleted.",
        ),
        Decide => (
            "decided on by the executing authority",
            "The period to carry out the measure now runs.",
        ),
        NotifyDelay => (
            "delayed: the executing authority gave notice that its decision will be late",
            "Read the reasons; the decision is now due 30 days later.",
        ),
        ConfirmProduction => (
            "confirmed: the production request that follows this preservation was issued",
            "Keep the data preserved until the production request is answered.",
        ),
    }
}

/// Queues the notifications of one workflow step, in its transaction, keyed by
/// the audit event that recorded it so that each goes out once.
pub fn on_transition(
    conn: &mut DbConn,
    row: &RequestRow,
    action: Action,
    event_id: &str,
    was_transmitted: bool,
    public_url: &str,
) -> Result<usize, Error> {
    let mut recipients: Vec<(Option<UserRow>, String)> = Vec::new();
    let users = |list: Vec<UserRow>| list.into_iter().map(|u| (Some(u.clone()), u.email));
    match audience(action, was_transmitted) {
        Audience::Approvers => recipients.extend(users(
            repo::users::active_central_authority_users(conn, &row.issuing_jurisdiction)?,
        )),
        Audience::Creator => {
            if let Some(user) = repo::users::get(conn, &row.created_by)?.filter(|u| u.active) {
                recipients.push((Some(user.clone()), user.email));
            }
        }
        Audience::Agency => recipients.extend(users(repo::users::active_of_organisation(
            conn,
            &row.agency_id,
        )?)),
        Audience::Responder => {
            recipients.extend(users(repo::users::active_of_organisation(
                conn,
                &row.responder_id,
            )?));
            if action == Action::Transmit
                && let Some(address) =
                    repo::organisations::get(conn, &row.responder_id)?.and_then(|o| o.contact_email)
                && !recipients.iter().any(|(_, email)| *email == address)
            {
                recipients.push((None, address));
            }
        }
        Audience::Nobody => {}
    }
    let (happened, needed) = wording(action);
    let subject = notices::step_subject(&row.reference, happened, row.emergency);
    let clocks = match side(audience(action, was_transmitted)) {
        Some((side, jurisdiction_of)) => {
            let tz = time_zone(conn, row, jurisdiction_of)?;
            let deadlines = repo::deadlines::for_request(conn, &row.id)?;
            notices::clock_lines(
                side,
                deadlines.iter().map(|d| (d.kind, d.status, d.due_at)),
                tz,
            )
        }
        None => Vec::new(),
    };
    let clocks = if clocks.is_empty() {
        String::new()
    } else {
        format!("\n\n{}", clocks.join("\n"))
    };
    let emergency = if row.emergency {
        "This is an EMERGENCY request. "
    } else {
        ""
    };
    let body = format!(
        "{emergency}Request {reference} was {happened}.\n\n{needed}{clocks}\n\nOpen the request: {url}/requests/{id}\n",
        reference = row.reference,
        url = public_url.trim_end_matches('/'),
        id = row.id,
    );
    let mut queued = 0;
    for (user, email) in &recipients {
        let key = user
            .as_ref()
            .map_or_else(|| format!("address:{email}"), |u| u.id.clone());
        if repo::outbox::enqueue(
            conn,
            &NewMessage {
                dedupe_key: format!("event:{event_id}:{key}"),
                kind: MessageKind::Step(action),
                request_id: Some(&row.id),
                recipient_user_id: user.as_ref().map(|u| u.id.as_str()),
                recipient_email: email,
                subject: subject.clone(),
                body: body.clone(),
                webhook_id: None,
            },
        )? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues word to the issuing side of `incoming` that the provider executing
/// it domestically took a step: the officers of the agency, as for a
/// responder's own step, told to read the answer in the request.
pub fn on_execution(
    conn: &mut DbConn,
    incoming: &RequestRow,
    provider: &str,
    action: Action,
    event_id: &str,
    public_url: &str,
) -> Result<usize, Error> {
    let (happened, _) = wording(action);
    let happened = format!("executed through {provider}: {happened}");
    let subject = notices::step_subject(&incoming.reference, &happened, incoming.emergency);
    let emergency = if incoming.emergency {
        "This is an EMERGENCY request. "
    } else {
        ""
    };
    let body = format!(
        "{emergency}Request {reference} was {happened}.\n\nThe executing authority passed it to \
         a provider of its jurisdiction; read the provider's answer in the request.\n\nOpen the \
         request: {url}/requests/{id}\n",
        reference = incoming.reference,
        url = public_url.trim_end_matches('/'),
        id = incoming.id,
    );
    let mut queued = 0;
    for user in repo::users::active_of_organisation(conn, &incoming.agency_id)? {
        if repo::outbox::enqueue(
            conn,
            &NewMessage {
                dedupe_key: format!("event:{event_id}:{}", user.id),
                kind: MessageKind::Step(action),
                request_id: Some(&incoming.id),
                recipient_user_id: Some(&user.id),
                recipient_email: &user.email,
                subject: subject.clone(),
                body: body.clone(),
                webhook_id: None,
            },
        )? {
            queued += 1;
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Who hears of each step: the table of the e-mail issue, walked in full.
    #[test]
    fn every_action_reaches_its_audience() {
        for action in Action::ALL {
            let who = |transmitted| match audience(*action, transmitted) {
                Audience::Approvers => "approvers",
                Audience::Creator => "creator",
                Audience::Agency => "agency",
                Audience::Responder => "responder",
                Audience::Nobody => "nobody",
            };
            let expected = match action.as_str() {
                "submit" => "approvers",
                "approve" | "return" | "reject" => "creator",
                "transmit"
                | "answer-clarification"
                | "request-extension"
                | "release"
                | "confirm-production" => "responder",
                "withdraw" => "responder",
                _ => "agency",
            };
            assert_eq!(who(true), expected, "{action}");
            let wording = wording(*action);
            assert!(!wording.0.is_empty() && !wording.1.is_empty());
        }
        assert!(matches!(
            audience(Action::Withdraw, false),
            Audience::Nobody
        ));
    }
}
