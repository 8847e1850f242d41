use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::paging::{PageOut, PageQuery};
use crate::auth::Caller;
use crate::domain::reference::Role;
use crate::domain::validation::{Email, Errors, password_policy, text_field};
use crate::error::Error;
use crate::repo;
use crate::repo::users::UserRow;
use crate::service::accounts::{self, NewUser, UserChange};
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
    /// At least 12 characters.
    #[schema(format = Password)]
    pub password: String,
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
        {
            errors.add("body", "give `active`, `name`, `role` or `organisation_id`");
        }
        errors.into_result()?;
        Ok(UserChange {
            active: self.active,
            name,
            role,
            organisation_id: self.organisation_id,
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
    pub active: bool,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

impl From<UserRow> for UserOut {
    fn from(row: UserRow) -> Self {
        UserOut {
            id: row.id,
            email: row.email,
            name: row.name,
            role: row.role,
            organisation_id: row.organisation_id,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Checked input of a new account, with the password still in clear: it is
/// hashed by the caller, outside any transaction.
pub struct ParsedUser {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub organisation_id: Option<String>,
    pub password: String,
}

impl UserIn {
    pub fn parse(self) -> Result<ParsedUser, Error> {
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
        errors.check(
            "password",
            password_policy(&self.password, &[&self.email, &self.name]),
        );
        let (email, name, role) = errors.finish((|| Some((email?, name?, role?)))())?;
        Ok(ParsedUser {
            email,
            name,
            role,
            organisation_id,
            password: self.password,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Accounts (administrators)", body = PageOut<UserOut>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, Error> {
    caller.require_admin()?;
    let page = query.to_request()?;
    let page = state
        .db_as(&caller, move |conn| Ok(repo::users::list(conn, &page)?))
        .await?;
    Ok(HttpResponse::Ok().json(PageOut::from(page.map(UserOut::from))))
}

/// An administrator sees any account; anyone else only their own.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "An account")),
    responses((status = 200, description = "The account", body = UserOut)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner();
    if !caller.is_admin() && id != caller.user_id {
        return Err(Error::not_found(format!("no user `{id}`")));
    }
    let shown = id.clone();
    let row = state
        .db_as(&caller, move |conn| Ok(repo::users::get(conn, &id)?))
        .await?
        .ok_or_else(|| Error::not_found(format!("no user `{shown}`")))?;
    Ok(HttpResponse::Ok().json(UserOut::from(row)))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = UserIn,
    responses((status = 201, description = "Created (administrators)", body = UserOut)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<UserIn>,
) -> Result<HttpResponse, Error> {
    caller.require_admin()?;
    let parsed = body.into_inner().parse()?;
    let password_hash =
        web::block(move || accounts::hash_password(&parsed.password).map(|h| (h, parsed)))
            .await??;
    let (password_hash, parsed) = password_hash;
    let actor = caller.actor();
    let new = NewUser {
        email: parsed.email,
        name: parsed.name,
        role: parsed.role,
        organisation_id: parsed.organisation_id,
        password_hash,
    };
    let row = state
        .write_as(&caller, move |conn| {
            accounts::create_user(conn, &actor, new)
        })
        .await?;
    Ok(HttpResponse::Created().json(UserOut::from(row)))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "An account")), request_body = UserPatch,
    responses((status = 200, description = "Changed (administrators); deactivating, or a new role or organisation, ends the account's sessions", body = UserOut)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, Error> {
    caller.require_admin()?;
    let change = body.into_inner().parse()?;
    let id = id.into_inner();
    let actor = caller.actor();
    let row = state
        .write_as(&caller, move |conn| {
            accounts::update_user(conn, &actor, &id, change)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserOut::from(row)))
}
