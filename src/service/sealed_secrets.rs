//! Rotating the factor key (`MLAT_FACTOR_KEY_FILE`): every secret it seals in
//! the database (each account's authenticator secret, a replacement waiting
//! for its first code, each webhook's signing secret) opened with the key in
//! use and sealed again with the new one, in one transaction with its audit
//! entry, so that a failure leaves every secret under the old key.

use serde::Serialize;

use crate::db::DbConn;
use crate::domain::audit::{Actor, SYSTEM_CHAIN};
use crate::error::Error;
use crate::repo;
use crate::repo::audit::NewEvent;
use crate::sealed::MasterKey;

/// How many secrets were sealed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Resealed {
    pub second_factors: usize,
    pub pending_replacements: usize,
    pub webhooks: usize,
}

/// Seals every secret again under `new`. Call inside a write transaction:
/// a secret that does not open with `old` (the wrong key configured, or a
/// rotation already done) stops it, naming the account or webhook, and the
/// transaction leaves everything as it was.
pub fn reseal_all(conn: &mut DbConn, old: &MasterKey, new: &MasterKey) -> Result<Resealed, Error> {
    if old.same_as(new) {
        return Err(Error::conflict(
            "the new key is the key in use: give a new key file (one that does not exist yet is created)",
        ));
    }
    let again = |context: &[u8], sealed: &str, whose: &dyn Fn() -> String| {
        let plain = old.open_value(context, sealed).map_err(|_| {
            Error::conflict(format!(
                "{} does not open with the key in use (MLAT_FACTOR_KEY_FILE): nothing was changed",
                whose()
            ))
        })?;
        new.seal_value(context, &plain).map_err(Error::internal)
    };
    let mut done = Resealed {
        second_factors: 0,
        pending_replacements: 0,
        webhooks: 0,
    };
    for (user_id, secret, pending) in repo::factors::all_sealed(conn)? {
        let context = super::second_factor::context(&user_id);
        let whose = || format!("the second factor of account {user_id}");
        let secret = again(&context, &secret, &whose)?;
        let pending = match pending {
            Some(sealed) => {
                done.pending_replacements += 1;
                Some(again(&context, &sealed, &|| {
                    format!("the replacement second factor of account {user_id}")
                })?)
            }
            None => None,
        };
        repo::factors::reseal(conn, &user_id, &secret, pending.as_deref())?;
        done.second_factors += 1;
    }
    for (id, secret) in repo::webhooks::all_sealed(conn)? {
        let context = super::webhooks::context(&id);
        let secret = again(&context, &secret, &|| format!("the secret of webhook {id}"))?;
        repo::webhooks::reseal(conn, &id, &secret)?;
        done.webhooks += 1;
    }
    repo::audit::append(
        conn,
        NewEvent {
            chain: SYSTEM_CHAIN.to_owned(),
            actor: &Actor::system(),
            action: "factor_key_rotated",
            object_type: "factor_key",
            object_id: None,
            request_id: None,
            details: serde_json::to_value(done).map_err(Error::internal)?,
        },
    )?;
    Ok(done)
}
