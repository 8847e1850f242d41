//! People running their organisation's accounts: invitations, reset links
//! and the link's use, under the rules of `domain::stewardship`. Nobody
//! chooses another person's password: an invited account has none anyone
//! knows until its holder sets one from the link e-mailed to them.

use chrono::Duration;

use crate::auth::tokens::{self, hash_secret};
use crate::db::{DbConn, Pool, WriterQueue};
use crate::domain::audit::{Actor, user_chain};
use crate::domain::reference::Role;
use crate::domain::stewardship::{self, AccountAct, InvitationRoute, Refusal, Scope, Steward};
use crate::domain::validation::Email;
use crate::error::Error;
use crate::repo;
use crate::repo::account_links::LinkRow;
use crate::repo::account_proposals::ProposalRow;
use crate::repo::audit::NewEvent;
use crate::repo::organisations::OrganisationRow;
use crate::repo::users::UserRow;
use crate::service::account_mail;
use crate::service::accounts::{self, NewUser};
use crate::time::UtcTime;

/// How long an invitation waits for its holder.
pub const INVITATION_DAYS: i64 = 7;
/// How long a reset link works.
pub const RESET_TTL: Duration = Duration::hours(1);

/// The account acting on others, read in the transaction of what it does.
pub fn steward(conn: &mut DbConn, user_id: &str) -> Result<UserRow, Error> {
    repo::users::get(conn, user_id)?
        .filter(|u| u.active)
        .ok_or_else(|| Error::unauthenticated("the account is gone"))
}

pub(crate) fn as_steward(row: &UserRow) -> Steward<'_> {
    Steward {
        role: row.role,
        organisation_id: row.organisation_id.as_deref(),
        org_admin: row.org_admin,
    }
}

/// Whose accounts `row` sees: 403 for someone who runs none.
pub fn scope_of(row: &UserRow) -> Result<Scope<'_>, Error> {
    match as_steward(row).scope() {
        Scope::Nothing => Err(Error::forbidden(
            "only an administrator runs accounts: ask your organisation's administrator",
        )),
        scope => Ok(scope),
    }
}

fn has_admin(conn: &mut DbConn, organisation: Option<&str>) -> Result<bool, Error> {
    Ok(match organisation {
        Some(org) => !repo::users::org_admins_of(conn, org)?.is_empty(),
        None => false,
    })
}

/// Refuses giving `role` unless `by` may (`domain::stewardship::may_give_role`).
pub fn check_role(by: &UserRow, role: Role) -> Result<(), Error> {
    stewardship::may_give_role(as_steward(by), role).map_err(|refusal| match refusal {
        Refusal::Forbidden(why) => Error::forbidden(why),
        Refusal::Unseen => Error::forbidden("not yours to give"),
    })
}

/// Refuses `act` on an account of `organisation` unless `by` may do it.
pub fn check(
    conn: &mut DbConn,
    by: &UserRow,
    act: AccountAct,
    organisation: Option<&str>,
    what: &str,
) -> Result<(), Error> {
    let has_admin = has_admin(conn, organisation)?;
    stewardship::may(as_steward(by), act, organisation, has_admin).map_err(
        |refusal| match refusal {
            Refusal::Unseen => Error::not_found(what.to_owned()),
            Refusal::Forbidden(why) => Error::forbidden(why),
        },
    )
}

/// An account as its steward may see it: another organisation's is not
/// found, as if it did not exist.
pub fn visible_account(conn: &mut DbConn, by: &UserRow, id: &str) -> Result<UserRow, Error> {
    let found = match scope_of(by)? {
        Scope::All => repo::users::get(conn, id)?,
        Scope::Organisation(org) => repo::users::get_in_organisation(conn, id, org)?,
        Scope::Nothing => None,
    };
    found.ok_or_else(|| Error::not_found(format!("no user `{id}`")))
}

/// A new link for `user`: its token, and its row recorded (earlier unused
/// links of the account stop working).
fn new_link(
    conn: &mut DbConn,
    user: &UserRow,
    purpose: &str,
    reset_factor: bool,
    by: &UserRow,
    valid: Duration,
    now: UtcTime,
) -> Result<(String, UtcTime), Error> {
    let token = tokens::new_secret().map_err(Error::internal)?;
    let expires_at = now + valid;
    repo::account_links::replace(
        conn,
        &LinkRow {
            id_hash: hash_secret(&token),
            user_id: user.id.clone(),
            purpose: purpose.to_owned(),
            reset_factor,
            created_by: Some(by.id.clone()),
            created_at: now,
            expires_at,
            used_at: None,
        },
    )?;
    Ok((token, expires_at))
}

/// A new account, invited.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub organisation_id: Option<String>,
    pub org_admin: bool,
}

