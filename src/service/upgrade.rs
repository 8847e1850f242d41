//! Bringing what is stored up to the rules this binary carries. Stored
//! deadlines are computed at a request's changes; when the rules themselves
//! change (the engine, the catalogue, the shipped calendars), every open
//! request's deadlines are recomputed, each change audited on the request's
//! chain, so that an upgrade never leaves a late date standing. Reference data
//! the new rules correct (memberships) is corrected the same way, audited on the
//! reference chain.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::db::schema::requests;
use crate::db::{DbConn, WriterQueue, lock_row};
use crate::domain::audit::{Actor, REFERENCE_CHAIN};
use crate::domain::deadlines::{Deadline, DeadlineKind, DeadlineStatus};
use crate::domain::legal_bases::Catalogue;
use crate::domain::reference::{
    HOLIDAYS_JSON, JurisdictionCode, MEMBERSHIPS_JSON, default_memberships,
};
use crate::domain::workflow::Status;
use crate::error::Error;
use crate::repo;
use crate::repo::audit::NewEvent;
use crate::service::deadlines::{self as clocks, Rules};
use crate::time::UtcTime;

/// The meaning of `domain::deadlines::compute`: changed whenever the same facts
/// would give other dates or statuses.
pub const ENGINE: &str = "2026-12-02 never-later preservation clocks";

const RULES_KEY: &str = "deadline_rules";
const CORRECTIONS_KEY: &str = "reference_corrections";
/// The reference-data corrections this release makes (see `correct_memberships`).
const CORRECTIONS: &str = "2026-12-02";

/// Requests in these states keep the deadlines they ended with.
const FINAL: [Status; 7] = [
    Status::Withdrawn,
    Status::Rejected,
    Status::Released,
    Status::Expired,
    Status::Fulfilled,
    Status::Refused,
    Status::Moved,
];

/// What the stored deadlines were computed under: the engine, the catalogue in
/// force and the shipped calendars and memberships.
pub fn fingerprint(catalogue: &Catalogue) -> String {
    let mut hash = Sha256::new();
    hash.update(ENGINE.as_bytes());
    hash.update(serde_json::to_vec(catalogue).expect("the catalogue serialises"));
    hash.update(HOLIDAYS_JSON.as_bytes());
    hash.update(MEMBERSHIPS_JSON.as_bytes());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What a recomputation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Recomputed {
    pub examined: usize,
    pub changed: usize,
    pub jurisdictions_corrected: usize,
}

/// At start: corrects reference data once per release, and recomputes every
/// open request's deadlines if the rules changed since they were stored. Safe
/// to run from several instances at once: each request is locked while it is
/// recomputed, and one recomputed under the same rules changes nothing.
pub fn bring_up_to_date(
    conn: &mut DbConn,
    writers: &WriterQueue,
    rules: &Rules<'_>,
) -> Result<Option<Recomputed>, Error> {
    let mut report = Recomputed::default();
    if repo::settings::get(conn, CORRECTIONS_KEY)?.as_deref() != Some(CORRECTIONS) {
        report.jurisdictions_corrected = correct_memberships(conn, writers)?;
        writers.write(conn, |conn| {
            repo::settings::put(conn, CORRECTIONS_KEY, CORRECTIONS).map_err(Error::from)
        })?;
    }
    let wanted = fingerprint(rules.catalogue);
    if repo::settings::get(conn, RULES_KEY)?.as_deref() == Some(wanted.as_str()) {
        return Ok((report != Recomputed::default()).then_some(report));
    }
    let done = recompute_all(conn, writers, rules, "the deadline rules changed")?;
    writers.write(conn, |conn| {
        repo::settings::put(conn, RULES_KEY, &wanted).map_err(Error::from)
    })?;
    Ok(Some(Recomputed {
        jurisdictions_corrected: report.jurisdictions_corrected,
        ..done
    }))
}

/// Recomputes the deadlines of every request not in a final state, one request
/// per transaction; a request whose deadlines change gets an audit event that
/// says what moved.
pub fn recompute_all(
    conn: &mut DbConn,
    writers: &WriterQueue,
    rules: &Rules<'_>,
    reason: &str,
) -> Result<Recomputed, Error> {
    recompute_open(conn, writers, rules, &Scope::All, reason)
}

/// Which open requests a change of reference data moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Issued from or executed in a jurisdiction whose calendar changed.
    Jurisdiction(String),
    /// Addressed to an organisation whose retention profile changed.
    Responder(String),
}

