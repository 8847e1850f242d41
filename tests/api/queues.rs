//! The request list as a queue: every filter, the two orders, unknown
//! parameters refused, identifiers found through their index.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::TestApp;
use crate::workflow::{create, emergency_order, open_case, preservation, step, transmitted};

backend_tests!(
    every_filter_narrows_the_list_and_leaves_out_what_does_not_match,
    the_most_urgent_come_first_page_after_page,
    a_parameter_the_list_does_not_know_is_refused_by_name,
    every_document_names_the_organisations_and_people_it_refers_to,
    the_board_is_narrowed_like_the_list,
);

/// The references of a list, in its order.
async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let reply = app.get(&format!("/api/v1/requests?{query}"), token).await;
    assert_eq!(reply.status, 200, "{query}: {:?}", reply.json);
    reply.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reference"].as_str().unwrap().to_owned())
        .collect()
}

fn reference(request: &Value) -> String {
    request["reference"].as_str().unwrap().to_owned()
}

/// Three German requests: a transmitted preservation, an emergency
/// production transmitted before approval, and a draft to the Dutch
/// provider. Returned in that order.
async fn three(app: &TestApp, net: &crate::helpers::Network) -> (Value, Value, Value) {
    let case_id = open_case(app, &net.officer_de).await;
    let mut plain = preservation(Some(&case_id), &net.w.ie_provider);
    plain["identifiers"] = json!([{"type": "account", "value": "Night_Owl_77"}]);
    let plain = transmitted(app, &net.officer_de, &net.ca_de, plain).await;
    let draft = create(
        app,
        &net.officer_de,
        emergency_order(&case_id, &net.w.ie_provider, "production"),
    )
    .await;
    let urgent = step(app, &net.officer_de, &draft, "transmit", json!({})).await;
    let draft = create(
        app,
        &net.officer_de,
        preservation(Some(&case_id), &net.nl_provider),
    )
    .await;
    (plain, urgent, draft)
}

async fn every_filter_narrows_the_list_and_leaves_out_what_does_not_match(app: &TestApp) {
    let net = app.network().await;
    let (plain, urgent, draft) = three(app, &net).await;
    let (p, u, d) = (reference(&plain), reference(&urgent), reference(&draft));
    let officer = &net.officer_de;
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let all = sorted(vec![p.clone(), u.clone(), d.clone()]);
    assert_eq!(sorted(listed(app, officer, "").await), all);
    // Several statuses at once.
    assert_eq!(
        sorted(listed(app, officer, "status=transmitted,draft").await),
        all
    );
    assert_eq!(listed(app, officer, "status=draft").await, [d.as_str()]);
    app.get("/api/v1/requests?status=transmitted,lost", officer)
        .await
        .problem(422);
    assert_eq!(listed(app, officer, "kind=production").await, [u.as_str()]);
    assert_eq!(
        sorted(listed(app, officer, "kind=preservation").await),
        sorted(vec![p.clone(), d.clone()])
    );
    assert_eq!(listed(app, officer, "emergency=true").await, [u.as_str()]);
    assert_eq!(
        sorted(listed(app, officer, "emergency=false").await),
        sorted(vec![p.clone(), d.clone()])
    );
    assert_eq!(
        listed(app, officer, "legal_basis=eu-epoc").await,
        [u.as_str()]
    );
    let reply = app
        .get("/api/v1/requests?legal_basis=no-such-basis", officer)
        .await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "legal_basis");
    assert_eq!(
        listed(app, officer, &format!("responder_id={}", net.nl_provider)).await,
        [d.as_str()]
    );
    let agency = plain["agency_id"].as_str().unwrap();
    assert_eq!(
        sorted(listed(app, officer, &format!("agency_id={agency}")).await),
        all
    );
    let elsewhere = urgent["responder_id"].as_str().unwrap();
    assert!(
        listed(app, officer, &format!("agency_id={elsewhere}"))
            .await
            .is_empty()
    );
    // Search: a whole reference in any case, or an identifier's value,
    // whatever the case of its letters.
    assert_eq!(
        listed(app, officer, &format!("q={}", p.to_lowercase())).await,
        [p.as_str()]
    );
    assert_eq!(listed(app, officer, "q=night_owl_77").await, [p.as_str()]);
    assert_eq!(
        listed(app, officer, "identifier=THREAT_ACCOUNT").await,
        [u.as_str()]
    );
    assert!(
        listed(app, officer, "identifier=nobody_at_all")
            .await
            .is_empty()
    );
    // Filters combine.
    assert!(
        listed(app, officer, "identifier=threat_account&kind=preservation")
            .await
            .is_empty()
    );
    // An edited draft is found by its new identifier, no longer by its old.
    let path = format!("/api/v1/requests/{}", draft["id"].as_str().unwrap());
    let edited = app
        .patch(
            &path,
            officer,
            json!({"version": draft["version"],
                   "identifiers": [{"type": "email", "value": "Fox@Example.org"}]}),
        )
        .await;
    assert_eq!(edited.status, 200, "{:?}", edited.json);
    assert_eq!(
        listed(app, officer, "identifier=fox@example.org").await,
        [d.as_str()]
    );
    assert!(
        listed(app, officer, "identifier=sunny_day_2011")
            .await
            .is_empty()
    );
    // Nobody finds what they may not see: the British officer searches the
    // German requests' identifiers in vain.
    assert!(
        listed(app, &net.w.officer, "identifier=threat_account")
            .await
            .is_empty()
    );
    assert!(
        listed(app, &net.w.officer, &format!("q={u}"))
            .await
            .is_empty()
    );
}

