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
