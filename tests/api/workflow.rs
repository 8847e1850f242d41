//! Requests through their workflow: drafting, approval, transmission, answers,
//! follow-ups; who sees and may do what; concurrency.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::cases::case_body;
use crate::helpers::{Network, Reply, TestApp};

backend_tests!(
    the_story_from_grooming_case_to_fulfilled_production,
    a_draft_is_validated_on_creation_naming_each_field,
    the_legal_basis_decides_route_kind_and_parties,
    submit_lists_every_missing_item,
    drafts_are_edited_only_by_their_agency_at_the_version_read,
    every_role_sees_and_acts_only_as_allowed,
    eight_approvals_at_once_one_wins,
    sqlite_changes_wait_their_turn_and_postgres_changes_do_not,
    an_emergency_is_transmitted_first_and_validated_after,
    one_extension_then_no_more,
    returned_rejected_refused_clarified_and_withdrawn,
    follow_ups_and_trails_are_refused_to_everyone_else,
    an_emergency_rejected_after_transmission_keeps_its_reason_internal,
);

pub async fn open_case(app: &TestApp, token: &str) -> String {
    let reply = app
        .post("/api/v1/cases", Some(token), case_body("OP-LANTERN"))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    reply.json["id"].as_str().unwrap().to_owned()
}

/// A complete provider-voluntary preservation request to `responder`.
pub fn preservation(case_id: Option<&str>, responder: &str) -> Value {
    let mut body = json!({
        "kind": "preservation",
        "legal_basis": "provider-voluntary",
        "responder_id": responder,
        "data_categories": ["subscriber", "identification", "content"],
        "identifiers": [
            {"type": "account", "value": "sunny_day_2011"},
            {"type": "ip", "value": "198.51.100.23", "port": 40112,
             "observed_at": "2026-11-20T21:15:03+00:00"}
        ],
        "date_from": "2026-11-01T00:00:00Z",
        "date_to": "2026-11-25T00:00:00+01:00",
        "facts": "An adult groomed a 12-year-old over chat and obtained images.",
        "necessity": "The provider deletes connection logs after 25 days.",
        "relevance": "The account sent the messages; the IP logged in at the time.",
        "follow_up_intent": true,
        "non_disclosure": true
    });
    if let Some(case_id) = case_id {
        body["case_id"] = json!(case_id);
    }
    body
}

/// A complete emergency European Production Order of `kind` to `responder`
/// (from an EU Member State: the German officer of the test network).
pub fn emergency_order(case_id: &str, responder: &str, kind: &str) -> Value {
    json!({
        "case_id": case_id, "kind": kind, "legal_basis": "eu-epoc",
        "responder_id": responder, "data_categories": ["subscriber"],
        "identifiers": [{"type": "account", "value": "threat_account"}],
        "facts": "A child announced self-harm tonight after extortion.",
        "necessity": "Imminent threat to life.", "relevance": "The account made the threats.",
        "emergency": true, "emergency_justification": "Threat to life within hours."
    })
}

pub async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app.post("/api/v1/requests", Some(token), body).await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    reply.json
}

pub async fn act(app: &TestApp, token: &str, request: &Value, action: &str, extra: Value) -> Reply {
    let mut body = json!({ "version": request["version"] });
    if let Value::Object(fields) = extra {
        body.as_object_mut().unwrap().extend(fields);
    }
    let id = request["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/requests/{id}/{action}"),
        Some(token),
        body,
    )
    .await
}

/// Takes an action that must succeed; returns the updated request.
pub async fn step(
    app: &TestApp,
    token: &str,
    request: &Value,
    action: &str,
    extra: Value,
) -> Value {
    let reply = act(app, token, request, action, extra).await;
    assert_eq!(reply.status, 200, "{action}: {:?}", reply.json);
    assert_eq!(
        reply.json["version"],
        request["version"].as_i64().unwrap() + 1
    );
    reply.json
}