/// A hash of 256 random bits nobody keeps: the password of an invited
/// account until its holder sets one, checked (and refused) at the same
/// cost as any other, so that a sign-in's timing does not tell it apart.
pub fn unusable_password_hash() -> Result<String, Error> {
    let secret = tokens::new_secret().map_err(Error::internal)?;
    accounts::hash_password(&secret)
}

/// What an invitation came to.
#[derive(Debug)]
pub enum Invited {
    /// The account, and when its invitation runs out.
    Account(UserRow, UtcTime),
    /// Proposed to the organisation's administrators, who run its people.
    Proposed(ProposalRow),
}

/// Brings a person in: invited at once (`invite_account`), or, where the
/// platform administrator asks for someone in an organisation that runs its
/// own people, proposed to its administrators (`service::proposals`).
pub fn invite(
    conn: &mut DbConn,
    by_id: &str,
    new: Invitation,
    unusable_hash: String,
    public_url: &str,
) -> Result<Invited, Error> {
    let by = steward(conn, by_id)?;
    let organisation = match &new.organisation_id {
        Some(id) => Some(repo::organisations::get(conn, id)?.ok_or_else(|| {
            Error::field("organisation_id", format!("no organisation `{id}` exists"))
        })?),
        None => None,
    };
    let has_admin = has_admin(conn, new.organisation_id.as_deref())?;
    let route =
        stewardship::invitation_route(as_steward(&by), new.organisation_id.as_deref(), has_admin)
            .map_err(|refusal| match refusal {
            Refusal::Unseen => Error::not_found(format!(
                "no organisation `{}`",
                new.organisation_id.as_deref().unwrap_or_default()
            )),
            Refusal::Forbidden(why) => Error::forbidden(why),
        })?;
    check_role(&by, new.role)?;
    if new.org_admin && new.organisation_id.is_none() {
        return Err(Error::field(
            "org_admin",
            "an organisation's administrator belongs to an organisation",
        ));
    }
    match (route, organisation) {
        (InvitationRoute::ThroughApproval, Some(organisation)) => {
            crate::service::proposals::propose(conn, &by, new, &organisation).map(Invited::Proposed)
        }
        (_, organisation) => {
            let (account, expires_at) = invite_account(
                conn,
                &by,
                new,
                organisation.as_ref(),
                unusable_hash,
                public_url,
                None,
            )?;
            Ok(Invited::Account(account, expires_at))
        }
    }
}

/// Makes the account, with no password anyone knows, and e-mails its holder
/// the link that lets them set one (valid seven days); the organisation's
/// administrators are told. `proposal` is the approved proposal it comes
/// from, if any. Returns the account and when the invitation runs out.
pub(crate) fn invite_account(
    conn: &mut DbConn,
    by: &UserRow,
    new: Invitation,
    organisation: Option<&OrganisationRow>,
    unusable_hash: String,
    public_url: &str,
    proposal: Option<&ProposalRow>,
) -> Result<(UserRow, UtcTime), Error> {
    let actor = Actor::user(&by.id, by.organisation_id.as_deref());
    let mut account = accounts::create_user(
        conn,
        &actor,
        NewUser {
            email: new.email,
            name: new.name,
            role: new.role,
            organisation_id: new.organisation_id.clone(),
            password_hash: unusable_hash,
        },
    )?;
    let now = UtcTime::now();
    if new.org_admin {
        repo::users::set_org_admin(conn, &account.id, true, now)?;
        account.org_admin = true;
    }
    let (token, expires_at) = new_link(
        conn,
        &account,
        "invitation",
        false,
        by,
        Duration::days(INVITATION_DAYS),
        now,
    )?;
    account_mail::invitation(
        conn,
        &account,
        organisation.map(|o| o.name.as_str()),
        by,
        &token,
        INVITATION_DAYS,
        public_url,
    )?;
    let announced = match organisation {
        Some(o) => account_mail::announce_new_account(conn, &account, &o.id, &o.name, by)?,
        None => 0,
    };
    repo::audit::append(
        conn,
        NewEvent {
            chain: user_chain(&account.id),
            actor: &actor,
            action: "invitation_sent",
            object_type: "user",
            object_id: Some(&account.id),
            request_id: None,
            details: serde_json::json!({
                "invited_by": by.id, "org_admin": account.org_admin,
                "expires_at": expires_at, "administrators_told": announced,
                "proposal": proposal.map(|p| p.id.as_str()),
                "proposed_by": proposal.map(|p| p.proposed_by.as_str()),
            }),
        },
    )?;
    tracing::info!(user_id = %account.id, by = %by.id, "account invited");
    Ok((account, expires_at))
}

