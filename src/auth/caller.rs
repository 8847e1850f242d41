//! The authenticated caller: a handler that takes a `Caller` cannot run without a
//! valid access token of an active user.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use crate::api::error::ApiError;
use crate::domain::reference::{OrganisationKind, Role};
use crate::repo;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organisation_id: Option<String>,
    pub organisation_kind: Option<OrganisationKind>,
    pub jurisdiction: Option<String>,
}

impl Caller {
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
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let token = bearer.ok_or_else(|| {
                unauthenticated("send an access token as `Authorization: Bearer <token>`")
            })?;
            let claims = state
                .keys
                .decode(&token)
                .map_err(|_| unauthenticated("the access token is invalid or has expired"))?;
            // Reading the user on every request is what makes deactivation take
            // effect at once, and keeps role and organisation current.
            let found = state
                .db(move |conn| {
                    Ok(repo::users::find_active_with_organisation(
                        conn,
                        &claims.sub,
                    )?)
                })
                .await?;
            let found = found
                .ok_or_else(|| unauthenticated("the account behind this token is not active"))?;
            let role = Role::parse(&found.user.role).map_err(ApiError::internal)?;
            let organisation_kind = found
                .organisation_kind
                .as_deref()
                .map(OrganisationKind::parse)
                .transpose()
                .map_err(ApiError::internal)?;
            Ok(Caller {
                user_id: found.user.id,
                email: found.user.email,
                name: found.user.name,
                role,
                organisation_id: found.user.organisation_id,
                organisation_kind,
                jurisdiction: found.jurisdiction,
            })
        })
    }
}
