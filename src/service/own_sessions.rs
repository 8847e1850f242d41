//! A person's own sessions: the API's token families and the portal's
//! browser sessions that are still live, and ending one of them (a phone
//! left behind, a shared computer).

use serde::Serialize;

use crate::db::DbConn;
use crate::domain::audit::{Actor, user_chain};
use crate::domain::portal_sessions::{Standing, standing};
use crate::error::Error;
use crate::repo;
use crate::repo::audit::NewEvent;
use crate::service::accounts::Keep;
use crate::time::UtcTime;

/// One live session.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OwnSession {
    /// `api-…` (a token family) or `portal-…` (a browser).
    pub id: String,
    /// `api` or `portal`.
    pub kind: &'static str,
    pub started_at: UtcTime,
    /// The last sign of use: a token's rotation, a page seen.
    pub last_active_at: UtcTime,
    /// The session this list was asked through.
    pub current: bool,
}

const API: &str = "api-";
const PORTAL: &str = "portal-";

/// The live sessions of `user_id`, newest first.
pub fn list(conn: &mut DbConn, user_id: &str, this: &Keep) -> Result<Vec<OwnSession>, Error> {
    let now = UtcTime::now();
    let mut out: Vec<OwnSession> = repo::sessions::live_families(conn, user_id, now)?
        .into_iter()
        .map(|(family, started_at, last_active_at)| OwnSession {
            current: matches!(this, Keep::Family(f) if *f == family),
            id: format!("{API}{family}"),
            kind: "api",
            started_at,
            last_active_at,
        })
        .collect();
    out.extend(
        repo::portal_sessions::of_user(conn, user_id)?
            .into_iter()
            .filter(|s| standing(s.created_at, s.last_seen_at, now) != Standing::Expired)
            .map(|s| OwnSession {
                current: matches!(this, Keep::Portal(p) if *p == s.id_hash),
                id: format!("{PORTAL}{}", s.id_hash),
                kind: "portal",
                started_at: s.created_at,
                last_active_at: s.last_seen_at,
            }),
    );
    out.sort_by_key(|s| std::cmp::Reverse(s.started_at));
    Ok(out)
}

/// Ends one of `user_id`'s own sessions, audited; another person's, or one
/// that is not live, is not found.
pub fn end(conn: &mut DbConn, actor: &Actor, user_id: &str, id: &str) -> Result<(), Error> {
    let now = UtcTime::now();
    let ended = if let Some(family) = id.strip_prefix(API) {
        repo::sessions::revoke_own_family(conn, user_id, family, now)?
    } else if let Some(hash) = id.strip_prefix(PORTAL) {
        repo::portal_sessions::delete_own(conn, user_id, hash)?
    } else {
        false
    };
    if !ended {
        return Err(Error::not_found(format!(
            "no session `{id}` of yours is live"
        )));
    }
    repo::audit::append(
        conn,
        NewEvent {
            chain: user_chain(user_id),
            actor,
            action: "session_ended",
            object_type: "user",
            object_id: Some(user_id),
            request_id: None,
            details: serde_json::json!({ "kind": if id.starts_with(API) { "api" } else { "portal" } }),
        },
    )?;
    Ok(())
}
