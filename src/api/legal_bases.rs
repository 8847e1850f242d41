use actix_web::{HttpResponse, web};
use serde_json::json;

use super::error::ApiError;
use crate::auth::Caller;
use crate::state::AppState;

/// The catalogue in force, disabled and unverified entries included so that
/// people can see what is missing and why.
pub async fn list(state: web::Data<AppState>, _caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "items": state.catalogue.legal_bases }))
}

pub async fn get(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let basis = state
        .catalogue
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no legal basis `{id}`")))?;
    Ok(HttpResponse::Ok().json(basis))
}
