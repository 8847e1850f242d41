//! User accounts.

use crate::api::error::ApiError;
use crate::auth::password;
use crate::db::{DbConn, UtcTime, new_id};
use crate::domain::reference::{OrganisationKind, Role};
use crate::domain::validation::Email;
use crate::repo::users::UserRow;
use crate::repo::{self, is_unique_violation};

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub organisation_id: Option<String>,
    /// Already hashed: hashing is slow and stays outside the transaction.
    pub password_hash: String,
}

/// Hashes a password that has passed the policy.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    password::hash(password).map_err(ApiError::internal)
}

pub fn create_user(conn: &mut DbConn, new: NewUser) -> Result<UserRow, ApiError> {
    let kind = match &new.organisation_id {
        Some(id) => {
            let organisation = repo::organisations::get(conn, id)?.ok_or_else(|| {
                ApiError::field("organisation_id", format!("no organisation `{id}` exists"))
            })?;
            Some(OrganisationKind::parse(&organisation.kind).map_err(ApiError::internal)?)
        }
        None => None,
    };
    new.role
        .fits(kind)
        .map_err(|message| ApiError::field("role", message))?;
    let now = UtcTime::now();
    let row = UserRow {
        id: new_id(),
        email: new.email.into_string(),
        name: new.name,
        role: new.role.as_str().to_owned(),
        organisation_id: new.organisation_id,
        password_hash: new.password_hash,
        active: true,
        created_at: now,
        updated_at: now,
    };
    repo::users::insert(conn, &row).map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::conflict(format!("a user with e-mail `{}` already exists", row.email))
        } else {
            e.into()
        }
    })?;
    tracing::info!(user_id = %row.id, role = %row.role, "user created");
    Ok(row)
}

#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub active: Option<bool>,
    pub name: Option<String>,
}

/// Applies a change to a user. Deactivation also revokes every refresh token;
/// access tokens stop working because every request re-reads the account.
pub fn update_user(
    conn: &mut DbConn,
    actor_id: &str,
    id: &str,
    change: UserChange,
) -> Result<UserRow, ApiError> {
    crate::db::lock_row(conn, "users", "id", id)?;
    let user =
        repo::users::get(conn, id)?.ok_or_else(|| ApiError::NotFound(format!("no user `{id}`")))?;
    let now = UtcTime::now();
    if let Some(name) = &change.name {
        repo::users::set_name(conn, id, name, now)?;
    }
    if let Some(active) = change.active {
        if !active && id == actor_id {
            return Err(ApiError::conflict(
                "you cannot deactivate your own account; ask another administrator",
            ));
        }
        if active != user.active {
            repo::users::set_active(conn, id, active, now)?;
            if !active {
                let revoked = repo::sessions::revoke_all_for_user(conn, id, now)?;
                tracing::warn!(user_id = %id, by = %actor_id, revoked_refresh_tokens = revoked, "user deactivated");
            } else {
                tracing::info!(user_id = %id, by = %actor_id, "user reactivated");
            }
        }
    }
    repo::users::get(conn, id)?.ok_or_else(|| ApiError::NotFound(format!("no user `{id}`")))
}
