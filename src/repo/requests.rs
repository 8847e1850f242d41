use diesel::prelude::*;

use super::Page;
use crate::db::DbConn;
use crate::db::schema::requests;
use crate::domain::access::{RequestAccess, Viewer};
use crate::domain::reference::RequestKind;
use crate::domain::reference::Role;
use crate::domain::workflow::Status;
use crate::time::UtcTime;

type Db = <DbConn as diesel::Connection>::Backend;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = requests, treat_none_as_null = true)]
pub struct RequestRow {
    pub id: String,
    pub reference: String,
    pub case_id: String,
    pub agency_id: String,
    pub issuing_jurisdiction: String,
    pub created_by: String,
    pub kind: RequestKind,
    pub legal_basis: String,
    pub route: crate::domain::legal_bases::Route,
    pub responder_id: String,
    pub executing_jurisdiction: String,
    /// JSON array.
    pub data_categories: String,
    /// JSON array of identifiers.
    pub identifiers: String,
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
    pub parent_id: Option<String>,
    pub status: Status,
    pub version: i64,
    pub submitted_at: Option<UtcTime>,
    pub approved_at: Option<UtcTime>,
    pub approved_by: Option<String>,
    pub transmitted_at: Option<UtcTime>,
    pub answered_at: Option<UtcTime>,
    pub preserved_until: Option<UtcTime>,
    pub extension_requested: bool,
    pub extensions_granted: i32,
    /// JSON object: what the responder said.
    pub response: String,
    /// JSON object: the issuing side's notes (return comments, rejection reasons).
    pub internal_notes: String,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
    pub cybertipline_submitted_at: Option<UtcTime>,
    /// For a central authority's domestic order: the incoming request it
    /// executes.
    pub executes_id: Option<String>,
}

impl RequestRow {
    pub fn access(&self) -> RequestAccess<'_> {
        RequestAccess {
            agency_id: &self.agency_id,
            created_by: &self.created_by,
            issuing_jurisdiction: &self.issuing_jurisdiction,
            responder_id: &self.responder_id,
            submitted: self.submitted_at.is_some(),
            transmitted: self.transmitted_at.is_some(),
        }
    }
}

type Visible<QS> = Box<dyn BoxableExpression<QS, Db, SqlType = diesel::sql_types::Bool>>;

/// `Viewer::can_see` as a query filter, so that what a caller may not see is
/// never loaded. Generic over the query source, so that it also filters queries
/// that join `requests` to other tables.
pub fn visible_to<QS>(viewer: &Viewer) -> Visible<QS>
where
    QS: 'static,
    requests::id: SelectableExpression<QS>,
    requests::agency_id: SelectableExpression<QS>,
    requests::responder_id: SelectableExpression<QS>,
    requests::issuing_jurisdiction: SelectableExpression<QS>,
    requests::submitted_at: SelectableExpression<QS>,
    requests::transmitted_at: SelectableExpression<QS>,
{
    let org = viewer.organisation_id.clone().unwrap_or_default();
    let jurisdiction = viewer.jurisdiction.clone().unwrap_or_default();
    let nothing: Visible<QS> = Box::new(requests::id.is_null());
    match (viewer.role, viewer.organisation_id.is_some()) {
        (Role::Admin, _) | (_, false) => nothing,
        (Role::LiaisonOfficer, true) => Box::new(requests::agency_id.eq(org)),
        (Role::Provider, true) => Box::new(
            requests::responder_id
                .eq(org)
                .and(requests::transmitted_at.is_not_null()),
        ),
        (Role::CentralAuthority, true) => Box::new(
            requests::issuing_jurisdiction
                .eq(jurisdiction)
                .and(
                    requests::submitted_at
                        .is_not_null()
                        .or(requests::transmitted_at.is_not_null()),
                )
                .or(requests::responder_id
                    .eq(org)
                    .and(requests::transmitted_at.is_not_null())),
        ),
    }
}

/// Stores a new request and the search keys of its identifiers.
pub fn insert(conn: &mut DbConn, row: &RequestRow) -> QueryResult<()> {
    diesel::insert_into(requests::table)
        .values(row)
        .execute(conn)?;
    set_identifier_keys(conn, &row.id, &row.identifiers)
}

