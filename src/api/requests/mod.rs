//! `/api/v1/requests`: the handlers. The documents they read and write are in
//! `documents`, the workflow steps' bodies in `transitions`.

mod documents;
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
use crate::repo::requests::{Filter, RequestRow};
use crate::service::requests::{self as service};
use crate::state::AppState;

pub use documents::*;
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
    RequestOut::build(row, viewer, Some(Family { parent, children }))
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
    Ok(HttpResponse::Created().json(RequestOut::build(row, &viewer, Some(family))?))
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
pub struct ListQuery {
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    #[param(format = Uuid)]
    pub case_id: Option<String>,
    #[param(format = Uuid)]
    pub responder_id: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// What the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "Requests the caller may see, newest first", body = PageOut<RequestOut>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .to_request()?;
    let mut e = Errors::new();
    let status = query
        .status
        .as_deref()
        .and_then(|s| e.check("status", Status::parse(s)))
        .map(|s| s.as_str().to_owned());
    let case_id = query
        .case_id
        .as_deref()
        .and_then(|c| id_field(&mut e, "case_id", c));
    let responder_id = query
        .responder_id
        .as_deref()
        .and_then(|r| id_field(&mut e, "responder_id", r));
    e.into_result()?;
    let filter = Filter {
        status,
        case_id,
        responder_id,
    };
    let viewer = caller.viewer();
    let out = state
        .db_as(&caller, move |conn| {
            let page = repo::requests::list_visible(conn, &viewer, &filter, &page)?;
            PageOut::try_from_page(page, |row| RequestOut::build(row, &viewer, None))
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
    seen: Vec<(AuditEventRow, EventView)>,
    insider: bool,
) -> Result<Vec<AuditEventOut>, Error> {
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
                actor_id: r.actor_id,
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
            audit_view(seen, insider)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items: events }))
}
