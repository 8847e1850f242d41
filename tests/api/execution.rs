//! Domestic execution: the Dutch central authority has a Dutch provider
//! execute a British request; the provider answers the central authority, and
//! the British side reads the answers, never the Dutch authority's own case.

use actix_web::web;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::cases::case_body;
use crate::evidence::upload;
use crate::helpers::{Network, PASSWORD, Reply, TestApp};
use crate::portal::Browser;
use crate::workflow::{open_case, step, transmitted};

backend_tests!(
    a_provider_of_the_executing_state_answers_and_the_issuing_side_reads_it,
    only_the_executing_central_authority_orders_and_only_a_provider_of_its_state,
    two_orders_to_one_provider_at_once_one_wins,
    the_central_authority_relays_the_providers_files_to_the_issuing_side,
    in_the_portal_the_central_authority_orders_and_relays_and_the_officer_reads_the_answers,
);

const OFFICERS_FACTS: &str = "An adult groomed a 12-year-old over chat and obtained images.";
const AUTHORITYS_FACTS: &str = "Preserve the account named, as ordered by the Dutch authority.";

/// A British request to the Dutch central authority, transmitted.
async fn to_the_dutch_authority(app: &TestApp, net: &Network, kind: &str) -> Value {
    let w = &net.w;
    let reference = format!("OP-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let reply = app
        .post("/api/v1/cases", Some(&w.officer), case_body(&reference))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let case_id = reply.json["id"].clone();
    let (basis, categories) = match kind {
        "preservation" => ("budapest-29", json!(["subscriber", "traffic"])),
        _ => ("budapest-31", json!(["subscriber", "content"])),
    };
    let body = json!({
        "case_id": case_id, "kind": kind, "legal_basis": basis,
        "responder_id": net.nl_ca, "executing_jurisdiction": "NL",
        "data_categories": categories,
        "identifiers": [{"type": "account", "value": "media-8812"}],
        "date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-25T00:00:00Z",
        "facts": OFFICERS_FACTS,
        "necessity": "The provider deletes logs within weeks.",
        "relevance": "The account sent the images.",
        "custodian": "NL Provider, Amsterdam",
        "follow_up_intent": true
    });
    transmitted(app, &w.officer, &w.ca, body).await
}

async fn order(app: &TestApp, token: &str, incoming: &Value, body: Value) -> Reply {
    app.post(
        &format!(
            "/api/v1/requests/{}/domestic-orders",
            incoming["id"].as_str().unwrap()
        ),
        Some(token),
        body,
    )
    .await
}

async fn get(app: &TestApp, token: &str, request: &Value) -> Reply {
    app.get(
        &format!("/api/v1/requests/{}", request["id"].as_str().unwrap()),
        token,
    )
    .await
}

/// Subjects of the step e-mails queued for `email`.
async fn subjects_to(app: &TestApp, email: &str) -> Vec<String> {
    use mlat::db::schema::outbox;
    let (state, email) = (app.state.clone(), email.to_owned());
    web::block(move || {
        let mut conn = state.pool.get().unwrap();
        outbox::table
            .filter(outbox::recipient_email.eq(email))
            .select(outbox::subject)
            .load::<String>(&mut conn)
            .unwrap()
    })
    .await
    .unwrap()
}

async fn a_provider_of_the_executing_state_answers_and_the_issuing_side_reads_it(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let incoming = to_the_dutch_authority(app, &net, "preservation").await;
    let case_id = incoming["case_id"].as_str().unwrap().to_owned();
    let incoming = step(app, &net.ca_nl, &incoming, "acknowledge", json!({})).await;

    let reply = order(
        app,
        &net.ca_nl,
        &incoming,
        json!({ "responder_id": net.nl_provider, "facts": AUTHORITYS_FACTS }),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let ordered = reply.json;
    assert_eq!(ordered["legal_basis"], "domestic-execution");
    assert_eq!(ordered["status"], "transmitted");
    assert_eq!(ordered["kind"], "preservation");
    assert_eq!(ordered["agency_name"], "NL Central Authority");
    assert_eq!(ordered["responder_name"], "NL Provider");
    assert_eq!(ordered["issuing_jurisdiction"], "NL");
    assert_eq!(ordered["identifiers"], incoming["identifiers"]);
    assert_eq!(ordered["data_categories"], incoming["data_categories"]);
    assert_eq!(ordered["facts"], AUTHORITYS_FACTS);
    assert_eq!(ordered["necessity"], Value::Null);
    assert_eq!(ordered["executes"]["reference"], incoming["reference"]);
    // Its own clocks, on its own basis.
    let clocks = app
        .get(
            &format!(
                "/api/v1/requests/{}/deadlines",
                ordered["id"].as_str().unwrap()
            ),
            &net.ca_nl,
        )
        .await;
    let kinds: Vec<&str> = clocks.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"response_due"), "{kinds:?}");
    assert!(kinds.contains(&"preservation_expires"), "{kinds:?}");
    // The provider is told, and the issuing side reads "executed through".
    assert!(
        subjects_to(app, "provider@nl.test.example")
            .await
            .iter()
            .any(|s| s.contains(ordered["reference"].as_str().unwrap()) && s.contains("received"))
    );
    let seen = get(app, &w.officer, &incoming).await.json;
    assert_eq!(seen["domestic_orders"][0]["responder_name"], "NL Provider");
    assert_eq!(seen["domestic_orders"][0]["status"], "transmitted");
    assert!(seen["domestic_orders"][0].get("id").is_none());

    // The provider sees the order, and nothing of the British case.
    let provider = &net.provider_nl;
    let theirs = get(app, provider, &ordered).await;
    assert_eq!(theirs.status, 200);
    for hidden in [
        "executes",
        "case_id",
        "internal_notes",
        "parent",
        "children",
    ] {
        assert!(
            theirs.json.get(hidden).is_none(),
            "{hidden}: {:?}",
            theirs.json
        );
    }
    let trail = app
        .get(
            &format!("/api/v1/requests/{}/audit", ordered["id"].as_str().unwrap()),
            provider,
        )
        .await;
    assert_eq!(trail.status, 200);
    let everything = format!("{} {}", theirs.json, trail.json);
    for secret in [
        incoming["id"].as_str().unwrap(),
        incoming["reference"].as_str().unwrap(),
        case_id.as_str(),
        OFFICERS_FACTS,
        "GB Police",
    ] {
        assert!(!everything.contains(secret), "{secret} in {everything}");
    }
    assert_eq!(get(app, provider, &incoming).await.status, 404);
    let listed = app.get("/api/v1/requests", provider).await.json;
    let refs: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, [ordered["reference"].as_str().unwrap()]);
    // Nor does the issuing side see the order itself.
    assert_eq!(get(app, &w.officer, &ordered).await.status, 404);
    assert_eq!(get(app, &w.ca, &ordered).await.status, 404);

    // The provider answers; the answer flows back.
    let ordered = step(
        app,
        provider,
        &ordered,
        "acknowledge",
        json!({ "provider_reference": "NLP-77" }),
    )
    .await;
    let ordered = step(app, provider, &ordered, "preserve", json!({})).await;
    for token in [&w.officer, &w.ca, &net.ca_nl] {
        let seen = get(app, token, &incoming).await.json;
        let answer = &seen["domestic_orders"][0];
        assert_eq!(answer["reference"], ordered["reference"]);
        assert_eq!(answer["status"], "preserved");
        assert_eq!(
            answer["response"]["acknowledged"]["provider_reference"],
            "NLP-77"
        );
        // The provider named no date: its clock, on the order's basis.
        assert!(answer["preservation_expires_at"].is_string(), "{answer}");
        assert!(answer.get("internal_notes").is_none());
        // The incoming request stays the central authority's to answer.
        assert_eq!(seen["status"], "acknowledged");
    }
    assert_eq!(
        get(app, &net.ca_nl, &incoming).await.json["domestic_orders"][0]["id"],
        ordered["id"]
    );
    let trail = app
        .get(
            &format!(
                "/api/v1/requests/{}/audit",
                incoming["id"].as_str().unwrap()
            ),
            &w.officer,
        )
        .await
        .json;
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"domestic_order_sent"), "{actions:?}");
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "domestic_order_answered")
            .count(),
        2,
        "{actions:?}"
    );
    let told = subjects_to(app, "officer@gb.test.example").await;
    assert!(
        told.iter()
            .any(|s| s.contains("executed through NL Provider: preserved")),
        "{told:?}"
    );
    // The order's own issuer is the central authority: it is told too.
    assert!(
        subjects_to(app, "ca@nl.test.example")
            .await
            .iter()
            .any(|s| s.contains(ordered["reference"].as_str().unwrap()) && s.contains("preserved"))
    );
    // The central authority runs the order as its issuer: it may release it.
    let released = step(app, &net.ca_nl, &ordered, "release", json!({})).await;
    assert_eq!(released["status"], "released");
}

