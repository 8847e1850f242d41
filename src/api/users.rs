use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::error::Problem;
use super::paging::{PageOut, PageQuery};
use crate::auth::Caller;
use crate::domain::reference::Role;
use crate::domain::stewardship::Scope;
use crate::domain::validation::{Email, Errors, text_field};
use crate::error::Error;
use crate::repo;
use crate::repo::names::{Names, Wanted};
use crate::repo::users::UserRow;
use crate::service::accounts::{self, UserChange};
use crate::service::stewardship::{self, Invitation, Invited};
use crate::state::AppState;
use crate::time::UtcTime;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    pub email: String,
    pub name: String,
    #[schema(value_type = crate::domain::reference::Role)]
    pub role: String,
    #[schema(format = Uuid)]
    pub organisation_id: Option<String>,
    /// The right to run the organisation's accounts.
    #[serde(default)]
    pub org_admin: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub active: Option<bool>,
    pub name: Option<String>,
    /// A new role; it must fit the kind of the organisation (the new one,
    /// if that changes too). The account's sessions end.
    #[schema(value_type = Option<crate::domain::reference::Role>)]
    pub role: Option<String>,
    /// A new organisation; `null` for none (administrators only). The
    /// account's sessions end.
    #[schema(format = Uuid)]
    #[serde(default, deserialize_with = "super::requests::present")]
    pub organisation_id: Option<Option<String>>,
    /// Grants or takes the right to run the organisation's accounts.
    pub org_admin: Option<bool>,
}

impl UserPatch {
    pub fn parse(self) -> Result<UserChange, Error> {
        let mut errors = Errors::new();
        let name = self
            .name
            .as_deref()
            .and_then(|n| errors.check("name", text_field(n, 200)));
        let role = self
            .role
            .as_deref()
            .and_then(|r| errors.check("role", Role::parse(r)));
        if let Some(Some(org)) = &self.organisation_id
            && uuid::Uuid::parse_str(org).is_err()
        {
            errors.add(
                "organisation_id",
                format!("`{org}` is not an organisation id"),
            );
        }
        if self.active.is_none()
            && self.name.is_none()
            && self.role.is_none()
            && self.organisation_id.is_none()
            && self.org_admin.is_none()
        {
            errors.add(
                "body",
                "give `active`, `name`, `role`, `organisation_id` or `org_admin`",
            );
        }
        errors.into_result()?;
        Ok(UserChange {
            active: self.active,
            name,
            role,
            organisation_id: self.organisation_id,
            org_admin: self.org_admin,
        })
    }
}

/// A user as others see it: never the password hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserOut {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: crate::domain::reference::Role,
    pub organisation_id: Option<String>,
    pub organisation_name: Option<String>,
    /// Runs the organisation's accounts.
    pub org_admin: bool,
    pub active: bool,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

impl UserOut {
    /// The accounts' documents, their organisations' names read in `conn`.
    pub fn read_all(
        conn: &mut crate::db::DbConn,
        rows: Vec<UserRow>,
    ) -> Result<Vec<UserOut>, Error> {
        let mut wanted = Wanted::default();
        for row in &rows {
            if let Some(organisation) = &row.organisation_id {
                wanted.organisation(organisation);
            }
        }
        let names = wanted.load(conn)?;
        Ok(rows
            .into_iter()
            .map(|row| UserOut::build(row, &names))
            .collect())
    }

    /// One account's document, read in `conn`.
    pub fn read(conn: &mut crate::db::DbConn, row: UserRow) -> Result<UserOut, Error> {
        Ok(Self::read_all(conn, vec![row])?.remove(0))
    }

