//! Delivering evidence: who may, when, and the record that goes with the file.

use serde_json::json;

use crate::db::{DbConn, lock_row, new_id};
use crate::domain::access::Viewer;
use crate::domain::audit::Actor;
use crate::domain::workflow::Status;
use crate::error::Error;
use crate::repo;
use crate::repo::evidence::EvidenceRow;
use crate::repo::requests::RequestRow;
use crate::store::{EvidenceStore, Reread};
use crate::time::UtcTime;

/// States in which the responder may deliver.
pub const OPEN_FOR_EVIDENCE: [Status; 3] =
    [Status::Transmitted, Status::Acknowledged, Status::Preserved];

/// A file already in the store, to be recorded against a request.
pub struct Delivered {
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
}

/// The request `id` if `viewer` may deliver to it now; `after_upload` says the
/// bytes already arrived (and will not be kept if the request moved on).
fn deliverable(
    conn: &mut DbConn,
    viewer: &Viewer,
    id: &str,
    after_upload: bool,
) -> Result<RequestRow, Error> {
    let row = repo::requests::get_visible(conn, viewer, id)?
        .ok_or_else(|| Error::not_found(format!("no request `{id}`")))?;
    match refusal(viewer, &row, after_upload) {
        Some(refused) => Err(refused),
        None => Ok(row),
    }
}

/// Why `viewer` may not deliver to `row` now, if it may not: the one rule
/// for every delivery and for the page that offers the upload.
fn refusal(viewer: &Viewer, row: &RequestRow, after_upload: bool) -> Option<Error> {
    if !viewer.relations(&row.access()).responder {
        return Some(Error::forbidden(
            "only the organisation the request is addressed to delivers evidence",
        ));
    }
    let status = row.status;
    (!OPEN_FOR_EVIDENCE.contains(&status)).then(|| {
        Error::conflict(if after_upload {
            format!("the request became {status} during the upload: nothing was kept")
        } else {
            format!(
                "evidence is delivered while a request is transmitted, acknowledged or preserved; this one is {status}"
            )
        })
    })
}

/// Whether `viewer` may deliver evidence to `row` as it stands.
pub fn open_to(viewer: &Viewer, row: &RequestRow) -> bool {
    refusal(viewer, row, false).is_none()
}

/// Checks that `viewer` may deliver to request `id` now, and returns how many
/// bytes it already holds.
pub fn may_deliver(conn: &mut DbConn, viewer: &Viewer, id: &str) -> Result<i64, Error> {
    let row = deliverable(conn, viewer, id, false)?;
    Ok(repo::evidence::total_size(conn, &row.id)?)
}

/// Records a stored file against request `id`, with its custody event. The
/// request is locked and checked again: it may have moved on while the bytes
/// arrived, and other deliveries may have used its allowance of `limit` bytes
/// meanwhile (parallel uploads are counted here, one at a time, under the lock).
pub fn record(
    conn: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    id: &str,
    file: Delivered,
    limit: u64,
) -> Result<EvidenceRow, Error> {
    lock_row(conn, "requests", "id", id)?;
    let request = deliverable(conn, viewer, id, true)?;
    keep(conn, viewer, actor, &request, file, None, limit)
}

