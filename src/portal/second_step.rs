//! The second step of signing in through the portal: a code from the
//! person's authenticator, or, for an account that must have a factor and has
//! none, its enrolment (a QR code, then the first code, then the recovery
//! codes, shown once).
//!
//! The sign-in's challenge travels in its own cookie, `HttpOnly` and
//! `SameSite=Strict` on `/sign-in`: another site's form cannot send it, so it
//! guards these forms as the sign-in form's token guards that one.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::pages::{NextQuery, render, safe_next, secure};
use super::visitor::{SESSION_COOKIE, session_cookie, spent};
use super::{Failure, page};
use crate::auth::tokens::hash_secret;
use crate::error::{Error, Kind};
use crate::service::portal_sessions;
use crate::service::second_factor::{self, Challenge};
use crate::state::AppState;
use crate::time::UtcTime;

pub const CHALLENGE_COOKIE: &str = "mlat_challenge";

#[derive(Template)]
#[template(path = "portal/sign_in_code.html")]
struct CodePage<'a> {
    problem: Option<&'a str>,
    next: &'a str,
}

#[derive(Template)]
#[template(path = "portal/sign_in_enrol.html")]
pub(super) struct EnrolPage<'a> {
    pub(super) problem: Option<&'a str>,
    pub(super) next: &'a str,
    pub(super) secret: &'a str,
    pub(super) qr_svg: &'a str,
    /// Where the code goes: the sign-in's second step, or the account page's.
    pub(super) action: &'a str,
    /// The session's form token, when signed in.
    pub(super) csrf_token: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "portal/recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    next: &'a str,
    codes: &'a [String],
}

/// The recovery codes, shown once: no cache keeps the page.
pub(super) fn recovery_codes_page(next: &str, codes: &[String]) -> Result<HttpResponse, Failure> {
    let mut response = page(StatusCode::OK, render(&RecoveryCodesPage { next, codes })?);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// Where a right password leads when a second step is needed: the code's
/// page or the enrolment's, holding the challenge.
pub fn challenged(
    state: &AppState,
    challenge: &Challenge,
    next: &str,
) -> Result<HttpResponse, Failure> {
    let step = if challenge.mfa == "enrol" {
        "/sign-in/enrol"
    } else {
        "/sign-in/code"
    };
    let next: String = url::form_urlencoded::byte_serialize(safe_next(next).as_bytes()).collect();
    let cookie = Cookie::build(CHALLENGE_COOKIE, challenge.challenge.clone())
        .path("/sign-in")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(state))
        .max_age(actix_web::cookie::time::Duration::seconds(
            challenge.expires_in,
        ))
        .finish();
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{step}?next={next}")))
        .finish();
    response.add_cookie(&cookie).map_err(Error::internal)?;
    Ok(response)
}

/// Back to the password, saying why.
fn start_again() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/sign-in?expired=1"))
        .cookie(spent(CHALLENGE_COOKIE, "/sign-in"))
        .finish()
}

