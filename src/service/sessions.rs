//! Sign-in, token rotation and sign-out.

use chrono::Utc;
use serde::Serialize;

use crate::auth::password;
use crate::auth::tokens::{self, ACCESS_TTL, Holder, REFRESH_TTL, TokenKeys};
use crate::db::{DbConn, Pool, WriterQueue, new_id};
use crate::domain::audit::{Actor, SYSTEM_CHAIN, user_chain};
use crate::domain::lockout::FailureOutcome;
use crate::domain::mfa::{self, MfaPolicy, Need};
use crate::domain::validation::Email;
use crate::error::Error;
use crate::repo;
use crate::repo::audit::NewEvent;
use crate::repo::sessions::RefreshTokenRow;
use crate::repo::users::{UserRow, UserWithOrganisation};
use crate::service::second_factor::{self, Challenge};
use crate::time::UtcTime;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

fn invalid_credentials() -> Error {
    Error::unauthenticated("the e-mail address or the password is wrong")
}

pub(crate) fn locked(until: UtcTime, now: UtcTime) -> Error {
    let seconds = (until - now).num_seconds().max(1) as u64;
    Error::too_many_attempts(
        format!(
            "too many failed sign-ins for this address: try again in {} minutes",
            seconds.div_ceil(60)
        ),
        seconds,
    )
}

fn issue_pair(
    conn: &mut DbConn,
    keys: &TokenKeys,
    holder: &Holder,
    family_id: &str,
) -> Result<TokenPair, Error> {
    let user_id = &holder.user_id;
    let now = Utc::now();
    let refresh_token = tokens::new_secret().map_err(Error::internal)?;
    repo::sessions::insert_refresh(
        conn,
        &RefreshTokenRow {
            id: new_id(),
            user_id: user_id.to_owned(),
            family_id: family_id.to_owned(),
            token_hash: tokens::hash_secret(&refresh_token),
            created_at: UtcTime::from(now),
            expires_at: UtcTime::from(now + REFRESH_TTL),
            revoked_at: None,
        },
    )?;
    let access_token = keys
        .issue(holder, family_id, now)
        .map_err(Error::internal)?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL.num_seconds(),
    })
}

