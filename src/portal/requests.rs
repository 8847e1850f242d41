//! A request as the person looking at it may see it, and what they may do
//! on it now: the same visibility rules as the API
//! (`service::requests::visible`, `Viewer::sees_case_content`,
//! `service::deadlines::seen_by`) and the same steps
//! (`service::requests::open_steps`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::answers::{self, Input, StepForm};
use super::inbox::{Due, due, minute};
use super::words;
use super::{Chrome, Failure, Visitor, page};
use crate::domain::identifiers::Identifier;
use crate::domain::workflow::Action;
use crate::error::Error;
use crate::repo::evidence::EvidenceRow;
use crate::repo::organisations::OrganisationRow;
use crate::state::AppState;
use crate::time::UtcTime;

/// What the page says above everything else, after a form was posted.
pub enum Notice {
    None,
    /// A step was taken: its name.
    Done(String),
    /// Someone acted first: what the request is now.
    Stale(String),
    /// A form was refused: which, why, and what was typed, to type again.
    Refused {
        action: &'static str,
        message: String,
        typed: BTreeMap<String, String>,
    },
}

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

/// A step this side can hold a signed receipt for.
struct ReceiptLine {
    event_id: String,
    at: String,
    what: &'static str,
    anchored: bool,
}

/// What a receipt's step is called on the page.
fn receipt_words(action: &str) -> &'static str {
    match action {
        "transmit" => "Request transmitted",
        "preserve" => "Preservation confirmed",
        "confirm_extension" => "Extension confirmed",
        "refuse" => "Request refused",
        "fulfil" => "Request fulfilled",
        "evidence_uploaded" => "Evidence delivered",
        _ => "Step recorded",
    }
}

struct ClockLine {
    due: Due,
    status: String,
    explanation: String,
}

struct Exchange {
    at: String,
    who: &'static str,
    text: String,
}

/// A provider's report that the data sits elsewhere, with where a follow-up
/// would go.
struct MovedLine {
    at: String,
    provider: Option<(String, String)>,
    jurisdiction: Option<String>,
    note: String,
    /// The prefilled follow-up form (for the issuing agency only).
    follow_up: Option<String>,
}

struct EvidenceLine {
    id: String,
    filename: String,
    size: String,
    sha256: String,
    uploaded_at: String,
    /// Who held it, and when: its upload and every download, from the
    /// request's audit trail.
    custody: Vec<CustodyLine>,
}

/// An order through which the executing central authority had this request
/// executed by a provider of its jurisdiction, as whoever sees the request
/// reads it.
struct OrderLine {
    /// The order's page, for the central authority that issued it.
    id: Option<String>,
    reference: String,
    provider: String,
    status: String,
    sent: String,
    /// When the preservation lapses: the earlier of the date the provider
    /// named and the order's running clock.
    preserved_until: Option<String>,
    answer: String,
    /// The order's files the central authority may pass on: id, name, size.
    files: Vec<(String, String, String)>,
}

/// What a provider said on an order, in a line: its reference, a refusal,
/// where the data went, whether it delivered.
fn answer_line(response: &Value) -> String {
    let text = |pointer: &str| response.pointer(pointer).and_then(Value::as_str);
    let mut said = Vec::new();
    if let Some(reference) = text("/acknowledged/provider_reference") {
        said.push(format!("their reference {reference}"));
    }
    if let Some(ground) = text("/refusal/ground") {
        said.push(format!(
            "refused ({}): {}",
            words(ground),
            text("/refusal/explanation").unwrap_or_default()
        ));
    }
    if let Some(moved) = response.get("moved").and_then(Value::as_array) {
        for report in moved {
            let note = report
                .get("note")
                .and_then(Value::as_str)
                .unwrap_or_default();
            said.push(format!("the data is elsewhere: {note}"));
        }
    }
    if let Some(fulfilled) = response.get("fulfilled") {
        let items = fulfilled
            .get("evidence_items")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        said.push(
            if fulfilled.get("no_data").and_then(Value::as_bool) == Some(true) {
                "no data".to_owned()
            } else {
                format!(
                    "{items} file{} delivered",
                    if items == 1 { "" } else { "s" }
                )
            },
        );
    }
    said.join("; ")
}

struct CustodyLine {
    at: String,
    what: String,
    who: String,
}

