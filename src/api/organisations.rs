use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::paging::{PageOut, PageQuery};
use crate::auth::Caller;
use crate::domain::reference::{DataCategory, JurisdictionCode, OrganisationKind};
use crate::domain::validation::{Email, Errors, text_field};
use crate::error::Error;
use crate::repo;
use crate::repo::organisations::{Filter, OrganisationRow};
use crate::service::reference::{self, NewOrganisation, OrganisationChange};
use crate::state::AppState;
use crate::time::UtcTime;

/// Longest retention a provider profile may state: 100 years.
const MAX_RETENTION_DAYS: i64 = 36_500;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationIn {
    pub name: String,
    #[schema(value_type = crate::domain::reference::OrganisationKind)]
    pub kind: String,
    #[schema(example = "IE")]
    pub jurisdiction: String,
    pub contact_email: Option<String>,
    /// Data category → days the provider keeps it. Providers only.
    pub retention_days: Option<BTreeMap<String, i64>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganisationOut {
    pub id: String,
    pub name: String,
    pub kind: crate::domain::reference::OrganisationKind,
    pub jurisdiction: String,
    pub contact_email: Option<String>,
    pub retention_days: BTreeMap<String, u32>,
    pub created_at: UtcTime,
}

impl TryFrom<OrganisationRow> for OrganisationOut {
    type Error = Error;
    fn try_from(row: OrganisationRow) -> Result<Self, Error> {
        Ok(OrganisationOut {
            retention_days: serde_json::from_str(&row.retention_days).map_err(Error::internal)?,
            id: row.id,
            name: row.name,
            kind: row.kind,
            jurisdiction: row.jurisdiction,
            contact_email: row.contact_email,
            created_at: row.created_at,
        })
    }
}

/// A retention profile as sent: providers only, each category once, days
/// from 1 to 100 years.
fn parse_retention(
    errors: &mut Errors,
    kind: Option<OrganisationKind>,
    entries: BTreeMap<String, i64>,
) -> BTreeMap<DataCategory, u32> {
    let mut retention = BTreeMap::new();
    if !entries.is_empty() && kind.is_some_and(|k| k != OrganisationKind::Provider) {
        errors.add("retention_days", "only a provider has retention periods");
    }
    for (category, days) in entries {
        let field = format!("retention_days.{category}");
        let Some(category) = errors.check(&field, DataCategory::parse(&category)) else {
            continue;
        };
        if (1..=MAX_RETENTION_DAYS).contains(&days) {
            retention.insert(category, days as u32);
        } else {
            errors.add(
                field,
                format!("must be a number of days from 1 to {MAX_RETENTION_DAYS}"),
            );
        }
    }
    retention
}

/// A change to an organisation: what is sent changes, the rest stays. Its
/// kind and jurisdiction do not change: requests and accounts depend on them.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationPatch {
    pub name: Option<String>,
    /// `null` removes it (not for a provider: legal process goes there).
    #[serde(default, deserialize_with = "super::requests::present")]
    pub contact_email: Option<Option<String>>,
    /// The whole profile, replacing the one stored. Providers only.
    pub retention_days: Option<BTreeMap<String, i64>>,
}

impl OrganisationPatch {
    /// Parses the change for an organisation of `kind`.
    pub fn parse(self, kind: OrganisationKind) -> Result<OrganisationChange, Error> {
        let mut errors = Errors::new();
        let name = self
            .name
            .and_then(|n| errors.check("name", text_field(&n, 200)));
        let contact_email = match self.contact_email {
            None => None,
            Some(None) if kind == OrganisationKind::Provider => {
                errors.add(
                    "contact_email",
                    "a provider needs the address where it receives legal process",
                );
                None
            }
            Some(None) => Some(None),
            Some(Some(text)) => errors.check("contact_email", Email::parse(&text)).map(Some),
        };
        let retention_days = self
            .retention_days
            .map(|entries| parse_retention(&mut errors, Some(kind), entries));
        errors.into_result()?;
        Ok(OrganisationChange {
            name,
            contact_email,
            retention_days,
        })
    }
}