/// The request if `viewer` may see it.
pub fn get_visible(
    conn: &mut DbConn,
    viewer: &Viewer,
    id: &str,
) -> QueryResult<Option<RequestRow>> {
    requests::table
        .filter(requests::id.eq(id))
        .filter(visible_to(viewer))
        .select(RequestRow::as_select())
        .first(conn)
        .optional()
}

/// Saves a changed request if it still has the version it was read at; returns
/// whether it did. The caller bumps `version` in `row`.
pub fn update_if_version(
    conn: &mut DbConn,
    row: &RequestRow,
    read_version: i64,
) -> QueryResult<bool> {
    diesel::update(
        requests::table
            .filter(requests::id.eq(&row.id))
            .filter(requests::version.eq(read_version)),
    )
    .set(row)
    .execute(conn)
    .map(|n| n == 1)
}

/// What a list of requests is narrowed to; every part given must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Any of these (none: any status).
    pub statuses: Vec<Status>,
    pub kinds: Vec<RequestKind>,
    pub legal_bases: Vec<String>,
    pub emergency: Option<bool>,
    pub case_id: Option<String>,
    pub responder_id: Option<String>,
    pub agency_id: Option<String>,
    /// A whole reference, or a whole identifier value.
    pub search: Option<String>,
    /// A whole identifier value.
    pub identifier: Option<String>,
}

/// An identifier value as `request_identifiers` keeps it: stored values are
/// normalised already; ASCII letters are folded so that a search need not
/// match their case (the migration's backfill folds the same way).
pub fn identifier_key(value: &str) -> String {
    value.trim().to_ascii_lowercase()
}

/// Keeps the search keys of a request's identifiers (`identifiers` is the
/// stored JSON array) in step with them.
pub fn set_identifier_keys(
    conn: &mut DbConn,
    request_id: &str,
    identifiers: &str,
) -> QueryResult<()> {
    use crate::db::schema::request_identifiers as keys;
    diesel::delete(keys::table.filter(keys::request_id.eq(request_id))).execute(conn)?;
    let values: Vec<serde_json::Value> = serde_json::from_str(identifiers)
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    let mut rows: Vec<String> = values
        .iter()
        .filter_map(|v| v.get("value").and_then(|v| v.as_str()))
        .map(identifier_key)
        .filter(|k| !k.is_empty())
        .collect();
    rows.sort();
    rows.dedup();
    for key in rows {
        diesel::insert_into(keys::table)
            .values((keys::value_key.eq(key), keys::request_id.eq(request_id)))
            .execute(conn)?;
    }
    Ok(())
}

/// The order of a list: newest first, or the soonest clock still owed
/// first (then those owing nothing, newest first), by the responder's
/// clocks or by every clock of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Created,
    DueForResponder,
    DueForIssuer,
}

/// Where a page starts: after a request (newest first), after a request
/// owing something by its due instant, or among those owing nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    Id(String),
    Due(UtcTime, String),
    Undated(String),
}

type Listed<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<requests::table, diesel::dsl::AsSelect<RequestRow, Db>>,
    Db,
>;

