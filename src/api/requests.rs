use actix_web::{HttpResponse, web};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use super::error::serde_error;
use super::paging::{Items, PageOut, PageQuery};
use crate::auth::Caller;
use crate::db::UtcTime;
use crate::domain::access::Viewer;
use crate::domain::identifiers::{self, Identifier, IdentifierIn, parse_instant};
use crate::domain::reference::{DataCategory, JurisdictionCode, RequestKind};
use crate::domain::requests::{Content, Patch, RefusalGround};
use crate::domain::validation::{Errors, text_field};
use crate::domain::workflow::{Action, Status};
use crate::error::Error;
use crate::repo;
use crate::repo::audit::AuditEventRow;
use crate::repo::requests::{Filter, RequestRow};
use crate::service::requests::{self as service, Drafted, Input};
use crate::state::AppState;

const FACTS_MAX: usize = 20_000;
const TEXT_MAX: usize = 5_000;

/// Distinguishes a field sent as `null` (clear it) from one not sent at all.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "case_id": "01a2235d-d228-713b-9418-62307f7c3d99",
    "kind": "preservation",
    "legal_basis": "provider-voluntary",
    "responder_id": "01a2235d-d229-717a-9bdc-44d025c7b563",
    "data_categories": ["subscriber", "identification"],
    "identifiers": [
        {"type": "account", "value": "sunny_day_2011"},
        {"type": "ip", "value": "198.51.100.23", "port": 40112, "observed_at": "2026-11-20T21:15:03+00:00"}
    ],
    "date_from": "2026-11-01T00:00:00Z",
    "date_to": "2026-11-25T00:00:00+01:00",
    "facts": "An adult groomed a 12-year-old over chat and obtained images.",
    "necessity": "The provider deletes connection logs after 25 days.",
    "relevance": "The account sent the messages; the IP logged in when it did.",
    "follow_up_intent": true,
    "non_disclosure": true
}))]
pub struct RequestIn {
    /// The case the request belongs to; left out for a follow-up.
    #[schema(format = Uuid)]
    pub case_id: Option<String>,
    #[schema(value_type = RequestKind)]
    pub kind: String,
    /// An id from `GET /legal-bases`.
    #[schema(example = "budapest-29")]
    pub legal_basis: String,
    /// The organisation asked: a provider, or a central authority.
    #[schema(format = Uuid)]
    pub responder_id: Option<String>,
    #[schema(example = "IE")]
    pub executing_jurisdiction: Option<String>,
    #[schema(value_type = Vec<DataCategory>)]
    #[serde(default)]
    pub data_categories: Vec<String>,
    #[serde(default)]
    pub identifiers: Vec<IdentifierIn>,
    #[schema(value_type = Option<UtcTime>)]
    pub date_from: Option<String>,
    #[schema(value_type = Option<UtcTime>)]
    pub date_to: Option<String>,
    #[schema(max_length = 20000)]
    pub facts: Option<String>,
    #[schema(max_length = 5000)]
    pub necessity: Option<String>,
    #[schema(max_length = 5000)]
    pub relevance: Option<String>,
    #[schema(max_length = 5000)]
    pub custodian: Option<String>,
    #[serde(default)]
    pub follow_up_intent: bool,
    #[serde(default)]
    pub emergency: bool,
    #[schema(max_length = 5000)]
    pub emergency_justification: Option<String>,
    #[serde(default)]
    pub non_disclosure: bool,
    /// For `ncmec-2258a` only, and required there: when the provider submitted
    /// its CyberTipline report, from which the year of preservation runs.
    #[schema(value_type = Option<UtcTime>)]
    pub cybertipline_submitted_at: Option<String>,
}

/// An optional free text: blank means absent.
fn optional_text(
    errors: &mut Errors,
    field: &str,
    text: Option<&str>,
    max: usize,
) -> Option<String> {
    match text.map(str::trim) {
        None | Some("") => None,
        Some(t) => errors.check(field, text_field(t, max)),
    }
}

fn instant(errors: &mut Errors, field: &str, text: Option<&str>) -> Option<UtcTime> {
    text.and_then(|t| errors.check(field, parse_instant(t)))
}