async fn only_the_executing_central_authority_orders_and_only_a_provider_of_its_state(
    app: &TestApp,
) {
    let net = app.network().await;
    let w = &net.w;
    let incoming = to_the_dutch_authority(app, &net, "preservation").await;
    let to_nl = json!({ "responder_id": net.nl_provider });
    // The issuing side: it sees the request, and may not order for it.
    for token in [&w.officer, &w.ca] {
        let reply = order(app, token, &incoming, to_nl.clone()).await;
        reply.problem(403);
    }
    // Those who do not see it: not found.
    for token in [&net.ca_de, &net.provider_nl, &w.provider] {
        order(app, token, &incoming, to_nl.clone())
            .await
            .problem(404);
    }
    // A provider of another State, an agency, nonsense, an unknown field.
    let reply = order(
        app,
        &net.ca_nl,
        &incoming,
        json!({ "responder_id": w.ie_provider }),
    )
    .await;
    assert_eq!(reply.fields(), ["responder_id"]);
    assert!(
        reply.json.to_string().contains("is in IE"),
        "{:?}",
        reply.json
    );
    let reply = order(
        app,
        &net.ca_nl,
        &incoming,
        json!({ "responder_id": w.gb_agency }),
    )
    .await;
    assert_eq!(reply.fields(), ["responder_id"]);
    let reply = order(app, &net.ca_nl, &incoming, json!({ "responder_id": "x" })).await;
    assert_eq!(reply.fields(), ["responder_id"]);
    let reply = order(
        app,
        &net.ca_nl,
        &incoming,
        json!({ "responder_id": net.nl_provider, "case_id": "y" }),
    )
    .await;
    assert_eq!(reply.fields(), ["case_id"]);
    // Nothing was ordered by any of it.
    assert!(
        get(app, &w.officer, &incoming)
            .await
            .json
            .get("domestic_orders")
            .is_none()
    );
    // An officer may not draft on the domestic basis.
    let case_id = open_case(app, &w.officer).await;
    let reply = app
        .post(
            "/api/v1/requests",
            Some(&w.officer),
            json!({
                "case_id": case_id, "kind": "preservation", "legal_basis": "domestic-execution",
                "responder_id": w.ie_provider, "data_categories": ["subscriber"],
                "identifiers": [{"type": "account", "value": "x"}]
            }),
        )
        .await;
    assert!(
        reply.fields().contains(&"legal_basis".to_owned()),
        "{:?}",
        reply.json
    );
    // A request no longer open is not passed on.
    let refused = step(
        app,
        &net.ca_nl,
        &incoming,
        "refuse",
        json!({ "ground": "dual_criminality", "explanation": "Not an offence here." }),
    )
    .await;
    order(app, &net.ca_nl, &refused, to_nl).await.problem(409);
}

