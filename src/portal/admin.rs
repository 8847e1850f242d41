//! The administrators' pages: jurisdictions with their holidays and
//! memberships, organisations with their contacts and retention profiles,
//! accounts, the outbox, and whether the audit trail and the evidence store
//! are intact. Administrators see no case content here, as in the API: no
//! request, case or identifier is shown, only reference data and counts.
//! Every change goes through the API's parsers and the same use cases.

use std::collections::BTreeMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use super::inbox::minute;
use super::{Chrome, Failure, Visitor, page, words};
use crate::domain::messages::MessageStatus;
use crate::domain::reference::{DataCategory, OrganisationKind, Role, holidays_of, memberships};
use crate::error::{Error, Kind};
use crate::repo::jurisdictions::JurisdictionRow;
use crate::repo::organisations::OrganisationRow;
use crate::service::reference::Recomputation;
use crate::service::stewardship::Invited;
use crate::state::AppState;

/// How many rows an administrator's list shows: reference data is small.
const LIST_MAX: i64 = 1000;

pub(super) fn admin_only(visitor: &Visitor) -> Result<(), Failure> {
    if visitor.session.account.user.role == Role::Admin {
        Ok(())
    } else {
        Err(Failure(Error::not_found("no such page")))
    }
}

fn see_other(to: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// The problems of a refused change, by field, for the form that made it.
fn problems(err: &Error) -> BTreeMap<String, String> {
    super::pages::problems_by_field(err, super::pages::top_field)
}

pub(super) fn refusal(e: &Error) -> bool {
    matches!(
        e.kind(),
        Kind::Invalid(_) | Kind::Malformed(_) | Kind::Conflict { .. } | Kind::Forbidden(_)
    )
}

// ---- Overview and verification ----

#[derive(Template)]
#[template(path = "portal/admin.html")]
struct OverviewPage {
    chrome: Chrome,
    audit: Option<crate::service::anchor::Verification>,
    evidence: Option<Result<crate::service::evidence::Checked, String>>,
    dead_letters: usize,
}

#[derive(Debug, Default, Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    verify: String,
}

/// `/admin`: where to go, how many messages are dead, and on request
/// (`?verify=1`) the verification of the audit trail and the evidence store,
/// which reads everything and is therefore not done on every visit.
pub async fn overview(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<VerifyQuery>,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let verify = !query.verify.is_empty();
    let app = state.clone();
    let (dead, audit, evidence) = state
        .db_for(&visitor.principal(), move |conn| {
            let dead = crate::service::outbox::in_status(conn, MessageStatus::Dead, LIST_MAX)?;
            if !verify {
                return Ok((dead.len(), None, None));
            }
            let audit = crate::service::anchor::verify(conn, &app.anchoring)?;
            let evidence = crate::service::evidence::verify_all(conn, &app.store);
            Ok((dead.len(), Some(audit), Some(evidence)))
        })
        .await?;
    if let Some(audit) = audit.as_ref().filter(|a| !a.intact) {
        tracing::error!(findings = ?audit.lines(), "audit trail verification failed");
    }
    let html = OverviewPage {
        chrome: visitor.chrome(),
        audit,
        evidence,
        dead_letters: dead,
    };
    Ok(page(StatusCode::OK, super::pages::render(&html)?))
}

// ---- Jurisdictions ----

struct JurisdictionLine {
    code: String,
    name: String,
    timezone: String,
    memberships: String,
    added: usize,
}

#[derive(Template)]
#[template(path = "portal/admin_jurisdictions.html")]
struct JurisdictionsPage {
    chrome: Chrome,
    lines: Vec<JurisdictionLine>,
}

