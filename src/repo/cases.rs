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
