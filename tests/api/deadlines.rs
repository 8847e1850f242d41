//! Deadlines as requests move, the at-risk board, and follow-ups stopping clocks.

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::TestApp;
use crate::workflow::{create, open_case, preservation, step};

backend_tests!(
    a_request_shows_its_clocks_as_it_moves,
    the_board_lists_what_is_due_soonest_first_for_the_caller_only,
    a_transmitted_formal_request_stops_a_budapest_preservation_clock,
    a_central_authority_answering_a_foreign_request_sees_only_its_own_clocks,
);

/// The issuing side's own clocks (approval, ex-post validation, the follow-up
/// it owes) are its business: a central authority that is the responder of a
/// foreign request sees the responder's clocks, on its board as in the
/// request's deadlines; its counterpart in the issuing State sees them all.
async fn a_central_authority_answering_a_foreign_request_sees_only_its_own_clocks(app: &TestApp) {
    let (net, preserved) = budapest_preserved(app).await;
    let w = &net.w;
    let everything = "/api/v1/deadlines?within=3650d&status=any&limit=200";
    let board_kinds = |reply: crate::helpers::Reply| {
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        let mut kinds: Vec<String> = reply.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["reference"] == preserved["reference"])
            .map(|d| d["kind"].as_str().unwrap().to_owned())
            .collect();
        kinds.sort();
        kinds
    };
    let issuing = board_kinds(app.get(everything, &w.ca).await);
    assert!(
        issuing.iter().any(|k| k == "approval_due") && issuing.iter().any(|k| k == "follow_up_due"),
        "{issuing:?}"
    );
    let responder = board_kinds(app.get(everything, &net.ca_nl).await);
    assert!(
        responder.iter().any(|k| k == "preservation_expires"),
        "{responder:?}"
    );
    for kind in mlat::domain::deadlines::ISSUING_SIDE {
        assert!(
            !responder.iter().any(|k| k == kind),
            "{kind} in {responder:?}"
        );
    }
    let own = kinds(&deadlines(app, &net.ca_nl, &preserved).await);
    assert_eq!(
        own, responder,
        "the board and the request's deadlines agree"
    );
}

/// A Budapest Art. 29 preservation by the GB officer, addressed to the NL
/// central authority (named from the executing jurisdiction), approved,
/// transmitted and preserved there.
pub async fn budapest_preserved(app: &TestApp) -> (crate::helpers::Network, Value) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let mut body = preservation(Some(&case_id), &net.nl_provider);
    body["legal_basis"] = json!("budapest-29");
    body.as_object_mut().unwrap().remove("responder_id");
    body["executing_jurisdiction"] = json!("NL");
    body["custodian"] = json!("NL Provider, Amsterdam");
    let r = create(app, &w.officer, body).await;
    assert_eq!(r["responder_id"], net.nl_ca.as_str());
    let r = step(app, &w.officer, &r, "submit", json!({})).await;
    let r = step(app, &w.ca, &r, "approve", json!({})).await;
    let r = step(app, &w.officer, &r, "transmit", json!({})).await;
    let preserved = step(app, &net.ca_nl, &r, "preserve", json!({})).await;
    (net, preserved)
}

