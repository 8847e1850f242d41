//! A request as the person looking at it may see it: the same visibility rules
//! as the API (`repo::requests::get_visible`, `Viewer::sees_case_content`,
//! `service::deadlines::seen_by`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Failure, Visitor, page};
use crate::domain::identifiers::Identifier;
use crate::error::Error;
use crate::repo::deadlines::DeadlineRow;
use crate::repo::requests::RequestRow;
use crate::state::AppState;

struct IdentifierLine {
    kind: String,
    value: String,
    port: String,
    observed_at: String,
}

struct HistoryLine {
    at: String,
    what: String,
}

struct ClockLine {
    kind: String,
    due_at: String,
    due_local: String,
    timezone: String,
    status: String,
    explanation: String,
}

#[derive(Template)]
#[template(path = "portal/request.html")]
struct RequestPage {
    chrome: super::Chrome,
    reference: String,
    kind: String,
    status: String,
    emergency: bool,
    basis_title: String,
    basis_citation: String,
    issuing_jurisdiction: String,
    executing_jurisdiction: String,
    data_categories: String,
    date_range: Option<String>,
    preserved_until: Option<String>,
    non_disclosure: bool,
    identifiers: Vec<IdentifierLine>,
    /// What the issuing side states in its own words, by heading.
    statements: Vec<(&'static str, String)>,
    clocks: Vec<ClockLine>,
    history: Vec<HistoryLine>,
}

fn words(name: &str) -> String {
    name.replace(['_', '-'], " ")
}

pub async fn show(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let viewer = visitor.session.account.viewer().map_err(Error::internal)?;
    let id = id.into_inner();
    let (row, clocks, history): (RequestRow, Vec<DeadlineRow>, _) = state
        .db(move |conn| {
            // Another organisation's request is not found, in the same words.
            let row = crate::service::requests::visible(conn, &viewer, &id)?;
            let clocks = crate::service::deadlines::seen_by(conn, &viewer, &row)?;
            let (_, history) = crate::service::requests::trail_seen_by(conn, &viewer, &row)?;
            Ok((row, clocks, history))
        })
        .await?;
    let basis = state.catalogue.get(&row.legal_basis);
    let identifiers: Vec<Identifier> =
        serde_json::from_str(&row.identifiers).map_err(Error::internal)?;
    let categories: Vec<String> =
        serde_json::from_str(&row.data_categories).map_err(Error::internal)?;
    let statements = [
        ("Facts", row.facts.clone()),
        ("Why it is needed", row.necessity.clone()),
        ("How it relates to the facts", row.relevance.clone()),
        ("Who holds the data", row.custodian.clone()),
        (
            "Why it is an emergency",
            row.emergency_justification.clone(),
        ),
    ]
    .into_iter()
    .filter_map(|(heading, text)| text.map(|t| (heading, t)))
    .collect();
    let html = RequestPage {
        chrome: visitor.chrome(),
        reference: row.reference.clone(),
        kind: words(row.kind.as_str()),
        status: words(row.status.as_str()),
        emergency: row.emergency,
        basis_title: basis.map_or_else(|| row.legal_basis.clone(), |b| b.title.clone()),
        basis_citation: basis.map(|b| b.citation.clone()).unwrap_or_default(),
        issuing_jurisdiction: row.issuing_jurisdiction.clone(),
        executing_jurisdiction: row.executing_jurisdiction.clone(),
        data_categories: categories
            .iter()
            .map(|c| words(c))
            .collect::<Vec<_>>()
            .join(", "),
        date_range: match (row.date_from, row.date_to) {
            (Some(from), Some(to)) => Some(format!("{from} to {to}")),
            (Some(from), None) => Some(format!("from {from}")),
            (None, Some(to)) => Some(format!("until {to}")),
            (None, None) => None,
        },
        preserved_until: row.preserved_until.map(|t| t.to_string()),
        non_disclosure: row.non_disclosure,
        identifiers: identifiers
            .into_iter()
            .map(|i| IdentifierLine {
                kind: words(i.kind.as_str()),
                value: i.value,
                port: i.port.map(|p| p.to_string()).unwrap_or_default(),
                observed_at: i.observed_at.map(|t| t.to_string()).unwrap_or_default(),
            })
            .collect(),
        statements,
        clocks: clocks
            .into_iter()
            .map(|d| ClockLine {
                kind: words(d.kind.as_str()),
                due_at: d.due_at.to_string(),
                due_local: d.due_local,
                timezone: d.timezone,
                status: words(d.status.as_str()),
                explanation: d.explanation,
            })
            .collect(),
        history: history
            .into_iter()
            .map(|(event, _)| HistoryLine {
                at: event.occurred_at.to_string(),
                what: words(&event.action),
            })
            .collect(),
    }
    .render()
    .map_err(Error::internal)?;
    Ok(page(StatusCode::OK, html))
}
