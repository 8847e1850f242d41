//! What every handler shares: the pool, the token keys, the catalogue.

use actix_web::web;

use crate::api::error::ApiError;
use crate::auth::tokens::TokenKeys;
use crate::config::Settings;
use crate::db::{DbConn, Pool, write_tx};
use crate::domain::legal_bases::Catalogue;

pub struct AppState {
    pub pool: Pool,
    pub keys: TokenKeys,
    pub catalogue: Catalogue,
    pub settings: Settings,
    pub mailer: crate::mail::Mailer,
    pub store: crate::store::EvidenceStore,
}

impl AppState {
    /// The deadline rules in force: the catalogue and the deployment's targets.
    pub fn rules(&self) -> crate::service::deadlines::Rules<'_> {
        crate::service::deadlines::Rules {
            catalogue: &self.catalogue,
            targets: self.settings.targets,
            public_url: &self.settings.public_url,
        }
    }

    /// Runs blocking database work on the thread pool, off the async workers.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }

    /// Like `db`, inside one write transaction: all of `f` commits, or none of it.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    {
        self.db(move |conn| write_tx(conn, f)).await
    }
}
