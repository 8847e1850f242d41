//! The authenticated caller. The extractor checks the access token's signature
//! and times and takes the caller's role and organisation from it, without a
//! database read; `Caller::confirm` then checks them against the account, in the
//! same database hop as the handler's own work (`AppState::db_as`, `write_as`),
//! so that a deactivation takes effect at once without a second hop per request.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use crate::api::error::ApiError;
use crate::auth::tokens::Holder;
use crate::db::DbConn;
use crate::domain::reference::{OrganisationKind, Role};
use crate::repo;
use crate::state::AppState;

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
    pub fn from_holder(holder: Holder, session_id: String) -> Result<Caller, ApiError> {
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
    pub fn confirm(&self, conn: &mut DbConn) -> Result<(), ApiError> {
        match repo::users::find_active_in_session(conn, &self.user_id, &self.session_id)? {
            None => Err(unauthenticated(
                "the session of this token has ended, or its account is not active: sign in again",
            )),
            Some(found) if found.holder() != self.holder() => Err(unauthenticated(
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

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only an administrator may do this".into(),
            ))
        }
    }
}

fn unauthenticated(detail: &str) -> ApiError {
    ApiError::Unauthenticated(detail.into())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(ApiError::internal("application state missing")));
        };
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let Some(token) = bearer else {
            return ready(Err(unauthenticated(
                "send an access token as `Authorization: Bearer <token>`",
            )));
        };
        ready(
            state
                .keys
                .decode(token)
                .map_err(|_| unauthenticated("the access token is invalid or has expired"))
                .and_then(|claims| {
                    let session = claims.sid.clone();
                    Caller::from_holder(claims.holder(), session)
                }),
        )
    }
}
