//! The preservation clocks never run late (issue 15), end to end on both
//! backends: the custodian's date, receipt as the start, the follow-ups the law
//! accepts, who may use which instrument, the EIO decision, and the
//! recomputation of what an older version stored.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::deadlines::{budapest_preserved, mla_sent};
use crate::helpers::TestApp;
use crate::workflow::{act, create, open_case, preservation, step, transmitted};

backend_tests!(
    the_custodians_earlier_date_governs_and_the_follow_up_moves_with_it,
    only_a_mutual_assistance_request_to_the_requested_party_stops_a_budapest_clock,
    ireland_is_no_budapest_party_and_one_state_is_no_cross_border_case,
    a_cybertipline_preservation_needs_and_counts_from_its_submission,
    an_epoc_pr_stops_on_the_annex_v_confirmation_to_its_addressee,
    an_eio_is_decided_apart_from_its_acknowledgement,
    an_upgrade_recomputes_stored_deadlines_and_corrects_memberships,
    instances_starting_together_both_bring_the_rules_up_to_date,
);

async fn deadlines(app: &TestApp, token: &str, request: &Value) -> Vec<Value> {
    let id = request["id"].as_str().unwrap();
    let reply = app
        .get(&format!("/api/v1/requests/{id}/deadlines"), token)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.json["items"].as_array().unwrap().clone()
}

fn of(list: &[Value], kind: &str) -> Value {
    list.iter()
        .find(|d| d["kind"] == kind)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} in {list:#?}"))
}

fn instant(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap()
}

