use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::paging::Items;
use crate::auth::Caller;
use crate::domain::messages::{MessageKind, MessageStatus};
use crate::error::Error;
use crate::repo::outbox::OutboxRow;
use crate::state::AppState;
use crate::time::UtcTime;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// `pending`, `sending`, `sent` or `dead` (default).
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxOut {
    pub id: String,
    pub kind: MessageKind,
    pub request_id: Option<String>,
    pub recipient_email: String,
    pub subject: String,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: UtcTime,
    pub last_error: Option<String>,
    pub created_at: UtcTime,
    pub sent_at: Option<UtcTime>,
}

impl From<OutboxRow> for OutboxOut {
    fn from(r: OutboxRow) -> Self {
        OutboxOut {
            id: r.id,
            kind: r.kind,
            request_id: r.request_id,
            recipient_email: r.recipient_email,
            subject: r.subject,
            status: r.status,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            created_at: r.created_at,
            sent_at: r.sent_at,
        }
    }
}

/// Outbox messages by status (default: dead), oldest first, for administrators.
#[utoipa::path(get, path = "/api/v1/admin/outbox", tag = "admin", security(("bearer" = [])), params(OutboxQuery),
    responses((status = 200, description = "Outbox messages in that status, oldest first", body = Items<OutboxOut>)))]
pub async fn outbox(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, Error> {
    caller.require_admin()?;
    let status = match &query.status {
        None => MessageStatus::Dead,
        Some(text) => MessageStatus::parse(text).map_err(|e| Error::field("status", e))?,
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::field("limit", "must be from 1 to 200"));
    }
    let rows = state
        .db_as(&caller, move |conn| {
            crate::service::outbox::in_status(conn, status, limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items::<OutboxOut>::of(rows)))
}

/// Puts a dead message back in the queue, with its attempts reset.
#[utoipa::path(post, path = "/api/v1/admin/outbox/{id}/retry", tag = "admin", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "A dead outbox message")),
    responses((status = 200, description = "The message is queued again with its attempts reset", body = OutboxOut)))]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    caller.require_admin()?;
    let (actor, id) = (caller.actor(), id.into_inner());
    let row = state
        .write_as(&caller, move |conn| {
            crate::service::outbox::retry(conn, &actor, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OutboxOut::from(row)))
}
