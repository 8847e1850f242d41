//! Cases: an agency's investigations, which requests are filed against.

use crate::db::{DbConn, new_id};
use crate::domain::audit::Actor;
use crate::domain::requests::{OffenceCategory, Priority};
use crate::error::Error;
use crate::repo;
use crate::repo::audit::NewEvent;
use crate::repo::cases::CaseRow;
use crate::time::UtcTime;

#[derive(Debug, Clone)]
pub struct NewCase {
    pub reference: String,
    pub title: String,
    pub offence_categories: Vec<OffenceCategory>,
    pub summary: String,
    pub priority: Priority,
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    agency_id: &str,
    new: NewCase,
) -> Result<CaseRow, Error> {
    let now = UtcTime::now();
    let categories: Vec<&str> = new.offence_categories.iter().map(|c| c.as_str()).collect();
    let row = CaseRow {
        id: new_id(),
        agency_id: agency_id.to_owned(),
        reference: new.reference,
        title: new.title,
        offence_categories: serde_json::to_string(&categories).map_err(Error::internal)?,
        summary: new.summary,
        priority: new.priority,
        created_by: actor.user_id.clone().unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    repo::cases::insert(conn, &row).map_err(|e| {
        Error::from(e).when_taken(|| {
            format!(
                "your agency already has a case with reference `{}`",
                row.reference
            )
        })
    })?;
    // The case's own facts stay out of the trail, which providers may read parts
    // of; the reference and who opened it are enough to account for it.
    repo::audit::append(
        conn,
        NewEvent {
            chain: format!("case:{}", row.id),
            actor,
            action: "case_created",
            object_type: "case",
            object_id: Some(&row.id),
            request_id: None,
            details: serde_json::json!({ "reference": row.reference, "agency_id": row.agency_id }),
        },
    )?;
    Ok(row)
}

/// A case with its requests as the trail shows them: each request's
/// soonest open deadline, and the names of the organisations named.
pub struct Trail {
    pub case: CaseRow,
    pub requests: Vec<crate::repo::requests::RequestRow>,
    pub next: std::collections::BTreeMap<String, crate::repo::deadlines::DeadlineRow>,
    pub names: std::collections::BTreeMap<String, String>,
}

/// The case `id` of `agency_id` with its requests as `viewer` may see them;
/// another agency's case is `None`, as one that does not exist.
pub fn trail(
    conn: &mut DbConn,
    viewer: &crate::domain::access::Viewer,
    agency_id: &str,
    id: &str,
) -> Result<Option<Trail>, Error> {
    use crate::domain::deadlines::DeadlineStatus;
    let Some(case) = repo::cases::get_for_agency(conn, id, agency_id)? else {
        return Ok(None);
    };
    let requests = repo::requests::of_case_visible(conn, viewer, &case.id)?;
    let ids: Vec<String> = requests.iter().map(|r| r.id.clone()).collect();
    let mut next = std::collections::BTreeMap::new();
    for d in repo::deadlines::for_requests(conn, &ids)? {
        if d.status != DeadlineStatus::Open {
            continue;
        }
        let sooner = next
            .get(&d.request_id)
            .is_none_or(|n: &crate::repo::deadlines::DeadlineRow| d.due_at < n.due_at);
        if sooner {
            next.insert(d.request_id.clone(), d);
        }
    }
    let mut named: std::collections::BTreeSet<String> =
        requests.iter().map(|r| r.responder_id.clone()).collect();
    for r in &requests {
        let response: serde_json::Value =
            serde_json::from_str(&r.response).map_err(Error::internal)?;
        if let Some(reports) = response.get("moved").and_then(|m| m.as_array()) {
            named.extend(
                reports
                    .iter()
                    .filter_map(|m| m.get("to_provider_id").and_then(|p| p.as_str()))
                    .map(str::to_owned),
            );
        }
    }
    let mut names = std::collections::BTreeMap::new();
    for org in named {
        if let Some(row) = repo::organisations::get(conn, &org)? {
            names.insert(org, row.name);
        }
    }
    Ok(Some(Trail {
        case,
        requests,
        next,
        names,
    }))
}
