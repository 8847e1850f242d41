//! Organisations' webhooks, and the deliveries queued for them.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{outbox, webhooks};
use crate::repo::outbox::OutboxRow;
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: String,
    pub organisation_id: String,
    pub url: String,
    /// JSON array of event names.
    pub events: String,
    /// The signing secret, sealed with the factor key.
    pub secret_sealed: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: UtcTime,
    pub removed_at: Option<UtcTime>,
}

pub fn insert(conn: &mut DbConn, row: &WebhookRow) -> QueryResult<()> {
    diesel::insert_into(webhooks::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The active webhooks of `organisation_id`, oldest first.
pub fn active_of(conn: &mut DbConn, organisation_id: &str) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table
        .filter(webhooks::organisation_id.eq(organisation_id))
        .filter(webhooks::active.eq(true))
        .select(WebhookRow::as_select())
        .order(webhooks::id)
        .load(conn)
}

/// A webhook of `organisation_id`, active or removed; another
/// organisation's is not found.
pub fn get_of(
    conn: &mut DbConn,
    organisation_id: &str,
    id: &str,
) -> QueryResult<Option<WebhookRow>> {
    webhooks::table
        .filter(webhooks::id.eq(id))
        .filter(webhooks::organisation_id.eq(organisation_id))
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<WebhookRow>> {
    webhooks::table
        .find(id)
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()
}

/// Removes a webhook if it is still active; returns whether this call did.
pub fn remove(conn: &mut DbConn, id: &str, at: UtcTime) -> QueryResult<bool> {
    diesel::update(
        webhooks::table
            .filter(webhooks::id.eq(id))
            .filter(webhooks::active.eq(true)),
    )
    .set((
        webhooks::active.eq(false),
        webhooks::removed_at.eq(Some(at)),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// The latest `limit` deliveries to a webhook, newest first.
pub fn deliveries(conn: &mut DbConn, id: &str, limit: i64) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::webhook_id.eq(id))
        .select(OutboxRow::as_select())
        .order(outbox::id.desc())
        .limit(limit)
        .load(conn)
}

/// Every webhook of `organisation_id`, removed ones included, oldest first.
pub fn of_organisation(conn: &mut DbConn, organisation_id: &str) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table
        .filter(webhooks::organisation_id.eq(organisation_id))
        .select(WebhookRow::as_select())
        .order(webhooks::id)
        .load(conn)
}

/// Every webhook's sealed secret, removed ones too (their past deliveries
/// may still be retried), for sealing them again under a new key.
pub fn all_sealed(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    webhooks::table
        .select((webhooks::id, webhooks::secret_sealed))
        .order(webhooks::id)
        .load(conn)
}

/// Replaces a webhook's sealed secret with the same secret sealed anew.
pub fn reseal(conn: &mut DbConn, id: &str, secret_sealed: &str) -> QueryResult<bool> {
    diesel::update(webhooks::table.find(id))
        .set(webhooks::secret_sealed.eq(secret_sealed))
        .execute(conn)
        .map(|n| n == 1)
}
