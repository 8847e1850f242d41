//! `/account/setup`: where an invitation or a reset link e-mailed to a person
//! leads. The person chooses their own password (`service::stewardship`),
//! then signs in with it, and enrols their second factor if they must.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::pages::render;
use super::{Failure, page};
use crate::error::Kind;
use crate::service::stewardship;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "portal/account_setup.html")]
struct SetupPage<'a> {
    heading: &'a str,
    problem: Option<&'a str>,
    /// Who the link is for; `None`: the link is no good.
    who: Option<String>,
    reset_factor: bool,
    token: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn show(
    state: &web::Data<AppState>,
    token: &str,
    status: StatusCode,
    problem: Option<&str>,
) -> Result<HttpResponse, Failure> {
    let sent = token.to_owned();
    let opened = state
        .db(move |conn| match stewardship::open_link(conn, &sent) {
            Ok(found) => Ok(Some(found)),
            Err(e) if matches!(e.kind(), Kind::Invalid(_)) => Ok(None),
            Err(e) => Err(e),
        })
        .await?;
    let html = match &opened {
        Some((link, user)) => render(&SetupPage {
            heading: if link.purpose == "invitation" {
                "Choose your password"
            } else {
                "Choose a new password"
            },
            problem,
            who: Some(format!("{} <{}>", user.name, user.email)),
            reset_factor: link.reset_factor,
            token,
        })?,
        None => render(&SetupPage {
            heading: "This link no longer works",
            problem: Some(
                "It has run out or was used already. Ask your organisation's administrator for a new one.",
            ),
            who: None,
            reset_factor: false,
            token: "",
        })?,
    };
    let status = if opened.is_some() {
        status
    } else {
        StatusCode::GONE
    };
    Ok(page(status, html))
}

pub async fn setup_form(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, Failure> {
    show(&state, &query.token, StatusCode::OK, None).await
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    new_password: String,
    new_password_again: String,
}

pub async fn setup(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, Failure> {
    let SetupForm {
        token,
        new_password,
        new_password_again,
    } = form.into_inner();
    if token.is_empty() || token.len() > 256 {
        return show(&state, "", StatusCode::GONE, None).await;
    }
    if new_password != new_password_again {
        return show(
            &state,
            &token,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("The two passwords differ: type the same one twice."),
        )
        .await;
    }
    if let Err(err) = state.admit_sign_in(&req) {
        return show(
            &state,
            &token,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&err.to_string()),
        )
        .await;
    }
    let app = state.clone();
    let sent = token.clone();
    let done =
        web::block(move || stewardship::use_link(&app.pool, &app.writers, &sent, &new_password))
            .await?;
    match done {
        Ok(()) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/sign-in?set=1"))
            .finish()),
        Err(err) => match err.kind() {
            Kind::Invalid(errors) => {
                let said = errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
                show(
                    &state,
                    &token,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(&said),
                )
                .await
            }
            _ => Err(Failure(err)),
        },
    }
}
