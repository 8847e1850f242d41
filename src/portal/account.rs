//! A person's own account: who they are here, and their password (changed
//! by the same use case as `POST /api/v1/me/password`).

use std::collections::BTreeMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;

use super::{Chrome, Failure, Visitor, page, words};
use crate::error::Error;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "portal/account_page.html")]
struct AccountPage {
    chrome: Chrome,
    email: String,
    role: String,
    organisation: Option<String>,
    /// When the second factor in force was set up, if there is one.
    factor_since: Option<String>,
    sessions: Vec<SessionLine>,
    notice: Option<&'static str>,
    problems: BTreeMap<String, String>,
}

/// One live session of the person's, as the page lists it.
struct SessionLine {
    id: String,
    what: &'static str,
    started: String,
    last_active: String,
    current: bool,
}

impl AccountPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems.get(field).map(String::as_str)
    }
}

async fn account_page(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    notice: Option<&'static str>,
    problems: BTreeMap<String, String>,
    status: StatusCode,
) -> Result<HttpResponse, Failure> {
    let user = visitor.session.account.user.clone();
    let this = crate::service::accounts::Keep::Portal(visitor.session.id_hash.clone());
    let (organisation_id, user_id) = (user.organisation_id.clone(), user.id.clone());
    let (organisation, sessions, factor_since) = state
        .db_for(&visitor.principal(), move |conn| {
            let organisation = match organisation_id {
                Some(id) => crate::repo::organisations::get(conn, &id)?.map(|o| o.name),
                None => None,
            };
            let sessions = crate::service::own_sessions::list(conn, &user_id, &this)?;
            let factor = crate::repo::factors::find(conn, &user_id)?
                .and_then(|f| f.confirmed_at)
                .map(super::inbox::minute);
            Ok((organisation, sessions, factor))
        })
        .await?;
    let sessions = sessions
        .into_iter()
        .map(|s| SessionLine {
            what: match (s.kind, s.current) {
                (_, true) => "This browser",
                ("portal", false) => "Another browser",
                _ => "A program, through the API",
            },
            started: super::inbox::minute(s.started_at),
            last_active: super::inbox::minute(s.last_active_at),
            current: s.current,
            id: s.id,
        })
        .collect();
    let html = AccountPage {
        chrome: visitor.chrome(),
        email: user.email,
        role: words(user.role.as_str()),
        organisation,
        factor_since,
        sessions,
        notice,
        problems,
    };
    Ok(page(status, super::pages::render(&html)?))
}

pub async fn show(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<super::admin::NoticeQuery>,
) -> Result<HttpResponse, Failure> {
    let notice = match query.done.as_str() {
        "password" => Some("Your password was changed. Every other session of yours has ended."),
        "session" => Some("That session has ended."),
        _ => None,
    };
    account_page(&state, &visitor, notice, BTreeMap::new(), StatusCode::OK).await
}

/// `POST /account/password`: the current password, the new one twice.
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let text = |k: &str| typed.get(k).cloned().unwrap_or_default();
    let (current, new, again) = (
        text("current_password"),
        text("new_password"),
        text("new_password_again"),
    );
    let changed = async {
        if new != again {
            return Err(Error::field(
                "new_password_again",
                "is not the same as the new password",
            ));
        }
        let max = crate::domain::validation::PASSWORD_MAX_BYTES;
        if current.is_empty() || current.len() > max {
            return Err(Error::field(
                "current_password",
                "enter your current password",
            ));
        }
        let from = state.admit_sign_in(&req)?;
        let (app, user_id) = (state.clone(), visitor.session.account.user.id.clone());
        let keep = crate::service::accounts::Keep::Portal(visitor.session.id_hash.clone());
        web::block(move || {
            crate::service::accounts::change_password(
                &app.pool,
                &app.writers,
                &user_id,
                &current,
                &new,
                from,
                keep,
            )
        })
        .await?
    }
    .await;
    match changed {
        Ok(()) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/account?done=password"))
            .finish()),
        Err(e) if e.status_code().is_client_error() => {
            let problems = super::pages::problems_by_field(&e, super::pages::top_field);
            account_page(&state, &visitor, None, problems, e.status_code()).await
        }
        Err(e) => Err(Failure(e)),
    }
}

/// `POST /account/sessions`: ends one of the person's own sessions.
pub async fn end_session(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let id = typed.get("session").cloned().unwrap_or_default();
    let (user_id, actor) = (visitor.session.account.user.id.clone(), visitor.actor());
    state
        .write_for(&visitor.principal(), move |conn| {
            crate::service::own_sessions::end(conn, &actor, &user_id, &id)
        })
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/account?done=session"))
        .finish())
}

/// `POST /account/second-factor`: begins setting up a factor (a first one,
/// or a new phone, proven by a code of the current one or a recovery code).
pub async fn begin_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let code = typed
        .get("code")
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty() && c.len() <= 64);
    let begun = async {
        let from = state.admit_sign_in(&req)?;
        let (app, user_id) = (state.clone(), visitor.session.account.user.id.clone());
        web::block(move || {
            crate::service::second_factor::begin_own(
                &app.pool,
                &app.writers,
                &app.factor_key,
                &user_id,
                code.as_deref(),
                from,
            )
        })
        .await?
    }
    .await;
    match begun {
        Ok(enrolment) => {
            let (svg, grouped) = super::second_step::drawn(&enrolment)?;
            let html = super::pages::render(&super::second_step::EnrolPage {
                problem: None,
                next: "/account",
                secret: &grouped,
                qr_svg: &svg,
                action: "/account/second-factor/confirm",
                csrf_token: Some(&visitor.session.csrf_token),
            })?;
            Ok(page(StatusCode::OK, html))
        }
        Err(e) if e.status_code().is_client_error() => {
            let problems = super::pages::problems_by_field(&e, |_| "code".to_owned());
            account_page(&state, &visitor, None, problems, e.status_code()).await
        }
        Err(e) => Err(Failure(e)),
    }
}

/// `POST /account/second-factor/confirm`: the new app's first code; the
/// recovery codes are shown once.
pub async fn confirm_factor(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let code = typed.get("code").cloned().unwrap_or_default();
    let (user_id, key) = (
        visitor.session.account.user.id.clone(),
        state.factor_key.clone(),
    );
    let confirmed = state
        .write_for(&visitor.principal(), move |conn| {
            let user = crate::service::stewardship::steward(conn, &user_id)?;
            crate::service::second_factor::confirm_own(conn, &key, &user, &code)
        })
        .await;
    match confirmed {
        Ok(codes) => super::second_step::recovery_codes_page("/account", &codes),
        Err(e) if e.status_code().is_client_error() => {
            let mut problems = BTreeMap::new();
            problems.insert(
                "code".to_owned(),
                format!("{}: start again below.", super::pages::said(&e)),
            );
            account_page(&state, &visitor, None, problems, e.status_code()).await
        }
        Err(e) => Err(Failure(e)),
    }
}
