use diesel::prelude::*;

use super::{Page, PageRequest};
use crate::db::DbConn;
use crate::db::schema::jurisdictions;
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = jurisdictions)]
pub struct JurisdictionRow {
    pub code: String,
    pub name: String,
    pub timezone: String,
    /// JSON array of membership names.
    pub memberships: String,
    pub created_at: UtcTime,
    /// JSON array of dates (YYYY-MM-DD).
    pub holidays: String,
}

pub fn insert(conn: &mut DbConn, row: &JurisdictionRow) -> QueryResult<()> {
    diesel::insert_into(jurisdictions::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConn, code: &str) -> QueryResult<Option<JurisdictionRow>> {
    jurisdictions::table
        .find(code)
        .select(JurisdictionRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConn, page: &PageRequest) -> QueryResult<Page<JurisdictionRow>> {
    let mut query = jurisdictions::table
        .select(JurisdictionRow::as_select())
        .order(jurisdictions::code)
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(cursor) = &page.cursor {
        query = query.filter(jurisdictions::code.gt(cursor.clone()));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_overfetch(rows, page.limit, |r| r.code.clone()))
}

/// Saves the changeable fields of a jurisdiction.
pub fn update(conn: &mut DbConn, row: &JurisdictionRow) -> QueryResult<()> {
    diesel::update(jurisdictions::table.find(&row.code))
        .set((
            jurisdictions::name.eq(&row.name),
            jurisdictions::timezone.eq(&row.timezone),
            jurisdictions::memberships.eq(&row.memberships),
            jurisdictions::holidays.eq(&row.holidays),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    jurisdictions::table.count().get_result(conn)
}
