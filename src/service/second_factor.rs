//! The second step of a sign-in: a code from the account's authenticator (or
//! one of its recovery codes), or, for an account that must have a factor
//! and has none, its enrolment. A right password only starts a challenge
//! (`sessions::authenticate`); each step here spends it.
//!
//! Wrong codes count toward the same lockout as wrong passwords (per account
//! and address), and a code is accepted once: the time step of the last one
//! accepted is kept with the factor, and spending it is a conditional update,
//! so two sign-ins racing with one code cannot both pass.

use chrono::Duration;
use serde::Serialize;

use crate::auth::tokens::{self, hash_secret};
use crate::auth::totp::{self, FactorSecret};
use crate::db::{DbConn, Pool, WriterQueue};
use crate::domain::audit::{Actor, user_chain};
use crate::domain::mfa::{Factor, Need};
use crate::error::Error;
use crate::repo;
use crate::repo::audit::NewEvent;
use crate::repo::factors::{ChallengeRow, FactorRow};
use crate::repo::users::{UserRow, UserWithOrganisation};
use crate::sealed::MasterKey;
use crate::service::sessions::{locked, record_failure, throttle_key};
use crate::time::UtcTime;

/// How long a challenge waits: long enough to find the phone, scan a code
/// and type it; short enough that a stolen one soon goes stale.
pub const CHALLENGE_TTL: Duration = Duration::minutes(10);

/// What a right password gets when a second step is needed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Challenge {
    /// `required`: send a code to `/auth/login/mfa`; `enrol`: the account
    /// must set up a factor first (`/auth/mfa/enrol`, then `/auth/mfa/confirm`).
    #[schema(example = "required")]
    pub mfa: &'static str,
    /// Opaque; spent by the step that completes the sign-in.
    pub challenge: String,
    /// Seconds the challenge stays valid.
    pub expires_in: i64,
}

/// A new enrolment: what an authenticator app is given.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// The secret in base32, to type into an app by hand (or give to
    /// `oathtool --totp -b`).
    pub secret: String,
    /// The same as an `otpauth://` URI, what the QR code holds.
    pub otpauth_uri: String,
}

/// Where an account's factor stands.
pub fn factor_of(conn: &mut DbConn, user_id: &str) -> Result<Factor, Error> {
    Ok(match repo::factors::find(conn, user_id)? {
        None => Factor::None,
        Some(row) if row.confirmed_at.is_none() => Factor::Pending,
        Some(_) => Factor::Confirmed,
    })
}

/// Starts a challenge for `user`; call in the sign-in's transaction.
pub fn challenge(
    conn: &mut DbConn,
    user: &UserRow,
    need: Need,
    via: &str,
    now: UtcTime,
) -> Result<Challenge, Error> {
    let token = tokens::new_secret().map_err(Error::internal)?;
    repo::factors::insert_challenge(
        conn,
        &ChallengeRow {
            id_hash: hash_secret(&token),
            user_id: user.id.clone(),
            need: need.as_str().to_owned(),
            via: via.to_owned(),
            expires_at: now + CHALLENGE_TTL,
        },
        now,
    )?;
    Ok(Challenge {
        mfa: match need {
            Need::Enrol => "enrol",
            Need::Code | Need::Nothing => "required",
        },
        challenge: token,
        expires_in: CHALLENGE_TTL.num_seconds(),
    })
}

const OVER: &str = "this sign-in has expired or is finished: sign in again with your password";

fn over() -> Error {
    Error::unauthenticated(OVER)
}

/// Whether a second step was refused because its challenge is over (rather
/// than for a wrong code): the person starts again from the password.
pub fn is_over(err: &Error) -> bool {
    matches!(err.kind(), crate::error::Kind::Unauthenticated(detail) if detail == OVER)
}

fn wrong_code() -> Error {
    Error::unauthenticated("the code is wrong, or was used already")
}

/// The associated data a factor's secret is sealed with: bound to its
/// account, so that a sealed secret copied to another account does not open.
pub fn context(user_id: &str) -> Vec<u8> {
    format!("second-factor:{user_id}").into_bytes()
}

fn open_secret(key: &MasterKey, row: &FactorRow) -> Result<FactorSecret, Error> {
    key.open_value(&context(&row.user_id), &row.secret_sealed)
        .map(FactorSecret::from_bytes)
        .map_err(|e| {
            Error::internal(format!(
                "the second factor of {} does not open with the factor key: {e}",
                row.user_id
            ))
        })
}

