//! Requests: drafting, editing, follow-ups and every workflow transition, each in
//! one transaction with its audit event.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::db::{DbConn, lock_row, new_id};
use crate::domain::access::Viewer;
use crate::domain::audit::Actor;
use crate::domain::legal_bases::{Catalogue, ClockKind, LegalBasis, Period, Route, StopEvent};
use crate::domain::reference::{DataCategory, OrganisationKind, RequestKind};
use crate::domain::requests::{
    Content, OffenceCategory, Parties, Patch, check_basis, missing_for_submission,
};
use crate::domain::steps;
use crate::domain::validation::FieldError;
use crate::domain::workflow::{self, Action, Facts, Refusal, Status};
use crate::error::Error;
use crate::repo;
use crate::repo::requests::RequestRow;
use crate::service::deadlines::{self as clocks, Rules};
use crate::time::UtcTime;

/// A request's content as the creator wrote it, before the responder and the
/// executing jurisdiction are resolved against reference data.
#[derive(Debug, Clone)]
pub struct Drafted {
    pub content: Content,
    /// The responder was not named: for a request routed to a central authority
    /// it is the central authority of the executing jurisdiction.
    pub responder_named: bool,
    /// The executing jurisdiction was not named: it is the responder's.
    pub jurisdiction_named: bool,
}

fn field(field: &str, message: impl Into<String>) -> Error {
    Error::field(field, message)
}

fn memberships(conn: &mut DbConn, code: &str) -> Result<Vec<String>, Error> {
    let row = repo::jurisdictions::get(conn, code)?.ok_or_else(|| {
        field(
            "executing_jurisdiction",
            format!("no jurisdiction `{code}`"),
        )
    })?;
    serde_json::from_str(&row.memberships).map_err(Error::internal)
}

/// Fills in the responder and executing jurisdiction and checks the whole
/// content against the legal basis and the parties.
fn resolve(
    conn: &mut DbConn,
    catalogue: &Catalogue,
    issuing_jurisdiction: &str,
    case_offences: &[OffenceCategory],
    mut drafted: Drafted,
) -> Result<Content, Error> {
    if drafted
        .content
        .cybertipline_submitted_at
        .is_some_and(|at| at > UtcTime::now())
    {
        return Err(field(
            "cybertipline_submitted_at",
            "a CyberTipline submission cannot lie in the future",
        ));
    }
    let basis = catalogue.get(&drafted.content.legal_basis).ok_or_else(|| {
        field(
            "legal_basis",
            format!(
                "`{}` is not in the catalogue (GET /api/v1/legal-bases)",
                drafted.content.legal_basis
            ),
        )
    })?;
    if !drafted.responder_named {
        if basis.route != Route::CentralAuthority || !drafted.jurisdiction_named {
            return Err(field(
                "responder_id",
                "name the organisation the request is addressed to",
            ));
        }
        drafted.content.responder_id =
            sole_central_authority(conn, &drafted.content.executing_jurisdiction)?;
    }
    let responder =
        repo::organisations::get(conn, &drafted.content.responder_id)?.ok_or_else(|| {
            field(
                "responder_id",
                format!("no organisation `{}`", drafted.content.responder_id),
            )
        })?;
    if !drafted.jurisdiction_named {
        drafted.content.executing_jurisdiction = responder.jurisdiction.clone();
    }
    let responder_kind = responder.kind;
    if responder_kind == OrganisationKind::Agency {
        return Err(field(
            "responder_id",
            "requests go to a service provider or a central authority, not an agency",
        ));
    }
    let issuing = memberships(conn, issuing_jurisdiction)?;
    let executing = memberships(conn, &drafted.content.executing_jurisdiction)?;
    let errors = check_basis(
        &drafted.content,
        basis,
        &Parties {
            responder_kind,
            responder_jurisdiction: &responder.jurisdiction,
            issuing_jurisdiction,
            issuing_memberships: &issuing,
            executing_memberships: &executing,
            case_offences,
        },
    );
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    Ok(drafted.content)
}

