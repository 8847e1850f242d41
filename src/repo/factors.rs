//! Second factors (`second_factors`), their recovery codes and the sign-ins
//! waiting for a code (`sign_in_challenges`).

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{recovery_codes, second_factors, sign_in_challenges};
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = second_factors)]
pub struct FactorRow {
    pub user_id: String,
    pub secret_sealed: String,
    pub confirmed_at: Option<UtcTime>,
    pub last_step: Option<i64>,
    pub created_at: UtcTime,
    /// A replacement's secret, waiting for its first code.
    pub pending_sealed: Option<String>,
    pub pending_at: Option<UtcTime>,
}

pub fn find(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<FactorRow>> {
    second_factors::table
        .find(user_id)
        .select(FactorRow::as_select())
        .first(conn)
        .optional()
}

/// Starts an enrolment, replacing one begun before; a confirmed factor is
/// left as it is (false).
pub fn begin(conn: &mut DbConn, row: &FactorRow) -> QueryResult<bool> {
    diesel::delete(
        second_factors::table
            .find(&row.user_id)
            .filter(second_factors::confirmed_at.is_null()),
    )
    .execute(conn)?;
    if find(conn, &row.user_id)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(second_factors::table)
        .values(row)
        .execute(conn)
        .map(|_| true)
}

/// Confirms a pending enrolment with the step of its first code; false if
/// it was no longer pending.
pub fn confirm(conn: &mut DbConn, user_id: &str, step: i64, now: UtcTime) -> QueryResult<bool> {
    diesel::update(
        second_factors::table
            .find(user_id)
            .filter(second_factors::confirmed_at.is_null()),
    )
    .set((
        second_factors::confirmed_at.eq(now),
        second_factors::last_step.eq(step),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records that a code of `step` was accepted, unless one of that step or a
/// later one already was (false): of two sign-ins racing with one code,
/// one wins.
pub fn spend_step(conn: &mut DbConn, user_id: &str, step: i64) -> QueryResult<bool> {
    diesel::update(
        second_factors::table
            .find(user_id)
            .filter(second_factors::confirmed_at.is_not_null())
            .filter(
                second_factors::last_step
                    .is_null()
                    .or(second_factors::last_step.lt(step)),
            ),
    )
    .set(second_factors::last_step.eq(step))
    .execute(conn)
    .map(|n| n == 1)
}

/// Puts a replacement secret beside a confirmed factor.
pub fn set_pending(
    conn: &mut DbConn,
    user_id: &str,
    sealed: &str,
    now: UtcTime,
) -> QueryResult<bool> {
    diesel::update(
        second_factors::table
            .find(user_id)
            .filter(second_factors::confirmed_at.is_not_null()),
    )
    .set((
        second_factors::pending_sealed.eq(sealed),
        second_factors::pending_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// The replacement takes over, confirmed by a code of `step`; false if it
/// was no longer pending.
pub fn promote_pending(
    conn: &mut DbConn,
    user_id: &str,
    sealed: &str,
    step: i64,
    now: UtcTime,
) -> QueryResult<bool> {
    diesel::update(
        second_factors::table
            .find(user_id)
            .filter(second_factors::pending_sealed.eq(sealed)),
    )
    .set((
        second_factors::secret_sealed.eq(sealed),
        second_factors::pending_sealed.eq(None::<String>),
        second_factors::pending_at.eq(None::<UtcTime>),
        second_factors::confirmed_at.eq(now),
        second_factors::last_step.eq(step),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Removes an account's factor and its recovery codes.
pub fn remove(conn: &mut DbConn, user_id: &str) -> QueryResult<bool> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(second_factors::table.find(user_id))
        .execute(conn)
        .map(|n| n > 0)
}

/// Replaces an account's recovery codes with these (hashes).
pub fn replace_recovery_codes(
    conn: &mut DbConn,
    user_id: &str,
    hashes: &[String],
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    // One by one: the connection enum has no batch insert on SQLite.
    for hash in hashes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Spends a recovery code; false if it is not one of the account's unused
/// codes.
pub fn spend_recovery_code(
    conn: &mut DbConn,
    user_id: &str,
    hash: &str,
    now: UtcTime,
) -> QueryResult<bool> {
    diesel::update(
        recovery_codes::table
            .find((user_id, hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn unused_recovery_codes(conn: &mut DbConn, user_id: &str) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sign_in_challenges)]
pub struct ChallengeRow {
    pub id_hash: String,
    pub user_id: String,
    pub need: String,
    pub via: String,
    pub expires_at: UtcTime,
}

/// Records a challenge, and forgets every one that has run out.
pub fn insert_challenge(conn: &mut DbConn, row: &ChallengeRow, now: UtcTime) -> QueryResult<()> {
    diesel::delete(sign_in_challenges::table.filter(sign_in_challenges::expires_at.le(now)))
        .execute(conn)?;
    diesel::insert_into(sign_in_challenges::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A challenge still running at `now`.
pub fn find_challenge(
    conn: &mut DbConn,
    id_hash: &str,
    now: UtcTime,
) -> QueryResult<Option<ChallengeRow>> {
    sign_in_challenges::table
        .find(id_hash)
        .filter(sign_in_challenges::expires_at.gt(now))
        .select(ChallengeRow::as_select())
        .first(conn)
        .optional()
}

/// Spends a challenge; false if another request spent it first.
pub fn spend_challenge(conn: &mut DbConn, id_hash: &str) -> QueryResult<bool> {
    diesel::delete(sign_in_challenges::table.find(id_hash))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn delete_challenges_for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(sign_in_challenges::table.filter(sign_in_challenges::user_id.eq(user_id)))
        .execute(conn)
}

/// Every factor's sealed secrets, for sealing them again under a new key:
/// (account, secret, replacement waiting for its first code).
pub fn all_sealed(conn: &mut DbConn) -> QueryResult<Vec<(String, String, Option<String>)>> {
    second_factors::table
        .select((
            second_factors::user_id,
            second_factors::secret_sealed,
            second_factors::pending_sealed,
        ))
        .order(second_factors::user_id)
        .load(conn)
}

/// Replaces a factor's sealed secrets with the same secrets sealed anew.
pub fn reseal(
    conn: &mut DbConn,
    user_id: &str,
    secret_sealed: &str,
    pending_sealed: Option<&str>,
) -> QueryResult<bool> {
    diesel::update(second_factors::table.find(user_id))
        .set((
            second_factors::secret_sealed.eq(secret_sealed),
            second_factors::pending_sealed.eq(pending_sealed),
        ))
        .execute(conn)
        .map(|n| n == 1)
}