/// A preservation request to the Irish provider in a new case of `w`'s
/// officer, transmitted.
pub async fn preservation_transmitted(app: &TestApp, w: &crate::helpers::World) -> Value {
    let case_id = open_case(app, &w.officer).await;
    let body = preservation(Some(&case_id), &w.ie_provider);
    transmitted(app, &w.officer, &w.ca, body).await
}

/// Drafts, submits, approves and transmits a request.
pub async fn transmitted(app: &TestApp, officer: &str, ca: &str, body: Value) -> Value {
    let r = create(app, officer, body).await;
    let r = step(app, officer, &r, "submit", json!({})).await;
    let r = step(app, ca, &r, "approve", json!({})).await;
    step(app, officer, &r, "transmit", json!({})).await
}

async fn get(app: &TestApp, token: &str, request: &Value) -> Reply {
    app.get(
        &format!("/api/v1/requests/{}", request["id"].as_str().unwrap()),
        token,
    )
    .await
}

async fn the_story_from_grooming_case_to_fulfilled_production(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;

    // Preservation at the Irish provider.
    let ie = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    assert_eq!(ie["status"], "transmitted");
    assert_eq!(ie["executing_jurisdiction"], "IE");
    assert_eq!(ie["route"], "direct");
    assert!(ie["reference"].as_str().unwrap().starts_with("R-"));
    let ie = step(
        app,
        &w.provider,
        &ie,
        "acknowledge",
        json!({"provider_reference": "CB-77"}),
    )
    .await;
    let ie = step(
        app,
        &w.provider,
        &ie,
        "preserve",
        json!({"preserved_until": "2027-02-20T00:00:00Z"}),
    )
    .await;
    assert_eq!(ie["status"], "preserved");
    // While preserving, the provider finds the data sits with a Dutch provider.
    let ie = step(
        app,
        &w.provider,
        &ie,
        "report-moved",
        json!({"to_provider_id": net.nl_provider, "to_jurisdiction": "NL",
               "note": "Media were stored with Polder Hosting"}),
    )
    .await;
    assert_eq!(ie["status"], "preserved");
    assert_eq!(ie["response"]["moved"][0]["to_jurisdiction"], "NL");

    // Follow-up preservation in the Netherlands.
    let mut body = preservation(None, &net.nl_provider);
    body["identifiers"] = json!([{"type": "account", "value": "media-8812"}]);
    let reply = app
        .post(
            &format!("/api/v1/requests/{}/follow-ups", ie["id"].as_str().unwrap()),
            Some(&w.officer),
            body,
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let nl = reply.json;
    assert_eq!(nl["parent"]["id"], ie["id"]);
    assert_eq!(nl["case_id"], case_id.as_str());
    let nl = step(app, &w.officer, &nl, "submit", json!({})).await;
    let nl = step(app, &w.ca, &nl, "approve", json!({})).await;
    let nl = step(app, &w.officer, &nl, "transmit", json!({})).await;
    let nl = step(app, &net.provider_nl, &nl, "preserve", json!({})).await;
    assert_eq!(nl["status"], "preserved");

    // The production that follows, through the Dutch central authority.
    let production = json!({
        "kind": "production",
        "legal_basis": "budapest-31",
        "executing_jurisdiction": "NL",
        "data_categories": ["subscriber", "content"],
        "identifiers": [{"type": "account", "value": "media-8812"}],
        "date_from": "2026-11-01T00:00:00Z",
        "date_to": "2026-11-25T00:00:00Z",
        "facts": "An adult groomed a 12-year-old over chat and obtained images.",
        "necessity": "The images identify the victim and the offender.",
        "relevance": "The account stored the images.",
        "custodian": "NL Provider, Amsterdam: preserved under our follow-up request."
    });
    let reply = app
        .post(
            &format!("/api/v1/requests/{}/follow-ups", nl["id"].as_str().unwrap()),
            Some(&w.officer),
            production,
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let prod = reply.json;
    assert_eq!(
        prod["responder_id"],
        net.nl_ca.as_str(),
        "routed to the central authority"
    );
    assert_eq!(prod["route"], "central_authority");
    let prod = step(app, &w.officer, &prod, "submit", json!({})).await;
    let prod = step(app, &w.ca, &prod, "approve", json!({})).await;
    let prod = step(app, &w.officer, &prod, "transmit", json!({})).await;
    let seen = get(app, &net.ca_nl, &prod).await;
    assert_eq!(seen.status, 200);
    assert!(
        seen.json.get("case_id").is_none(),
        "the executing side never sees the case"
    );
    assert!(seen.json.get("internal_notes").is_none());
    let prod = step(app, &net.ca_nl, &prod, "acknowledge", json!({})).await;
    let delivered =
        crate::evidence::upload(app, &net.ca_nl, &prod, b"media-8812 records".to_vec(), None).await;
    assert_eq!(delivered.status, 201, "{:?}", delivered.json);
    let prod = step(
        app,
        &net.ca_nl,
        &prod,
        "fulfil",
        json!({"note": "Produced via NL Provider"}),
    )
    .await;
    assert_eq!(prod["status"], "fulfilled");

    // The trail across providers and countries can be followed.
    let chain = get(app, &w.officer, &ie).await.json;
    assert_eq!(chain["children"][0]["id"], nl["id"]);
    let middle = get(app, &w.officer, &nl).await.json;
    assert_eq!(middle["parent"]["id"], ie["id"]);
    assert_eq!(middle["children"][0]["id"], prod["id"]);
    let case = app
        .get(&format!("/api/v1/cases/{case_id}"), &w.officer)
        .await;
    assert_eq!(case.json["requests"].as_array().unwrap().len(), 3);
    // The Dutch provider sees its own request, not where it came from.
    let nl_view = get(app, &net.provider_nl, &nl).await.json;
    assert!(nl_view.get("parent").is_none() && nl_view.get("children").is_none());
    get(app, &net.provider_nl, &ie).await.problem(404);

    let report = app.get("/api/v1/audit/verify", &w.admin).await;
    assert_eq!(report.json["intact"], true, "{:?}", report.json);
    let trail = app
        .get(
            &format!("/api/v1/requests/{}/audit", ie["id"].as_str().unwrap()),
            &w.officer,
        )
        .await;
    let actions: Vec<&str> = trail.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "submit",
            "approve",
            "transmit",
            "acknowledge",
            "preserve",
            "report-moved",
            "follow_up_filed"
        ]
    );
    let provider_trail = app
        .get(
            &format!("/api/v1/requests/{}/audit", ie["id"].as_str().unwrap()),
            &w.provider,
        )
        .await;
    let provider_actions: Vec<&str> = provider_trail.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        provider_actions,
        ["transmit", "acknowledge", "preserve", "report-moved"]
    );
    // Numbered among what the provider may read, without the chain's hashes:
    // nothing betrays the events it may not (the submission, the approval).
    let places: Vec<i64> = provider_trail.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(places, [1, 2, 3, 4]);
    assert!(provider_trail.json["items"][0].get("hash").is_none());
}