/// What a form for a new request offers an officer of `issuing_jurisdiction`
/// in `case`: whom a request can go to, and for the responder chosen the
/// legal bases the pair may use (`domain::requests::usable_bases`).
pub struct Offer {
    pub responders: Vec<repo::organisations::OrganisationRow>,
    pub responder: Option<repo::organisations::OrganisationRow>,
    pub bases: Vec<String>,
}

pub fn offer(
    conn: &mut DbConn,
    catalogue: &Catalogue,
    issuing_jurisdiction: &str,
    case: &repo::cases::CaseRow,
    responder_id: Option<&str>,
) -> Result<Offer, Error> {
    let responders = repo::organisations::responders(conn)?;
    let responder = responders
        .iter()
        .find(|o| Some(o.id.as_str()) == responder_id)
        .cloned();
    let bases = match &responder {
        Some(responder) => {
            let offences: Vec<OffenceCategory> =
                serde_json::from_str(&case.offence_categories).map_err(Error::internal)?;
            let issuing = memberships(conn, issuing_jurisdiction)?;
            let executing = memberships(conn, &responder.jurisdiction)?;
            let parties = Parties {
                responder_kind: responder.kind,
                responder_jurisdiction: &responder.jurisdiction,
                issuing_jurisdiction,
                issuing_memberships: &issuing,
                executing_memberships: &executing,
                case_offences: &offences,
            };
            crate::domain::requests::usable_bases(catalogue, &parties)
                .into_iter()
                .map(|b| b.id.clone())
                .collect()
        }
        None => Vec::new(),
    };
    Ok(Offer {
        responders,
        responder,
        bases,
    })
}

/// The central authority a request goes to when the officer named only the
/// executing jurisdiction: there must be exactly one on record.
fn sole_central_authority(conn: &mut DbConn, jurisdiction: &str) -> Result<String, Error> {
    let authorities = repo::organisations::list(
        conn,
        &repo::organisations::Filter {
            kind: Some(OrganisationKind::CentralAuthority.as_str().into()),
            jurisdiction: Some(jurisdiction.to_owned()),
        },
        &repo::PageRequest {
            cursor: None,
            limit: 2,
        },
    )?;
    match authorities.items.as_slice() {
        [only] => Ok(only.id.clone()),
        [] => Err(field(
            "responder_id",
            format!("{jurisdiction} has no central authority on record: name the responder"),
        )),
        _ => Err(field(
            "responder_id",
            format!("{jurisdiction} has several central authorities: name the responder"),
        )),
    }
}

/// A reference people can quote on the telephone: the year and 12 hex digits
/// of the id's random part.
fn new_reference(id: &str) -> String {
    let year = chrono::Utc::now().format("%Y");
    let random: String = id.chars().filter(|c| *c != '-').skip(20).collect();
    format!("R-{year}-{}", random.to_uppercase())
}

fn store_content(row: &mut RequestRow, content: &Content) -> Result<(), Error> {
    row.kind = content.kind;
    row.legal_basis = content.legal_basis.clone();
    row.responder_id = content.responder_id.clone();
    row.executing_jurisdiction = content.executing_jurisdiction.clone();
    row.data_categories =
        serde_json::to_string(&content.data_categories).map_err(Error::internal)?;
    row.identifiers = serde_json::to_string(&content.identifiers).map_err(Error::internal)?;
    row.date_from = content.date_from;
    row.date_to = content.date_to;
    row.facts = content.facts.clone();
    row.necessity = content.necessity.clone();
    row.relevance = content.relevance.clone();
    row.custodian = content.custodian.clone();
    row.follow_up_intent = content.follow_up_intent;
    row.emergency = content.emergency;
    row.emergency_justification = content.emergency_justification.clone();
    row.non_disclosure = content.non_disclosure;
    row.cybertipline_submitted_at = content.cybertipline_submitted_at;
    Ok(())
}

