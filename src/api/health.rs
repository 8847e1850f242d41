use actix_web::{HttpResponse, web};
use diesel::RunQueryDsl;
use serde_json::json;

use super::error::ApiError;
use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .db(|conn| {
            diesel::sql_query("SELECT 1").execute(conn).map_err(|e| {
                tracing::error!(error = %e, "readiness check failed");
                ApiError::Unavailable("the database does not answer".into())
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}