fn categories(errors: &mut Errors, list: &[String]) -> Vec<DataCategory> {
    let mut out = Vec::new();
    for (i, text) in list.iter().enumerate() {
        if let Some(c) = errors.check(&format!("data_categories[{i}]"), DataCategory::parse(text))
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    out
}

fn jurisdiction(errors: &mut Errors, field: &str, text: &str) -> Option<String> {
    errors
        .check(field, JurisdictionCode::parse(text))
        .map(|c| c.as_str().to_owned())
}

fn id_field(errors: &mut Errors, field: &str, text: &str) -> Option<String> {
    match uuid::Uuid::parse_str(text.trim()) {
        Ok(id) => Some(id.to_string()),
        Err(_) => {
            errors.add(field, format!("`{text}` is not an id"));
            None
        }
    }
}

impl RequestIn {
    /// Parses the body; `case_id` is returned when given.
    pub fn parse(self) -> Result<(Option<String>, Drafted), Error> {
        let mut e = Errors::new();
        let case_id = self
            .case_id
            .as_deref()
            .and_then(|c| id_field(&mut e, "case_id", c));
        let kind = e.check("kind", RequestKind::parse(&self.kind));
        let legal_basis = e.check("legal_basis", text_field(&self.legal_basis, 64));
        let responder_id = self
            .responder_id
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .and_then(|r| id_field(&mut e, "responder_id", r));
        let executing = self
            .executing_jurisdiction
            .as_deref()
            .and_then(|j| jurisdiction(&mut e, "executing_jurisdiction", j));
        let data_categories = categories(&mut e, &self.data_categories);
        let identifiers = identifiers::parse_all(&self.identifiers, &mut e);
        let date_from = instant(&mut e, "date_from", self.date_from.as_deref());
        let date_to = instant(&mut e, "date_to", self.date_to.as_deref());
        let facts = optional_text(&mut e, "facts", self.facts.as_deref(), FACTS_MAX);
        let necessity = optional_text(&mut e, "necessity", self.necessity.as_deref(), TEXT_MAX);
        let relevance = optional_text(&mut e, "relevance", self.relevance.as_deref(), TEXT_MAX);
        let custodian = optional_text(&mut e, "custodian", self.custodian.as_deref(), TEXT_MAX);
        let justification = optional_text(
            &mut e,
            "emergency_justification",
            self.emergency_justification.as_deref(),
            TEXT_MAX,
        );
        let cybertipline_submitted_at = instant(
            &mut e,
            "cybertipline_submitted_at",
            self.cybertipline_submitted_at.as_deref(),
        );
        let (kind, legal_basis) = e.finish((|| Some((kind?, legal_basis?)))())?;
        Ok((
            case_id,
            Drafted {
                responder_named: responder_id.is_some(),
                jurisdiction_named: executing.is_some(),
                content: Content {
                    kind,
                    legal_basis,
                    responder_id: responder_id.unwrap_or_default(),
                    executing_jurisdiction: executing.unwrap_or_default(),
                    data_categories,
                    identifiers,
                    date_from,
                    date_to,
                    facts,
                    necessity,
                    relevance,
                    custodian,
                    follow_up_intent: self.follow_up_intent,
                    emergency: self.emergency,
                    emergency_justification: justification,
                    non_disclosure: self.non_disclosure,
                    cybertipline_submitted_at,
                },
            },
        ))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(value_type = Option<RequestKind>)]
    pub kind: Option<String>,
    /// An id from `GET /legal-bases`.
    #[schema(example = "budapest-29")]
    pub legal_basis: Option<String>,
    /// The organisation asked: a provider, or a central authority.
    #[schema(format = Uuid)]
    pub responder_id: Option<String>,
    #[schema(example = "IE")]
    pub executing_jurisdiction: Option<String>,
    #[schema(value_type = Option<Vec<DataCategory>>)]
    pub data_categories: Option<Vec<String>>,
    pub identifiers: Option<Vec<IdentifierIn>>,
    #[schema(value_type = Option<UtcTime>)]
    #[serde(default, deserialize_with = "present")]
    pub date_from: Option<Option<String>>,
    #[schema(value_type = Option<UtcTime>)]
    #[serde(default, deserialize_with = "present")]
    pub date_to: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub facts: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub necessity: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub relevance: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub custodian: Option<Option<String>>,
    pub follow_up_intent: Option<bool>,
    pub emergency: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub emergency_justification: Option<Option<String>>,
    pub non_disclosure: Option<bool>,
    #[schema(value_type = Option<UtcTime>)]
    #[serde(default, deserialize_with = "present")]
    pub cybertipline_submitted_at: Option<Option<String>>,
}

impl PatchIn {
    fn parse(self) -> Result<(i64, Patch), Error> {
        let mut e = Errors::new();
        let text = |e: &mut Errors, field: &str, v: Option<Option<String>>, max: usize| {
            v.map(|inner| optional_text(e, field, inner.as_deref(), max))
        };
        let when = |e: &mut Errors, field: &str, v: Option<Option<String>>| {
            v.map(|inner| instant(e, field, inner.as_deref()))
        };
        let patch = Patch {
            kind: self
                .kind
                .and_then(|k| e.check("kind", RequestKind::parse(&k))),
            legal_basis: self
                .legal_basis
                .and_then(|b| e.check("legal_basis", text_field(&b, 64))),
            responder_id: self
                .responder_id
                .and_then(|r| id_field(&mut e, "responder_id", &r)),
            executing_jurisdiction: self
                .executing_jurisdiction
                .and_then(|j| jurisdiction(&mut e, "executing_jurisdiction", &j)),
            data_categories: self.data_categories.map(|list| categories(&mut e, &list)),
            identifiers: self
                .identifiers
                .map(|list| identifiers::parse_all(&list, &mut e)),
            date_from: when(&mut e, "date_from", self.date_from),
            date_to: when(&mut e, "date_to", self.date_to),
            facts: text(&mut e, "facts", self.facts, FACTS_MAX),
            necessity: text(&mut e, "necessity", self.necessity, TEXT_MAX),
            relevance: text(&mut e, "relevance", self.relevance, TEXT_MAX),
            custodian: text(&mut e, "custodian", self.custodian, TEXT_MAX),
            follow_up_intent: self.follow_up_intent,
            emergency: self.emergency,
            emergency_justification: text(
                &mut e,
                "emergency_justification",
                self.emergency_justification,
                TEXT_MAX,
            ),
            non_disclosure: self.non_disclosure,
            cybertipline_submitted_at: when(
                &mut e,
                "cybertipline_submitted_at",
                self.cybertipline_submitted_at,
            ),
        };
        e.into_result()?;
        Ok((self.version, patch))
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestLink {
    pub id: String,
    pub reference: String,
}

/// A request as its viewer may see it: responders never see the case, the
/// issuing side's notes, or the other requests of the case.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestOut {
    pub id: String,
    pub reference: String,
    pub status: Status,
    pub version: i64,
    pub kind: RequestKind,
    pub legal_basis: String,
    #[schema(value_type = crate::domain::legal_bases::Route)]
    pub route: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    pub agency_id: String,
    pub issuing_jurisdiction: String,
    pub responder_id: String,
    pub executing_jurisdiction: String,
    /// The request this one follows up, as far as the viewer may know it.
    #[schema(value_type = Option<RequestLink>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Option<RequestLink>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<RequestLink>>,
    #[schema(value_type = Vec<DataCategory>)]
    pub data_categories: Value,
    pub identifiers: Vec<Identifier>,
    pub date_from: Option<UtcTime>,
    pub date_to: Option<UtcTime>,
    pub facts: Option<String>,
    pub necessity: Option<String>,
    pub relevance: Option<String>,
    pub custodian: Option<String>,
    pub follow_up_intent: bool,
    pub emergency: bool,
    pub emergency_justification: Option<String>,
    pub non_disclosure: bool,
    pub cybertipline_submitted_at: Option<UtcTime>,
    pub submitted_at: Option<UtcTime>,
    pub approved_at: Option<UtcTime>,
    pub transmitted_at: Option<UtcTime>,
    pub answered_at: Option<UtcTime>,
    pub preserved_until: Option<UtcTime>,
    pub extension_requested: bool,
    pub extensions_granted: i32,
    /// What the responder answered: reference, refusal ground, move...
    #[schema(value_type = Object)]
    pub response: Value,
    /// The issuing side's own remarks (returns, rejections); never shown to responders.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_notes: Option<Value>,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
    #[schema(value_type = Object)]
    pub links: Value,
}

/// The parent and children as the viewer may know them: `None` for viewers
/// who see no case content.
pub struct Family {
    pub parent: Option<RequestLink>,
    pub children: Vec<RequestLink>,
}

impl RequestOut {
    pub fn build(row: RequestRow, viewer: &Viewer, family: Option<Family>) -> Result<Self, Error> {
        let insider = viewer.sees_case_content(&row.access());
        let json = |text: &str| serde_json::from_str::<Value>(text).map_err(Error::internal);
        let (parent, children) = match family {
            Some(f) if insider => (Some(f.parent), Some(f.children)),
            _ => (None, None),
        };
        Ok(RequestOut {
            links: json!({
                "self": format!("/api/v1/requests/{}", row.id),
                "audit": format!("/api/v1/requests/{}/audit", row.id),
                "deadlines": format!("/api/v1/requests/{}/deadlines", row.id),
            }),
            data_categories: json(&row.data_categories)?,
            identifiers: serde_json::from_str(&row.identifiers).map_err(Error::internal)?,
            response: json(&row.response)?,
            internal_notes: if insider {
                Some(json(&row.internal_notes)?)
            } else {
                None
            },
            case_id: insider.then(|| row.case_id.clone()),
            parent,
            children,
            id: row.id,
            reference: row.reference,
            status: row.status,
            version: row.version,
            kind: row.kind,
            legal_basis: row.legal_basis,
            route: row.route,
            agency_id: row.agency_id,
            issuing_jurisdiction: row.issuing_jurisdiction,
            responder_id: row.responder_id,
            executing_jurisdiction: row.executing_jurisdiction,
            date_from: row.date_from,
            date_to: row.date_to,
            facts: row.facts,
            necessity: row.necessity,
            relevance: row.relevance,
            custodian: row.custodian,
            follow_up_intent: row.follow_up_intent,
            emergency: row.emergency,
            emergency_justification: row.emergency_justification,
            non_disclosure: row.non_disclosure,
            cybertipline_submitted_at: row.cybertipline_submitted_at,
            submitted_at: row.submitted_at,
            approved_at: row.approved_at,
            transmitted_at: row.transmitted_at,
            answered_at: row.answered_at,
            preserved_until: row.preserved_until,
            extension_requested: row.extension_requested,
            extensions_granted: row.extensions_granted,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A request in a list of a case.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestSummary {
    pub id: String,
    pub reference: String,
    pub kind: RequestKind,
    pub legal_basis: String,
    pub status: Status,
    pub responder_id: String,
    pub parent_id: Option<String>,
    pub created_at: UtcTime,
}

impl From<RequestRow> for RequestSummary {
    fn from(row: RequestRow) -> Self {
        RequestSummary {
            id: row.id,
            reference: row.reference,
            kind: row.kind,
            legal_basis: row.legal_basis,
            status: row.status,
            responder_id: row.responder_id,
            parent_id: row.parent_id,
            created_at: row.created_at,
        }
    }
}

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
            let row = repo::requests::get_visible(conn, &viewer, &id)?
                .ok_or_else(|| Error::not_found(format!("no request `{id}`")))?;
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(max_length = 5000)]
    pub note: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(max_length = 5000)]
    pub note: Option<String>,
    /// The provider holds nothing: fulfilment without evidence.
    #[serde(default)]
    pub no_data: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(min_length = 1, max_length = 5000)]
    pub comment: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(max_length = 100)]
    pub provider_reference: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreserveIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    /// Until when the provider keeps the data, if it says.
    #[schema(value_type = Option<UtcTime>)]
    pub preserved_until: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(min_length = 1, max_length = 5000)]
    pub question: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(min_length = 1, max_length = 5000)]
    pub answer: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(value_type = crate::domain::requests::RefusalGround)]
    pub ground: String,
    #[schema(min_length = 1, max_length = 5000)]
    pub explanation: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    /// Why the decision on recognition cannot be taken within 30 days.
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
    /// When the decision is expected, if known.
    #[schema(value_type = Option<UtcTime>)]
    pub expected_by: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmProductionIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    /// The production follow-up, to this preservation's addressee, that was issued.
    #[schema(format = Uuid)]
    pub follow_up_id: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovedIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(format = Uuid)]
    pub to_provider_id: Option<String>,
    #[schema(example = "NL")]
    pub to_jurisdiction: Option<String>,
    #[schema(min_length = 1, max_length = 5000)]
    pub note: String,
}