async fn a_draft_is_validated_on_creation_naming_each_field(app: &TestApp) {
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["identifiers"] = json!([
        {"type": "ip", "value": "198.51.100.23"},
        {"type": "email", "value": "not-an-address"},
        {"type": "phone", "value": "0770 090"},
        {"type": "url", "value": "ftp://x"},
        {"type": "ip", "value": "2001:db8::1", "port": 70000, "observed_at": "2026-11-20T21:15:03"}
    ]);
    body["date_from"] = json!("yesterday");
    body["date_to"] = json!("9999-01-01T00:00:00Z");
    body["data_categories"] = json!(["dna"]);
    let reply = app.post("/api/v1/requests", Some(&w.officer), body).await;
    assert_eq!(
        reply.fields(),
        [
            "data_categories[0]",
            "identifiers[0].observed_at",
            "identifiers[0].port",
            "identifiers[1].value",
            "identifiers[2].value",
            "identifiers[3].value",
            "identifiers[4].port",
            "identifiers[4].observed_at",
            "date_from",
            "date_to"
        ]
    );
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["kind"] = json!("seizure");
    body["case_id"] = json!("0192f0c1-0000-7000-8000-000000000000");
    let reply = app.post("/api/v1/requests", Some(&w.officer), body).await;
    assert_eq!(reply.fields(), ["kind"]);
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["case_id"] = json!("0192f0c1-0000-7000-8000-000000000000");
    let reply = app.post("/api/v1/requests", Some(&w.officer), body).await;
    assert_eq!(reply.fields(), ["case_id"]);
    // Only liaison officers file requests.
    for token in [&w.provider, &w.ca, &w.admin] {
        app.post(
            "/api/v1/requests",
            Some(token),
            preservation(Some(&case_id), &w.ie_provider),
        )
        .await
        .problem(403);
    }
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["colour"] = json!("red");
    assert_eq!(
        app.post("/api/v1/requests", Some(&w.officer), body)
            .await
            .fields(),
        ["colour"]
    );
}