impl Scope {
    /// Its marker in `settings` (value: when it was set).
    fn key(&self) -> Option<String> {
        match self {
            Scope::All => None,
            Scope::Jurisdiction(code) => Some(format!("recompute:jurisdiction:{code}")),
            Scope::Responder(id) => Some(format!("recompute:responder:{id}")),
        }
    }

    fn of_key(key: &str) -> Option<Scope> {
        let rest = key.strip_prefix("recompute:")?;
        match rest.split_once(':')? {
            ("jurisdiction", code) => Some(Scope::Jurisdiction(code.to_owned())),
            ("responder", id) => Some(Scope::Responder(id.to_owned())),
            _ => None,
        }
    }

    fn reason(&self) -> String {
        match self {
            Scope::All => "the deadline rules changed".into(),
            Scope::Jurisdiction(code) => format!("the calendar of {code} changed"),
            Scope::Responder(_) => "the responder's retention profile changed".into(),
        }
    }
}

/// Records, in the transaction that changes reference data, that the
/// deadlines it moves are to be recomputed: if the process stops before that
/// is done, the watcher's next pass does it (`recompute_pending`).
pub fn mark_pending(conn: &mut DbConn, scope: &Scope, now: UtcTime) -> Result<(), Error> {
    if let Some(key) = scope.key() {
        repo::settings::put(conn, &key, &now.to_string())?;
    }
    Ok(())
}

/// Recomputes the open requests of every scope marked pending, then forgets
/// the mark (unless it was set again meanwhile). Returns what was done.
pub fn recompute_pending(
    conn: &mut DbConn,
    writers: &WriterQueue,
    rules: &Rules<'_>,
) -> Result<Vec<(Scope, Recomputed)>, Error> {
    let mut done = Vec::new();
    for (key, value) in repo::settings::with_prefix(conn, "recompute:")? {
        let Some(scope) = Scope::of_key(&key) else {
            continue;
        };
        let report = recompute_open(conn, writers, rules, &scope, &scope.reason())?;
        writers.write(conn, |conn| {
            repo::settings::clear_if(conn, &key, &value).map_err(Error::from)
        })?;
        done.push((scope, report));
    }
    Ok(done)
}

/// Recomputes the open requests in `scope`.
fn recompute_open(
    conn: &mut DbConn,
    writers: &WriterQueue,
    rules: &Rules<'_>,
    scope: &Scope,
    reason: &str,
) -> Result<Recomputed, Error> {
    let finals: Vec<&str> = FINAL.iter().map(|s| s.as_str()).collect();
    let mut report = Recomputed::default();
    let mut after = String::new();
    loop {
        let mut query = requests::table
            .filter(requests::id.gt(after.clone()))
            .filter(requests::status.ne_all(finals.clone()))
            .select(requests::id)
            .order(requests::id)
            .limit(500)
            .into_boxed();
        match scope {
            Scope::All => {}
            Scope::Jurisdiction(code) => {
                query = query.filter(
                    requests::issuing_jurisdiction
                        .eq(code.clone())
                        .or(requests::executing_jurisdiction.eq(code.clone())),
                );
            }
            Scope::Responder(id) => {
                query = query.filter(requests::responder_id.eq(id.clone()));
            }
        }
        let ids: Vec<String> = query.load(conn)?;
        let Some(last) = ids.last() else { break };
        after = last.clone();
        for id in ids {
            let changed = writers.write(conn, |conn| recompute_one(conn, rules, &id, reason))?;
            report.examined += 1;
            report.changed += usize::from(changed);
        }
    }
    Ok(report)
}

/// How one stored deadline reads, for the comparison and the audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Reading {
    due_at: UtcTime,
    status: DeadlineStatus,
    explanation: String,
}

