use diesel::prelude::*;

use super::{Page, PageRequest};
use crate::db::DbConn;
use crate::db::schema::{organisations, refresh_tokens, users};
use crate::domain::reference::OrganisationKind;
use crate::domain::reference::Role;
use crate::time::UtcTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: crate::domain::reference::Role,
    pub organisation_id: Option<String>,
    pub password_hash: String,
    pub active: bool,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
    /// Runs the accounts of the organisation.
    pub org_admin: bool,
}

/// A user with what the authorisation rules need of their organisation.
#[derive(Debug, Clone)]
pub struct UserWithOrganisation {
    pub user: UserRow,
    pub organisation_kind: Option<OrganisationKind>,
    pub jurisdiction: Option<String>,
}

impl UserWithOrganisation {
    /// The user as the access rules see them, for work done on their behalf
    /// outside a request (the demo's worked case, the benchmark).
    pub fn viewer(&self) -> Result<crate::domain::access::Viewer, String> {
        Ok(crate::domain::access::Viewer {
            user_id: self.user.id.clone(),
            role: self.user.role,
            organisation_id: self.user.organisation_id.clone(),
            jurisdiction: self.jurisdiction.clone(),
        })
    }
}

pub fn insert(conn: &mut DbConn, row: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// An account of one organisation, by id.
pub fn get_in_organisation(
    conn: &mut DbConn,
    id: &str,
    organisation_id: &str,
) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .filter(users::organisation_id.eq(organisation_id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// The active user behind a token, with their organisation, in one query.
pub fn find_active_with_organisation(
    conn: &mut DbConn,
    id: &str,
) -> QueryResult<Option<UserWithOrganisation>> {
    find_active(conn, id, None)
}

/// The active account `id` with its organisation, if the session `family_id`
/// still has a live refresh token of it: what an access token's holder must
/// be, in one query.
pub fn find_active_in_session(
    conn: &mut DbConn,
    id: &str,
    family_id: &str,
) -> QueryResult<Option<UserWithOrganisation>> {
    find_active(conn, id, Some(family_id))
}

fn find_active(
    conn: &mut DbConn,
    id: &str,
    session: Option<&str>,
) -> QueryResult<Option<UserWithOrganisation>> {
    let mut query = users::table
        .left_join(organisations::table)
        .filter(users::id.eq(id))
        .filter(users::active.eq(true))
        .select((
            UserRow::as_select(),
            organisations::kind.nullable(),
            organisations::jurisdiction.nullable(),
        ))
        .into_boxed();
    if let Some(family_id) = session {
        query = query.filter(diesel::dsl::exists(
            refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(family_id.to_owned()))
                .filter(refresh_tokens::user_id.eq(id.to_owned()))
                .filter(refresh_tokens::revoked_at.is_null()),
        ));
    }
    query
        .first::<(UserRow, Option<OrganisationKind>, Option<String>)>(conn)
        .optional()
        .map(|found| {
            found.map(
                |(user, organisation_kind, jurisdiction)| UserWithOrganisation {
                    user,
                    organisation_kind,
                    jurisdiction,
                },
            )
        })
}

/// Accounts, all of them or one organisation's.
pub fn list(
    conn: &mut DbConn,
    organisation: Option<&str>,
    page: &PageRequest,
) -> QueryResult<Page<UserRow>> {
    let mut query = users::table
        .select(UserRow::as_select())
        .order(users::id)
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(organisation) = organisation {
        query = query.filter(users::organisation_id.eq(organisation.to_owned()));
    }
    if let Some(cursor) = &page.cursor {
        query = query.filter(users::id.gt(cursor.clone()));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_overfetch(rows, page.limit, |r| r.id.clone()))
}

pub fn set_active(conn: &mut DbConn, id: &str, active: bool, now: UtcTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::active.eq(active), users::updated_at.eq(now)))
        .execute(conn)
}

pub fn set_place(
    conn: &mut DbConn,
    id: &str,
    role: Role,
    organisation_id: Option<&str>,
    now: UtcTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::role.eq(role),
            users::organisation_id.eq(organisation_id),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn set_password_hash(
    conn: &mut DbConn,
    id: &str,
    hash: &str,
    now: UtcTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(conn)
}

pub fn set_org_admin(
    conn: &mut DbConn,
    id: &str,
    org_admin: bool,
    now: UtcTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::org_admin.eq(org_admin), users::updated_at.eq(now)))
        .execute(conn)
}

/// The active administrators of an organisation.
pub fn org_admins_of(conn: &mut DbConn, organisation_id: &str) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::organisation_id.eq(organisation_id))
        .filter(users::org_admin.eq(true))
        .filter(users::active.eq(true))
        .select(UserRow::as_select())
        .order(users::id)
        .load(conn)
}

pub fn set_name(conn: &mut DbConn, id: &str, name: &str, now: UtcTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::name.eq(name), users::updated_at.eq(now)))
        .execute(conn)
}

/// Active central-authority users of a jurisdiction: told when a deadline of a
/// request issued there is missed.
pub fn active_central_authority_users(
    conn: &mut DbConn,
    jurisdiction: &str,
) -> QueryResult<Vec<UserRow>> {
    users::table
        .inner_join(organisations::table)
        .filter(organisations::jurisdiction.eq(jurisdiction))
        .filter(organisations::kind.eq("central_authority"))
        .filter(users::role.eq("central_authority"))
        .filter(users::active.eq(true))
        .select(UserRow::as_select())
        .order(users::id)
        .load(conn)
}

/// Active users of one organisation.
pub fn active_of_organisation(
    conn: &mut DbConn,
    organisation_id: &str,
) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::organisation_id.eq(organisation_id))
        .filter(users::active.eq(true))
        .select(UserRow::as_select())
        .order(users::id)
        .load(conn)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}