async fn the_legal_basis_decides_route_kind_and_parties(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    // A US preservation letter cannot come from the UK.
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["legal_basis"] = json!("us-2703f");
    let reply = app.post("/api/v1/requests", Some(&w.officer), body).await;
    assert_eq!(reply.fields(), ["legal_basis"]);
    // A production order is not a preservation; an EU order needs EU parties.
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["legal_basis"] = json!("eu-epoc-pr");
    body["kind"] = json!("production");
    let reply = app.post("/api/v1/requests", Some(&w.officer), body).await;
    assert_eq!(reply.fields(), ["kind", "legal_basis"]);
    // A formal MLA request goes to the central authority, not the provider.
    let mut body = preservation(Some(&case_id), &net.nl_provider);
    body["legal_basis"] = json!("budapest-31");
    body["kind"] = json!("production");
    let reply = app.post("/api/v1/requests", Some(&w.officer), body).await;
    assert_eq!(reply.fields(), ["responder_id"]);
    // Disabled entries cannot be used.
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["legal_basis"] = json!("cets224-7");
    body["kind"] = json!("production");
    body["data_categories"] = json!(["subscriber"]);
    let reply = app.post("/api/v1/requests", Some(&w.officer), body).await;
    assert!(reply.fields().contains(&"legal_basis".to_string()));
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["legal_basis"] = json!("no-such-basis");
    assert_eq!(
        app.post("/api/v1/requests", Some(&w.officer), body)
            .await
            .fields(),
        ["legal_basis"]
    );
    // An agency is never a responder; the executing jurisdiction is the responder's.
    let body = preservation(Some(&case_id), &w.de_agency);
    assert_eq!(
        app.post("/api/v1/requests", Some(&w.officer), body)
            .await
            .fields(),
        ["responder_id"]
    );
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["executing_jurisdiction"] = json!("NL");
    assert_eq!(
        app.post("/api/v1/requests", Some(&w.officer), body)
            .await
            .fields(),
        ["executing_jurisdiction"]
    );
}

async fn submit_lists_every_missing_item(app: &TestApp) {
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    let draft = create(
        app,
        &w.officer,
        json!({"case_id": case_id, "kind": "preservation", "legal_basis": "provider-voluntary",
               "responder_id": w.ie_provider, "data_categories": ["traffic"]}),
    )
    .await;
    let reply = act(app, &w.officer, &draft, "submit", json!({})).await;
    assert_eq!(
        reply.fields(),
        [
            "facts",
            "identifiers",
            "relevance",
            "necessity",
            "follow_up_intent",
            "date_from",
            "date_to"
        ]
    );
    assert_eq!(get(app, &w.officer, &draft).await.json["status"], "draft");
}

