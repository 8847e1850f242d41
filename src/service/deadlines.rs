//! Recomputing and storing a request's deadlines, inside the transaction that
//! changed it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::Value;

use crate::db::DbConn;
use crate::db::schema::requests;
use crate::domain::deadlines::{
    self, Calendar, Deadline, Facts, FollowUp, ProductionConfirmation, Targets,
};
use crate::domain::legal_bases::Catalogue;
use crate::domain::reference::{DataCategory, RequestKind, holidays_of, parse_timezone};
use crate::domain::workflow::Status;
use crate::error::Error;
use crate::repo;
use crate::repo::requests::RequestRow;
use crate::time::UtcTime;
use diesel::prelude::*;

/// What the deadline rules need besides the request: the catalogue in force and
/// the deployment's targets.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub catalogue: &'a Catalogue,
    pub targets: Targets,
    /// For links in the notifications a change queues.
    pub public_url: &'a str,
}

struct Zone {
    code: String,
    timezone: chrono_tz::Tz,
    holidays: BTreeMap<NaiveDate, String>,
}

impl Zone {
    fn calendar(&self) -> Calendar<'_> {
        Calendar {
            jurisdiction: &self.code,
            timezone: self.timezone,
            holidays: &self.holidays,
        }
    }
}

fn zone(conn: &mut DbConn, code: &str) -> Result<Zone, Error> {
    let row = repo::jurisdictions::get(conn, code)?
        .ok_or_else(|| Error::internal(format!("jurisdiction {code} of a request is missing")))?;
    let added: Vec<NaiveDate> = serde_json::from_str(&row.holidays).map_err(Error::internal)?;
    Ok(Zone {
        code: row.code.clone(),
        timezone: parse_timezone(&row.timezone).map_err(Error::internal)?,
        holidays: holidays_of(&row.code, &added),
    })
}

fn at(value: &Value, path: &[&str]) -> Option<UtcTime> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    serde_json::from_value(v.clone()).ok()
}

/// A follow-up's columns: id, reference, kind, basis, responder, executing
/// jurisdiction, transmission.
type FollowUpColumns = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<UtcTime>,
);

/// The follow-ups filed against a request, as its clocks need them.
fn follow_ups(conn: &mut DbConn, id: &str) -> Result<Vec<FollowUp>, Error> {
    let rows: Vec<FollowUpColumns> = requests::table
        .filter(requests::parent_id.eq(id))
        .select((
            requests::id,
            requests::reference,
            requests::kind,
            requests::legal_basis,
            requests::responder_id,
            requests::executing_jurisdiction,
            requests::transmitted_at,
        ))
        .order(requests::id)
        .load(conn)?;
    rows.into_iter()
        .map(
            |(id, reference, kind, legal_basis, responder_id, executing_jurisdiction, sent)| {
                Ok(FollowUp {
                    id,
                    reference,
                    kind: RequestKind::parse(&kind).map_err(Error::internal)?,
                    legal_basis,
                    responder_id,
                    executing_jurisdiction,
                    transmitted_at: sent,
                })
            },
        )
        .collect()
}