fn body<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(serde_error)
}

fn required(e: &mut Errors, field: &str, text: &str) -> Option<String> {
    e.check(field, text_field(text, TEXT_MAX))
}

/// The body schema of each workflow step, with an example the step accepts;
/// the OpenAPI document and its test are built from this table.
pub fn transition_body(action: Action) -> (&'static str, Value) {
    match action {
        Action::Return => (
            "ReturnIn",
            json!({ "version": 2, "comment": "Name the account holder's platform." }),
        ),
        Action::Reject => (
            "RejectIn",
            json!({ "version": 2, "reason": "Not proportionate to the offence." }),
        ),
        Action::Acknowledge => (
            "AcknowledgeIn",
            json!({ "version": 4, "provider_reference": "LE-2027-0042" }),
        ),
        Action::Preserve => (
            "PreserveIn",
            json!({ "version": 5, "preserved_until": "2027-06-01T00:00:00Z" }),
        ),
        Action::AskClarification => (
            "QuestionIn",
            json!({ "version": 5, "question": "Which time zone is the observation in?" }),
        ),
        Action::AnswerClarification => (
            "AnswerIn",
            json!({ "version": 6, "answer": "UTC; the offset is in observed_at." }),
        ),
        Action::Refuse => (
            "RefuseIn",
            json!({ "version": 5, "ground": "data_deleted", "explanation": "The account was deleted in 2025." }),
        ),
        Action::ReportMoved => (
            "MovedIn",
            json!({ "version": 5, "to_jurisdiction": "NL", "note": "The service is run by our Dutch affiliate." }),
        ),
        Action::Fulfil => (
            "FulfilIn",
            json!({ "version": 6, "note": "Subscriber record attached.", "no_data": false }),
        ),
        Action::NotifyDelay => (
            "DelayIn",
            json!({ "version": 4, "reason": "The court must hear the account holder's lawyer first.", "expected_by": "2027-03-01T00:00:00Z" }),
        ),
        Action::ConfirmProduction => (
            "ConfirmProductionIn",
            json!({ "version": 5, "follow_up_id": "01a2235d-d22a-7c3e-8f00-5ad0c1f1e2a4" }),
        ),
        Action::Decide
        | Action::Submit
        | Action::Approve
        | Action::Transmit
        | Action::Withdraw
        | Action::RequestExtension
        | Action::ConfirmExtension
        | Action::Release => (
            "NoteIn",
            json!({ "version": 1, "note": "Urgent: the suspect is active." }),
        ),
    }
}