/// Signs in. Every attempt is counted against the address *before* the password
/// is checked, so that parallel guesses cannot outrun the lockout; a success
/// clears the count. The same answers are given whether or not the address has
/// an account.
///
/// The password is checked between transactions and without a connection:
/// hashes wait for one of a few hashing threads (`auth::password`), and a burst
/// of sign-ins holding the pool's connections meanwhile would stall every
/// other request.
///
/// `via` names the door in the audit trail (`api`, `portal`); `then` runs in the
/// success's transaction with the account, to start what the door keeps (a
/// token family, a portal session), so that a crash leaves both or neither.
///
/// With a `policy`, an account with a second factor, or one the policy says
/// must have one, is not signed in: it gets a challenge for the second step
/// (`service::second_factor`), and the attempt stays counted until that step
/// passes, so that a known password does not reset the count of wrong codes.
/// Without one (a password re-checked for a change), the password suffices.
#[expect(
    clippy::too_many_arguments,
    reason = "each door gives its own account, address, policy and continuation"
)]
pub fn authenticate<T>(
    pool: &Pool,
    writers: &WriterQueue,
    email: &Email,
    password: &str,
    via: &str,
    from: std::net::IpAddr,
    policy: Option<&MfaPolicy>,
    then: impl FnOnce(&mut DbConn, &UserWithOrganisation) -> Result<T, Error> + Clone,
) -> Result<Passed<T>, Error> {
    let email = email.as_str();
    // Failures count per account and address: another address's failures
    // cannot lock the owner out (`auth::sign_in_limit` bounds each address).
    let throttled = throttle_key(email, from);
    let now = UtcTime::now();
    let (outcome, user) = writers
        .write_pooled(pool, |conn| {
            let throttle = repo::sessions::lock_throttle(conn, &throttled)?;
            if let Some(until) = throttle.locked_at(now) {
                return Err(locked(until, now));
            }
            let (counted, outcome) = throttle.fail(now);
            repo::sessions::save_throttle(conn, &throttled, &counted)?;
            Ok((outcome, repo::users::find_by_email(conn, email)?))
        })
        .inspect_err(|e| {
            if e.is_too_many_attempts() {
                tracing::warn!(email, %from, "sign-in refused: locked for this address");
            }
        })?;

    let valid = match &user {
        Some(user) => password::verify(password, &user.password_hash),
        None => {
            password::verify_dummy(password);
            false
        }
    };
    let user = match user {
        Some(user) if valid && user.active => user,
        other => {
            let reason = match &other {
                Some(_) if valid => "account_deactivated",
                Some(_) => "wrong_password",
                None => "unknown_address",
            };
            tracing::warn!(email, %from, reason, "sign-in failed");
            if outcome == FailureOutcome::LockedNow {
                tracing::warn!(
                    email,
                    %from,
                    "address locked for 15 minutes after 5 failed sign-ins from there"
                );
            }
            writers.write_pooled(pool, |conn| {
                record_failure(conn, email, other.as_ref(), reason, outcome)
            })?;
            return Err(invalid_credentials());
        }
    };
    let pair = writers.write_pooled(pool, |conn| {
        let need = match policy {
            Some(policy) => mfa::need(
                policy,
                user.role,
                second_factor::factor_of(conn, &user.id)?,
            ),
            None => Need::Nothing,
        };
        if need != Need::Nothing {
            let challenge = second_factor::challenge(conn, &user, need, via, now)?;
            repo::audit::append(
                conn,
                NewEvent {
                    chain: user_chain(&user.id),
                    actor: &Actor::user(&user.id, user.organisation_id.as_deref()),
                    action: "password_accepted",
                    object_type: "user",
                    object_id: Some(&user.id),
                    request_id: None,
                    details: serde_json::json!({ "email": email, "via": via, "next": need.as_str() }),
                },
            )?;
            return Ok(Passed::Challenged(challenge));
        }
        repo::sessions::lock_throttle(conn, &throttled)?;
        repo::sessions::save_throttle(conn, &throttled, &Default::default())?;
        let actor = Actor::user(&user.id, user.organisation_id.as_deref());
        repo::audit::append(
            conn,
            NewEvent {
                chain: user_chain(&user.id),
                actor: &actor,
                action: "login",
                object_type: "user",
                object_id: Some(&user.id),
                request_id: None,
                details: serde_json::json!({ "email": email, "via": via }),
            },
        )?;
        // The account with its organisation, as the token will describe it.
        let account = repo::users::find_active_with_organisation(conn, &user.id)?
            .ok_or_else(invalid_credentials)?;
        then(conn, &account).map(Passed::SignedIn)
    })?;
    match &pair {
        Passed::SignedIn(_) => tracing::info!(email, user_id = %user.id, via, "sign-in succeeded"),
        Passed::Challenged(c) => {
            tracing::info!(email, user_id = %user.id, via, mfa = c.mfa, "password accepted: second step next")
        }
    }
    Ok(pair)
}

/// What a right password leads to.
#[derive(Debug)]
pub enum Passed<T> {
    SignedIn(T),
    /// A second step is needed first.
    Challenged(Challenge),
}

impl<T> Passed<T> {
    /// What a password re-checked without a policy gave.
    pub fn signed_in(self) -> Result<T, Error> {
        match self {
            Passed::SignedIn(made) => Ok(made),
            Passed::Challenged(_) => Err(Error::internal("a second step where none was asked")),
        }
    }
}

/// The lockout's key: the account's e-mail and the address tried from.
pub(crate) fn throttle_key(email: &str, from: std::net::IpAddr) -> String {
    format!("{email} from {from}")
}

/// Signs in through the API: a new token family (`authenticate`), or the
/// challenge of its second step.
pub fn login(
    pool: &Pool,
    writers: &WriterQueue,
    keys: &TokenKeys,
    policy: &MfaPolicy,
    email: &Email,
    password: &str,
    from: std::net::IpAddr,
) -> Result<Passed<TokenPair>, Error> {
    authenticate(
        pool,
        writers,
        email,
        password,
        "api",
        from,
        Some(policy),
        |conn, account| start_family(conn, keys, account),
    )
}