pub async fn jurisdictions(
    state: web::Data<AppState>,
    visitor: Visitor,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let rows = state
        .db_for(&visitor.principal(), |conn| {
            Ok(crate::repo::jurisdictions::list(
                conn,
                &crate::repo::PageRequest {
                    cursor: None,
                    limit: LIST_MAX,
                },
            )?)
        })
        .await?;
    let mut lines = Vec::new();
    for row in rows.items {
        let ms: Vec<String> = serde_json::from_str(&row.memberships).map_err(Error::internal)?;
        let added: Vec<String> = serde_json::from_str(&row.holidays).map_err(Error::internal)?;
        lines.push(JurisdictionLine {
            memberships: ms
                .iter()
                .map(|m| membership_name(m))
                .collect::<Vec<_>>()
                .join(", "),
            added: added.len(),
            code: row.code,
            name: row.name,
            timezone: row.timezone,
        });
    }
    let html = JurisdictionsPage {
        chrome: visitor.chrome(),
        lines,
    };
    Ok(page(StatusCode::OK, super::pages::render(&html)?))
}

fn membership_name(id: &str) -> String {
    crate::domain::reference::membership(id).map_or_else(|| id.to_owned(), |m| m.name.clone())
}

struct Holiday {
    date: String,
    name: String,
    /// Entered here (it can be removed), not shipped with the product.
    added: bool,
}

#[derive(Template)]
#[template(path = "portal/admin_jurisdiction.html")]
struct JurisdictionPage {
    chrome: Chrome,
    code: String,
    name: String,
    timezone: String,
    holidays: Vec<Holiday>,
    memberships: Vec<(String, String, bool)>,
    notice: Option<String>,
    problems: BTreeMap<String, String>,
    typed: BTreeMap<String, String>,
}

impl JurisdictionPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems.get(field).map(String::as_str)
    }

    fn typed(&self, field: &str) -> &str {
        self.typed.get(field).map_or("", String::as_str)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    pub(super) done: String,
}

fn jurisdiction_page(
    visitor: &Visitor,
    row: JurisdictionRow,
    notice: Option<String>,
    problems: BTreeMap<String, String>,
    typed: BTreeMap<String, String>,
    status: StatusCode,
) -> Result<HttpResponse, Failure> {
    let added: Vec<chrono::NaiveDate> =
        serde_json::from_str(&row.holidays).map_err(Error::internal)?;
    let held: Vec<String> = serde_json::from_str(&row.memberships).map_err(Error::internal)?;
    // This year's and later holidays: the ones that still move a clock.
    let this_year = chrono::Datelike::year(&chrono::Utc::now().date_naive());
    let holidays = holidays_of(&row.code, &added)
        .into_iter()
        .filter(|(d, _)| chrono::Datelike::year(d) >= this_year)
        .map(|(d, name)| Holiday {
            added: added.contains(&d),
            date: d.to_string(),
            name,
        })
        .collect();
    let html = JurisdictionPage {
        chrome: visitor.chrome(),
        memberships: memberships()
            .memberships
            .iter()
            .map(|m| (m.id.clone(), m.name.clone(), held.contains(&m.id)))
            .collect(),
        code: row.code,
        name: row.name,
        timezone: row.timezone,
        holidays,
        notice,
        problems,
        typed,
    };
    Ok(page(status, super::pages::render(&html)?))
}

async fn read_jurisdiction(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    code: String,
) -> Result<JurisdictionRow, Failure> {
    state
        .db_for(&visitor.principal(), move |conn| {
            Ok(crate::repo::jurisdictions::get(conn, &code)?)
        })
        .await?
        .ok_or_else(|| Failure(Error::not_found("no such jurisdiction")))
}

pub async fn jurisdiction(
    state: web::Data<AppState>,
    visitor: Visitor,
    code: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let row = read_jurisdiction(&state, &visitor, code.into_inner()).await?;
    // Only this page's own words are said back.
    let notice = match query.done.as_str() {
        "" => None,
        "recomputed" => Some(
            "Saved. The deadlines of the open requests counted in this calendar have been \
             recomputed."
                .to_owned(),
        ),
        "continuing" => Some(
            "Saved. The deadlines of the open requests counted in this calendar are being \
             recomputed in the background."
                .to_owned(),
        ),
        _ => Some("Saved.".to_owned()),
    };
    jurisdiction_page(
        &visitor,
        row,
        notice,
        BTreeMap::new(),
        BTreeMap::new(),
        StatusCode::OK,
    )
}