/// Computes a request's deadlines at `now` from what is stored.
pub fn compute(
    conn: &mut DbConn,
    rules: &Rules<'_>,
    row: &RequestRow,
    now: UtcTime,
) -> Result<Vec<Deadline>, Error> {
    let Some(basis) = rules.catalogue.get(&row.legal_basis) else {
        // A deployment removed the entry: no clock can be computed for it.
        tracing::warn!(request = %row.id, basis = %row.legal_basis, "legal basis not in the catalogue");
        return Ok(Vec::new());
    };
    let status = row.status;
    let response: Value = serde_json::from_str(&row.response).map_err(Error::internal)?;
    let categories: Vec<DataCategory> =
        serde_json::from_str(&row.data_categories).map_err(Error::internal)?;
    let identifiers: Vec<crate::domain::identifiers::Identifier> =
        serde_json::from_str(&row.identifiers).map_err(Error::internal)?;
    let retention: BTreeMap<DataCategory, u32> =
        match repo::organisations::get(conn, &row.responder_id)? {
            Some(org) => serde_json::from_str(&org.retention_days).map_err(Error::internal)?,
            None => BTreeMap::new(),
        };
    let children = follow_ups(conn, &row.id)?;
    let confirmation = match (
        at(&response, &["production_confirmed", "at"]),
        response
            .pointer("/production_confirmed/follow_up_id")
            .and_then(Value::as_str),
    ) {
        (Some(at), Some(follow_up_id)) => Some(ProductionConfirmation {
            at,
            follow_up_id: follow_up_id.to_owned(),
        }),
        _ => None,
    };
    let closed_at = matches!(
        status,
        Status::Withdrawn | Status::Rejected | Status::Released | Status::Expired
    )
    .then_some(row.updated_at);
    let issuing = zone(conn, &row.issuing_jurisdiction)?;
    let executing = zone(conn, &row.executing_jurisdiction)?;
    let facts = Facts {
        kind: row.kind,
        status,
        emergency: row.emergency,
        data_categories: &categories,
        identifiers: &identifiers,
        responder_id: &row.responder_id,
        executing_jurisdiction: &row.executing_jurisdiction,
        submitted_at: row.submitted_at,
        approved_at: row.approved_at,
        transmitted_at: row.transmitted_at,
        acknowledged_at: at(&response, &["acknowledged", "at"]),
        preserved_at: at(&response, &["preserved", "at"]),
        decided_at: at(&response, &["decided", "at"]),
        delay_notified_at: at(&response, &["delay_notice", "at"]),
        answered_at: row.answered_at,
        closed_at,
        extensions_granted: row.extensions_granted.max(0) as u32,
        preserved_until: row.preserved_until,
        cybertipline_submitted_at: row.cybertipline_submitted_at,
        follow_ups: &children,
        production_confirmed: confirmation.as_ref(),
        retention_days: &retention,
    };
    Ok(deadlines::compute(
        basis,
        &facts,
        &rules.targets,
        &issuing.calendar(),
        &executing.calendar(),
        now,
    ))
}

/// Recomputes and stores a request's deadlines.
pub fn refresh(
    conn: &mut DbConn,
    rules: &Rules<'_>,
    row: &RequestRow,
) -> Result<Vec<Deadline>, Error> {
    let computed = compute(conn, rules, row, UtcTime::now())?;
    repo::deadlines::replace_for_request(conn, row, &computed)?;
    Ok(computed)
}

/// A request's deadlines as `viewer` may read them: the issuing side's own
/// clocks, and what the explanations say of the case's other requests, are its
/// business, not the responder's.
pub fn seen_by(
    conn: &mut DbConn,
    viewer: &crate::domain::access::Viewer,
    row: &RequestRow,
) -> Result<Vec<repo::deadlines::DeadlineRow>, Error> {
    let mut rows = repo::deadlines::for_request(conn, &row.id)?;
    if !viewer.sees_case_content(&row.access()) {
        rows.retain(|d| !crate::domain::deadlines::ISSUING_SIDE.contains(&d.kind.as_str()));
        for d in &mut rows {
            d.explanation = crate::domain::deadlines::for_responder(&d.explanation).to_owned();
        }
    }
    Ok(rows)
}

/// The at-risk board as `viewer` may read it: deadlines of the requests it may
/// see, soonest first (`limit + 1` rows, the last saying there is more), with
/// each explanation cut where it turns to what only the issuing side reads.
pub fn board(
    conn: &mut DbConn,
    viewer: &crate::domain::access::Viewer,
    q: &repo::deadlines::BoardQuery,
) -> Result<Vec<repo::deadlines::BoardRow>, Error> {
    let mut rows = repo::deadlines::board(conn, viewer, q)?;
    for r in &mut rows {
        let d = &r.deadline;
        let insider = viewer.sees_case_content(&crate::domain::access::RequestAccess {
            agency_id: &d.agency_id,
            created_by: "",
            issuing_jurisdiction: &d.issuing_jurisdiction,
            responder_id: &d.responder_id,
            submitted: d.submitted,
            transmitted: d.transmitted,
        });
        if !insider {
            r.deadline.explanation =
                crate::domain::deadlines::for_responder(&d.explanation).to_owned();
        }
    }
    Ok(rows)
}