/// A new token family for a signed-in account.
pub fn start_family(
    conn: &mut DbConn,
    keys: &TokenKeys,
    account: &UserWithOrganisation,
) -> Result<TokenPair, Error> {
    issue_pair(conn, keys, &Holder::of(account), &new_id())
}

/// Audits a failed sign-in, and the lockout it caused, on the account's chain
/// (or the system chain for an address with no account).
pub(crate) fn record_failure(
    conn: &mut DbConn,
    email: &str,
    user: Option<&UserRow>,
    reason: &str,
    outcome: FailureOutcome,
) -> Result<(), Error> {
    let (chain, actor) = match user {
        Some(user) => (
            user_chain(&user.id),
            Actor::user(&user.id, user.organisation_id.as_deref()),
        ),
        None => (SYSTEM_CHAIN.to_owned(), Actor::system()),
    };
    let object_id = user.map(|u| u.id.as_str());
    repo::audit::append(
        conn,
        NewEvent {
            chain: chain.clone(),
            actor: &actor,
            action: "login_failed",
            object_type: "user",
            object_id,
            request_id: None,
            details: serde_json::json!({ "email": email, "reason": reason }),
        },
    )?;
    if outcome == FailureOutcome::LockedNow {
        repo::audit::append(
            conn,
            NewEvent {
                chain,
                actor: &actor,
                action: "lockout",
                object_type: "user",
                object_id,
                request_id: None,
                details: serde_json::json!({ "email": email, "minutes": 15 }),
            },
        )?;
    }
    Ok(())
}

enum Rotation {
    Rotated(TokenPair),
    Reused { user_id: String },
    Refused,
}

/// Exchanges a refresh token for a new pair; the old one stops working. Presenting
/// a token that was already rotated revokes its whole family, since one of the two
/// holders is not the user.
pub fn refresh(
    pool: &Pool,
    writers: &WriterQueue,
    keys: &TokenKeys,
    token: &str,
) -> Result<TokenPair, Error> {
    let hash = tokens::hash_secret(token);
    let now = UtcTime::now();
    let rotation = writers.write_pooled(pool, |conn| {
        let Some(row) = repo::sessions::find_refresh(conn, &hash)? else {
            return Ok(Rotation::Refused);
        };
        if row.revoked_at.is_some() {
            let revoked = repo::sessions::revoke_family(conn, &row.family_id, now)?;
            repo::audit::append(
                conn,
                NewEvent {
                    chain: user_chain(&row.user_id),
                    actor: &Actor::system(),
                    action: "refresh_token_reused",
                    object_type: "user",
                    object_id: Some(&row.user_id),
                    request_id: None,
                    details: serde_json::json!({ "family": row.family_id, "revoked": revoked }),
                },
            )?;
            return Ok(Rotation::Reused {
                user_id: row.user_id,
            });
        }
        let account = repo::users::find_active_with_organisation(conn, &row.user_id)?;
        let Some(account) = account.filter(|_| row.expires_at > now) else {
            return Ok(Rotation::Refused);
        };
        if !repo::sessions::revoke_refresh(conn, &row.id, now)? {
            return Ok(Rotation::Refused);
        }
        issue_pair(conn, keys, &Holder::of(&account), &row.family_id).map(Rotation::Rotated)
    })?;
    match rotation {
        Rotation::Rotated(pair) => Ok(pair),
        Rotation::Reused { user_id } => {
            tracing::warn!(%user_id, "a rotated refresh token was reused: its family is revoked");
            Err(refused())
        }
        Rotation::Refused => Err(refused()),
    }
}

fn refused() -> Error {
    Error::unauthenticated("the refresh token is invalid, expired or revoked")
}

