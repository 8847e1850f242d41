//! Accounts proposed to an organisation that runs its own people, as the
//! two sides see them: its administrators approve or decline them on
//! `/organisation`, the platform administrator withdraws its own on
//! `/admin/accounts`, through `service::proposals`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};

use super::{Failure, Visitor, words};
use crate::error::Error;
use crate::service::proposals;
use crate::state::AppState;

/// One proposal as a row of a page.
pub(super) struct ProposalLine {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub organisation: String,
    pub org_admin: bool,
    pub expires: String,
}

/// The proposals still waiting that the visitor sees.
pub(super) async fn waiting(
    state: &web::Data<AppState>,
    visitor: &Visitor,
) -> Result<Vec<ProposalLine>, Failure> {
    let by = visitor.session.account.user.id.clone();
    Ok(state
        .db_for(&visitor.principal(), move |conn| {
            let page = crate::repo::PageRequest {
                cursor: None,
                limit: 200,
            };
            let rows = proposals::waiting(conn, &by, &page)?.items;
            let mut wanted = crate::repo::names::Wanted::default();
            rows.iter().for_each(|p| {
                wanted.organisation(&p.organisation_id);
            });
            let names = wanted.load(conn)?;
            Ok(rows
                .into_iter()
                .map(|p| ProposalLine {
                    organisation: names.organisation(&p.organisation_id),
                    id: p.id,
                    name: p.name,
                    email: p.email,
                    role: words(p.role.as_str()),
                    org_admin: p.org_admin,
                    expires: super::inbox::minute(p.expires_at),
                })
                .collect())
        })
        .await?)
}

/// Approves, declines or withdraws proposal `id` as the form's `intent`
/// says; what was done, for the page's notice.
pub(super) async fn decide(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    id: String,
    intent: &str,
) -> Result<&'static str, Error> {
    let by = visitor.session.account.user.id.clone();
    match intent {
        "approve" => {
            let unusable = web::block(crate::service::stewardship::unusable_password_hash)
                .await
                .map_err(Error::internal)??;
            let public_url = state.settings.public_url.clone();
            state
                .write_for(&visitor.principal(), move |conn| {
                    proposals::approve(conn, &by, &id, unusable, &public_url)
                })
                .await
                .map(|_| "approved")
        }
        "decline" | "withdraw" => state
            .write_for(&visitor.principal(), move |conn| {
                proposals::decline(conn, &by, &id)
            })
            .await
            .map(|p| match p.decision.as_deref() {
                Some("withdrawn") => "withdrawn",
                _ => "declined",
            }),
        _ => Err(Error::malformed("the form names no action")),
    }
}

/// `POST /organisation/proposals/{id}`: one of the organisation's
/// administrators approves or declines.
pub async fn on_organisation(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    super::organisation::own_organisation(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let intent = typed.get("intent").cloned().unwrap_or_default();
    if intent == "withdraw" {
        return Err(Failure(Error::malformed("the form names no action")));
    }
    let outcome = decide(&state, &visitor, id.into_inner(), &intent).await;
    super::organisation::after(&state, &visitor, outcome).await
}

/// `POST /admin/proposals/{id}`: the platform administrator withdraws a
/// proposal of theirs.
pub async fn on_admin(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    super::admin::admin_only(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    if typed.get("intent").map(String::as_str) != Some("withdraw") {
        return Err(Failure(Error::malformed("the form names no action")));
    }
    let outcome = decide(&state, &visitor, id.into_inner(), "withdraw").await;
    super::admin::after_withdrawal(&state, &visitor, outcome).await
}
