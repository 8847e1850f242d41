//! Webhooks (`domain::webhooks`): an organisation's administrators register
//! endpoints; workflow steps and deliveries of evidence queue a delivery for
//! each endpoint of the organisation concerned, in the outbox, in the
//! transaction of the event. A delivery carries ids, never case content.

use serde_json::{Value, json};

use crate::db::{DbConn, new_id};
use crate::domain::audit::{Actor, organisation_chain};
use crate::domain::messages::MessageKind;
use crate::domain::reference::Role;
use crate::domain::webhooks::{WebhookEvent, event_of_step};
use crate::domain::workflow::{Action, Party};
use crate::error::Error;
use crate::repo;
use crate::repo::audit::NewEvent;
use crate::repo::outbox::{NewMessage, OutboxRow};
use crate::repo::requests::RequestRow;
use crate::repo::users::UserRow;
use crate::repo::webhooks::WebhookRow;
use crate::sealed::MasterKey;
use crate::time::UtcTime;

/// Endpoints an organisation may keep at once.
pub const MAX_PER_ORGANISATION: usize = 10;

/// The key a webhook's secret is sealed under: bound to the webhook.
pub fn context(webhook_id: &str) -> Vec<u8> {
    format!("webhook-secret:{webhook_id}").into_bytes()
}

/// The organisation whose webhooks `by` manages: its own, for one of its
/// administrators. The platform administrator manages none: an endpoint
/// receives an organisation's traffic, and only the organisation chooses
/// where that goes.
pub fn managed_by(by: &UserRow) -> Result<String, Error> {
    match (&by.organisation_id, by.org_admin, by.role) {
        (Some(organisation), true, role) if role != Role::Admin => Ok(organisation.clone()),
        _ => Err(Error::forbidden(
            "only an organisation's administrators manage its webhooks",
        )),
    }
}

fn audit(
    conn: &mut DbConn,
    actor: &Actor,
    webhook: &WebhookRow,
    action: &str,
    details: Value,
) -> Result<(), Error> {
    repo::audit::append(
        conn,
        NewEvent {
            chain: organisation_chain(&webhook.organisation_id),
            actor,
            action,
            object_type: "webhook",
            object_id: Some(&webhook.id),
            request_id: None,
            details,
        },
    )?;
    Ok(())
}

/// A webhook just registered, with its secret: shown this once.
pub struct Registered {
    pub webhook: WebhookRow,
    pub secret: String,
}

/// Registers `url` (checked by `domain::webhooks::check_url`, its name
/// resolved and checked by the caller) for `events`.
pub fn register(
    conn: &mut DbConn,
    key: &MasterKey,
    by: &UserRow,
    actor: &Actor,
    url: &url::Url,
    events: &[WebhookEvent],
) -> Result<Registered, Error> {
    let organisation_id = managed_by(by)?;
    if repo::webhooks::active_of(conn, &organisation_id)?.len() >= MAX_PER_ORGANISATION {
        return Err(Error::conflict(format!(
            "an organisation keeps at most {MAX_PER_ORGANISATION} webhooks: remove one first"
        )));
    }
    let id = new_id();
    let secret = format!(
        "whsec_{}",
        crate::auth::tokens::new_secret().map_err(Error::internal)?
    );
    let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    let webhook = WebhookRow {
        secret_sealed: key
            .seal_value(&context(&id), secret.as_bytes())
            .map_err(Error::internal)?,
        id,
        organisation_id,
        url: url.to_string(),
        events: serde_json::to_string(&names).map_err(Error::internal)?,
        active: true,
        created_by: by.id.clone(),
        created_at: UtcTime::now(),
        removed_at: None,
    };
    repo::webhooks::insert(conn, &webhook)?;
    audit(
        conn,
        actor,
        &webhook,
        "webhook_registered",
        json!({ "webhook_id": webhook.id, "url": webhook.url, "events": names }),
    )?;
    Ok(Registered { webhook, secret })
}

