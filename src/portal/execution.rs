//! Domestic execution in the browser (`domain::execution`): the executing
//! central authority orders a provider of its jurisdiction from the incoming
//! request's page, and passes the provider's files on. The same service calls
//! as the API's.

use std::collections::BTreeMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};

use super::answers::check_token;
use super::requests::{Notice, render_request};
use super::{Failure, Visitor};
use crate::error::{Error, Kind};
use crate::state::AppState;

/// The refusals a page shows next to its form; anything else is an error page.
fn shown_on_the_form(e: &Error) -> bool {
    matches!(
        e.kind(),
        Kind::Invalid(_) | Kind::Malformed(_) | Kind::Forbidden(_) | Kind::Conflict { .. }
    )
}

async fn answer(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    id: String,
    form: &'static str,
    done: Result<(), Error>,
    typed: BTreeMap<String, String>,
    anchor: &str,
) -> Result<HttpResponse, Failure> {
    match done {
        Ok(()) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/requests/{id}?done={form}#{anchor}"),
            ))
            .finish()),
        Err(e) if shown_on_the_form(&e) => {
            let status: StatusCode = e.status_code();
            let notice = Notice::Refused {
                action: form,
                message: super::pages::said(&e),
                typed,
            };
            render_request(state, visitor, id, notice, status).await
        }
        Err(e) => Err(Failure(e)),
    }
}

/// `POST /requests/{id}/domestic-orders`: `responder_id`, `facts`.
pub async fn order(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let (id, typed) = (id.into_inner(), form.into_inner());
    check_token(&visitor, &typed)?;
    let text = |name: &str| typed.get(name).map(|v| v.trim().to_owned());
    let parsed = crate::api::requests::DomesticOrderIn {
        responder_id: text("responder_id").unwrap_or_default(),
        facts: text("facts").filter(|f| !f.is_empty()),
    }
    .parse();
    let (viewer, actor, app, target) = (
        visitor.viewer()?,
        visitor.actor(),
        state.clone(),
        id.clone(),
    );
    let done = match parsed {
        Ok(order) => {
            state
                .write_for(&visitor.principal(), move |conn| {
                    crate::service::execution::order(
                        conn,
                        &viewer,
                        &actor,
                        &app.rules(),
                        &target,
                        order,
                    )
                    .map(|_| ())
                })
                .await
        }
        Err(e) => Err(e),
    };
    answer(
        &state,
        &visitor,
        id,
        "domestic-order",
        done,
        typed,
        "orders",
    )
    .await
}

/// `POST /requests/{id}/evidence/relayed`: `evidence_id`.
pub async fn relay(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let (id, typed) = (id.into_inner(), form.into_inner());
    check_token(&visitor, &typed)?;
    let evidence_id = typed
        .get("evidence_id")
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    let (viewer, actor, target) = (visitor.viewer()?, visitor.actor(), id.clone());
    let limit = state.settings.evidence_max_bytes;
    let done = state
        .write_for(&visitor.principal(), move |conn| {
            crate::service::evidence::relay(conn, &viewer, &actor, &target, &evidence_id, limit)
                .map(|_| ())
        })
        .await;
    answer(&state, &visitor, id, "relayed", done, typed, "evidence").await
}