/// The content of a stored request.
pub fn content_of(row: &RequestRow) -> Result<Content, Error> {
    Ok(Content {
        kind: row.kind,
        legal_basis: row.legal_basis.clone(),
        responder_id: row.responder_id.clone(),
        executing_jurisdiction: row.executing_jurisdiction.clone(),
        data_categories: serde_json::from_str(&row.data_categories).map_err(Error::internal)?,
        identifiers: serde_json::from_str(&row.identifiers).map_err(Error::internal)?,
        date_from: row.date_from,
        date_to: row.date_to,
        facts: row.facts.clone(),
        necessity: row.necessity.clone(),
        relevance: row.relevance.clone(),
        custodian: row.custodian.clone(),
        follow_up_intent: row.follow_up_intent,
        emergency: row.emergency,
        emergency_justification: row.emergency_justification.clone(),
        non_disclosure: row.non_disclosure,
        cybertipline_submitted_at: row.cybertipline_submitted_at,
    })
}

/// The offences of a case, for the instruments limited to some.
fn case_offences(conn: &mut DbConn, row: &RequestRow) -> Result<Vec<OffenceCategory>, Error> {
    let case = repo::cases::get_for_agency(conn, &row.case_id, &row.agency_id)?
        .ok_or_else(|| Error::internal(format!("the case of request {} is missing", row.id)))?;
    serde_json::from_str(&case.offence_categories).map_err(Error::internal)
}

/// An unknown basis is refused before anything is stored; `direct` only
/// stands in while a draft names none the catalogue has.
fn route_of(catalogue: &Catalogue, legal_basis: &str) -> Route {
    catalogue
        .get(legal_basis)
        .map_or(Route::Direct, |b| b.route)
}

pub(crate) fn audit(
    conn: &mut DbConn,
    actor: &Actor,
    row: &RequestRow,
    action: &str,
    details: Value,
) -> Result<repo::audit::AuditEventRow, Error> {
    Ok(repo::audit::append_for_request(
        conn,
        actor,
        &row.id,
        action,
        ("request", &row.id),
        details,
    )?)
}

/// Creates a draft in one of the caller's agency's cases; `parent` makes it a
/// follow-up of that request.
pub fn create(
    conn: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    rules: &Rules<'_>,
    case_id: &str,
    drafted: Drafted,
    parent: Option<&RequestRow>,
) -> Result<RequestRow, Error> {
    let (Some(agency_id), Some(jurisdiction)) = (&viewer.organisation_id, &viewer.jurisdiction)
    else {
        return Err(Error::forbidden(
            "only a liaison officer of an agency files requests",
        ));
    };
    let Some(case) = repo::cases::get_for_agency(conn, case_id, agency_id)? else {
        return Err(field(
            "case_id",
            format!("your agency has no case `{case_id}`"),
        ));
    };
    let offences: Vec<OffenceCategory> =
        serde_json::from_str(&case.offence_categories).map_err(Error::internal)?;
    let catalogue = rules.catalogue;
    let content = resolve(conn, catalogue, jurisdiction, &offences, drafted)?;
    let mut row = new_draft(
        viewer,
        &case,
        parent,
        route_of(catalogue, &content.legal_basis),
    );
    store_content(&mut row, &content)?;
    repo::requests::insert(conn, &row)?;
    audit(
        conn,
        actor,
        &row,
        if parent.is_some() {
            "follow_up_created"
        } else {
            "created"
        },
        json!({
            "reference": row.reference,
            "kind": row.kind,
            "legal_basis": row.legal_basis,
            "responder_id": row.responder_id,
            "executing_jurisdiction": row.executing_jurisdiction,
            "parent_id": row.parent_id,
        }),
    )?;
    if let Some(parent) = parent {
        audit(
            conn,
            actor,
            parent,
            "follow_up_filed",
            json!({ "child_id": row.id, "child_reference": row.reference }),
        )?;
    }
    clocks::refresh(conn, rules, &row)?;
    Ok(row)
}

