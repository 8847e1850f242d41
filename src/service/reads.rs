//! What the issuing agency has not read yet: the requests its responders
//! acted on since each officer last opened them.

use crate::db::DbConn;
use crate::domain::access::Viewer;
use crate::domain::audit::request_chain;
use crate::error::Error;
use crate::repo;
use crate::repo::requests::RequestRow;
use crate::time::UtcTime;

pub struct Unread {
    pub request: RequestRow,
    /// When the responder last acted, and what it did.
    pub at: UtcTime,
    pub what: String,
    pub responder_name: String,
}

/// The agency's requests waiting to be read by `viewer` (an officer), the
/// latest first; nothing for anyone else.
pub fn waiting(conn: &mut DbConn, viewer: &Viewer, limit: i64) -> Result<Vec<Unread>, Error> {
    use crate::domain::reference::Role;
    let (Role::LiaisonOfficer, Some(agency)) = (viewer.role, &viewer.organisation_id) else {
        return Ok(Vec::new());
    };
    let rows = repo::reads::unread(conn, &viewer.user_id, agency, limit)?;
    let mut out = Vec::with_capacity(rows.len());
    for (request, at) in rows {
        let what = repo::audit::for_chain(conn, &request_chain(&request.id))?
            .into_iter()
            .rev()
            .find(|e| {
                e.organisation_id.as_deref() == Some(request.responder_id.as_str())
                    && e.action != "evidence_downloaded"
            })
            .map_or_else(String::new, |e| e.action);
        let responder_name = repo::organisations::get(conn, &request.responder_id)?
            .map_or_else(|| request.responder_id.clone(), |o| o.name);
        out.push(Unread {
            request,
            at,
            what,
            responder_name,
        });
    }
    Ok(out)
}

/// Whether `request` waits to be read by `viewer`: an officer of the
/// issuing agency, and the responder acted since the officer last opened it.
pub fn is_unread(conn: &mut DbConn, viewer: &Viewer, request: &RequestRow) -> Result<bool, Error> {
    if !viewer.relations(&request.access()).creator {
        return Ok(false);
    }
    let Some(acted) = repo::requests::acted_at(conn, &request.id)? else {
        return Ok(false);
    };
    let read = repo::reads::read_at(conn, &viewer.user_id, &request.id)?;
    Ok(read.is_none_or(|r| r < acted))
}

/// Records that `viewer` read request `id` now.
pub fn mark_read(conn: &mut DbConn, viewer: &Viewer, id: &str) -> Result<(), Error> {
    Ok(repo::reads::mark_read(
        conn,
        &viewer.user_id,
        id,
        UtcTime::now(),
    )?)
}