async fn the_most_urgent_come_first_page_after_page(app: &TestApp) {
    let net = app.network().await;
    let (plain, urgent, draft) = three(app, &net).await;
    let (p, u, d) = (reference(&plain), reference(&urgent), reference(&draft));
    // The issuing side: the emergency's clocks run in hours, the
    // preservation's in days, and the draft owes nothing yet, so it comes last.
    let officer = &net.officer_de;
    assert_eq!(
        listed(app, officer, "sort=due").await,
        [u.as_str(), p.as_str(), d.as_str()]
    );
    // Newest first is the default, and `created` says so.
    assert_eq!(
        listed(app, officer, "sort=created").await,
        [d.as_str(), u.as_str(), p.as_str()]
    );
    assert_eq!(
        listed(app, officer, "").await,
        [d.as_str(), u.as_str(), p.as_str()]
    );
    // Page by page, the cursor keeps the order.
    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let reply = app
            .get(
                &format!("/api/v1/requests?sort=due&limit=1&cursor={cursor}"),
                officer,
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        for item in reply.json["items"].as_array().unwrap() {
            walked.push(item["reference"].as_str().unwrap().to_owned());
        }
        match reply.json["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(walked, [u.as_str(), p.as_str(), d.as_str()]);
    // A cursor of the other order is refused, not misread.
    let first = app
        .get("/api/v1/requests?sort=created&limit=1", officer)
        .await
        .json["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .get(
            &format!("/api/v1/requests?sort=due&cursor={first}"),
            officer,
        )
        .await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "cursor");
    app.get("/api/v1/requests?sort=loudest", officer)
        .await
        .problem(422);
    // The provider: by the clocks it owes itself, the emergency first.
    assert_eq!(
        listed(app, &net.w.provider, "sort=due").await,
        [u.as_str(), p.as_str()]
    );
}

async fn a_parameter_the_list_does_not_know_is_refused_by_name(app: &TestApp) {
    let w = app.world().await;
    for (query, name) in [
        ("colour=red", "colour"),
        ("status=draft&Status=draft", "Status"),
        ("search=abc", "search"),
    ] {
        let reply = app
            .get(&format!("/api/v1/requests?{query}"), &w.officer)
            .await;
        let problem = reply.problem(400);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("`{name}`")),
            "{problem}"
        );
    }
    // The other lists too.
    app.get("/api/v1/cases?sort=name", &w.officer)
        .await
        .problem(400);
    app.get("/api/v1/deadlines?within=14d&due=soon", &w.officer)
        .await
        .problem(400);
}

