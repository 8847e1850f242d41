//! Cases: opened by liaison officers, seen only by their agency.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    an_officer_opens_a_case_and_only_their_agency_sees_it,
    cases_refuse_bad_input_and_duplicate_references,
);

pub fn case_body(reference: &str) -> Value {
    json!({
        "reference": reference,
        "title": "Grooming of a 12-year-old via Chatterbox",
        "offence_categories": ["grooming", "csam_production"],
        "summary": "An adult contacted the victim over Chatterbox and solicited images.",
        "priority": "urgent"
    })
}

async fn an_officer_opens_a_case_and_only_their_agency_sees_it(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let reply = app
        .post("/api/v1/cases", Some(&w.officer), case_body("OP-LANTERN"))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(reply.json["priority"], "urgent");
    assert_eq!(reply.json["agency_id"], w.gb_agency.as_str());
    let id = reply.json["id"].as_str().unwrap();
    let path = format!("/api/v1/cases/{id}");
    let own = app.get(&path, &w.officer).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.json["requests"], json!([]));
    // A colleague of the same agency sees it; nobody else knows it exists.
    let colleague = app.login("officer2@gb.test.example").await;
    assert_eq!(app.get(&path, &colleague).await.status, 200);
    for token in [
        &net.officer_b,
        &net.officer_de,
        &w.ca,
        &w.provider,
        &w.admin,
    ] {
        app.get(&path, token).await.problem(404);
    }
    let list = app.get("/api/v1/cases", &w.officer).await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 1);
    let other = app.get("/api/v1/cases", &net.officer_b).await;
    assert_eq!(other.json["items"], json!([]));
    for token in [&w.ca, &w.provider, &w.admin] {
        app.post("/api/v1/cases", Some(token), case_body("X"))
            .await
            .problem(403);
    }
}

async fn cases_refuse_bad_input_and_duplicate_references(app: &TestApp) {
    let w = app.world().await;
    let reply = app
        .post(
            "/api/v1/cases",
            Some(&w.officer),
            json!({"reference": "", "title": "t", "offence_categories": ["jaywalking"],
                   "summary": "s", "priority": "whenever"}),
        )
        .await;
    assert_eq!(
        reply.fields(),
        ["reference", "priority", "offence_categories[0]"]
    );
    let reply = app
        .post(
            "/api/v1/cases",
            Some(&w.officer),
            json!({"reference": "R", "title": "t", "offence_categories": [], "summary": "s"}),
        )
        .await;
    assert_eq!(reply.fields(), ["offence_categories"]);
    assert_eq!(
        app.post("/api/v1/cases", Some(&w.officer), case_body("DUP"))
            .await
            .status,
        201
    );
    app.post("/api/v1/cases", Some(&w.officer), case_body("DUP"))
        .await
        .problem(409);
}
