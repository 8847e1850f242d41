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