fn recompute_one(
    conn: &mut DbConn,
    rules: &Rules<'_>,
    id: &str,
    reason: &str,
) -> Result<bool, Error> {
    lock_row(conn, "requests", "id", id)?;
    let Some(row) = repo::requests::get(conn, id)? else {
        return Ok(false);
    };
    let before: BTreeMap<DeadlineKind, Reading> = repo::deadlines::for_request(conn, id)?
        .into_iter()
        .map(|d| {
            (
                d.kind,
                Reading {
                    due_at: d.due_at,
                    status: d.status,
                    explanation: d.explanation,
                },
            )
        })
        .collect();
    let computed: Vec<Deadline> = clocks::compute(conn, rules, &row, UtcTime::now())?;
    let after: BTreeMap<DeadlineKind, Reading> = computed
        .iter()
        .map(|d| {
            (
                d.kind,
                Reading {
                    due_at: d.due_at,
                    status: d.status,
                    explanation: d.explanation.clone(),
                },
            )
        })
        .collect();
    if before == after {
        return Ok(false);
    }
    repo::deadlines::replace_for_request(conn, &row, &computed)?;
    let mut changes = Vec::new();
    for kind in before
        .keys()
        .chain(after.keys().filter(|k| !before.contains_key(*k)))
    {
        let (old, new) = (before.get(kind), after.get(kind));
        if old != new {
            changes.push(json!({
                "kind": kind,
                "from": old.map(|r| json!({ "due_at": r.due_at, "status": r.status })),
                "to": new.map(|r| json!({ "due_at": r.due_at, "status": r.status, "explanation": r.explanation })),
            }));
        }
    }
    repo::audit::append_for_request(
        conn,
        &Actor::system(),
        &row.id,
        "deadlines_recomputed",
        ("request", &row.id),
        json!({ "reason": reason, "engine": ENGINE, "changes": changes }),
    )?;
    Ok(true)
}

/// This release's corrections of jurisdictions' memberships, each audited:
/// Ireland is not a Party to the Budapest Convention (it signed, and had not
/// ratified on 8 October 2025); Parties the old list lacked gain `budapest`;
/// the memberships new in this release (`eu_2013_40`, `ets_030`) are added
/// where the shipped lists name the jurisdiction. Nothing an administrator
/// added is removed, but for Ireland's `budapest`.
fn correct_memberships(conn: &mut DbConn, writers: &WriterQueue) -> Result<usize, Error> {
    let codes: Vec<String> = crate::db::schema::jurisdictions::table
        .select(crate::db::schema::jurisdictions::code)
        .order(crate::db::schema::jurisdictions::code)
        .load(conn)?;
    let mut corrected = 0;
    for code in codes {
        let done = writers.write(conn, |conn| -> Result<bool, Error> {
            lock_row(conn, "jurisdictions", "code", &code)?;
            let Some(mut row) = repo::jurisdictions::get(conn, &code)? else {
                return Ok(false);
            };
            let before: Vec<String> =
                serde_json::from_str(&row.memberships).map_err(Error::internal)?;
            let defaults = JurisdictionCode::parse(&code)
                .map(|c| default_memberships(&c))
                .unwrap_or_default();
            let mut after = before.clone();
            if code == "IE" {
                after.retain(|m| m != "budapest");
            }
            for added in ["budapest", "eu_2013_40", "ets_030"] {
                if defaults.iter().any(|m| m == added) && !after.iter().any(|m| m == added) {
                    after.push(added.to_owned());
                }
            }
            if after == before {
                return Ok(false);
            }
            row.memberships = serde_json::to_string(&after).map_err(Error::internal)?;
            repo::jurisdictions::update(conn, &row)?;
            repo::audit::append(
                conn,
                NewEvent {
                    chain: REFERENCE_CHAIN.into(),
                    actor: &Actor::system(),
                    action: "jurisdiction_corrected",
                    object_type: "jurisdiction",
                    object_id: Some(&row.code),
                    request_id: None,
                    details: json!({
                        "memberships": { "from": before, "to": after },
                        "reason": "corrected to the dated membership lists shipped on 2026-12-02 (GET /api/v1/memberships)",
                    }),
                },
            )?;
            Ok(true)
        })?;
        corrected += usize::from(done);
    }
    Ok(corrected)
}
