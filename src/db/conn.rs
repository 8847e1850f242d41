//! The connection enum over both backends, and choosing the backend from the URL.

use std::path::PathBuf;

use diesel::connection::{
    AnsiTransactionManager, Connection, SimpleConnection, TransactionManager,
};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{ConnectionError, QueryResult, RunQueryDsl};

use super::retry::Step;

/// One connection to whichever database the deployment uses.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// Where the database is. Parsed from `MLAT_DATABASE_URL` by scheme, so that a
/// PostgreSQL error (a wrong password, say) is reported as such instead of being
/// swallowed by a try-each-backend `establish`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

/// A PostgreSQL URL's password never reaches a log through `Debug`.
impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            DatabaseUrl::Postgres(url) => f
                .debug_tuple("Postgres")
                .field(&crate::logging::redacted_url(url))
                .finish(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    #[error("the database URL is empty")]
    Empty,
    #[error(
        "unsupported database URL scheme `{0}`: use `postgres://...` or a SQLite file path (`sqlite://path` or a plain path)"
    )]
    UnsupportedScheme(String),
    #[error(
        "an in-memory SQLite database is not supported: every pooled connection would see its own empty database"
    )]
    InMemory,
}

impl DatabaseUrl {
    pub fn parse(text: &str) -> Result<Self, DatabaseUrlError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(text.to_owned()));
        }
        let path = if let Some(rest) = text.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = text.strip_prefix("sqlite:") {
            rest
        } else if let Some((scheme, _)) = text.split_once("://") {
            return Err(DatabaseUrlError::UnsupportedScheme(scheme.to_owned()));
        } else {
            text
        };
        if path.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        if path == ":memory:" || path.contains("mode=memory") {
            return Err(DatabaseUrlError::InMemory);
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with any password replaced, for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => redact_password(url),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                url.to_owned()
            }
        }
        None => url.to_owned(),
    }
}

/// Per-connection SQLite settings. `busy_timeout` comes first so that the other
/// statements wait for a lock instead of failing at start-up. Its 10 s is also how
/// long a writer waits for its turn in the process (`db::writers::PATIENCE`).
const SQLITE_CONNECTION_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 268435456;";

/// Per-session PostgreSQL settings. Every list is a keyset page over an index
/// (`... WHERE agency_id = ? AND status = ? ORDER BY id DESC LIMIT 51`). With
/// the default `random_page_cost` of 4, which models a spinning disk, the
/// planner preferred walking the primary key backwards and filtering, which
/// assumes matching rows are spread evenly over ids; an agency's newest
/// requests are its drafts, so a page of preserved ones read thousands of rows
/// (docs/benchmarks.md, third round). 1.1 is PostgreSQL's own suggestion for
/// storage where random reads cost about what sequential ones do, which is
/// true of SSDs and of a working set in memory.
const POSTGRES_SESSION_SETTINGS: &str = "SET random_page_cost = 1.1;";

/// Opens one connection to the backend the URL names.
pub fn establish(url: &DatabaseUrl) -> Result<DbConn, ConnectionError> {
    match url {
        DatabaseUrl::Postgres(url) => {
            let mut conn = PgConnection::establish(url)?;
            conn.batch_execute(POSTGRES_SESSION_SETTINGS)
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConn::Pg(conn))
        }
        DatabaseUrl::Sqlite(path) => {
            let path = path.to_str().ok_or_else(|| {
                ConnectionError::InvalidConnectionUrl(
                    "the SQLite path is not valid UTF-8".to_owned(),
                )
            })?;
            let mut conn = SqliteConnection::establish(path)?;
            conn.batch_execute(SQLITE_CONNECTION_PRAGMAS)
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

/// Switches a SQLite database to write-ahead logging. Done once, before the pool
/// opens its connections, because changing the journal mode needs an exclusive lock.
pub fn prepare_database(url: &DatabaseUrl) -> Result<(), ConnectionError> {
    if let DatabaseUrl::Sqlite(_) = url {
        let mut conn = establish(url)?;
        conn.batch_execute("PRAGMA journal_mode = WAL;")
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
    }
    Ok(())
}

/// Keeps the query planner's statistics current. SQLite has none until asked,
/// and without them picks the index that serves `ORDER BY` over the one that
/// narrows the rows (a request's follow-ups were found by walking its whole
/// agency); `PRAGMA optimize` analyses only what changed, within a bounded
/// effort. PostgreSQL's autovacuum does this on its own.
pub fn optimize(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Sqlite(c) = conn {
        c.batch_execute("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")?;
    }
    Ok(())
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Pg(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite, so that a
/// read-then-write sequence takes the write lock up front rather than failing with
/// "database is locked" when two writers race; a plain transaction on PostgreSQL,
/// where row locks (`lock_row`) and conditional updates serialise writers.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    begin_write(conn)?;
    in_begun_write(conn, f).map_err(|(_, err)| err)
}

/// The first half of `write_tx`: the transaction begun, nothing else done.
pub fn begin_write(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c),
    }
}

/// The rest of `write_tx`, on a transaction `begin_write` began. A failure
/// says whether it came before `COMMIT` was sent or from it (`retry`).
pub fn in_begun_write<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, (Step, E)>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <DbConn as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => match Manager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(err) => Err((Step::Commit, err.into())),
        },
        Err(err) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err((Step::Work, err)),
            Err(rollback) => Err((Step::Work, rollback.into())),
        },
    }
}

/// Locks one row until the end of the transaction on PostgreSQL (`FOR UPDATE`);
/// on SQLite the `BEGIN IMMEDIATE` of `write_tx` already holds the database lock.
/// `table` and `key` are compile-time names, never user input.
pub fn lock_row(
    conn: &mut DbConn,
    table: &'static str,
    key: &'static str,
    value: &str,
) -> diesel::QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query(format!("SELECT 1 FROM {table} WHERE {key} = $1 FOR UPDATE"))
            .bind::<diesel::sql_types::Text, _>(value)
            .execute(c)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatches_on_scheme() {
        assert_eq!(
            DatabaseUrl::parse("postgres://u:p@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/mlat.db").unwrap(),
            DatabaseUrl::Sqlite("data/mlat.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///abs/mlat.db").unwrap(),
            DatabaseUrl::Sqlite("/abs/mlat.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("./mlat.db").unwrap(),
            DatabaseUrl::Sqlite("./mlat.db".into())
        );
    }

    #[test]
    fn refuses_unknown_schemes_and_memory() {
        assert_eq!(
            DatabaseUrl::parse("mysql://h/db"),
            Err(DatabaseUrlError::UnsupportedScheme("mysql".into()))
        );
        assert_eq!(
            DatabaseUrl::parse(":memory:"),
            Err(DatabaseUrlError::InMemory)
        );
        assert_eq!(DatabaseUrl::parse("  "), Err(DatabaseUrlError::Empty));
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::Empty)
        );
    }

    #[test]
    fn redacts_passwords() {
        let url = DatabaseUrl::parse("postgres://mlat:secret@db:5432/mlat").unwrap();
        assert_eq!(url.redacted(), "postgres://mlat:***@db:5432/mlat");
        let url = DatabaseUrl::parse("postgres://mlat@db/mlat").unwrap();
        assert_eq!(url.redacted(), "postgres://mlat@db/mlat");
    }
}
