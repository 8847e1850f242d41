use diesel::prelude::*;

use crate::db::schema::{deadlines, organisations, requests};
use crate::db::{DbConn, new_id};
use crate::domain::access::Viewer;
use crate::domain::deadlines::{Deadline, ISSUING_SIDE};
use crate::domain::reference::Role;
use crate::repo::requests::RequestRow;
use crate::time::UtcTime;

type Db = <DbConn as diesel::Connection>::Backend;
type Visible<QS> = Box<dyn BoxableExpression<QS, Db, SqlType = diesel::sql_types::Bool>>;

/// `Viewer::can_see` on the request fields copied into each deadline, so that
/// the board is one index range per kind of viewer. Must say what
/// `repo::requests::visible_to` says; the board's tests hold them together.
fn visible_to<QS>(viewer: &Viewer) -> Visible<QS>
where
    QS: 'static,
    deadlines::id: SelectableExpression<QS>,
    deadlines::agency_id: SelectableExpression<QS>,
    deadlines::responder_id: SelectableExpression<QS>,
    deadlines::issuing_jurisdiction: SelectableExpression<QS>,
    deadlines::submitted: SelectableExpression<QS>,
    deadlines::transmitted: SelectableExpression<QS>,
{
    let org = viewer.organisation_id.clone().unwrap_or_default();
    let jurisdiction = viewer.jurisdiction.clone().unwrap_or_default();
    match (viewer.role, viewer.organisation_id.is_some()) {
        (Role::Admin, _) | (_, false) => Box::new(deadlines::id.is_null()),
        (Role::LiaisonOfficer, true) => Box::new(deadlines::agency_id.eq(org)),
        (Role::Provider, true) => Box::new(
            deadlines::responder_id
                .eq(org)
                .and(deadlines::transmitted.eq(true)),
        ),
        (Role::CentralAuthority, true) => Box::new(
            deadlines::issuing_jurisdiction
                .eq(jurisdiction)
                .and(
                    deadlines::submitted
                        .eq(true)
                        .or(deadlines::transmitted.eq(true)),
                )
                .or(deadlines::responder_id
                    .eq(org)
                    .and(deadlines::transmitted.eq(true))),
        ),
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = deadlines)]
pub struct DeadlineRow {
    pub id: String,
    pub request_id: String,
    pub agency_id: String,
    pub issuing_jurisdiction: String,
    pub responder_id: String,
    pub submitted: bool,
    pub transmitted: bool,
    pub kind: crate::domain::deadlines::DeadlineKind,
    /// When the clock started, if it runs from an event: decides the reminders.
    pub started_at: Option<UtcTime>,
    pub due_at: UtcTime,
    pub status: crate::domain::deadlines::DeadlineStatus,
    pub explanation: String,
    pub due_local: String,
    pub timezone: String,
    pub citation: String,
    pub verification: crate::domain::legal_bases::Verification,
    /// When the watcher dealt with this deadline being missed.
    pub missed_noticed_at: Option<UtcTime>,
    pub updated_at: UtcTime,
}

/// Stores a request's deadlines as computed now: one row per kind, updated in
/// place (so that what refers to a deadline keeps referring to it), and kinds
/// that no longer apply removed.
pub fn replace_for_request(
    conn: &mut DbConn,
    request: &RequestRow,
    computed: &[Deadline],
) -> QueryResult<()> {
    let request_id = request.id.as_str();
    let existing: Vec<(String, String, UtcTime, Option<UtcTime>)> = deadlines::table
        .filter(deadlines::request_id.eq(request_id))
        .select((
            deadlines::kind,
            deadlines::id,
            deadlines::due_at,
            deadlines::missed_noticed_at,
        ))
        .load(conn)?;
    let now = UtcTime::now();
    for deadline in computed {
        let kind = deadline.kind.as_str();
        let previous = existing.iter().find(|(k, ..)| k == kind);
        let id = previous.map(|(_, id, ..)| id.clone());
        // A miss already dealt with stays dealt with, unless the clock moved.
        let missed_noticed_at = previous
            .filter(|(_, _, due, _)| *due == deadline.due_at)
            .and_then(|(.., noticed)| *noticed);
        let row = DeadlineRow {
            id: id.clone().unwrap_or_else(new_id),
            request_id: request_id.to_owned(),
            agency_id: request.agency_id.clone(),
            issuing_jurisdiction: request.issuing_jurisdiction.clone(),
            responder_id: request.responder_id.clone(),
            submitted: request.submitted_at.is_some(),
            transmitted: request.transmitted_at.is_some(),
            kind: deadline.kind,
            started_at: deadline.started_at,
            due_at: deadline.due_at,
            status: deadline.status,
            explanation: deadline.explanation.clone(),
            due_local: deadline.due_local.clone(),
            timezone: deadline.timezone.clone(),
            citation: deadline.citation.clone(),
            verification: deadline.verification,
            missed_noticed_at,
            updated_at: now,
        };
        match id {
            Some(id) => {
                diesel::update(deadlines::table.find(id))
                    .set(&row)
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(deadlines::table)
                    .values(&row)
                    .execute(conn)?;
            }
        }
    }
    diesel::update(requests::table.find(request_id))
        .set((
            requests::responder_due_at.eq(crate::domain::deadlines::responder_due(computed)),
            requests::issuer_due_at.eq(crate::domain::deadlines::issuer_due(computed)),
        ))
        .execute(conn)?;
    let kept: Vec<&str> = computed.iter().map(|d| d.kind.as_str()).collect();
    diesel::delete(
        deadlines::table
            .filter(deadlines::request_id.eq(request_id))
            .filter(deadlines::kind.ne_all(kept)),
    )
    .execute(conn)?;
    Ok(())
}

