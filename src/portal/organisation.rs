//! `/organisation`: where an organisation's administrator runs its people
//! (invites, reset links, deactivation) and keeps its contact address and
//! retention profile, through the same use cases as the API
//! (`service::stewardship`, `service::reference::update_organisation`).
//! Anyone else finds nothing here.

use std::collections::BTreeMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;
use serde_json::json;

use super::{Chrome, Failure, Visitor, page, words};
use crate::domain::reference::{DataCategory, OrganisationKind, Role};
use crate::error::Error;
use crate::repo::organisations::OrganisationRow;
use crate::repo::users::UserRow;
use crate::state::AppState;

/// One of the organisation's webhooks, with how its last delivery went.
struct HookLine {
    id: String,
    url: String,
    events: String,
    active: bool,
    last: Option<String>,
}

struct Line {
    id: String,
    name: String,
    email: String,
    role: String,
    active: bool,
    org_admin: bool,
    me: bool,
}

#[derive(Template)]
#[template(path = "portal/organisation_own.html")]
struct OwnPage {
    chrome: Chrome,
    name: String,
    provider: bool,
    lines: Vec<Line>,
    proposals: Vec<super::proposals::ProposalLine>,
    proposal_action: &'static str,
    typed: BTreeMap<String, String>,
    categories: Vec<(&'static str, String)>,
    notice: Option<String>,
    problems: BTreeMap<String, String>,
    hooks: Vec<HookLine>,
    events: Vec<(&'static str, &'static str)>,
    /// A webhook's secret, just made: shown on this page once.
    secret: Option<String>,
}

impl OwnPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems.get(field).map(String::as_str)
    }

    fn typed(&self, field: &str) -> &str {
        self.typed.get(field).map_or("", String::as_str)
    }
}

/// The organisation the visitor runs, or 404.
pub(super) fn own_organisation(visitor: &Visitor) -> Result<String, Failure> {
    let user = &visitor.session.account.user;
    match (&user.organisation_id, user.org_admin) {
        (Some(org), true) => Ok(org.clone()),
        _ => Err(Failure(Error::not_found("no such page"))),
    }
}

async fn read(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    org: String,
) -> Result<(OrganisationRow, Vec<UserRow>), Failure> {
    Ok(state
        .db_for(&visitor.principal(), move |conn| {
            let row = crate::repo::organisations::get(conn, &org)?
                .ok_or_else(|| Error::not_found("no such organisation"))?;
            let page = crate::repo::PageRequest {
                cursor: None,
                limit: 1_000,
            };
            let people = crate::repo::users::list(conn, Some(&org), &page)?.items;
            Ok((row, people))
        })
        .await?)
}

/// The organisation's webhooks as lines of the page.
async fn hooks(state: &web::Data<AppState>, visitor: &Visitor) -> Result<Vec<HookLine>, Failure> {
    let by = visitor.session.account.user.id.clone();
    Ok(state
        .db_for(&visitor.principal(), move |conn| {
            let by = crate::service::stewardship::steward(conn, &by)?;
            let mut lines = Vec::new();
            for hook in crate::service::webhooks::list(conn, &by)? {
                let last = crate::repo::webhooks::deliveries(conn, &hook.id, 1)?
                    .into_iter()
                    .next()
                    .map(|d| match d.last_error {
                        Some(error) => format!("{}: {error}", d.status),
                        None => d.status.to_string(),
                    });
                let events: Vec<String> =
                    serde_json::from_str(&hook.events).map_err(Error::internal)?;
                lines.push(HookLine {
                    id: hook.id,
                    url: hook.url,
                    events: events.join(", "),
                    active: hook.active,
                    last,
                });
            }
            Ok(lines)
        })
        .await?)
}

async fn show_page(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    typed: Option<BTreeMap<String, String>>,
    notice: Option<String>,
    problems: BTreeMap<String, String>,
    status: StatusCode,
) -> Result<HttpResponse, Failure> {
    show_with_secret(state, visitor, typed, notice, problems, status, None).await
}

