//! Facts about the deployment itself, by key.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::settings;
use crate::time::UtcTime;

pub fn get(conn: &mut DbConn, key: &str) -> QueryResult<Option<String>> {
    settings::table
        .filter(settings::key.eq(key))
        .select(settings::value)
        .first(conn)
        .optional()
}

/// Sets `key`. Several instances starting together may set the same key at
/// once: the insert gives way to a row another transaction inserted meanwhile
/// instead of failing on the primary key (each dialect has its own words).
pub fn put(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<()> {
    use diesel::sql_types::{Text, Timestamp};
    let now = UtcTime::now();
    match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind::<Text, _>(key)
        .bind::<Text, _>(value)
        .bind::<Timestamp, _>(now)
        .execute(c)?,
        DbConn::Pg(c) => diesel::sql_query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
        )
        .bind::<Text, _>(key)
        .bind::<Text, _>(value)
        .bind::<Timestamp, _>(now)
        .execute(c)?,
    };
    Ok(())
}

/// The keys starting with `prefix` and their values.
pub fn with_prefix(conn: &mut DbConn, prefix: &str) -> QueryResult<Vec<(String, String)>> {
    settings::table
        .filter(settings::key.like(format!("{prefix}%")))
        .select((settings::key, settings::value))
        .order(settings::key)
        .load(conn)
}

/// Forgets `key` if it still holds `value`: a marker set again meanwhile
/// stays for the next pass.
pub fn clear_if(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<bool> {
    diesel::delete(
        settings::table
            .filter(settings::key.eq(key))
            .filter(settings::value.eq(value)),
    )
    .execute(conn)
    .map(|n| n > 0)
}
