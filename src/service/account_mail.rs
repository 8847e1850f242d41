//! E-mails about people's own accounts, queued in the outbox in the
//! transaction of what they report: invitations and reset links to the
//! holder, a new account to its organisation's administrators, and a notice
//! to the holder of every security change (so that a change they did not
//! make does not go unnoticed). Never a password, a code or a secret; a
//! link's token only in the message that carries the link.

use crate::db::{DbConn, new_id};
use crate::domain::messages::MessageKind;
use crate::error::Error;
use crate::repo;
use crate::repo::account_proposals::ProposalRow;
use crate::repo::outbox::NewMessage;
use crate::repo::users::UserRow;

fn queue(conn: &mut DbConn, to: &UserRow, subject: String, body: String) -> Result<(), Error> {
    repo::outbox::enqueue(
        conn,
        &NewMessage {
            dedupe_key: format!("account:{}:{}", to.id, new_id()),
            kind: MessageKind::Account,
            request_id: None,
            recipient_user_id: Some(&to.id),
            recipient_email: &to.email,
            subject,
            body,
            webhook_id: None,
        },
    )?;
    Ok(())
}

const LINK_PATH: &str = "/account/setup?token=";

/// A sent message's body with its link's token taken out: once the message
/// has left, the outbox need not hold a token that opens an account.
/// `None` when there is no link in it.
pub fn without_link_token(body: &str) -> Option<String> {
    let at = body.find(LINK_PATH)? + LINK_PATH.len();
    let end = body[at..]
        .find(char::is_whitespace)
        .map_or(body.len(), |n| at + n);
    Some(format!("{}(sent; not kept){}", &body[..at], &body[end..]))
}

fn link(public_url: &str, token: &str) -> String {
    format!("{}{LINK_PATH}{token}", public_url.trim_end_matches('/'))
}

/// The link that lets an invited person set their own password.
pub fn invitation(
    conn: &mut DbConn,
    to: &UserRow,
    organisation: Option<&str>,
    by: &UserRow,
    token: &str,
    valid_days: i64,
    public_url: &str,
) -> Result<(), Error> {
    let place = organisation.map_or_else(String::new, |o| format!(" at {o}"));
    queue(
        conn,
        to,
        "You are invited to mlat".into(),
        format!(
            "{by} invited you to mlat{place}, the service that tracks cross-border requests for \
             electronic evidence.\n\nChoose your password at this link within {valid_days} days; \
             it works once:\n\n{link}\n\nWhen you first sign in you will set up a code from an \
             authenticator app on your phone.\n\nIf you did not expect this, ignore this message \
             and tell your organisation's administrator.\n",
            by = by.name,
            link = link(public_url, token),
        ),
    )
}

/// A reset link, sent by an administrator.
pub fn reset(
    conn: &mut DbConn,
    to: &UserRow,
    by: &UserRow,
    token: &str,
    reset_factor: bool,
    public_url: &str,
) -> Result<(), Error> {
    let factor = if reset_factor {
        " Your second factor is removed too: you will set it up again when you next sign in."
    } else {
        ""
    };
    queue(
        conn,
        to,
        "Reset your mlat password".into(),
        format!(
            "{by} sent you a link to choose a new password for mlat. It works once, within one \
             hour, and ends every session of yours.{factor}\n\n{link}\n\nIf you did not ask for \
             this, ignore this message and tell your organisation's administrator.\n",
            by = by.name,
            link = link(public_url, token),
        ),
    )
}

/// Tells an organisation's administrators (but the one who did it) of a new
/// account in it.
pub fn announce_new_account(
    conn: &mut DbConn,
    account: &UserRow,
    organisation_id: &str,
    organisation: &str,
    by: &UserRow,
) -> Result<usize, Error> {
    let admins = repo::users::org_admins_of(conn, organisation_id)?;
    let mut told = 0;
    for admin in admins.iter().filter(|a| a.id != by.id) {
        queue(
            conn,
            admin,
            format!("New account at {organisation}: {}", account.name),
            format!(
                "{by} ({by_email}) created an account at {organisation} for {name} <{email}>, \
                 role {role}. The holder sets their own password from an invitation.\n\nIf this \
                 account should not exist, deactivate it in mlat.\n",
                by = by.name,
                by_email = by.email,
                name = account.name,
                email = account.email,
                role = account.role,
            ),
        )?;
        told += 1;
    }
    Ok(told)
}

/// Asks an organisation's administrators to approve an account the
/// platform administrator proposes in it. Returns how many were asked.
pub fn ask_approval(
    conn: &mut DbConn,
    proposal: &ProposalRow,
    organisation: &str,
    by: &UserRow,
) -> Result<usize, Error> {
    let admins = repo::users::org_admins_of(conn, &proposal.organisation_id)?;
    for admin in &admins {
        queue(
            conn,
            admin,
            format!("Approve an account at {organisation}? {}", proposal.name),
            format!(
                "{by} ({by_email}) asks for an account at {organisation} for {name} <{email}>,                  role {role}{admin_right}. Your organisation runs its own people, so the account                  is made only if one of its administrators approves it; the holder then sets                  their own password from an invitation.

Approve or decline it on your                  organisation's page in mlat before {expires}.
",
                by = by.name,
                by_email = by.email,
                name = proposal.name,
                email = proposal.email,
                role = proposal.role,
                admin_right = if proposal.org_admin {
                    ", as an administrator of the organisation"
                } else {
                    ""
                },
                expires = proposal.expires_at,
            ),
        )?;
    }
    Ok(admins.len())
}

/// Tells whoever proposed an account what became of it.
pub fn proposal_decided(
    conn: &mut DbConn,
    proposal: &ProposalRow,
    organisation: &str,
    by: &UserRow,
    decision: &str,
) -> Result<(), Error> {
    let Some(proposer) = repo::users::get(conn, &proposal.proposed_by)?.filter(|u| u.active) else {
        return Ok(());
    };
    let outcome = match decision {
        "approved" => "The holder is invited to set their own password.",
        _ => "No account was made.",
    };
    queue(
        conn,
        &proposer,
        format!("Account at {organisation} {decision}: {}", proposal.name),
        format!(
            "{by} {decision} the account you proposed at {organisation} for {name} <{email}>.              {outcome}
",
            by = by.name,
            name = proposal.name,
            email = proposal.email,
        ),
    )
}

/// Tells the holder of a change to the security of their account.
pub fn security_notice(conn: &mut DbConn, to: &UserRow, what: &str) -> Result<(), Error> {
    queue(
        conn,
        to,
        "A security change to your mlat account".into(),
        format!("{what}\n\nIf this was not you, tell your organisation's administrator at once.\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_link_keeps_no_token() {
        let body = format!(
            "Choose it here:\n\n{}\n\nThanks.\n",
            link("https://m.example/", "abc_DEF-123")
        );
        let kept = without_link_token(&body).unwrap();
        assert!(!kept.contains("abc_DEF-123"), "{kept}");
        assert!(kept.contains("https://m.example/account/setup?token=(sent; not kept)\n\nThanks."));
        assert_eq!(without_link_token("No link here."), None);
    }
}