async fn drafts_are_edited_only_by_their_agency_at_the_version_read(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let draft = create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let path = format!("/api/v1/requests/{}", draft["id"].as_str().unwrap());
    let edited = app
        .patch(
            &path,
            &w.officer,
            json!({"version": 1, "facts": "Updated facts.", "custodian": null}),
        )
        .await;
    assert_eq!(edited.status, 200, "{:?}", edited.json);
    assert_eq!(edited.json["facts"], "Updated facts.");
    assert_eq!(edited.json["version"], 2);
    app.patch(&path, &w.officer, json!({"version": 1, "facts": "Stale"}))
        .await
        .problem(409);
    // Moving to another provider takes its jurisdiction along.
    let moved = app
        .patch(
            &path,
            &w.officer,
            json!({"version": 2, "responder_id": net.nl_provider}),
        )
        .await;
    assert_eq!(
        moved.json["executing_jurisdiction"], "NL",
        "{:?}",
        moved.json
    );
    app.patch(&path, &net.officer_b, json!({"version": 3, "facts": "x"}))
        .await
        .problem(404);
    app.patch(
        &path,
        &w.officer,
        json!({"version": 3, "identifiers": [{"type": "ip", "value": "1.2.3.4"}]}),
    )
    .await
    .problem(422);
    let submitted = step(app, &w.officer, &moved.json, "submit", json!({})).await;
    app.patch(&path, &w.ca, json!({"version": 4, "facts": "x"}))
        .await
        .problem(403);
    app.patch(
        &path,
        &w.officer,
        json!({"version": submitted["version"], "facts": "x"}),
    )
    .await
    .problem(409);
}

/// For one request in each visible phase: who sees it (200 or 404) and who may
/// act (403 for a visible request and the wrong party, 404 for an invisible one).
async fn every_role_sees_and_acts_only_as_allowed(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let everyone = [
        ("officer", &w.officer),
        ("officer of another GB agency", &net.officer_b),
        ("officer in DE", &net.officer_de),
        ("GB central authority", &w.ca),
        ("DE central authority", &net.ca_de),
        ("IE provider (responder)", &w.provider),
        ("NL provider", &net.provider_nl),
        ("NL central authority", &net.ca_nl),
        ("admin", &w.admin),
    ];
    let sees = |r: &Value, expected: Vec<&'static str>| {
        let r = r.clone();
        async move {
            for (name, token) in everyone {
                let status = get(app, token, &r).await.status.as_u16();
                let want = if expected.contains(&name) { 200 } else { 404 };
                assert_eq!(status, want, "{name} at {}", r["status"]);
                let list = app.get("/api/v1/requests", token).await;
                let count = list.json["items"].as_array().unwrap().len();
                assert_eq!(
                    count,
                    usize::from(want == 200),
                    "{name} lists at {}",
                    r["status"]
                );
            }
        }
    };
    let draft = create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    sees(&draft, vec!["officer"]).await;
    act(app, &w.ca, &draft, "approve", json!({}))
        .await
        .problem(404);
    act(app, &w.provider, &draft, "preserve", json!({}))
        .await
        .problem(404);
    act(app, &w.officer, &draft, "approve", json!({}))
        .await
        .problem(403);
    act(app, &w.officer, &draft, "transmit", json!({}))
        .await
        .problem(409);

    let pending = step(app, &w.officer, &draft, "submit", json!({})).await;
    sees(&pending, vec!["officer", "GB central authority"]).await;
    act(app, &w.ca, &pending, "submit", json!({}))
        .await
        .problem(403);
    act(app, &w.officer, &pending, "approve", json!({}))
        .await
        .problem(403);
    act(app, &net.ca_de, &pending, "approve", json!({}))
        .await
        .problem(404);
    act(app, &net.officer_b, &pending, "withdraw", json!({}))
        .await
        .problem(404);
    act(app, &w.admin, &pending, "approve", json!({}))
        .await
        .problem(404);

    let approved = step(app, &net.ca_second, &pending, "approve", json!({})).await;
    sees(&approved, vec!["officer", "GB central authority"]).await;
    act(app, &w.ca, &approved, "transmit", json!({}))
        .await
        .problem(403);

    let sent = step(app, &w.officer, &approved, "transmit", json!({})).await;
    sees(
        &sent,
        vec!["officer", "GB central authority", "IE provider (responder)"],
    )
    .await;
    let provider_view = get(app, &w.provider, &sent).await.json;
    for hidden in ["case_id", "internal_notes", "parent", "children"] {
        assert!(
            provider_view.get(hidden).is_none(),
            "{hidden} shown to the provider"
        );
    }
    act(app, &w.provider, &sent, "transmit", json!({}))
        .await
        .problem(403);
    act(app, &w.officer, &sent, "preserve", json!({}))
        .await
        .problem(403);
    act(app, &w.ca, &sent, "preserve", json!({}))
        .await
        .problem(403);
    act(app, &net.provider_nl, &sent, "preserve", json!({}))
        .await
        .problem(404);
    act(app, &w.provider, &sent, "fulfil", json!({}))
        .await
        .problem(409);
    let stale = act(app, &w.provider, &pending, "preserve", json!({})).await;
    assert_eq!(stale.problem(409)["current_version"], sent["version"]);
    assert_eq!(stale.json["current_status"], "transmitted");
    // Unknown actions and malformed bodies are refused before anything happens.
    let id = sent["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/requests/{id}/explode"),
        Some(&w.provider),
        json!({"version": 4}),
    )
    .await
    .problem(404);
    app.post(
        &format!("/api/v1/requests/{id}/preserve"),
        Some(&w.provider),
        json!({}),
    )
    .await
    .problem(422);
    app.post(
        &format!("/api/v1/requests/{id}/preserve"),
        Some(&w.provider),
        json!([1]),
    )
    .await
    .problem(422);
    app.get("/api/v1/requests/not-an-id", &w.officer)
        .await
        .problem(404);
    app.get("/api/v1/requests?status=lost", &w.officer)
        .await
        .problem(422);
    let filtered = app
        .get("/api/v1/requests?status=transmitted", &w.officer)
        .await;
    assert_eq!(filtered.json["items"].as_array().unwrap().len(), 1);
    let filtered = app.get("/api/v1/requests?status=draft", &w.officer).await;
    assert_eq!(filtered.json["items"].as_array().unwrap().len(), 0);
}