async fn show_with_secret(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    typed: Option<BTreeMap<String, String>>,
    notice: Option<String>,
    problems: BTreeMap<String, String>,
    status: StatusCode,
    secret: Option<String>,
) -> Result<HttpResponse, Failure> {
    let org = own_organisation(visitor)?;
    let (row, people) = read(state, visitor, org).await?;
    let hooks = hooks(state, visitor).await?;
    let proposals = super::proposals::waiting(state, visitor).await?;
    let typed = match typed {
        Some(t) => t,
        None => {
            // The details form here has no name (the platform
            // administrator's to change), and the invitation's `name` is
            // the colleague's: it starts empty.
            let mut form = super::admin::organisation_form(&row)?;
            form.remove("name");
            form
        }
    };
    let me = visitor.session.account.user.id.clone();
    let mut lines: Vec<Line> = people
        .into_iter()
        .map(|u| Line {
            me: u.id == me,
            id: u.id,
            name: u.name,
            email: u.email,
            role: words(u.role.as_str()),
            active: u.active,
            org_admin: u.org_admin,
        })
        .collect();
    lines.sort_by(|a, b| a.email.cmp(&b.email));
    let html = OwnPage {
        chrome: visitor.chrome(),
        name: row.name,
        provider: row.kind == OrganisationKind::Provider,
        lines,
        proposals,
        proposal_action: "/organisation/proposals/",
        typed,
        categories: DataCategory::ALL
            .iter()
            .map(|c| (c.as_str(), words(c.as_str())))
            .collect(),
        notice,
        problems,
        hooks,
        events: vec![
            ("request.received", "a request is transmitted to you"),
            (
                "request.updated",
                "the other side takes a step on one of your requests",
            ),
            (
                "evidence.delivered",
                "evidence is delivered on a request you issued",
            ),
        ],
        secret,
    };
    Ok(page(status, super::pages::render(&html)?))
}

pub async fn show(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<super::admin::NoticeQuery>,
) -> Result<HttpResponse, Failure> {
    let notice = match query.done.as_str() {
        "invited" => Some("The invitation is on its way."),
        "reset" => Some("The reset link is on its way to the person."),
        "changed" => Some("The account was changed."),
        "details" => Some("Saved."),
        "approved" => Some("Approved: the account is made and its holder invited."),
        "declined" => Some("Declined: no account was made."),
        "webhook-removed" => Some("The webhook was removed: nothing more goes to it."),
        _ => None,
    };
    show_page(
        &state,
        &visitor,
        None,
        notice.map(str::to_owned),
        BTreeMap::new(),
        StatusCode::OK,
    )
    .await
}

fn done(what: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/organisation?done={what}")))
        .finish()
}

/// A form refused: the page again, each problem at its field, what was typed
/// kept; anything but a refusal is an error page.
async fn refused_form(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    typed: BTreeMap<String, String>,
    e: Error,
) -> Result<HttpResponse, Failure> {
    if !super::admin::refusal(&e) {
        return Err(Failure(e));
    }
    let problems = super::pages::problems_by_field(&e, super::pages::top_field);
    show_page(state, visitor, Some(typed), None, problems, e.status_code()).await
}

