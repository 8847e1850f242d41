use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::error::Problem;
use super::organisations::OrganisationOut;
use crate::auth::Caller;
use crate::domain::validation::Email;
use crate::error::Error;
use crate::repo;
use crate::service::second_factor::{self, Challenge};
use crate::service::sessions;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    #[schema(format = Email, example = "officer@gardai.example")]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
}

/// A sign-in's answer: the tokens, or the challenge of its second step.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LoginOut {
    Tokens(sessions::TokenPair),
    SecondStep(Challenge),
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses(
        (status = 200, description = "Signed in (an access token and a refresh token), or, when the account has a second factor or must enrol one, `{mfa, challenge}` for the second step", body = LoginOut),
        (status = 401, description = "The e-mail address or the password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins for this account from this address, or too many sign-ins from this address; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginIn>,
) -> Result<HttpResponse, Error> {
    let from = state.admit_sign_in(&req)?;
    let LoginIn { email, password } = body.into_inner();
    let email = Email::parse(&email).map_err(|m| Error::field("email", m))?;
    if password.is_empty() || password.len() > crate::domain::validation::PASSWORD_MAX_BYTES {
        return Err(Error::field(
            "password",
            "must be given, at most 1024 bytes",
        ));
    }
    // Takes a connection for each of its transactions, not for the whole
    // sign-in (`sessions::login`).
    let app = state.clone();
    let passed = web::block(move || {
        sessions::login(
            &app.pool,
            &app.writers,
            &app.keys,
            &app.settings.mfa_required,
            &email,
            &password,
            from,
        )
    })
    .await??;
    Ok(HttpResponse::Ok().json(match passed {
        sessions::Passed::SignedIn(pair) => LoginOut::Tokens(pair),
        sessions::Passed::Challenged(challenge) => LoginOut::SecondStep(challenge),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeIn {
    /// From the sign-in's answer.
    pub challenge: String,
    /// Six digits from the authenticator app, or one of the recovery codes.
    #[schema(example = "492039")]
    pub code: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeIn {
    pub challenge: String,
}

fn check_challenge_shape(challenge: &str) -> Result<(), Error> {
    if challenge.is_empty() || challenge.len() > 256 {
        return Err(Error::field(
            "challenge",
            "must be the challenge the sign-in gave",
        ));
    }
    Ok(())
}

fn check_code_shape(code: &str) -> Result<(), Error> {
    if code.trim().is_empty() || code.len() > 64 {
        return Err(Error::field(
            "code",
            "must be the six digits the authenticator shows, or a recovery code",
        ));
    }
    Ok(())
}

/// Completes a sign-in with a code from the account's authenticator (each
/// code once) or one of its recovery codes (each once).
#[utoipa::path(post, path = "/api/v1/auth/login/mfa", tag = "auth", request_body = CodeIn,
    responses(
        (status = 200, description = "Signed in", body = sessions::TokenPair),
        (status = 401, description = "The code is wrong or was used already, or the challenge has expired", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account must enrol a factor first", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins for this account from this address; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login_mfa(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CodeIn>,
) -> Result<HttpResponse, Error> {
    let CodeIn { challenge, code } = body.into_inner();
    check_challenge_shape(&challenge)?;
    check_code_shape(&code)?;
    let from = state.admit_sign_in(&req)?;
    let app = state.clone();
    let pair = web::block(move || {
        second_factor::complete(
            &app.pool,
            &app.writers,
            &app.factor_key,
            &challenge,
            &code,
            from,
            |conn, account| sessions::start_family(conn, &app.keys, account),
        )
    })
    .await??;
    Ok(HttpResponse::Ok().json(pair))
}

/// Gives the secret of a new second factor to an account that must enrol
/// one; asked again during the same sign-in, the same secret.
#[utoipa::path(post, path = "/api/v1/auth/mfa/enrol", tag = "auth", request_body = ChallengeIn,
    responses(
        (status = 200, description = "The secret to give the authenticator app, and its `otpauth://` URI", body = second_factor::Enrolment),
        (status = 401, description = "The challenge has expired or is spent", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account has a factor already", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn mfa_enrol(
    state: web::Data<AppState>,
    body: web::Json<ChallengeIn>,
) -> Result<HttpResponse, Error> {
    let challenge = body.into_inner().challenge;
    check_challenge_shape(&challenge)?;
    let app = state.clone();
    let enrolment = web::block(move || {
        second_factor::begin_enrolment(&app.pool, &app.writers, &app.factor_key, &challenge)
    })
    .await??;
    Ok(HttpResponse::Ok().json(enrolment))
}

/// Signed in with a new factor: the tokens and ten recovery codes, shown
/// this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EnrolledOut {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// Each signs in once in place of a code; keep them apart from the phone.
    pub recovery_codes: Vec<String>,
}

/// Confirms the enrolment with the first code the app shows, and signs in.
#[utoipa::path(post, path = "/api/v1/auth/mfa/confirm", tag = "auth", request_body = CodeIn,
    responses(
        (status = 200, description = "Enrolled and signed in, with the recovery codes", body = EnrolledOut),
        (status = 401, description = "The code is wrong, or the challenge has expired", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No enrolment has begun (`/auth/mfa/enrol` first)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins for this account from this address; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn mfa_confirm(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CodeIn>,
) -> Result<HttpResponse, Error> {
    let CodeIn { challenge, code } = body.into_inner();
    check_challenge_shape(&challenge)?;
    check_code_shape(&code)?;
    let from = state.admit_sign_in(&req)?;
    let app = state.clone();
    let (pair, recovery_codes) = web::block(move || {
        second_factor::confirm_enrolment(
            &app.pool,
            &app.writers,
            &app.factor_key,
            &challenge,
            &code,
            from,
            |conn, account| sessions::start_family(conn, &app.keys, account),
        )
    })
    .await??;
    Ok(HttpResponse::Ok().json(EnrolledOut {
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        token_type: pair.token_type,
        expires_in: pair.expires_in,
        recovery_codes,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    pub refresh_token: String,
}

fn check_token_shape(token: &str) -> Result<(), Error> {
    if token.is_empty() || token.len() > 256 {
        return Err(Error::field(
            "refresh_token",
            "must be a token this service issued",
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshIn,
    responses(
        (status = 200, description = "A new pair; the refresh token sent is spent", body = sessions::TokenPair),
        (status = 401, description = "The token is unknown, expired or already spent (its family is then revoked)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshIn>,
) -> Result<HttpResponse, Error> {
    let token = body.into_inner().refresh_token;
    check_token_shape(&token)?;
    let app = state.clone();
    let pair =
        web::block(move || sessions::refresh(&app.pool, &app.writers, &app.keys, &token)).await??;
    Ok(HttpResponse::Ok().json(pair))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshIn,
    responses((status = 204, description = "The refresh token and its family are revoked")))]
pub async fn logout(
    state: web::Data<AppState>,
    body: web::Json<RefreshIn>,
) -> Result<HttpResponse, Error> {
    let token = body.into_inner().refresh_token;
    check_token_shape(&token)?;
    let app = state.clone();
    web::block(move || sessions::logout(&app.pool, &app.writers, &token)).await??;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeOut {
    pub id: String,
    pub email: String,
    pub name: String,
    #[schema(value_type = crate::domain::reference::Role)]
    pub role: String,
    pub organisation: Option<OrganisationOut>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The signed-in user and their organisation", body = MeOut)))]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, Error> {
    let id = caller.user_id.clone();
    let (user, organisation) = state
        .db_as(&caller, move |conn| {
            let user = repo::users::get(conn, &id)?
                .ok_or_else(|| Error::unauthenticated("the account is gone"))?;
            let organisation = match &user.organisation_id {
                Some(org) => repo::organisations::get(conn, org)?,
                None => None,
            };
            Ok((user, organisation))
        })
        .await?;
    Ok(HttpResponse::Ok().json(MeOut {
        id: user.id,
        email: user.email,
        name: user.name,
        role: caller.role.as_str().to_owned(),
        organisation: organisation.map(OrganisationOut::try_from).transpose()?,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeIn {
    #[schema(format = Password)]
    pub current_password: String,
    /// At least 12 characters and hard to guess.
    #[schema(format = Password)]
    pub new_password: String,
}

/// Changes the caller's own password. The current one is checked as a
/// sign-in's (the same lockout and per-address limit); every other session
/// and refresh token of the account ends, this session's family stays.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", security(("bearer" = [])), request_body = PasswordChangeIn,
    responses(
        (status = 204, description = "Changed; every other session and refresh token of the account has ended"),
        (status = 422, description = "`current_password` is wrong, or `new_password` is too short or easy to guess", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts for this account from this address, or too many from this address; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<PasswordChangeIn>,
) -> Result<HttpResponse, Error> {
    let PasswordChangeIn {
        current_password,
        new_password,
    } = body.into_inner();
    let max = crate::domain::validation::PASSWORD_MAX_BYTES;
    if current_password.is_empty() || current_password.len() > max {
        return Err(Error::field(
            "current_password",
            "must be given, at most 1024 bytes",
        ));
    }
    let from = state.admit_sign_in(&req)?;
    let app = state.clone();
    let keep = crate::service::accounts::Keep::Family(caller.session_id.clone());
    web::block(move || {
        crate::service::accounts::change_password(
            &app.pool,
            &app.writers,
            &caller.user_id,
            &current_password,
            &new_password,
            from,
            keep,
        )
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountLinkIn {
    /// The `token` of the link e-mailed to the holder.
    pub token: String,
    /// At least 12 characters and hard to guess.
    #[schema(format = Password)]
    pub new_password: String,
}

/// Sets the password from an invitation or a reset link (used once; a reset
/// link works one hour, an invitation seven days). Every session of the
/// account ends; a reset that said so also removes the second factor.
#[utoipa::path(post, path = "/api/v1/auth/account-link", tag = "auth", request_body = AccountLinkIn,
    responses(
        (status = 204, description = "The password is set; sign in with it"),
        (status = 422, description = "The link has run out or was used, or the password is too short or easy to guess", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn use_account_link(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<AccountLinkIn>,
) -> Result<HttpResponse, Error> {
    let AccountLinkIn {
        token,
        new_password,
    } = body.into_inner();
    if token.is_empty() || token.len() > 256 {
        return Err(Error::field(
            "token",
            "must be the token of the link you were sent",
        ));
    }
    if new_password.len() > crate::domain::validation::PASSWORD_MAX_BYTES {
        return Err(Error::field("new_password", "at most 1024 bytes"));
    }
    // Guessing tokens is held to the sign-in limit per address.
    state.admit_sign_in(&req)?;
    let app = state.clone();
    web::block(move || {
        crate::service::stewardship::use_link(&app.pool, &app.writers, &token, &new_password)
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionsOut {
    pub items: Vec<crate::service::own_sessions::OwnSession>,
}

/// The caller's own live sessions: token families (`api`) and browsers
/// (`portal`), newest first, the one asking marked `current`.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller's live sessions", body = SessionsOut)))]
pub async fn my_sessions(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, Error> {
    let (user_id, this) = (
        caller.user_id.clone(),
        crate::service::accounts::Keep::Family(caller.session_id.clone()),
    );
    let items = state
        .db_as(&caller, move |conn| {
            crate::service::own_sessions::list(conn, &user_id, &this)
        })
        .await?;
    Ok(HttpResponse::Ok().json(SessionsOut { items }))
}

/// Ends one of the caller's own sessions at once: its refresh token and
/// access tokens, or its browser's session.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "auth", security(("bearer" = [])), params(("id" = String, Path, description = "A session of `GET /me/sessions`")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No live session of the caller's by that id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end_my_session(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner();
    if id.len() > 200 {
        return Err(Error::not_found("no such session"));
    }
    let (user_id, actor) = (caller.user_id.clone(), caller.actor());
    state
        .write_as(&caller, move |conn| {
            crate::service::own_sessions::end(conn, &actor, &user_id, &id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnFactorIn {
    /// To replace a factor: a code of the current one, or a recovery code.
    /// Not needed for a first one.
    #[serde(default)]
    pub code: Option<String>,
}

/// Begins setting up the caller's second factor: a first one, or a new
/// phone in place of theirs (proven by a code of the current factor or a
/// recovery code: the way back from a lost phone). The current factor keeps
/// working until `/me/second-factor/confirm`.
#[utoipa::path(post, path = "/api/v1/me/second-factor", tag = "auth", security(("bearer" = [])), request_body = OwnFactorIn,
    responses(
        (status = 200, description = "The new secret for the authenticator app", body = second_factor::Enrolment),
        (status = 422, description = "Replacing needs a right `code`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for this account from this address; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn begin_own_factor(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<OwnFactorIn>,
) -> Result<HttpResponse, Error> {
    let code = body.into_inner().code;
    if let Some(code) = &code {
        check_code_shape(code)?;
    }
    let from = state.admit_sign_in(&req)?;
    let app = state.clone();
    let user_id = caller.user_id.clone();
    let enrolment = web::block(move || {
        second_factor::begin_own(
            &app.pool,
            &app.writers,
            &app.factor_key,
            &user_id,
            code.as_deref(),
            from,
        )
    })
    .await??;
    Ok(HttpResponse::Ok().json(enrolment))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnFactorConfirmIn {
    /// The first code the new authenticator shows.
    pub code: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodesOut {
    /// Ten new recovery codes, shown this once; the old ones stop working.
    pub recovery_codes: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/me/second-factor/confirm", tag = "auth", security(("bearer" = [])), request_body = OwnFactorConfirmIn,
    responses(
        (status = 200, description = "The new factor is in force", body = RecoveryCodesOut),
        (status = 409, description = "Nothing waits to be confirmed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not the code the new authenticator shows", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_own_factor(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<OwnFactorConfirmIn>,
) -> Result<HttpResponse, Error> {
    let code = body.into_inner().code;
    check_code_shape(&code)?;
    let (user_id, key) = (caller.user_id.clone(), state.factor_key.clone());
    let recovery_codes = state
        .write_as(&caller, move |conn| {
            let user = crate::service::stewardship::steward(conn, &user_id)?;
            second_factor::confirm_own(conn, &key, &user, &code)
        })
        .await?;
    Ok(HttpResponse::Ok().json(RecoveryCodesOut { recovery_codes }))
}
