//! `/api/v1/requests`: the handlers. The documents they read and write are in
//! `documents`, the workflow steps' bodies in `transitions`.

mod documents;
mod execution;
mod transitions;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::paging::{Items, PageOut, PageQuery};
use crate::auth::Caller;
use crate::domain::access::EventView;
use crate::domain::access::Viewer;
use crate::domain::validation::Errors;
use crate::domain::workflow::{Action, Status};
use crate::error::Error;
use crate::repo;
use crate::repo::audit::AuditEventRow;
use crate::repo::names::Wanted;
use crate::repo::requests::{After, Filter, RequestRow, Sort};
use crate::service::requests::{self as service};
use crate::state::AppState;

pub use documents::*;
pub use execution::*;
pub use transitions::*;

fn only_officers(caller: &Caller) -> Result<(), Error> {
    if caller.role == crate::domain::reference::Role::LiaisonOfficer {
        Ok(())
    } else {
        Err(Error::forbidden("only a liaison officer files requests"))
    }
}

/// Reads a request with its family, as `viewer` may see it.
fn view(
    conn: &mut crate::db::DbConn,
    viewer: &Viewer,
    row: RequestRow,
) -> Result<RequestOut, Error> {
    let parent = match &row.parent_id {
        Some(pid) => repo::requests::get_visible(conn, viewer, pid)?.map(|p| RequestLink {
            id: p.id,
            reference: p.reference,
        }),
        None => None,
    };
    let children = repo::requests::children_visible(conn, viewer, &row.id)?
        .into_iter()
        .map(|(id, reference)| RequestLink { id, reference })
        .collect();
    let executes = match &row.executes_id {
        Some(id) if viewer.sees_case_content(&row.access()) => {
            repo::requests::get_visible(conn, viewer, id)?.map(|p| RequestLink {
                id: p.id,
                reference: p.reference,
            })
        }
        _ => None,
    };
    let orders = crate::service::execution::orders_of(conn, &row)?;
    let mut wanted = Wanted::default();
    RequestOut::names_of(&row, &mut wanted);
    names_of_orders(&orders, &mut wanted);
    let names = wanted.load(conn)?;
    let mut domestic_orders = Vec::with_capacity(orders.len());
    for order in orders {
        let own = viewer.organisation_id.as_deref() == Some(order.agency_id.as_str());
        let lapses = crate::service::execution::preservation_lapses(conn, &order)?;
        domestic_orders.push(DomesticOrderOut::build(order, own, lapses, &names)?);
    }
    let mut out = RequestOut::build(row, viewer, Some(Family { parent, children }), &names)?;
    out.executes = executes;
    out.domestic_orders = domestic_orders;
    Ok(out)
}

#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", security(("bearer" = [])), request_body = RequestIn,
    responses((status = 201, description = "A draft request (liaison officers)", body = RequestOut)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RequestIn>,
) -> Result<HttpResponse, Error> {
    only_officers(&caller)?;
    let (case_id, drafted) = body.into_inner().parse()?;
    let case_id = case_id.ok_or_else(|| Error::field("case_id", "name the case"))?;
    let (viewer, actor, app) = (caller.viewer(), caller.actor(), state.clone());
    let caller_viewer = viewer.clone();
    let row = state
        .write_as(&caller, move |conn| {
            service::create(
                conn,
                &caller_viewer,
                &actor,
                &app.rules(),
                &case_id,
                drafted,
                None,
            )
        })
        .await?;
    // Built after the commit, outside SQLite's one write lock. A request just
    // made follows none up, and none follows it yet.
    let family = Family {
        parent: None,
        children: Vec::new(),
    };
    let mut wanted = Wanted::default();
    RequestOut::names_of(&row, &mut wanted);
    let names = state
        .db_as(&caller, move |conn| Ok(wanted.load(conn)?))
        .await?;
    Ok(HttpResponse::Created().json(RequestOut::build(row, &viewer, Some(family), &names)?))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/follow-ups", tag = "requests", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "The request followed up")), request_body = RequestIn,
    responses((status = 201, description = "A draft follow-up in the same case, linked to its parent", body = RequestOut)))]
