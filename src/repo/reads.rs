//! Which requests a person has read since the responder last acted on them.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{request_reads, requests};
use crate::repo::requests::RequestRow;
use crate::time::UtcTime;

/// Records that `user_id` read `request_id` at `at` (a later read replaces
/// an earlier one; each dialect has its own words for that).
pub fn mark_read(
    conn: &mut DbConn,
    user_id: &str,
    request_id: &str,
    at: UtcTime,
) -> QueryResult<()> {
    use diesel::sql_types::{Text, Timestamp};
    let sql = match conn {
        DbConn::Sqlite(_) => {
            "INSERT INTO request_reads (user_id, request_id, read_at) VALUES (?, ?, ?) \
             ON CONFLICT (user_id, request_id) DO UPDATE SET read_at = excluded.read_at"
        }
        DbConn::Pg(_) => {
            "INSERT INTO request_reads (user_id, request_id, read_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, request_id) DO UPDATE SET read_at = EXCLUDED.read_at"
        }
    };
    let query = diesel::sql_query(sql)
        .bind::<Text, _>(user_id)
        .bind::<Text, _>(request_id)
        .bind::<Timestamp, _>(at);
    match conn {
        DbConn::Sqlite(c) => query.execute(c)?,
        DbConn::Pg(c) => query.execute(c)?,
    };
    Ok(())
}

/// When `user_id` last read `request_id`.
pub fn read_at(conn: &mut DbConn, user_id: &str, request_id: &str) -> QueryResult<Option<UtcTime>> {
    request_reads::table
        .filter(request_reads::user_id.eq(user_id))
        .filter(request_reads::request_id.eq(request_id))
        .select(request_reads::read_at)
        .first(conn)
        .optional()
}

/// The requests of `agency_id` the responder acted on since `user_id` last
/// read them, the latest first, with when it acted; at most `limit`.
pub fn unread(
    conn: &mut DbConn,
    user_id: &str,
    agency_id: &str,
    limit: i64,
) -> QueryResult<Vec<(RequestRow, UtcTime)>> {
    let read = request_reads::table
        .filter(request_reads::user_id.eq(user_id.to_owned()))
        .filter(request_reads::request_id.eq(requests::id))
        .filter(request_reads::read_at.ge(requests::responder_acted_at.assume_not_null()));
    let rows: Vec<(RequestRow, Option<UtcTime>)> = requests::table
        .filter(requests::agency_id.eq(agency_id.to_owned()))
        .filter(requests::responder_acted_at.is_not_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(read)))
        .select((RequestRow::as_select(), requests::responder_acted_at))
        .order(requests::responder_acted_at.desc())
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(row, at)| at.map(|at| (row, at)))
        .collect())
}
