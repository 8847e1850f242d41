//! HTTP handlers, their documents, and the route table.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod body_deadline;
mod caller;
pub mod cases;
pub mod deadlines;
pub mod error;
pub mod evidence;
pub mod health;
pub mod jurisdictions;
pub mod legal_bases;
pub mod openapi;
pub mod organisations;
pub mod paging;
pub mod proposals;
pub mod reminders;
pub mod request_log;
pub mod requests;
pub mod schemas;
pub mod users;
pub mod webhooks;

use actix_web::web;

/// Bodies are small JSON documents; evidence uploads will have their own limit.
pub const JSON_LIMIT: usize = 64 * 1024;

/// Every route of the service, on one screen.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(JSON_LIMIT)
            .content_type_required(true)
            .error_handler(|err, _| error::json_error(err).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|err, _| error::query_error(err).into()))
    .service(web::resource("/healthz").get(health::healthz))
    .service(web::resource("/readyz").get(health::readyz))
    .service(
        web::scope("/api/v1")
            .service(web::resource("/openapi.json").get(openapi::serve))
            .service(web::resource("/auth/login").post(auth::login))
            .service(web::resource("/auth/login/mfa").post(auth::login_mfa))
            .service(web::resource("/auth/mfa/enrol").post(auth::mfa_enrol))
            .service(web::resource("/auth/mfa/confirm").post(auth::mfa_confirm))
            .service(web::resource("/auth/account-link").post(auth::use_account_link))
            .service(web::resource("/auth/refresh").post(auth::refresh))
            .service(web::resource("/auth/logout").post(auth::logout))
            .service(web::resource("/me").get(auth::me))
            .service(web::resource("/me/password").post(auth::change_password))
            .service(web::resource("/me/sessions").get(auth::my_sessions))
            .service(web::resource("/me/second-factor").post(auth::begin_own_factor))
            .service(web::resource("/me/second-factor/confirm").post(auth::confirm_own_factor))
            .service(web::resource("/me/sessions/{id}").delete(auth::end_my_session))
            .service(web::resource("/audit/verify").get(audit::verify))
            .service(web::resource("/audit/keys").get(audit::keys))
            .service(web::resource("/admin/outbox").get(admin::outbox))
            .service(web::resource("/admin/outbox/{id}/retry").post(admin::retry))
            .service(
                web::resource("/jurisdictions")
                    .get(jurisdictions::list)
                    .post(jurisdictions::create),
            )
            .service(
                web::resource("/jurisdictions/{code}")
                    .get(jurisdictions::get)
                    .patch(jurisdictions::update),
            )
            .service(
                web::resource("/organisations")
                    .get(organisations::list)
                    .post(organisations::create),
            )
            .service(
                web::resource("/organisations/{id}")
                    .get(organisations::get)
                    .patch(organisations::update),
            )
            .service(web::resource("/users").get(users::list).post(users::create))
            .service(
                web::resource("/users/{id}")
                    .get(users::get)
                    .patch(users::update),
            )
            .service(web::resource("/users/{id}/reset").post(users::reset))
            .service(web::resource("/account-proposals").get(proposals::list))
            .service(web::resource("/account-proposals/{id}/approve").post(proposals::approve))
            .service(web::resource("/account-proposals/{id}/decline").post(proposals::decline))
            .service(
                web::resource("/webhooks")
                    .get(webhooks::list)
                    .post(webhooks::create),
            )
            .service(web::resource("/webhooks/{id}").delete(webhooks::remove))
            .service(web::resource("/webhooks/{id}/deliveries").get(webhooks::deliveries))
            .service(web::resource("/cases").get(cases::list).post(cases::create))
            .service(web::resource("/cases/{id}").get(cases::get))
            .service(
                web::resource("/requests")
                    .get(requests::list)
                    .post(requests::create),
            )
            .service(
                web::resource("/requests/{id}")
                    .get(requests::get)
                    .patch(requests::edit),
            )
            .service(web::resource("/requests/{id}/audit").get(requests::audit))
            .service(web::resource("/requests/{id}/receipts").get(audit::receipts))
            .service(web::resource("/requests/{id}/receipts/{event_id}").get(audit::receipt))
            .service(web::resource("/requests/{id}/deadlines").get(deadlines::for_request))
            .service(web::resource("/deadlines").get(deadlines::board))
            .service(web::resource("/reminders").get(reminders::mine))
            .service(web::resource("/requests/{id}/follow-ups").post(requests::follow_up))
            .service(web::resource("/requests/{id}/domestic-orders").post(requests::order))
            .service(web::resource("/requests/{id}/evidence/relayed").post(requests::relay))
            .service(
                web::resource("/requests/{id}/evidence")
                    .get(evidence::list)
                    .post(evidence::upload),
            )
            .service(web::resource("/evidence/{id}/content").get(evidence::download))
            .service(web::resource("/requests/{id}/{action}").post(requests::transition))
            .service(web::resource("/legal-bases").get(legal_bases::list))
            .service(web::resource("/legal-bases/{id}").get(legal_bases::get))
            .service(web::resource("/memberships").get(legal_bases::memberships)),
    );
}