/// The in-process queue of writers (`db::writers`): on SQLite a change waits
/// while another holds the turn, and goes through the moment it is released.
async fn sqlite_changes_wait_their_turn_and_postgres_changes_do_not(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let body = preservation(Some(&case_id), &w.ie_provider);
    let reply = app
        .behind_a_held_turn(app.post("/api/v1/requests", Some(&w.officer), body))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
}

async fn eight_approvals_at_once_one_wins(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let draft = create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let pending = step(app, &w.officer, &draft, "submit", json!({})).await;
    let attempts = (0..8).map(|i| {
        let token = if i % 2 == 0 { &w.ca } else { &net.ca_second };
        act(app, token, &pending, "approve", json!({}))
    });
    let replies = futures_util::future::join_all(attempts).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
    for reply in replies.iter().filter(|r| r.status == 409) {
        assert_eq!(reply.json["current_status"], "approved");
    }
    let now = get(app, &w.officer, &pending).await.json;
    assert_eq!(now["version"], 3);
    let trail = app
        .get(
            &format!("/api/v1/requests/{}/audit", now["id"].as_str().unwrap()),
            &w.officer,
        )
        .await;
    let approvals = trail.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "approve")
        .count();
    assert_eq!(approvals, 1);
    assert_eq!(
        app.get("/api/v1/audit/verify", &w.admin).await.json["intact"],
        true
    );
}

fn network_tokens(net: &Network) -> (&str, &str, &str) {
    (&net.officer_de, &net.ca_de, &net.w.provider)
}

