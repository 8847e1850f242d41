use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::paging::{PageOut, PageQuery};
use super::requests::RequestSummary;
use crate::auth::Caller;
use crate::domain::reference::Role;
use crate::domain::requests::{OffenceCategory, Priority};
use crate::domain::validation::{Errors, text_field};
use crate::error::Error;
use crate::repo;
use crate::repo::cases::CaseRow;
use crate::repo::names::{Names, Wanted};
use crate::service::cases::{self, NewCase};
use crate::state::AppState;
use crate::time::UtcTime;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "reference": "OCPU-2026-0200",
    "title": "Grooming via Chatterbox",
    "offence_categories": ["grooming", "sexual_extortion"],
    "summary": "An adult groomed a 12-year-old over chat and obtained images.",
    "priority": "high"
}))]
pub struct CaseIn {
    #[schema(min_length = 1, max_length = 64, example = "OCPU-2026-0117")]
    pub reference: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(value_type = Vec<OffenceCategory>)]
    pub offence_categories: Vec<String>,
    #[schema(min_length = 1, max_length = 20000)]
    pub summary: String,
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseOut {
    pub id: String,
    pub reference: String,
    pub title: String,
    #[schema(value_type = Vec<OffenceCategory>)]
    pub offence_categories: Vec<String>,
    pub summary: String,
    pub priority: Priority,
    pub agency_id: String,
    pub agency_name: String,
    pub created_by: String,
    pub created_by_name: Option<String>,
    pub created_at: UtcTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<RequestSummary>>,
}

impl CaseOut {
    fn names_of(row: &CaseRow, wanted: &mut Wanted) {
        wanted.organisation(&row.agency_id).person(&row.created_by);
    }

    fn from_row(
        row: CaseRow,
        requests: Option<Vec<RequestSummary>>,
        names: &Names,
    ) -> Result<Self, Error> {
        Ok(CaseOut {
            agency_name: names.organisation(&row.agency_id),
            created_by_name: names.person(&row.created_by),
            offence_categories: serde_json::from_str(&row.offence_categories)
                .map_err(Error::internal)?,
            id: row.id,
            reference: row.reference,
            title: row.title,
            summary: row.summary,
            priority: row.priority,
            agency_id: row.agency_id,
            created_by: row.created_by,
            created_at: row.created_at,
            requests,
        })
    }
}

impl CaseIn {
    fn parse(self) -> Result<NewCase, Error> {
        let mut errors = Errors::new();
        let reference = errors.check("reference", text_field(&self.reference, 64));
        let title = errors.check("title", text_field(&self.title, 200));
        let summary = errors.check("summary", text_field(&self.summary, 20_000));
        let priority = errors.check(
            "priority",
            Priority::parse(self.priority.as_deref().unwrap_or("normal")),
        );
        let mut categories = Vec::new();
        if self.offence_categories.is_empty() {
            errors.add("offence_categories", "name at least one offence category");
        }
        for (i, text) in self.offence_categories.iter().enumerate() {
            if let Some(c) = errors.check(
                &format!("offence_categories[{i}]"),
                OffenceCategory::parse(text),
            ) && !categories.contains(&c)
            {
                categories.push(c);
            }
        }
        let (reference, title, summary, priority) =
            errors.finish((|| Some((reference?, title?, summary?, priority?)))())?;
        Ok(NewCase {
            reference,
            title,
            offence_categories: categories,
            summary,
            priority,
        })
    }
}

/// A case's body, as the API and the portal's form send it.
pub fn parse_case(body: serde_json::Value) -> Result<NewCase, Error> {
    let case: CaseIn = serde_json::from_value(body).map_err(|e| Error::malformed(e.to_string()))?;
    case.parse()
}

/// The agency of a liaison officer; everyone else has no cases.
fn officer_agency(caller: &Caller) -> Option<String> {
    (caller.role == Role::LiaisonOfficer)
        .then(|| caller.organisation_id.clone())
        .flatten()
}

#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), request_body = CaseIn,
    responses((status = 201, description = "Opened (liaison officers)", body = CaseOut)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CaseIn>,
) -> Result<HttpResponse, Error> {
    let agency = officer_agency(&caller)
        .ok_or_else(|| Error::forbidden("only a liaison officer opens cases"))?;
    let new = body.into_inner().parse()?;
    let actor = caller.actor();
    let row = state
        .write_as(&caller, move |conn| {
            cases::create(conn, &actor, &agency, new)
        })
        .await?;
    let mut wanted = Wanted::default();
    CaseOut::names_of(&row, &mut wanted);
    let names = state
        .db_as(&caller, move |conn| Ok(wanted.load(conn)?))
        .await?;
    Ok(HttpResponse::Created().json(CaseOut::from_row(row, Some(Vec::new()), &names)?))
}

/// Cases of the caller's agency, newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Cases of the caller's agency, newest first", body = PageOut<CaseOut>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, Error> {
    let page = query.to_request()?;
    let Some(agency) = officer_agency(&caller) else {
        // An answer, even an empty one, only to an account that is still active.
        state.confirm(&caller).await?;
        return Ok(HttpResponse::Ok().json(PageOut::<CaseOut> {
            items: Vec::new(),
            next_cursor: None,
        }));
    };
    let (page, names) = state
        .db_as(&caller, move |conn| {
            let page = repo::cases::list_for_agency(conn, &agency, &page)?;
            let mut wanted = Wanted::default();
            page.items
                .iter()
                .for_each(|row| CaseOut::names_of(row, &mut wanted));
            Ok((page, wanted.load(conn)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(PageOut::try_from_page(page, |row| {
        CaseOut::from_row(row, None, &names)
    })?))
}

/// A case of the caller's agency with its requests; to anyone else it does not exist.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "A case")),
    responses((status = 200, description = "The case with its requests", body = CaseOut)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner();
    let not_found = Error::not_found(format!("no case `{id}`"));
    let Some(agency) = officer_agency(&caller) else {
        return Err(not_found);
    };
    let viewer = caller.viewer();
    let found = state
        .db_as(&caller, move |conn| {
            let Some(case) = repo::cases::get_for_agency(conn, &id, &agency)? else {
                return Ok(None);
            };
            let requests = repo::requests::of_case_visible(conn, &viewer, &case.id)?;
            let mut wanted = Wanted::default();
            CaseOut::names_of(&case, &mut wanted);
            requests.iter().for_each(|r| {
                wanted.organisation(&r.responder_id);
            });
            let names = wanted.load(conn)?;
            Ok(Some((case, requests, names)))
        })
        .await?;
    let (case, requests, names) = found.ok_or(not_found)?;
    let summaries = requests
        .into_iter()
        .map(|r| RequestSummary::build(r, &names))
        .collect();
    Ok(HttpResponse::Ok().json(CaseOut::from_row(case, Some(summaries), &names)?))
}
