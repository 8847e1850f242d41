//! Embedded migrations, one set per backend with the same version ids.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::conn::DbConn;

pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// The advisory lock every instance takes to migrate a PostgreSQL database.
const PG_MIGRATION_LOCK: i64 = 7_243_591_200_023;

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Applies what is pending while holding every other instance off: a
/// PostgreSQL advisory lock, or an exclusive lock on a file beside the SQLite
/// database (`sqlite_file`). Instances started together wait for one another
/// (saying so in the log), and the late ones find nothing left to do.
pub fn run_pending_exclusively(
    conn: &mut DbConn,
    sqlite_file: Option<&std::path::Path>,
) -> Result<Vec<String>, MigrationError> {
    match conn {
        DbConn::Pg(c) => {
            use diesel::RunQueryDsl;
            let first: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<diesel::sql_types::BigInt, _>(PG_MIGRATION_LOCK)
                .get_result(c)?;
            if !first.locked {
                tracing::info!("another instance is migrating the database: waiting for it");
                diesel::sql_query("SELECT pg_advisory_lock($1)")
                    .bind::<diesel::sql_types::BigInt, _>(PG_MIGRATION_LOCK)
                    .execute(c)?;
            }
            let applied = run_pending(conn);
            if let DbConn::Pg(c) = conn {
                diesel::sql_query("SELECT pg_advisory_unlock($1)")
                    .bind::<diesel::sql_types::BigInt, _>(PG_MIGRATION_LOCK)
                    .execute(c)?;
            }
            applied
        }
        DbConn::Sqlite(_) => {
            let _held = match sqlite_file {
                Some(path) => Some(lock_beside(path)?),
                None => None,
            };
            run_pending(conn)
        }
    }
}

/// An exclusive lock on `<database>.migrating`, released when dropped.
pub fn lock_beside(database: &std::path::Path) -> Result<std::fs::File, MigrationError> {
    let mut name = database.as_os_str().to_owned();
    name.push(".migrating");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)?;
    if let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
        tracing::info!("another instance is migrating the database: waiting for it");
        file.lock()?;
    }
    Ok(file)
}

/// The migrations this binary knows that the database has not had, by name
/// (`2026-12-03-000019_audit_anchoring`), oldest first.
pub fn pending(conn: &mut DbConn) -> Result<Vec<String>, MigrationError> {
    let names = match conn {
        DbConn::Sqlite(c) => c
            .pending_migrations(SQLITE)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
        DbConn::Pg(c) => c
            .pending_migrations(POSTGRES)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
    };
    Ok(names)
}

/// Applies what is pending and returns the versions applied, oldest first.
pub fn run_pending(conn: &mut DbConn) -> Result<Vec<String>, MigrationError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE)?,
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES)?,
    };
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Applies the next pending migration only; `None` when none is pending.
pub fn run_next(conn: &mut DbConn) -> Result<Option<String>, MigrationError> {
    let next = match conn {
        DbConn::Sqlite(c) => {
            let pending = c.pending_migrations(SQLITE)?;
            match pending.first() {
                Some(m) => Some(c.run_migration(m.as_ref())?.to_string()),
                None => None,
            }
        }
        DbConn::Pg(c) => {
            let pending = c.pending_migrations(POSTGRES)?;
            match pending.first() {
                Some(m) => Some(c.run_migration(m.as_ref())?.to_string()),
                None => None,
            }
        }
    };
    Ok(next)
}

/// Reverts the newest applied migration and returns its version.
pub fn revert_last(conn: &mut DbConn) -> Result<String, MigrationError> {
    let version = match conn {
        DbConn::Sqlite(c) => c.revert_last_migration(SQLITE)?,
        DbConn::Pg(c) => c.revert_last_migration(POSTGRES)?,
    };
    Ok(version.to_string())
}

/// Versions applied so far, oldest first.
pub fn applied(conn: &mut DbConn) -> Result<Vec<String>, MigrationError> {
    let mut versions: Vec<String> = match conn {
        DbConn::Sqlite(c) => c.applied_migrations()?,
        DbConn::Pg(c) => c.applied_migrations()?,
    }
    .iter()
    .map(ToString::to_string)
    .collect();
    versions.sort();
    Ok(versions)
}
