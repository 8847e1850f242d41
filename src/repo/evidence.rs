use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{evidence, requests};
use crate::domain::access::Viewer;
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = evidence)]
pub struct EvidenceRow {
    pub id: String,
    pub request_id: String,
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploader_organisation_id: String,
    pub uploaded_at: UtcTime,
}

pub fn insert(conn: &mut DbConn, row: &EvidenceRow) -> QueryResult<()> {
    diesel::insert_into(evidence::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn for_request(conn: &mut DbConn, request_id: &str) -> QueryResult<Vec<EvidenceRow>> {
    evidence::table
        .filter(evidence::request_id.eq(request_id))
        .select(EvidenceRow::as_select())
        .order(evidence::id)
        .load(conn)
}

/// An item whose request the viewer may see: the requesting agency, the central
/// authority of the issuing jurisdiction, and the responder (the uploader's
/// organisation). Everyone else: not found.
pub fn get_visible(
    conn: &mut DbConn,
    viewer: &Viewer,
    id: &str,
) -> QueryResult<Option<EvidenceRow>> {
    evidence::table
        .inner_join(requests::table)
        .filter(evidence::id.eq(id))
        .filter(super::requests::visible_to(viewer))
        .select(EvidenceRow::as_select())
        .first(conn)
        .optional()
}

/// Bytes already delivered for a request (summed here: SQL `SUM` of a BIGINT is
/// NUMERIC on PostgreSQL, which does not pass through the connection enum).
pub fn total_size(conn: &mut DbConn, request_id: &str) -> QueryResult<i64> {
    let sizes: Vec<i64> = evidence::table
        .filter(evidence::request_id.eq(request_id))
        .select(evidence::size)
        .load(conn)?;
    Ok(sizes.iter().sum())
}

/// Every distinct stored file, for verification.
pub fn all_hashes(conn: &mut DbConn) -> QueryResult<Vec<(String, i64)>> {
    // One row per distinct file: the same bytes delivered twice are stored once.
    evidence::table
        .select((evidence::sha256, evidence::size))
        .distinct()
        .order(evidence::sha256)
        .load(conn)
}

pub fn count_with_hash(conn: &mut DbConn, sha256: &str) -> QueryResult<i64> {
    evidence::table
        .filter(evidence::sha256.eq(sha256))
        .count()
        .get_result(conn)
}

pub fn count_for_request(conn: &mut DbConn, request_id: &str) -> QueryResult<i64> {
    evidence::table
        .filter(evidence::request_id.eq(request_id))
        .count()
        .get_result(conn)
}