fn unix_seconds(now: UtcTime) -> u64 {
    chrono::DateTime::<chrono::Utc>::from(now)
        .timestamp()
        .max(0) as u64
}

enum Verdict<T> {
    Passed(T),
    Wrong,
    Locked(UtcTime),
    Over,
}

/// The frame of every second step: the challenge must be running and of
/// the `need` expected; the attempt is counted against the lockout before
/// `check` looks at the code; a pass spends the challenge, clears the count,
/// audits the sign-in and runs `then`, all in one transaction.
fn second_step<X, T>(
    pool: &Pool,
    writers: &WriterQueue,
    token: &str,
    from: std::net::IpAddr,
    need: Need,
    check: impl FnOnce(&mut DbConn, &UserRow, UtcTime) -> Result<Option<(X, serde_json::Value)>, Error>
    + Clone,
    then: impl FnOnce(&mut DbConn, &UserWithOrganisation, X) -> Result<T, Error> + Clone,
) -> Result<T, Error> {
    let hash = hash_secret(token);
    let now = UtcTime::now();
    let verdict = writers.write_pooled(pool, |conn| {
        let Some(challenge) = repo::factors::find_challenge(conn, &hash, now)? else {
            return Ok(Verdict::Over);
        };
        if Need::parse(&challenge.need) != Some(need) {
            return Err(Error::conflict(match need {
                Need::Enrol => "this sign-in waits for a code, not an enrolment: send the code to /api/v1/auth/login/mfa",
                _ => "this account has no second factor yet: enrol first (/api/v1/auth/mfa/enrol)",
            }));
        }
        let Some(account) = repo::users::find_active_with_organisation(conn, &challenge.user_id)?
        else {
            return Ok(Verdict::Over);
        };
        let throttled = throttle_key(&account.user.email, from);
        let throttle = repo::sessions::lock_throttle(conn, &throttled)?;
        if let Some(until) = throttle.locked_at(now) {
            return Ok(Verdict::Locked(until));
        }
        let (counted, outcome) = throttle.fail(now);
        let Some((passed, details)) = check(conn, &account.user, now)? else {
            repo::sessions::save_throttle(conn, &throttled, &counted)?;
            record_failure(conn, &account.user.email, Some(&account.user), "wrong_code", outcome)?;
            tracing::warn!(user_id = %account.user.id, %from, "second step failed: wrong code");
            return Ok(Verdict::Wrong);
        };
        if !repo::factors::spend_challenge(conn, &hash)? {
            return Err(over());
        }
        repo::sessions::save_throttle(conn, &throttled, &Default::default())?;
        let mut details = details;
        details["email"] = account.user.email.clone().into();
        details["via"] = challenge.via.clone().into();
        audit(conn, &account.user, "login", details)?;
        tracing::info!(user_id = %account.user.id, via = %challenge.via, "sign-in succeeded with a second factor");
        then(conn, &account, passed).map(Verdict::Passed)
    })?;
    match verdict {
        Verdict::Passed(out) => Ok(out),
        Verdict::Wrong => Err(wrong_code()),
        Verdict::Locked(until) => Err(locked(until, now)),
        Verdict::Over => Err(over()),
    }
}

fn audit(
    conn: &mut DbConn,
    user: &UserRow,
    action: &str,
    details: serde_json::Value,
) -> Result<(), Error> {
    repo::audit::append(
        conn,
        NewEvent {
            chain: user_chain(&user.id),
            actor: &Actor::user(&user.id, user.organisation_id.as_deref()),
            action,
            object_type: "user",
            object_id: Some(&user.id),
            request_id: None,
            details,
        },
    )?;
    Ok(())
}

