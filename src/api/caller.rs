//! The API's caller: the bearer token of a request, checked (`auth::caller`).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use crate::auth::caller::{Caller, unauthenticated};
use crate::error::Error;
use crate::state::AppState;

impl FromRequest for Caller {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(Error::internal("application state missing")));
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
