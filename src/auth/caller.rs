//! The authenticated caller. The API's extractor (`api::caller`) checks the access token's signature
//! and times and takes the caller's role and organisation from it, without a
//! database read; `Caller::confirm` then checks them against the account, in the
//! same database hop as the handler's own work (`AppState::db_as`, `write_as`),
//! so that a deactivation takes effect at once without a second hop per request.

use crate::auth::tokens::Holder;
use crate::db::DbConn;
use crate::domain::reference::{OrganisationKind, Role};
use crate::error::Error;
use crate::repo;

/// The holder of a valid access token, as the token describes them. Nothing a
/// handler reads for a caller may happen outside `AppState::db_as` or
/// `write_as`, which confirm the caller first.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
    pub organisation_id: Option<String>,
    pub organisation_kind: Option<OrganisationKind>,
    pub jurisdiction: Option<String>,
    /// The session the token belongs to.
    pub session_id: String,
}

impl Caller {
    /// The caller a token's holder describes; a role or kind this server does
    /// not know makes the token invalid.
    pub fn from_holder(holder: Holder, session_id: String) -> Result<Caller, Error> {
        let invalid = |_| unauthenticated("the access token is invalid or has expired");
        let role = Role::parse(&holder.role).map_err(invalid)?;
        let organisation_kind = holder
            .organisation_kind
            .as_deref()
            .map(OrganisationKind::parse)
            .transpose()
            .map_err(invalid)?;
        Ok(Caller {
            user_id: holder.user_id,
            role,
            organisation_id: holder.organisation_id,
            organisation_kind,
            jurisdiction: holder.jurisdiction,
            session_id,
        })
    }

    /// What the token said of the caller, in the words the account is stored in.
    fn holder(&self) -> Holder {
        Holder {
            user_id: self.user_id.clone(),
            role: self.role.as_str().to_owned(),
            organisation_id: self.organisation_id.clone(),
            organisation_kind: self.organisation_kind.map(|k| k.as_str().to_owned()),
            jurisdiction: self.jurisdiction.clone(),
        }
    }

    /// Checks the token's description against the account: it must be active,
    /// its session not ended (signed out, revoked, or every session revoked by
    /// a deactivation), and it must still have the role and organisation the
    /// token was issued for. Otherwise the holder must sign in again.
    pub fn confirm(&self, conn: &mut DbConn) -> Result<(), Error> {
        match repo::users::find_active_in_session(conn, &self.user_id, &self.session_id)? {
            None => Err(unauthenticated(
                "the session of this token has ended, or its account is not active: sign in again",
            )),
            Some(found) if Holder::of(&found) != self.holder() => Err(unauthenticated(
                "the account changed since this token was issued: sign in again",
            )),
            Some(_) => Ok(()),
        }
    }

    pub fn actor(&self) -> crate::domain::audit::Actor {
        crate::domain::audit::Actor::user(&self.user_id, self.organisation_id.as_deref())
    }

    /// The caller as the access rules see them.
    pub fn viewer(&self) -> crate::domain::access::Viewer {
        crate::domain::access::Viewer {
            user_id: self.user_id.clone(),
            role: self.role,
            organisation_id: self.organisation_id.clone(),
            jurisdiction: self.jurisdiction.clone(),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn require_admin(&self) -> Result<(), Error> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::forbidden("only an administrator may do this"))
        }
    }
}

pub(crate) fn unauthenticated(detail: &str) -> Error {
    Error::unauthenticated(detail)
}
