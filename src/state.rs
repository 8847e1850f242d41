//! What every handler shares: the pool, the token keys, the catalogue.

use crate::auth::caller::Caller;
use crate::auth::tokens::TokenKeys;
use crate::config::Settings;
use crate::db::{DbConn, Pool, WriterQueue};
use crate::domain::legal_bases::Catalogue;
use crate::error::Error;

/// On whose behalf a database hop is made, confirmed in that hop: a program
/// with a token (`Caller::confirm`), or a person through a portal session
/// (`service::portal_sessions::confirm`).
#[derive(Clone)]
pub enum Principal {
    Token(Caller),
    Session(Box<crate::service::portal_sessions::Session>),
}

impl Principal {
    pub fn confirm(&self, conn: &mut DbConn) -> Result<(), Error> {
        match self {
            Principal::Token(caller) => caller.confirm(conn),
            Principal::Session(session) => {
                crate::service::portal_sessions::confirm(conn, session, crate::time::UtcTime::now())
            }
        }
    }
}

pub struct AppState {
    pub pool: Pool,
    pub keys: TokenKeys,
    pub catalogue: Catalogue,
    pub settings: Settings,
    pub mailer: crate::mail::Mailer,
    pub store: crate::store::EvidenceStore,
    /// This process's writers, in turn on SQLite (`db::writers`).
    pub writers: WriterQueue,
    /// Sign-ins by source address (`auth::sign_in_limit`).
    pub sign_in_limit: crate::auth::sign_in_limit::SignInLimit,
    /// Seals second factors' secrets in the database.
    pub factor_key: crate::sealed::MasterKey,
    /// Signs the audit trail's checkpoints and receipts (`service::anchor`).
    pub anchoring: crate::service::anchor::Anchoring,
    /// Serving or draining (`lifecycle`).
    pub lifecycle: std::sync::Arc<crate::lifecycle::Lifecycle>,
}

impl AppState {
    /// Takes one sign-in from the address `req` comes from, or refuses it
    /// (429, with when to try again) before any password is hashed.
    pub fn admit_sign_in(&self, req: &actix_web::HttpRequest) -> Result<std::net::IpAddr, Error> {
        let from = crate::auth::sign_in_limit::client_address(req, self.settings.trust_forwarded);
        self.sign_in_limit.check(from).map_err(|wait| {
            tracing::warn!(%from, "sign-in refused: too many from this address");
            Error::too_many_attempts(
                "too many sign-ins from your address: try again in a moment",
                wait.as_secs().max(1),
            )
        })?;
        Ok(from)
    }

    /// The deadline rules in force: the catalogue and the deployment's targets.
    pub fn rules(&self) -> crate::service::deadlines::Rules<'_> {
        crate::service::deadlines::Rules {
            catalogue: &self.catalogue,
            targets: self.settings.targets,
            public_url: &self.settings.public_url,
        }
    }

    /// Runs blocking database work on the thread pool, off the async workers.
    pub async fn db<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = crate::db::pool::live(&pool)?;
            f(&mut conn)
        })
        .await?
    }

    /// Like `db`, for a caller: confirms the caller's account first, in the same
    /// hop and connection (`Caller::confirm`).
    pub async fn db_as<T, F>(&self, caller: &Caller, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
    {
        self.db_for(&Principal::Token(caller.clone()), f).await
    }

    /// Like `write`, for a caller: the account is confirmed inside the
    /// transaction, so the change is made only by an account active when it
    /// commits.
    pub async fn write_as<T, F>(&self, caller: &Caller, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Clone + Send + 'static,
    {
        self.write_for(&Principal::Token(caller.clone()), f).await
    }

    /// Like `db_as`, for either kind of principal.
    pub async fn db_for<T, F>(&self, who: &Principal, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
    {
        let who = who.clone();
        self.db(move |conn| {
            who.confirm(conn)?;
            f(conn)
        })
        .await
    }

    /// Like `write_as`, for either kind of principal: the change is made only
    /// by one still good when it commits.
    pub async fn write_for<T, F>(&self, who: &Principal, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Clone + Send + 'static,
    {
        let who = who.clone();
        self.write(move |conn| {
            who.confirm(conn)?;
            f(conn)
        })
        .await
    }

    /// Confirms a caller whose request needs nothing else from the database.
    pub async fn confirm(&self, caller: &Caller) -> Result<(), Error> {
        self.db_as(caller, |_| Ok(())).await
    }

    /// Like `db`, inside one write transaction: all of `f` commits, or none of it.
    /// On SQLite the writer first waits for its turn, before it takes a connection.
    ///
    /// A change the database undid because of a fault outside mlat (a lost
    /// connection before `COMMIT`, a deadlock, a serialization failure:
    /// `db::retry`) is run once more on a connection that answers. That is
    /// why `f` is `Clone`: the second run starts from the same inputs. Work in
    /// `f` must therefore touch nothing but the database.
    pub async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Clone + Send + 'static,
    {
        let turn = self.writers.turn().await?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let done = crate::db::retry::write(&pool, f);
            drop(turn);
            done
        })
        .await?
    }
}
