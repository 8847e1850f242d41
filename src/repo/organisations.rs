use diesel::prelude::*;

use super::{Page, PageRequest};
use crate::db::DbConn;
use crate::db::schema::organisations;
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct OrganisationRow {
    pub id: String,
    pub name: String,
    pub kind: crate::domain::reference::OrganisationKind,
    pub jurisdiction: String,
    pub contact_email: Option<String>,
    /// JSON object: data category → days.
    pub retention_days: String,
    pub created_at: UtcTime,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<String>,
    pub jurisdiction: Option<String>,
}

pub fn insert(conn: &mut DbConn, row: &OrganisationRow) -> QueryResult<()> {
    diesel::insert_into(organisations::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Saves an organisation's name, contact and retention profile.
pub fn update(conn: &mut DbConn, row: &OrganisationRow) -> QueryResult<()> {
    diesel::update(organisations::table.find(&row.id))
        .set((
            organisations::name.eq(&row.name),
            organisations::contact_email.eq(&row.contact_email),
            organisations::retention_days.eq(&row.retention_days),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .find(id)
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_name(
    conn: &mut DbConn,
    jurisdiction: &str,
    name: &str,
) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .filter(organisations::jurisdiction.eq(jurisdiction))
        .filter(organisations::name.eq(name))
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(
    conn: &mut DbConn,
    filter: &Filter,
    page: &PageRequest,
) -> QueryResult<Page<OrganisationRow>> {
    let mut query = organisations::table
        .select(OrganisationRow::as_select())
        .order(organisations::id)
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(kind) = &filter.kind {
        query = query.filter(organisations::kind.eq(kind.clone()));
    }
    if let Some(jurisdiction) = &filter.jurisdiction {
        query = query.filter(organisations::jurisdiction.eq(jurisdiction.clone()));
    }
    if let Some(cursor) = &page.cursor {
        query = query.filter(organisations::id.gt(cursor.clone()));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_overfetch(rows, page.limit, |r| r.id.clone()))
}

/// Every provider, by name: whom a "data moved" report can name.
pub fn providers(conn: &mut DbConn) -> QueryResult<Vec<OrganisationRow>> {
    organisations::table
        .filter(organisations::kind.eq(crate::domain::reference::OrganisationKind::Provider))
        .select(OrganisationRow::as_select())
        .order(organisations::name)
        .limit(1000)
        .load(conn)
}

/// Every organisation a request can be addressed to (providers and central
/// authorities), by country and name.
pub fn responders(conn: &mut DbConn) -> QueryResult<Vec<OrganisationRow>> {
    use crate::domain::reference::OrganisationKind;
    organisations::table
        .filter(organisations::kind.ne(OrganisationKind::Agency))
        .select(OrganisationRow::as_select())
        .order((organisations::jurisdiction, organisations::name))
        .limit(1000)
        .load(conn)
}