async fn two_orders_to_one_provider_at_once_one_wins(app: &TestApp) {
    let net = app.network().await;
    let incoming = to_the_dutch_authority(app, &net, "preservation").await;
    let body = json!({ "responder_id": net.nl_provider });
    let (a, b) = futures_util::future::join(
        order(app, &net.ca_nl, &incoming, body.clone()),
        order(app, &net.ca_nl, &incoming, body.clone()),
    )
    .await;
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{:?} {:?}", a.json, b.json);
    let seen = get(app, &net.w.officer, &incoming).await.json;
    assert_eq!(seen["domestic_orders"].as_array().unwrap().len(), 1);
}

async fn the_central_authority_relays_the_providers_files_to_the_issuing_side(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let incoming = to_the_dutch_authority(app, &net, "production").await;
    let ordered = order(
        app,
        &net.ca_nl,
        &incoming,
        json!({ "responder_id": net.nl_provider }),
    )
    .await;
    assert_eq!(ordered.status, 201, "{:?}", ordered.json);
    let ordered = ordered.json;
    let bytes = b"subscriber records of media-8812".to_vec();
    let delivered = upload(app, &net.provider_nl, &ordered, bytes.clone(), None).await;
    assert_eq!(delivered.status, 201, "{:?}", delivered.json);
    let evidence_id = delivered.json["id"].as_str().unwrap().to_owned();
    // The issuing side cannot reach the order's file itself.
    let reach = app
        .get(
            &format!("/api/v1/evidence/{evidence_id}/content"),
            &w.officer,
        )
        .await;
    assert_eq!(reach.status, 404);
    let relay = |token: String, id: String| {
        let incoming = incoming.clone();
        async move {
            app.post(
                &format!(
                    "/api/v1/requests/{}/evidence/relayed",
                    incoming["id"].as_str().unwrap()
                ),
                Some(&token),
                json!({ "evidence_id": id }),
            )
            .await
        }
    };
    // Only the executing central authority relays.
    relay(w.officer.clone(), evidence_id.clone())
        .await
        .problem(403);
    relay(net.provider_nl.clone(), evidence_id.clone())
        .await
        .problem(404);
    let relayed = relay(net.ca_nl.clone(), evidence_id.clone()).await;
    assert_eq!(relayed.status, 201, "{:?}", relayed.json);
    assert_eq!(relayed.json["sha256"], delivered.json["sha256"]);
    relay(net.ca_nl.clone(), evidence_id.clone())
        .await
        .problem(409);
    // A file of some other request is not an answer to this one.
    let other = to_the_dutch_authority(app, &net, "production").await;
    let elsewhere = upload(app, &net.ca_nl, &other, b"other".to_vec(), None).await;
    assert_eq!(elsewhere.status, 201, "{:?}", elsewhere.json);
    let reply = relay(
        net.ca_nl.clone(),
        elsewhere.json["id"].as_str().unwrap().to_owned(),
    )
    .await;
    assert_eq!(reply.fields(), ["evidence_id"]);
    // The issuing side downloads exactly the provider's bytes.
    let mut response = app
        .client
        .get(app.url(relayed.json["content"].as_str().unwrap()))
        .bearer_auth(&w.officer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().await.unwrap().to_vec(), bytes);
    let trail = app
        .get(
            &format!(
                "/api/v1/requests/{}/audit",
                incoming["id"].as_str().unwrap()
            ),
            &w.officer,
        )
        .await
        .json;
    let custody = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "evidence_uploaded")
        .unwrap();
    assert_eq!(
        custody["details"]["relayed_from"]["order_reference"],
        ordered["reference"]
    );
    // With it, the central authority fulfils the incoming request.
    let incoming = get(app, &net.ca_nl, &incoming).await.json;
    let done = step(app, &net.ca_nl, &incoming, "fulfil", json!({})).await;
    assert_eq!(done["status"], "fulfilled");
}