fn listed<'a>(viewer: &Viewer, filter: &Filter) -> Listed<'a> {
    use crate::db::schema::request_identifiers as keys;
    let mut query = requests::table
        .select(RequestRow::as_select())
        .into_boxed()
        .filter(visible_to(viewer));
    // One value is an equality, not `= ANY($1)`: PostgreSQL's planner
    // estimates an equality from its statistics and takes the index for it.
    match filter.statuses.as_slice() {
        [] => {}
        [one] => query = query.filter(requests::status.eq(*one)),
        many => query = query.filter(requests::status.eq_any(many.to_vec())),
    }
    match filter.kinds.as_slice() {
        [] => {}
        [one] => query = query.filter(requests::kind.eq(*one)),
        many => query = query.filter(requests::kind.eq_any(many.to_vec())),
    }
    match filter.legal_bases.as_slice() {
        [] => {}
        [one] => query = query.filter(requests::legal_basis.eq(one.clone())),
        many => query = query.filter(requests::legal_basis.eq_any(many.to_vec())),
    }
    if let Some(emergency) = filter.emergency {
        query = query.filter(requests::emergency.eq(emergency));
    }
    if let Some(case_id) = &filter.case_id {
        query = query.filter(requests::case_id.eq(case_id.clone()));
    }
    if let Some(responder_id) = &filter.responder_id {
        query = query.filter(requests::responder_id.eq(responder_id.clone()));
    }
    if let Some(agency_id) = &filter.agency_id {
        query = query.filter(requests::agency_id.eq(agency_id.clone()));
    }
    if let Some(value) = &filter.identifier {
        query = query.filter(
            requests::id.eq_any(
                keys::table
                    .filter(keys::value_key.eq(identifier_key(value)))
                    .select(keys::request_id),
            ),
        );
    }
    if let Some(text) = &filter.search {
        query = query.filter(
            requests::reference
                .eq(text.trim().to_uppercase())
                .or(requests::id.eq_any(
                    keys::table
                        .filter(keys::value_key.eq(identifier_key(text)))
                        .select(keys::request_id),
                )),
        );
    }
    query
}

/// One page of the requests `viewer` may see, narrowed by `filter`, in
/// `sort` order, and where the next starts.
pub fn list_visible(
    conn: &mut DbConn,
    viewer: &Viewer,
    filter: &Filter,
    sort: Sort,
    after: Option<&After>,
    limit: i64,
) -> QueryResult<(Vec<RequestRow>, Option<After>)> {
    macro_rules! by_due {
        ($due:expr) => {{
            // (row, whether it owes something): the owing first, by due
            // instant, then the rest, newest first.
            let mut rows: Vec<(RequestRow, bool)> = Vec::new();
            if !matches!(after, Some(After::Undated(_))) {
                let mut query = listed(viewer, filter)
                    .filter($due.is_not_null())
                    .order(($due, requests::id))
                    .limit(limit + 1);
                if let Some(After::Due(due, id)) = after {
                    query = query.filter(
                        $due.gt(*due)
                            .or($due.eq(*due).and(requests::id.gt(id.clone()))),
                    );
                }
                rows.extend(
                    query
                        .load::<RequestRow>(conn)?
                        .into_iter()
                        .map(|r| (r, true)),
                );
            }
            if (rows.len() as i64) <= limit {
                let mut query = listed(viewer, filter)
                    .filter($due.is_null())
                    .order(requests::id.desc())
                    .limit(limit + 1 - rows.len() as i64);
                if let Some(After::Undated(id)) = after {
                    query = query.filter(requests::id.lt(id.clone()));
                }
                rows.extend(
                    query
                        .load::<RequestRow>(conn)?
                        .into_iter()
                        .map(|r| (r, false)),
                );
            }
            let more = rows.len() as i64 > limit;
            rows.truncate(limit.max(0) as usize);
            let next = match rows.last() {
                Some((row, true)) if more => {
                    let due: Option<UtcTime> =
                        requests::table.find(&row.id).select($due).first(conn)?;
                    Some(match due {
                        Some(due) => After::Due(due, row.id.clone()),
                        None => After::Undated(row.id.clone()),
                    })
                }
                Some((row, false)) if more => Some(After::Undated(row.id.clone())),
                _ => None,
            };
            Ok((rows.into_iter().map(|(r, _)| r).collect(), next))
        }};
    }
    match sort {
        Sort::Created => {
            let mut query = listed(viewer, filter)
                .order(requests::id.desc())
                .limit(limit + 1);
            if let Some(After::Id(id)) = after {
                query = query.filter(requests::id.lt(id.clone()));
            }
            let page = Page::from_overfetch(query.load(conn)?, limit, |r| r.id.clone());
            Ok((page.items, page.next_cursor.map(After::Id)))
        }
        Sort::DueForResponder => by_due!(requests::responder_due_at),
        Sort::DueForIssuer => by_due!(requests::issuer_due_at),
    }
}

