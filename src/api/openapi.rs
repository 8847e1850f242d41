//! The OpenAPI 3.1 document, generated from the handlers and the types they
//! read and write, and served at `GET /api/v1/openapi.json`.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::path::{Operation, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HttpMethod, KnownFormat, ObjectBuilder, Ref, Required, ResponseBuilder,
    SchemaFormat, Type,
};
use utoipa::{Modify, OpenApi};

use super::error::{PROBLEM_JSON, Problem};
use super::requests::{
    AcknowledgeIn, AnswerIn, ConfirmProductionIn, DelayIn, FulfilIn, MovedIn, NoteIn, PreserveIn,
    QuestionIn, RefuseIn, RejectIn, ReturnIn, transition_body,
};
use super::{
    admin, audit, auth, cases, deadlines, evidence, health, jurisdictions, legal_bases,
    organisations, proposals, reminders, requests, users, webhooks,
};
use crate::domain::validation::FieldError;
use crate::domain::workflow::{Action, Party, Status};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mlat",
        description = "Case-workflow backend for cross-border requests for electronic evidence: \
cases, preservation and production requests, their legal deadlines, the providers' answers, \
evidence and its custody.\n\n\
Sign in at `/api/v1/auth/login` (then, for an account with a second factor, `/api/v1/auth/login/mfa` \
with a code) and send the access token as `Authorization: Bearer <token>`. \
Every error is `application/problem+json` (RFC 9457). A change to a request carries the \
`version` the caller read; a stale one is refused with 409. Instants are RFC 3339 with an offset \
and are returned in UTC. docs/api.md walks through the whole story.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        serve,
        health::healthz,
        health::readyz,
        auth::login,
        auth::login_mfa,
        auth::mfa_enrol,
        auth::mfa_confirm,
        auth::use_account_link,
        auth::refresh,
        auth::logout,
        auth::me,
        auth::change_password,
        auth::my_sessions,
        auth::end_my_session,
        auth::begin_own_factor,
        auth::confirm_own_factor,
        audit::verify,
        audit::keys,
        audit::receipts,
        audit::receipt,
        admin::outbox,
        admin::retry,
        jurisdictions::list,
        jurisdictions::create,
        jurisdictions::get,
        jurisdictions::update,
        organisations::list,
        organisations::create,
        organisations::get,
        organisations::update,
        users::list,
        users::create,
        users::get,
        users::update,
        users::reset,
        proposals::list,
        proposals::approve,
        proposals::decline,
        webhooks::list,
        webhooks::create,
        webhooks::remove,
        webhooks::deliveries,
        legal_bases::list,
        legal_bases::get,
        legal_bases::memberships,
        cases::list,
        cases::create,
        cases::get,
        requests::list,
        requests::create,
        requests::get,
        requests::edit,
        requests::follow_up,
        requests::order,
        requests::relay,
        requests::audit,
        deadlines::for_request,
        deadlines::board,
        reminders::mine,
        evidence::upload,
        evidence::list,
        evidence::download,
    ),
    components(schemas(
        Problem, FieldError, Status, Action, NoteIn, ReturnIn, RejectIn, AcknowledgeIn,
        PreserveIn, QuestionIn, AnswerIn, RefuseIn, MovedIn, FulfilIn, DelayIn,
        ConfirmProductionIn
    )),
    modifiers(&Bearer, &Transitions, &Problems),
    tags(
        (name = "auth", description = "Signing in and out"),
        (name = "reference", description = "Jurisdictions, organisations and legal bases"),
        (name = "users", description = "Accounts (administrators)"),
        (name = "webhooks", description = "Signed event deliveries to an organisation's systems"),
        (name = "cases", description = "Investigations of an agency"),
        (name = "requests", description = "Preservation, production and emergency requests"),
        (name = "workflow", description = "One step of a request's life; see docs/workflow.md"),
        (name = "deadlines", description = "Legal clocks, the at-risk board, reminders"),
        (name = "evidence", description = "Files delivered by responders, with their custody"),
        (name = "audit", description = "The hash-chained record of who did what"),
        (name = "admin", description = "Operations"),
        (name = "health", description = "Probes"),
    )
)]
pub struct ApiDoc;

/// The document as served; built once.
pub fn document() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "health",
    responses((status = 200, description = "This document", content_type = "application/json")))]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The access token from /api/v1/auth/login (15 minutes by default)",
                    ))
                    .build(),
            ),
        );
    }
}

fn who(action: Action) -> &'static str {
    match action.party() {
        Party::Creator => "A liaison officer of the agency that created the request.",
        Party::Approver => {
            "A central-authority user of the issuing jurisdiction who did not create the request."
        }
        Party::Responder => "A user of the organisation the request is addressed to.",
    }
}

/// The workflow steps share one route, `/requests/{id}/{action}`; each is
/// documented as its own path with its own body.
struct Transitions;

impl Modify for Transitions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for &action in Action::ALL {
            let (schema, example) = transition_body(action);
            let operation = OperationBuilder::new()
                .operation_id(Some(format!(
                    "transition_{}",
                    action.as_str().replace('-', "_")
                )))
                .tag("workflow")
                .summary(Some(format!("{action} a request")))
                .description(Some(format!(
                    "{} The request's new state is returned; docs/workflow.md lists the \
                     states each step is allowed from.",
                    who(action)
                )))
                .parameter(
                    ParameterBuilder::new()
                        .name("id")
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
                        )),
                )
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .required(Some(Required::True))
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name(schema)))
                                .example(Some(example))
                                .build(),
                        )
                        .build(),
                ))
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description("The request after the step")
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("RequestOut")))
                                .build(),
                        ),
                )
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .build();
            doc.paths.add_path_operation(
                format!("/api/v1/requests/{{id}}/{}", action.as_str()),
                vec![HttpMethod::Post],
                operation,
            );
        }
    }
}

