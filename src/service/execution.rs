//! Domestic execution (`domain::execution`): the order a central authority
//! gives a provider of its own jurisdiction, and the provider's answers
//! flowing back to the incoming request's trail and issuing side.

use serde_json::json;

use crate::db::DbConn;
use crate::domain::access::Viewer;
use crate::domain::audit::Actor;
use crate::domain::deadlines::{DeadlineKind, DeadlineStatus};
use crate::domain::execution::{self, Addressee, BASIS, OPEN, Refused};
use crate::domain::legal_bases::Route;
use crate::domain::requests::Priority;
use crate::domain::workflow::{Action, Status};
use crate::error::Error;
use crate::repo;
use crate::repo::cases::CaseRow;
use crate::repo::requests::RequestRow;
use crate::service::deadlines::{self as clocks, Rules};
use crate::service::requests::{audit, load_locked, new_draft};
use crate::time::UtcTime;

/// What the central authority says when it orders a provider.
#[derive(Debug, Clone)]
pub struct Order {
    pub responder_id: String,
    /// What the provider is told of the matter, in the central authority's
    /// words: the incoming request's facts are the issuing side's and stay
    /// with it.
    pub facts: Option<String>,
}

/// The central authority's own case for the orders executing `incoming`, made
/// on the first one: the issuing officer's case is not its to file under.
fn case_for(
    conn: &mut DbConn,
    actor: &Actor,
    authority_id: &str,
    incoming: &RequestRow,
) -> Result<CaseRow, Error> {
    let reference = format!("EX-{}", incoming.reference);
    if let Some(case) = repo::cases::find_by_reference(conn, authority_id, &reference)? {
        return Ok(case);
    }
    crate::service::cases::create(
        conn,
        actor,
        authority_id,
        crate::service::cases::NewCase {
            reference,
            title: format!("Execution of {}", incoming.reference),
            offence_categories: Vec::new(),
            summary: String::new(),
            priority: if incoming.emergency {
                Priority::Urgent
            } else {
                Priority::Normal
            },
        },
    )
}

/// Orders a provider to execute incoming request `incoming_id`: a new request
/// from the caller's central authority, transmitted at once (the authority
/// issuing it is the one that would approve it), with the incoming request's
/// kind, data and identifiers and none of its texts.
pub fn order(
    conn: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    rules: &Rules<'_>,
    incoming_id: &str,
    order: Order,
) -> Result<RequestRow, Error> {
    let incoming = load_locked(conn, viewer, incoming_id)?;
    let addressee = repo::organisations::get(conn, &order.responder_id)?;
    let open = repo::requests::open_order(conn, &incoming.id, &order.responder_id, &OPEN)?;
    execution::may_order(
        viewer.role,
        viewer.relations(&incoming.access()),
        incoming.status,
        &incoming.executing_jurisdiction,
        addressee.as_ref().map(|o| Addressee {
            kind: o.kind,
            jurisdiction: &o.jurisdiction,
            name: &o.name,
        }),
        open.as_deref(),
    )
    .map_err(|refused| match refused {
        Refused::Forbidden(detail) => Error::forbidden(detail),
        Refused::Conflict(detail) => Error::conflict_with(
            detail,
            Some(json!({ "current_status": incoming.status, "current_version": incoming.version })),
        ),
        Refused::Addressee(detail) => Error::field("responder_id", detail),
    })?;
    let provider = addressee.expect("may_order refuses an order to nobody");
    let authority_id = viewer
        .organisation_id
        .clone()
        .ok_or_else(|| Error::internal("a central authority without its organisation"))?;
    let case = case_for(conn, actor, &authority_id, &incoming)?;
    let now = UtcTime::now();
    let mut row = new_draft(viewer, &case, None, Route::Direct);
    row.kind = incoming.kind;
    row.legal_basis = BASIS.to_owned();
    row.responder_id = provider.id.clone();
    row.executing_jurisdiction = incoming.executing_jurisdiction.clone();
    row.data_categories = incoming.data_categories.clone();
    row.identifiers = incoming.identifiers.clone();
    row.date_from = incoming.date_from;
    row.date_to = incoming.date_to;
    row.facts = order.facts;
    row.emergency = incoming.emergency;
    row.non_disclosure = incoming.non_disclosure;
    row.status = Status::Transmitted;
    row.submitted_at = Some(now);
    row.approved_at = Some(now);
    row.approved_by = Some(viewer.user_id.clone());
    row.transmitted_at = Some(now);
    row.executes_id = Some(incoming.id.clone());
    repo::requests::insert(conn, &row)?;
    audit(
        conn,
        actor,
        &row,
        "domestic_order_created",
        json!({
            "reference": row.reference,
            "kind": row.kind,
            "legal_basis": row.legal_basis,
            "responder_id": row.responder_id,
            "executes_id": incoming.id,
            "executes_reference": incoming.reference,
        }),
    )?;
    // What the provider's trail starts from, as for any request it receives.
    let sent = audit(
        conn,
        actor,
        &row,
        Action::Transmit.as_str(),
        json!({ "domestic_order": true }),
    )?;
    audit(
        conn,
        actor,
        &incoming,
        "domestic_order_sent",
        json!({
            "order_reference": row.reference,
            "responder_id": provider.id,
            "responder_name": provider.name,
        }),
    )?;
    clocks::refresh(conn, rules, &row)?;
    crate::service::notify::on_transition(
        conn,
        &row,
        Action::Transmit,
        &sent.id,
        false,
        rules.public_url,
    )?;
    crate::service::webhooks::on_step(conn, &row, Action::Transmit, &sent.id)?;
    Ok(row)
}