async fn every_document_names_the_organisations_and_people_it_refers_to(app: &TestApp) {
    let net = app.network().await;
    let (plain, _urgent, draft) = three(app, &net).await;
    let name_of = async |id: &str| -> String {
        app.get(&format!("/api/v1/organisations/{id}"), &net.w.admin)
            .await
            .json["name"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let agency = name_of(plain["agency_id"].as_str().unwrap()).await;
    let ie = name_of(&net.w.ie_provider).await;
    let nl = name_of(&net.nl_provider).await;
    assert!(!agency.is_empty() && ie != nl);
    // A request, alone and in a list, and as its responder reads it.
    assert_eq!(plain["agency_name"], agency.as_str());
    assert_eq!(plain["responder_name"], ie.as_str());
    let list = app.get("/api/v1/requests", &net.officer_de).await.json;
    for item in list["items"].as_array().unwrap() {
        let expected = if item["id"] == draft["id"] { &nl } else { &ie };
        assert_eq!(item["responder_name"], expected.as_str(), "{item}");
        assert_eq!(item["agency_name"], agency.as_str());
    }
    let id = plain["id"].as_str().unwrap();
    let seen = app
        .get(&format!("/api/v1/requests/{id}"), &net.w.provider)
        .await
        .json;
    assert_eq!(seen["agency_name"], agency.as_str());
    // Its trail: who did each step, and for whom.
    let trail = app
        .get(&format!("/api/v1/requests/{id}/audit"), &net.officer_de)
        .await
        .json;
    let created = &trail["items"][0];
    assert_eq!(created["actor_name"], "Test Person", "{created}");
    assert_eq!(created["organisation_name"], agency.as_str());
    // Its case, with the responders of its requests.
    let case = app
        .get(
            &format!("/api/v1/cases/{}", plain["case_id"].as_str().unwrap()),
            &net.officer_de,
        )
        .await
        .json;
    assert_eq!(case["agency_name"], agency.as_str());
    assert_eq!(case["created_by_name"], "Test Person");
    for summary in case["requests"].as_array().unwrap() {
        assert!(
            [ie.as_str(), nl.as_str()].contains(&summary["responder_name"].as_str().unwrap()),
            "{summary}"
        );
    }
    // Accounts, with their organisations.
    let me = app
        .get(
            &format!("/api/v1/users/{}", net.w.officer_id),
            &net.w.officer,
        )
        .await
        .json;
    assert!(
        !me["organisation_name"].as_str().unwrap().is_empty(),
        "{me}"
    );
}

/// The references on the board, each once.
async fn on_the_board(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let reply = app
        .get(&format!("/api/v1/deadlines?within=400d&{query}"), token)
        .await;
    assert_eq!(reply.status, 200, "{query}: {:?}", reply.json);
    let mut refs: Vec<String> = reply.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reference"].as_str().unwrap().to_owned())
        .collect();
    refs.sort();
    refs.dedup();
    refs
}

async fn the_board_is_narrowed_like_the_list(app: &TestApp) {
    let net = app.network().await;
    let (plain, urgent, _draft) = three(app, &net).await;
    let (p, u) = (reference(&plain), reference(&urgent));
    let officer = &net.officer_de;
    let mut both = vec![p.clone(), u.clone()];
    both.sort();
    assert_eq!(on_the_board(app, officer, "").await, both);
    assert_eq!(
        on_the_board(app, officer, "emergency=true").await,
        [u.as_str()]
    );
    assert_eq!(
        on_the_board(app, officer, "emergency=false").await,
        [p.as_str()]
    );
    assert_eq!(
        on_the_board(
            app,
            officer,
            "kind=preservation&request_status=transmitted,preserved"
        )
        .await,
        [p.as_str()]
    );
    assert_eq!(
        on_the_board(app, officer, "legal_basis=eu-epoc").await,
        [u.as_str()]
    );
    assert!(
        on_the_board(app, officer, &format!("responder_id={}", net.nl_provider))
            .await
            .is_empty()
    );
    let agency = plain["agency_id"].as_str().unwrap();
    assert_eq!(
        on_the_board(app, officer, &format!("agency_id={agency}")).await,
        both
    );
    let reply = app
        .get("/api/v1/deadlines?request_status=lost", officer)
        .await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "request_status");
    let reply = app.get("/api/v1/deadlines?legal_basis=nope", officer).await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "legal_basis");
}