impl OrganisationIn {
    pub fn parse(self) -> Result<NewOrganisation, Error> {
        let mut errors = Errors::new();
        let name = errors.check("name", text_field(&self.name, 200));
        let kind = errors.check("kind", OrganisationKind::parse(&self.kind));
        let jurisdiction =
            errors.check("jurisdiction", JurisdictionCode::parse(&self.jurisdiction));
        let contact_email = match self.contact_email.as_deref() {
            Some(text) => errors.check("contact_email", Email::parse(text)).map(Some),
            None => Some(None),
        };
        if kind == Some(OrganisationKind::Provider) && matches!(contact_email, Some(None)) {
            errors.add(
                "contact_email",
                "a provider needs the address where it receives legal process",
            );
        }
        let retention = parse_retention(&mut errors, kind, self.retention_days.unwrap_or_default());
        let (name, kind, jurisdiction, contact_email) =
            errors.finish((|| Some((name?, kind?, jurisdiction?, contact_email?)))())?;
        Ok(NewOrganisation {
            name,
            kind,
            jurisdiction,
            contact_email,
            retention_days: retention,
        })
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[param(value_type = Option<crate::domain::reference::OrganisationKind>)]
    pub kind: Option<String>,
    pub jurisdiction: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Any signed-in user may list organisations: officers choose responders from it.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "reference", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "Organisations, by name", body = PageOut<OrganisationOut>)))]
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
    let mut errors = Errors::new();
    let kind = query
        .kind
        .as_deref()
        .and_then(|k| errors.check("kind", OrganisationKind::parse(k)));
    let jurisdiction = query
        .jurisdiction
        .as_deref()
        .and_then(|j| errors.check("jurisdiction", JurisdictionCode::parse(j)));
    errors.into_result()?;
    let filter = Filter {
        kind: kind.map(|k| k.as_str().to_owned()),
        jurisdiction: jurisdiction.map(|j| j.as_str().to_owned()),
    };
    let page = state
        .db_as(&caller, move |conn| {
            Ok(repo::organisations::list(conn, &filter, &page)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PageOut::try_from_page(page, OrganisationOut::try_from)?))
}

#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "reference", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "An organisation")),
    responses((status = 200, description = "The organisation", body = OrganisationOut)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner();
    let shown = id.clone();
    let row = state
        .db_as(&caller, move |conn| {
            Ok(repo::organisations::get(conn, &id)?)
        })
        .await?
        .ok_or_else(|| Error::not_found(format!("no organisation `{shown}`")))?;
    Ok(HttpResponse::Ok().json(OrganisationOut::try_from(row)?))
}

#[utoipa::path(post, path = "/api/v1/organisations", tag = "reference", security(("bearer" = [])), request_body = OrganisationIn,
    responses((status = 201, description = "Created (administrators)", body = OrganisationOut)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<OrganisationIn>,
) -> Result<HttpResponse, Error> {
    caller.require_admin()?;
    let new = body.into_inner().parse()?;
    let actor = caller.actor();
    let row = state
        .write_as(&caller, move |conn| {
            reference::create_organisation(conn, &actor, new)
        })
        .await?;
    tracing::info!(organisation_id = %row.id, by = %caller.user_id, "organisation created");
    Ok(HttpResponse::Created().json(OrganisationOut::try_from(row)?))
}

#[utoipa::path(patch, path = "/api/v1/organisations/{id}", tag = "reference", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "An organisation")), request_body = OrganisationPatch,
    responses((status = 200, description = "Changed by the platform administrator, or by the organisation's own administrator (its contact address and retention profile, not its name). A new retention profile recomputes the retention risks of the open requests addressed to the provider", body = OrganisationOut)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<OrganisationPatch>,
) -> Result<HttpResponse, Error> {
    let (actor, id, patch) = (caller.actor(), id.into_inner(), body.into_inner());
    let by = caller.user_id.clone();
    let row = state
        .write_as(&caller, move |conn| {
            let by = crate::service::stewardship::steward(conn, &by)?;
            crate::service::stewardship::may_change_organisation(&by, &id, patch.name.is_some())?;
            let kind = repo::organisations::get(conn, &id)?
                .ok_or_else(|| Error::not_found(format!("no organisation `{id}`")))?
                .kind;
            let change = patch.parse(kind)?;
            reference::update_organisation(conn, &actor, &id, change)
        })
        .await?;
    reference::recompute_after_change(state.into_inner(), super::jurisdictions::RECOMPUTE_WAIT)
        .await;
    Ok(HttpResponse::Ok().json(OrganisationOut::try_from(row)?))
}