/// Completes a sign-in with a code from the account's authenticator or one
/// of its recovery codes; `then` runs in the same transaction (`authenticate`).
pub fn complete<T>(
    pool: &Pool,
    writers: &WriterQueue,
    key: &MasterKey,
    token: &str,
    code: &str,
    from: std::net::IpAddr,
    then: impl FnOnce(&mut DbConn, &UserWithOrganisation) -> Result<T, Error> + Clone,
) -> Result<T, Error> {
    second_step(
        pool,
        writers,
        token,
        from,
        Need::Code,
        |conn, user, now| {
            let Some(factor) =
                repo::factors::find(conn, &user.id)?.filter(|f| f.confirmed_at.is_some())
            else {
                return Ok(None);
            };
            if totp::normalise_totp(code).is_some() {
                let secret = open_secret(key, &factor)?;
                let after = factor.last_step.map(|s| s.max(0) as u64);
                let Some(step) = secret.accepts(code, unix_seconds(now), after) else {
                    return Ok(None);
                };
                if !repo::factors::spend_step(conn, &user.id, step as i64)? {
                    return Ok(None);
                }
                return Ok(Some(((), serde_json::json!({ "second_factor": "totp" }))));
            }
            let Some(recovery) = totp::normalise_recovery_code(code) else {
                return Ok(None);
            };
            if !repo::factors::spend_recovery_code(conn, &user.id, &hash_secret(&recovery), now)? {
                return Ok(None);
            }
            let left = repo::factors::unused_recovery_codes(conn, &user.id)?;
            audit(
                conn,
                user,
                "recovery_code_used",
                serde_json::json!({ "recovery_codes_left": left }),
            )?;
            crate::service::account_mail::security_notice(
                conn,
                user,
                &format!(
                    "A recovery code was used to sign in to your mlat account; {left} are left. \
                     If you lost your phone, ask your organisation's administrator for a reset."
                ),
            )?;
            Ok(Some((
                (),
                serde_json::json!({ "second_factor": "recovery_code" }),
            )))
        },
        |conn, account, ()| then(conn, account),
    )
}

/// Begins (or shows again) the enrolment of an account that must have a
/// factor: a new secret, sealed, waiting for its first code. Asked again
/// within a challenge's life, it gives the same secret, so a page reloaded
/// after the app scanned it still matches.
pub fn begin_enrolment(
    pool: &Pool,
    writers: &WriterQueue,
    key: &MasterKey,
    token: &str,
) -> Result<Enrolment, Error> {
    let hash = hash_secret(token);
    let now = UtcTime::now();
    writers.write_pooled(pool, |conn| {
        let challenge = repo::factors::find_challenge(conn, &hash, now)?.ok_or_else(over)?;
        if Need::parse(&challenge.need) != Some(Need::Enrol) {
            return Err(Error::conflict(
                "this account has a second factor already: send a code to /api/v1/auth/login/mfa",
            ));
        }
        let account = repo::users::find_active_with_organisation(conn, &challenge.user_id)?
            .ok_or_else(over)?;
        let user = &account.user;
        let pending = repo::factors::find(conn, &user.id)?;
        let secret = match pending {
            Some(row) if row.confirmed_at.is_some() => {
                return Err(Error::conflict("this account has a second factor already"));
            }
            Some(row) if row.created_at + CHALLENGE_TTL > now => open_secret(key, &row)?,
            _ => {
                let secret = FactorSecret::generate().map_err(Error::internal)?;
                let sealed = key
                    .seal_value(&context(&user.id), secret.as_bytes())
                    .map_err(Error::internal)?;
                let row = FactorRow {
                    user_id: user.id.clone(),
                    secret_sealed: sealed,
                    confirmed_at: None,
                    last_step: None,
                    created_at: now,
                    pending_sealed: None,
                    pending_at: None,
                };
                if !repo::factors::begin(conn, &row)? {
                    return Err(Error::conflict("this account has a second factor already"));
                }
                audit(
                    conn,
                    user,
                    "second_factor_enrolment_begun",
                    serde_json::json!({}),
                )?;
                secret
            }
        };
        Ok(Enrolment {
            secret: secret.to_base32(),
            otpauth_uri: secret.otpauth_uri(&user.email).map_err(Error::internal)?,
        })
    })
}

