//! `/api/v1/account-proposals`: accounts the platform administrator asks
//! for in an organisation that runs its own people, waiting for one of its
//! administrators (`service::proposals`).

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::error::Problem;
use super::paging::{PageOut, PageQuery};
use super::users::{InvitedOut, UserOut};
use crate::auth::Caller;
use crate::db::DbConn;
use crate::error::Error;
use crate::repo::account_proposals::ProposalRow;
use crate::repo::names::{Names, Wanted};
use crate::service::{proposals, stewardship};
use crate::state::AppState;
use crate::time::UtcTime;

/// An account proposed to an organisation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalOut {
    pub id: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub email: String,
    pub name: String,
    pub role: crate::domain::reference::Role,
    pub org_admin: bool,
    pub proposed_by: String,
    pub proposed_by_name: Option<String>,
    pub proposed_at: UtcTime,
    /// When it stops waiting, undecided.
    pub expires_at: UtcTime,
    /// `approved`, `declined` or `withdrawn`; absent while it waits.
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<UtcTime>,
    /// The account an approval made.
    pub user_id: Option<String>,
}

impl ProposalOut {
    /// The proposals' documents, with the names of who and where, read in
    /// `conn`.
    pub fn read_all(conn: &mut DbConn, rows: Vec<ProposalRow>) -> Result<Vec<Self>, Error> {
        let mut wanted = Wanted::default();
        for row in &rows {
            wanted
                .organisation(&row.organisation_id)
                .person(&row.proposed_by);
            if let Some(by) = &row.decided_by {
                wanted.person(by);
            }
        }
        let names = wanted.load(conn)?;
        Ok(rows
            .into_iter()
            .map(|row| ProposalOut::build(row, &names))
            .collect())
    }

    pub fn read(conn: &mut DbConn, row: ProposalRow) -> Result<Self, Error> {
        Ok(Self::read_all(conn, vec![row])?.remove(0))
    }

    fn build(row: ProposalRow, names: &Names) -> Self {
        ProposalOut {
            organisation_name: names.organisation(&row.organisation_id),
            proposed_by_name: names.person(&row.proposed_by),
            decided_by_name: names.person_of(row.decided_by.as_deref()),
            id: row.id,
            organisation_id: row.organisation_id,
            email: row.email,
            name: row.name,
            role: row.role,
            org_admin: row.org_admin,
            proposed_by: row.proposed_by,
            proposed_at: row.proposed_at,
            expires_at: row.expires_at,
            decision: row.decision,
            decided_by: row.decided_by,
            decided_at: row.decided_at,
            user_id: row.user_id,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/account-proposals", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, description = "Proposals still waiting: its organisation's to an organisation's administrator, every one to the platform administrator", body = PageOut<ProposalOut>),
        (status = 403, description = "The caller runs no accounts", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, Error> {
    let page = query.to_request()?;
    let by = caller.user_id.clone();
    let page = state
        .db_as(&caller, move |conn| {
            let page = proposals::waiting(conn, &by, &page)?;
            Ok(PageOut {
                items: ProposalOut::read_all(conn, page.items)?,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Approves a proposal (one of the organisation's administrators): the
/// account is made and its holder invited, in the approver's name.
#[utoipa::path(post, path = "/api/v1/account-proposals/{id}/approve", tag = "users", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "A proposal")),
    responses(
        (status = 201, description = "Approved: the account, its holder invited", body = InvitedOut),
        (status = 403, description = "Not one of the organisation's administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposal, or another organisation's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already, or ran out", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn approve(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner();
    let unusable = web::block(stewardship::unusable_password_hash).await??;
    let by = caller.user_id.clone();
    let public_url = state.settings.public_url.clone();
    let invited = state
        .write_as(&caller, move |conn| {
            let (row, expires_at) = proposals::approve(conn, &by, &id, unusable, &public_url)?;
            Ok(InvitedOut {
                user: UserOut::read(conn, row)?,
                invitation_expires_at: expires_at,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(invited))
}

/// Declines a proposal (one of the organisation's administrators), or
/// withdraws it (whoever proposed it): no account is made.
#[utoipa::path(post, path = "/api/v1/account-proposals/{id}/decline", tag = "users", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "A proposal")),
    responses(
        (status = 200, description = "Declined or withdrawn", body = ProposalOut),
        (status = 403, description = "Neither one of the organisation's administrators nor whoever proposed it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposal, or another organisation's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already, or ran out", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn decline(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner();
    let by = caller.user_id.clone();
    let row = state
        .write_as(&caller, move |conn| {
            let row = proposals::decline(conn, &by, &id)?;
            ProposalOut::read(conn, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(row))
}
