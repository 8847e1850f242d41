//! The portal's pages: signing in and out, the start page, and the pages for
//! what cannot be shown.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::visitor::{SESSION_COOKIE, session_cookie, spent};
use super::{Failure, Visitor, page, words};
use crate::auth::tokens::{hash_secret, new_secret};
use crate::domain::validation::{Email, PASSWORD_MAX_BYTES};
use crate::error::{Error, Kind};
use crate::service::{portal_sessions, sessions};
use crate::state::AppState;
use crate::time::UtcTime;

/// The sign-in form's own token, before there is a session: the form and a
/// cookie carry the same random value, which another site can neither read
/// nor set, so it cannot sign a browser into an account of its choosing.
const FORM_COOKIE: &str = "mlat_sign_in";

#[derive(Template)]
#[template(path = "portal/sign_in.html")]
struct SignInPage<'a> {
    problem: Option<&'a str>,
    notice: Option<&'a str>,
    form_token: &'a str,
    next: &'a str,
    email: &'a str,
}

#[derive(Template)]
#[template(path = "portal/not_found.html")]
struct NotFoundPage;

#[derive(Template)]
#[template(path = "portal/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    detail: &'a str,
}

pub(super) fn render(template: &impl Template) -> Result<String, Failure> {
    template.render().map_err(|e| Failure(Error::internal(e)))
}

pub(super) fn secure(state: &AppState) -> bool {
    state.settings.public_url.starts_with("https://")
}

/// Where to go after signing in: a path of this site only, never another
/// site (`//host`, `/\host` and schemes are refused), else the start page.
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 2_000
        && !next.chars().any(char::is_control);
    if ok { next } else { "/" }
}

pub fn not_found() -> HttpResponse {
    match NotFoundPage.render() {
        Ok(html) => page(StatusCode::NOT_FOUND, html),
        Err(_) => HttpResponse::NotFound().finish(),
    }
}