/// Removes a webhook of `by`'s organisation: nothing more is queued for it,
/// and what waits is not delivered.
pub fn remove(conn: &mut DbConn, by: &UserRow, actor: &Actor, id: &str) -> Result<(), Error> {
    let organisation_id = managed_by(by)?;
    let webhook = repo::webhooks::get_of(conn, &organisation_id, id)?
        .ok_or_else(|| Error::not_found(format!("no webhook `{id}`")))?;
    if !repo::webhooks::remove(conn, &webhook.id, UtcTime::now())? {
        return Err(Error::conflict("this webhook was removed already"));
    }
    audit(
        conn,
        actor,
        &webhook,
        "webhook_removed",
        json!({ "webhook_id": webhook.id, "url": webhook.url }),
    )?;
    Ok(())
}

/// The webhooks of `by`'s organisation, removed ones included.
pub fn list(conn: &mut DbConn, by: &UserRow) -> Result<Vec<WebhookRow>, Error> {
    let organisation_id = managed_by(by)?;
    Ok(repo::webhooks::of_organisation(conn, &organisation_id)?)
}

/// The latest deliveries to a webhook of `by`'s organisation.
pub fn deliveries(
    conn: &mut DbConn,
    by: &UserRow,
    id: &str,
    limit: i64,
) -> Result<Vec<OutboxRow>, Error> {
    let organisation_id = managed_by(by)?;
    let webhook = repo::webhooks::get_of(conn, &organisation_id, id)?
        .ok_or_else(|| Error::not_found(format!("no webhook `{id}`")))?;
    Ok(repo::webhooks::deliveries(conn, &webhook.id, limit)?)
}

/// Queues `event` for every active webhook of `organisation_id` that asked
/// for it, once per webhook and audit event (`event_id`).
pub fn queue(
    conn: &mut DbConn,
    organisation_id: &str,
    event: WebhookEvent,
    request_id: &str,
    data: Value,
    event_id: &str,
) -> Result<usize, Error> {
    let mut queued = 0;
    for webhook in repo::webhooks::active_of(conn, organisation_id)? {
        let wanted: Vec<WebhookEvent> =
            serde_json::from_str(&webhook.events).map_err(Error::internal)?;
        if !wanted.contains(&event) {
            continue;
        }
        let mut body = json!({
            "type": event,
            "organisation_id": organisation_id,
            "request_id": request_id,
            "audit_event_id": event_id,
            "occurred_at": UtcTime::now(),
        });
        if let (Value::Object(body), Value::Object(data)) = (&mut body, &data) {
            body.extend(data.clone());
        }
        if repo::outbox::enqueue(
            conn,
            &NewMessage {
                dedupe_key: format!("webhook:{}:{event_id}", webhook.id),
                kind: MessageKind::Webhook,
                request_id: Some(request_id),
                recipient_user_id: None,
                recipient_email: &webhook.url,
                subject: event.as_str().to_owned(),
                body: body.to_string(),
                webhook_id: Some(&webhook.id),
            },
        )? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// A workflow step, to the organisation on the other side: a responder's
/// answer (or an approval) to the issuing agency, the issuing side's step on
/// a transmitted request to the responder.
pub fn on_step(
    conn: &mut DbConn,
    row: &RequestRow,
    action: Action,
    event_id: &str,
) -> Result<usize, Error> {
    let to = match action.party() {
        Party::Responder | Party::Approver => &row.agency_id,
        Party::Creator if row.transmitted_at.is_some() => &row.responder_id,
        Party::Creator => return Ok(0),
    };
    queue(
        conn,
        to,
        event_of_step(action),
        &row.id,
        json!({ "action": action, "status": row.status }),
        event_id,
    )
}

/// Evidence delivered on a request, to the agency that issued it.
pub fn on_evidence(
    conn: &mut DbConn,
    row: &RequestRow,
    evidence_id: &str,
    event_id: &str,
) -> Result<usize, Error> {
    queue(
        conn,
        &row.agency_id,
        WebhookEvent::EvidenceDelivered,
        &row.id,
        json!({ "evidence_id": evidence_id }),
        event_id,
    )
}