/// Ids and references of the visible requests of a case, oldest first.
pub fn of_case_visible(
    conn: &mut DbConn,
    viewer: &Viewer,
    case_id: &str,
) -> QueryResult<Vec<RequestRow>> {
    requests::table
        .filter(requests::case_id.eq(case_id))
        .filter(visible_to(viewer))
        .select(RequestRow::as_select())
        .order(requests::id)
        .load(conn)
}

/// The visible follow-ups of a request.
pub fn children_visible(
    conn: &mut DbConn,
    viewer: &Viewer,
    parent_id: &str,
) -> QueryResult<Vec<(String, String)>> {
    requests::table
        .filter(requests::parent_id.eq(parent_id))
        .filter(visible_to(viewer))
        .select((requests::id, requests::reference))
        .order(requests::id)
        .load(conn)
}

/// Requests that may wait for the decision of a central authority of
/// `viewer`'s jurisdiction: those submitted for approval, and emergencies
/// transmitted before it (validated afterwards), at most `limit`, the
/// oldest first. The workflow has the last word on which really wait
/// (`service::approvals`).
pub fn approval_candidates(
    conn: &mut DbConn,
    viewer: &Viewer,
    limit: i64,
) -> QueryResult<Vec<RequestRow>> {
    let jurisdiction = viewer.jurisdiction.clone().unwrap_or_default();
    requests::table
        .filter(visible_to(viewer))
        .filter(requests::issuing_jurisdiction.eq(jurisdiction))
        .filter(
            requests::status
                .eq(Status::PendingApproval)
                .or(requests::emergency
                    .eq(true)
                    .and(requests::approved_at.is_null())
                    .and(requests::transmitted_at.is_not_null())
                    .and(requests::status.ne(Status::Rejected))
                    .and(requests::status.ne(Status::Withdrawn))),
        )
        .select(RequestRow::as_select())
        .order(requests::id)
        .limit(limit)
        .load(conn)
}

/// Records that the responder acted on a request (answered, asked,
/// delivered) at `at`: what the issuing agency has not read yet.
pub fn mark_acted(conn: &mut DbConn, id: &str, at: UtcTime) -> QueryResult<()> {
    diesel::update(requests::table.find(id))
        .set(requests::responder_acted_at.eq(Some(at)))
        .execute(conn)
        .map(|_| ())
}

/// When the responder last acted on a request.
pub fn acted_at(conn: &mut DbConn, id: &str) -> QueryResult<Option<UtcTime>> {
    requests::table
        .find(id)
        .select(requests::responder_acted_at)
        .first::<Option<UtcTime>>(conn)
        .optional()
        .map(Option::flatten)
}

/// A request by id, whoever may see it: for the system's own work (deadlines,
/// the watcher), never for answering a caller.
pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<RequestRow>> {
    requests::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .optional()
}

/// What a responder's inbox is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub status: Option<Status>,
    pub kind: Option<RequestKind>,
    pub emergency: Option<bool>,
    /// Part of a reference or of an identifier, as typed.
    pub search: Option<String>,
}

/// Where a page of the inbox starts: after a request owing something (by its
/// due instant), or among those owing nothing (newest first, after all dated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxAfter {
    Due(UtcTime, String),
    Undated(String),
}

