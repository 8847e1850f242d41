//! User accounts.

use crate::auth::password;
use crate::db::{DbConn, new_id};
use crate::domain::audit::{Actor, user_chain};
use crate::domain::reference::Role;
use crate::domain::validation::Email;
use crate::error::Error;
use crate::repo;
use crate::repo::audit::NewEvent;
use crate::repo::users::UserRow;
use crate::time::UtcTime;

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
pub fn hash_password(password: &str) -> Result<String, Error> {
    password::hash(password).map_err(Error::internal)
}

pub fn create_user(conn: &mut DbConn, actor: &Actor, new: NewUser) -> Result<UserRow, Error> {
    let kind = match &new.organisation_id {
        Some(id) => {
            let organisation = repo::organisations::get(conn, id)?.ok_or_else(|| {
                Error::field("organisation_id", format!("no organisation `{id}` exists"))
            })?;
            Some(organisation.kind)
        }
        None => None,
    };
    new.role
        .fits(kind)
        .map_err(|message| Error::field("role", message))?;
    let now = UtcTime::now();
    let row = UserRow {
        id: new_id(),
        email: new.email.into_string(),
        name: new.name,
        role: new.role,
        organisation_id: new.organisation_id,
        password_hash: new.password_hash,
        active: true,
        created_at: now,
        updated_at: now,
        org_admin: false,
    };
    repo::users::insert(conn, &row).map_err(|e| {
        Error::from(e).when_taken(|| format!("a user with e-mail `{}` already exists", row.email))
    })?;
    repo::audit::append(
        conn,
        NewEvent {
            chain: user_chain(&row.id),
            actor,
            action: "user_created",
            object_type: "user",
            object_id: Some(&row.id),
            request_id: None,
            details: serde_json::json!({
                "email": row.email, "name": row.name, "role": row.role,
                "organisation_id": row.organisation_id,
            }),
        },
    )?;
    tracing::info!(user_id = %row.id, role = %row.role, "user created");
    Ok(row)
}

