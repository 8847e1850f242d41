//! Sign-in state: the per-address throttle and the refresh tokens.

use diesel::prelude::*;

use crate::db::schema::{login_throttle, refresh_tokens};
use crate::db::{DbConn, lock_row};
use crate::domain::lockout::{Throttle, WINDOW};
use crate::time::UtcTime;

/// Reads the throttle of `email` with its row locked for the rest of the
/// transaction, creating it first if need be. Call inside `write_tx`.
pub fn lock_throttle(conn: &mut DbConn, email: &str) -> QueryResult<Throttle> {
    // A spent row deleted by a purge (`purge_spent_throttles`) while this
    // waited for its lock is gone when the lock is granted: insert it again.
    for _ in 0..2 {
        ensure_throttle(conn, email)?;
        lock_row(conn, "login_throttle", "email", email)?;
        let row = login_throttle::table
            .find(email)
            .select((
                login_throttle::failures,
                login_throttle::window_started_at,
                login_throttle::locked_until,
            ))
            .first::<(i32, Option<UtcTime>, Option<UtcTime>)>(conn)
            .optional()?;
        if let Some((failures, window_started_at, locked_until)) = row {
            return Ok(Throttle {
                failures,
                window_started_at,
                locked_until,
            });
        }
    }
    Err(diesel::result::Error::NotFound)
}

fn ensure_throttle(conn: &mut DbConn, email: &str) -> QueryResult<usize> {
    // No ON CONFLICT through the connection enum: each backend gets its own
    // insert-if-absent, so two first failures at once cannot collide.
    match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "INSERT OR IGNORE INTO login_throttle (email, failures) VALUES (?, 0)",
        )
        .bind::<diesel::sql_types::Text, _>(email)
        .execute(c),
        DbConn::Pg(c) => diesel::sql_query(
            "INSERT INTO login_throttle (email, failures) VALUES ($1, 0) \
             ON CONFLICT (email) DO NOTHING",
        )
        .bind::<diesel::sql_types::Text, _>(email)
        .execute(c),
    }
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

/// The token families of a user with a live refresh token at `now`: each
/// one's id, when it began and when it was last rotated.
pub fn live_families(
    conn: &mut DbConn,
    user_id: &str,
    now: UtcTime,
) -> QueryResult<Vec<(String, UtcTime, UtcTime)>> {
    use diesel::dsl::{max, min};
    let live: Vec<String> = refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(user_id))
        .filter(refresh_tokens::revoked_at.is_null())
        .filter(refresh_tokens::expires_at.gt(now))
        .select(refresh_tokens::family_id)
        .distinct()
        .load(conn)?;
    let rows: Vec<(String, Option<UtcTime>, Option<UtcTime>)> = refresh_tokens::table
        .filter(refresh_tokens::family_id.eq_any(&live))
        .group_by(refresh_tokens::family_id)
        .select((
            refresh_tokens::family_id,
            min(refresh_tokens::created_at),
            max(refresh_tokens::created_at),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(family, first, last)| Some((family, first?, last?)))
        .collect())
}

/// Revokes a family of `user_id`'s (false if it has none live by that id).
pub fn revoke_own_family(
    conn: &mut DbConn,
    user_id: &str,
    family_id: &str,
    now: UtcTime,
) -> QueryResult<bool> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
    .map(|n| n > 0)
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

/// Revokes every live refresh token of a user but those of `keep` (the
/// family of the session that asked).
pub fn revoke_others_for_user(
    conn: &mut DbConn,
    user_id: &str,
    keep: Option<&str>,
    now: UtcTime,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null())
            .filter(refresh_tokens::family_id.ne(keep.unwrap_or_default().to_owned())),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// How many rows one purge deletes at most; the next pass takes the rest.
pub const PURGE_BATCH: i64 = 1_000;

/// Deletes throttle states spent at `now`: `Throttle::is_spent`, said in SQL.
/// The condition is checked again by the delete itself, so that a state a
/// sign-in has just renewed is kept.
pub fn purge_spent_throttles(conn: &mut DbConn, now: UtcTime) -> QueryResult<usize> {
    let spent = || {
        login_throttle::locked_until
            .is_null()
            .or(login_throttle::locked_until.le(now))
            .and(
                login_throttle::window_started_at
                    .is_null()
                    .or(login_throttle::window_started_at.le(now - WINDOW)),
            )
    };
    let emails: Vec<String> = login_throttle::table
        .filter(spent())
        .select(login_throttle::email)
        .limit(PURGE_BATCH)
        .load(conn)?;
    if emails.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        login_throttle::table
            .filter(login_throttle::email.eq_any(&emails))
            .filter(spent()),
    )
    .execute(conn)
}

/// Deletes the refresh tokens of families whose every token has expired by
/// `now`. A family is kept while any of its tokens lives, so that a rotated
/// token presented again still revokes the live one (`sessions::refresh`).
/// No token is added to an expired family: only a live token rotates.
pub fn purge_expired_families(conn: &mut DbConn, now: UtcTime) -> QueryResult<usize> {
    let families: Vec<String> = refresh_tokens::table
        .group_by(refresh_tokens::family_id)
        .having(diesel::dsl::max(refresh_tokens::expires_at).le(now))
        .select(refresh_tokens::family_id)
        .limit(PURGE_BATCH)
        .load(conn)?;
    if families.is_empty() {
        return Ok(0);
    }
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::family_id.eq_any(&families)))
        .execute(conn)
}