async fn an_emergency_is_transmitted_first_and_validated_after(app: &TestApp) {
    let net = app.network().await;
    let (officer, ca, provider) = network_tokens(&net);
    let case_id = open_case(app, officer).await;
    let body = emergency_order(&case_id, &net.w.ie_provider, "emergency_disclosure");
    let draft = create(app, officer, body).await;
    let sent = step(app, officer, &draft, "transmit", json!({})).await;
    assert_eq!(sent["status"], "transmitted");
    assert!(sent["approved_at"].is_null());
    // The provider answers while the validation is pending.
    let answered = step(app, provider, &sent, "fulfil", json!({"no_data": true})).await;
    let validated = step(app, ca, &answered, "approve", json!({})).await;
    assert_eq!(validated["status"], "fulfilled");
    assert!(validated["approved_at"].is_string());
    act(app, ca, &validated, "approve", json!({}))
        .await
        .problem(409);

    // Without the emergency flag, a draft is not transmitted before approval.
    let mut plain = preservation(Some(&case_id), &net.w.ie_provider);
    plain["legal_basis"] = json!("eu-epoc-pr");
    let draft = create(app, officer, plain).await;
    act(app, officer, &draft, "transmit", json!({}))
        .await
        .problem(409);
    // A basis without an emergency path refuses the flag at creation.
    let mut flagged = preservation(Some(&case_id), &net.w.ie_provider);
    flagged["emergency"] = json!(true);
    assert_eq!(
        app.post("/api/v1/requests", Some(officer), flagged)
            .await
            .fields(),
        ["emergency"]
    );
}

async fn one_extension_then_no_more(app: &TestApp) {
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    let r = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let r = step(
        app,
        &w.provider,
        &r,
        "preserve",
        json!({"preserved_until": "2027-02-18T10:00:00Z"}),
    )
    .await;
    act(app, &w.provider, &r, "confirm-extension", json!({}))
        .await
        .problem(409);
    let r = step(
        app,
        &w.officer,
        &r,
        "request-extension",
        json!({"note": "MLA request in preparation"}),
    )
    .await;
    act(app, &w.officer, &r, "request-extension", json!({}))
        .await
        .problem(409);
    let r = step(app, &w.provider, &r, "confirm-extension", json!({})).await;
    assert_eq!(r["extensions_granted"], 1);
    assert_eq!(r["preserved_until"], "2027-05-19T10:00:00Z", "90 more days");
    let refused = act(app, &w.officer, &r, "request-extension", json!({})).await;
    assert!(
        refused.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("no further extension")
    );
    let r = step(app, &w.officer, &r, "release", json!({})).await;
    assert_eq!(r["status"], "released");
    act(
        app,
        &w.provider,
        &r,
        "preserve",
        json!({"preserved_until": "2020-01-01T00:00:00Z"}),
    )
    .await
    .problem(409);
}

async fn returned_rejected_refused_clarified_and_withdrawn(app: &TestApp) {
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    // Returned with a comment, then rejected with a reason.
    let r = create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let r = step(app, &w.officer, &r, "submit", json!({})).await;
    act(app, &w.ca, &r, "return", json!({})).await.problem(422);
    let r = step(
        app,
        &w.ca,
        &r,
        "return",
        json!({"comment": "Add the port of the second IP"}),
    )
    .await;
    assert_eq!(r["status"], "draft");
    assert_eq!(
        r["internal_notes"]["returns"][0]["comment"],
        "Add the port of the second IP"
    );
    let r = step(app, &w.officer, &r, "submit", json!({})).await;
    let r = step(
        app,
        &w.ca,
        &r,
        "reject",
        json!({"reason": "Disproportionate"}),
    )
    .await;
    assert_eq!(r["status"], "rejected");
    act(app, &w.officer, &r, "submit", json!({}))
        .await
        .problem(409);

    // Clarification, then a refusal with a ground.
    let r = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let r = step(
        app,
        &w.provider,
        &r,
        "ask-clarification",
        json!({"question": "Which time zone?"}),
    )
    .await;
    assert_eq!(r["status"], "clarification_requested");
    let r = step(
        app,
        &w.officer,
        &r,
        "answer-clarification",
        json!({"answer": "UTC"}),
    )
    .await;
    assert_eq!(r["status"], "acknowledged");
    assert_eq!(
        act(
            app,
            &w.provider,
            &r,
            "refuse",
            json!({"ground": "bored", "explanation": "x"})
        )
        .await
        .fields(),
        ["ground"]
    );
    let r = step(
        app,
        &w.provider,
        &r,
        "refuse",
        json!({"ground": "account_not_found", "explanation": "No such account"}),
    )
    .await;
    assert_eq!(r["status"], "refused");
    assert_eq!(r["response"]["refusal"]["ground"], "account_not_found");
    act(app, &w.officer, &r, "withdraw", json!({}))
        .await
        .problem(409);

    // Withdrawn before an answer.
    let r = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let r = step(
        app,
        &w.officer,
        &r,
        "withdraw",
        json!({"note": "Suspect identified"}),
    )
    .await;
    assert_eq!(r["status"], "withdrawn");
    act(app, &w.provider, &r, "preserve", json!({}))
        .await
        .problem(409);
}

