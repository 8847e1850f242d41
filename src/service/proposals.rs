//! Accounts proposed to an organisation that runs its own people. The
//! platform administrator may ask for someone there, but no account exists
//! until one of the organisation's administrators approves it; then its
//! holder is invited like anyone else. So nobody outside an organisation
//! puts a person into it, and whoever asks does not also answer.

use chrono::Duration;

use crate::db::{DbConn, new_id};
use crate::domain::audit::{Actor, organisation_chain};
use crate::domain::reference::Role;
use crate::domain::stewardship::{self, ProposalAct, Refusal, Scope};
use crate::domain::validation::Email;
use crate::error::Error;
use crate::repo;
use crate::repo::account_proposals::ProposalRow;
use crate::repo::audit::NewEvent;
use crate::repo::organisations::OrganisationRow;
use crate::repo::users::UserRow;
use crate::repo::{Page, PageRequest};
use crate::service::account_mail;
use crate::service::stewardship::{Invitation, as_steward, invite_account, scope_of, steward};
use crate::time::UtcTime;

/// How long a proposal waits for the organisation's administrators.
pub const PROPOSAL_DAYS: i64 = 14;

fn taken(email: &str) -> Error {
    Error::conflict(format!("a user with e-mail `{email}` already exists"))
}

fn record(
    conn: &mut DbConn,
    by: &UserRow,
    proposal: &ProposalRow,
    action: &str,
    details: serde_json::Value,
) -> Result<(), Error> {
    repo::audit::append(
        conn,
        NewEvent {
            chain: organisation_chain(&proposal.organisation_id),
            actor: &Actor::user(&by.id, by.organisation_id.as_deref()),
            action,
            object_type: "account_proposal",
            object_id: Some(&proposal.id),
            request_id: None,
            details,
        },
    )?;
    Ok(())
}

/// Records the proposal and asks the organisation's administrators; the
/// rules that let `by` propose were checked by `stewardship::invite`.
pub(crate) fn propose(
    conn: &mut DbConn,
    by: &UserRow,
    new: Invitation,
    organisation: &OrganisationRow,
) -> Result<ProposalRow, Error> {
    new.role
        .fits(Some(organisation.kind))
        .map_err(|message| Error::field("role", message))?;
    // The platform's own powers are not an organisation's to approve.
    if new.role == Role::Admin {
        return Err(Error::field(
            "role",
            "a platform administrator is invited with no organisation, not proposed to one",
        ));
    }
    let now = UtcTime::now();
    if repo::users::find_by_email(conn, new.email.as_str())?.is_some() {
        return Err(taken(new.email.as_str()));
    }
    if repo::account_proposals::waiting_for(conn, new.email.as_str(), now)? {
        return Err(Error::conflict(format!(
            "an account for `{}` is already proposed and waits for its organisation's administrators",
            new.email.as_str()
        )));
    }
    let row = ProposalRow {
        id: new_id(),
        organisation_id: organisation.id.clone(),
        email: new.email.into_string(),
        name: new.name,
        role: new.role,
        org_admin: new.org_admin,
        proposed_by: by.id.clone(),
        proposed_at: now,
        expires_at: now + Duration::days(PROPOSAL_DAYS),
        decision: None,
        decided_by: None,
        decided_at: None,
        user_id: None,
    };
    repo::account_proposals::insert(conn, &row)?;
    let asked = account_mail::ask_approval(conn, &row, &organisation.name, by)?;
    record(
        conn,
        by,
        &row,
        "account_proposed",
        serde_json::json!({
            "email": row.email, "name": row.name, "role": row.role, "org_admin": row.org_admin,
            "expires_at": row.expires_at, "administrators_asked": asked,
        }),
    )?;
    tracing::info!(proposal = %row.id, organisation = %row.organisation_id, by = %by.id, "account proposed");
    Ok(row)
}

/// The proposals still waiting that `by_id` may see: its organisation's to
/// an organisation's administrator, every one to the platform administrator.
pub fn waiting(
    conn: &mut DbConn,
    by_id: &str,
    page: &PageRequest,
) -> Result<Page<ProposalRow>, Error> {
    let by = steward(conn, by_id)?;
    let organisation = match scope_of(&by)? {
        Scope::Organisation(org) => Some(org.to_owned()),
        _ => None,
    };
    Ok(repo::account_proposals::waiting(
        conn,
        organisation.as_deref(),
        UtcTime::now(),
        page,
    )?)
}