/// Confirms an enrolment with the first code the app shows, and signs in:
/// `then` runs in the same transaction, and the account's ten recovery
/// codes come back beside what it made, to be shown once.
pub fn confirm_enrolment<T>(
    pool: &Pool,
    writers: &WriterQueue,
    key: &MasterKey,
    token: &str,
    code: &str,
    from: std::net::IpAddr,
    then: impl FnOnce(&mut DbConn, &UserWithOrganisation) -> Result<T, Error> + Clone,
) -> Result<(T, Vec<String>), Error> {
    second_step(
        pool,
        writers,
        token,
        from,
        Need::Enrol,
        |conn, user, now| {
            let factor = repo::factors::find(conn, &user.id)?
                .filter(|f| f.confirmed_at.is_none())
                .ok_or_else(|| {
                    Error::conflict(
                        "no enrolment has begun: ask for a secret first (/api/v1/auth/mfa/enrol)",
                    )
                })?;
            let secret = open_secret(key, &factor)?;
            let Some(step) = secret.accepts(code, unix_seconds(now), None) else {
                return Ok(None);
            };
            if !repo::factors::confirm(conn, &user.id, step as i64, now)? {
                return Ok(None);
            }
            let codes = put_in_force(conn, user, false)?;
            Ok(Some((
                codes,
                serde_json::json!({ "second_factor": "totp" }),
            )))
        },
        |conn, account, codes| then(conn, account).map(|made| (made, codes)),
    )
}

/// Gives an account a confirmed factor with `secret`, without a code: for
/// accounts the operator sets up on the server (the demo's), which print
/// their secret there. `actor` is recorded as having done it.
pub fn enrol_directly(
    conn: &mut DbConn,
    key: &MasterKey,
    user: &UserRow,
    secret: &FactorSecret,
    actor: &Actor,
    now: UtcTime,
) -> Result<(), Error> {
    let sealed = key
        .seal_value(&context(&user.id), secret.as_bytes())
        .map_err(Error::internal)?;
    let row = FactorRow {
        user_id: user.id.clone(),
        secret_sealed: sealed,
        confirmed_at: Some(now),
        last_step: None,
        created_at: now,
        pending_sealed: None,
        pending_at: None,
    };
    if !repo::factors::begin(conn, &row)? {
        return Err(Error::conflict("this account has a second factor already"));
    }
    repo::audit::append(
        conn,
        NewEvent {
            chain: user_chain(&user.id),
            actor,
            action: "second_factor_enrolled",
            object_type: "user",
            object_id: Some(&user.id),
            request_id: None,
            details: serde_json::json!({ "kind": "totp", "recovery_codes": 0, "set_up_on": "server" }),
        },
    )?;
    Ok(())
}

/// How a signed-in person proved they hold their current factor.
fn prove(
    conn: &mut DbConn,
    key: &MasterKey,
    factor: &FactorRow,
    code: &str,
    now: UtcTime,
) -> Result<Option<&'static str>, Error> {
    if totp::normalise_totp(code).is_some() {
        let secret = open_secret(key, factor)?;
        let after = factor.last_step.map(|s| s.max(0) as u64);
        return Ok(match secret.accepts(code, unix_seconds(now), after) {
            Some(step) if repo::factors::spend_step(conn, &factor.user_id, step as i64)? => {
                Some("totp")
            }
            _ => None,
        });
    }
    let Some(recovery) = totp::normalise_recovery_code(code) else {
        return Ok(None);
    };
    Ok(
        repo::factors::spend_recovery_code(conn, &factor.user_id, &hash_secret(&recovery), now)?
            .then_some("recovery_code"),
    )
}