/// A request in the inbox, with the name of the authority that issued it.
#[derive(Debug, Clone)]
pub struct InboxRow {
    pub request: RequestRow,
    pub responder_due_at: Option<UtcTime>,
    pub issuer_name: String,
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// `%text%` for LIKE, with LIKE's own characters taken literally.
pub(crate) fn containing(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The requests addressed to the viewer's organisation, soonest clock owed
/// first (`responder_due_at`), then those owing nothing, newest first: one
/// index range each (`requests_responder_due_idx`).
pub fn inbox(
    conn: &mut DbConn,
    viewer: &Viewer,
    filter: &InboxFilter,
    after: Option<&InboxAfter>,
    limit: i64,
) -> QueryResult<(Vec<InboxRow>, Option<InboxAfter>)> {
    let mut rows = Vec::new();
    if !matches!(after, Some(InboxAfter::Undated(_))) {
        let mut query = inbox_query(viewer, filter)
            .filter(requests::responder_due_at.is_not_null())
            .order((requests::responder_due_at, requests::id))
            .limit(limit + 1);
        if let Some(InboxAfter::Due(due, id)) = after {
            query = query.filter(
                requests::responder_due_at
                    .gt(*due)
                    .or(requests::responder_due_at
                        .eq(*due)
                        .and(requests::id.gt(id.clone()))),
            );
        }
        rows = query.load(conn)?;
    }
    if (rows.len() as i64) <= limit {
        let mut query = inbox_query(viewer, filter)
            .filter(requests::responder_due_at.is_null())
            .order(requests::id.desc())
            .limit(limit + 1 - rows.len() as i64);
        if let Some(InboxAfter::Undated(id)) = after {
            query = query.filter(requests::id.lt(id.clone()));
        }
        rows.extend(query.load::<(RequestRow, Option<UtcTime>, String)>(conn)?);
    }
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next = more
        .then(|| rows.last())
        .flatten()
        .map(|(row, due, _)| match due {
            Some(due) => InboxAfter::Due(*due, row.id.clone()),
            None => InboxAfter::Undated(row.id.clone()),
        });
    let rows = rows
        .into_iter()
        .map(|(request, responder_due_at, issuer_name)| InboxRow {
            request,
            responder_due_at,
            issuer_name,
        })
        .collect();
    Ok((rows, next))
}

type InboxQuery<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<
        diesel::dsl::InnerJoinOn<
            requests::table,
            crate::db::schema::organisations::table,
            diesel::dsl::Eq<crate::db::schema::organisations::id, requests::agency_id>,
        >,
        (
            diesel::dsl::AsSelect<RequestRow, Db>,
            requests::responder_due_at,
            crate::db::schema::organisations::name,
        ),
    >,
    Db,
>;

fn inbox_query<'a>(viewer: &Viewer, filter: &InboxFilter) -> InboxQuery<'a> {
    use crate::db::schema::organisations;
    let org = viewer.organisation_id.clone().unwrap_or_default();
    let mut query = requests::table
        .inner_join(organisations::table.on(organisations::id.eq(requests::agency_id)))
        .select((
            RequestRow::as_select(),
            requests::responder_due_at,
            organisations::name,
        ))
        .into_boxed()
        .filter(visible_to(viewer))
        .filter(requests::responder_id.eq(org))
        .filter(requests::transmitted_at.is_not_null());
    if let Some(status) = filter.status {
        query = query.filter(requests::status.eq(status));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(requests::kind.eq(kind));
    }
    if let Some(emergency) = filter.emergency {
        query = query.filter(requests::emergency.eq(emergency));
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        let pattern = containing(search);
        query = query.filter(
            lower(requests::reference)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(requests::identifiers).like(pattern).escape('\\')),
        );
    }
    query
}

/// The reference of an order executing `incoming_id` that `responder_id`
/// still holds in one of the `open` states.
pub fn open_order(
    conn: &mut DbConn,
    incoming_id: &str,
    responder_id: &str,
    open: &[Status],
) -> QueryResult<Option<String>> {
    requests::table
        .filter(requests::executes_id.eq(incoming_id))
        .filter(requests::responder_id.eq(responder_id))
        .filter(requests::status.eq_any(open.to_vec()))
        .select(requests::reference)
        .first(conn)
        .optional()
}

/// The orders executing `incoming_id`, oldest first. Not filtered by viewer:
/// whoever may see the incoming request reads what was done to execute it
/// (`service::execution::orders_of`).
pub fn orders_executing(conn: &mut DbConn, incoming_id: &str) -> QueryResult<Vec<RequestRow>> {
    requests::table
        .filter(requests::executes_id.eq(incoming_id))
        .select(RequestRow::as_select())
        .order(requests::id)
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::containing;

    #[test]
    fn a_search_takes_like_characters_literally() {
        assert_eq!(containing("R-2026"), "%r-2026%");
        assert_eq!(containing("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
