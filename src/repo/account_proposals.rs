//! Accounts the platform administrator proposes to an organisation that
//! runs its own people (`account_proposals`), waiting for one of its
//! administrators.

use diesel::prelude::*;

use super::{Page, PageRequest};
use crate::db::DbConn;
use crate::db::schema::account_proposals;
use crate::domain::reference::Role;
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = account_proposals)]
pub struct ProposalRow {
    pub id: String,
    pub organisation_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub org_admin: bool,
    pub proposed_by: String,
    pub proposed_at: UtcTime,
    pub expires_at: UtcTime,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<UtcTime>,
    pub user_id: Option<String>,
}

pub fn insert(conn: &mut DbConn, row: &ProposalRow) -> QueryResult<()> {
    diesel::insert_into(account_proposals::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A proposal, by id; only among those of `organisation` when given, so
/// that another organisation's is not found.
pub fn get(
    conn: &mut DbConn,
    id: &str,
    organisation: Option<&str>,
) -> QueryResult<Option<ProposalRow>> {
    let mut query = account_proposals::table
        .find(id)
        .select(ProposalRow::as_select())
        .into_boxed();
    if let Some(organisation) = organisation {
        query = query.filter(account_proposals::organisation_id.eq(organisation.to_owned()));
    }
    query.first(conn).optional()
}

/// Proposals still waiting at `now` (of `organisation` when given), by id.
pub fn waiting(
    conn: &mut DbConn,
    organisation: Option<&str>,
    now: UtcTime,
    page: &PageRequest,
) -> QueryResult<Page<ProposalRow>> {
    let mut query = account_proposals::table
        .filter(account_proposals::decided_at.is_null())
        .filter(account_proposals::expires_at.gt(now))
        .select(ProposalRow::as_select())
        .order(account_proposals::id)
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(organisation) = organisation {
        query = query.filter(account_proposals::organisation_id.eq(organisation.to_owned()));
    }
    if let Some(cursor) = &page.cursor {
        query = query.filter(account_proposals::id.gt(cursor.clone()));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_overfetch(rows, page.limit, |r| r.id.clone()))
}

/// Whether a proposal for `email` is still waiting at `now`.
pub fn waiting_for(conn: &mut DbConn, email: &str, now: UtcTime) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        account_proposals::table
            .filter(account_proposals::email.eq(email))
            .filter(account_proposals::decided_at.is_null())
            .filter(account_proposals::expires_at.gt(now)),
    ))
    .get_result(conn)
}

/// Records the decision on a proposal still undecided; false when someone
/// decided it first.
pub fn decide(
    conn: &mut DbConn,
    id: &str,
    decision: &str,
    by: &str,
    now: UtcTime,
) -> QueryResult<bool> {
    diesel::update(
        account_proposals::table
            .find(id)
            .filter(account_proposals::decided_at.is_null()),
    )
    .set((
        account_proposals::decision.eq(decision),
        account_proposals::decided_by.eq(by),
        account_proposals::decided_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Notes the account an approval made.
pub fn set_account(conn: &mut DbConn, id: &str, user_id: &str) -> QueryResult<()> {
    diesel::update(account_proposals::table.find(id))
        .set(account_proposals::user_id.eq(user_id))
        .execute(conn)
        .map(|_| ())
}