/// A new draft of `viewer`'s in `case`, its content still blank: `store_content`
/// writes it.
pub(crate) fn new_draft(
    viewer: &Viewer,
    case: &crate::repo::cases::CaseRow,
    parent: Option<&RequestRow>,
    route: Route,
) -> RequestRow {
    let now = UtcTime::now();
    let id = new_id();
    RequestRow {
        reference: new_reference(&id),
        id,
        case_id: case.id.clone(),
        agency_id: case.agency_id.clone(),
        issuing_jurisdiction: viewer.jurisdiction.clone().unwrap_or_default(),
        created_by: viewer.user_id.clone(),
        kind: RequestKind::Preservation,
        legal_basis: String::new(),
        route,
        responder_id: String::new(),
        executing_jurisdiction: String::new(),
        data_categories: String::new(),
        identifiers: String::new(),
        date_from: None,
        date_to: None,
        facts: None,
        necessity: None,
        relevance: None,
        custodian: None,
        follow_up_intent: false,
        emergency: false,
        emergency_justification: None,
        non_disclosure: false,
        parent_id: parent.map(|p| p.id.clone()),
        status: Status::Draft,
        version: 1,
        submitted_at: None,
        approved_at: None,
        approved_by: None,
        transmitted_at: None,
        answered_at: None,
        preserved_until: None,
        extension_requested: false,
        extensions_granted: 0,
        response: "{}".into(),
        internal_notes: "{}".into(),
        created_at: now,
        updated_at: now,
        cybertipline_submitted_at: None,
        executes_id: None,
    }
}

fn stale(row: &RequestRow) -> Error {
    Error::conflict_with(
        format!(
            "the request changed since you read it: it is now {} at version {}",
            row.status, row.version
        ),
        Some(json!({ "current_status": row.status, "current_version": row.version })),
    )
}

fn refused(row: &RequestRow, refusal: Refusal) -> Error {
    match refusal {
        Refusal::Forbidden(detail) => Error::forbidden(detail),
        Refusal::Conflict(detail) => Error::conflict_with(
            detail,
            Some(json!({ "current_status": row.status, "current_version": row.version })),
        ),
    }
}

/// Loads a visible request with its row locked for the rest of the transaction.
pub(crate) fn load_locked(
    conn: &mut DbConn,
    viewer: &Viewer,
    id: &str,
) -> Result<RequestRow, Error> {
    lock_row(conn, "requests", "id", id)?;
    repo::requests::get_visible(conn, viewer, id)?
        .ok_or_else(|| Error::not_found(format!("no request `{id}`")))
}

fn save(conn: &mut DbConn, row: &mut RequestRow) -> Result<(), Error> {
    let read_version = row.version;
    row.version += 1;
    row.updated_at = UtcTime::now();
    if !repo::requests::update_if_version(conn, row, read_version)? {
        row.version = read_version;
        return Err(stale(row));
    }
    Ok(())
}

/// Edits a draft: only its creator's agency, only while it is a draft, only at
/// the version read.
pub fn edit(
    conn: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    rules: &Rules<'_>,
    id: &str,
    version: i64,
    patch: Patch,
) -> Result<RequestRow, Error> {
    let mut row = load_locked(conn, viewer, id)?;
    if !viewer.relations(&row.access()).creator {
        return Err(Error::forbidden(
            "only a liaison officer of the agency that created the request may edit it",
        ));
    }
    if row.version != version {
        return Err(stale(&row));
    }
    if row.status != Status::Draft {
        return Err(Error::conflict_with(
            format!("only a draft can be edited; this request is {}", row.status),
            Some(json!({ "current_status": row.status, "current_version": row.version })),
        ));
    }
    let mut content = content_of(&row)?;
    let changed = patch.apply(&mut content);
    // A new responder without a new jurisdiction brings its own jurisdiction.
    let drafted = Drafted {
        content,
        responder_named: true,
        jurisdiction_named: !changed.contains(&"responder_id")
            || changed.contains(&"executing_jurisdiction"),
    };
    let offences = case_offences(conn, &row)?;
    let content = resolve(
        conn,
        rules.catalogue,
        &row.issuing_jurisdiction.clone(),
        &offences,
        drafted,
    )?;
    row.route = route_of(rules.catalogue, &content.legal_basis);
    store_content(&mut row, &content)?;
    save(conn, &mut row)?;
    repo::requests::set_identifier_keys(conn, &row.id, &row.identifiers)?;
    audit(conn, actor, &row, "edited", json!({ "fields": changed }))?;
    clocks::refresh(conn, rules, &row)?;
    Ok(row)
}

pub use crate::domain::steps::Input;

