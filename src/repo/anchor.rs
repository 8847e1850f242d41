//! The audit log's places and its checkpoints, as the database holds them.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{audit_checkpoints, audit_events, audit_log_blocks};
use crate::time::UtcTime;

/// One event as the log knows it.
#[derive(Debug, Clone, Queryable)]
pub struct LogEntry {
    pub log_index: Option<i64>,
    pub id: String,
    pub chain: String,
    pub seq: i64,
    pub hash: String,
}

fn entry_columns() -> (
    audit_events::log_index,
    audit_events::id,
    audit_events::chain,
    audit_events::seq,
    audit_events::hash,
) {
    (
        audit_events::log_index,
        audit_events::id,
        audit_events::chain,
        audit_events::seq,
        audit_events::hash,
    )
}

/// Holds every other checkpointer of this database until the transaction
/// ends (several instances on one PostgreSQL); SQLite's writers already take
/// turns.
pub fn lock_checkpointing(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        // A fixed key for "audit checkpointing" in the advisory lock space.
        diesel::sql_query("SELECT pg_advisory_xact_lock(7243591200022)").execute(c)?;
    }
    Ok(())
}

/// Events no checkpoint covers yet, oldest first.
pub fn unanchored(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<LogEntry>> {
    audit_events::table
        .filter(audit_events::log_index.is_null())
        .order((audit_events::occurred_at, audit_events::id))
        .select(entry_columns())
        .limit(limit)
        .load(conn)
}

pub fn assign(conn: &mut DbConn, id: &str, log_index: i64) -> QueryResult<()> {
    diesel::update(audit_events::table.find(id))
        .set(audit_events::log_index.eq(Some(log_index)))
        .execute(conn)?;
    Ok(())
}

/// How many events wait for a checkpoint, and when the oldest happened.
pub fn unanchored_summary(conn: &mut DbConn) -> QueryResult<(i64, Option<UtcTime>)> {
    let count = audit_events::table
        .filter(audit_events::log_index.is_null())
        .count()
        .get_result(conn)?;
    let oldest = audit_events::table
        .filter(audit_events::log_index.is_null())
        .order((audit_events::occurred_at, audit_events::id))
        .select(audit_events::occurred_at)
        .first(conn)
        .optional()?;
    Ok((count, oldest))
}

/// Up to `limit` events of the log from place `from` on, in log order.
pub fn log_page(conn: &mut DbConn, from: i64, limit: i64) -> QueryResult<Vec<LogEntry>> {
    audit_events::table
        .filter(audit_events::log_index.ge(from))
        .order(audit_events::log_index)
        .select(entry_columns())
        .limit(limit)
        .load(conn)
}

/// The chain hashes of the first `size` places of the log, in order.
pub fn log_hashes(conn: &mut DbConn, size: i64) -> QueryResult<Vec<(i64, String)>> {
    log_hashes_between(conn, 0, size)
}

/// The chain hashes of the log's places `from..to`, in order.
pub fn log_hashes_between(
    conn: &mut DbConn,
    from: i64,
    to: i64,
) -> QueryResult<Vec<(i64, String)>> {
    audit_events::table
        .filter(audit_events::log_index.ge(from))
        .filter(audit_events::log_index.lt(to))
        .order(audit_events::log_index)
        .select((
            audit_events::log_index.assume_not_null(),
            audit_events::hash,
        ))
        .load(conn)
}

/// The stored roots (hex) of the log's blocks below `below`.
pub fn block_roots(conn: &mut DbConn, below: i64) -> QueryResult<Vec<(i64, String)>> {
    audit_log_blocks::table
        .filter(audit_log_blocks::block.lt(below))
        .order(audit_log_blocks::block)
        .select((audit_log_blocks::block, audit_log_blocks::root))
        .load(conn)
}

/// The first block after the last one with a stored root (0 when none
/// has): roots are stored in order. A root missing before it (a row
/// deleted) stays missing: proofs over that block read its leaves.
pub fn next_block(conn: &mut DbConn) -> QueryResult<i64> {
    audit_log_blocks::table
        .select(diesel::dsl::max(audit_log_blocks::block))
        .first::<Option<i64>>(conn)
        .map(|last| last.map_or(0, |b| b + 1))
}

pub fn store_block(conn: &mut DbConn, block: i64, root: &str) -> QueryResult<()> {
    diesel::insert_into(audit_log_blocks::table)
        .values((
            audit_log_blocks::block.eq(block),
            audit_log_blocks::root.eq(root),
        ))
        .execute(conn)?;
    Ok(())
}

/// The event at `seq` of `chain`: its id and hash.
pub fn at(conn: &mut DbConn, chain: &str, seq: i64) -> QueryResult<Option<(String, String)>> {
    audit_events::table
        .filter(audit_events::chain.eq(chain))
        .filter(audit_events::seq.eq(seq))
        .select((audit_events::id, audit_events::hash))
        .first(conn)
        .optional()
}

/// A checkpoint row: the signed document and the tree's frontier.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = audit_checkpoints)]
pub struct CheckpointRow {
    pub seq: i64,
    pub tree_size: i64,
    pub issued_at: UtcTime,
    pub document: String,
    pub frontier: String,
}

pub fn insert(conn: &mut DbConn, row: &CheckpointRow) -> QueryResult<()> {
    diesel::insert_into(audit_checkpoints::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn last(conn: &mut DbConn) -> QueryResult<Option<CheckpointRow>> {
    audit_checkpoints::table
        .order(audit_checkpoints::seq.desc())
        .first(conn)
        .optional()
}

pub fn all(conn: &mut DbConn) -> QueryResult<Vec<CheckpointRow>> {
    audit_checkpoints::table
        .order(audit_checkpoints::seq)
        .load(conn)
}

/// The first checkpoint whose log holds place `log_index`.
pub fn first_covering(conn: &mut DbConn, log_index: i64) -> QueryResult<Option<CheckpointRow>> {
    audit_checkpoints::table
        .filter(audit_checkpoints::tree_size.gt(log_index))
        .order(audit_checkpoints::seq)
        .first(conn)
        .optional()
}

/// The log places of those of `ids` that a checkpoint covers.
pub fn log_indices(
    conn: &mut DbConn,
    ids: &[String],
) -> QueryResult<std::collections::HashMap<String, i64>> {
    Ok(audit_events::table
        .filter(audit_events::id.eq_any(ids))
        .filter(audit_events::log_index.is_not_null())
        .select((audit_events::id, audit_events::log_index.assume_not_null()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}
