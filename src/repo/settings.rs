//! Facts about the deployment itself, by key.

use diesel::prelude::*;

use crate::db::schema::settings;
use crate::db::{DbConn, UtcTime};

pub fn get(conn: &mut DbConn, key: &str) -> QueryResult<Option<String>> {
    settings::table
        .filter(settings::key.eq(key))
        .select(settings::value)
        .first(conn)
        .optional()
}

/// Sets `key`; the caller holds the write transaction, so a read then a write
/// needs no `ON CONFLICT` (which the backend enum does not carry).
pub fn put(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<()> {
    let now = UtcTime::now();
    let updated = diesel::update(settings::table.filter(settings::key.eq(key)))
        .set((settings::value.eq(value), settings::updated_at.eq(now)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(settings::table)
            .values((
                settings::key.eq(key),
                settings::value.eq(value),
                settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}
