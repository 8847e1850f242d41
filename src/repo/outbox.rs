//! The outbox: notifications written with the event that causes them.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use super::{Page, PageRequest};
use crate::db::schema::outbox;
use crate::db::{DbConn, new_id};
use crate::domain::messages::{MessageKind, MessageStatus};
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub dedupe_key: String,
    pub kind: MessageKind,
    pub request_id: Option<String>,
    pub recipient_user_id: Option<String>,
    pub recipient_email: String,
    pub subject: String,
    pub body: String,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: UtcTime,
    pub last_error: Option<String>,
    pub created_at: UtcTime,
    pub sent_at: Option<UtcTime>,
    /// A webhook delivery's endpoint (`recipient_email` then holds its URL,
    /// for the operator's list).
    pub webhook_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub dedupe_key: String,
    pub kind: MessageKind,
    pub request_id: Option<&'a str>,
    pub recipient_user_id: Option<&'a str>,
    pub recipient_email: &'a str,
    pub subject: String,
    pub body: String,
    pub webhook_id: Option<&'a str>,
}

/// Queues a message unless one with the same key exists; returns whether this
/// call queued it. Two writers racing (two watchers on one PostgreSQL) queue it
/// once.
pub fn enqueue(conn: &mut DbConn, m: &NewMessage<'_>) -> QueryResult<bool> {
    let now = UtcTime::now();
    let sql_sqlite = "INSERT OR IGNORE INTO outbox (id, dedupe_key, kind, request_id, recipient_user_id, \
        recipient_email, subject, body, status, attempts, next_attempt_at, created_at, webhook_id) \
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)";
    let sql_pg = "INSERT INTO outbox (id, dedupe_key, kind, request_id, recipient_user_id, \
        recipient_email, subject, body, status, attempts, next_attempt_at, created_at, webhook_id) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12) \
        ON CONFLICT (dedupe_key) DO NOTHING";
    macro_rules! insert {
        ($c:expr, $sql:expr) => {
            diesel::sql_query($sql)
                .bind::<Text, _>(new_id())
                .bind::<Text, _>(&m.dedupe_key)
                .bind::<Text, _>(m.kind)
                .bind::<Nullable<Text>, _>(m.request_id)
                .bind::<Nullable<Text>, _>(m.recipient_user_id)
                .bind::<Text, _>(m.recipient_email)
                .bind::<Text, _>(&m.subject)
                .bind::<Text, _>(&m.body)
                .bind::<Integer, _>(0)
                .bind::<Timestamp, _>(now)
                .bind::<Timestamp, _>(now)
                .bind::<Nullable<Text>, _>(m.webhook_id)
                .execute($c)
        };
    }
    let inserted = match conn {
        DbConn::Sqlite(c) => insert!(c, sql_sqlite)?,
        DbConn::Pg(c) => insert!(c, sql_pg)?,
    };
    Ok(inserted == 1)
}

/// Deadline reminders and misses for one person, newest first.
pub fn reminders_for(
    conn: &mut DbConn,
    user_id: &str,
    page: &PageRequest,
) -> QueryResult<Page<OutboxRow>> {
    let mut query = outbox::table
        .filter(outbox::recipient_user_id.eq(user_id))
        .filter(outbox::kind.eq_any([MessageKind::Reminder, MessageKind::DeadlineMissed]))
        .select(OutboxRow::as_select())
        .order(outbox::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(cursor) = &page.cursor {
        query = query.filter(outbox::id.lt(cursor.clone()));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_overfetch(rows, page.limit, |r| r.id.clone()))
}

/// Messages about accounts (invitations, links, notices) to one address,
/// oldest first.
pub fn about_accounts_to(conn: &mut DbConn, email: &str) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::kind.eq(MessageKind::Account))
        .filter(outbox::recipient_email.eq(email))
        .select(OutboxRow::as_select())
        .order(outbox::created_at)
        .then_order_by(outbox::id)
        .load(conn)
}

pub fn for_request(conn: &mut DbConn, request_id: &str) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::request_id.eq(request_id))
        .select(OutboxRow::as_select())
        .order(outbox::id)
        .load(conn)
}