/// The record of a file delivered on `request` (locked and checked by the
/// caller), within its allowance of `limit` bytes, with its custody event;
/// `relayed_from` names where a relayed file came from.
fn keep(
    conn: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    request: &RequestRow,
    file: Delivered,
    relayed_from: Option<serde_json::Value>,
    limit: u64,
) -> Result<EvidenceRow, Error> {
    let already = repo::evidence::total_size(conn, &request.id)?.max(0) as u64;
    if already + file.size.max(0) as u64 > limit {
        return Err(Error::too_large(format!(
            "evidence is limited to {limit} bytes per request; {already} are already delivered"
        )));
    }
    let row = EvidenceRow {
        id: new_id(),
        request_id: request.id.clone(),
        filename: file.filename,
        media_type: file.media_type,
        size: file.size,
        sha256: file.sha256,
        uploaded_by: viewer.user_id.clone(),
        uploader_organisation_id: viewer.organisation_id.clone().unwrap_or_default(),
        uploaded_at: UtcTime::now(),
    };
    repo::evidence::insert(conn, &row)?;
    let mut details = json!({ "sha256": row.sha256, "size": row.size, "filename": row.filename,
                              "media_type": row.media_type });
    if let Some(from) = relayed_from {
        details["relayed_from"] = from;
    }
    let event = repo::audit::append_for_request(
        conn,
        actor,
        &request.id,
        "evidence_uploaded",
        ("evidence", &row.id),
        details,
    )?;
    repo::requests::mark_acted(conn, &request.id, event.occurred_at)?;
    crate::service::webhooks::on_evidence(conn, request, &row.id, &event.id)?;
    Ok(row)
}

/// Passes a file a provider delivered on a domestic order on to the request
/// the order executes (`domain::execution`): the executing central authority
/// chooses what goes back to the issuing side. The same stored bytes, a new
/// record against `incoming_id`, and a custody event naming where they came
/// from. Checked as a delivery of the central authority's own.
pub fn relay(
    conn: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    incoming_id: &str,
    evidence_id: &str,
    limit: u64,
) -> Result<EvidenceRow, Error> {
    lock_row(conn, "requests", "id", incoming_id)?;
    let request = deliverable(conn, viewer, incoming_id, false)?;
    let not_an_answer = || {
        Error::field(
            "evidence_id",
            format!("`{evidence_id}` is not evidence delivered on an order executing this request"),
        )
    };
    let item = repo::evidence::get_visible(conn, viewer, evidence_id)?.ok_or_else(not_an_answer)?;
    let order = repo::requests::get(conn, &item.request_id)?
        .filter(|o| o.executes_id.as_deref() == Some(request.id.as_str()))
        .ok_or_else(not_an_answer)?;
    if repo::evidence::for_request(conn, &request.id)?
        .iter()
        .any(|e| e.sha256 == item.sha256)
    {
        return Err(Error::conflict(format!(
            "{} is already delivered on {}",
            item.filename, request.reference
        )));
    }
    let from = json!({ "order_reference": order.reference, "evidence_id": item.id });
    let file = Delivered {
        filename: item.filename,
        media_type: item.media_type,
        size: item.size,
        sha256: item.sha256,
    };
    keep(conn, viewer, actor, &request, file, Some(from), limit)
}

/// A stored file that does not match what was recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Damage {
    pub sha256: String,
    pub problem: String,
}

/// What `verify_all` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    pub files: usize,
    pub damage: Vec<Damage>,
    /// Files still stored in the clear (run `mlat evidence encrypt`).
    pub in_the_clear: usize,
}

/// Re-reads every recorded file, decrypting it, and hashes its plaintext;
/// returns what is missing or altered.
pub fn verify_all(conn: &mut DbConn, store: &EvidenceStore) -> Result<Checked, String> {
    let files = repo::evidence::all_hashes(conn).map_err(|e| e.to_string())?;
    let mut checked = Checked {
        files: files.len(),
        ..Default::default()
    };
    for (sha256, size) in &files {
        let problem = match store.reread(sha256).map_err(|e| e.to_string())? {
            Reread::Missing => Some("missing".to_owned()),
            Reread::Altered(reason) => Some(format!("altered: {reason}")),
            Reread::Read {
                sha256: actual,
                size: actual_size,
                sealed,
            } => {
                checked.in_the_clear += usize::from(!sealed);
                (actual != *sha256 || actual_size != *size as u64)
                    .then(|| format!("altered: now {actual_size} bytes hashing to {actual}"))
            }
        };
        if let Some(problem) = problem {
            checked.damage.push(Damage {
                sha256: sha256.clone(),
                problem,
            });
        }
    }
    Ok(checked)
}