fn facts(row: &RequestRow, basis: Option<&LegalBasis>) -> Result<Facts, Error> {
    let extension_max = basis
        .and_then(|b| b.clock(ClockKind::PreservationExpires))
        .and_then(|c| c.extension)
        .map_or(0, |e| e.max);
    let categories: Vec<DataCategory> =
        serde_json::from_str(&row.data_categories).map_err(Error::internal)?;
    let response = object(&row.response)?;
    let decides = basis.is_some_and(|b| b.clock(ClockKind::DecisionDue).is_some());
    let confirms = basis
        .and_then(|b| b.stopped_by.as_ref())
        .is_some_and(|s| s.event == StopEvent::ProductionConfirmed);
    Ok(Facts {
        kind: row.kind,
        emergency: row.emergency,
        // Art. 4(5) of Regulation 2023/1543: only some orders may go out in an
        // emergency before they are validated.
        emergency_path: basis.is_some_and(|b| b.allows_unvalidated_emergency(&categories)),
        approved: row.approved_at.is_some(),
        extension_requested: row.extension_requested,
        extensions_left: extension_max.saturating_sub(row.extensions_granted.max(0) as u32),
        decision_pending: decides && !response.contains_key("decided"),
        delay_notice_left: !response.contains_key("delay_notice"),
        confirmation_pending: confirms && !response.contains_key("production_confirmed"),
    })
}

/// The workflow steps `viewer` may take on `row` as it stands: what a page
/// offers as forms. Taking one still goes through `transition`, which decides
/// again under the row's lock.
pub fn open_steps(
    viewer: &Viewer,
    catalogue: &Catalogue,
    row: &RequestRow,
) -> Result<Vec<Action>, Error> {
    let facts = facts(row, catalogue.get(&row.legal_basis))?;
    let relations = viewer.relations(&row.access());
    Ok(Action::ALL
        .iter()
        .copied()
        .filter(|action| workflow::decide(row.status, *action, relations, &facts).is_ok())
        .collect())
}

/// Checks that `follow_up_id` names a follow-up whose issue the Annex V
/// confirmation may report: a production to the same addressee on a basis that
/// counts, already transmitted.
fn confirmable(
    conn: &mut DbConn,
    row: &RequestRow,
    basis: Option<&LegalBasis>,
    follow_up_id: &str,
) -> Result<RequestRow, Error> {
    let bad = |message: String| field("follow_up_id", message);
    let child = repo::requests::get(conn, follow_up_id)?
        .filter(|c| c.parent_id.as_deref() == Some(row.id.as_str()))
        .ok_or_else(|| {
            bad(format!(
                "`{follow_up_id}` is not a follow-up of this request"
            ))
        })?;
    let bases = basis
        .and_then(|b| b.stopped_by.as_ref())
        .map(|s| s.bases.clone())
        .unwrap_or_default();
    if child.kind != RequestKind::Production || !bases.contains(&child.legal_basis) {
        return Err(bad(format!(
            "{} is not a production request on {}",
            child.reference,
            bases.join(" or ")
        )));
    }
    if child.responder_id != row.responder_id {
        return Err(bad(format!(
            "{} is addressed to another organisation: the confirmation goes to this \
             preservation's addressee about a production request to it (Regulation 2023/1543 \
             Art. 11(1))",
            child.reference
        )));
    }
    if child.transmitted_at.is_none() {
        return Err(bad(format!(
            "{} has not been transmitted: confirm it once it is issued",
            child.reference
        )));
    }
    Ok(child)
}

fn object(text: &str) -> Result<serde_json::Map<String, Value>, Error> {
    match serde_json::from_str(text).map_err(Error::internal)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::internal("a request's JSON column is not an object")),
    }
}

fn extension_period(basis: Option<&LegalBasis>) -> Option<TimeDelta> {
    basis?
        .clocks
        .iter()
        .find(|c| c.kind == ClockKind::PreservationExpires)?
        .extension
        .map(|e| match e.period {
            Period::Days(d) => TimeDelta::days(i64::from(d)),
            Period::Hours(h) => TimeDelta::hours(i64::from(h)),
        })
}