pub async fn follow_up(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<RequestIn>,
) -> Result<HttpResponse, Error> {
    only_officers(&caller)?;
    let (case_id, drafted) = body.into_inner().parse()?;
    if case_id.is_some() {
        return Err(Error::field(
            "case_id",
            "a follow-up belongs to the case of the request it follows: leave case_id out",
        ));
    }
    let (viewer, actor, app, id) = (
        caller.viewer(),
        caller.actor(),
        state.clone(),
        id.into_inner(),
    );
    let out = state
        .write_as(&caller, move |conn| {
            let row = service::follow_up(conn, &viewer, &actor, &app.rules(), &id, drafted)?;
            view(conn, &viewer, row)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "A request")),
    responses((status = 200, description = "The request as the caller may see it", body = RequestOut)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let (viewer, id) = (caller.viewer(), id.into_inner());
    let out = state
        .db_as(&caller, move |conn| {
            let row = service::visible(conn, &viewer, &id)?;
            view(conn, &viewer, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(patch, path = "/api/v1/requests/{id}", tag = "requests", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "A request")), request_body = PatchIn,
    responses((status = 200, description = "The changed draft", body = RequestOut)))]
pub async fn edit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<PatchIn>,
) -> Result<HttpResponse, Error> {
    let (version, patch) = body.into_inner().parse()?;
    let (viewer, actor, app, id) = (
        caller.viewer(),
        caller.actor(),
        state.clone(),
        id.into_inner(),
    );
    let out = state
        .write_as(&caller, move |conn| {
            let row = service::edit(conn, &viewer, &actor, &app.rules(), &id, version, patch)?;
            view(conn, &viewer, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// One status, or several separated by commas: `transmitted,acknowledged`.
    #[param(example = "transmitted,acknowledged")]
    pub status: Option<String>,
    /// `preservation`, `production` or `emergency_disclosure`; several
    /// separated by commas.
    pub kind: Option<String>,
    /// A legal basis's id (`budapest-29`); several separated by commas.
    pub legal_basis: Option<String>,
    pub emergency: Option<bool>,
    #[param(format = Uuid)]
    pub case_id: Option<String>,
    #[param(format = Uuid)]
    pub responder_id: Option<String>,
    /// The issuing agency.
    #[param(format = Uuid)]
    pub agency_id: Option<String>,
    /// A whole reference (any case), or a whole identifier value.
    pub q: Option<String>,
    /// A whole identifier value (an account, an address, a number...).
    pub identifier: Option<String>,
    /// `created` (newest first, the default) or `due` (the soonest clock
    /// still owed first: a responder's own clocks, or every clock of the
    /// request for the issuing side; then the requests owing nothing).
    pub sort: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A comma-separated list, each item parsed; an empty item is refused.
fn list_of<T>(
    e: &mut Errors,
    field: &str,
    text: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    let Some(text) = text else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in text.split(',') {
        match parse(item.trim()) {
            Ok(v) => out.push(v),
            Err(m) => e.add(field, m),
        }
    }
    out
}

/// The query parameters that narrow a list to some requests, shared by the
/// request list and the board; `status` names its parameter (the board's own
/// `status` is the deadline's).
pub(crate) struct Narrowing<'a> {
    pub status: (&'static str, Option<&'a str>),
    pub kind: Option<&'a str>,
    pub legal_basis: Option<&'a str>,
    pub emergency: Option<bool>,
    pub responder_id: Option<&'a str>,
    pub agency_id: Option<&'a str>,
}

impl Narrowing<'_> {
    /// The filter, each part checked; what is wrong is added to `e`.
    pub(crate) fn parse(
        self,
        e: &mut Errors,
        catalogue: &crate::domain::legal_bases::Catalogue,
    ) -> Filter {
        Filter {
            statuses: list_of(e, self.status.0, self.status.1, Status::parse),
            kinds: list_of(
                e,
                "kind",
                self.kind,
                crate::domain::reference::RequestKind::parse,
            ),
            legal_bases: list_of(e, "legal_basis", self.legal_basis, |id| {
                catalogue
                    .get(id)
                    .map(|b| b.id.clone())
                    .ok_or_else(|| format!("`{id}` is not a legal basis of this catalogue"))
            }),
            emergency: self.emergency,
            responder_id: self
                .responder_id
                .and_then(|r| id_field(e, "responder_id", r)),
            agency_id: self.agency_id.and_then(|a| id_field(e, "agency_id", a)),
            ..Filter::default()
        }
    }
}

/// A page's cursor in the order of `sort`: an id for the newest first;
/// `d<microseconds>-<id>` or `u-<id>` for the soonest first.
fn cursor_of(after: &After) -> String {
    match after {
        After::Id(id) => id.clone(),
        After::Due(due, id) => format!("d{}-{id}", due.to_datetime().timestamp_micros()),
        After::Undated(id) => format!("u-{id}"),
    }
}

fn parse_cursor(text: &str, sort: Sort) -> Result<After, String> {
    let bad = || "is not a cursor this service returned for this order".to_owned();
    let id = |t: &str| {
        uuid::Uuid::parse_str(t)
            .map(|u| u.to_string())
            .map_err(|_| bad())
    };
    match sort {
        Sort::Created => id(text).map(After::Id),
        Sort::DueForResponder | Sort::DueForIssuer => {
            if let Some(rest) = text.strip_prefix("u-") {
                return id(rest).map(After::Undated);
            }
            let rest = text.strip_prefix('d').ok_or_else(bad)?;
            let (micros, rest) = rest.split_once('-').ok_or_else(bad)?;
            let micros: i64 = micros.parse().map_err(|_| bad())?;
            let at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
            Ok(After::Due(crate::time::UtcTime::from(at), id(rest)?))
        }
    }
}

/// What the caller may see, newest first or most urgent first, narrowed
/// by any of the filters; a parameter this endpoint does not know is a 400.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", security(("bearer" = [])), params(ListQuery),
    responses(
        (status = 200, description = "Requests the caller may see, in the order asked", body = PageOut<RequestOut>),
        (status = 400, description = "A query parameter this endpoint does not know", body = super::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: None,
    }
    .to_request()?;
    let mut e = Errors::new();
    let sort = match query.sort.as_deref().unwrap_or("created") {
        "created" => Sort::Created,
        "due" if caller.role == crate::domain::reference::Role::Provider => Sort::DueForResponder,
        "due" => Sort::DueForIssuer,
        other => {
            e.add(
                "sort",
                format!("`{other}` is not an order: use `created` or `due`"),
            );
            Sort::Created
        }
    };
    let after = query
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .and_then(|c| e.check("cursor", parse_cursor(c, sort)));
    let mut filter = Narrowing {
        status: ("status", query.status.as_deref()),
        kind: query.kind.as_deref(),
        legal_basis: query.legal_basis.as_deref(),
        emergency: query.emergency,
        responder_id: query.responder_id.as_deref(),
        agency_id: query.agency_id.as_deref(),
    }
    .parse(&mut e, &state.catalogue);
    filter.case_id = query
        .case_id
        .as_deref()
        .and_then(|c| id_field(&mut e, "case_id", c));
    filter.search = query.q.filter(|q| !q.trim().is_empty());
    filter.identifier = query.identifier.filter(|i| !i.trim().is_empty());
    e.into_result()?;
    let viewer = caller.viewer();
    let out = state
        .db_as(&caller, move |conn| {
            let (rows, next) = repo::requests::list_visible(
                conn,
                &viewer,
                &filter,
                sort,
                after.as_ref(),
                page.limit,
            )?;
            let mut wanted = Wanted::default();
            rows.iter()
                .for_each(|row| RequestOut::names_of(row, &mut wanted));
            let names = wanted.load(conn)?;
            let items = rows
                .into_iter()
                .map(|row| RequestOut::build(row, &viewer, None, &names))
                .collect::<Result<Vec<_>, Error>>()?;
            Ok(PageOut {
                items,
                next_cursor: next.as_ref().map(cursor_of),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /requests/{id}/{action}`: one workflow step.
pub async fn transition(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> Result<HttpResponse, Error> {
    let (id, action) = path.into_inner();
    let action = Action::parse(&action)
        .map_err(|_| Error::not_found(format!("no action `{action}` on requests")))?;
    let value = body.into_inner();
    if !value.is_object() {
        return Err(Error::field(
            "body",
            "send a JSON object with the `version` you read",
        ));
    }
    let (version, input) = parse_transition(action, value)?;
    let (viewer, actor, app) = (caller.viewer(), caller.actor(), state.clone());
    let out = state
        .write_as(&caller, move |conn| {
            let row = service::transition(
                conn,
                &viewer,
                &actor,
                &app.rules(),
                &id,
                action,
                version,
                input,
            )?;
            view(conn, &viewer, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The request's trail as the viewer may read it (`access::trail_view`); a
/// responder's events are numbered among those it reads, so that gaps do not
/// betray what it may not.
fn audit_view(
    conn: &mut crate::db::DbConn,
    seen: Vec<(AuditEventRow, EventView)>,
    insider: bool,
) -> Result<Vec<AuditEventOut>, Error> {
    let mut wanted = Wanted::default();
    for (r, _) in &seen {
        if let Some(actor) = &r.actor_id {
            wanted.person(actor);
        }
        if let Some(organisation) = &r.organisation_id {
            wanted.organisation(organisation);
        }
    }
    let names = wanted.load(conn)?;
    seen.into_iter()
        .enumerate()
        .map(|(place, (r, view))| {
            let details = match view {
                EventView::WithoutDetails => json!({}),
                EventView::Whole => serde_json::from_str(&r.details).map_err(Error::internal)?,
            };
            Ok(AuditEventOut {
                id: r.id,
                seq: if insider { r.seq } else { place as i64 + 1 },
                occurred_at: r.occurred_at,
                actor_name: names.person_of(r.actor_id.as_deref()),
                actor_id: r.actor_id,
                organisation_name: names.organisation_of(r.organisation_id.as_deref()),
                organisation_id: r.organisation_id,
                action: r.action,
                details,
                prev_hash: insider.then_some(r.prev_hash),
                hash: insider.then_some(r.hash),
            })
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/audit", tag = "audit", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "A request")),
    responses((status = 200, description = "The request's audit trail as the caller may read it", body = Items<AuditEventOut>)))]
pub async fn audit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let (viewer, id) = (caller.viewer(), id.into_inner());
    let events = state
        .db_as(&caller, move |conn| {
            let row = service::visible(conn, &viewer, &id)?;
            let (insider, seen) = service::trail_seen_by(conn, &viewer, &row)?;
            audit_view(conn, seen, insider)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items: events }))
}
