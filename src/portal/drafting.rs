//! The guided request form: pick the responder, then one of the legal bases
//! this issuing and executing pair may use, then fill in exactly what that
//! basis asks for (`domain::requests::asked_by`), each item with its help.
//! The same form opens a new request in a case, edits a draft, and files a
//! follow-up (prefilled from the request it follows and, after a "data
//! moved" answer, addressed where the data went). What it sends is read by
//! the API's own parsers and taken by the same use cases.

use std::collections::BTreeMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::cases::agency_of;
use super::inbox::minute;
use super::{Chrome, Failure, Visitor, page, words};
use crate::domain::deadlines::retention_end;
use crate::domain::identifiers::{IdentifierType, parse_instant};
use crate::domain::reference::{DataCategory, OrganisationKind, RequestKind};
use crate::domain::requests::{Asked, Content, asked_by};
use crate::domain::validation::FieldError;
use crate::domain::workflow::{Action, Status};
use crate::error::{Error, Kind};
use crate::repo::cases::CaseRow;
use crate::repo::organisations::OrganisationRow;
use crate::repo::requests::RequestRow;
use crate::service::requests::{Input as Step, Offer};
use crate::state::AppState;
use crate::time::UtcTime;

/// Identifier rows a blank form starts with, and rows "more rows" adds.
const ROWS: usize = 3;
const ROWS_MAX: usize = crate::domain::identifiers::MAX_IDENTIFIERS;

/// What the form is for.
enum Mode {
    New,
    Edit {
        id: String,
        reference: String,
    },
    FollowUp {
        parent: Box<RequestRow>,
        moved: Option<String>,
    },
}

/// Everything the form is drawn from, read in one go.
struct Context {
    case: CaseRow,
    offer: Offer,
    mode: Mode,
}

struct Option_ {
    value: String,
    label: String,
    chosen: bool,
}

struct IdentifierRow {
    n: usize,
    kind: String,
    value: String,
    port: String,
    observed_at: String,
    risk: Option<Risk>,
}

struct Risk {
    text: String,
    past: bool,
}

struct BasisChoice {
    id: String,
    title: String,
    instrument: String,
    citation: String,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "portal/request_form.html")]
struct FormPage {
    chrome: Chrome,
    heading: String,
    /// Where the steps' choices are sent (GET) and the form is posted.
    here: String,
    post_to: String,
    case_id: String,
    case_reference: String,
    case_title: String,
    parent: Option<(String, String)>,
    moved: Option<String>,
    notice: Option<String>,
    responders: Vec<Option_>,
    responder: Option<(String, String)>,
    bases: Vec<BasisChoice>,
    basis: Option<(String, String, String)>,
    kinds: Vec<Option_>,
    categories: Vec<Option_>,
    asked: Vec<Asked>,
    rows: Vec<IdentifierRow>,
    identifier_types: Vec<(&'static str, String)>,
    typed: BTreeMap<String, String>,
    problems: BTreeMap<String, String>,
    retention: String,
    editing: bool,
    /// The statements the basis asks for, in order: name, label, limit.
    texts: Vec<(&'static str, &'static str, usize)>,
}

impl FormPage {
    fn typed(&self, field: &str) -> &str {
        self.typed.get(field).map_or("", String::as_str)
    }

    fn ticked(&self, field: &str) -> bool {
        !self.typed(field).is_empty()
    }

    fn problem(&self, field: &str) -> Option<&str> {
        self.problems.get(field).map(String::as_str)
    }

    fn asks(&self, field: &str) -> Option<&Asked> {
        self.asked.iter().find(|a| a.field == field)
    }

    /// What the form says of an item: required, or when it is needed.
    fn need(&self, field: &str) -> &'static str {
        match self.asks(field) {
            Some(a) if a.required => "required to submit",
            Some(Asked {
                needed_if: Some(when),
                ..
            }) => when,
            _ => "optional",
        }
    }

    /// The item's help as a sentence (the domain words it as a phrase, to
    /// be said after "missing:" too).
    fn help(&self, field: &str) -> String {
        let text = self.asks(field).map_or("", |a| a.help);
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }

    /// Problems the form has no field for (the responder, the basis, the
    /// case): said at the top.
    fn general(&self) -> Vec<&str> {
        const FIELDS: &[&str] = &[
            "kind",
            "data_categories",
            "identifiers",
            "date_from",
            "date_to",
            "facts",
            "relevance",
            "custodian",
            "necessity",
            "follow_up_intent",
            "cybertipline_submitted_at",
            "emergency",
            "emergency_justification",
            "non_disclosure",
        ];
        self.problems
            .iter()
            .filter(|(k, _)| !FIELDS.contains(&k.as_str()) && !k.starts_with("id"))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// The form's name for a field the API names (`identifiers[2].value` is
/// row `rows[2]`'s value: blank rows are not sent).
fn form_key(field: &str, rows: &[usize]) -> String {
    if let Some(rest) = field.strip_prefix("identifiers[")
        && let Some((index, tail)) = rest.split_once(']')
        && let Ok(index) = index.parse::<usize>()
    {
        let n = rows.get(index).copied().unwrap_or(index);
        return format!("id{n}{tail}");
    }
    match field.split_once('[') {
        Some((head, _)) => head.to_owned(),
        None => field.to_owned(),
    }
}

fn problems_of(err: &Error, rows: &[usize]) -> BTreeMap<String, String> {
    super::pages::problems_by_field(err, |field| form_key(field, rows))
}

/// A request's content as the form's fields.
fn typed_of(content: &Content) -> BTreeMap<String, String> {
    let mut typed = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        typed.insert(k.to_owned(), v);
    };
    set("responder_id", content.responder_id.clone());
    set("legal_basis", content.legal_basis.clone());
    set("kind", content.kind.as_str().to_owned());
    for c in &content.data_categories {
        set(&format!("category.{c}"), "yes".into());
    }
    for (n, i) in content.identifiers.iter().enumerate() {
        set(&format!("id{n}.type"), i.kind.as_str().to_owned());
        set(&format!("id{n}.value"), i.value.clone());
        set(
            &format!("id{n}.port"),
            i.port.map(|p| p.to_string()).unwrap_or_default(),
        );
        set(
            &format!("id{n}.observed_at"),
            i.observed_at.map(|t| t.to_string()).unwrap_or_default(),
        );
    }
    set(
        "rows",
        (content.identifiers.len() + 2)
            .clamp(ROWS, ROWS_MAX)
            .to_string(),
    );
    let day = |t: Option<UtcTime>| {
        t.map(|t| t.to_datetime().format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    set("date_from", day(content.date_from));
    set("date_to", day(content.date_to));
    for (k, v) in [
        ("facts", &content.facts),
        ("relevance", &content.relevance),
        ("custodian", &content.custodian),
        ("necessity", &content.necessity),
        ("emergency_justification", &content.emergency_justification),
    ] {
        set(k, v.clone().unwrap_or_default());
    }
    for (k, v) in [
        ("follow_up_intent", content.follow_up_intent),
        ("emergency", content.emergency),
        ("non_disclosure", content.non_disclosure),
    ] {
        if v {
            set(k, "yes".into());
        }
    }
    set(
        "cybertipline_submitted_at",
        content
            .cybertipline_submitted_at
            .map(|t| t.to_string())
            .unwrap_or_default(),
    );
    typed
}

fn row_count(typed: &BTreeMap<String, String>) -> usize {
    typed
        .get("rows")
        .and_then(|r| r.parse::<usize>().ok())
        .unwrap_or(ROWS)
        .clamp(1, ROWS_MAX)
}

/// The form's fields as the API's body (every content field: a blank one is
/// `null`, an unticked box `false`, so that an edit clears what was
/// removed), and the form row each identifier sent came from.
fn body_of(
    typed: &BTreeMap<String, String>,
    basis: &crate::domain::legal_bases::LegalBasis,
) -> Result<(Map<String, Value>, Vec<usize>), Error> {
    let text = |k: &str| typed.get(k).map(|v| v.trim()).unwrap_or_default();
    let asked = asked_by(basis);
    let asks = |field: &str| asked.iter().any(|a| a.field == field);
    let mut body = Map::new();
    let mut put = |k: &str, v: Value| {
        body.insert(k.to_owned(), v);
    };
    let kind = match text("kind") {
        "" => basis.kinds[0].as_str(),
        k => k,
    };
    put("kind", json!(kind));
    put("legal_basis", json!(basis.id));
    put("responder_id", json!(text("responder_id")));
    let categories: Vec<&str> = basis
        .data_categories
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !text(&format!("category.{c}")).is_empty())
        .collect();
    put("data_categories", json!(categories));
    let mut identifiers = Vec::new();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for n in 0..row_count(typed) {
        let field = |f: &str| text(&format!("id{n}.{f}"));
        if field("value").is_empty() && field("port").is_empty() && field("observed_at").is_empty()
        {
            continue;
        }
        let port = match field("port") {
            "" => Value::Null,
            p => match p.parse::<i64>() {
                Ok(p) => json!(p),
                Err(_) => {
                    problems.push(FieldError {
                        field: format!("identifiers[{}].port", rows.len()),
                        message: format!("`{p}` is not a port: a whole number, such as 443"),
                    });
                    Value::Null
                }
            },
        };
        let observed = match field("observed_at") {
            "" => Value::Null,
            t => json!(t),
        };
        identifiers.push(json!({
            "type": field("type"), "value": field("value"), "port": port, "observed_at": observed,
        }));
        rows.push(n);
    }
    put("identifiers", Value::Array(identifiers));
    let period = asks("date_from");
    let day = |k: &str, time: &str| -> Result<Value, FieldError> {
        match text(k) {
            "" => Ok(Value::Null),
            _ if !period => Ok(Value::Null),
            d => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map(|d| json!(format!("{d}T{time}Z")))
                .map_err(|_| FieldError {
                    field: k.to_owned(),
                    message: "is a day, such as 2026-11-01".into(),
                }),
        }
    };
    for (k, time) in [("date_from", "00:00:00"), ("date_to", "23:59:59")] {
        match day(k, time) {
            Ok(v) => put(k, v),
            Err(e) => problems.push(e),
        }
    }
    for k in ["facts", "relevance", "custodian", "necessity"] {
        put(
            k,
            match text(k) {
                "" => Value::Null,
                t => json!(t),
            },
        );
    }
    let ticked = |k: &str| asks(k) && !text(k).is_empty();
    put("follow_up_intent", json!(ticked("follow_up_intent")));
    put("emergency", json!(ticked("emergency")));
    put(
        "emergency_justification",
        match text("emergency_justification") {
            t if !t.is_empty() && asks("emergency_justification") => json!(t),
            _ => Value::Null,
        },
    );
    put("non_disclosure", json!(ticked("non_disclosure")));
    put(
        "cybertipline_submitted_at",
        match text("cybertipline_submitted_at") {
            t if !t.is_empty() && asks("cybertipline_submitted_at") => json!(t),
            _ => Value::Null,
        },
    );
    if problems.is_empty() {
        Ok((body, rows))
    } else {
        Err(Error::invalid(problems))
    }
}

/// The retention risk of one identifier row, in words.
fn risk_of(
    observed_at: &str,
    categories: &[DataCategory],
    retention: &BTreeMap<DataCategory, u32>,
    now: UtcTime,
) -> Option<Risk> {
    let seen = parse_instant(observed_at).ok()?;
    let end = retention_end(seen, categories, retention)?;
    let past = end.at <= now;
    Some(Risk {
        text: format!(
            "The responder keeps {} data {} days: {} {}",
            end.category,
            end.days,
            if past {
                "gone since about"
            } else {
                "gone from about"
            },
            minute(end.at),
        ),
        past,
    })
}

fn retention_of(org: Option<&OrganisationRow>) -> BTreeMap<DataCategory, u32> {
    org.and_then(|o| serde_json::from_str(&o.retention_days).ok())
        .unwrap_or_default()
}

fn render(
    state: &AppState,
    visitor: &Visitor,
    context: Context,
    mut typed: BTreeMap<String, String>,
    problems: BTreeMap<String, String>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, Failure> {
    let Context { case, offer, mode } = context;
    let chosen_responder = offer.responder.clone();
    let basis = chosen_responder
        .as_ref()
        .and_then(|_| {
            offer
                .bases
                .iter()
                .find(|b| Some(b.as_str()) == typed.get("legal_basis").map(String::as_str))
        })
        .and_then(|id| state.catalogue.get(id));
    if basis.is_none() {
        typed.remove("legal_basis");
    }
    let (heading, here, post_to, parent, moved, editing) = match &mode {
        Mode::New => (
            format!("File a request in {}", case.reference),
            format!("/cases/{}/requests/new", case.id),
            format!("/cases/{}/requests", case.id),
            None,
            None,
            false,
        ),
        Mode::Edit { id, reference } => (
            format!("Draft {reference}"),
            format!("/requests/{id}/edit"),
            format!("/requests/{id}/edit"),
            None,
            None,
            true,
        ),
        Mode::FollowUp { parent, moved } => (
            format!("Follow up {}", parent.reference),
            format!("/requests/{}/follow-up", parent.id),
            format!("/requests/{}/follow-up", parent.id),
            Some((parent.id.clone(), parent.reference.clone())),
            moved.clone(),
            false,
        ),
    };
    let retention = retention_of(chosen_responder.as_ref());
    let categories: Vec<DataCategory> = basis
        .map(|b| {
            b.data_categories
                .iter()
                .copied()
                .filter(|c| typed.contains_key(&format!("category.{c}")))
                .collect()
        })
        .unwrap_or_default();
    let now = UtcTime::now();
    let rows = (0..row_count(&typed))
        .map(|n| {
            let field = |f: &str| {
                typed
                    .get(&format!("id{n}.{f}"))
                    .cloned()
                    .unwrap_or_default()
            };
            IdentifierRow {
                n,
                kind: field("type"),
                value: field("value"),
                port: field("port"),
                risk: risk_of(&field("observed_at"), &categories, &retention, now),
                observed_at: field("observed_at"),
            }
        })
        .collect();
    let responder_label = |o: &OrganisationRow| {
        let kind = match o.kind {
            OrganisationKind::CentralAuthority => "central authority",
            _ => "service provider",
        };
        format!("{} ({}, {kind})", o.name, o.jurisdiction)
    };
    let html = FormPage {
        chrome: visitor.chrome(),
        heading,
        here,
        post_to,
        case_id: case.id.clone(),
        case_reference: case.reference.clone(),
        case_title: case.title.clone(),
        parent,
        moved,
        notice,
        responders: offer
            .responders
            .iter()
            .map(|o| Option_ {
                value: o.id.clone(),
                label: responder_label(o),
                chosen: chosen_responder.as_ref().is_some_and(|c| c.id == o.id),
            })
            .collect(),
        responder: chosen_responder
            .as_ref()
            .map(|o| (o.id.clone(), responder_label(o))),
        bases: offer
            .bases
            .iter()
            .filter_map(|id| state.catalogue.get(id))
            .map(|b| BasisChoice {
                id: b.id.clone(),
                title: b.title.clone(),
                instrument: b.instrument.clone(),
                citation: b.citation.clone(),
                chosen: basis.is_some_and(|c| c.id == b.id),
            })
            .collect(),
        basis: basis.map(|b| (b.id.clone(), b.title.clone(), b.citation.clone())),
        kinds: basis
            .map(|b| {
                b.kinds
                    .iter()
                    .map(|k| Option_ {
                        value: k.as_str().to_owned(),
                        label: words(k.as_str()),
                        chosen: typed.get("kind").map(String::as_str) == Some(k.as_str()),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        categories: basis
            .map(|b| {
                b.data_categories
                    .iter()
                    .map(|c| Option_ {
                        value: format!("category.{c}"),
                        label: words(c.as_str()),
                        chosen: typed.contains_key(&format!("category.{c}")),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        asked: basis.map(asked_by).unwrap_or_default(),
        rows,
        identifier_types: IdentifierType::ALL
            .iter()
            .map(|t| (t.as_str(), words(t.as_str())))
            .collect(),
        typed,
        problems,
        retention: serde_json::to_string(&retention).map_err(Error::internal)?,
        editing,
        texts: [
            ("facts", "The facts of the offence", 20_000),
            ("relevance", "How the data relates to the offence", 5_000),
            ("custodian", "Who holds the data, where", 5_000),
            ("necessity", "Why the measure is necessary", 5_000),
        ]
        .into_iter()
        .filter(|(name, ..)| basis.is_some_and(|b| asked_by(b).iter().any(|a| a.field == *name)))
        .collect(),
    };
    Ok(page(status, super::pages::render(&html)?))
}

#[derive(Debug, Default, Deserialize)]
pub struct StepQuery {
    #[serde(default)]
    responder: String,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    moved: String,
    #[serde(default)]
    saved: String,
}

/// Reads the case (of the officer's agency only) and what it may offer.
async fn read_case(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    case_id: String,
    responder: Option<String>,
) -> Result<(CaseRow, Offer), Failure> {
    let agency = agency_of(visitor)?;
    let viewer = visitor.viewer()?;
    let app = state.clone();
    let found = state
        .db_for(&visitor.principal(), move |conn| {
            let Some(case) = crate::repo::cases::get_for_agency(conn, &case_id, &agency)? else {
                return Ok(None);
            };
            let offer = crate::service::requests::offer(
                conn,
                &app.catalogue,
                viewer.jurisdiction.as_deref().unwrap_or_default(),
                &case,
                responder.as_deref(),
            )?;
            Ok(Some((case, offer)))
        })
        .await?;
    found.ok_or_else(|| Failure(Error::not_found("no such case")))
}

/// Reads a request of the officer's agency with its case and what the form
/// may offer for the responder `responder` picks from it; the 404 page for a
/// request that is not the officer's agency's.
async fn read_request(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    id: String,
    responder: impl FnOnce(&RequestRow) -> Option<String> + Send + 'static,
) -> Result<(RequestRow, CaseRow, Offer), Failure> {
    let agency = agency_of(visitor)?;
    let viewer = visitor.viewer()?;
    let app = state.clone();
    let found = state
        .db_for(&visitor.principal(), move |conn| {
            let row = crate::service::requests::visible(conn, &viewer, &id)?;
            if !viewer.relations(&row.access()).creator {
                return Ok(None);
            }
            let Some(case) = crate::repo::cases::get_for_agency(conn, &row.case_id, &agency)?
            else {
                return Ok(None);
            };
            let responder = responder(&row);
            let offer = crate::service::requests::offer(
                conn,
                &app.catalogue,
                &row.issuing_jurisdiction,
                &case,
                responder.as_deref(),
            )?;
            Ok(Some((row, case, offer)))
        })
        .await?;
    found.ok_or_else(|| Failure(Error::not_found("no such request")))
}

/// The responder chosen, else the request's own.
fn or_its_own(chosen: Option<String>) -> impl FnOnce(&RequestRow) -> Option<String> + Send {
    move |row| chosen.or_else(|| Some(row.responder_id.clone()))
}

fn chosen(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.trim().to_owned())
}

pub async fn new_form(
    state: web::Data<AppState>,
    visitor: Visitor,
    case_id: web::Path<String>,
    query: web::Query<StepQuery>,
) -> Result<HttpResponse, Failure> {
    let query = query.into_inner();
    let (case, offer) = read_case(
        &state,
        &visitor,
        case_id.into_inner(),
        chosen(&query.responder),
    )
    .await?;
    let mut typed = BTreeMap::from([
        ("responder_id".to_owned(), query.responder),
        ("legal_basis".to_owned(), query.basis),
        ("rows".to_owned(), ROWS.to_string()),
        ("follow_up_intent".to_owned(), "yes".to_owned()),
        ("non_disclosure".to_owned(), "yes".to_owned()),
    ]);
    typed.retain(|_, v| !v.is_empty());
    let context = Context {
        case,
        offer,
        mode: Mode::New,
    };
    render(
        &state,
        &visitor,
        context,
        typed,
        BTreeMap::new(),
        None,
        StatusCode::OK,
    )
}

pub async fn edit_form(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    query: web::Query<StepQuery>,
) -> Result<HttpResponse, Failure> {
    let query = query.into_inner();
    let (row, case, offer) = read_request(
        &state,
        &visitor,
        id.into_inner(),
        or_its_own(chosen(&query.responder)),
    )
    .await?;
    if row.status != Status::Draft {
        // Only a draft is edited: the page says what it now is.
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/requests/{}", row.id)))
            .finish());
    }
    let mut typed = typed_of(&crate::service::requests::content_of(&row)?);
    typed.insert("version".into(), row.version.to_string());
    if let Some(responder) = chosen(&query.responder) {
        typed.insert("responder_id".into(), responder);
        typed.remove("legal_basis");
    }
    if let Some(basis) = chosen(&query.basis) {
        typed.insert("legal_basis".into(), basis);
    }
    let notice = (!query.saved.is_empty()).then(|| {
        format!(
            "Saved as a draft at {}. Nothing is sent until it is submitted.",
            minute(row.updated_at)
        )
    });
    let context = Context {
        case,
        offer,
        mode: Mode::Edit {
            id: row.id.clone(),
            reference: row.reference.clone(),
        },
    };
    render(
        &state,
        &visitor,
        context,
        typed,
        BTreeMap::new(),
        notice,
        StatusCode::OK,
    )
}

/// The "data moved" report `n` of a request: where it says the data is.
fn moved_report(row: &RequestRow, n: &str) -> Option<(Option<String>, Option<String>)> {
    let n: usize = n.parse().ok()?;
    let response: Value = serde_json::from_str(&row.response).ok()?;
    let report = response.get("moved")?.as_array()?.get(n)?;
    let text = |k: &str| report.get(k).and_then(Value::as_str).map(str::to_owned);
    Some((text("to_provider_id"), text("to_jurisdiction")))
}

pub async fn follow_up_form(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    query: web::Query<StepQuery>,
) -> Result<HttpResponse, Failure> {
    let query = query.into_inner();
    let id = id.into_inner();
    // Addressed where the data went, when the follow-up comes from a report
    // of it; else to the same responder, unless another was chosen.
    let (asked, moved) = (chosen(&query.responder), query.moved.clone());
    let (parent, case, offer) = read_request(&state, &visitor, id, move |row| {
        asked.or_else(|| match moved_report(row, &moved) {
            Some((provider, _)) => provider,
            None => Some(row.responder_id.clone()),
        })
    })
    .await?;
    let report = moved_report(&parent, &query.moved);
    let responder = offer.responder.as_ref().map(|o| o.id.clone());
    if parent.transmitted_at.is_none() {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/requests/{}", parent.id)))
            .finish());
    }
    let mut typed = typed_of(&crate::service::requests::content_of(&parent)?);
    // A follow-up starts from what its parent asked, not from its choices.
    for k in ["legal_basis", "emergency", "emergency_justification"] {
        typed.remove(k);
    }
    typed.insert("responder_id".into(), responder.unwrap_or_default());
    if report.is_none() {
        typed.insert("kind".into(), RequestKind::Production.as_str().into());
    }
    if let Some(basis) = chosen(&query.basis) {
        typed.insert("legal_basis".into(), basis);
    }
    let moved = report.map(|(provider, jurisdiction)| {
        let whom = provider
            .and_then(|p| offer.responders.iter().find(|o| o.id == p))
            .map_or("a provider it did not name".to_owned(), |o| o.name.clone());
        match jurisdiction {
            Some(j) => format!(
                "{} answered that the data is held by {whom} in {j}.",
                parent.reference
            ),
            None => format!(
                "{} answered that the data is held by {whom}.",
                parent.reference
            ),
        }
    });
    let context = Context {
        case,
        offer,
        mode: Mode::FollowUp {
            parent: Box::new(parent),
            moved,
        },
    };
    render(
        &state,
        &visitor,
        context,
        typed,
        BTreeMap::new(),
        None,
        StatusCode::OK,
    )
}

/// What a posted form asks for: another look (more rows, the retention
/// shown), a saved draft, or a saved and submitted one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Intent {
    More,
    Save,
    Submit,
}

fn intent_of(typed: &BTreeMap<String, String>) -> Intent {
    match typed.get("intent").map(String::as_str) {
        Some("more") => Intent::More,
        Some("submit") => Intent::Submit,
        _ => Intent::Save,
    }
}

/// Saves the draft the form describes (a new one, an edit, or a follow-up)
/// and returns it.
async fn save(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    mode: &Mode,
    case_id: &str,
    body: Map<String, Value>,
    version: Option<i64>,
) -> Result<RequestRow, Error> {
    let (viewer, actor, app) = (visitor.viewer()?, visitor.actor(), state.clone());
    match mode {
        Mode::Edit { id, .. } => {
            let mut body = body;
            body.insert("version".into(), json!(version.unwrap_or_default()));
            let patch: crate::api::requests::PatchIn = serde_json::from_value(Value::Object(body))
                .map_err(|e| Error::malformed(e.to_string()))?;
            let (version, patch) = patch.parse()?;
            let id = id.clone();
            state
                .write_for(&visitor.principal(), move |conn| {
                    crate::service::requests::edit(
                        conn,
                        &viewer,
                        &actor,
                        &app.rules(),
                        &id,
                        version,
                        patch,
                    )
                })
                .await
        }
        Mode::New | Mode::FollowUp { .. } => {
            let mut body = body;
            if matches!(mode, Mode::New) {
                body.insert("case_id".into(), json!(case_id));
            }
            let new: crate::api::requests::RequestIn = serde_json::from_value(Value::Object(body))
                .map_err(|e| Error::malformed(e.to_string()))?;
            let (_, drafted) = new.parse()?;
            let case_id = case_id.to_owned();
            let parent = match mode {
                Mode::FollowUp { parent, .. } => Some(parent.id.clone()),
                _ => None,
            };
            state
                .write_for(&visitor.principal(), move |conn| match parent {
                    Some(parent) => crate::service::requests::follow_up(
                        conn,
                        &viewer,
                        &actor,
                        &app.rules(),
                        &parent,
                        drafted,
                    ),
                    None => crate::service::requests::create(
                        conn,
                        &viewer,
                        &actor,
                        &app.rules(),
                        &case_id,
                        drafted,
                        None,
                    ),
                })
                .await
        }
    }
}

async fn submit(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    row: &RequestRow,
) -> Result<RequestRow, Error> {
    let (viewer, actor, app) = (visitor.viewer()?, visitor.actor(), state.clone());
    let (id, version) = (row.id.clone(), row.version);
    state
        .write_for(&visitor.principal(), move |conn| {
            crate::service::requests::transition(
                conn,
                &viewer,
                &actor,
                &app.rules(),
                &id,
                Action::Submit,
                version,
                Step::Note(None),
            )
        })
        .await
}

fn refused(e: &Error) -> bool {
    matches!(
        e.kind(),
        Kind::Invalid(_) | Kind::Malformed(_) | Kind::Forbidden(_) | Kind::Conflict { .. }
    )
}

/// Takes a posted form in `mode`: shows it again, saves it, or saves and
/// submits it. A refusal shows the form as typed with each problem next to
/// its field.
async fn take(
    state: web::Data<AppState>,
    visitor: Visitor,
    context: Context,
    mut typed: BTreeMap<String, String>,
) -> Result<HttpResponse, Failure> {
    super::answers::check_token(&visitor, &typed)?;
    let intent = intent_of(&typed);
    if intent == Intent::More {
        let rows = (row_count(&typed) + ROWS).min(ROWS_MAX);
        typed.insert("rows".into(), rows.to_string());
        return render(
            &state,
            &visitor,
            context,
            typed,
            BTreeMap::new(),
            None,
            StatusCode::OK,
        );
    }
    let basis = context.offer.responder.as_ref().and_then(|_| {
        typed
            .get("legal_basis")
            .filter(|b| context.offer.bases.contains(b))
            .and_then(|b| state.catalogue.get(b))
    });
    let Some(basis) = basis else {
        let problems = BTreeMap::from([(
            "legal_basis".to_owned(),
            "choose the responder, then a legal basis this pair may use".to_owned(),
        )]);
        return render(
            &state,
            &visitor,
            context,
            typed,
            problems,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let version = typed.get("version").and_then(|v| v.parse::<i64>().ok());
    let saved = match body_of(&typed, basis) {
        Ok((body, rows)) => save(
            &state,
            &visitor,
            &context.mode,
            &context.case.id,
            body,
            version,
        )
        .await
        .map_err(|e| (e, rows)),
        Err(e) => Err((e, Vec::new())),
    };
    let row = match saved {
        Ok(row) => row,
        Err((e, rows)) if refused(&e) => {
            let status = e.status_code();
            let problems = problems_of(&e, &rows);
            return render(&state, &visitor, context, typed, problems, None, status);
        }
        Err((e, _)) => return Err(Failure(e)),
    };
    if intent == Intent::Save {
        return Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/requests/{}/edit?saved=1", row.id),
            ))
            .finish());
    }
    match submit(&state, &visitor, &row).await {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/requests/{}?done=submit", row.id),
            ))
            .finish()),
        Err(e) if refused(&e) => {
            // The draft is kept; what stops it is said next to its field,
            // as missing (the items' words name what is to be given).
            let (_, rows) = body_of(&typed, basis)?;
            let mut problems = problems_of(&e, &rows);
            for (field, message) in problems.iter_mut() {
                if field != "legal_basis" && !field.is_empty() {
                    *message = format!("Missing: {message}");
                }
            }
            typed.insert("version".into(), row.version.to_string());
            let context = Context {
                mode: Mode::Edit {
                    id: row.id.clone(),
                    reference: row.reference.clone(),
                },
                ..context
            };
            let notice = format!(
                "Saved as draft {}, but not submitted: what it still lacks is marked below.",
                row.reference
            );
            render(
                &state,
                &visitor,
                context,
                typed,
                problems,
                Some(notice),
                e.status_code(),
            )
        }
        Err(e) => Err(Failure(e)),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    visitor: Visitor,
    case_id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let typed = form.into_inner();
    let responder = typed.get("responder_id").cloned();
    let (case, offer) = read_case(&state, &visitor, case_id.into_inner(), responder).await?;
    let context = Context {
        case,
        offer,
        mode: Mode::New,
    };
    take(state, visitor, context, typed).await
}

pub async fn update(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let typed = form.into_inner();
    let responder = typed.get("responder_id").cloned();
    let (row, case, offer) =
        read_request(&state, &visitor, id.into_inner(), or_its_own(responder)).await?;
    let context = Context {
        case,
        offer,
        mode: Mode::Edit {
            id: row.id,
            reference: row.reference,
        },
    };
    take(state, visitor, context, typed).await
}

pub async fn file_follow_up(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let typed = form.into_inner();
    let responder = typed.get("responder_id").cloned();
    let (parent, case, offer) =
        read_request(&state, &visitor, id.into_inner(), or_its_own(responder)).await?;
    let context = Context {
        case,
        offer,
        mode: Mode::FollowUp {
            parent: Box::new(parent),
            moved: None,
        },
    };
    take(state, visitor, context, typed).await
}

#[derive(Debug, Deserialize)]
pub struct RiskQuery {
    #[serde(default)]
    responder: String,
    #[serde(default)]
    observed_at: String,
    /// Data categories, comma-separated.
    #[serde(default)]
    categories: String,
}

/// `GET /retention`: the retention risk of one identifier, as the form's
/// script shows it while the officer types (the same words the page shows
/// without a script, from the same rule).
pub async fn risk(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<RiskQuery>,
) -> Result<HttpResponse, Failure> {
    agency_of(&visitor)?;
    let RiskQuery {
        responder,
        observed_at,
        categories,
    } = query.into_inner();
    let categories: Vec<DataCategory> = categories
        .split(',')
        .filter_map(|c| DataCategory::parse(c.trim()).ok())
        .collect();
    let org = state
        .db_for(&visitor.principal(), move |conn| {
            Ok(crate::repo::organisations::get(conn, &responder)?)
        })
        .await?;
    let retention = retention_of(org.as_ref());
    let said = match risk_of(&observed_at, &categories, &retention, UtcTime::now()) {
        Some(risk) => json!({ "text": risk.text, "past": risk.past }),
        None => json!({ "text": "", "past": false }),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(said))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::legal_bases::Catalogue;

    fn typed(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The form, filled in as a person would, reads into the API's body and
    /// parser; blank rows are skipped and problems land on the row typed.
    #[test]
    fn the_form_is_read_as_the_api_reads_a_request() {
        let catalogue = Catalogue::embedded();
        let basis = catalogue.get("budapest-29").unwrap();
        let form = typed(&[
            ("responder_id", "01a2235d-d22a-7c3e-8f00-5ad0c1f1e2a4"),
            ("legal_basis", "budapest-29"),
            ("kind", "preservation"),
            ("category.subscriber", "yes"),
            ("category.traffic", "yes"),
            ("rows", "3"),
            ("id0.type", "account"),
            ("id0.value", "kid_hunter_99"),
            ("id1.type", "ip"),
            ("id1.value", ""),
            ("id2.type", "ip"),
            ("id2.value", "198.51.100.23"),
            ("id2.port", "40112"),
            ("id2.observed_at", "2026-11-20T21:15:03+01:00"),
            ("date_from", "2026-11-01"),
            ("date_to", "2026-11-25"),
            ("facts", " Grooming. "),
            ("relevance", "The account sent it."),
            ("necessity", "Logs go in 30 days."),
            ("custodian", ""),
            ("follow_up_intent", "yes"),
            ("emergency", "yes"),
            ("non_disclosure", "yes"),
        ]);
        let (mut body, rows) = body_of(&form, basis).unwrap();
        assert_eq!(rows, vec![0, 2], "the blank row 1 is not sent");
        body.insert(
            "case_id".into(),
            json!("01a2235d-d22a-7c3e-8f00-5ad0c1f1e2a5"),
        );
        let new: crate::api::requests::RequestIn =
            serde_json::from_value(Value::Object(body.clone())).unwrap();
        let (_, drafted) = new.parse().unwrap();
        let c = drafted.content;
        assert_eq!(c.kind, RequestKind::Preservation);
        assert_eq!(c.identifiers.len(), 2);
        assert_eq!(c.identifiers[1].port, Some(40112));
        assert_eq!(
            c.identifiers[1]
                .observed_at
                .map(|t| t.to_string())
                .as_deref(),
            Some("2026-11-20T20:15:03Z")
        );
        assert_eq!(
            c.date_to.map(|t| t.to_string()).as_deref(),
            Some("2026-11-25T23:59:59Z")
        );
        assert_eq!(c.facts.as_deref(), Some("Grooming."));
        assert_eq!(c.custodian, None);
        assert!(c.follow_up_intent && c.non_disclosure);
        // Art. 29 has no emergency path: the box is not asked, so not sent.
        assert!(!c.emergency);
        // The same body edits a draft, with its version.
        body.remove("case_id");
        body.insert("version".into(), json!(3));
        let patch: crate::api::requests::PatchIn =
            serde_json::from_value(Value::Object(body)).unwrap();
        let (version, patch) = patch.parse().unwrap();
        assert_eq!(version, 3);
        assert_eq!(patch.custodian, Some(None), "a blank field clears it");
        // And what the form shows of a request reads back into the same body.
        let again = typed_of(&c);
        assert_eq!(again["id1.port"], "40112");
        assert_eq!(again["date_from"], "2026-11-01");
        // A port that is not a number is refused on its own row.
        let mut wrong = form.clone();
        wrong.insert("id2.port".into(), "https".into());
        let err = body_of(&wrong, basis).unwrap_err();
        let problems = problems_of(&err, &[0, 2]);
        assert!(problems["id2.port"].contains("not a port"), "{problems:?}");
    }

    #[test]
    fn the_api_s_names_for_fields_are_the_form_s() {
        assert_eq!(form_key("identifiers[1].value", &[0, 4]), "id4.value");
        assert_eq!(form_key("data_categories[0]", &[]), "data_categories");
        assert_eq!(form_key("facts", &[]), "facts");
    }

    #[test]
    fn an_identifier_s_retention_is_said_with_its_end() {
        let retention =
            BTreeMap::from([(DataCategory::Traffic, 90), (DataCategory::Subscriber, 365)]);
        let now = parse_instant("2026-12-01T00:00:00Z").unwrap();
        let risk = risk_of(
            "2026-11-20T21:15:03+01:00",
            &[DataCategory::Subscriber, DataCategory::Traffic],
            &retention,
            now,
        )
        .unwrap();
        assert!(!risk.past);
        assert!(risk.text.contains("traffic data 90 days"), "{}", risk.text);
        assert!(risk.text.contains("2027-02-18 20:15 UTC"), "{}", risk.text);
        let past = risk_of(
            "2026-01-01T00:00:00Z",
            &[DataCategory::Traffic],
            &retention,
            now,
        )
        .unwrap();
        assert!(past.past);
        assert!(risk_of("yesterday", &[DataCategory::Traffic], &retention, now).is_none());
        assert!(
            risk_of(
                "2026-01-01T00:00:00Z",
                &[DataCategory::Content],
                &retention,
                now
            )
            .is_none()
        );
    }
}