#[derive(Template)]
#[template(path = "portal/request.html")]
struct RequestPage {
    chrome: Chrome,
    id: String,
    version: i64,
    done: Option<String>,
    stale: Option<String>,
    refused: Option<(&'static str, String)>,
    typed: BTreeMap<String, String>,
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
    provider_reference: Option<String>,
    non_disclosure: bool,
    identifiers: Vec<IdentifierLine>,
    /// What the issuing side states in its own words, by heading.
    statements: Vec<(&'static str, String)>,
    clarifications: Vec<Exchange>,
    clocks: Vec<ClockLine>,
    evidence: Vec<EvidenceLine>,
    may_deliver: bool,
    evidence_max: String,
    forms: Vec<StepForm>,
    providers: Vec<(String, String)>,
    case: Option<CaseLine>,
    /// The request this one follows up, and those that follow it up (for
    /// the issuing side only).
    parent: Option<(String, String)>,
    children: Vec<(String, String)>,
    moved: Vec<MovedLine>,
    case_id: Option<String>,
    /// Links for the agency that filed it: edit while a draft, follow up
    /// once transmitted.
    editable: bool,
    may_follow_up: bool,
    answer_heading: &'static str,
    grounds: Vec<(&'static str, String)>,
    history: Vec<HistoryLine>,
    receipts: Vec<ReceiptLine>,
    /// The orders executing this request, and, for its executing central
    /// authority while it may order, the providers of its jurisdiction.
    orders: Vec<OrderLine>,
    order_providers: Vec<(String, String)>,
    /// On an order, for its central authority: the request it executes.
    executes: Option<(String, String)>,
}

impl RequestPage {
    /// What the person typed into `field` of form `action`, when it was
    /// refused and shown again.
    fn typed_in(&self, action: &str, field: &str) -> &str {
        match &self.refused {
            Some((refused, _)) if *refused == action => {
                self.typed.get(field).map_or("", String::as_str)
            }
            _ => "",
        }
    }

    /// A refusal for a form this page does not show (the step is no longer
    /// open): said at the top instead.
    fn refused_elsewhere(&self) -> Option<&str> {
        let (action, message) = self.refused.as_ref()?;
        let shown = if *action == "evidence" {
            self.may_deliver
        } else if *action == "domestic-order" {
            !self.order_providers.is_empty()
        } else if *action == "relayed" {
            false
        } else {
            self.forms.iter().any(|f| f.action == *action)
        };
        (!shown).then_some(message.as_str())
    }

    fn problem_of(&self, action: &str) -> Option<&str> {
        match &self.refused {
            Some((refused, message)) if *refused == action => Some(message),
            _ => None,
        }
    }
}

/// Bytes as people read them.
pub(super) fn size_text(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn clarifications(response: &Value) -> Vec<Exchange> {
    let Some(entries) = response.get("clarifications").and_then(Value::as_array) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let text = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
            match (text("question"), text("answer")) {
                (Some(q), _) => Some(Exchange {
                    at: text("asked_at").unwrap_or_default(),
                    who: "Asked",
                    text: q,
                }),
                (None, Some(a)) => Some(Exchange {
                    at: text("answered_at").unwrap_or_default(),
                    who: "Answered",
                    text: a,
                }),
                _ => None,
            }
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, Failure> {
    // Only a step this page takes is said to be done: the address is a link
    // anyone can write, and its words must not be theirs.
    let notice = match query.into_inner().done.as_deref() {
        Some(page @ ("evidence" | "domestic-order" | "relayed")) => Notice::Done(page.into()),
        Some(step) => match Action::parse(step).ok().and_then(answers::form_of) {
            Some(form) => Notice::Done(form.action.into()),
            None => Notice::None,
        },
        None => Notice::None,
    };
    render_request(&state, &visitor, id.into_inner(), notice, StatusCode::OK).await
}

/// `GET /requests/{id}/receipts/{event_id}`: the signed receipt of a step,
/// the file the API gives.
pub async fn receipt(
    state: web::Data<AppState>,
    visitor: Visitor,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Failure> {
    let viewer = visitor.viewer()?;
    let (id, event_id) = path.into_inner();
    let app = state.clone();
    let receipt = state
        .db_for(&visitor.principal(), move |conn| {
            crate::service::anchor::receipt_for(conn, &app.anchoring, &viewer, &id, &event_id)
        })
        .await?;
    Ok(crate::api::audit::receipt_download(&receipt))
}

/// Everything the page needs, read in one go.
struct Read {
    row: crate::repo::requests::RequestRow,
    clocks: Vec<crate::repo::deadlines::DeadlineRow>,
    history: Vec<(
        crate::repo::audit::AuditEventRow,
        crate::domain::access::EventView,
    )>,
    evidence: Vec<EvidenceRow>,
    steps: Vec<Action>,
    /// Whether the upload is offered (`service::evidence::open_to`).
    may_deliver: bool,
    providers: Vec<OrganisationRow>,
    family: Option<Family>,
    /// The responder acted since this officer last opened the request.
    unread: bool,
    /// Names of the providers the "data moved" reports name, and of the
    /// people and organisations in the evidence's custody.
    named: BTreeMap<String, String>,
    orders: Vec<OrderLine>,
    order_providers: Vec<(String, String)>,
    executes: Option<(String, String)>,
    receipts: Vec<crate::service::anchor::ReceiptLine>,
}

/// What the issuing side sees of a request's relatives.
struct Family {
    parent: Option<(String, String)>,
    children: Vec<(String, String)>,
    creator: bool,
    case: Option<crate::repo::cases::CaseRow>,
    agency: Option<String>,
}

/// The case a request belongs to, for those who judge it (its agency, its
/// central authority): what it is about, beyond the request's own words.
struct CaseLine {
    reference: String,
    title: String,
    offences: String,
    summary: String,
    agency: String,
}

/// The request page as it stands now, with `notice` above it.
pub async fn render_request(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    id: String,
    notice: Notice,
    status: StatusCode,
) -> Result<HttpResponse, Failure> {
    let viewer = visitor.viewer()?;
    let app = state.clone();
    let read = state
        .db(move |conn| {
            // Another organisation's request is not found, in the same words.
            let row = crate::service::requests::visible(conn, &viewer, &id)?;
            let clocks = crate::service::deadlines::seen_by(conn, &viewer, &row)?;
            let (_, history) = crate::service::requests::trail_seen_by(conn, &viewer, &row)?;
            let evidence = crate::repo::evidence::for_request(conn, &row.id)?;
            let steps = crate::service::requests::open_steps(&viewer, &app.catalogue, &row)?;
            let may_deliver = crate::service::evidence::open_to(&viewer, &row);
            let providers = if steps.contains(&Action::ReportMoved) {
                crate::repo::organisations::providers(conn)?
            } else {
                Vec::new()
            };
            let family = if viewer.sees_case_content(&row.access()) {
                let parent = match &row.parent_id {
                    Some(p) => crate::repo::requests::get_visible(conn, &viewer, p)?
                        .map(|p| (p.id, p.reference)),
                    None => None,
                };
                Some(Family {
                    parent,
                    children: crate::repo::requests::children_visible(conn, &viewer, &row.id)?,
                    creator: viewer.relations(&row.access()).creator,
                    case: crate::repo::cases::get_for_agency(conn, &row.case_id, &row.agency_id)?,
                    agency: crate::repo::organisations::get(conn, &row.agency_id)?.map(|o| o.name),
                })
            } else {
                None
            };
            let mut named = BTreeMap::new();
            let custodians = history
                .iter()
                .filter(|(e, _)| e.object_type == "evidence")
                .flat_map(|(e, _)| e.organisation_id.iter());
            for id in moved_to(&row.response).iter().chain(custodians) {
                if !named.contains_key(id)
                    && let Some(org) = crate::repo::organisations::get(conn, id)?
                {
                    named.insert(id.clone(), org.name);
                }
            }
            for (e, _) in history.iter().filter(|(e, _)| e.object_type == "evidence") {
                if let Some(id) = &e.actor_id
                    && !named.contains_key(id)
                    && let Some(user) = crate::repo::users::get(conn, id)?
                {
                    named.insert(id.clone(), user.name);
                }
            }
            let unread = crate::service::reads::is_unread(conn, &viewer, &row)?;
            let (orders, order_providers, executes) =
                execution_of(conn, &viewer, &row, may_deliver)?;
            let receipts = crate::service::anchor::receipts_of(conn, &viewer, &row.id)?;
            Ok(Read {
                receipts,
                orders,
                order_providers,
                executes,
                unread,
                row,
                clocks,
                history,
                evidence,
                steps,
                may_deliver,
                providers,
                family,
                named,
            })
        })
        .await?;
    if read.unread {
        // Opened: no longer waiting to be read on the officer's board.
        let (viewer, id) = (visitor.viewer()?, read.row.id.clone());
        state
            .write_for(&visitor.principal(), move |conn| {
                crate::service::reads::mark_read(conn, &viewer, &id)
            })
            .await?;
    }
    let html = page_of(state, visitor, read, notice)?
        .render()
        .map_err(Error::internal)?;
    Ok(page(status, html))
}

/// The orders executing `row` as `viewer` reads them, the providers it may
/// order, and, on an order, the request it executes.
type Execution = (
    Vec<OrderLine>,
    Vec<(String, String)>,
    Option<(String, String)>,
);

fn execution_of(
    conn: &mut crate::db::DbConn,
    viewer: &crate::domain::access::Viewer,
    row: &crate::repo::requests::RequestRow,
    may_deliver: bool,
) -> Result<Execution, Error> {
    use crate::domain::execution::ORDERABLE;
    let mut orders = Vec::new();
    for order in crate::service::execution::orders_of(conn, row)? {
        let own = viewer.organisation_id.as_deref() == Some(order.agency_id.as_str());
        let lapses = crate::service::execution::preservation_lapses(conn, &order)?;
        let files = if own && may_deliver {
            crate::repo::evidence::for_request(conn, &order.id)?
                .into_iter()
                .map(|e| (e.id, e.filename, size_text(e.size)))
                .collect()
        } else {
            Vec::new()
        };
        let response: Value = serde_json::from_str(&order.response).map_err(Error::internal)?;
        orders.push(OrderLine {
            id: own.then(|| order.id.clone()),
            provider: crate::repo::organisations::get(conn, &order.responder_id)?
                .map_or_else(|| order.responder_id.clone(), |o| o.name),
            status: words(order.status.as_str()),
            sent: order.transmitted_at.map(minute).unwrap_or_default(),
            // The earlier of the two: a preservation is never shown lasting
            // longer than it may.
            preserved_until: match (order.preserved_until, lapses) {
                (Some(named), Some(clock)) => Some(named.min(clock)),
                (named, clock) => named.or(clock),
            }
            .map(minute),
            answer: answer_line(&response),
            reference: order.reference,
            files,
        });
    }
    let may_order = viewer.role == crate::domain::reference::Role::CentralAuthority
        && viewer.relations(&row.access()).responder
        && ORDERABLE.contains(&row.status);
    let providers = if may_order {
        crate::repo::organisations::providers(conn)?
            .into_iter()
            .filter(|o| o.jurisdiction == row.executing_jurisdiction)
            .map(|o| (o.id, o.name))
            .collect()
    } else {
        Vec::new()
    };
    let executes = match &row.executes_id {
        Some(id) if viewer.sees_case_content(&row.access()) => {
            crate::repo::requests::get_visible(conn, viewer, id)?.map(|p| (p.id, p.reference))
        }
        _ => None,
    };
    Ok((orders, providers, executes))
}

/// The providers the "data moved" reports of a request name.
fn moved_to(response: &str) -> Vec<String> {
    let response: Value = serde_json::from_str(response).unwrap_or_default();
    response
        .get("moved")
        .and_then(Value::as_array)
        .map(|reports| {
            reports
                .iter()
                .filter_map(|r| r.get("to_provider_id").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn moved_lines(
    response: &Value,
    named: &BTreeMap<String, String>,
    follow_up_base: Option<&str>,
) -> Vec<MovedLine> {
    let Some(reports) = response.get("moved").and_then(Value::as_array) else {
        return Vec::new();
    };
    reports
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
            MovedLine {
                at: r
                    .get("at")
                    .and_then(|t| serde_json::from_value::<UtcTime>(t.clone()).ok())
                    .map(minute)
                    .unwrap_or_default(),
                provider: text("to_provider_id").map(|id| {
                    let name = named.get(&id).cloned().unwrap_or_else(|| id.clone());
                    (id, name)
                }),
                jurisdiction: text("to_jurisdiction"),
                note: text("note").unwrap_or_default(),
                follow_up: follow_up_base.map(|base| format!("{base}?moved={i}")),
            }
        })
        .collect()
}

fn page_of(
    state: &AppState,
    visitor: &Visitor,
    read: Read,
    notice: Notice,
) -> Result<RequestPage, Error> {
    let Read {
        row,
        clocks,
        history,
        evidence,
        steps,
        may_deliver,
        providers,
        family,
        named,
        unread: _,
        orders,
        order_providers,
        executes,
        receipts,
    } = read;
    let basis = state.catalogue.get(&row.legal_basis);
    let identifiers: Vec<Identifier> =
        serde_json::from_str(&row.identifiers).map_err(Error::internal)?;
    let categories: Vec<String> =
        serde_json::from_str(&row.data_categories).map_err(Error::internal)?;
    let response: Value = serde_json::from_str(&row.response).map_err(Error::internal)?;
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
    let (done, stale, refused, typed) = match notice {
        Notice::None => (None, None, None, BTreeMap::new()),
        Notice::Done(step) => {
            let said = match step.as_str() {
                "evidence" => "the file was received and recorded; compare its SHA-256 below with \
                               the one you computed"
                    .to_owned(),
                "domestic-order" => "the provider was ordered to execute this request; its \
                                     answers show under \"Executed through\""
                    .to_owned(),
                "relayed" => "the provider's file is now delivered on this request, in your \
                              organisation's name"
                    .to_owned(),
                other => words(other),
            };
            (Some(said), None, None, BTreeMap::new())
        }
        Notice::Stale(message) => (None, Some(message), None, BTreeMap::new()),
        Notice::Refused {
            action,
            message,
            typed,
        } => (None, None, Some((action, message)), typed),
    };
    let now = UtcTime::now();
    let insider = family.is_some();
    let own_organisation = visitor.session.account.user.organisation_id.clone();
    let creator = family.as_ref().is_some_and(|f| f.creator);
    let may_follow_up = creator && row.transmitted_at.is_some();
    let follow_up_base = format!("/requests/{}/follow-up", row.id);
    let moved = moved_lines(
        &response,
        &named,
        may_follow_up.then_some(follow_up_base.as_str()),
    );
    let (parent, children, case) = match family {
        Some(f) => {
            let case = match f.case {
                Some(c) => Some(CaseLine {
                    offences: serde_json::from_str::<Vec<String>>(&c.offence_categories)
                        .map_err(Error::internal)?
                        .iter()
                        .map(|o| words(o))
                        .collect::<Vec<_>>()
                        .join(", "),
                    reference: c.reference,
                    title: c.title,
                    summary: c.summary,
                    agency: f.agency.unwrap_or_default(),
                }),
                None => None,
            };
            (f.parent, f.children, case)
        }
        None => (None, Vec::new(), None),
    };
    Ok(RequestPage {
        orders,
        order_providers,
        executes,
        case,
        parent,
        children,
        moved,
        case_id: creator.then(|| row.case_id.clone()),
        editable: creator && row.status == crate::domain::workflow::Status::Draft,
        may_follow_up,
        answer_heading: if steps
            .iter()
            .all(|a| a.party() == crate::domain::workflow::Party::Responder)
        {
            "Your answer"
        } else {
            "What you can do now"
        },
        chrome: visitor.chrome(),
        id: row.id.clone(),
        version: row.version,
        done,
        stale,
        refused,
        typed,
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
        preserved_until: row.preserved_until.map(minute),
        provider_reference: response
            .pointer("/acknowledged/provider_reference")
            .and_then(Value::as_str)
            .map(str::to_owned),
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
        clarifications: clarifications(&response),
        clocks: clocks
            .iter()
            .map(|d| ClockLine {
                due: due(d, now),
                status: words(d.status.as_str()),
                explanation: d.explanation.clone(),
            })
            .collect(),
        evidence: evidence
            .into_iter()
            .map(|e| EvidenceLine {
                custody: history
                    .iter()
                    .filter(|(event, _)| {
                        event.object_type == "evidence"
                            && event.object_id.as_deref() == Some(e.id.as_str())
                    })
                    .map(|(event, _)| {
                        let name = |id: &Option<String>| {
                            id.as_ref()
                                .and_then(|id| named.get(id).cloned())
                                .unwrap_or_else(|| "mlat".to_owned())
                        };
                        // People are named to the issuing side, which
                        // answers for the chain of custody, and to their
                        // own organisation; to others, their organisation.
                        let named_person = insider
                            || (event.organisation_id.is_some()
                                && event.organisation_id == own_organisation);
                        let who = if named_person {
                            format!(
                                "{} ({})",
                                name(&event.actor_id),
                                name(&event.organisation_id)
                            )
                        } else {
                            format!("someone at {}", name(&event.organisation_id))
                        };
                        CustodyLine {
                            at: minute(event.occurred_at),
                            what: words(event.action.trim_start_matches("evidence_")),
                            who,
                        }
                    })
                    .collect(),
                id: e.id,
                filename: e.filename,
                size: size_text(e.size),
                sha256: e.sha256,
                uploaded_at: minute(e.uploaded_at),
            })
            .collect(),
        may_deliver,
        evidence_max: size_text(state.settings.evidence_max_bytes as i64),
        forms: steps.into_iter().filter_map(answers::form_of).collect(),
        providers: providers.into_iter().map(|o| (o.id, o.name)).collect(),
        grounds: answers::grounds().collect(),
        history: history
            .into_iter()
            .map(|(event, _)| HistoryLine {
                at: minute(event.occurred_at),
                what: words(&event.action),
            })
            .collect(),
        receipts: receipts
            .into_iter()
            .map(|r| ReceiptLine {
                what: receipt_words(&r.action),
                at: minute(r.occurred_at),
                anchored: r.anchored,
                event_id: r.event_id,
            })
            .collect(),
    })
}
