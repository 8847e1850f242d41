//! The web portal's sessions (`portal_sessions`), by the hash of their id.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::portal_sessions;
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = portal_sessions)]
pub struct PortalSessionRow {
    pub id_hash: String,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: UtcTime,
    pub last_seen_at: UtcTime,
}

pub fn insert(conn: &mut DbConn, row: &PortalSessionRow) -> QueryResult<()> {
    diesel::insert_into(portal_sessions::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id_hash: &str) -> QueryResult<Option<PortalSessionRow>> {
    portal_sessions::table
        .find(id_hash)
        .select(PortalSessionRow::as_select())
        .first(conn)
        .optional()
}

pub fn touch(conn: &mut DbConn, id_hash: &str, now: UtcTime) -> QueryResult<()> {
    diesel::update(portal_sessions::table.find(id_hash))
        .set(portal_sessions::last_seen_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// Whether there was such a session.
pub fn delete(conn: &mut DbConn, id_hash: &str) -> QueryResult<bool> {
    diesel::delete(portal_sessions::table.find(id_hash))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn of_user(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<PortalSessionRow>> {
    portal_sessions::table
        .filter(portal_sessions::user_id.eq(user_id))
        .select(PortalSessionRow::as_select())
        .order(portal_sessions::created_at)
        .load(conn)
}

/// Ends a session of `user_id`'s (false if it has none by that hash).
pub fn delete_own(conn: &mut DbConn, user_id: &str, id_hash: &str) -> QueryResult<bool> {
    diesel::delete(
        portal_sessions::table
            .filter(portal_sessions::user_id.eq(user_id))
            .filter(portal_sessions::id_hash.eq(id_hash)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

pub fn delete_all_for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(portal_sessions::table.filter(portal_sessions::user_id.eq(user_id)))
        .execute(conn)
}

/// Ends every portal session of a user but `keep` (by its id's hash).
pub fn delete_others_for_user(
    conn: &mut DbConn,
    user_id: &str,
    keep: Option<&str>,
) -> QueryResult<usize> {
    diesel::delete(
        portal_sessions::table
            .filter(portal_sessions::user_id.eq(user_id))
            .filter(portal_sessions::id_hash.ne(keep.unwrap_or_default().to_owned())),
    )
    .execute(conn)
}

/// Sessions idle since `idle_before` or started before `started_before`.
pub fn purge_expired(
    conn: &mut DbConn,
    idle_before: UtcTime,
    started_before: UtcTime,
) -> QueryResult<usize> {
    diesel::delete(
        portal_sessions::table.filter(
            portal_sessions::last_seen_at
                .lt(idle_before)
                .or(portal_sessions::created_at.lt(started_before)),
        ),
    )
    .execute(conn)
}
