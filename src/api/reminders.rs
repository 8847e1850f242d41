use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::paging::{PageOut, PageQuery};
use crate::auth::Caller;
use crate::domain::messages::{MessageKind, MessageStatus};
use crate::error::Error;
use crate::repo;
use crate::state::AppState;
use crate::time::UtcTime;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReminderOut {
    pub id: String,
    pub kind: MessageKind,
    pub request_id: Option<String>,
    pub subject: String,
    pub body: String,
    pub status: MessageStatus,
    pub created_at: UtcTime,
    pub sent_at: Option<UtcTime>,
}

/// The caller's own deadline reminders and missed-deadline notices, newest first.
#[utoipa::path(get, path = "/api/v1/reminders", tag = "deadlines", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "The caller's reminders and missed-deadline notices", body = PageOut<ReminderOut>)))]
pub async fn mine(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, Error> {
    let page = query.to_request()?;
    let user = caller.user_id.clone();
    let page = state
        .db_as(&caller, move |conn| {
            Ok(repo::outbox::reminders_for(conn, &user, &page)?)
        })
        .await?;
    Ok(
        HttpResponse::Ok().json(PageOut::from(page.map(|r| ReminderOut {
            id: r.id,
            kind: r.kind,
            request_id: r.request_id,
            subject: r.subject,
            body: r.body,
            status: r.status,
            created_at: r.created_at,
            sent_at: r.sent_at,
        }))),
    )
}
