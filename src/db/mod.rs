//! Persistence: one connection enum over SQLite and PostgreSQL, a pool, embedded
//! migrations per backend and the portable column types.

pub mod conn;
pub mod migrations;
pub mod pool;
pub mod retry;
pub mod schema;
pub mod types;
pub mod writers;

pub use conn::{Backend, DatabaseUrl, DbConn, lock_row, optimize, write_tx};
pub use pool::{Pool, PooledConn};
pub use types::new_id;
pub use writers::WriterQueue;
