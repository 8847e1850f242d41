//! Sign-in state: the per-address throttle and the refresh tokens.

use diesel::prelude::*;

use crate::db::schema::{login_throttle, refresh_tokens};
use crate::db::{DbConn, UtcTime, lock_row};
use crate::domain::lockout::Throttle;

/// Reads the throttle of `email` with its row locked for the rest of the
/// transaction, creating it first if need be. Call inside `write_tx`.
pub fn lock_throttle(conn: &mut DbConn, email: &str) -> QueryResult<Throttle> {
    // No ON CONFLICT through the connection enum: each backend gets its own
    // insert-if-absent, so two first failures at once cannot collide.
    match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "INSERT OR IGNORE INTO login_throttle (email, failures) VALUES (?, 0)",
        )
        .bind::<diesel::sql_types::Text, _>(email)
        .execute(c)?,
        DbConn::Pg(c) => diesel::sql_query(
            "INSERT INTO login_throttle (email, failures) VALUES ($1, 0) \
             ON CONFLICT (email) DO NOTHING",
        )
        .bind::<diesel::sql_types::Text, _>(email)
        .execute(c)?,
    };
    lock_row(conn, "login_throttle", "email", email)?;
    let (failures, window_started_at, locked_until) = login_throttle::table
        .find(email)
        .select((
            login_throttle::failures,
            login_throttle::window_started_at,
            login_throttle::locked_until,
        ))
        .first::<(i32, Option<UtcTime>, Option<UtcTime>)>(conn)?;
    Ok(Throttle {
        failures,
        window_started_at,
        locked_until,
    })
}

pub fn save_throttle(conn: &mut DbConn, email: &str, throttle: &Throttle) -> QueryResult<()> {
    diesel::update(login_throttle::table.find(email))
        .set((
            login_throttle::failures.eq(throttle.failures),
            login_throttle::window_started_at.eq(throttle.window_started_at),
            login_throttle::locked_until.eq(throttle.locked_until),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: String,
    pub user_id: String,
    /// Every token rotated from one sign-in shares a family, so that reuse of a
    /// rotated token can revoke the whole chain.
    pub family_id: String,
    pub token_hash: String,
    pub created_at: UtcTime,
    pub expires_at: UtcTime,
    pub revoked_at: Option<UtcTime>,
}

pub fn insert_refresh(conn: &mut DbConn, row: &RefreshTokenRow) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_refresh(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Revokes one token if it is still live; returns whether this call did it, so
/// that of two concurrent rotations only one succeeds.
pub fn revoke_refresh(conn: &mut DbConn, id: &str, now: UtcTime) -> QueryResult<bool> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: UtcTime) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

pub fn revoke_all_for_user(conn: &mut DbConn, user_id: &str, now: UtcTime) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}
