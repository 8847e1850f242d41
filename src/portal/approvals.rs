//! A central authority's approval queue: the requests of its jurisdiction
//! waiting for its decision (`service::approvals`), emergencies first, then
//! by the soonest clock. The decision itself is taken on the request's page,
//! where everything needed to judge necessity and proportionality is shown.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::inbox::{Due, due, minute};
use super::{Chrome, Failure, Visitor, page, words};
use crate::domain::reference::Role;
use crate::error::Error;
use crate::state::AppState;
use crate::time::UtcTime;

struct Line {
    id: String,
    reference: String,
    emergency: bool,
    kind: String,
    basis: String,
    agency: String,
    to: String,
    waiting_since: String,
    next: Option<Due>,
    validation: Option<Due>,
}

#[derive(Template)]
#[template(path = "portal/approvals.html")]
struct ApprovalsPage {
    chrome: Chrome,
    lines: Vec<Line>,
    capped: bool,
}

pub async fn show(state: web::Data<AppState>, visitor: Visitor) -> Result<HttpResponse, Failure> {
    if visitor.session.account.user.role != Role::CentralAuthority {
        return Err(Failure(Error::not_found("no such page")));
    }
    let viewer = visitor.viewer()?;
    let app = state.clone();
    let waiting = state
        .db_for(&visitor.principal(), move |conn| {
            crate::service::approvals::queue(conn, &app.catalogue, &viewer)
        })
        .await?;
    let now = UtcTime::now();
    let html = ApprovalsPage {
        chrome: visitor.chrome(),
        capped: waiting.len() as i64 >= crate::service::approvals::QUEUE_MAX,
        lines: waiting
            .into_iter()
            .map(|w| {
                let r = &w.request;
                Line {
                    id: r.id.clone(),
                    reference: r.reference.clone(),
                    emergency: r.emergency,
                    kind: words(r.kind.as_str()),
                    basis: state
                        .catalogue
                        .get(&r.legal_basis)
                        .map_or_else(|| r.legal_basis.clone(), |b| b.title.clone()),
                    agency: w.agency_name.clone(),
                    to: r.executing_jurisdiction.clone(),
                    waiting_since: r
                        .submitted_at
                        .or(r.transmitted_at)
                        .map(minute)
                        .unwrap_or_default(),
                    next: w.next.as_ref().map(|d| due(d, now)),
                    validation: w.validation.as_ref().map(|d| due(d, now)),
                }
            })
            .collect(),
    };
    Ok(page(StatusCode::OK, super::pages::render(&html)?))
}