async fn follow_ups_and_trails_are_refused_to_everyone_else(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let draft = create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let id = draft["id"].as_str().unwrap();
    let follow_ups = format!("/api/v1/requests/{id}/follow-ups");
    let trail = format!("/api/v1/requests/{id}/audit");
    // Not yet transmitted: no follow-up, even for its own agency.
    app.post(
        &follow_ups,
        Some(&w.officer),
        preservation(None, &net.nl_provider),
    )
    .await
    .problem(409);
    let sent = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let sent_id = sent["id"].as_str().unwrap();
    let follow_ups = format!("/api/v1/requests/{sent_id}/follow-ups");
    // Visible but not theirs to file: 403; invisible: 404.
    app.post(
        &follow_ups,
        Some(&net.officer_b),
        preservation(None, &net.nl_provider),
    )
    .await
    .problem(404);
    for token in [&w.ca, &w.provider] {
        app.post(
            &follow_ups,
            Some(token),
            preservation(None, &net.nl_provider),
        )
        .await
        .problem(403);
    }
    let with_case = preservation(Some(&case_id), &net.nl_provider);
    assert_eq!(
        app.post(&follow_ups, Some(&w.officer), with_case)
            .await
            .fields(),
        ["case_id"]
    );
    assert_eq!(
        app.post(
            &follow_ups,
            Some(&w.officer),
            preservation(None, &net.nl_provider)
        )
        .await
        .status,
        201
    );
    // The draft's trail: its agency only.
    assert_eq!(app.get(&trail, &w.officer).await.status, 200);
    for token in [
        &net.officer_b,
        &w.ca,
        &w.provider,
        &net.provider_nl,
        &w.admin,
        &net.ca_de,
    ] {
        app.get(&trail, token).await.problem(404);
    }
}

async fn an_emergency_rejected_after_transmission_keeps_its_reason_internal(app: &TestApp) {
    let net = app.network().await;
    let (officer, ca, provider) = network_tokens(&net);
    let case_id = open_case(app, officer).await;
    let body = json!({
        "case_id": case_id, "kind": "production", "legal_basis": "eu-epoc",
        "responder_id": net.w.ie_provider, "data_categories": ["subscriber"],
        "identifiers": [{"type": "account", "value": "threat_account"}],
        "facts": "Extortion of a minor.", "necessity": "Imminent threat.",
        "relevance": "The account made the threats.",
        "emergency": true, "emergency_justification": "Threat to life."
    });
    let draft = create(app, officer, body).await;
    let sent = step(app, officer, &draft, "transmit", json!({})).await;
    let rejected = step(
        app,
        ca,
        &sent,
        "reject",
        json!({"reason": "No imminent threat shown"}),
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(
        rejected["internal_notes"]["rejection"]["reason"],
        "No imminent threat shown"
    );
    let seen = get(app, provider, &rejected).await.json;
    assert_eq!(seen["status"], "rejected");
    assert!(seen.get("internal_notes").is_none());
    let trail = app
        .get(
            &format!(
                "/api/v1/requests/{}/audit",
                rejected["id"].as_str().unwrap()
            ),
            provider,
        )
        .await;
    let reject = trail.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "reject")
        .unwrap()
        .clone();
    assert_eq!(reject["details"], json!({}));
    act(app, provider, &rejected, "fulfil", json!({}))
        .await
        .problem(409);
}