/// Parses a transition body for `action` into its version and input.
pub fn parse_transition(action: Action, value: Value) -> Result<(i64, Input), Error> {
    let mut e = Errors::new();
    let (version, input) = match action {
        Action::Return => {
            let b: ReturnIn = body(value)?;
            let comment = required(&mut e, "comment", &b.comment);
            (b.version, comment.map(|comment| Input::Return { comment }))
        }
        Action::Reject => {
            let b: RejectIn = body(value)?;
            let reason = required(&mut e, "reason", &b.reason);
            (b.version, reason.map(|reason| Input::Reject { reason }))
        }
        Action::Acknowledge => {
            let b: AcknowledgeIn = body(value)?;
            let reference = optional_text(
                &mut e,
                "provider_reference",
                b.provider_reference.as_deref(),
                100,
            );
            (
                b.version,
                Some(Input::Acknowledge {
                    provider_reference: reference,
                }),
            )
        }
        Action::Preserve => {
            let b: PreserveIn = body(value)?;
            let until = instant(&mut e, "preserved_until", b.preserved_until.as_deref());
            (
                b.version,
                Some(Input::Preserve {
                    preserved_until: until,
                }),
            )
        }
        Action::AskClarification => {
            let b: QuestionIn = body(value)?;
            let question = required(&mut e, "question", &b.question);
            (
                b.version,
                question.map(|question| Input::AskClarification { question }),
            )
        }
        Action::AnswerClarification => {
            let b: AnswerIn = body(value)?;
            let answer = required(&mut e, "answer", &b.answer);
            (
                b.version,
                answer.map(|answer| Input::AnswerClarification { answer }),
            )
        }
        Action::Refuse => {
            let b: RefuseIn = body(value)?;
            let ground = e.check("ground", RefusalGround::parse(&b.ground));
            let explanation = required(&mut e, "explanation", &b.explanation);
            (
                b.version,
                ground
                    .zip(explanation)
                    .map(|(ground, explanation)| Input::Refuse {
                        ground,
                        explanation,
                    }),
            )
        }
        Action::ReportMoved => {
            let b: MovedIn = body(value)?;
            let to_provider_id = b
                .to_provider_id
                .as_deref()
                .and_then(|p| id_field(&mut e, "to_provider_id", p));
            let to_jurisdiction = b
                .to_jurisdiction
                .as_deref()
                .and_then(|j| jurisdiction(&mut e, "to_jurisdiction", j));
            let note = required(&mut e, "note", &b.note);
            (
                b.version,
                note.map(|note| Input::ReportMoved {
                    to_provider_id,
                    to_jurisdiction,
                    note,
                }),
            )
        }
        Action::Fulfil => {
            let b: FulfilIn = body(value)?;
            let note = optional_text(&mut e, "note", b.note.as_deref(), TEXT_MAX);
            (
                b.version,
                Some(Input::Fulfil {
                    note,
                    no_data: b.no_data,
                }),
            )
        }
        Action::NotifyDelay => {
            let b: DelayIn = body(value)?;
            let reason = required(&mut e, "reason", &b.reason);
            let expected_by = instant(&mut e, "expected_by", b.expected_by.as_deref());
            (
                b.version,
                reason.map(|reason| Input::NotifyDelay {
                    reason,
                    expected_by,
                }),
            )
        }
        Action::ConfirmProduction => {
            let b: ConfirmProductionIn = body(value)?;
            let follow_up_id = id_field(&mut e, "follow_up_id", &b.follow_up_id);
            (
                b.version,
                follow_up_id.map(|follow_up_id| Input::ConfirmProduction { follow_up_id }),
            )
        }
        Action::Decide
        | Action::Submit
        | Action::Approve
        | Action::Transmit
        | Action::Withdraw
        | Action::RequestExtension
        | Action::ConfirmExtension
        | Action::Release => {
            let b: NoteIn = body(value)?;
            let note = optional_text(&mut e, "note", b.note.as_deref(), TEXT_MAX);
            (b.version, Some(Input::Note(note)))
        }
    };
    if version < 1 {
        e.add(
            "version",
            "is the `version` of the request you read (1 or more)",
        );
    }
    let input = e.finish(input)?;
    Ok((version, input))
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEventOut {
    pub id: String,
    /// The event's place in the request's chain; for a responder, its place
    /// among the events it may read (1, 2, 3...), so that gaps do not betray
    /// what it may not.
    pub seq: i64,
    pub occurred_at: UtcTime,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
    pub action: String,
    #[schema(value_type = Object)]
    pub details: Value,
    /// The chain's hashes, for the issuing side, which can verify them; not
    /// shown to a responder, whose view leaves events out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// Events a responder does not see at all: links to the case's other requests,
/// and recomputations that list the issuing side's own clocks.
const ISSUING_SIDE_EVENTS: [&str; 2] = ["follow_up_filed", "deadlines_recomputed"];

/// Events the issuing side keeps to itself: responders see that they happened
/// (the status says so) but not what was written.
const INTERNAL_DETAILS: [&str; 2] = ["reject", "return"];

/// The request's trail as the viewer may read it: responders from the
/// transmission on, without the issuing side's internal remarks or links to
/// other requests of the case.
fn audit_view(rows: Vec<AuditEventRow>, insider: bool) -> Result<Vec<AuditEventOut>, Error> {
    let start = if insider {
        0
    } else {
        rows.iter()
            .position(|r| r.action == "transmit")
            .unwrap_or(rows.len())
    };
    rows.into_iter()
        .skip(start)
        .filter(|r| insider || !ISSUING_SIDE_EVENTS.contains(&r.action.as_str()))
        .enumerate()
        .map(|(place, r)| {
            let details = if !insider && INTERNAL_DETAILS.contains(&r.action.as_str()) {
                json!({})
            } else {
                serde_json::from_str(&r.details).map_err(Error::internal)?
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
            let row = repo::requests::get_visible(conn, &viewer, &id)?
                .ok_or_else(|| Error::not_found(format!("no request `{id}`")))?;
            let insider = viewer.sees_case_content(&row.access());
            let rows: Vec<AuditEventRow> =
                repo::audit::for_chain(conn, &crate::domain::audit::request_chain(&row.id))?;
            audit_view(rows, insider)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items: events }))
}