async fn follow_up(app: &TestApp, token: &str, parent: &Value, body: Value) -> Value {
    let id = parent["id"].as_str().unwrap();
    let reply = app
        .post(
            &format!("/api/v1/requests/{id}/follow-ups"),
            Some(token),
            body,
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    reply.json
}

/// A provider-voluntary preservation by the GB officer, transmitted to the
/// Irish provider.
async fn sent_to_ireland(app: &TestApp, w: &crate::helpers::World) -> Value {
    let case_id = open_case(app, &w.officer).await;
    let body = preservation(Some(&case_id), &w.ie_provider);
    transmitted(app, &w.officer, &w.ca, body).await
}

async fn the_custodians_earlier_date_governs_and_the_follow_up_moves_with_it(app: &TestApp) {
    let w = app.world().await;
    let sent = sent_to_ireland(app, &w).await;
    let transmitted_at = instant(&sent["transmitted_at"]);
    // Before any answer, the clock already runs from receipt: 90 × 24 hours.
    let expiry = of(
        &deadlines(app, &w.officer, &sent).await,
        "preservation_expires",
    );
    assert_eq!(
        instant(&expiry["due_at"]),
        transmitted_at + TimeDelta::days(90)
    );
    assert!(text(&expiry["explanation"]).starts_with("90 days of 24 hours from transmission"));
    // The provider keeps the data only for 30 days: its date governs.
    let until = (transmitted_at + TimeDelta::days(30)).to_rfc3339();
    let preserved = step(
        app,
        &w.provider,
        &sent,
        "preserve",
        json!({"preserved_until": until}),
    )
    .await;
    let list = deadlines(app, &w.officer, &preserved).await;
    let expiry = of(&list, "preservation_expires");
    assert_eq!(
        instant(&expiry["due_at"]),
        transmitted_at + TimeDelta::days(30)
    );
    assert!(
        text(&expiry["explanation"]).starts_with("The custodian's date governs"),
        "{expiry}"
    );
    assert_eq!(
        instant(&of(&list, "follow_up_due")["due_at"]),
        transmitted_at + TimeDelta::days(16)
    );
    // The provider sees the same expiry.
    let seen = of(
        &deadlines(app, &w.provider, &preserved).await,
        "preservation_expires",
    );
    assert_eq!(seen["due_at"], expiry["due_at"]);
}

async fn only_a_mutual_assistance_request_to_the_requested_party_stops_a_budapest_clock(
    app: &TestApp,
) {
    let (net, preserved) = budapest_preserved(app).await;
    let w = &net.w;
    // A US emergency disclosure request to the Irish provider, sent at once.
    let emergency = follow_up(
        app,
        &w.officer,
        &preserved,
        json!({
            "kind": "emergency_disclosure", "legal_basis": "us-2702-emergency",
            "responder_id": w.ie_provider, "data_categories": ["subscriber"],
            "identifiers": [{"type": "account", "value": "media-8812"}],
            "facts": "Grooming.", "necessity": "A child is at risk.", "relevance": "The account.",
            "emergency": true, "emergency_justification": "The offender arranged to meet the child."
        }),
    )
    .await;
    step(app, &w.officer, &emergency, "transmit", json!({})).await;
    // A mutual assistance request to another State (Germany).
    mla_sent(app, &net, &preserved, "DE").await;
    let expiry = of(
        &deadlines(app, &w.officer, &preserved).await,
        "preservation_expires",
    );
    assert_eq!(expiry["status"], "open", "{expiry}");
    let why = text(&expiry["explanation"]);
    assert!(
        why.contains("(us-2702-emergency) does not stop it"),
        "{why}"
    );
    assert!(
        why.contains("it goes to DE, not to the requested Party NL"),
        "{why}"
    );
    // The Dutch authority, which preserves, reads the same clock without a word
    // of the case's other requests, in the request's deadlines and on its board.
    let theirs = of(
        &deadlines(app, &net.ca_nl, &preserved).await,
        "preservation_expires",
    );
    assert_eq!(theirs["due_at"], expiry["due_at"]);
    let board = app
        .get(
            "/api/v1/deadlines?within=3650d&status=any&limit=200",
            &net.ca_nl,
        )
        .await
        .json
        .to_string();
    for shown in [text(&theirs["explanation"]).to_owned(), board] {
        assert!(
            !shown.contains("us-2702-emergency") && !shown.contains("goes to DE"),
            "{shown}"
        );
    }
    // The mutual assistance request received by the Netherlands stops it.
    let to_nl = mla_sent(app, &net, &preserved, "NL").await;
    let expiry = of(
        &deadlines(app, &w.officer, &preserved).await,
        "preservation_expires",
    );
    assert_eq!(expiry["status"], "cancelled", "{expiry}");
    assert!(
        text(&expiry["explanation"]).contains(&format!(
            "Stopped: the follow-up {} (budapest-31 to NL) was received by the requested Party",
            to_nl["reference"].as_str().unwrap()
        )),
        "{expiry}"
    );
}

async fn ireland_is_no_budapest_party_and_one_state_is_no_cross_border_case(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["legal_basis"] = json!("budapest-29");
    body.as_object_mut().unwrap().remove("responder_id");
    body["executing_jurisdiction"] = json!("IE");
    body["custodian"] = json!("IE Provider");
    // IE has no central authority in the test world; name the provider to get
    // past routing, and see the membership refused.
    body["responder_id"] = json!(w.ie_provider);
    let reply = app
        .post("/api/v1/requests", Some(&w.officer), body.clone())
        .await;
    let problem = reply.problem(422);
    assert!(
        problem.to_string().contains(
            "`budapest-29` can only be executed in a Party to the Budapest Convention; IE is not"
        ),
        "{problem}"
    );
    // GB to GB on a cross-border instrument: refused with the article.
    body["executing_jurisdiction"] = json!("GB");
    body["responder_id"] = json!(w.gb_ca);
    let reply = app.post("/api/v1/requests", Some(&w.officer), body).await;
    let problem = reply.problem(422);
    assert!(
        problem.to_string().contains("ETS 185 Art. 29(1)"),
        "{problem}"
    );
    // DE to DE on an EPOC: refused too.
    let de_case = open_case(app, &net.officer_de).await;
    let de_ca = app
        .get(
            "/api/v1/organisations?kind=central_authority&jurisdiction=DE",
            &net.officer_de,
        )
        .await
        .json["items"][0]["id"]
        .clone();
    let reply = app
        .post(
            "/api/v1/requests",
            Some(&net.officer_de),
            json!({
                "case_id": de_case, "kind": "production", "legal_basis": "eu-epoc",
                "responder_id": de_ca, "executing_jurisdiction": "DE",
                "data_categories": ["subscriber"], "identifiers": [{"type": "account", "value": "x"}]
            }),
        )
        .await;
    let problem = reply.problem(422);
    assert!(
        problem
            .to_string()
            .contains("Regulation (EU) 2023/1543 Art. 1(1)"),
        "{problem}"
    );
    // The membership lists are served with their date and source.
    let lists = app.get("/api/v1/memberships", &w.officer).await;
    assert_eq!(lists.status, 200);
    let budapest = lists.json["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "budapest")
        .unwrap()
        .clone();
    assert!(
        !budapest["members"]
            .as_array()
            .unwrap()
            .contains(&json!("IE"))
    );
    assert!(
        budapest["members"]
            .as_array()
            .unwrap()
            .contains(&json!("UA"))
    );
    assert!(text(&budapest["source"]).contains("54154/25"));
    assert!(budapest["as_of"].is_string());
}

async fn a_cybertipline_preservation_needs_and_counts_from_its_submission(app: &TestApp) {
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["legal_basis"] = json!("ncmec-2258a");
    let reply = app
        .post("/api/v1/requests", Some(&w.officer), body.clone())
        .await;
    let problem = reply.problem(422);
    assert!(
        problem.to_string().contains("cybertipline_submitted_at"),
        "{problem}"
    );
    let submitted = Utc::now() - TimeDelta::days(200);
    body["cybertipline_submitted_at"] = json!(submitted.to_rfc3339());
    let r = create(app, &w.officer, body).await;
    let r = step(app, &w.officer, &r, "submit", json!({})).await;
    let r = step(app, &w.ca, &r, "approve", json!({})).await;
    let sent = step(app, &w.officer, &r, "transmit", json!({})).await;
    let preserved = step(app, &w.provider, &sent, "preserve", json!({})).await;
    let expiry = of(
        &deadlines(app, &w.officer, &preserved).await,
        "preservation_expires",
    );
    let due = instant(&expiry["due_at"]);
    let expected = submitted + TimeDelta::days(365);
    assert!(
        (due - expected).num_seconds().abs() < 1,
        "{due} vs {expected}"
    );
}

/// The Annex V confirmation of `request`, naming `child`, by `token`.
async fn confirm(
    app: &TestApp,
    token: &str,
    request: &Value,
    child: &Value,
) -> crate::helpers::Reply {
    let body = json!({"follow_up_id": child["id"]});
    act(app, token, request, "confirm-production", body).await
}

async fn an_epoc_pr_stops_on_the_annex_v_confirmation_to_its_addressee(app: &TestApp) {
    let net = app.network().await;
    let case_id = open_case(app, &net.officer_de).await;
    let mut body = preservation(Some(&case_id), &net.nl_provider);
    body["legal_basis"] = json!("eu-epoc-pr");
    let sent = transmitted(app, &net.officer_de, &net.ca_de, body).await;
    let preserved = step(app, &net.provider_nl, &sent, "preserve", json!({})).await;
    let production = json!({
        "kind": "production", "legal_basis": "eu-epoc", "responder_id": net.nl_provider,
        "data_categories": ["subscriber"], "identifiers": [{"type": "account", "value": "sunny_day_2011"}],
        "facts": "Grooming.", "necessity": "Identify the offender.", "relevance": "The account."
    });
    let child = follow_up(app, &net.officer_de, &preserved, production).await;
    // Not yet issued: the confirmation is refused and says why.
    let early = confirm(app, &net.officer_de, &preserved, &child).await;
    assert!(
        early
            .problem(422)
            .to_string()
            .contains("has not been transmitted")
    );
    let r = step(app, &net.officer_de, &child, "submit", json!({})).await;
    let r = step(app, &net.ca_de, &r, "approve", json!({})).await;
    step(app, &net.officer_de, &r, "transmit", json!({})).await;
    // Issued but not confirmed: the clock runs.
    let expiry = of(
        &deadlines(app, &net.officer_de, &preserved).await,
        "preservation_expires",
    );
    assert_eq!(expiry["status"], "open", "{expiry}");
    // Only the creator confirms; the provider may not.
    confirm(app, &net.provider_nl, &preserved, &child)
        .await
        .problem(403);
    let confirmed = step(
        app,
        &net.officer_de,
        &preserved,
        "confirm-production",
        json!({"follow_up_id": child["id"]}),
    )
    .await;
    assert_eq!(confirmed["status"], "preserved");
    assert_eq!(
        confirmed["response"]["production_confirmed"]["follow_up_id"],
        child["id"]
    );
    let expiry = of(
        &deadlines(app, &net.officer_de, &confirmed).await,
        "preservation_expires",
    );
    assert_eq!(expiry["status"], "cancelled", "{expiry}");
    assert!(
        text(&expiry["explanation"]).contains("confirmed to the addressee as issued (Annex V)")
    );
    // Once is enough.
    confirm(app, &net.officer_de, &confirmed, &child)
        .await
        .problem(409);
}

async fn an_eio_is_decided_apart_from_its_acknowledgement(app: &TestApp) {
    let net = app.network().await;
    let case_id = open_case(app, &net.officer_de).await;
    let body = json!({
        "case_id": case_id, "kind": "production", "legal_basis": "eio", "executing_jurisdiction": "NL",
        "data_categories": ["subscriber"], "identifiers": [{"type": "account", "value": "sunny_day_2011"}],
        "facts": "Grooming.", "necessity": "Identify the offender.", "relevance": "The account.",
        "custodian": "NL Provider, Amsterdam"
    });
    let sent = transmitted(app, &net.officer_de, &net.ca_de, body).await;
    let acknowledged = step(app, &net.ca_nl, &sent, "acknowledge", json!({})).await;
    let list = deadlines(app, &net.officer_de, &acknowledged).await;
    assert_eq!(of(&list, "acknowledgement_due")["status"], "met");
    let decision = of(&list, "decision_due");
    assert_eq!(
        decision["status"], "open",
        "the acknowledgement is no decision"
    );
    assert!(list.iter().all(|d| d["kind"] != "response_due"));
    // Notice of delay: 30 days more, once.
    let delayed = step(
        app,
        &net.ca_nl,
        &acknowledged,
        "notify-delay",
        json!({"reason": "The court hears the account holder first."}),
    )
    .await;
    let later = of(
        &deadlines(app, &net.officer_de, &delayed).await,
        "decision_due",
    );
    // 60 days counted together instead of 30; either end may roll over a
    // weekend or holiday (Art. 3(4)), so the gap is 30 days give or take 4.
    let gap = instant(&later["due_at"]) - instant(&decision["due_at"]);
    assert!(
        gap >= TimeDelta::days(26) && gap <= TimeDelta::days(34),
        "{gap}"
    );
    assert!(text(&later["explanation"]).contains("notice of delay"));
    act(
        app,
        &net.ca_nl,
        &delayed,
        "notify-delay",
        json!({"reason": "Again."}),
    )
    .await
    .problem(409);
    // The issuing side cannot decide for the executing authority.
    act(app, &net.officer_de, &delayed, "decide", json!({}))
        .await
        .problem(403);
    let decided = step(
        app,
        &net.ca_nl,
        &delayed,
        "decide",
        json!({"note": "Recognised."}),
    )
    .await;
    let list = deadlines(app, &net.officer_de, &decided).await;
    assert_eq!(of(&list, "decision_due")["status"], "met");
    let response = of(&list, "response_due");
    assert!(text(&response["explanation"]).contains("from the decision on recognition"));
    act(app, &net.ca_nl, &decided, "decide", json!({}))
        .await
        .problem(409);
}

async fn an_upgrade_recomputes_stored_deadlines_and_corrects_memberships(app: &TestApp) {
    use diesel::prelude::*;
    use mlat::db::schema::{audit_events, deadlines as table, jurisdictions, settings};

    let w = app.world().await;
    let sent = sent_to_ireland(app, &w).await;
    let preserved = step(app, &w.provider, &sent, "preserve", json!({})).await;
    let right = of(
        &deadlines(app, &w.officer, &preserved).await,
        "preservation_expires",
    );
    // What an older version stored: an expiry a month late, Ireland as a
    // Budapest Party, and no record of the rules it used.
    let id = preserved["id"].as_str().unwrap().to_owned();
    let late = mlat::time::UtcTime::from(instant(&right["due_at"]) + TimeDelta::days(30));
    let state = app.state.clone();
    let report = actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        diesel::update(
            table::table
                .filter(table::request_id.eq(&id))
                .filter(table::kind.eq("preservation_expires")),
        )
        .set(table::due_at.eq(late))
        .execute(&mut conn)
        .unwrap();
        diesel::update(jurisdictions::table.filter(jurisdictions::code.eq("IE")))
            .set(jurisdictions::memberships.eq(r#"["budapest","eu","eu_2023_1543"]"#))
            .execute(&mut conn)
            .unwrap();
        diesel::delete(settings::table).execute(&mut conn).unwrap();
        let first =
            mlat::service::upgrade::bring_up_to_date(&mut conn, &state.writers, &state.rules())
                .unwrap()
                .unwrap();
        // A second start finds nothing to do.
        let second =
            mlat::service::upgrade::bring_up_to_date(&mut conn, &state.writers, &state.rules())
                .unwrap();
        let ie: String = jurisdictions::table
            .find("IE")
            .select(jurisdictions::memberships)
            .first(&mut conn)
            .unwrap();
        let actions: Vec<String> = audit_events::table
            .filter(audit_events::action.eq_any(["deadlines_recomputed", "jurisdiction_corrected"]))
            .select(audit_events::action)
            .load(&mut conn)
            .unwrap();
        (first, second, ie, actions)
    })
    .await
    .unwrap();
    let (first, second, ie, actions) = report;
    assert_eq!(first.changed, 1, "{first:?}");
    assert!(first.jurisdictions_corrected >= 1, "{first:?}");
    assert!(second.is_none(), "{second:?}");
    assert!(!ie.contains("budapest"), "{ie}");
    assert!(actions.contains(&"deadlines_recomputed".to_owned()));
    assert!(actions.contains(&"jurisdiction_corrected".to_owned()));
    let now = of(
        &deadlines(app, &w.officer, &preserved).await,
        "preservation_expires",
    );
    assert_eq!(now["due_at"], right["due_at"]);
    // The request's trail says what moved, and still verifies.
    let trail = app
        .get(
            &format!(
                "/api/v1/requests/{}/audit",
                preserved["id"].as_str().unwrap()
            ),
            &w.officer,
        )
        .await;
    let event = trail.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "deadlines_recomputed")
        .unwrap()
        .clone();
    assert_eq!(
        event["details"]["changes"][0]["kind"],
        "preservation_expires"
    );
    assert_eq!(
        event["details"]["changes"][0]["to"]["due_at"],
        right["due_at"]
    );
    let verified = app.get("/api/v1/audit/verify", &w.admin).await;
    assert_eq!(verified.status, 200, "{:?}", verified.json);
    assert_eq!(verified.json["intact"], true, "{:?}", verified.json);
}

/// Two instances starting at once on one database both record the rules they
/// brought the deadlines up to, and neither fails on the other's row.
async fn instances_starting_together_both_bring_the_rules_up_to_date(app: &TestApp) {
    use diesel::prelude::*;
    use mlat::db::schema::settings;

    let w = app.world().await;
    sent_to_ireland(app, &w).await;
    for _ in 0..3 {
        let state = app.state.clone();
        let outcomes = actix_web::web::block(move || {
            let mut conn = state.pool.get().unwrap();
            diesel::delete(settings::table).execute(&mut conn).unwrap();
            drop(conn);
            let start = std::sync::Arc::new(std::sync::Barrier::new(2));
            let runs: Vec<_> = (0..2)
                .map(|_| {
                    let (state, start) = (state.clone(), start.clone());
                    std::thread::spawn(move || {
                        let mut conn = state.pool.get().unwrap();
                        start.wait();
                        mlat::service::upgrade::bring_up_to_date(
                            &mut conn,
                            &state.writers,
                            &state.rules(),
                        )
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                    })
                })
                .collect();
            runs.into_iter()
                .map(|r| r.join().unwrap())
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    }
}
