//! The web portal: pages rendered on the server for people, beside the JSON
//! API for programs, over the same use cases. A person signs in once and keeps
//! a server-side session (a random id in an `HttpOnly` cookie); every form that
//! changes something carries a token the server checks. The API never accepts
//! the session cookie: it reads bearer tokens only.

mod account;
mod admin;
mod answers;
mod approvals;
mod board;
mod cases;
mod drafting;
mod evidence;
mod execution;
mod inbox;
mod links;
mod organisation;
mod pages;
mod proposals;
mod requests;
mod second_step;
mod visitor;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError, web};

pub use visitor::{Chrome, Visitor};

/// Pages load only the portal's own stylesheet and script:
/// no inline script or style, no other origin, no framing, forms post here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
    img-src 'self'; script-src 'self'; form-action 'self'; connect-src 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    // A form that cannot be read (not a browser's, or cut short) is answered
    // with a page, like everything else here; forms are small.
    cfg.app_data(
        web::FormConfig::default()
            .limit(16 * 1024)
            .error_handler(|err, _| {
                Failure(crate::error::Error::malformed(format!(
                    "the form could not be read: {err}"
                )))
                .into()
            }),
    )
    .service(web::resource("/").get(pages::home))
    .service(
        web::resource("/sign-in")
            .get(pages::sign_in_form)
            .post(pages::sign_in),
    )
    .service(
        web::resource("/sign-in/code")
            .get(second_step::code_form)
            .post(second_step::code),
    )
    .service(
        web::resource("/sign-in/enrol")
            .get(second_step::enrol_form)
            .post(second_step::enrol),
    )
    .service(web::resource("/sign-out").post(pages::sign_out))
    .service(web::resource("/account").get(account::show))
    .service(web::resource("/account/password").post(account::change_password))
    .service(web::resource("/account/sessions").post(account::end_session))
    .service(web::resource("/account/second-factor").post(account::begin_factor))
    .service(web::resource("/account/second-factor/confirm").post(account::confirm_factor))
    .service(
        web::resource("/account/setup")
            .get(links::setup_form)
            .post(links::setup),
    )
    .service(web::resource("/organisation").get(organisation::show))
    .service(web::resource("/organisation/accounts").post(organisation::invite))
    .service(web::resource("/organisation/accounts/{id}").post(organisation::act))
    .service(web::resource("/organisation/details").post(organisation::details))
    .service(web::resource("/organisation/webhooks").post(organisation::add_webhook))
    .service(web::resource("/organisation/webhooks/{id}").post(organisation::remove_webhook))
    .service(web::resource("/organisation/proposals/{id}").post(proposals::on_organisation))
    .service(web::resource("/admin/proposals/{id}").post(proposals::on_admin))
    .service(web::resource("/inbox").get(inbox::show))
    .service(web::resource("/at-risk").get(board::show))
    .service(web::resource("/approvals").get(approvals::show))
    .service(web::resource("/cases").get(cases::list).post(cases::create))
    .service(web::resource("/cases/new").get(cases::new_form))
    .service(web::resource("/cases/{id}").get(cases::show))
    .service(web::resource("/cases/{id}/requests/new").get(drafting::new_form))
    .service(web::resource("/cases/{id}/requests").post(drafting::create))
    .service(web::resource("/retention").get(drafting::risk))
    .service(web::resource("/admin").get(admin::overview))
    .service(web::resource("/admin/jurisdictions").get(admin::jurisdictions))
    .service(
        web::resource("/admin/jurisdictions/{code}")
            .get(admin::jurisdiction)
            .post(admin::change_jurisdiction),
    )
    .service(web::resource("/admin/organisations").get(admin::organisations))
    .service(
        web::resource("/admin/organisations/{id}")
            .get(admin::organisation)
            .post(admin::change_organisation),
    )
    .service(
        web::resource("/admin/accounts")
            .get(admin::accounts)
            .post(admin::create_account),
    )
    .service(
        web::resource("/admin/accounts/{id}")
            .get(admin::account)
            .post(admin::change_account),
    )
    .service(web::resource("/admin/outbox").get(admin::outbox))
    .service(web::resource("/admin/outbox/{id}/resend").post(admin::resend))
    // The address every notification links to (`<MLAT_PUBLIC_URL>/requests/<id>`).
    .service(web::resource("/requests/{id}").get(requests::show))
    // Before the steps' pattern, which would take `evidence`, `edit` and
    // `follow-up` for steps.
    .service(web::resource("/requests/{id}/evidence").post(evidence::upload))
    .service(web::resource("/requests/{id}/evidence/relayed").post(execution::relay))
    .service(web::resource("/requests/{id}/domestic-orders").post(execution::order))
    .service(
        web::resource("/requests/{id}/edit")
            .get(drafting::edit_form)
            .post(drafting::update),
    )
    .service(
        web::resource("/requests/{id}/follow-up")
            .get(drafting::follow_up_form)
            .post(drafting::file_follow_up),
    )
    .service(web::resource("/requests/{id}/receipts/{event_id}").get(requests::receipt))
    .service(web::resource("/requests/{id}/{action}").post(answers::take))
    .service(web::resource("/evidence/{id}").get(evidence::download))
    .service(web::resource("/assets/portal.css").get(stylesheet))
    .service(web::resource("/assets/portal.js").get(script));
}

/// A name from the code (`data_deleted`, `ask-clarification`) in words.
pub(crate) fn words(name: &str) -> String {
    name.replace(['_', '-'], " ")
}

/// A rendered page with the portal's headers; nothing a page shows is cached.
pub(crate) fn page(status: StatusCode, html: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(html)
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .body(include_str!("../../assets/portal.css"))
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .body(include_str!("../../assets/portal.js"))
}

/// The page for an address the portal does not have, or that is not the
/// visitor's to see: the same words either way.
pub fn not_found() -> HttpResponse {
    pages::not_found()
}

/// An error while serving a page, shown as a page: what went wrong for the
/// visitor's own mistakes, nothing of the cause for mlat's.
#[derive(Debug)]
pub struct Failure(pub crate::error::Error);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: Into<crate::error::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure(error.into())
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status == StatusCode::NOT_FOUND {
            return pages::not_found();
        }
        crate::api::error::log_internal(&self.0);
        pages::error(status, &self.0)
    }
}