async fn in_the_portal_the_central_authority_orders_and_relays_and_the_officer_reads_the_answers(
    app: &TestApp,
) {
    let net = app.network().await;
    let w = &net.w;
    let incoming = to_the_dutch_authority(app, &net, "production").await;
    let page_of = format!("/requests/{}", incoming["id"].as_str().unwrap());
    let mut ca = Browser::new(app);
    assert_eq!(
        ca.sign_in("ca@nl.test.example", PASSWORD, "%2F")
            .await
            .status,
        303
    );
    let page = ca.get(&page_of).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Have a provider in NL execute it"),
        "{}",
        page.body
    );
    let offered = &page.body[page.body.find("id=\"order-provider\"").unwrap()..];
    let offered = &offered[..offered.find("</select>").unwrap()];
    assert!(offered.contains(">NL Provider</option>"), "{offered}");
    assert!(!offered.contains(">IE Provider</option>"), "{offered}");
    let token = page.hidden("csrf_token");
    let to = format!("{page_of}/domestic-orders");
    // A provider of another State, typed in anyway: refused at the form,
    // what was typed kept.
    let ie = w.ie_provider.clone();
    let refused = ca
        .post(
            &to,
            &[
                ("csrf_token", &token),
                ("responder_id", &ie),
                ("facts", "Kept text."),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("is in IE"), "{}", refused.body);
    assert!(
        refused.body.contains(">Kept text.</textarea>"),
        "{}",
        refused.body
    );
    // Without the session's token: nothing is done.
    let forged = ca.post(&to, &[("responder_id", &net.nl_provider)]).await;
    assert_eq!(forged.status, 403);
    let done = ca
        .post(
            &to,
            &[
                ("csrf_token", &token),
                ("responder_id", &net.nl_provider),
                ("facts", AUTHORITYS_FACTS),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location(),
        format!("{page_of}?done=domestic-order#orders")
    );
    let seen = app
        .get(
            &format!("/api/v1/requests/{}", incoming["id"].as_str().unwrap()),
            &net.ca_nl,
        )
        .await
        .json;
    let ordered = seen["domestic_orders"][0].clone();
    let order_id = ordered["id"].as_str().unwrap().to_owned();
    let page = ca.get(&page_of).await;
    assert!(
        page.body
            .contains(&format!("href=\"/requests/{order_id}\"")),
        "{}",
        page.body
    );
    // The order's page leads back to the request it executes.
    let order_page = ca.get(&format!("/requests/{order_id}")).await;
    assert!(
        order_page.body.contains(&format!(
            "Executes {}",
            incoming["reference"].as_str().unwrap()
        )),
        "{}",
        order_page.body
    );

    // The provider delivers on the order; the central authority passes it on.
    let order = app
        .get(&format!("/api/v1/requests/{order_id}"), &net.provider_nl)
        .await
        .json;
    let delivered = upload(app, &net.provider_nl, &order, b"records".to_vec(), None).await;
    assert_eq!(delivered.status, 201, "{:?}", delivered.json);
    let page = ca.get(&page_of).await;
    assert!(
        page.body.contains("Pass it on to the issuing side"),
        "{}",
        page.body
    );
    let evidence_id = delivered.json["id"].as_str().unwrap();
    let relayed = ca
        .post(
            &format!("{page_of}/evidence/relayed"),
            &[("csrf_token", &token), ("evidence_id", evidence_id)],
        )
        .await;
    assert_eq!(relayed.status, 303, "{}", relayed.body);
    let again = ca
        .post(
            &format!("{page_of}/evidence/relayed"),
            &[("csrf_token", &token), ("evidence_id", evidence_id)],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already delivered"), "{}", again.body);

    // The officer reads who executed it and what came back, and nothing of
    // the central authority's order beyond that.
    let mut officer = Browser::new(app);
    assert_eq!(
        officer
            .sign_in("officer@gb.test.example", PASSWORD, "%2F")
            .await
            .status,
        303
    );
    let page = officer.get(&page_of).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Executed through"), "{}", page.body);
    assert!(page.body.contains("NL Provider"), "{}", page.body);
    assert!(
        page.body.contains(ordered["reference"].as_str().unwrap()),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&order_id), "{}", page.body);
    assert!(!page.body.contains("Have a provider in"), "{}", page.body);
    assert!(!page.body.contains(AUTHORITYS_FACTS), "{}", page.body);
    assert!(
        page.body.contains("records"),
        "the relayed file: {}",
        page.body
    );
    assert_eq!(
        officer.get(&format!("/requests/{order_id}")).await.status,
        404
    );
}
