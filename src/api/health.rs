use actix_web::{HttpResponse, web};
use diesel::RunQueryDsl;
use serde::Serialize;

use crate::error::Error;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "The database answers", body = Health)))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    state
        .db(|conn| {
            diesel::sql_query("SELECT 1").execute(conn).map_err(|e| {
                tracing::error!(error = %e, "readiness check failed");
                Error::unavailable("the database does not answer")
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(Health { status: "ready" }))
}
