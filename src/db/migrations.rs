//! Embedded migrations, one set per backend with the same version ids.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::conn::DbConn;

pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

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
