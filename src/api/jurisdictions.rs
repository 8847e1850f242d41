use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::paging::{PageOut, PageQuery};
use crate::auth::Caller;
use crate::domain::reference::{
    JurisdictionCode, default_memberships, parse_membership, parse_timezone,
};
use crate::domain::validation::{Errors, text_field};
use crate::error::Error;
use crate::repo;
use crate::repo::jurisdictions::JurisdictionRow;
use crate::service::reference::{self, JurisdictionChange, NewJurisdiction};
use crate::state::AppState;
use crate::time::UtcTime;

/// How long a change of calendar waits for the deadlines it moves.
pub const RECOMPUTE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionIn {
    pub code: String,
    pub name: String,
    pub timezone: String,
    /// Defaults from the code: EU membership, Budapest Party and the like.
    pub memberships: Option<Vec<String>>,
    /// Public holidays (YYYY-MM-DD) for counting days under Regulation 1182/71.
    pub holidays: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionPatch {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub memberships: Option<Vec<String>>,
    pub holidays: Option<Vec<String>>,
}

fn parse_memberships(errors: &mut Errors, list: &[String]) -> Vec<String> {
    let mut parsed = Vec::new();
    for (i, m) in list.iter().enumerate() {
        if let Some(m) = errors.check(&format!("memberships[{i}]"), parse_membership(m))
            && !parsed.contains(&m)
        {
            parsed.push(m);
        }
    }
    parsed
}

fn parse_holidays(errors: &mut Errors, list: &[String]) -> Vec<chrono::NaiveDate> {
    if list.len() > 1000 {
        errors.add("holidays", "at most 1000 dates");
        return Vec::new();
    }
    list.iter()
        .enumerate()
        .filter_map(|(i, d)| {
            errors.check(
                &format!("holidays[{i}]"),
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| format!("`{d}` is not a date such as 2027-03-17")),
            )
        })
        .collect()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JurisdictionOut {
    pub code: String,
    pub name: String,
    pub timezone: String,
    pub memberships: Vec<String>,
    pub holidays: Vec<String>,
    pub created_at: UtcTime,
}

impl TryFrom<JurisdictionRow> for JurisdictionOut {
    type Error = Error;
    fn try_from(row: JurisdictionRow) -> Result<Self, Error> {
        Ok(JurisdictionOut {
            memberships: serde_json::from_str(&row.memberships).map_err(Error::internal)?,
            holidays: serde_json::from_str(&row.holidays).map_err(Error::internal)?,
            code: row.code,
            name: row.name,
            timezone: row.timezone,
            created_at: row.created_at,
        })
    }
}

impl JurisdictionPatch {
    pub fn parse(self) -> Result<JurisdictionChange, Error> {
        let patch = self;
        let mut errors = Errors::new();
        let change = JurisdictionChange {
            name: patch
                .name
                .and_then(|n| errors.check("name", text_field(&n, 200))),
            timezone: patch
                .timezone
                .and_then(|t| errors.check("timezone", parse_timezone(&t))),
            memberships: patch
                .memberships
                .map(|list| parse_memberships(&mut errors, &list)),
            holidays: patch
                .holidays
                .map(|list| parse_holidays(&mut errors, &list)),
        };
        errors.into_result()?;
        Ok(change)
    }
}

/// A change as the portal's forms send it: the API's body and parser.
pub fn parse_patch(body: serde_json::Value) -> Result<JurisdictionChange, Error> {
    let patch: JurisdictionPatch =
        serde_json::from_value(body).map_err(|e| Error::malformed(e.to_string()))?;
    patch.parse()
}

impl JurisdictionIn {
    pub fn parse(self) -> Result<NewJurisdiction, Error> {
        let mut errors = Errors::new();
        let code = errors.check("code", JurisdictionCode::parse(&self.code));
        let name = errors.check("name", text_field(&self.name, 200));
        let timezone = errors.check("timezone", parse_timezone(&self.timezone));
        let memberships = self
            .memberships
            .map(|list| parse_memberships(&mut errors, &list));
        let holidays = parse_holidays(&mut errors, &self.holidays.unwrap_or_default());
        let (code, name, timezone) = errors.finish((|| Some((code?, name?, timezone?)))())?;
        let memberships = memberships.unwrap_or_else(|| default_memberships(&code));
        Ok(NewJurisdiction {
            code,
            name,
            timezone,
            memberships,
            holidays,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/jurisdictions", tag = "reference", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Jurisdictions by code", body = PageOut<JurisdictionOut>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, Error> {
    let page = query.to_request()?;
    let page = state
        .db_as(&caller, move |conn| {
            Ok(repo::jurisdictions::list(conn, &page)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PageOut::try_from_page(page, JurisdictionOut::try_from)?))
}

#[utoipa::path(get, path = "/api/v1/jurisdictions/{code}", tag = "reference", security(("bearer" = [])), params(("code" = String, Path, description = "ISO 3166-1 alpha-2 code, such as IE", example = "IE")),
    responses((status = 200, description = "The jurisdiction", body = JurisdictionOut)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let code = code.into_inner();
    let shown = code.clone();
    let row = state
        .db_as(&caller, move |conn| {
            Ok(repo::jurisdictions::get(conn, &code)?)
        })
        .await?
        .ok_or_else(|| Error::not_found(format!("no jurisdiction `{shown}`")))?;
    Ok(HttpResponse::Ok().json(JurisdictionOut::try_from(row)?))
}

#[utoipa::path(post, path = "/api/v1/jurisdictions", tag = "reference", security(("bearer" = [])), request_body = JurisdictionIn,
    responses((status = 201, description = "Created (administrators)", body = JurisdictionOut)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<JurisdictionIn>,
) -> Result<HttpResponse, Error> {
    caller.require_admin()?;
    let new = body.into_inner().parse()?;
    let actor = caller.actor();
    let row = state
        .write_as(&caller, move |conn| {
            reference::create_jurisdiction(conn, &actor, new)
        })
        .await?;
    tracing::info!(code = %row.code, by = %caller.user_id, "jurisdiction created");
    Ok(HttpResponse::Created().json(JurisdictionOut::try_from(row)?))
}

#[utoipa::path(patch, path = "/api/v1/jurisdictions/{code}", tag = "reference", security(("bearer" = [])), params(("code" = String, Path, description = "ISO 3166-1 alpha-2 code, such as IE", example = "IE")), request_body = JurisdictionPatch,
    responses((status = 200, description = "Changed (administrators). A change of holidays or time zone recomputes the stored deadlines of the jurisdiction's open requests: before the answer when that takes under 10 seconds, else in the background (finished by the watcher if the process stops)", body = JurisdictionOut)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: web::Json<JurisdictionPatch>,
) -> Result<HttpResponse, Error> {
    caller.require_admin()?;
    let change = body.into_inner().parse()?;
    let (actor, code) = (caller.actor(), code.into_inner());
    let row = state
        .write_as(&caller, move |conn| {
            reference::update_jurisdiction(conn, &actor, &code, change)
        })
        .await?;
    // The stored deadlines follow the new calendar before the answer, when
    // that is quick; otherwise in the background.
    reference::recompute_after_change(state.into_inner(), RECOMPUTE_WAIT).await;
    Ok(HttpResponse::Ok().json(JurisdictionOut::try_from(row)?))
}