/// Takes one workflow action on a request.
#[expect(
    clippy::too_many_arguments,
    reason = "a transition is one use case: who, which request, what, at which version"
)]
pub fn transition(
    conn: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    rules: &Rules<'_>,
    id: &str,
    action: Action,
    version: i64,
    input: Input,
) -> Result<RequestRow, Error> {
    let mut row = load_locked(conn, viewer, id)?;
    let basis = rules.catalogue.get(&row.legal_basis);
    let status = row.status;
    let decision = workflow::decide(
        status,
        action,
        viewer.relations(&row.access()),
        &facts(&row, basis)?,
    );
    // Who may act is answered before the version, so that someone who may not
    // act learns nothing from a stale version number.
    if let Err(refusal @ Refusal::Forbidden(_)) = decision {
        return Err(refused(&row, refusal));
    }
    if row.version != version {
        return Err(stale(&row));
    }
    let next = decision.map_err(|r| refused(&row, r))?;
    let needs_completeness =
        matches!(action, Action::Submit) || (action == Action::Transmit && status == Status::Draft);
    if needs_completeness {
        check_complete(&row, basis)?;
    }
    let was_transmitted = row.transmitted_at.is_some();
    let found = look_up(conn, &row, basis, &input)?;
    let step = steps::Step {
        action,
        input,
        from: status,
        to: next,
        now: UtcTime::now(),
        by: &viewer.user_id,
        extension: extension_period(basis),
        found,
    };
    let outcome = steps::take(step, record_of(&row)).map_err(|refused| match refused {
        steps::Refused::Field(error) => Error::invalid(vec![error]),
        steps::Refused::Mismatch(action) => {
            Error::internal(format!("the body parsed for {action} does not fit it"))
        }
    })?;
    let details = apply(&mut row, next, outcome)?;
    save(conn, &mut row)?;
    let event = audit(conn, actor, &row, action.as_str(), Value::Object(details))?;
    if action.party() == workflow::Party::Responder {
        repo::requests::mark_acted(conn, &row.id, event.occurred_at)?;
    }
    // The clocks first: the notification gives the ones now running.
    clocks::refresh(conn, rules, &row)?;
    crate::service::notify::on_transition(
        conn,
        &row,
        action,
        &event.id,
        was_transmitted,
        rules.public_url,
    )?;
    crate::service::webhooks::on_step(conn, &row, action, &event.id)?;
    // A provider's step on a domestic order is an answer to the request it
    // executes.
    if action.party() == workflow::Party::Responder && row.executes_id.is_some() {
        crate::service::execution::answered(conn, actor, rules, &row, action)?;
    }
    // A transmitted follow-up can stop its parent's preservation clock.
    if action == Action::Transmit
        && let Some(parent_id) = &row.parent_id
        && let Some(parent) = repo::requests::get(conn, parent_id)?
    {
        clocks::refresh(conn, rules, &parent)?;
    }
    Ok(row)
}

/// A request is submitted (or an emergency transmitted from draft) only whole,
/// on a legal basis this deployment offers.
fn check_complete(row: &RequestRow, basis: Option<&LegalBasis>) -> Result<(), Error> {
    let basis = basis.ok_or_else(|| {
        field(
            "legal_basis",
            format!("`{}` is no longer in the catalogue", row.legal_basis),
        )
    })?;
    let mut missing: Vec<FieldError> = missing_for_submission(&content_of(row)?, basis);
    if !basis.enabled {
        missing.insert(
            0,
            FieldError {
                field: "legal_basis".into(),
                message: format!("`{}` is disabled in this deployment", basis.id),
            },
        );
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(missing))
    }
}

/// What a step needs from other rows: the evidence delivered, the provider
/// and jurisdiction a "data moved" report names, the follow-up a
/// confirmation names.
fn look_up(
    conn: &mut DbConn,
    row: &RequestRow,
    basis: Option<&LegalBasis>,
    input: &Input,
) -> Result<steps::Found, Error> {
    let mut found = steps::Found::default();
    match input {
        Input::Fulfil { .. } => {
            found.evidence_items = repo::evidence::count_for_request(conn, &row.id)?;
        }
        Input::ReportMoved {
            to_provider_id,
            to_jurisdiction,
            ..
        } => {
            if let Some(provider) = to_provider_id {
                let org = repo::organisations::get(conn, provider)?;
                if org.is_none_or(|o| o.kind != OrganisationKind::Provider) {
                    return Err(field("to_provider_id", format!("no provider `{provider}`")));
                }
            }
            if let Some(code) = to_jurisdiction
                && repo::jurisdictions::get(conn, code)?.is_none()
            {
                return Err(field(
                    "to_jurisdiction",
                    format!("no jurisdiction `{code}`"),
                ));
            }
        }
        Input::ConfirmProduction { follow_up_id } => {
            let child = confirmable(conn, row, basis, follow_up_id)?;
            found.follow_up = Some((child.id, child.reference));
        }
        _ => {}
    }
    Ok(found)
}