/// Adds the problem responses an operation can give from its shape, so that
/// each handler's annotation lists only what is particular to it.
struct Problems;

impl Problems {
    fn add(operation: &mut Operation, status: &str, description: &str) {
        if operation.responses.responses.contains_key(status) {
            return;
        }
        operation.responses.responses.insert(
            status.to_owned(),
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
                .into(),
        );
    }
}

impl Modify for Problems {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let operations = [
                (HttpMethod::Get, item.get.as_mut()),
                (HttpMethod::Post, item.post.as_mut()),
                (HttpMethod::Patch, item.patch.as_mut()),
                (HttpMethod::Put, item.put.as_mut()),
                (HttpMethod::Delete, item.delete.as_mut()),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                if path == "/healthz" || path.ends_with("/openapi.json") {
                    continue;
                }
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = operation.request_body.is_some();
                let has_query = operation.parameters.as_ref().is_some_and(|params| {
                    params.iter().any(|p| p.parameter_in == ParameterIn::Query)
                });
                match (has_body, has_query) {
                    (true, true) => Self::add(
                        operation,
                        "400",
                        "The body is not JSON, or a query parameter is not one this endpoint takes",
                    ),
                    (true, false) => Self::add(operation, "400", "The body is not JSON"),
                    (false, true) => Self::add(
                        operation,
                        "400",
                        "A query parameter this endpoint does not take (the problem names it)",
                    ),
                    (false, false) => {}
                }
                if secured {
                    Self::add(
                        operation,
                        "401",
                        "No valid access token: sign in (the answer carries `WWW-Authenticate: Bearer`)",
                    );
                    Self::add(
                        operation,
                        "403",
                        "The caller's role, or relation to the object, does not allow this",
                    );
                }
                if path.contains('{') {
                    Self::add(
                        operation,
                        "404",
                        "No such object, or none the caller may see",
                    );
                }
                if secured && method != HttpMethod::Get {
                    Self::add(
                        operation,
                        "409",
                        "The object changed since it was read, or its state does not allow this",
                    );
                }
                if has_body {
                    Self::add(operation, "413", "The body is too large");
                    Self::add(
                        operation,
                        "415",
                        "The body is not of the media type expected",
                    );
                }
                if has_body || has_query {
                    Self::add(
                        operation,
                        "422",
                        "Fields are missing or not valid: `errors` names each",
                    );
                }
                Self::add(
                    operation,
                    "503",
                    "The database is not reachable; try again shortly",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workflow_step_has_a_path_with_its_body() {
        let doc = ApiDoc::openapi();
        for &action in Action::ALL {
            let path = format!("/api/v1/requests/{{id}}/{action}");
            let item = doc
                .paths
                .paths
                .get(&path)
                .unwrap_or_else(|| panic!("{path}"));
            let post = item.post.as_ref().expect("a POST");
            assert!(post.request_body.is_some(), "{path}");
        }
    }

    #[test]
    fn every_secured_operation_documents_401_and_every_body_422() {
        let doc = ApiDoc::openapi();
        for (path, item) in &doc.paths.paths {
            for operation in [&item.get, &item.post, &item.patch].into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let codes = &operation.responses.responses;
                if secured {
                    assert!(codes.contains_key("401"), "{path}");
                }
                if operation.request_body.is_some() {
                    assert!(codes.contains_key("422"), "{path}");
                }
            }
        }
    }

    /// Read from the route table itself, so that a route added without its
    /// annotation fails here.
    #[test]
    fn every_route_and_method_the_server_has_is_in_the_document() {
        let doc = ApiDoc::openapi();
        let table = include_str!("mod.rs");
        let mut seen = 0;
        for piece in table.split("web::resource(\"").skip(1) {
            let route = &piece[..piece.find('"').unwrap()];
            let full = if route.starts_with("/healthz") || route.starts_with("/readyz") {
                route.to_owned()
            } else {
                format!("/api/v1{route}")
            };
            let paths: Vec<String> = if full.ends_with("/{action}") {
                Action::ALL
                    .iter()
                    .map(|a| full.replace("{action}", a.as_str()))
                    .collect()
            } else {
                vec![full]
            };
            let methods = &piece[..piece.find(".service(").unwrap_or(piece.len())];
            for path in paths {
                let item = doc
                    .paths
                    .paths
                    .get(&path)
                    .unwrap_or_else(|| panic!("{path} is served but not documented"));
                for (call, documented) in [
                    (".get(", item.get.is_some()),
                    (".post(", item.post.is_some()),
                    (".patch(", item.patch.is_some()),
                    (".put(", item.put.is_some()),
                    (".delete(", item.delete.is_some()),
                ] {
                    assert_eq!(methods.contains(call), documented, "{call} on {path}");
                }
                seen += 1;
            }
        }
        assert_eq!(
            seen,
            doc.paths.paths.len(),
            "documented paths the server lacks"
        );
    }

    /// The example a client copies for a new request is one the server reads.
    #[test]
    fn the_request_example_parses() {
        let spec = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let example = spec["components"]["schemas"]["RequestIn"]["example"].clone();
        assert!(example.is_object());
        let input: super::super::requests::RequestIn = serde_json::from_value(example).unwrap();
        let (case_id, drafted) = input.parse().unwrap();
        assert!(case_id.is_some());
        assert_eq!(drafted.content.identifiers.len(), 2);
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        let value: serde_json::Value = serde_json::from_str(document()).unwrap();
        assert!(value["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(value["components"]["securitySchemes"]["bearer"].is_object());
    }
}