/// `POST /admin/jurisdictions/{code}`: add or remove a holiday, or set the
/// memberships, through the API's own body and use case.
pub async fn change_jurisdiction(
    state: web::Data<AppState>,
    visitor: Visitor,
    code: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let row = read_jurisdiction(&state, &visitor, code.into_inner()).await?;
    let mut added: Vec<String> = serde_json::from_str(&row.holidays).map_err(Error::internal)?;
    let text = |k: &str| typed.get(k).map(|v| v.trim()).unwrap_or_default();
    let body = match text("intent") {
        "add-holiday" => {
            added.push(text("holiday").to_owned());
            json!({ "holidays": added })
        }
        "remove-holiday" => {
            added.retain(|d| d != text("holiday"));
            json!({ "holidays": added })
        }
        "memberships" => {
            let chosen: Vec<&str> = memberships()
                .memberships
                .iter()
                .map(|m| m.id.as_str())
                .filter(|m| !text(&format!("membership.{m}")).is_empty())
                .collect();
            json!({ "memberships": chosen })
        }
        _ => {
            return Err(Failure(Error::malformed(
                "the form did not say what to change",
            )));
        }
    };
    let calendar = body.get("holidays").is_some();
    let (actor, code) = (visitor.actor(), row.code.clone());
    let changed = async {
        let change = crate::api::jurisdictions::parse_patch(body)?;
        state
            .write_for(&visitor.principal(), move |conn| {
                crate::service::reference::update_jurisdiction(conn, &actor, &code, change)
            })
            .await
    }
    .await;
    match changed {
        Ok(row) => {
            let done = if calendar {
                match crate::service::reference::recompute_after_change(
                    state.clone().into_inner(),
                    crate::api::jurisdictions::RECOMPUTE_WAIT,
                )
                .await
                {
                    Recomputation::Done(_) => "recomputed",
                    Recomputation::Continuing => "continuing",
                }
            } else {
                "saved"
            };
            Ok(see_other(format!(
                "/admin/jurisdictions/{}?done={done}",
                row.code
            )))
        }
        Err(e) if refusal(&e) => {
            let status = e.status_code();
            let problems = problems(&e);
            let row = read_jurisdiction(&state, &visitor, row.code).await?;
            jurisdiction_page(&visitor, row, None, problems, typed, status)
        }
        Err(e) => Err(Failure(e)),
    }
}

// ---- Organisations ----

struct OrganisationLine {
    id: String,
    name: String,
    kind: String,
    jurisdiction: String,
    contact: String,
}

#[derive(Template)]
#[template(path = "portal/admin_organisations.html")]
struct OrganisationsPage {
    chrome: Chrome,
    lines: Vec<OrganisationLine>,
}

pub async fn organisations(
    state: web::Data<AppState>,
    visitor: Visitor,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let rows = state
        .db_for(&visitor.principal(), |conn| {
            Ok(crate::repo::organisations::list(
                conn,
                &Default::default(),
                &crate::repo::PageRequest {
                    cursor: None,
                    limit: LIST_MAX,
                },
            )?)
        })
        .await?;
    let mut lines: Vec<OrganisationLine> = rows
        .items
        .into_iter()
        .map(|o| OrganisationLine {
            id: o.id,
            name: o.name,
            kind: words(o.kind.as_str()),
            jurisdiction: o.jurisdiction,
            contact: o.contact_email.unwrap_or_default(),
        })
        .collect();
    lines.sort_by(|a, b| (&a.jurisdiction, &a.name).cmp(&(&b.jurisdiction, &b.name)));
    let html = OrganisationsPage {
        chrome: visitor.chrome(),
        lines,
    };
    Ok(page(StatusCode::OK, super::pages::render(&html)?))
}

#[derive(Template)]
#[template(path = "portal/admin_organisation.html")]
struct OrganisationPage {
    chrome: Chrome,
    id: String,
    name: String,
    kind: String,
    jurisdiction: String,
    provider: bool,
    typed: BTreeMap<String, String>,
    categories: Vec<(&'static str, String)>,
    notice: Option<String>,
    problems: BTreeMap<String, String>,
}

impl OrganisationPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems.get(field).map(String::as_str)
    }

    fn typed(&self, field: &str) -> &str {
        self.typed.get(field).map_or("", String::as_str)
    }
}