    fn build(row: UserRow, names: &Names) -> Self {
        UserOut {
            organisation_name: names.organisation_of(row.organisation_id.as_deref()),
            id: row.id,
            email: row.email,
            name: row.name,
            role: row.role,
            organisation_id: row.organisation_id,
            org_admin: row.org_admin,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl UserIn {
    pub fn parse(self) -> Result<Invitation, Error> {
        let mut errors = Errors::new();
        let email = errors.check("email", Email::parse(&self.email));
        let name = errors.check("name", text_field(&self.name, 200));
        let role = errors.check("role", Role::parse(&self.role));
        let organisation_id = self.organisation_id.filter(|id| !id.trim().is_empty());
        if let Some(id) = &organisation_id
            && uuid::Uuid::parse_str(id).is_err()
        {
            errors.add(
                "organisation_id",
                format!("`{id}` is not an organisation id"),
            );
        }
        let (email, name, role) = errors.finish((|| Some((email?, name?, role?)))())?;
        Ok(Invitation {
            email,
            name,
            role,
            organisation_id,
            org_admin: self.org_admin,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Accounts: every one to the platform administrator, its organisation's to an organisation's administrator", body = PageOut<UserOut>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, Error> {
    let page = query.to_request()?;
    let by = caller.user_id.clone();
    let page = state
        .db_as(&caller, move |conn| {
            let by = stewardship::steward(conn, &by)?;
            let organisation = match stewardship::scope_of(&by)? {
                Scope::Organisation(org) => Some(org.to_owned()),
                _ => None,
            };
            let page = repo::users::list(conn, organisation.as_deref(), &page)?;
            Ok(PageOut {
                items: UserOut::read_all(conn, page.items)?,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The platform administrator sees any account, an organisation's
/// administrator its organisation's; anyone else only their own.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "An account")),
    responses((status = 200, description = "The account", body = UserOut)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner();
    let by = caller.user_id.clone();
    let row = state
        .db_as(&caller, move |conn| {
            let by = stewardship::steward(conn, &by)?;
            let row = if by.id == id {
                by
            } else {
                match stewardship::scope_of(&by) {
                    Ok(_) => stewardship::visible_account(conn, &by, &id)?,
                    Err(_) => return Err(Error::not_found(format!("no user `{id}`"))),
                }
            };
            UserOut::read(conn, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(row))
}

/// A new account, invited: what came back, and when the invitation runs out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitedOut {
    #[serde(flatten)]
    pub user: UserOut,
    pub invitation_expires_at: UtcTime,
}

/// Invites a person: the account is created with no password anyone knows,
/// and its holder is e-mailed a link (valid seven days, used once) to set
/// their own; at their first sign-in they enrol their second factor. An
/// organisation's administrator invites into theirs; the platform
/// administrator into organisations with no administrator of their own (their
/// first one, say). Where an organisation has one, the platform
/// administrator's invitation is only a proposal (`202`): no account exists
/// until one of the organisation's administrators approves it
/// (`/account-proposals`). The organisation's administrators are told.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = UserIn,
    responses(
        (status = 201, description = "Invited", body = InvitedOut),
        (status = 202, description = "Proposed to the organisation's administrators, who run its people", body = super::proposals::ProposalOut),
        (status = 403, description = "The caller runs no accounts", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address has an account, or a proposal waiting", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<UserIn>,
) -> Result<HttpResponse, Error> {
    let invitation = body.into_inner().parse()?;
    let unusable = web::block(stewardship::unusable_password_hash).await??;
    let by = caller.user_id.clone();
    let public_url = state.settings.public_url.clone();
    enum Answer {
        Invited(InvitedOut),
        Proposed(super::proposals::ProposalOut),
    }
    let answer = state
        .write_as(&caller, move |conn| {
            Ok(
                match stewardship::invite(conn, &by, invitation, unusable, &public_url)? {
                    Invited::Account(row, expires_at) => Answer::Invited(InvitedOut {
                        user: UserOut::read(conn, row)?,
                        invitation_expires_at: expires_at,
                    }),
                    Invited::Proposed(proposal) => {
                        Answer::Proposed(super::proposals::ProposalOut::read(conn, proposal)?)
                    }
                },
            )
        })
        .await?;
    Ok(match answer {
        Answer::Invited(invited) => HttpResponse::Created().json(invited),
        Answer::Proposed(proposed) => HttpResponse::Accepted().json(proposed),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetIn {
    /// Also remove the account's second factor when the link is used (a
    /// lost phone and no recovery code): the holder enrols again.
    #[serde(default)]
    pub second_factor: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResetOut {
    pub link_expires_at: UtcTime,
}

/// E-mails the account's holder a link (one hour, used once) to choose a new
/// password; using it ends every session of the account. Nobody else learns
/// the password.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset", tag = "users", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "An account")), request_body = ResetIn,
    responses(
        (status = 202, description = "The link is on its way to the holder", body = ResetOut),
        (status = 403, description = "The caller runs no accounts", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or another organisation's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account is deactivated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<ResetIn>,
) -> Result<HttpResponse, Error> {
    let (id, reset_factor) = (id.into_inner(), body.into_inner().second_factor);
    let by = caller.user_id.clone();
    let public_url = state.settings.public_url.clone();
    let link_expires_at = state
        .write_as(&caller, move |conn| {
            stewardship::send_reset(conn, &by, &id, reset_factor, &public_url)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(ResetOut { link_expires_at }))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "An account")), request_body = UserPatch,
    responses((status = 200, description = "Changed by the platform administrator or the organisation's administrator (who alone changes roles once the organisation has one); deactivating, or a new role or organisation, ends the account's sessions", body = UserOut)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, Error> {
    let change = body.into_inner().parse()?;
    let id = id.into_inner();
    let actor = caller.actor();
    let row = state
        .write_as(&caller, move |conn| {
            let row = accounts::update_user(conn, &actor, &id, change)?;
            UserOut::read(conn, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(row))
}