/// The deadlines of several requests (a page of a list), in no set order.
pub fn for_requests(conn: &mut DbConn, request_ids: &[String]) -> QueryResult<Vec<DeadlineRow>> {
    deadlines::table
        .filter(deadlines::request_id.eq_any(request_ids))
        .select(DeadlineRow::as_select())
        .load(conn)
}

pub fn for_request(conn: &mut DbConn, request_id: &str) -> QueryResult<Vec<DeadlineRow>> {
    deadlines::table
        .filter(deadlines::request_id.eq(request_id))
        .select(DeadlineRow::as_select())
        .order((deadlines::due_at, deadlines::kind))
        .load(conn)
}

/// A deadline on the board, with what a person needs to act on it.
#[derive(Debug, Clone, Queryable)]
pub struct BoardRow {
    pub deadline: DeadlineRow,
    pub reference: String,
    pub request_status: crate::domain::workflow::Status,
    pub responder_id: String,
    pub responder_name: String,
}

#[derive(Debug, Clone)]
pub struct BoardQuery {
    /// Every status when `None`.
    pub status: Option<crate::domain::deadlines::DeadlineStatus>,
    pub due_before: UtcTime,
    /// The requests the board is narrowed to (their statuses, kinds...).
    pub requests: crate::repo::requests::Filter,
    /// Keyset: rows after this (due_at, id).
    pub after: Option<(UtcTime, String)>,
    pub limit: i64,
}

/// Deadlines of the requests the viewer may see, soonest first.
pub fn board(conn: &mut DbConn, viewer: &Viewer, q: &BoardQuery) -> QueryResult<Vec<BoardRow>> {
    let mut query = deadlines::table
        .inner_join(requests::table)
        .inner_join(organisations::table.on(organisations::id.eq(deadlines::responder_id)))
        .filter(visible_to(viewer))
        .filter(deadlines::due_at.le(q.due_before))
        .select((
            DeadlineRow::as_select(),
            requests::reference,
            requests::status,
            requests::responder_id,
            organisations::name,
        ))
        .order((deadlines::due_at, deadlines::id))
        .limit(q.limit + 1)
        .into_boxed();
    // The issuing side's own clocks go to whoever sees the case's content
    // (`Viewer::sees_case_content`), as in a request's deadlines: not to a
    // provider, nor to a central authority answering another State's request.
    match viewer.role {
        Role::Provider => query = query.filter(deadlines::kind.ne_all(ISSUING_SIDE)),
        Role::CentralAuthority => {
            let jurisdiction = viewer.jurisdiction.clone().unwrap_or_default();
            query = query.filter(
                deadlines::issuing_jurisdiction
                    .eq(jurisdiction)
                    .or(deadlines::kind.ne_all(ISSUING_SIDE)),
            );
        }
        Role::LiaisonOfficer | Role::Admin => {}
    }
    if let Some(status) = &q.status {
        query = query.filter(deadlines::status.eq(*status));
    }
    let narrow = &q.requests;
    match narrow.statuses.as_slice() {
        [] => {}
        [one] => query = query.filter(requests::status.eq(*one)),
        many => query = query.filter(requests::status.eq_any(many.to_vec())),
    }
    if !narrow.kinds.is_empty() {
        query = query.filter(requests::kind.eq_any(narrow.kinds.clone()));
    }
    if !narrow.legal_bases.is_empty() {
        query = query.filter(requests::legal_basis.eq_any(narrow.legal_bases.clone()));
    }
    if let Some(emergency) = narrow.emergency {
        query = query.filter(requests::emergency.eq(emergency));
    }
    if let Some(responder) = &narrow.responder_id {
        query = query.filter(deadlines::responder_id.eq(responder.clone()));
    }
    if let Some(agency) = &narrow.agency_id {
        query = query.filter(deadlines::agency_id.eq(agency.clone()));
    }
    if let Some((due, id)) = &q.after {
        query = query.filter(
            deadlines::due_at
                .gt(*due)
                .or(deadlines::due_at.eq(*due).and(deadlines::id.gt(id.clone()))),
        );
    }
    query
        .load::<(
            DeadlineRow,
            String,
            crate::domain::workflow::Status,
            String,
            String,
        )>(conn)
        .map(|rows| {
            rows.into_iter()
                .map(
                    |(deadline, reference, request_status, responder_id, responder_name)| {
                        BoardRow {
                            deadline,
                            reference,
                            request_status,
                            responder_id,
                            responder_name,
                        }
                    },
                )
                .collect()
        })
}

/// Requests whose deadlines the watcher must look at: open ones falling due
/// within `horizon` (reminders, misses), and misses not yet dealt with.
pub fn watch_candidates(
    conn: &mut DbConn,
    horizon: UtcTime,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let mut ids: Vec<String> = deadlines::table
        .filter(deadlines::status.eq("open"))
        .filter(deadlines::due_at.le(horizon))
        .select(deadlines::request_id)
        .order(deadlines::due_at)
        .limit(limit)
        .load(conn)?;
    let missed: Vec<String> = deadlines::table
        .filter(deadlines::status.eq("missed"))
        .filter(deadlines::missed_noticed_at.is_null())
        .select(deadlines::request_id)
        .limit(limit)
        .load(conn)?;
    ids.extend(missed);
    ids.sort();
    ids.dedup();
    Ok(ids)
}

pub fn mark_missed_noticed(conn: &mut DbConn, id: &str, at: UtcTime) -> QueryResult<()> {
    diesel::update(deadlines::table.find(id))
        .set(deadlines::missed_noticed_at.eq(Some(at)))
        .execute(conn)
        .map(|_| ())
}