/// The organisation form filled in from what is stored: name, contact
/// address and retention profile.
pub(super) fn organisation_form(
    row: &OrganisationRow,
) -> Result<BTreeMap<String, String>, Failure> {
    let retention: BTreeMap<String, u32> =
        serde_json::from_str(&row.retention_days).map_err(Error::internal)?;
    let mut t: BTreeMap<String, String> = retention
        .into_iter()
        .map(|(c, d)| (format!("retention.{c}"), d.to_string()))
        .collect();
    t.insert("name".into(), row.name.clone());
    t.insert(
        "contact_email".into(),
        row.contact_email.clone().unwrap_or_default(),
    );
    Ok(t)
}

fn organisation_page(
    visitor: &Visitor,
    row: OrganisationRow,
    typed: Option<BTreeMap<String, String>>,
    notice: Option<String>,
    problems: BTreeMap<String, String>,
    status: StatusCode,
) -> Result<HttpResponse, Failure> {
    let typed = match typed {
        Some(t) => t,
        None => organisation_form(&row)?,
    };
    let html = OrganisationPage {
        chrome: visitor.chrome(),
        provider: row.kind == OrganisationKind::Provider,
        id: row.id,
        name: row.name,
        kind: words(row.kind.as_str()),
        jurisdiction: row.jurisdiction,
        typed,
        categories: DataCategory::ALL
            .iter()
            .map(|c| (c.as_str(), words(c.as_str())))
            .collect(),
        notice,
        problems,
    };
    Ok(page(status, super::pages::render(&html)?))
}

async fn read_organisation(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    id: String,
) -> Result<OrganisationRow, Failure> {
    state
        .db_for(&visitor.principal(), move |conn| {
            Ok(crate::repo::organisations::get(conn, &id)?)
        })
        .await?
        .ok_or_else(|| Failure(Error::not_found("no such organisation")))
}

pub async fn organisation(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let row = read_organisation(&state, &visitor, id.into_inner()).await?;
    let notice = (!query.done.is_empty()).then(|| "Saved.".to_owned());
    organisation_page(&visitor, row, None, notice, BTreeMap::new(), StatusCode::OK)
}

/// The organisation form as the API's `PATCH` body: a blank retention field
/// is a category the provider states no period for.
pub(super) fn organisation_body(
    typed: &BTreeMap<String, String>,
    provider: bool,
) -> Result<Value, Error> {
    let text = |k: &str| typed.get(k).map(|v| v.trim()).unwrap_or_default();
    let mut body = json!({ "name": text("name") });
    body["contact_email"] = match text("contact_email") {
        "" => Value::Null,
        e => json!(e),
    };
    if provider {
        let mut retention = serde_json::Map::new();
        let mut wrong = Vec::new();
        for c in DataCategory::ALL {
            let field = format!("retention.{c}");
            match text(&field) {
                "" => {}
                days => match days.parse::<i64>() {
                    Ok(d) => {
                        retention.insert(c.as_str().into(), json!(d));
                    }
                    Err(_) => wrong.push(crate::domain::validation::FieldError {
                        field: format!("retention_days.{c}"),
                        message: format!("`{days}` is not a number of days"),
                    }),
                },
            }
        }
        if !wrong.is_empty() {
            return Err(Error::invalid(wrong));
        }
        body["retention_days"] = Value::Object(retention);
    }
    Ok(body)
}