/// Begins setting up a second factor for a signed-in person: a first one,
/// or a new phone in place of theirs. Replacing needs a code of the current
/// factor or one of its recovery codes (the way back from a lost phone); a
/// wrong one counts toward the sign-in lockout for the account and address.
/// The current factor keeps working until the new one is confirmed.
pub fn begin_own(
    pool: &Pool,
    writers: &WriterQueue,
    key: &MasterKey,
    user_id: &str,
    proof: Option<&str>,
    from: std::net::IpAddr,
) -> Result<Enrolment, Error> {
    let now = UtcTime::now();
    let verdict = writers.write_pooled(pool, |conn| -> Result<Verdict<Enrolment>, Error> {
        let user = repo::users::get(conn, user_id)?
            .filter(|u| u.active)
            .ok_or_else(|| Error::unauthenticated("the account is gone"))?;
        let factor = repo::factors::find(conn, user_id)?;
        let secret = FactorSecret::generate().map_err(Error::internal)?;
        let sealed = key
            .seal_value(&context(user_id), secret.as_bytes())
            .map_err(Error::internal)?;
        match factor {
            Some(factor) if factor.confirmed_at.is_some() => {
                let code = proof.ok_or_else(|| {
                    Error::field(
                        "code",
                        "give a code from your current authenticator, or one of your recovery codes",
                    )
                })?;
                let throttled = throttle_key(&user.email, from);
                let throttle = repo::sessions::lock_throttle(conn, &throttled)?;
                if let Some(until) = throttle.locked_at(now) {
                    return Ok(Verdict::Locked(until));
                }
                let (counted, outcome) = throttle.fail(now);
                let Some(how) = prove(conn, key, &factor, code, now)? else {
                    repo::sessions::save_throttle(conn, &throttled, &counted)?;
                    record_failure(conn, &user.email, Some(&user), "wrong_code", outcome)?;
                    return Ok(Verdict::Wrong);
                };
                repo::sessions::save_throttle(conn, &throttled, &Default::default())?;
                repo::factors::set_pending(conn, user_id, &sealed, now)?;
                audit(
                    conn,
                    &user,
                    "second_factor_replacement_begun",
                    serde_json::json!({ "proof": how }),
                )?;
            }
            _ => {
                repo::factors::remove(conn, user_id)?;
                repo::factors::begin(
                    conn,
                    &FactorRow {
                        user_id: user_id.to_owned(),
                        secret_sealed: sealed,
                        confirmed_at: None,
                        last_step: None,
                        created_at: now,
                        pending_sealed: None,
                        pending_at: None,
                    },
                )?;
                audit(conn, &user, "second_factor_enrolment_begun", serde_json::json!({}))?;
            }
        }
        Ok(Verdict::Passed(Enrolment {
            secret: secret.to_base32(),
            otpauth_uri: secret.otpauth_uri(&user.email).map_err(Error::internal)?,
        }))
    })?;
    match verdict {
        Verdict::Passed(enrolment) => Ok(enrolment),
        Verdict::Wrong => Err(Error::field(
            "code",
            "the code is wrong, or was used already",
        )),
        Verdict::Locked(until) => Err(locked(until, now)),
        Verdict::Over => Err(over()),
    }
}

/// Confirms what `begin_own` began with the first code of the new secret:
/// the new factor takes over, with ten new recovery codes (the old ones stop
/// working), shown this once. The holder is told by e-mail.
pub fn confirm_own(
    conn: &mut DbConn,
    key: &MasterKey,
    user: &UserRow,
    code: &str,
) -> Result<Vec<String>, Error> {
    let now = UtcTime::now();
    let factor = repo::factors::find(conn, &user.id)?;
    let (sealed, replacing) = match &factor {
        Some(f) if f.confirmed_at.is_none() => (f.secret_sealed.clone(), false),
        Some(f) if f.pending_sealed.is_some() => {
            (f.pending_sealed.clone().unwrap_or_default(), true)
        }
        _ => {
            return Err(Error::conflict(
                "nothing waits to be confirmed: begin setting up a factor first",
            ));
        }
    };
    let secret = key
        .open_value(&context(&user.id), &sealed)
        .map(FactorSecret::from_bytes)
        .map_err(Error::internal)?;
    let wrong = || Error::field("code", "that is not the code the new authenticator shows");
    let step = secret
        .accepts(code, unix_seconds(now), None)
        .ok_or_else(wrong)? as i64;
    let confirmed = if replacing {
        repo::factors::promote_pending(conn, &user.id, &sealed, step, now)?
    } else {
        repo::factors::confirm(conn, &user.id, step, now)?
    };
    if !confirmed {
        return Err(wrong());
    }
    put_in_force(conn, user, replacing)
}

/// What follows a new factor's first code: ten new recovery codes (the old
/// ones stop working), the enrolment on the trail, and the holder told.
fn put_in_force(conn: &mut DbConn, user: &UserRow, replaced: bool) -> Result<Vec<String>, Error> {
    let codes = totp::new_recovery_codes().map_err(Error::internal)?;
    let hashes: Vec<String> = codes
        .iter()
        .filter_map(|c| totp::normalise_recovery_code(c))
        .map(|c| hash_secret(&c))
        .collect();
    repo::factors::replace_recovery_codes(conn, &user.id, &hashes)?;
    audit(
        conn,
        user,
        "second_factor_enrolled",
        serde_json::json!({ "kind": "totp", "recovery_codes": hashes.len(), "replaced": replaced }),
    )?;
    crate::service::account_mail::security_notice(
        conn,
        user,
        if replaced {
            "A new authenticator app replaced the second factor of your mlat account; your old recovery codes no longer work."
        } else {
            "A second factor (an authenticator app) was set up for your mlat account."
        },
    )?;
    Ok(codes)
}