#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub active: Option<bool>,
    pub name: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)`: no organisation (administrators only).
    pub organisation_id: Option<Option<String>>,
    /// The right to run the organisation's accounts.
    pub org_admin: Option<bool>,
}

/// Applies a change to a user. Deactivation also revokes every refresh token;
/// access tokens stop working because every request re-reads the account.
pub fn update_user(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    change: UserChange,
) -> Result<UserRow, Error> {
    use crate::domain::stewardship::AccountAct;
    use crate::service::stewardship::{check, steward, visible_account};
    crate::db::lock_row(conn, "users", "id", id)?;
    // A person acts within what they run (`domain::stewardship`); the
    // operator's command line (no user) is not held to it.
    let by = match &actor.user_id {
        Some(by) => Some(steward(conn, by)?),
        None => None,
    };
    let user = match &by {
        Some(by) => visible_account(conn, by, id)?,
        None => repo::users::get(conn, id)?
            .ok_or_else(|| Error::not_found(format!("no user `{id}`")))?,
    };
    let org_admin = match (&change.organisation_id, change.org_admin) {
        (_, Some(wanted)) => wanted,
        (Some(new), None) if *new != user.organisation_id => false,
        _ => user.org_admin,
    };
    if let Some(by) = &by {
        let here = user.organisation_id.as_deref();
        let unseen = format!("no user `{id}`");
        if change.name.as_ref().is_some_and(|n| *n != user.name) {
            check(conn, by, AccountAct::Rename, here, &unseen)?;
        }
        let moved = change
            .organisation_id
            .as_ref()
            .filter(|new| **new != user.organisation_id);
        if change.role.is_some_and(|r| r != user.role)
            || moved.is_some()
            || org_admin != user.org_admin
        {
            check(conn, by, AccountAct::ChangePlace, here, &unseen)?;
            if let Some(role) = change.role {
                crate::service::stewardship::check_role(by, role)?;
            }
            if let Some(new) = moved {
                check(
                    conn,
                    by,
                    AccountAct::ChangePlace,
                    new.as_deref(),
                    &format!("no organisation `{}`", new.as_deref().unwrap_or_default()),
                )?;
            }
        }
        if change.active.is_some_and(|a| a != user.active) {
            check(conn, by, AccountAct::Deactivate, here, &unseen)?;
        }
    }
    let now = UtcTime::now();
    let actor_id = actor.user_id.as_deref().unwrap_or("system");
    let mut changes = serde_json::Map::new();
    if let Some(name) = &change.name
        && *name != user.name
    {
        repo::users::set_name(conn, id, name, now)?;
        changes.insert(
            "name".into(),
            serde_json::json!({"from": user.name, "to": name}),
        );
    }
    let role = change.role.unwrap_or(user.role);
    let organisation_id = change
        .organisation_id
        .clone()
        .unwrap_or_else(|| user.organisation_id.clone());
    if role != user.role || organisation_id != user.organisation_id {
        if Some(id) == actor.user_id.as_deref() {
            return Err(Error::conflict(
                "you cannot change your own role or organisation; ask another administrator",
            ));
        }
        let kind = match &organisation_id {
            Some(org) => Some(
                repo::organisations::get(conn, org)?
                    .ok_or_else(|| {
                        Error::field("organisation_id", format!("no organisation `{org}` exists"))
                    })?
                    .kind,
            ),
            None => None,
        };
        role.fits(kind)
            .map_err(|message| Error::field("role", message))?;
        repo::users::set_place(conn, id, role, organisation_id.as_deref(), now)?;
        changes.insert(
            "role".into(),
            serde_json::json!({"from": user.role, "to": role}),
        );
        changes.insert(
            "organisation_id".into(),
            serde_json::json!({"from": user.organisation_id, "to": organisation_id}),
        );
        // What the person may see changes with the place: every session
        // starts again under it.
        let revoked = repo::sessions::revoke_all_for_user(conn, id, now)?;
        let ended = repo::portal_sessions::delete_all_for_user(conn, id)?;
        tracing::warn!(user_id = %id, by = %actor_id, %role, revoked_refresh_tokens = revoked,
            ended_portal_sessions = ended, "user moved to another role or organisation");
    }
    if org_admin != user.org_admin {
        let organisation_id = change
            .organisation_id
            .clone()
            .unwrap_or_else(|| user.organisation_id.clone());
        if org_admin && organisation_id.is_none() {
            return Err(Error::field(
                "org_admin",
                "an organisation's administrator belongs to an organisation",
            ));
        }
        repo::users::set_org_admin(conn, id, org_admin, now)?;
        changes.insert(
            "org_admin".into(),
            serde_json::json!({"from": user.org_admin, "to": org_admin}),
        );
    }
    if let Some(active) = change.active {
        if !active && Some(id) == actor.user_id.as_deref() {
            return Err(Error::conflict(
                "you cannot deactivate your own account; ask another administrator",
            ));
        }
        if active != user.active {
            repo::users::set_active(conn, id, active, now)?;
            changes.insert(
                "active".into(),
                serde_json::json!({"from": user.active, "to": active}),
            );
            if !active {
                let revoked = repo::sessions::revoke_all_for_user(conn, id, now)?;
                let ended = repo::portal_sessions::delete_all_for_user(conn, id)?;
                tracing::warn!(user_id = %id, by = %actor_id, revoked_refresh_tokens = revoked, ended_portal_sessions = ended, "user deactivated");
            } else {
                tracing::info!(user_id = %id, by = %actor_id, "user reactivated");
            }
        }
    }
    if !changes.is_empty() {
        let told: Vec<String> = changes
            .iter()
            .filter(|(what, _)| *what != "name")
            .map(|(what, change)| format!("{what}: {} → {}", change["from"], change["to"]))
            .collect();
        if !told.is_empty() {
            crate::service::account_mail::security_notice(
                conn,
                &user,
                &format!(
                    "Your mlat account was changed by {}: {}. Every session of yours that this affects has ended.",
                    by.as_ref().map_or("the operator", |b| b.name.as_str()),
                    told.join("; ")
                ),
            )?;
        }
        repo::audit::append(
            conn,
            NewEvent {
                chain: user_chain(id),
                actor,
                action: "user_changed",
                object_type: "user",
                object_id: Some(id),
                request_id: None,
                details: serde_json::Value::Object(changes),
            },
        )?;
    }
    repo::users::get(conn, id)?.ok_or_else(|| Error::not_found(format!("no user `{id}`")))
}

/// The session a password change keeps: the one that asked for it.
#[derive(Debug, Clone)]
pub enum Keep {
    /// A refresh-token family (the API's session).
    Family(String),
    /// A portal session, by its id's hash.
    Portal(String),
}

/// Changes the password of `user_id`, who must give the current one: a
/// sign-in in all but name, counted by the same lockout and per-address
/// limit. The new password is checked against the policy and hashed before
/// anything is written. Every other session and refresh token of the account
/// ends in the same transaction as the change, which is audited.
pub fn change_password(
    pool: &crate::db::Pool,
    writers: &crate::db::WriterQueue,
    user_id: &str,
    current: &str,
    new: &str,
    from: std::net::IpAddr,
    keep: Keep,
) -> Result<(), Error> {
    let user = {
        let mut conn = pool.get()?;
        repo::users::get(&mut conn, user_id)?
            .ok_or_else(|| Error::unauthenticated("the account is gone"))?
    };
    crate::domain::validation::password_policy(new, &[&user.email, &user.name])
        .map_err(|m| Error::field("new_password", m))?;
    if new == current {
        return Err(Error::field(
            "new_password",
            "is the password you have: choose another",
        ));
    }
    let new_hash = hash_password(new)?;
    let email = Email::parse(&user.email).map_err(Error::internal)?;
    let changed = crate::service::sessions::authenticate(
        pool,
        writers,
        &email,
        current,
        "password_change",
        from,
        None,
        |conn, account| {
            if account.user.id != user_id {
                return Err(Error::internal("the account changed its address meanwhile"));
            }
            let now = UtcTime::now();
            repo::users::set_password_hash(conn, user_id, &new_hash, now)?;
            let (family, portal) = match &keep {
                Keep::Family(f) => (Some(f.as_str()), None),
                Keep::Portal(p) => (None, Some(p.as_str())),
            };
            let revoked = repo::sessions::revoke_others_for_user(conn, user_id, family, now)?;
            let ended = repo::portal_sessions::delete_others_for_user(conn, user_id, portal)?;
            let actor = Actor::user(user_id, account.user.organisation_id.as_deref());
            repo::audit::append(
                conn,
                NewEvent {
                    chain: user_chain(user_id),
                    actor: &actor,
                    action: "password_changed",
                    object_type: "user",
                    object_id: Some(user_id),
                    request_id: None,
                    details: serde_json::json!({
                        "revoked_refresh_tokens": revoked, "ended_portal_sessions": ended,
                    }),
                },
            )?;
            crate::service::account_mail::security_notice(
                conn,
                &account.user,
                "Your mlat password was changed. Every other session of yours ended.",
            )?;
            tracing::warn!(%user_id, revoked_refresh_tokens = revoked, ended_portal_sessions = ended,
                "password changed by its holder; other sessions ended");
            Ok(())
        },
    )
    .and_then(crate::service::sessions::Passed::signed_in);
    // The current password is checked as a sign-in's: a wrong one says so at
    // its field, not as a failed sign-in.
    changed.map_err(|e| match e.kind() {
        crate::error::Kind::Unauthenticated(_) => {
            Error::field("current_password", "is not your current password")
        }
        _ => e,
    })
}