pub async fn change_organisation(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let row = read_organisation(&state, &visitor, id.into_inner()).await?;
    let (actor, id, kind) = (visitor.actor(), row.id.clone(), row.kind);
    let changed = async {
        let body = organisation_body(&typed, kind == OrganisationKind::Provider)?;
        let patch: crate::api::organisations::OrganisationPatch =
            serde_json::from_value(body).map_err(|e| Error::malformed(e.to_string()))?;
        let change = patch.parse(kind)?;
        state
            .write_for(&visitor.principal(), move |conn| {
                crate::service::reference::update_organisation(conn, &actor, &id, change)
            })
            .await
    }
    .await;
    match changed {
        Ok(row) => {
            crate::service::reference::recompute_after_change(
                state.clone().into_inner(),
                crate::api::jurisdictions::RECOMPUTE_WAIT,
            )
            .await;
            Ok(see_other(format!("/admin/organisations/{}?done=1", row.id)))
        }
        Err(e) if refusal(&e) => {
            let status = e.status_code();
            organisation_page(&visitor, row, Some(typed), None, problems(&e), status)
        }
        Err(e) => Err(Failure(e)),
    }
}

// ---- Accounts ----

struct AccountLine {
    id: String,
    name: String,
    email: String,
    role: String,
    organisation: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "portal/admin_accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    lines: Vec<AccountLine>,
    proposals: Vec<super::proposals::ProposalLine>,
    proposal_action: &'static str,
    roles: Vec<(&'static str, String)>,
    organisations: Vec<(String, String)>,
    typed: BTreeMap<String, String>,
    problems: BTreeMap<String, String>,
    notice: Option<String>,
}

impl AccountsPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems.get(field).map(String::as_str)
    }

    fn typed(&self, field: &str) -> &str {
        self.typed.get(field).map_or("", String::as_str)
    }
}

