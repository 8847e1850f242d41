use actix_web::{HttpResponse, web};

use crate::auth::Caller;
use crate::error::Error;
use crate::repo;
use crate::state::AppState;

/// Recomputes every hash chain and reports the first broken event (admins).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "Whether every hash chain is intact (administrators)", body = crate::repo::audit::Verification)))]
pub async fn verify(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, Error> {
    caller.require_admin()?;
    let verification = state
        .db_as(&caller, |conn| Ok(repo::audit::verify_all(conn)?))
        .await?;
    if let Some(broken) = &verification.first_break {
        tracing::error!(chain = %broken.chain, event = ?broken.event_id, reason = %broken.reason,
            "audit trail verification failed");
    }
    Ok(HttpResponse::Ok().json(verification))
}
