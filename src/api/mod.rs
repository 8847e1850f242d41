//! HTTP handlers, their documents, and the route table.

pub mod auth;
pub mod error;
pub mod health;
pub mod jurisdictions;
pub mod legal_bases;
pub mod organisations;
pub mod paging;
pub mod users;

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
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .service(
        web::scope("/api/v1")
            .route("/auth/login", web::post().to(auth::login))
            .route("/auth/refresh", web::post().to(auth::refresh))
            .route("/auth/logout", web::post().to(auth::logout))
            .route("/me", web::get().to(auth::me))
            .service(
                web::resource("/jurisdictions")
                    .get(jurisdictions::list)
                    .post(jurisdictions::create),
            )
            .route("/jurisdictions/{code}", web::get().to(jurisdictions::get))
            .service(
                web::resource("/organisations")
                    .get(organisations::list)
                    .post(organisations::create),
            )
            .route("/organisations/{id}", web::get().to(organisations::get))
            .service(web::resource("/users").get(users::list).post(users::create))
            .service(
                web::resource("/users/{id}")
                    .get(users::get)
                    .patch(users::update),
            )
            .route("/legal-bases", web::get().to(legal_bases::list))
            .route("/legal-bases/{id}", web::get().to(legal_bases::get)),
    );
}
