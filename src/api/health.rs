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

/// Ready for traffic: started (migrations applied, keys loaded), the
/// database answers, and not draining.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "Ready: started, the database answers, not draining", body = Health),
        (status = 503, description = "Starting, draining, or the database does not answer", body = crate::api::error::Problem, content_type = "application/problem+json")))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    if state.lifecycle.is_draining() {
        return Err(Error::unavailable("draining: this instance is stopping"));
    }
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
