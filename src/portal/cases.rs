//! An agency's cases: the list, the form that opens one, and a case's page,
//! which shows its requests as a trail across providers and countries
//! (each preservation, where the data was said to have moved, the follow-up
//! it led to, the production that followed).

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use super::inbox::{Choice, Due, choices, due, minute};
use super::{Chrome, Failure, Visitor, page, words};
use crate::domain::reference::Role;
use crate::domain::requests::{OffenceCategory, Priority};
use crate::domain::validation::Errors;
use crate::domain::workflow::Status;
use crate::error::{Error, Kind};
use crate::repo::cases::{CaseFilter, CaseRow};
use crate::repo::requests::RequestRow;
use crate::state::AppState;
use crate::time::UtcTime;

/// Rows on a page of the list of cases.
const PAGE_ROWS: i64 = 50;

/// The agency of a liaison officer: only they have cases, and only their
/// agency's.
pub(super) fn agency_of(visitor: &Visitor) -> Result<String, Failure> {
    let user = &visitor.session.account.user;
    match (&user.role, &user.organisation_id) {
        (Role::LiaisonOfficer, Some(agency)) => Ok(agency.clone()),
        _ => Err(Failure(Error::not_found("no such page"))),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
}

struct CaseLine {
    id: String,
    reference: String,
    title: String,
    priority: String,
    opened: String,
}

#[derive(Template)]
#[template(path = "portal/cases.html")]
struct CasesPage {
    chrome: Chrome,
    search: String,
    statuses: Vec<Choice>,
    lines: Vec<CaseLine>,
    filtered: bool,
    next_page: Option<String>,
}

pub async fn list(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Failure> {
    let agency = agency_of(&visitor)?;
    let query = query.into_inner();
    let mut e = Errors::new();
    let status = (!query.status.is_empty())
        .then(|| e.check("status", Status::parse(&query.status)))
        .flatten();
    let search = query.q.trim().to_owned();
    if search.chars().count() > 200 {
        e.add("q", "is at most 200 characters");
    }
    let after = (!query.after.is_empty())
        .then(|| {
            e.check(
                "after",
                uuid::Uuid::parse_str(&query.after)
                    .map(|u| u.to_string())
                    .map_err(|_| "is not a place in this list".to_owned()),
            )
        })
        .flatten();
    e.into_result()?;
    let filter = CaseFilter {
        search: (!search.is_empty()).then(|| search.clone()),
        request_status: status,
    };
    let reader = filter.clone();
    let found = state
        .db_for(&visitor.principal(), move |conn| {
            Ok(crate::repo::cases::search_for_agency(
                conn,
                &agency,
                &reader,
                &crate::repo::PageRequest {
                    cursor: after,
                    limit: PAGE_ROWS,
                },
            )?)
        })
        .await?;
    let next_page = found.next_cursor.as_ref().map(|after| {
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [("q", search.as_str()), ("status", query.status.as_str())] {
            if !value.is_empty() {
                link.append_pair(key, value);
            }
        }
        link.append_pair("after", after);
        format!("/cases?{}", link.finish())
    });
    let html = CasesPage {
        chrome: visitor.chrome(),
        statuses: choices(Status::ALL, status, Status::as_str),
        filtered: filter.search.is_some() || status.is_some(),
        search,
        lines: found
            .items
            .into_iter()
            .map(|c| CaseLine {
                priority: words(c.priority.as_str()),
                opened: minute(c.created_at),
                id: c.id,
                reference: c.reference,
                title: c.title,
            })
            .collect(),
        next_page,
    };
    Ok(page(StatusCode::OK, super::pages::render(&html)?))
}

#[derive(Template)]
#[template(path = "portal/case_new.html")]
struct NewCasePage {
    chrome: Chrome,
    problems: BTreeMap<String, String>,
    typed: BTreeMap<String, String>,
    offences: Vec<(&'static str, String)>,
    priorities: Vec<(&'static str, String)>,
}

impl NewCasePage {
    fn typed(&self, field: &str) -> &str {
        self.typed.get(field).map_or("", String::as_str)
    }

    fn ticked(&self, field: &str) -> bool {
        !self.typed(field).is_empty()
    }

    fn problem(&self, field: &str) -> Option<&str> {
        self.problems.get(field).map(String::as_str)
    }
}

fn new_case_page(
    visitor: &Visitor,
    status: StatusCode,
    problems: BTreeMap<String, String>,
    typed: BTreeMap<String, String>,
) -> Result<HttpResponse, Failure> {
    let html = NewCasePage {
        chrome: visitor.chrome(),
        problems,
        typed,
        offences: OffenceCategory::ALL
            .iter()
            .map(|o| (o.as_str(), words(o.as_str())))
            .collect(),
        priorities: Priority::ALL
            .iter()
            .map(|p| (p.as_str(), words(p.as_str())))
            .collect(),
    };
    Ok(page(status, super::pages::render(&html)?))
}

pub async fn new_form(visitor: Visitor) -> Result<HttpResponse, Failure> {
    agency_of(&visitor)?;
    let typed = BTreeMap::from([("priority".to_owned(), "normal".to_owned())]);
    new_case_page(&visitor, StatusCode::OK, BTreeMap::new(), typed)
}

/// The API's body for a case, from the form: one box per offence category.
fn case_body(typed: &BTreeMap<String, String>) -> Value {
    let text = |k: &str| typed.get(k).map(|v| v.trim()).unwrap_or_default();
    let offences: Vec<&str> = OffenceCategory::ALL
        .iter()
        .map(|o| o.as_str())
        .filter(|o| !text(&format!("offence.{o}")).is_empty())
        .collect();
    json!({
        "reference": text("reference"),
        "title": text("title"),
        "offence_categories": offences,
        "summary": text("summary"),
        // Left out, a case is of normal priority, as in the API.
        "priority": Some(text("priority")).filter(|p| !p.is_empty()),
    })
}

pub async fn create(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let agency = agency_of(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let actor = visitor.actor();
    let made = async {
        let new = crate::api::cases::parse_case(case_body(&typed))?;
        state
            .write_for(&visitor.principal(), move |conn| {
                crate::service::cases::create(conn, &actor, &agency, new)
            })
            .await
    }
    .await;
    match made {
        Ok(case) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/cases/{}", case.id)))
            .finish()),
        Err(e) if matches!(e.kind(), Kind::Invalid(_) | Kind::Conflict { .. }) => {
            let mut problems = super::pages::problems_by_field(&e, super::pages::top_field);
            if matches!(e.kind(), Kind::Conflict { .. }) {
                problems = BTreeMap::from([("reference".to_owned(), super::pages::said(&e))]);
            }
            new_case_page(&visitor, e.status_code(), problems, typed)
        }
        Err(e) => Err(Failure(e)),
    }
}

/// A request as a step of the trail.
pub(super) struct TrailNode {
    pub id: String,
    pub reference: String,
    pub kind: String,
    pub basis: String,
    pub responder: String,
    pub jurisdiction: String,
    pub status: String,
    pub emergency: bool,
    pub next: Option<Due>,
    /// Where the responder said the data is, as it said it.
    pub moved: Vec<String>,
    pub depth: usize,
}

#[derive(Template)]
#[template(path = "portal/case.html")]
struct CasePage {
    chrome: Chrome,
    id: String,
    reference: String,
    title: String,
    summary: String,
    offences: String,
    priority: String,
    opened: String,
    trail: Vec<TrailNode>,
    countries: usize,
    responders: usize,
}

/// Requests in trail order: each after the one it follows up, in the
/// order they were filed, with its depth. Generic over what a request is, so
/// that the order is tested on its own.
pub(super) trait Linked {
    fn id(&self) -> &str;
    fn parent(&self) -> Option<&str>;
}

impl Linked for RequestRow {
    fn id(&self) -> &str {
        &self.id
    }
    fn parent(&self) -> Option<&str> {
        self.parent_id.as_deref()
    }
}

pub(super) fn trail_order<T: Linked>(requests: &[T]) -> Vec<(usize, &T)> {
    let ids: BTreeSet<&str> = requests.iter().map(Linked::id).collect();
    let mut children: BTreeMap<&str, Vec<&T>> = BTreeMap::new();
    let mut roots = Vec::new();
    for r in requests {
        match r.parent().filter(|p| ids.contains(p)) {
            Some(parent) => children.entry(parent).or_default().push(r),
            None => roots.push(r),
        }
    }
    let mut out = Vec::with_capacity(requests.len());
    // Depth first, without recursion: a trail can be long.
    let mut stack: Vec<(usize, &T)> = roots.into_iter().rev().map(|r| (0, r)).collect();
    while let Some((depth, r)) = stack.pop() {
        out.push((depth, r));
        if let Some(kids) = children.get(r.id()) {
            stack.extend(kids.iter().rev().map(|k| (depth + 1, *k)));
        }
    }
    out
}

pub async fn show(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let agency = agency_of(&visitor)?;
    let viewer = visitor.viewer()?;
    let id = id.into_inner();
    let found = state
        .db_for(&visitor.principal(), move |conn| {
            crate::service::cases::trail(conn, &viewer, &agency, &id)
        })
        .await?;
    let Some(trail) = found else {
        return Err(Failure(Error::not_found("no such case")));
    };
    let html = case_page(&state, &visitor, trail)?;
    Ok(page(StatusCode::OK, super::pages::render(&html)?))
}

fn moved_words(response: &str, names: &BTreeMap<String, String>) -> Vec<String> {
    let response: Value = serde_json::from_str(response).unwrap_or_default();
    let Some(reports) = response.get("moved").and_then(Value::as_array) else {
        return Vec::new();
    };
    reports
        .iter()
        .map(|r| {
            let text = |k: &str| r.get(k).and_then(Value::as_str);
            let whom = text("to_provider_id")
                .map(|id| names.get(id).map_or(id, String::as_str))
                .unwrap_or("a provider not named");
            match text("to_jurisdiction") {
                Some(j) => format!("{whom} in {j}"),
                None => whom.to_owned(),
            }
        })
        .collect()
}

fn case_page(
    state: &AppState,
    visitor: &Visitor,
    trail: crate::service::cases::Trail,
) -> Result<CasePage, Error> {
    let crate::service::cases::Trail {
        case,
        requests,
        next,
        names,
    } = trail;
    let now = UtcTime::now();
    let offences: Vec<String> =
        serde_json::from_str::<Vec<String>>(&case.offence_categories).map_err(Error::internal)?;
    let nodes = trail_order(&requests)
        .into_iter()
        .map(|(depth, r)| TrailNode {
            id: r.id.clone(),
            reference: r.reference.clone(),
            kind: words(r.kind.as_str()),
            basis: state
                .catalogue
                .get(&r.legal_basis)
                .map_or_else(|| r.legal_basis.clone(), |b| b.title.clone()),
            responder: names
                .get(&r.responder_id)
                .cloned()
                .unwrap_or_else(|| r.responder_id.clone()),
            jurisdiction: r.executing_jurisdiction.clone(),
            status: words(r.status.as_str()),
            emergency: r.emergency,
            next: next.get(&r.id).map(|d| due(d, now)),
            moved: moved_words(&r.response, &names),
            depth,
        })
        .collect();
    let CaseRow {
        id,
        reference,
        title,
        summary,
        priority,
        created_at,
        ..
    } = case;
    Ok(CasePage {
        chrome: visitor.chrome(),
        id,
        reference,
        title,
        summary,
        offences: offences
            .iter()
            .map(|o| words(o))
            .collect::<Vec<_>>()
            .join(", "),
        priority: words(priority.as_str()),
        opened: minute(created_at),
        countries: requests
            .iter()
            .map(|r| r.executing_jurisdiction.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        responders: requests
            .iter()
            .map(|r| r.responder_id.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        trail: nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R(&'static str, Option<&'static str>);

    impl Linked for R {
        fn id(&self) -> &str {
            self.0
        }
        fn parent(&self) -> Option<&str> {
            self.1
        }
    }

    #[test]
    fn a_trail_puts_each_follow_up_under_the_request_it_follows() {
        // a → c (follow-up), a → d, c → e; b stands alone; f's parent is not
        // visible, so it starts a trail of its own.
        let rows = vec![
            R("a", None),
            R("b", None),
            R("c", Some("a")),
            R("d", Some("a")),
            R("e", Some("c")),
            R("f", Some("zz")),
        ];
        let order: Vec<(usize, &str)> = trail_order(&rows)
            .into_iter()
            .map(|(depth, r)| (depth, r.0))
            .collect();
        assert_eq!(
            order,
            vec![(0, "a"), (1, "c"), (2, "e"), (1, "d"), (0, "b"), (0, "f")]
        );
    }
}