/// Sends the holder of `id` a reset link (one hour); with `reset_factor`,
/// using it also removes the account's second factor, to be enrolled again.
pub fn send_reset(
    conn: &mut DbConn,
    by_id: &str,
    id: &str,
    reset_factor: bool,
    public_url: &str,
) -> Result<UtcTime, Error> {
    let by = steward(conn, by_id)?;
    let account = visible_account(conn, &by, id)?;
    check(
        conn,
        &by,
        AccountAct::Reset,
        account.organisation_id.as_deref(),
        &format!("no user `{id}`"),
    )?;
    if !account.active {
        return Err(Error::conflict(
            "the account is deactivated: reactivate it before sending it a link",
        ));
    }
    let now = UtcTime::now();
    let (token, expires_at) = new_link(conn, &account, "reset", reset_factor, &by, RESET_TTL, now)?;
    account_mail::reset(conn, &account, &by, &token, reset_factor, public_url)?;
    repo::audit::append(
        conn,
        NewEvent {
            chain: user_chain(&account.id),
            actor: &Actor::user(&by.id, by.organisation_id.as_deref()),
            action: "password_reset_sent",
            object_type: "user",
            object_id: Some(&account.id),
            request_id: None,
            details: serde_json::json!({ "reset_factor": reset_factor, "expires_at": expires_at }),
        },
    )?;
    Ok(expires_at)
}

fn link_over() -> Error {
    Error::field(
        "token",
        "this link has run out or was used already: ask your organisation's administrator for a new one",
    )
}

/// What an open link is for, to show its page.
pub fn open_link(conn: &mut DbConn, token: &str) -> Result<(LinkRow, UserRow), Error> {
    let now = UtcTime::now();
    let link =
        repo::account_links::find_open(conn, &hash_secret(token), now)?.ok_or_else(link_over)?;
    let user = repo::users::get(conn, &link.user_id)?
        .filter(|u| u.active)
        .ok_or_else(link_over)?;
    Ok((link, user))
}

/// Uses a link: the holder's new password (checked against the policy and
/// hashed first), every session and refresh token of the account ended, the
/// second factor removed if the reset said so, the link spent, the holder
/// told, all in one transaction.
pub fn use_link(
    pool: &Pool,
    writers: &WriterQueue,
    token: &str,
    new_password: &str,
) -> Result<(), Error> {
    let user = {
        let mut conn = pool.get()?;
        open_link(&mut conn, token)?.1
    };
    crate::domain::validation::password_policy(new_password, &[&user.email, &user.name])
        .map_err(|m| Error::field("new_password", m))?;
    let hash = accounts::hash_password(new_password)?;
    let id_hash = hash_secret(token);
    writers.write_pooled(pool, |conn| {
        let now = UtcTime::now();
        let (link, user) = open_link(conn, token)?;
        if !repo::account_links::spend(conn, &id_hash, now)? {
            return Err(link_over());
        }
        repo::users::set_password_hash(conn, &user.id, &hash, now)?;
        let revoked = repo::sessions::revoke_all_for_user(conn, &user.id, now)?;
        let ended = repo::portal_sessions::delete_all_for_user(conn, &user.id)?;
        repo::factors::delete_challenges_for_user(conn, &user.id)?;
        let factor_removed = link.reset_factor && repo::factors::remove(conn, &user.id)?;
        repo::audit::append(
            conn,
            NewEvent {
                chain: user_chain(&user.id),
                actor: &Actor::user(&user.id, user.organisation_id.as_deref()),
                action: "password_set",
                object_type: "user",
                object_id: Some(&user.id),
                request_id: None,
                details: serde_json::json!({
                    "via": link.purpose, "link_by": link.created_by,
                    "second_factor_removed": factor_removed,
                    "revoked_refresh_tokens": revoked, "ended_portal_sessions": ended,
                }),
            },
        )?;
        let what = match (link.purpose.as_str(), factor_removed) {
            ("invitation", _) => "Your mlat password was set from your invitation.".to_owned(),
            (_, true) => "Your mlat password was reset from a link, and your second factor removed: set it up again when you next sign in. Every session of yours ended.".to_owned(),
            _ => "Your mlat password was reset from a link. Every session of yours ended.".to_owned(),
        };
        account_mail::security_notice(conn, &user, &what)?;
        tracing::warn!(user_id = %user.id, via = %link.purpose, factor_removed, "password set from a link");
        Ok(())
    })
}

/// Whether `by` may change organisation `id`: the platform administrator
/// any; an organisation's administrator its own, but not its name (how
/// others know it).
pub fn may_change_organisation(by: &UserRow, id: &str, renames: bool) -> Result<(), Error> {
    if by.role == Role::Admin {
        return Ok(());
    }
    if !(by.org_admin && by.organisation_id.as_deref() == Some(id)) {
        return Err(Error::forbidden(
            "only the platform administrator or the organisation's own administrator changes it",
        ));
    }
    if renames {
        return Err(Error::forbidden(
            "an organisation's name is how others know it: ask the platform administrator to change it",
        ));
    }
    Ok(())
}