/// A Budapest Art. 31 production request following `parent` up in the State
/// `to`, filed by the GB officer, approved and transmitted.
pub async fn mla_sent(
    app: &TestApp,
    net: &crate::helpers::Network,
    parent: &Value,
    to: &str,
) -> Value {
    let w = &net.w;
    let reply = app
        .post(
            &format!(
                "/api/v1/requests/{}/follow-ups",
                parent["id"].as_str().unwrap()
            ),
            Some(&w.officer),
            json!({
                "kind": "production", "legal_basis": "budapest-31", "executing_jurisdiction": to,
                "data_categories": ["subscriber"],
                "identifiers": [{"type": "account", "value": "media-8812"}],
                "facts": "Grooming.", "necessity": "Identify the offender.",
                "relevance": "The account.", "custodian": format!("A provider in {to}")
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let child = step(app, &w.officer, &reply.json, "submit", json!({})).await;
    let child = step(app, &w.ca, &child, "approve", json!({})).await;
    step(app, &w.officer, &child, "transmit", json!({})).await
}

async fn deadlines(app: &TestApp, token: &str, request: &Value) -> Vec<Value> {
    let reply = app
        .get(
            &format!(
                "/api/v1/requests/{}/deadlines",
                request["id"].as_str().unwrap()
            ),
            token,
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.json["items"].as_array().unwrap().clone()
}

fn of<'a>(list: &'a [Value], kind: &str) -> &'a Value {
    list.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {list:#?}"))
}

fn kinds(list: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = list
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_owned())
        .collect();
    k.sort();
    k
}

fn recent(days_ago: i64) -> String {
    (Utc::now() - TimeDelta::days(days_ago)).to_rfc3339()
}

async fn a_request_shows_its_clocks_as_it_moves(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["identifiers"][1]["observed_at"] = json!(recent(2));
    let draft = create(app, &w.officer, body).await;
    // From the draft on, the provider's deletion clock shows.
    let list = deadlines(app, &w.officer, &draft).await;
    assert_eq!(kinds(&list), ["retention_risk"]);
    let risk = of(&list, "retention_risk");
    assert_eq!(risk["status"], "open");
    assert!(
        risk["explanation"]
            .as_str()
            .unwrap()
            .contains("+ 25 days the responder keeps identification data")
    );

    let pending = step(app, &w.officer, &draft, "submit", json!({})).await;
    let list = deadlines(app, &w.ca, &pending).await;
    let approval = of(&list, "approval_due");
    assert_eq!(approval["status"], "open");
    assert_eq!(approval["timezone"], "Europe/London");
    assert!(
        approval["explanation"]
            .as_str()
            .unwrap()
            .starts_with("24 hours from submission")
    );

    let approved = step(app, &w.ca, &pending, "approve", json!({})).await;
    assert_eq!(
        of(&deadlines(app, &w.officer, &approved).await, "approval_due")["status"],
        "met"
    );
    let sent = step(app, &w.officer, &approved, "transmit", json!({})).await;
    // The responder sees its own clocks, not the issuing side's; the
    // preservation runs from receipt, before any answer.
    let provider_view = deadlines(app, &w.provider, &sent).await;
    assert_eq!(
        kinds(&provider_view),
        ["preservation_expires", "retention_risk"]
    );
    app.get(
        &format!(
            "/api/v1/requests/{}/deadlines",
            sent["id"].as_str().unwrap()
        ),
        &net.provider_nl,
    )
    .await
    .problem(404);

    let preserved = step(app, &w.provider, &sent, "preserve", json!({})).await;
    let list = deadlines(app, &w.officer, &preserved).await;
    assert_eq!(
        kinds(&list),
        [
            "approval_due",
            "follow_up_due",
            "preservation_expires",
            "retention_risk"
        ]
    );
    assert_eq!(of(&list, "retention_risk")["status"], "met");
    let expiry = of(&list, "preservation_expires");
    assert_eq!(expiry["status"], "open");
    assert_eq!(expiry["timezone"], "Europe/Dublin");
    assert!(
        expiry["explanation"]
            .as_str()
            .unwrap()
            .starts_with("90 days of 24 hours from transmission")
    );
    let expires: chrono::DateTime<Utc> = expiry["due_at"].as_str().unwrap().parse().unwrap();
    let follow: chrono::DateTime<Utc> = of(&list, "follow_up_due")["due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires - follow, TimeDelta::days(14));

    // An extension moves the expiry by 90 days.
    let asked = step(app, &w.officer, &preserved, "request-extension", json!({})).await;
    let extended = step(app, &w.provider, &asked, "confirm-extension", json!({})).await;
    let later: chrono::DateTime<Utc> = of(
        &deadlines(app, &w.officer, &extended).await,
        "preservation_expires",
    )["due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(later - expires, TimeDelta::days(90));
    // Released: the expiry is met.
    let released = step(app, &w.officer, &extended, "release", json!({})).await;
    let list = deadlines(app, &w.officer, &released).await;
    assert_eq!(of(&list, "preservation_expires")["status"], "met");
    assert_eq!(of(&list, "follow_up_due")["status"], "cancelled");
}

async fn the_board_lists_what_is_due_soonest_first_for_the_caller_only(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    // Seen 20 days ago with 25 days' retention: at risk in 5 days; seen 10 days
    // ago: in 15 days.
    for days_ago in [10, 20] {
        let mut body = preservation(Some(&case_id), &w.ie_provider);
        body["identifiers"][1]["observed_at"] = json!(recent(days_ago));
        create(app, &w.officer, body).await;
    }
    let board = app.get("/api/v1/deadlines?within=30d", &w.officer).await;
    assert_eq!(board.status, 200, "{:?}", board.json);
    let items = board.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items[0]["due_at"].as_str() < items[1]["due_at"].as_str());
    assert_eq!(items[0]["kind"], "retention_risk");
    assert!(items[0]["reference"].as_str().unwrap().starts_with("R-"));
    assert_eq!(items[0]["responder_name"], "IE Provider");
    assert!(items[0]["explanation"].as_str().is_some());
    // Only what falls within the span.
    let soon = app.get("/api/v1/deadlines?within=7d", &w.officer).await;
    assert_eq!(soon.json["items"].as_array().unwrap().len(), 1);
    // Paged.
    let first = app
        .get("/api/v1/deadlines?within=30d&limit=1", &w.officer)
        .await;
    let cursor = first.json["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/deadlines?within=30d&limit=1&cursor={cursor}"),
            &w.officer,
        )
        .await;
    assert_eq!(second.json["items"][0]["due_at"], items[1]["due_at"]);
    assert!(second.json["next_cursor"].is_null());
    // Nobody else sees these drafts' clocks.
    for token in [&net.officer_b, &w.ca, &w.provider, &w.admin] {
        let other = app.get("/api/v1/deadlines?within=30d", token).await;
        assert_eq!(other.json["items"], json!([]), "{:?}", other.json);
    }
    for bad in ["within=soon", "status=late", "limit=0", "cursor=zzz"] {
        app.get(&format!("/api/v1/deadlines?{bad}"), &w.officer)
            .await
            .problem(422);
    }
    let met = app
        .get("/api/v1/deadlines?within=30d&status=met", &w.officer)
        .await;
    assert_eq!(met.json["items"], json!([]));
    // Once submitted, the central authority sees the clocks; once transmitted,
    // the responder does, and nobody else.
    let list = app.get("/api/v1/requests", &w.officer).await.json;
    let first = list["items"][0].clone();
    let r = step(app, &w.officer, &first, "submit", json!({})).await;
    let count = |reply: crate::helpers::Reply| reply.json["items"].as_array().unwrap().len();
    assert_eq!(
        count(app.get("/api/v1/deadlines?within=30d", &w.ca).await),
        2,
        "retention risk and approval"
    );
    assert_eq!(
        count(app.get("/api/v1/deadlines?within=30d", &w.provider).await),
        0
    );
    let r = step(app, &w.ca, &r, "approve", json!({})).await;
    step(app, &w.officer, &r, "transmit", json!({})).await;
    assert_eq!(
        count(app.get("/api/v1/deadlines?within=30d", &w.provider).await),
        1
    );
    assert_eq!(
        count(
            app.get("/api/v1/deadlines?within=30d", &net.provider_nl)
                .await
        ),
        0
    );
    assert_eq!(
        count(app.get("/api/v1/deadlines?within=30d", &net.ca_de).await),
        0
    );
    assert_eq!(
        count(
            app.get("/api/v1/deadlines?within=30d&status=any", &w.officer)
                .await
        ),
        3,
        "two retention risks and the approval, met"
    );
}

async fn a_transmitted_formal_request_stops_a_budapest_preservation_clock(app: &TestApp) {
    let (net, preserved) = budapest_preserved(app).await;
    let w = &net.w;
    let expiry = of(
        &deadlines(app, &w.officer, &preserved).await,
        "preservation_expires",
    )
    .clone();
    assert_eq!(expiry["status"], "open");
    assert!(
        expiry["explanation"]
            .as_str()
            .unwrap()
            .contains("60 days of 24 hours from transmission")
    );
    assert!(
        expiry["explanation"]
            .as_str()
            .unwrap()
            .contains("ETS 185 Art. 29(7)")
    );

    mla_sent(app, &net, &preserved, "NL").await;
    let list = deadlines(app, &w.officer, &preserved).await;
    let expiry = of(&list, "preservation_expires");
    assert_eq!(expiry["status"], "cancelled", "{expiry:?}");
    assert!(
        expiry["explanation"]
            .as_str()
            .unwrap()
            .contains("pending a decision")
    );
    assert_eq!(of(&list, "follow_up_due")["status"], "met");
}
