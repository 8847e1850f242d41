//! Domestic execution (`domain::execution`): the executing central authority
//! orders a provider of its jurisdiction, and passes the provider's files on.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::documents::{FACTS_MAX, RequestOut, id_field, optional_text};
use super::view;
use crate::api::evidence::EvidenceOut;
use crate::auth::Caller;
use crate::domain::validation::Errors;
use crate::domain::workflow::Status;
use crate::error::Error;
use crate::repo::names::{Names, Wanted};
use crate::repo::requests::RequestRow;
use crate::service::execution::{self as service, Order};
use crate::state::AppState;
use crate::time::UtcTime;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "responder_id": "01a2235d-d229-717a-9bdc-44d025c7b563",
    "facts": "Preserve the account named under the incoming request received on 2 December."
}))]
pub struct DomesticOrderIn {
    /// A provider in the executing jurisdiction.
    #[schema(format = Uuid)]
    pub responder_id: String,
    /// What the provider is told, in the central authority's words; the
    /// incoming request's own texts are not passed on.
    pub facts: Option<String>,
}

impl DomesticOrderIn {
    pub(crate) fn parse(self) -> Result<Order, Error> {
        let mut e = Errors::new();
        let responder_id = id_field(&mut e, "responder_id", &self.responder_id);
        let facts = optional_text(&mut e, "facts", self.facts.as_deref(), FACTS_MAX);
        e.into_result()?;
        Ok(Order {
            responder_id: responder_id.unwrap_or_default(),
            facts,
        })
    }
}

/// An order executing a request, as whoever may see that request reads it:
/// to whom, how far it went, and what the provider answered; never the
/// central authority's own notes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DomesticOrderOut {
    /// The order's id, for the central authority that issued it; the issuing
    /// side reads the order here only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub reference: String,
    pub responder_id: String,
    pub responder_name: String,
    pub status: Status,
    pub transmitted_at: Option<UtcTime>,
    pub answered_at: Option<UtcTime>,
    pub preserved_until: Option<UtcTime>,
    /// When the provider's preservation lapses by the order's own clock
    /// (`domestic-execution`), unless the provider named an earlier date:
    /// the order's `preservation_expires` deadline while it runs.
    pub preservation_expires_at: Option<UtcTime>,
    /// What the provider answered: reference, refusal ground, move...
    #[schema(value_type = Object)]
    pub response: Value,
}

impl DomesticOrderOut {
    pub fn build(
        order: RequestRow,
        own: bool,
        preservation_expires_at: Option<UtcTime>,
        names: &Names,
    ) -> Result<Self, Error> {
        Ok(DomesticOrderOut {
            preservation_expires_at,
            id: own.then(|| order.id.clone()),
            responder_name: names.organisation(&order.responder_id),
            response: serde_json::from_str(&order.response).map_err(Error::internal)?,
            reference: order.reference,
            responder_id: order.responder_id,
            status: order.status,
            transmitted_at: order.transmitted_at,
            answered_at: order.answered_at,
            preserved_until: order.preserved_until,
        })
    }
}

/// Names wanted for a list of orders.
pub fn names_of_orders(orders: &[RequestRow], wanted: &mut Wanted) {
    for order in orders {
        wanted.organisation(&order.responder_id);
    }
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/domestic-orders", tag = "requests", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "An incoming request the caller's central authority executes")),
    request_body = DomesticOrderIn,
    responses((status = 201, description = "The order, transmitted to the provider: a request of the central authority's own, on `domestic-execution`, linked to the one it executes", body = RequestOut)))]
pub async fn order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<DomesticOrderIn>,
) -> Result<HttpResponse, Error> {
    let order = body.into_inner().parse()?;
    let (viewer, actor, app, id) = (
        caller.viewer(),
        caller.actor(),
        state.clone(),
        id.into_inner(),
    );
    let out = state
        .write_as(&caller, move |conn| {
            let row = service::order(conn, &viewer, &actor, &app.rules(), &id, order)?;
            view(conn, &viewer, row)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayIn {
    /// A file the provider delivered on an order executing this request.
    #[schema(format = Uuid)]
    pub evidence_id: String,
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/evidence/relayed", tag = "evidence", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "An incoming request the caller's central authority executes")),
    request_body = RelayIn,
    responses((status = 201, description = "The provider's file, delivered on this request in the central authority's name", body = EvidenceOut)))]
pub async fn relay(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<RelayIn>,
) -> Result<HttpResponse, Error> {
    let mut e = Errors::new();
    let evidence_id = id_field(&mut e, "evidence_id", &body.evidence_id);
    e.into_result()?;
    let evidence_id = evidence_id.unwrap_or_default();
    let (viewer, actor, id) = (caller.viewer(), caller.actor(), id.into_inner());
    let limit = state.settings.evidence_max_bytes;
    let out = state
        .write_as(&caller, move |conn| {
            let row =
                crate::service::evidence::relay(conn, &viewer, &actor, &id, &evidence_id, limit)?;
            let mut wanted = Wanted::default();
            wanted.person(&row.uploaded_by);
            let names = wanted.load(conn)?;
            Ok(EvidenceOut::build(row, &names))
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}
