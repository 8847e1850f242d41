//! The outbox as administrators see it: messages by status, and a dead one
//! put back in the queue.

use diesel::prelude::*;
use serde_json::json;

use crate::db::DbConn;
use crate::db::schema::outbox;
use crate::domain::audit::{Actor, SYSTEM_CHAIN};
use crate::domain::messages::MessageStatus;
use crate::error::Error;
use crate::repo;
use crate::repo::audit::NewEvent;
use crate::repo::outbox::OutboxRow;
use crate::time::UtcTime;

/// Messages in `status`, oldest first, at most `limit`.
pub fn in_status(
    conn: &mut DbConn,
    status: MessageStatus,
    limit: i64,
) -> Result<Vec<OutboxRow>, Error> {
    Ok(outbox::table
        .filter(outbox::status.eq(status))
        .select(OutboxRow::as_select())
        .order(outbox::id)
        .limit(limit)
        .load(conn)?)
}

/// Puts a dead message back in the queue with its attempts reset, audited.
pub fn retry(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<OutboxRow, Error> {
    let now = UtcTime::now();
    let changed = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq(MessageStatus::Dead)),
    )
    .set((
        outbox::status.eq(MessageStatus::Pending),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(Error::not_found(format!("no dead message `{id}`")));
    }
    repo::audit::append(
        conn,
        NewEvent {
            chain: SYSTEM_CHAIN.into(),
            actor,
            action: "outbox_retried",
            object_type: "outbox",
            object_id: Some(id),
            request_id: None,
            details: json!({}),
        },
    )?;
    Ok(outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)?)
}
