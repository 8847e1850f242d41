//! One-time links e-mailed to an account's holder (`account_links`): an
//! invitation or a password reset, by the hash of their token.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::account_links;
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = account_links)]
pub struct LinkRow {
    pub id_hash: String,
    pub user_id: String,
    pub purpose: String,
    pub reset_factor: bool,
    pub created_by: Option<String>,
    pub created_at: UtcTime,
    pub expires_at: UtcTime,
    pub used_at: Option<UtcTime>,
}

/// Records a link; the account's earlier unused links stop working, so only
/// the last one sent opens it.
pub fn replace(conn: &mut DbConn, row: &LinkRow) -> QueryResult<()> {
    diesel::delete(
        account_links::table
            .filter(account_links::user_id.eq(&row.user_id))
            .filter(account_links::used_at.is_null()),
    )
    .execute(conn)?;
    diesel::insert_into(account_links::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A link not yet used and still running at `now`.
pub fn find_open(conn: &mut DbConn, id_hash: &str, now: UtcTime) -> QueryResult<Option<LinkRow>> {
    account_links::table
        .find(id_hash)
        .filter(account_links::used_at.is_null())
        .filter(account_links::expires_at.gt(now))
        .select(LinkRow::as_select())
        .first(conn)
        .optional()
}

/// Spends a link; false if it was spent meanwhile.
pub fn spend(conn: &mut DbConn, id_hash: &str, now: UtcTime) -> QueryResult<bool> {
    diesel::update(
        account_links::table
            .find(id_hash)
            .filter(account_links::used_at.is_null()),
    )
    .set(account_links::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}
