//! Appending to and reading the hash-chained audit trail.

use diesel::prelude::*;

use crate::db::schema::{audit_chains, audit_events};
use crate::db::{DbConn, lock_row, new_id};
use crate::domain::audit::{Actor, ChainBreak, Event, GENESIS, Head, compute_hash, verify_chain};
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditEventRow {
    pub id: String,
    pub chain: String,
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub occurred_at: UtcTime,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub request_id: Option<String>,
    pub details: String,
}

impl From<AuditEventRow> for Event {
    fn from(r: AuditEventRow) -> Self {
        Event {
            id: r.id,
            chain: r.chain,
            seq: r.seq,
            prev_hash: r.prev_hash,
            hash: r.hash,
            occurred_at: r.occurred_at,
            actor_id: r.actor_id,
            organisation_id: r.organisation_id,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            request_id: r.request_id,
            details: r.details,
        }
    }
}

impl From<Event> for AuditEventRow {
    fn from(e: Event) -> Self {
        AuditEventRow {
            id: e.id,
            chain: e.chain,
            seq: e.seq,
            prev_hash: e.prev_hash,
            hash: e.hash,
            occurred_at: e.occurred_at,
            actor_id: e.actor_id,
            organisation_id: e.organisation_id,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            request_id: e.request_id,
            details: e.details,
        }
    }
}

/// What to record; the chain position, time and hashes are added by `append`.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub chain: String,
    pub actor: &'a Actor,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub details: serde_json::Value,
}

/// Appends an event to its chain. Call inside `write_tx`: the chain's head row is
/// locked until the transaction ends, so concurrent appends queue rather than
/// fork the chain, and the event commits or rolls back with the change it records.
pub fn append(conn: &mut DbConn, new: NewEvent<'_>) -> QueryResult<AuditEventRow> {
    let chain = new.chain;
    match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "INSERT OR IGNORE INTO audit_chains (chain, head_seq, head_hash) VALUES (?, 0, ?)",
        )
        .bind::<diesel::sql_types::Text, _>(&chain)
        .bind::<diesel::sql_types::Text, _>(GENESIS)
        .execute(c)?,
        DbConn::Pg(c) => diesel::sql_query(
            "INSERT INTO audit_chains (chain, head_seq, head_hash) VALUES ($1, 0, $2) \
             ON CONFLICT (chain) DO NOTHING",
        )
        .bind::<diesel::sql_types::Text, _>(&chain)
        .bind::<diesel::sql_types::Text, _>(GENESIS)
        .execute(c)?,
    };
    lock_row(conn, "audit_chains", "chain", &chain)?;
    let (head_seq, head_hash) = audit_chains::table
        .find(&chain)
        .select((audit_chains::head_seq, audit_chains::head_hash))
        .first::<(i64, String)>(conn)?;
    let mut event = Event {
        id: new_id(),
        chain: chain.clone(),
        seq: head_seq + 1,
        prev_hash: head_hash,
        hash: String::new(),
        occurred_at: UtcTime::now(),
        actor_id: new.actor.user_id.clone(),
        organisation_id: new.actor.organisation_id.clone(),
        action: new.action.to_owned(),
        object_type: new.object_type.to_owned(),
        object_id: new.object_id.map(str::to_owned),
        request_id: new.request_id.map(str::to_owned),
        details: new.details.to_string(),
    };
    event.hash = compute_hash(&event);
    let row = AuditEventRow::from(event);
    diesel::insert_into(audit_events::table)
        .values(&row)
        .execute(conn)?;
    diesel::update(audit_chains::table.find(&chain))
        .set((
            audit_chains::head_seq.eq(row.seq),
            audit_chains::head_hash.eq(&row.hash),
        ))
        .execute(conn)?;
    Ok(row)
}

/// Appends to a request's own chain: what happened to it, or to something of it
/// (a deadline, an evidence item).
pub fn append_for_request(
    conn: &mut DbConn,
    actor: &Actor,
    request_id: &str,
    action: &str,
    object: (&str, &str),
    details: serde_json::Value,
) -> QueryResult<AuditEventRow> {
    append(
        conn,
        NewEvent {
            chain: crate::domain::audit::request_chain(request_id),
            actor,
            action,
            object_type: object.0,
            object_id: Some(object.1),
            request_id: Some(request_id),
            details,
        },
    )
}

pub fn for_chain(conn: &mut DbConn, chain: &str) -> QueryResult<Vec<AuditEventRow>> {
    audit_events::table
        .filter(audit_events::chain.eq(chain))
        .select(AuditEventRow::as_select())
        .order(audit_events::seq)
        .load(conn)
}

/// The outcome of verifying every chain.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    pub intact: bool,
    pub chains: usize,
    pub events: usize,
    pub first_break: Option<ChainBreak>,
}

/// Recomputes every chain, one at a time, and stops at the first break.
pub fn verify_all(conn: &mut DbConn) -> QueryResult<Verification> {
    let heads = audit_chains::table
        .select((
            audit_chains::chain,
            audit_chains::head_seq,
            audit_chains::head_hash,
        ))
        .order(audit_chains::chain)
        .load::<(String, i64, String)>(conn)?;
    let mut events_checked = 0;
    for (chain, seq, hash) in &heads {
        let events: Vec<Event> = for_chain(conn, chain)?
            .into_iter()
            .map(Event::from)
            .collect();
        let head = Head {
            chain: chain.clone(),
            seq: *seq,
            hash: hash.clone(),
        };
        match verify_chain(&head, &events) {
            Ok(n) => events_checked += n,
            Err(first_break) => {
                return Ok(Verification {
                    intact: false,
                    chains: heads.len(),
                    events: events_checked,
                    first_break: Some(first_break),
                });
            }
        }
    }
    // Events whose chain has no head row at all were inserted around `append`.
    let orphans: Vec<AuditEventRow> = audit_events::table
        .left_join(audit_chains::table)
        .filter(audit_chains::chain.nullable().is_null())
        .select(AuditEventRow::as_select())
        .order(audit_events::id)
        .limit(1)
        .load(conn)?;
    if let Some(orphan) = orphans.into_iter().next() {
        return Ok(Verification {
            intact: false,
            chains: heads.len(),
            events: events_checked,
            first_break: Some(ChainBreak {
                chain: orphan.chain,
                event_id: Some(orphan.id),
                seq: Some(orphan.seq),
                reason: "belongs to no recorded chain".into(),
            }),
        });
    }
    Ok(Verification {
        intact: true,
        chains: heads.len(),
        events: events_checked,
        first_break: None,
    })
}