/// Revokes a refresh token; unknown or already revoked tokens are not an error.
pub fn logout(pool: &Pool, writers: &WriterQueue, token: &str) -> Result<(), Error> {
    let hash = tokens::hash_secret(token);
    let now = UtcTime::now();
    writers.write_pooled(pool, |conn| {
        if let Some(row) = repo::sessions::find_refresh(conn, &hash)?
            && repo::sessions::revoke_refresh(conn, &row.id, now)?
        {
            repo::audit::append(
                conn,
                NewEvent {
                    chain: user_chain(&row.user_id),
                    actor: &Actor::user(&row.user_id, None),
                    action: "logout",
                    object_type: "user",
                    object_id: Some(&row.user_id),
                    request_id: None,
                    details: serde_json::json!({}),
                },
            )?;
            tracing::info!(user_id = %row.user_id, "signed out");
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    /// A sign-in whose password waits for a hashing thread holds none of the
    /// pool's connections meanwhile: with a pool of one, the connection is free
    /// for every other request until the hash has run. The hashers are held,
    /// not raced, so the sign-in is certain to be waiting when the pool is
    /// looked at.
    #[test]
    fn a_sign_in_holds_no_connection_while_its_password_waits_for_a_hasher() {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::db::DatabaseUrl::Sqlite(dir.path().join("t.db"));
        let pool = crate::db::pool::build(&url, 1, true, Default::default()).unwrap();
        let email = Email::parse("admin@example.org").unwrap();
        let password = "a password of some length";
        {
            let mut conn = pool.get().unwrap();
            crate::db::migrations::run_pending(&mut conn).unwrap();
            crate::service::accounts::create_user(
                &mut conn,
                &Actor::system(),
                crate::service::accounts::NewUser {
                    email: email.clone(),
                    name: "Admin".into(),
                    role: crate::domain::reference::Role::Admin,
                    organisation_id: None,
                    password_hash: password::hash(password).unwrap(),
                },
            )
            .unwrap();
        }
        let keys = TokenKeys::load(&dir.path().join("token.pem"), true).unwrap();
        let writers = WriterQueue::new(url.backend(), crate::db::writers::PATIENCE);
        let for_sign_in = std::sync::Arc::new((pool.clone(), writers, keys));

        let held = password::hold_every_hasher();
        let signing_in = std::thread::spawn({
            let (shared, email) = (for_sign_in.clone(), email.clone());
            move || {
                let (pool, writers, keys) = &*shared;
                login(
                    pool,
                    writers,
                    keys,
                    &MfaPolicy::none(),
                    &email,
                    password,
                    LOOPBACK,
                )
            }
        });
        // The attempt is counted in the sign-in's first transaction, before the
        // password is checked; with every hasher held, it then waits.
        let failures = || {
            use crate::db::schema::login_throttle;
            use diesel::prelude::*;
            // The only connection; while the sign-in held it, nothing is counted.
            let mut conn = pool.try_get()?;
            login_throttle::table
                .find(throttle_key(email.as_str(), LOOPBACK))
                .select(login_throttle::failures)
                .first::<i32>(&mut *conn)
                .optional()
                .unwrap()
        };
        // Polled, for at most 10 s: the sign-in thread gives no other sign.
        let counted = (0..1_000).any(|_| {
            failures() == Some(1) || {
                std::thread::sleep(std::time::Duration::from_millis(10));
                false
            }
        });
        assert!(
            counted,
            "the sign-in never counted its attempt, or it holds the only connection"
        );
        assert!(
            !signing_in.is_finished(),
            "the password was checked without a hasher"
        );
        let now = pool.state();
        assert_eq!(
            (now.connections, now.idle_connections),
            (1, 1),
            "the waiting sign-in holds a connection"
        );
        let mut conn = pool.get().expect("a connection while the sign-in waits");
        assert!(
            repo::users::find_by_email(&mut conn, email.as_str())
                .unwrap()
                .is_some()
        );
        drop(conn);

        drop(held);
        let pair = signing_in
            .join()
            .unwrap()
            .expect("the sign-in succeeds once hashed")
            .signed_in()
            .unwrap();
        assert!(!pair.access_token.is_empty());
    }
}
