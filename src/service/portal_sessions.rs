//! The web portal's sessions: opened at sign-in (inside its transaction),
//! found from the cookie on every page, closed at sign-out.

use crate::auth::tokens;
use crate::db::DbConn;
use crate::domain::audit::{Actor, user_chain};
use crate::domain::portal_sessions::{Standing, standing};
use crate::error::Error;
use crate::repo;
use crate::repo::audit::NewEvent;
use crate::repo::portal_sessions::PortalSessionRow;
use crate::repo::users::UserWithOrganisation;
use crate::time::UtcTime;

/// What the browser is given: the cookie's value and the token its forms carry.
#[derive(Debug, Clone)]
pub struct Opened {
    pub cookie: String,
    pub csrf_token: String,
}

/// A session that `find` found in use.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub account: UserWithOrganisation,
    pub csrf_token: String,
}

#[derive(Debug, Clone)]
pub enum Lookup {
    /// `mark_seen`: the caller records the view (`mark_seen`) in a write.
    Live {
        session: Box<Session>,
        mark_seen: bool,
    },
    /// The session ran out (or its account was deactivated): the caller ends
    /// it (`close`) and asks the person to sign in again.
    Over {
        id_hash: String,
    },
    Unknown,
}

/// A new session for `account`; call in the sign-in's transaction.
pub fn open(
    conn: &mut DbConn,
    account: &UserWithOrganisation,
    now: UtcTime,
) -> Result<Opened, Error> {
    let cookie = tokens::new_secret().map_err(Error::internal)?;
    let csrf_token = tokens::new_secret().map_err(Error::internal)?;
    repo::portal_sessions::insert(
        conn,
        &PortalSessionRow {
            id_hash: tokens::hash_secret(&cookie),
            user_id: account.user.id.clone(),
            csrf_token: csrf_token.clone(),
            created_at: now,
            last_seen_at: now,
        },
    )?;
    Ok(Opened { cookie, csrf_token })
}

/// The session a cookie names, read only.
pub fn find(conn: &mut DbConn, cookie: &str, now: UtcTime) -> Result<Lookup, Error> {
    let id_hash = tokens::hash_secret(cookie);
    let Some(row) = repo::portal_sessions::find(conn, &id_hash)? else {
        return Ok(Lookup::Unknown);
    };
    let account = repo::users::find_active_with_organisation(conn, &row.user_id)?;
    Ok(
        match (standing(row.created_at, row.last_seen_at, now), account) {
            (Standing::Live { mark_seen }, Some(account)) => Lookup::Live {
                session: Box::new(Session {
                    id_hash,
                    account,
                    csrf_token: row.csrf_token,
                }),
                mark_seen,
            },
            _ => Lookup::Over { id_hash },
        },
    )
}

/// Confirms, inside a change's transaction, that the session it is made
/// through is still open and its account still active and unchanged: a
/// sign-out or a deactivation since the page was asked for stops the change.
pub fn confirm(conn: &mut DbConn, session: &Session, now: UtcTime) -> Result<(), Error> {
    let over = || Error::unauthenticated("your session has ended: sign in again");
    let row = repo::portal_sessions::find(conn, &session.id_hash)?.ok_or_else(over)?;
    if matches!(
        standing(row.created_at, row.last_seen_at, now),
        Standing::Expired
    ) {
        return Err(over());
    }
    let account =
        repo::users::find_active_with_organisation(conn, &row.user_id)?.ok_or_else(over)?;
    fn same(a: &UserWithOrganisation) -> (&str, crate::domain::reference::Role, Option<&str>) {
        (
            a.user.id.as_str(),
            a.user.role,
            a.user.organisation_id.as_deref(),
        )
    }
    if same(&account) != same(&session.account) {
        return Err(over());
    }
    Ok(())
}

pub fn mark_seen(conn: &mut DbConn, id_hash: &str, now: UtcTime) -> Result<(), Error> {
    Ok(repo::portal_sessions::touch(conn, id_hash, now)?)
}

/// Ends a session; signing out is recorded on the person's trail, a session
/// that ran out is only removed.
pub fn close(conn: &mut DbConn, id_hash: &str, by: Option<&Actor>) -> Result<(), Error> {
    let Some(row) = repo::portal_sessions::find(conn, id_hash)? else {
        return Ok(());
    };
    repo::portal_sessions::delete(conn, id_hash)?;
    if let Some(actor) = by {
        repo::audit::append(
            conn,
            NewEvent {
                chain: user_chain(&row.user_id),
                actor,
                action: "logout",
                object_type: "user",
                object_id: Some(&row.user_id),
                request_id: None,
                details: serde_json::json!({ "via": "portal" }),
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reference::Role;
    use crate::domain::validation::Email;

    /// A change made through a session is confirmed inside its transaction:
    /// a sign-out, an expiry, a deactivation or a new role since the page
    /// was asked for each stop it.
    #[test]
    fn a_change_through_a_session_needs_the_session_and_the_account_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::db::DatabaseUrl::Sqlite(dir.path().join("t.db"));
        let mut conn = crate::db::conn::establish(&url).unwrap();
        crate::db::migrations::run_pending(&mut conn).unwrap();
        let user = crate::service::accounts::create_user(
            &mut conn,
            &Actor::system(),
            crate::service::accounts::NewUser {
                email: Email::parse("admin@example.org").unwrap(),
                name: "Admin".into(),
                role: Role::Admin,
                organisation_id: None,
                password_hash: "not used here".into(),
            },
        )
        .unwrap();
        let account = repo::users::find_active_with_organisation(&mut conn, &user.id)
            .unwrap()
            .unwrap();
        let now = UtcTime::now();
        let session_of = |conn: &mut DbConn| {
            let opened = open(conn, &account, now).unwrap();
            match find(conn, &opened.cookie, now).unwrap() {
                Lookup::Live { session, .. } => *session,
                other => panic!("{other:?}"),
            }
        };

        let session = session_of(&mut conn);
        confirm(&mut conn, &session, now).unwrap();
        // Signed out elsewhere.
        close(&mut conn, &session.id_hash, None).unwrap();
        assert!(confirm(&mut conn, &session, now).is_err());
        // Idle for too long.
        let session = session_of(&mut conn);
        let later = now + crate::domain::portal_sessions::IDLE;
        assert!(confirm(&mut conn, &session, later).is_err());
        // The account given another role.
        let mut changed = session.clone();
        changed.account.user.role = Role::Provider;
        assert!(confirm(&mut conn, &changed, now).is_err());
        // Deactivated.
        repo::users::set_active(&mut conn, &user.id, false, now).unwrap();
        assert!(confirm(&mut conn, &session, now).is_err());
    }
}