/// A proposal `by` may see, undecided and still running, and `by`'s right
/// to do `act` to it.
fn open_for(
    conn: &mut DbConn,
    by: &UserRow,
    id: &str,
    act: ProposalAct,
) -> Result<ProposalRow, Error> {
    let unseen = || Error::not_found(format!("no account proposal `{id}`"));
    let organisation = match scope_of(by).map_err(|_| unseen())? {
        Scope::Organisation(org) => Some(org.to_owned()),
        _ => None,
    };
    let proposal =
        repo::account_proposals::get(conn, id, organisation.as_deref())?.ok_or_else(unseen)?;
    stewardship::may_decide(
        as_steward(by),
        &by.id,
        act,
        &proposal.organisation_id,
        &proposal.proposed_by,
    )
    .map_err(|refusal| match refusal {
        Refusal::Unseen => unseen(),
        Refusal::Forbidden(why) => Error::forbidden(why),
    })?;
    if let Some(decision) = &proposal.decision {
        return Err(Error::conflict(format!(
            "this proposal was {decision} already"
        )));
    }
    if proposal.expires_at <= UtcTime::now() {
        return Err(Error::conflict(format!(
            "this proposal ran out at {}: the platform administrator may propose the account again",
            proposal.expires_at
        )));
    }
    Ok(proposal)
}

fn claim(
    conn: &mut DbConn,
    proposal: &ProposalRow,
    decision: &str,
    by: &UserRow,
) -> Result<UtcTime, Error> {
    let now = UtcTime::now();
    if !repo::account_proposals::decide(conn, &proposal.id, decision, &by.id, now)? {
        return Err(Error::conflict("someone decided this proposal first"));
    }
    Ok(now)
}

/// Approves a proposal: the account is made and its holder invited, in the
/// approving administrator's name. Returns the account and when its
/// invitation runs out.
pub fn approve(
    conn: &mut DbConn,
    by_id: &str,
    id: &str,
    unusable_hash: String,
    public_url: &str,
) -> Result<(UserRow, UtcTime), Error> {
    let by = steward(conn, by_id)?;
    let proposal = open_for(conn, &by, id, ProposalAct::Approve)?;
    claim(conn, &proposal, "approved", &by)?;
    let organisation = repo::organisations::get(conn, &proposal.organisation_id)?
        .ok_or_else(|| Error::internal("a proposal's organisation is gone"))?;
    if repo::users::find_by_email(conn, &proposal.email)?.is_some() {
        return Err(taken(&proposal.email));
    }
    let invitation = Invitation {
        email: Email::parse(&proposal.email).map_err(Error::internal)?,
        name: proposal.name.clone(),
        role: proposal.role,
        organisation_id: Some(proposal.organisation_id.clone()),
        org_admin: proposal.org_admin,
    };
    let (account, expires_at) = invite_account(
        conn,
        &by,
        invitation,
        Some(&organisation),
        unusable_hash,
        public_url,
        Some(&proposal),
    )?;
    repo::account_proposals::set_account(conn, &proposal.id, &account.id)?;
    record(
        conn,
        &by,
        &proposal,
        "account_proposal_approved",
        serde_json::json!({ "user_id": account.id, "proposed_by": proposal.proposed_by }),
    )?;
    account_mail::proposal_decided(conn, &proposal, &organisation.name, &by, "approved")?;
    Ok((account, expires_at))
}

/// Declines a proposal (one of the organisation's administrators) or
/// withdraws it (whoever proposed it): no account is made. Returns it as
/// decided.
pub fn decline(conn: &mut DbConn, by_id: &str, id: &str) -> Result<ProposalRow, Error> {
    let by = steward(conn, by_id)?;
    let withdraws =
        repo::account_proposals::get(conn, id, None)?.is_some_and(|p| p.proposed_by == by.id);
    let act = if withdraws {
        ProposalAct::Withdraw
    } else {
        ProposalAct::Decline
    };
    let mut proposal = open_for(conn, &by, id, act)?;
    let decision = if withdraws { "withdrawn" } else { "declined" };
    let now = claim(conn, &proposal, decision, &by)?;
    let organisation = repo::organisations::get(conn, &proposal.organisation_id)?
        .ok_or_else(|| Error::internal("a proposal's organisation is gone"))?;
    record(
        conn,
        &by,
        &proposal,
        if withdraws {
            "account_proposal_withdrawn"
        } else {
            "account_proposal_declined"
        },
        serde_json::json!({ "proposed_by": proposal.proposed_by }),
    )?;
    if !withdraws {
        account_mail::proposal_decided(conn, &proposal, &organisation.name, &by, decision)?;
    }
    proposal.decision = Some(decision.to_owned());
    proposal.decided_by = Some(by.id.clone());
    proposal.decided_at = Some(now);
    Ok(proposal)
}
