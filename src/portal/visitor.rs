//! Who is looking at a page: the session its cookie names, confirmed on every
//! request in one database read (and a write at most once a minute).

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};

use super::Failure;
use crate::domain::audit::Actor;
use crate::error::Error;
use crate::service::portal_sessions::{self, Lookup, Session};
use crate::state::AppState;
use crate::time::UtcTime;

pub const SESSION_COOKIE: &str = "mlat_session";

/// A signed-in person with a session in use.
pub struct Visitor {
    pub session: Session,
}

/// What every signed-in page shows around its content: who is signed in,
/// where they can go, and the token their sign-out form carries.
pub struct Chrome {
    pub name: String,
    pub csrf_token: String,
    /// Whether requests are addressed to the person's organisation (a
    /// provider, or a central authority executing requests): it has an inbox.
    pub responder: bool,
    /// A liaison officer: has cases.
    pub officer: bool,
    /// A central authority: approves its jurisdiction's outgoing requests.
    pub approver: bool,
    pub admin: bool,
    /// Runs its organisation's accounts.
    pub org_admin: bool,
}

impl Visitor {
    pub fn chrome(&self) -> Chrome {
        use crate::domain::reference::Role;
        let user = &self.session.account.user;
        Chrome {
            name: user.name.clone(),
            csrf_token: self.session.csrf_token.clone(),
            responder: matches!(user.role, Role::Provider | Role::CentralAuthority),
            officer: user.role == Role::LiaisonOfficer,
            approver: user.role == Role::CentralAuthority,
            admin: user.role == Role::Admin,
            org_admin: user.org_admin && user.organisation_id.is_some(),
        }
    }

    /// The person as a principal for the database hops of a change, each of
    /// which confirms the session again (`AppState::write_for`).
    pub fn principal(&self) -> crate::state::Principal {
        crate::state::Principal::Session(Box::new(self.session.clone()))
    }

    pub fn viewer(&self) -> Result<crate::domain::access::Viewer, crate::error::Error> {
        self.session
            .account
            .viewer()
            .map_err(crate::error::Error::internal)
    }

    pub fn actor(&self) -> Actor {
        let user = &self.session.account.user;
        Actor::user(&user.id, user.organisation_id.as_deref())
    }

    /// Whether a form's token is this session's (compared through their
    /// hashes, so the time taken says nothing of the token).
    pub fn sent_its_token(&self, sent: &str) -> bool {
        use crate::auth::tokens::hash_secret;
        hash_secret(sent) == hash_secret(&self.session.csrf_token)
    }
}

/// The session cookie: never readable by a script, sent on top-level
/// navigation from a link in an e-mail (`Lax`) but not on another site's
/// forms, and only over TLS when the portal is served over https.
pub fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish()
}

/// Tells the browser to forget a cookie.
pub fn spent(name: &'static str, path: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::build(name, "").path(path).finish();
    cookie.make_removal();
    cookie
}

/// Why a page cannot be shown to this visitor.
#[derive(Debug)]
pub enum Refused {
    /// Not signed in, or the session ran out: sign in, then come back here.
    SignIn {
        back_to: String,
    },
    Failed(Failure),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::SignIn { .. } => f.write_str("sign in first"),
            Refused::Failed(failure) => failure.fmt(f),
        }
    }
}

impl ResponseError for Refused {
    fn status_code(&self) -> StatusCode {
        match self {
            Refused::SignIn { .. } => StatusCode::SEE_OTHER,
            Refused::Failed(failure) => failure.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Refused::SignIn { back_to } => {
                let next: String =
                    url::form_urlencoded::byte_serialize(back_to.as_bytes()).collect();
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, format!("/sign-in?next={next}")))
                    .cookie(spent(SESSION_COOKIE, "/"))
                    .finish()
            }
            Refused::Failed(failure) => failure.error_response(),
        }
    }
}

impl<E: Into<Error>> From<E> for Refused {
    fn from(error: E) -> Self {
        Refused::Failed(Failure(error.into()))
    }
}

impl FromRequest for Visitor {
    type Error = Refused;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Refused>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        // Only a page can be come back to: a form posted after the session
        // ran out (sign-out, say) leads back to the start page.
        let back_to = match req.method() {
            &actix_web::http::Method::GET => req
                .uri()
                .path_and_query()
                .map_or("/".to_owned(), |p| p.as_str().to_owned()),
            _ => "/".to_owned(),
        };
        Box::pin(async move {
            let state = state.ok_or_else(|| Error::internal("no application state"))?;
            let Some(cookie) = cookie else {
                return Err(Refused::SignIn { back_to });
            };
            let now = UtcTime::now();
            match state
                .db(move |conn| portal_sessions::find(conn, &cookie, now))
                .await?
            {
                Lookup::Live { session, mark_seen } => {
                    if mark_seen {
                        let id_hash = session.id_hash.clone();
                        state
                            .write(move |conn| portal_sessions::mark_seen(conn, &id_hash, now))
                            .await?;
                    }
                    Ok(Visitor { session: *session })
                }
                Lookup::Over { id_hash } => {
                    state
                        .write(move |conn| portal_sessions::close(conn, &id_hash, None))
                        .await?;
                    Err(Refused::SignIn { back_to })
                }
                Lookup::Unknown => Err(Refused::SignIn { back_to }),
            }
        })
    }
}