fn record_of(row: &RequestRow) -> steps::Record {
    steps::Record {
        submitted_at: row.submitted_at,
        approved_at: row.approved_at,
        approved_by: row.approved_by.clone(),
        transmitted_at: row.transmitted_at,
        answered_at: row.answered_at,
        preserved_until: row.preserved_until,
        extension_requested: row.extension_requested,
        extensions_granted: row.extensions_granted,
    }
}

/// Writes a step's outcome into the row; returns the audit event's details.
fn apply(
    row: &mut RequestRow,
    next: Status,
    outcome: steps::Outcome,
) -> Result<serde_json::Map<String, Value>, Error> {
    let steps::Outcome {
        record,
        response,
        notes,
        details,
    } = outcome;
    row.submitted_at = record.submitted_at;
    row.approved_at = record.approved_at;
    row.approved_by = record.approved_by;
    row.transmitted_at = record.transmitted_at;
    row.answered_at = record.answered_at;
    row.preserved_until = record.preserved_until;
    row.extension_requested = record.extension_requested;
    row.extensions_granted = record.extensions_granted;
    let (mut said, mut noted) = (object(&row.response)?, object(&row.internal_notes)?);
    steps::write_entries(&mut said, response);
    steps::write_entries(&mut noted, notes);
    row.response = Value::Object(said).to_string();
    row.internal_notes = Value::Object(noted).to_string();
    row.status = next;
    Ok(details)
}

/// Files a follow-up: a new draft in the same case, linked to `parent_id` (the
/// preservation at the provider named in a data-moved report, or the production
/// that follows a preservation).
pub fn follow_up(
    conn: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    rules: &Rules<'_>,
    parent_id: &str,
    drafted: Drafted,
) -> Result<RequestRow, Error> {
    let parent = load_locked(conn, viewer, parent_id)?;
    if !viewer.relations(&parent.access()).creator {
        return Err(Error::forbidden(
            "only a liaison officer of the agency that created the request files its follow-ups",
        ));
    }
    if parent.transmitted_at.is_none() {
        return Err(Error::conflict_with(
            "a follow-up is filed once the request has been transmitted",
            Some(json!({ "current_status": parent.status, "current_version": parent.version })),
        ));
    }
    let case_id = parent.case_id.clone();
    create(conn, viewer, actor, rules, &case_id, drafted, Some(&parent))
}

/// The request `id` if `viewer` may see it; another organisation's request is
/// "not found" in the same words as one that does not exist.
pub fn visible(conn: &mut DbConn, viewer: &Viewer, id: &str) -> Result<RequestRow, Error> {
    repo::requests::get_visible(conn, viewer, id)?
        .ok_or_else(|| Error::not_found(format!("no request `{id}`")))
}

/// A request's audit trail as `viewer` may read it: the events it may see,
/// each with how much of it (`domain::access::trail_view`), and whether the
/// viewer reads it as the issuing side does.
pub fn trail_seen_by(
    conn: &mut DbConn,
    viewer: &Viewer,
    row: &RequestRow,
) -> Result<
    (
        bool,
        Vec<(repo::audit::AuditEventRow, crate::domain::access::EventView)>,
    ),
    Error,
> {
    let insider = viewer.sees_case_content(&row.access());
    let rows = repo::audit::for_chain(conn, &crate::domain::audit::request_chain(&row.id))?;
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    let views = crate::domain::access::trail_view(&actions, insider);
    let seen = rows
        .into_iter()
        .zip(views)
        .filter_map(|(r, view)| view.map(|view| (r, view)))
        .collect();
    Ok((insider, seen))
}