/// Organisations as a person picks one: "GB Police (GB, agency)".
fn organisation_choices(rows: &[OrganisationRow]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = rows
        .iter()
        .map(|o| {
            (
                o.id.clone(),
                format!(
                    "{} ({}, {})",
                    o.name,
                    o.jurisdiction,
                    words(o.kind.as_str())
                ),
            )
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

type Accounts = (
    Vec<crate::repo::users::UserRow>,
    Vec<OrganisationRow>,
    Vec<super::proposals::ProposalLine>,
);

/// Every account, organisation and waiting proposal, for the accounts page.
async fn read_accounts(
    state: &web::Data<AppState>,
    visitor: &Visitor,
) -> Result<Accounts, Failure> {
    let proposals = super::proposals::waiting(state, visitor).await?;
    let (users, orgs) = state
        .db_for(&visitor.principal(), |conn| {
            let page = crate::repo::PageRequest {
                cursor: None,
                limit: LIST_MAX,
            };
            let users = crate::repo::users::list(conn, None, &page)?.items;
            let orgs = crate::repo::organisations::list(conn, &Default::default(), &page)?.items;
            Ok((users, orgs))
        })
        .await?;
    Ok((users, orgs, proposals))
}

fn accounts_page(
    visitor: &Visitor,
    (users, orgs, proposals): Accounts,
    typed: BTreeMap<String, String>,
    problems: BTreeMap<String, String>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, Failure> {
    let names: BTreeMap<&str, &str> = orgs
        .iter()
        .map(|o| (o.id.as_str(), o.name.as_str()))
        .collect();
    let mut lines: Vec<AccountLine> = users
        .into_iter()
        .map(|u| AccountLine {
            organisation: u
                .organisation_id
                .as_deref()
                .and_then(|o| names.get(o).copied())
                .unwrap_or("none")
                .to_owned(),
            id: u.id,
            name: u.name,
            email: u.email,
            role: words(u.role.as_str()),
            active: u.active,
        })
        .collect();
    lines.sort_by(|a, b| a.email.cmp(&b.email));
    let html = AccountsPage {
        chrome: visitor.chrome(),
        lines,
        proposals,
        proposal_action: "/admin/proposals/",
        roles: Role::ALL
            .iter()
            .map(|r| (r.as_str(), words(r.as_str())))
            .collect(),
        organisations: organisation_choices(&orgs),
        typed,
        problems,
        notice,
    };
    Ok(page(status, super::pages::render(&html)?))
}

pub async fn accounts(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let accounts = read_accounts(&state, &visitor).await?;
    let notice = match query.done.as_str() {
        "" => None,
        "proposed" => Some(
            "The organisation runs its own people: the account is proposed to its \
             administrators, and made only if one of them approves it.",
        ),
        "withdrawn" => Some("The proposal is withdrawn: no account was made."),
        _ => Some("The account was created and its holder e-mailed an invitation."),
    };
    accounts_page(
        &visitor,
        accounts,
        BTreeMap::new(),
        BTreeMap::new(),
        notice.map(str::to_owned),
        StatusCode::OK,
    )
}

/// `POST /admin/accounts`: an invitation, through the API's parser and use
/// case.
pub async fn create_account(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let text = |k: &str| typed.get(k).cloned().unwrap_or_default();
    let body = json!({
        "email": text("email").trim(), "name": text("name").trim(), "role": text("role"),
        "organisation_id": Some(text("organisation_id")).filter(|o| !o.is_empty()),
        "org_admin": text("org_admin") == "true",
    });
    match super::organisation::invite_from_form(&state, &visitor, body).await {
        Ok(Invited::Account(..)) => Ok(see_other("/admin/accounts?done=1".into())),
        Ok(Invited::Proposed(_)) => Ok(see_other("/admin/accounts?done=proposed".into())),
        Err(e) if refusal(&e) => {
            let status = e.status_code();
            let accounts = read_accounts(&state, &visitor).await?;
            accounts_page(&visitor, accounts, typed, problems(&e), None, status)
        }
        Err(e) => Err(Failure(e)),
    }
}

/// The accounts page after a proposal is withdrawn, or again saying why not.
pub(super) async fn after_withdrawal(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    outcome: Result<&'static str, Error>,
) -> Result<HttpResponse, Failure> {
    match outcome {
        Ok(_) => Ok(see_other("/admin/accounts?done=withdrawn".into())),
        Err(e) if refusal(&e) => {
            let status = e.status_code();
            let accounts = read_accounts(state, visitor).await?;
            let mut said = BTreeMap::new();
            said.insert(String::new(), super::pages::said(&e));
            accounts_page(visitor, accounts, BTreeMap::new(), said, None, status)
        }
        Err(e) => Err(Failure(e)),
    }
}

#[derive(Template)]
#[template(path = "portal/admin_account.html")]
struct AccountPage {
    chrome: Chrome,
    id: String,
    email: String,
    name: String,
    role: String,
    organisation: Option<String>,
    active: bool,
    roles: Vec<(&'static str, String)>,
    organisations: Vec<(String, String)>,
    notice: Option<String>,
    problems: BTreeMap<String, String>,
}

impl AccountPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems.get(field).map(String::as_str)
    }
}

async fn account_page(
    state: &web::Data<AppState>,
    visitor: &Visitor,
    id: String,
    notice: Option<String>,
    problems: BTreeMap<String, String>,
    status: StatusCode,
) -> Result<HttpResponse, Failure> {
    let (users, orgs, _) = read_accounts(state, visitor).await?;
    let user = users
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(|| Failure(Error::not_found("no such account")))?;
    let html = AccountPage {
        chrome: visitor.chrome(),
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role.as_str().to_owned(),
        organisation: user.organisation_id,
        active: user.active,
        roles: Role::ALL
            .iter()
            .map(|r| (r.as_str(), words(r.as_str())))
            .collect(),
        organisations: organisation_choices(&orgs),
        notice,
        problems,
    };
    Ok(page(status, super::pages::render(&html)?))
}

pub async fn account(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let notice = match query.done.as_str() {
        "" => None,
        "place" => Some(
            "Saved. The person's sessions have ended: they sign in again under the new role."
                .to_owned(),
        ),
        "deactivated" => Some("Deactivated. The person's sessions have ended.".to_owned()),
        "reset" => Some("The reset link is on its way to the person.".to_owned()),
        _ => Some("Saved.".to_owned()),
    };
    account_page(
        &state,
        &visitor,
        id.into_inner(),
        notice,
        BTreeMap::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/accounts/{id}`: a new role or organisation, or
/// (de)activation, through the API's parser and use case.
pub async fn change_account(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let typed = form.into_inner();
    super::answers::check_token(&visitor, &typed)?;
    let text = |k: &str| typed.get(k).map(|v| v.trim()).unwrap_or_default();
    if let intent @ ("reset" | "reset-factor") = text("intent") {
        let (id, by) = (id.into_inner(), visitor.session.account.user.id.clone());
        let (target, public_url) = (id.clone(), state.settings.public_url.clone());
        let with_factor = intent == "reset-factor";
        let sent = state
            .write_for(&visitor.principal(), move |conn| {
                crate::service::stewardship::send_reset(
                    conn,
                    &by,
                    &target,
                    with_factor,
                    &public_url,
                )
            })
            .await;
        return match sent {
            Ok(_) => Ok(see_other(format!("/admin/accounts/{id}?done=reset"))),
            Err(e) if refusal(&e) => {
                let status = e.status_code();
                account_page(&state, &visitor, id, None, problems(&e), status).await
            }
            Err(e) => Err(Failure(e)),
        };
    }
    let (body, done) = match text("intent") {
        "place" => (
            json!({
                "role": text("role"),
                "organisation_id": Some(text("organisation_id")).filter(|o| !o.is_empty()),
            }),
            "place",
        ),
        "deactivate" => (json!({ "active": false }), "deactivated"),
        "activate" => (json!({ "active": true }), "activated"),
        _ => {
            return Err(Failure(Error::malformed(
                "the form did not say what to change",
            )));
        }
    };
    let (actor, id) = (visitor.actor(), id.into_inner());
    let target = id.clone();
    let changed = async {
        let patch: crate::api::users::UserPatch =
            serde_json::from_value(body).map_err(|e| Error::malformed(e.to_string()))?;
        let change = patch.parse()?;
        state
            .write_for(&visitor.principal(), move |conn| {
                crate::service::accounts::update_user(conn, &actor, &target, change)
            })
            .await
    }
    .await;
    match changed {
        Ok(_) => Ok(see_other(format!("/admin/accounts/{id}?done={done}"))),
        Err(e) if refusal(&e) => {
            let status = e.status_code();
            account_page(&state, &visitor, id, None, problems(&e), status).await
        }
        Err(e) => Err(Failure(e)),
    }
}

// ---- Outbox ----

struct MessageLine {
    id: String,
    kind: String,
    recipient: String,
    subject: String,
    attempts: i32,
    last_error: String,
    created: String,
}

#[derive(Template)]
#[template(path = "portal/admin_outbox.html")]
struct OutboxPage {
    chrome: Chrome,
    status: &'static str,
    statuses: Vec<(&'static str, bool)>,
    lines: Vec<MessageLine>,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OutboxQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    done: String,
}

pub async fn outbox(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    let status = match query.status.as_str() {
        "" => MessageStatus::Dead,
        s => MessageStatus::parse(s).map_err(|e| Error::field("status", e))?,
    };
    let rows = state
        .db_for(&visitor.principal(), move |conn| {
            crate::service::outbox::in_status(conn, status, 200)
        })
        .await?;
    let html = OutboxPage {
        chrome: visitor.chrome(),
        status: status.as_str(),
        statuses: MessageStatus::ALL
            .iter()
            .map(|s| (s.as_str(), *s == status))
            .collect(),
        lines: rows
            .into_iter()
            .map(|m| MessageLine {
                id: m.id,
                kind: words(m.kind.as_str()),
                recipient: m.recipient_email,
                subject: m.subject,
                attempts: m.attempts,
                last_error: m.last_error.unwrap_or_default(),
                created: minute(m.created_at),
            })
            .collect(),
        notice: (!query.done.is_empty()).then(|| {
            "The message is queued again; the mail sender takes it at its next pass.".to_owned()
        }),
    };
    Ok(page(StatusCode::OK, super::pages::render(&html)?))
}

pub async fn resend(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, Failure> {
    admin_only(&visitor)?;
    super::answers::check_token(&visitor, &form)?;
    let (actor, id) = (visitor.actor(), id.into_inner());
    state
        .write_for(&visitor.principal(), move |conn| {
            crate::service::outbox::retry(conn, &actor, &id)
        })
        .await?;
    Ok(see_other("/admin/outbox?done=1".into()))
}
