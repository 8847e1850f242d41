//! The API contract: the OpenAPI document the server serves, and the JSON
//! Schemas in schemas/ that are generated from the same types.

use std::path::Path;

use awc::http::StatusCode;
use mlat::api::openapi::document;
use mlat::api::requests::transition_body;
use mlat::api::schemas::generate;
use mlat::domain::workflow::Action;
use serde_json::Value;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    the_server_serves_its_openapi_document_without_a_token,
    every_example_body_in_the_document_is_accepted,
);

/// Fails when a type changed and schemas/ was not written again.
#[test]
fn schemas_in_the_repository_match_the_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let generated = generate();
    let mut stale = Vec::new();
    for (name, text) in &generated {
        let on_disk = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        if &on_disk != text {
            stale.push(name.clone());
        }
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name != "README.md" && !generated.iter().any(|(n, _)| *n == name) {
            stale.push(format!("{name} (no longer generated)"));
        }
    }
    assert!(
        stale.is_empty(),
        "schemas/ has drifted from the code: {stale:?}; run `cargo run -- schemas` and commit the result"
    );
}

async fn the_server_serves_its_openapi_document_without_a_token(app: &TestApp) {
    let reply = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let expected: Value = serde_json::from_str(document()).unwrap();
    assert_eq!(reply.json, expected);
    assert!(reply.json["paths"]["/api/v1/requests/{id}/refuse"]["post"].is_object());
}

/// The examples people copy from the document are bodies the server reads: on a
/// request that does not exist they get 404, not 422.
async fn every_example_body_in_the_document_is_accepted(app: &TestApp) {
    let world = app.world().await;
    let missing = uuid::Uuid::now_v7();
    for &action in Action::ALL {
        let (_, example) = transition_body(action);
        let reply = app
            .post(
                &format!("/api/v1/requests/{missing}/{action}"),
                Some(&world.officer),
                example,
            )
            .await;
        reply.problem(404);
    }
    let spec: Value = serde_json::from_str(document()).unwrap();
    let invalid = spec["paths"]["/api/v1/requests/{id}/refuse"]["post"]["requestBody"]["content"]
        ["application/json"]["example"]
        .clone();
    let mut wrong = invalid;
    wrong["ground"] = Value::from("because");
    let reply = app
        .post(
            &format!("/api/v1/requests/{missing}/refuse"),
            Some(&world.provider),
            wrong,
        )
        .await;
    assert_eq!(reply.fields(), ["ground"]);
}
