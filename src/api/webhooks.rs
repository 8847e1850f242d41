//! `/api/v1/webhooks`: an organisation's endpoints for signed event
//! deliveries (`service::webhooks`), managed by its administrators.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::paging::Items;
use crate::auth::Caller;
use crate::domain::validation::Errors;
use crate::domain::webhooks::{WebhookEvent, check_url};
use crate::error::Error;
use crate::repo::outbox::OutboxRow;
use crate::repo::webhooks::WebhookRow;
use crate::service::{stewardship, webhooks as service};
use crate::state::AppState;
use crate::time::UtcTime;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://legal-process.provider.example/mlat/events",
    "events": ["request.received", "request.updated"]
}))]
pub struct WebhookIn {
    /// An https URL on a public address (private ones, and plain http to
    /// them, only where the operator allows: `MLAT_WEBHOOKS_ALLOW_PRIVATE`).
    pub url: String,
    /// The events to deliver: `request.received`, `request.updated`,
    /// `evidence.delivered`.
    #[schema(value_type = Vec<WebhookEvent>)]
    pub events: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookOut {
    pub id: String,
    pub organisation_id: String,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub active: bool,
    pub created_by: String,
    pub created_at: UtcTime,
    pub removed_at: Option<UtcTime>,
}

impl WebhookOut {
    fn build(row: WebhookRow) -> Result<Self, Error> {
        Ok(WebhookOut {
            events: serde_json::from_str(&row.events).map_err(Error::internal)?,
            id: row.id,
            organisation_id: row.organisation_id,
            url: row.url,
            active: row.active,
            created_by: row.created_by,
            created_at: row.created_at,
            removed_at: row.removed_at,
        })
    }
}

/// A webhook just registered, with the secret its deliveries are signed
/// with: shown this once, never again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    /// The HMAC-SHA256 key of `Mlat-Signature` (docs/api.md, "Webhooks").
    pub secret: String,
}

/// One delivery, as the organisation's administrator sees it to mend its
/// receiver.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryOut {
    /// Sent as `Mlat-Delivery`: the same on every retry.
    pub id: String,
    pub event: String,
    pub request_id: Option<String>,
    pub status: crate::domain::messages::MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: UtcTime,
    pub last_error: Option<String>,
    pub created_at: UtcTime,
    pub sent_at: Option<UtcTime>,
}

impl From<OutboxRow> for DeliveryOut {
    fn from(row: OutboxRow) -> Self {
        DeliveryOut {
            id: row.id,
            event: row.subject,
            request_id: row.request_id,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            created_at: row.created_at,
            sent_at: row.sent_at,
        }
    }
}

/// The URL and events of a registration, checked; the URL's name resolved and
/// every address it gives checked, off the async threads.
pub(crate) async fn checked(
    body: WebhookIn,
    allow_private: bool,
) -> Result<(url::Url, Vec<WebhookEvent>), Error> {
    let mut e = Errors::new();
    let url = e.check("url", check_url(&body.url, allow_private));
    let mut events = Vec::new();
    if body.events.is_empty() {
        e.add("events", "name at least one event");
    }
    for (i, name) in body.events.iter().enumerate() {
        if let Some(event) = e.check(&format!("events[{i}]"), WebhookEvent::parse(name))
            && !events.contains(&event)
        {
            events.push(event);
        }
    }
    e.into_result()?;
    let url = url.expect("checked above");
    if let Some(url::Host::Domain(host)) = url.host() {
        let netloc = format!("{host}:{}", url.port_or_known_default().unwrap_or(443));
        let https = url.scheme() == "https";
        web::block(move || crate::mail::webhook::resolve_checked(&netloc, https, allow_private))
            .await?
            .map_err(|why| Error::field("url", format!("{host}: {why}")))?;
    }
    Ok((url, events))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, description = "The webhooks of the caller's organisation, removed ones included (its administrators)", body = Items<WebhookOut>)))]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, Error> {
    let by = caller.user_id.clone();
    let rows = state
        .db_as(&caller, move |conn| {
            let by = stewardship::steward(conn, &by)?;
            service::list(conn, &by)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(WebhookOut::build)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = WebhookIn,
    responses((status = 201, description = "Registered, with its signing secret shown this once (the organisation's administrators)", body = WebhookCreated)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<WebhookIn>,
) -> Result<HttpResponse, Error> {
    // Who may, before any name is looked up for them.
    let by = caller.user_id.clone();
    state
        .db_as(&caller, move |conn| {
            service::managed_by(&stewardship::steward(conn, &by)?)
        })
        .await?;
    let (url, events) = checked(body.into_inner(), state.mailer.webhooks_allow_private()).await?;
    let (by, actor, app) = (caller.user_id.clone(), caller.actor(), state.clone());
    let registered = state
        .write_as(&caller, move |conn| {
            let by = stewardship::steward(conn, &by)?;
            service::register(conn, &app.factor_key, &by, &actor, &url, &events)
        })
        .await?;
    tracing::info!(webhook = %registered.webhook.id, by = %caller.user_id, "webhook registered");
    Ok(HttpResponse::Created().json(WebhookCreated {
        webhook: WebhookOut::build(registered.webhook)?,
        secret: registered.secret,
    }))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "A webhook")),
    responses((status = 204, description = "Removed: nothing more is queued for it, and what waits is not delivered")))]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let (by, actor, id) = (caller.user_id.clone(), caller.actor(), id.into_inner());
    state
        .write_as(&caller, move |conn| {
            let by = stewardship::steward(conn, &by)?;
            service::remove(conn, &by, &actor, &id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "A webhook")),
    responses((status = 200, description = "Its latest 100 deliveries, newest first", body = Items<DeliveryOut>)))]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let (by, id) = (caller.user_id.clone(), id.into_inner());
    let rows = state
        .db_as(&caller, move |conn| {
            let by = stewardship::steward(conn, &by)?;
            service::deliveries(conn, &by, &id, 100)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items::<DeliveryOut>::of(rows)))
}