/// What a refusal says to a person: each field's problem where there are.
pub fn said(err: &Error) -> String {
    match err.kind() {
        Kind::Invalid(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", words(&e.field), e.message))
            .collect::<Vec<_>>()
            .join("; "),
        _ => err.to_string(),
    }
}

/// A refusal's problems by the form's field: `key` names the form's field
/// for the API's (`identifiers[2].value`), several problems of one field
/// are joined, and a refusal that names no field is under "".
pub fn problems_by_field(
    err: &Error,
    key: impl Fn(&str) -> String,
) -> std::collections::BTreeMap<String, String> {
    let mut out: std::collections::BTreeMap<String, String> = Default::default();
    let mut add = |field: String, message: &str| {
        out.entry(field)
            .and_modify(|m| {
                m.push_str("; ");
                m.push_str(message);
            })
            .or_insert_with(|| message.to_owned());
    };
    match err.kind() {
        Kind::Invalid(errors) => {
            for e in errors {
                add(key(&e.field), &e.message);
            }
        }
        _ => add(String::new(), &said(err)),
    }
    out
}

/// The field a problem is shown at on a form with one input per top-level
/// field: `offence_categories[1]` and `retention_days.traffic` at theirs.
pub fn top_field(field: &str) -> String {
    field
        .split(['[', '.'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

pub fn error(status: StatusCode, err: &Error) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error");
    // The person's own mistakes are said; mlat's are not described.
    let detail = if status.is_server_error() {
        "Something went wrong on our side. Try again in a moment; if it persists, tell your administrator.".to_owned()
    } else {
        said(err)
    };
    match (ErrorPage {
        title,
        detail: &detail,
    })
    .render()
    {
        Ok(html) => page(status, html),
        Err(_) => HttpResponse::build(status).finish(),
    }
}

/// `/`: each person starts from their work: whoever requests are addressed
/// to from the inbox, an officer from the agency's cases, an administrator
/// from the administration.
pub async fn home(visitor: Visitor) -> HttpResponse {
    let chrome = visitor.chrome();
    let start = if chrome.responder {
        "/inbox"
    } else if chrome.officer {
        "/cases"
    } else {
        "/admin"
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, start))
        .finish()
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    pub(super) next: Option<String>,
    /// Sent back here because a second step ran out.
    #[serde(default)]
    expired: Option<String>,
    /// Sent here after choosing a password from a link.
    #[serde(default)]
    set: Option<String>,
}

/// The sign-in form, with a fresh form token.
fn sign_in_page(
    state: &AppState,
    status: StatusCode,
    problem: Option<&str>,
    notice: Option<&str>,
    next: &str,
    email: &str,
) -> Result<HttpResponse, Failure> {
    let form_token = new_secret().map_err(Error::internal)?;
    let html = render(&SignInPage {
        problem,
        notice,
        form_token: &form_token,
        next: safe_next(next),
        email,
    })?;
    let cookie = Cookie::build(FORM_COOKIE, form_token)
        .path("/sign-in")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(state))
        .finish();
    let mut response = page(status, html);
    response.add_cookie(&cookie).map_err(Error::internal)?;
    Ok(response)
}

pub async fn sign_in_form(
    state: web::Data<AppState>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, Failure> {
    let next = query.next.as_deref().unwrap_or("/");
    let problem = query
        .expired
        .is_some()
        .then_some("That sign-in ran out or was finished. Sign in again with your password.");
    let notice = query
        .set
        .is_some()
        .then_some("Your password is set. Sign in with it.");
    sign_in_page(&state, StatusCode::OK, problem, notice, next, "")
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    form_token: String,
    #[serde(default)]
    next: String,
    email: String,
    password: String,
}

pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, Failure> {
    let SignInForm {
        form_token,
        next,
        email,
        password,
    } = form.into_inner();
    let again =
        |status, problem: &str| sign_in_page(&state, status, Some(problem), None, &next, &email);
    let sent_with_form = req
        .cookie(FORM_COOKIE)
        .is_some_and(|c| hash_secret(c.value()) == hash_secret(&form_token));
    if !sent_with_form {
        return again(
            StatusCode::FORBIDDEN,
            "This sign-in form has expired or did not come from this site. Please sign in again.",
        );
    }
    let Ok(address) = Email::parse(&email) else {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your e-mail address, such as name@agency.example.",
        );
    };
    if password.is_empty() || password.len() > PASSWORD_MAX_BYTES {
        return again(StatusCode::UNPROCESSABLE_ENTITY, "Enter your password.");
    }
    let from = match state.admit_sign_in(&req) {
        Ok(from) => from,
        Err(err) => return again(StatusCode::TOO_MANY_REQUESTS, &err.to_string()),
    };
    let app = state.clone();
    let opened = web::block(move || {
        sessions::authenticate(
            &app.pool,
            &app.writers,
            &address,
            &password,
            "portal",
            from,
            Some(&app.settings.mfa_required),
            |conn, account| portal_sessions::open(conn, account, UtcTime::now()),
        )
    })
    .await?;
    let opened = match opened {
        Ok(sessions::Passed::SignedIn(opened)) => opened,
        Ok(sessions::Passed::Challenged(challenge)) => {
            let mut response = super::second_step::challenged(&state, &challenge, &next)?;
            response
                .add_cookie(&spent(FORM_COOKIE, "/sign-in"))
                .map_err(Error::internal)?;
            return Ok(response);
        }
        Err(err) => {
            return match err.kind() {
                Kind::Unauthenticated(_) => again(
                    StatusCode::UNAUTHORIZED,
                    "The e-mail address or the password is wrong.",
                ),
                Kind::TooManyAttempts { .. } => {
                    again(StatusCode::TOO_MANY_REQUESTS, &err.to_string())
                }
                _ => Err(Failure(err)),
            };
        }
    };
    // A session this browser still held ends: one person, one session per browser.
    if let Some(old) = req.cookie(SESSION_COOKIE) {
        let old = hash_secret(old.value());
        state
            .write(move |conn| portal_sessions::close(conn, &old, None))
            .await?;
    }
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, safe_next(&next).to_owned()))
        .finish();
    response
        .add_cookie(&session_cookie(opened.cookie, secure(&state)))
        .map_err(Error::internal)?;
    response
        .add_cookie(&spent(FORM_COOKIE, "/sign-in"))
        .map_err(Error::internal)?;
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf_token: String,
}

pub async fn sign_out(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, Failure> {
    if !visitor.sent_its_token(&form.csrf_token) {
        return Err(Failure(Error::forbidden(
            "This form did not come from your session. Go back, reload the page and try again.",
        )));
    }
    let (id_hash, actor) = (visitor.session.id_hash.clone(), visitor.actor());
    state
        .write(move |conn| portal_sessions::close(conn, &id_hash, Some(&actor)))
        .await?;
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/sign-in"))
        .finish();
    response
        .add_cookie(&spent(SESSION_COOKIE, "/"))
        .map_err(Error::internal)?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_followed_after_sign_in() {
        assert_eq!(safe_next("/requests/abc?x=1"), "/requests/abc?x=1");
        for elsewhere in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "",
            "/\u{0}x",
        ] {
            assert_eq!(safe_next(elsewhere), "/", "{elsewhere:?}");
        }
    }
}
