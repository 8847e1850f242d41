//! The r2d2 pool, with a manager that opens connections through `conn::establish`
//! (scheme dispatch and SQLite pragmas) rather than diesel's try-each-backend default.

use std::time::Duration;

use diesel::ConnectionError;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};

use super::conn::{DatabaseUrl, DbConn, establish, prepare_database};

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
    statement_timeout: Option<Duration>,
}

/// How long a caller may wait: for a connection from the pool, and (on
/// PostgreSQL) for one statement, so that a slow or locked database answers
/// 503 in seconds rather than holding requests.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub wait: Duration,
    pub statement_timeout: Option<Duration>,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            wait: Duration::from_secs(10),
            statement_timeout: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ManagerError(String);

impl From<ConnectionError> for ManagerError {
    fn from(err: ConnectionError) -> Self {
        ManagerError(err.to_string())
    }
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = ManagerError;

    fn connect(&self) -> Result<DbConn, ManagerError> {
        let mut conn = establish(&self.url)?;
        if let (DbConn::Pg(c), Some(bound)) = (&mut conn, self.statement_timeout) {
            use diesel::connection::SimpleConnection;
            c.batch_execute(&format!("SET statement_timeout = {}", bound.as_millis()))
                .map_err(|e| ManagerError(e.to_string()))?;
        }
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), ManagerError> {
        conn.ping().map_err(|e| ManagerError(e.to_string()))
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        // diesel knows a connection is broken only by a broken transaction;
        // one the server ended outside a transaction looks fine and would go
        // back to the pool to fail again. Soon after a lost connection, each
        // connection handed back is asked whether it still answers.
        conn.is_broken() || (connections_suspect() && conn.ping().is_err())
    }
}

/// Until when (seconds since the epoch) connections handed back are checked.
static SUSPECT_UNTIL: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// A connection was lost: for the next minute, each connection handed back
/// to a pool is checked, so that dead ones are dropped and replaced.
pub fn suspect_connections() {
    let until = chrono::Utc::now().timestamp() + 60;
    SUSPECT_UNTIL.fetch_max(until, std::sync::atomic::Ordering::Relaxed);
}

/// A connection from `pool` that answers: soon after a lost connection,
/// each one is asked first, and dead ones are dropped for others (at most as
/// many as the pool holds). Nothing of the caller's has run yet, so this is
/// always safe.
pub fn live(pool: &Pool) -> Result<PooledConn, r2d2::PoolError> {
    let mut conn = pool.get()?;
    if connections_suspect() {
        for _ in 0..pool.max_size() {
            if conn.ping().is_ok() {
                break;
            }
            drop(conn);
            conn = pool.get()?;
        }
    }
    Ok(conn)
}

fn connections_suspect() -> bool {
    chrono::Utc::now().timestamp() < SUSPECT_UNTIL.load(std::sync::atomic::Ordering::Relaxed)
}

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("cannot open the {backend} database at {url}: {source}")]
    Connect {
        backend: super::Backend,
        url: String,
        source: ConnectionError,
    },
    #[error("cannot build the connection pool: {0}")]
    Pool(#[from] r2d2::PoolError),
}

/// Opens the pool after one direct connection attempt, so that a wrong host or
/// password is reported with the database's own words instead of a pool timeout.
pub fn build(
    url: &DatabaseUrl,
    max_size: u32,
    keep_one: bool,
    bounds: Bounds,
) -> Result<Pool, PoolError> {
    let connect_error = |source| PoolError::Connect {
        backend: url.backend(),
        url: url.redacted(),
        source,
    };
    prepare_database(url).map_err(connect_error)?;
    drop(establish(url).map_err(connect_error)?);
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(u32::from(keep_one)))
        .connection_timeout(bounds.wait)
        .test_on_check_out(false)
        .build(Manager {
            url: url.clone(),
            statement_timeout: bounds.statement_timeout,
        })?;
    Ok(pool)
}