fn challenge_of(req: &HttpRequest) -> Option<String> {
    req.cookie(CHALLENGE_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

pub async fn code_form(
    req: HttpRequest,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, Failure> {
    if challenge_of(&req).is_none() {
        return Ok(start_again());
    }
    let next = safe_next(query.next.as_deref().unwrap_or("/"));
    Ok(page(
        StatusCode::OK,
        render(&CodePage {
            problem: None,
            next,
        })?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    next: String,
    code: String,
}

/// Signed in: the session's cookie set, the challenge's spent, and a
/// session this browser still held ended.
async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
    opened: portal_sessions::Opened,
    mut response: HttpResponse,
) -> Result<HttpResponse, Failure> {
    if let Some(old) = req.cookie(SESSION_COOKIE) {
        let old = hash_secret(old.value());
        state
            .write(move |conn| portal_sessions::close(conn, &old, None))
            .await?;
    }
    response
        .add_cookie(&session_cookie(opened.cookie, secure(state)))
        .map_err(Error::internal)?;
    response
        .add_cookie(&spent(CHALLENGE_COOKIE, "/sign-in"))
        .map_err(Error::internal)?;
    Ok(response)
}

/// How a refused code is answered: the same page with the problem, or the
/// password again when the challenge is over.
fn refused(
    err: Error,
    again: impl Fn(StatusCode, &str) -> Result<HttpResponse, Failure>,
) -> Result<HttpResponse, Failure> {
    match err.kind() {
        _ if second_factor::is_over(&err) => Ok(start_again()),
        Kind::Unauthenticated(_) => again(
            StatusCode::UNAUTHORIZED,
            "That code is wrong, or was used already. Wait for the app to show a new one and try again.",
        ),
        Kind::TooManyAttempts { .. } => again(StatusCode::TOO_MANY_REQUESTS, &err.to_string()),
        Kind::Conflict { .. } => Ok(start_again()),
        _ => Err(Failure(err)),
    }
}

pub async fn code(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, Failure> {
    let CodeForm { next, code } = form.into_inner();
    let next = safe_next(&next).to_owned();
    let Some(challenge) = challenge_of(&req) else {
        return Ok(start_again());
    };
    let again = |status, problem: &str| {
        Ok(page(
            status,
            render(&CodePage {
                problem: Some(problem),
                next: &next,
            })?,
        ))
    };
    if code.trim().is_empty() || code.len() > 64 {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Type the six digits your app shows, or a recovery code.",
        );
    }
    let from = match state.admit_sign_in(&req) {
        Ok(from) => from,
        Err(err) => return again(StatusCode::TOO_MANY_REQUESTS, &err.to_string()),
    };
    let app = state.clone();
    let opened = web::block(move || {
        second_factor::complete(
            &app.pool,
            &app.writers,
            &app.factor_key,
            &challenge,
            &code,
            from,
            |conn, account| portal_sessions::open(conn, account, UtcTime::now()),
        )
    })
    .await?;
    match opened {
        Ok(opened) => {
            let response = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, next.clone()))
                .finish();
            signed_in(&state, &req, opened, response).await
        }
        Err(err) => refused(err, again),
    }
}

async fn enrol_page(
    state: &web::Data<AppState>,
    challenge: String,
    status: StatusCode,
    problem: Option<&str>,
    next: &str,
) -> Result<HttpResponse, Failure> {
    let app = state.clone();
    let enrolment = web::block(move || {
        second_factor::begin_enrolment(&app.pool, &app.writers, &app.factor_key, &challenge)
    })
    .await?;
    let enrolment = match enrolment {
        Ok(enrolment) => enrolment,
        Err(err) if matches!(err.kind(), Kind::Unauthenticated(_) | Kind::Conflict { .. }) => {
            return Ok(start_again());
        }
        Err(err) => return Err(Failure(err)),
    };
    let (svg, grouped) = drawn(&enrolment)?;
    Ok(page(
        status,
        render(&EnrolPage {
            problem,
            next,
            secret: &grouped,
            qr_svg: &svg,
            action: "/sign-in/enrol",
            csrf_token: None,
        })?,
    ))
}

/// What the enrolment page shows of a secret: its QR code as an SVG drawing
/// (without the XML declaration before it), and the key grouped by four, as
/// apps show keys, so that it can be read out.
pub(super) fn drawn(enrolment: &second_factor::Enrolment) -> Result<(String, String), Failure> {
    let svg = crate::auth::totp::qr_svg(&enrolment.otpauth_uri).map_err(Error::internal)?;
    let svg = svg
        .find("<svg")
        .map_or(svg.clone(), |at| svg[at..].to_owned());
    let grouped = enrolment
        .secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok((svg, grouped))
}

pub async fn enrol_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, Failure> {
    let Some(challenge) = challenge_of(&req) else {
        return Ok(start_again());
    };
    let next = safe_next(query.next.as_deref().unwrap_or("/")).to_owned();
    enrol_page(&state, challenge, StatusCode::OK, None, &next).await
}

pub async fn enrol(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, Failure> {
    let CodeForm { next, code } = form.into_inner();
    let next = safe_next(&next).to_owned();
    let Some(challenge) = challenge_of(&req) else {
        return Ok(start_again());
    };
    if crate::auth::totp::normalise_totp(&code).is_none() {
        return enrol_page(
            &state,
            challenge,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Type the six digits your app shows for mlat."),
            &next,
        )
        .await;
    }
    let from = match state.admit_sign_in(&req) {
        Ok(from) => from,
        Err(err) => {
            return enrol_page(
                &state,
                challenge,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&err.to_string()),
                &next,
            )
            .await;
        }
    };
    let app = state.clone();
    let sent = challenge.clone();
    let confirmed = web::block(move || {
        second_factor::confirm_enrolment(
            &app.pool,
            &app.writers,
            &app.factor_key,
            &sent,
            &code,
            from,
            |conn, account| portal_sessions::open(conn, account, UtcTime::now()),
        )
    })
    .await?;
    match confirmed {
        Ok((opened, codes)) => {
            let response = recovery_codes_page(&next, &codes)?;
            signed_in(&state, &req, opened, response).await
        }
        Err(err) => {
            let problem = match err.kind() {
                _ if second_factor::is_over(&err) => return Ok(start_again()),
                Kind::Unauthenticated(_) => {
                    "That code is not the one the app shows now: check that you scanned this page's code, and type the digits again.".to_owned()
                }
                Kind::TooManyAttempts { .. } => err.to_string(),
                Kind::Conflict { .. } => return Ok(start_again()),
                _ => return Err(Failure(err)),
            };
            let status = match err.kind() {
                Kind::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            enrol_page(&state, challenge, status, Some(&problem), &next).await
        }
    }
}