/// `POST /organisation/accounts`: invites a colleague, in the role the
/// organisation's kind gives its people.
pub async fn invite(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let org = own_organisation(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let text = |k: &str| {
        typed
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let kind = read(&state, &visitor, org.clone()).await?.0.kind;
    let role = match kind {
        OrganisationKind::Agency => Role::LiaisonOfficer,
        OrganisationKind::CentralAuthority => Role::CentralAuthority,
        OrganisationKind::Provider => Role::Provider,
    };
    let body = json!({
        "email": text("email"), "name": text("name"), "role": role.as_str(),
        "organisation_id": org, "org_admin": text("org_admin") == "true",
    });
    match invite_from_form(&state, &visitor, body).await {
        Ok(_) => Ok(done("invited")),
        Err(e) => refused_form(&state, &visitor, typed, e).await,
    }
}

/// An invitation from a form, read into the API's body and parser and sent
/// by the same use case (`service::stewardship::invite`).
pub(super) async fn invite_from_form(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    body: serde_json::Value,
) -> Result<crate::service::stewardship::Invited, Error> {
    let by = visitor.session.account.user.id.clone();
    let public_url = state.settings.public_url.clone();
    let user: crate::api::users::UserIn =
        serde_json::from_value(body).map_err(|e| Error::malformed(e.to_string()))?;
    let invitation = user.parse()?;
    let unusable = web::block(crate::service::stewardship::unusable_password_hash)
        .await
        .map_err(Error::internal)??;
    state
        .write_for(&visitor.principal(), move |conn| {
            crate::service::stewardship::invite(conn, &by, invitation, unusable, &public_url)
        })
        .await
}

/// `POST /organisation/accounts/{id}`: a reset link (with or without the
/// second factor), deactivation or activation of one of its people.
pub async fn act(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    own_organisation(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let (id, by) = (id.into_inner(), visitor.session.account.user.id.clone());
    let intent = typed.get("intent").cloned().unwrap_or_default();
    let public_url = state.settings.public_url.clone();
    let actor = visitor.actor();
    let outcome = match intent.as_str() {
        "reset" | "reset-factor" => {
            state
                .write_for(&visitor.principal(), move |conn| {
                    crate::service::stewardship::send_reset(
                        conn,
                        &by,
                        &id,
                        intent == "reset-factor",
                        &public_url,
                    )
                    .map(|_| "reset")
                })
                .await
        }
        "deactivate" | "activate" => {
            state
                .write_for(&visitor.principal(), move |conn| {
                    let change = crate::service::accounts::UserChange {
                        active: Some(intent == "activate"),
                        ..Default::default()
                    };
                    crate::service::accounts::update_user(conn, &actor, &id, change)
                        .map(|_| "changed")
                })
                .await
        }
        _ => Err(Error::malformed("the form names no action")),
    };
    after(&state, &visitor, outcome).await
}

/// The page after an action on one of its rows: back to it with a notice,
/// or the page again saying why it was refused.
pub(super) async fn after(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    outcome: Result<&'static str, Error>,
) -> Result<HttpResponse, Failure> {
    match outcome {
        Ok(what) => Ok(done(what)),
        Err(e) if super::admin::refusal(&e) => {
            let mut problems = BTreeMap::new();
            problems.insert(String::new(), super::pages::said(&e));
            show_page(state, visitor, None, None, problems, e.status_code()).await
        }
        Err(e) => Err(Failure(e)),
    }
}

/// `POST /organisation/details`: its contact address and retention profile.
pub async fn details(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    let org = own_organisation(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let kind = read(&state, &visitor, org.clone()).await?.0.kind;
    let (actor, by) = (visitor.actor(), visitor.session.account.user.id.clone());
    let changed = async {
        let mut body = super::admin::organisation_body(&typed, kind == OrganisationKind::Provider)?;
        if let Some(fields) = body.as_object_mut() {
            fields.remove("name");
        }
        let patch: crate::api::organisations::OrganisationPatch =
            serde_json::from_value(body).map_err(|e| Error::malformed(e.to_string()))?;
        let change = patch.parse(kind)?;
        state
            .write_for(&visitor.principal(), move |conn| {
                let by = crate::service::stewardship::steward(conn, &by)?;
                crate::service::stewardship::may_change_organisation(&by, &org, false)?;
                crate::service::reference::update_organisation(conn, &actor, &org, change)
            })
            .await
    }
    .await;
    match changed {
        Ok(_) => {
            crate::service::reference::recompute_after_change(
                state.clone().into_inner(),
                crate::api::jurisdictions::RECOMPUTE_WAIT,
            )
            .await;
            Ok(done("details"))
        }
        Err(e) => refused_form(&state, &visitor, typed, e).await,
    }
}

/// `POST /organisation/webhooks`: `url`, and `event.<name>` for each event
/// wanted. Registered, the page shows its secret this once.
pub async fn add_webhook(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    own_organisation(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let body = crate::api::webhooks::WebhookIn {
        url: typed.get("url").cloned().unwrap_or_default(),
        events: typed
            .keys()
            .filter_map(|k| k.strip_prefix("event."))
            .map(str::to_owned)
            .collect(),
    };
    let (by, actor, app) = (
        visitor.session.account.user.id.clone(),
        visitor.actor(),
        state.clone(),
    );
    let registered = async {
        let (url, events) =
            crate::api::webhooks::checked(body, state.mailer.webhooks_allow_private()).await?;
        state
            .write_for(&visitor.principal(), move |conn| {
                let by = crate::service::stewardship::steward(conn, &by)?;
                crate::service::webhooks::register(
                    conn,
                    &app.factor_key,
                    &by,
                    &actor,
                    &url,
                    &events,
                )
            })
            .await
    }
    .await;
    match registered {
        Ok(made) => {
            show_with_secret(
                &state,
                &visitor,
                None,
                Some(format!(
                    "The webhook to {} is registered.",
                    made.webhook.url
                )),
                BTreeMap::new(),
                StatusCode::OK,
                Some(made.secret),
            )
            .await
        }
        Err(e) => refused_form(&state, &visitor, typed, e).await,
    }
}

/// `POST /organisation/webhooks/{id}`: removes one.
pub async fn remove_webhook(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    own_organisation(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let (id, by, actor) = (
        id.into_inner(),
        visitor.session.account.user.id.clone(),
        visitor.actor(),
    );
    let outcome = state
        .write_for(&visitor.principal(), move |conn| {
            let by = crate::service::stewardship::steward(conn, &by)?;
            crate::service::webhooks::remove(conn, &by, &actor, &id).map(|_| "webhook-removed")
        })
        .await;
    after(&state, &visitor, outcome).await
}