/// Carries a provider's step on an order back to the request it executes: an
/// event on that request's trail, and word to its issuing side. What the
/// provider wrote is read from the order itself (`orders_of`).
pub fn answered(
    conn: &mut DbConn,
    actor: &Actor,
    rules: &Rules<'_>,
    order: &RequestRow,
    action: Action,
) -> Result<(), Error> {
    let Some(incoming_id) = &order.executes_id else {
        return Ok(());
    };
    let Some(incoming) = repo::requests::get(conn, incoming_id)? else {
        return Ok(());
    };
    let provider = repo::organisations::get(conn, &order.responder_id)?
        .map_or_else(|| order.responder_id.clone(), |o| o.name);
    let event = audit(
        conn,
        actor,
        &incoming,
        "domestic_order_answered",
        json!({
            "order_reference": order.reference,
            "responder_id": order.responder_id,
            "responder_name": provider,
            "action": action,
            "status": order.status,
        }),
    )?;
    crate::service::notify::on_execution(
        conn,
        &incoming,
        &provider,
        action,
        &event.id,
        rules.public_url,
    )?;
    crate::service::webhooks::queue(
        conn,
        &incoming.agency_id,
        crate::domain::webhooks::WebhookEvent::RequestUpdated,
        &incoming.id,
        json!({ "action": "domestic_order_answered", "status": incoming.status }),
        &event.id,
    )?;
    Ok(())
}

/// The orders executing `incoming`, oldest first, for whoever may see
/// `incoming` (the caller has checked that): what the issuing side reads as
/// "executed through".
pub fn orders_of(conn: &mut DbConn, incoming: &RequestRow) -> Result<Vec<RequestRow>, Error> {
    Ok(repo::requests::orders_executing(conn, &incoming.id)?)
}

/// When an order's preservation lapses by its running clock, if one runs.
pub fn preservation_lapses(
    conn: &mut DbConn,
    order: &RequestRow,
) -> Result<Option<UtcTime>, Error> {
    Ok(repo::deadlines::for_request(conn, &order.id)?
        .into_iter()
        .find(|d| d.kind == DeadlineKind::PreservationExpires && d.status == DeadlineStatus::Open)
        .map(|d| d.due_at))
}
