use diesel::prelude::*;

use super::{Page, PageRequest};
use crate::db::DbConn;
use crate::db::schema::cases;
use crate::domain::requests::Priority;
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cases)]
pub struct CaseRow {
    pub id: String,
    pub agency_id: String,
    pub reference: String,
    pub title: String,
    /// JSON array of offence categories.
    pub offence_categories: String,
    pub summary: String,
    pub priority: Priority,
    pub created_by: String,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

pub fn insert(conn: &mut DbConn, row: &CaseRow) -> QueryResult<()> {
    diesel::insert_into(cases::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A case of `agency_id`; another agency's case is not found.
pub fn get_for_agency(
    conn: &mut DbConn,
    id: &str,
    agency_id: &str,
) -> QueryResult<Option<CaseRow>> {
    cases::table
        .filter(cases::id.eq(id))
        .filter(cases::agency_id.eq(agency_id))
        .select(CaseRow::as_select())
        .first(conn)
        .optional()
}

/// The case `agency_id` filed under `reference`, if any.
pub fn find_by_reference(
    conn: &mut DbConn,
    agency_id: &str,
    reference: &str,
) -> QueryResult<Option<CaseRow>> {
    cases::table
        .filter(cases::agency_id.eq(agency_id))
        .filter(cases::reference.eq(reference))
        .select(CaseRow::as_select())
        .first(conn)
        .optional()
}

pub fn list_for_agency(
    conn: &mut DbConn,
    agency_id: &str,
    page: &PageRequest,
) -> QueryResult<Page<CaseRow>> {
    let mut query = cases::table
        .filter(cases::agency_id.eq(agency_id))
        .select(CaseRow::as_select())
        .order(cases::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(cursor) = &page.cursor {
        query = query.filter(cases::id.lt(cursor.clone()));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_overfetch(rows, page.limit, |r| r.id.clone()))
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// What an agency's list of cases is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Part of the reference or the title, as typed.
    pub search: Option<String>,
    /// Only cases with a request in this status.
    pub request_status: Option<crate::domain::workflow::Status>,
}

/// The cases of `agency_id` that match, newest first.
pub fn search_for_agency(
    conn: &mut DbConn,
    agency_id: &str,
    filter: &CaseFilter,
    page: &PageRequest,
) -> QueryResult<Page<CaseRow>> {
    use super::requests::containing;
    use crate::db::schema::requests;
    let mut query = cases::table
        .filter(cases::agency_id.eq(agency_id.to_owned()))
        .select(CaseRow::as_select())
        .order(cases::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(text) = filter.search.as_deref().filter(|t| !t.trim().is_empty()) {
        let pattern = containing(text.trim());
        query = query.filter(
            lower(cases::reference)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(cases::title).like(pattern).escape('\\')),
        );
    }
    if let Some(status) = filter.request_status {
        query = query.filter(
            cases::id.eq_any(
                requests::table
                    .filter(requests::agency_id.eq(agency_id.to_owned()))
                    .filter(requests::status.eq(status))
                    .select(requests::case_id),
            ),
        );
    }
    if let Some(cursor) = &page.cursor {
        query = query.filter(cases::id.lt(cursor.clone()));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_overfetch(rows, page.limit, |r| r.id.clone()))
}
