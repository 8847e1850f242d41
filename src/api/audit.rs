use actix_web::{HttpResponse, web};

use super::paging::Items;
use crate::auth::Caller;
use crate::domain::anchor::{KeyRing, Receipt};
use crate::error::Error;
use crate::service::anchor::{self, ReceiptLine};
use crate::state::AppState;

/// Recomputes every hash chain and compares the database with the signed
/// checkpoints (administrators).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "Whether every hash chain is intact and agrees with the signed checkpoints (administrators)", body = anchor::Verification)))]
pub async fn verify(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, Error> {
    caller.require_admin()?;
    let app = state.clone();
    let verification = state
        .db_as(&caller, move |conn| anchor::verify(conn, &app.anchoring))
        .await?;
    if !verification.intact {
        tracing::error!(findings = ?verification.lines(), "audit trail verification failed");
    }
    Ok(HttpResponse::Ok().json(verification))
}

/// The public keys that sign checkpoints and receipts, current and retired:
/// what a party needs to check a receipt without this service.
#[utoipa::path(get, path = "/api/v1/audit/keys", tag = "audit",
    responses((status = 200, description = "The audit keys, current and retired (public)", body = KeyRing)))]
pub async fn keys(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(&state.anchoring.keys.ring)
}

/// The events of a request the caller can hold a signed receipt for.
#[utoipa::path(get, path = "/api/v1/requests/{id}/receipts", tag = "audit", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "A request")),
    responses((status = 200, description = "Transmission, preservation, refusal and delivery events, each with a receipt", body = Items<ReceiptLine>),
        (status = 404, description = "No such request the caller may see", body = crate::api::error::Problem, content_type = "application/problem+json")))]
pub async fn receipts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let (viewer, id) = (caller.viewer(), id.into_inner());
    let items = state
        .db_as(&caller, move |conn| anchor::receipts_of(conn, &viewer, &id))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// A signed receipt for one event of a request, to keep and check offline
/// (`mlat audit verify-receipt`); it carries an inclusion proof once a
/// checkpoint covers the event.
#[utoipa::path(get, path = "/api/v1/requests/{id}/receipts/{event_id}", tag = "audit", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "A request"),
        ("event_id" = String, Path, format = Uuid, description = "An event of its trail")),
    responses((status = 200, description = "The receipt", body = Receipt),
        (status = 404, description = "No such request, or no receipt for that event", body = crate::api::error::Problem, content_type = "application/problem+json")))]
pub async fn receipt(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (viewer, (id, event_id)) = (caller.viewer(), path.into_inner());
    let app = state.clone();
    let receipt = state
        .db_as(&caller, move |conn| {
            anchor::receipt_for(conn, &app.anchoring, &viewer, &id, &event_id)
        })
        .await?;
    Ok(receipt_download(&receipt))
}

/// A receipt as a file to keep.
pub fn receipt_download(receipt: &Receipt) -> HttpResponse {
    let name = format!(
        "receipt-{}-{}.json",
        receipt.event.action, &receipt.event.id
    );
    HttpResponse::Ok()
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .json(receipt)
}
