use super::paging::Items;
use crate::domain::legal_bases::LegalBasis;
use actix_web::{HttpResponse, web};

use crate::auth::Caller;
use crate::error::Error;
use crate::state::AppState;

/// The catalogue in force, disabled and unverified entries included so that
/// people can see what is missing and why.
#[utoipa::path(get, path = "/api/v1/legal-bases", tag = "reference", security(("bearer" = [])),
    responses((status = 200, description = "The catalogue of legal bases and their clocks", body = Items<LegalBasis>)))]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, Error> {
    state.confirm(&caller).await?;
    Ok(HttpResponse::Ok().json(Items::<LegalBasis>::of(
        state.catalogue.legal_bases.iter().cloned(),
    )))
}

#[utoipa::path(get, path = "/api/v1/legal-bases/{id}", tag = "reference", security(("bearer" = [])),
    params(("id" = String, Path, description = "A legal basis id, such as budapest-29", example = "budapest-29")),
    responses((status = 200, description = "The legal basis", body = LegalBasis)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    state.confirm(&caller).await?;
    let basis = state
        .catalogue
        .get(&id)
        .ok_or_else(|| Error::not_found(format!("no legal basis `{id}`")))?;
    Ok(HttpResponse::Ok().json(basis))
}

/// The membership lists the legal bases require of jurisdictions (Budapest
/// Parties, EU Member States and the opt-outs), dated and with their sources.
/// They are the defaults of a new jurisdiction; each jurisdiction's own list is
/// what the rules use, and administrators change it.
#[utoipa::path(get, path = "/api/v1/memberships", tag = "reference", security(("bearer" = [])),
    responses((status = 200, description = "The membership lists", body = crate::domain::reference::Memberships)))]
pub async fn memberships(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, Error> {
    state.confirm(&caller).await?;
    Ok(HttpResponse::Ok().json(crate::domain::reference::memberships()))
}
