//! The portal of the issuing side, as a browser without JavaScript uses it:
//! an officer's cases, the guided request form, follow-ups; a central
//! authority's approval queue and decisions.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp};
use crate::portal::{Browser, in_order, section, status_of};
use crate::workflow::{create, open_case, preservation, step, transmitted};

backend_tests!(
    an_officer_opens_cases_and_sees_only_its_agency_s,
    the_guided_form_offers_the_bases_the_pair_may_use_and_refuses_what_is_missing_in_place,
    a_central_authority_decides_from_its_queue_the_most_urgent_first,
    a_follow_up_opens_prefilled_where_the_data_moved_and_the_case_shows_the_trail,
    an_officer_s_board_lists_what_the_responder_did_until_it_is_read,
    the_migration_fills_in_when_the_responder_last_acted_as_each_step_keeps_it,
);

async fn signed_in<'a>(app: &'a TestApp, email: &str) -> Browser<'a> {
    let mut browser = Browser::new(app);
    let page = browser.sign_in(email, PASSWORD, "%2F").await;
    assert_eq!(page.status, 303, "{}", page.body);
    browser
}

/// The id a redirect to `/<what>/<id>...` names.
fn id_in(location: &str, what: &str) -> String {
    let rest = location
        .strip_prefix(&format!("/{what}/"))
        .unwrap_or_else(|| panic!("not a {what}: {location}"));
    rest.split(['/', '?', '#']).next().unwrap().to_owned()
}

async fn an_officer_opens_cases_and_sees_only_its_agency_s(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let mut officer = signed_in(app, "officer@gb.test.example").await;
    let empty = officer.get("/cases").await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert!(
        empty.body.contains("Your agency has no case yet"),
        "{}",
        empty.body
    );

    // The form refuses what the API refuses, each problem at its field, and
    // keeps what was typed.
    let form = officer.get("/cases/new").await;
    let token = form.hidden("csrf_token");
    let refused = officer
        .post(
            "/cases",
            &[
                ("csrf_token", &token),
                ("reference", "OP-HARBOUR"),
                ("title", "Extortion over a game chat"),
                ("summary", "A 14-year-old was made to send images."),
                ("priority", "high"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let offences = section(&refused.body, "<legend>Offences", "</fieldset>");
    assert!(
        offences.contains("name at least one offence category"),
        "{offences}"
    );
    assert!(refused.body.contains("value=\"OP-HARBOUR\""));
    // Without the session's token nothing is opened.
    let forged = officer
        .post(
            "/cases",
            &[
                ("csrf_token", "forged"),
                ("reference", "OP-FORGED"),
                ("title", "t"),
                ("summary", "s"),
                ("offence.grooming", "yes"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let opened = officer
        .post(
            "/cases",
            &[
                ("csrf_token", &token),
                ("reference", "OP-HARBOUR"),
                ("title", "Extortion over a game chat"),
                ("summary", "A 14-year-old was made to send images."),
                ("priority", "high"),
                ("offence.sexual_extortion", "yes"),
                ("offence.csam_production", "yes"),
            ],
        )
        .await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    let case_id = id_in(opened.location(), "cases");
    let case = officer.get(opened.location()).await;
    assert_eq!(case.status, 200);
    assert!(case.body.contains("OP-HARBOUR: Extortion over a game chat"));
    assert!(
        case.body.contains("csam production, sexual extortion"),
        "{}",
        case.body
    );
    assert!(
        case.body
            .contains("No request has been filed in this case yet")
    );
    // The same reference twice is refused at the reference.
    let twice = officer
        .post(
            "/cases",
            &[
                ("csrf_token", &token),
                ("reference", "OP-HARBOUR"),
                ("title", "Again"),
                ("summary", "Again."),
                ("offence.grooming", "yes"),
            ],
        )
        .await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert!(twice.body.contains("already has a case with reference"));

    // The list finds it by part of its title, in any case, and by the status
    // of its requests.
    let api_case = open_case(app, &w.officer).await;
    create(
        app,
        &w.officer,
        preservation(Some(&api_case), &w.ie_provider),
    )
    .await;
    let found = officer.get("/cases?q=GAME%20CHAT").await;
    assert!(found.body.contains("OP-HARBOUR"), "{}", found.body);
    assert!(!found.body.contains("OP-LANTERN"), "{}", found.body);
    let drafts = officer.get("/cases?status=draft").await;
    assert!(drafts.body.contains("OP-LANTERN"), "{}", drafts.body);
    assert!(!drafts.body.contains("OP-HARBOUR"), "{}", drafts.body);
    let wrong = officer.get("/cases?status=lost").await;
    assert_eq!(wrong.status, 422);

    // Another agency's officer: no such case; other roles: no cases at all.
    let mut other = signed_in(app, "officer@gb-b.test.example").await;
    assert_eq!(other.get(&format!("/cases/{case_id}")).await.status, 404);
    let theirs = other.get("/cases").await;
    assert!(!theirs.body.contains("OP-HARBOUR"), "{}", theirs.body);
    for email in [
        "ca@gb.test.example",
        "provider@ie.test.example",
        "admin@test.example",
    ] {
        let mut someone = signed_in(app, email).await;
        assert_eq!(someone.get("/cases").await.status, 404, "{email}");
        assert_eq!(
            someone.get(&format!("/cases/{case_id}")).await.status,
            404,
            "{email}"
        );
        assert_eq!(
            someone
                .get(&format!("/cases/{case_id}/requests/new"))
                .await
                .status,
            404,
            "{email}"
        );
    }
}

/// Step 3's form for a new request in `case_id` to `responder` under `basis`.
async fn content_form(
    officer: &mut Browser<'_>,
    case_id: &str,
    responder: &str,
    basis: &str,
) -> crate::portal::Page {
    let page = officer
        .get(&format!(
            "/cases/{case_id}/requests/new?responder={responder}&basis={basis}"
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

async fn the_guided_form_offers_the_bases_the_pair_may_use_and_refuses_what_is_missing_in_place(
    app: &TestApp,
) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let mut officer = signed_in(app, "officer@gb.test.example").await;

    // Step 1: whom. Step 2: only the bases this pair may use.
    let start = officer.get(&format!("/cases/{case_id}/requests/new")).await;
    assert_eq!(start.status, 200, "{}", start.body);
    assert!(
        start
            .body
            .contains("NL Central Authority (NL, central authority)")
    );
    assert!(!start.body.contains("name=\"basis\""));
    let to_authority = officer
        .get(&format!(
            "/cases/{case_id}/requests/new?responder={}",
            net.nl_ca
        ))
        .await;
    assert!(
        to_authority.body.contains("value=\"budapest-29\""),
        "{}",
        to_authority.body
    );
    assert!(!to_authority.body.contains("value=\"provider-voluntary\""));
    let to_provider = officer
        .get(&format!(
            "/cases/{case_id}/requests/new?responder={}",
            w.ie_provider
        ))
        .await;
    assert!(to_provider.body.contains("value=\"provider-voluntary\""));
    assert!(!to_provider.body.contains("value=\"budapest-29\""));
    // A basis the pair may not use is not taken from the address either.
    let smuggled = officer
        .get(&format!(
            "/cases/{case_id}/requests/new?responder={}&basis=budapest-29",
            w.ie_provider
        ))
        .await;
    assert!(!smuggled.body.contains("3. What the request says"));

    // Step 3 under Art. 29: its items, with their help; the custodian is
    // required there (Art. 29(2)(d)), the CyberTipline date is not asked.
    let form = content_form(&mut officer, &case_id, &net.nl_ca, "budapest-29").await;
    assert!(form.body.contains("3. What the request says"));
    assert!(form.body.contains("Budapest Art. 29(2)(b)"));
    let custodian = section(&form.body, "for=\"custodian\"", "</textarea>");
    assert!(custodian.contains("required to submit"), "{custodian}");
    assert!(custodian.contains("Art. 29(2)(d)"), "{custodian}");
    assert!(!form.body.contains("cybertipline_submitted_at"));
    let token = form.hidden("csrf_token");

    // Saved and submitted without the relation of the data to the offence:
    // the draft is kept, the submission refused at that field.
    let nl_ca = net.nl_ca.clone();
    let mut fields = vec![
        ("csrf_token", token.as_str()),
        ("responder_id", nl_ca.as_str()),
        ("legal_basis", "budapest-29"),
        ("kind", "preservation"),
        ("rows", "3"),
        ("category.subscriber", "yes"),
        ("category.traffic", "yes"),
        ("id0.type", "account"),
        ("id0.value", "harbour_kid"),
        ("id1.type", "ip"),
        ("id1.value", "198.51.100.23"),
        ("id1.port", "40112"),
        ("id1.observed_at", "2026-11-20T21:15:03+01:00"),
        ("date_from", "2026-11-01"),
        ("date_to", "2026-11-25"),
        (
            "facts",
            "A 14-year-old was made to send images over a game chat.",
        ),
        ("custodian", "The platform's Dutch subsidiary."),
        ("necessity", "The platform deletes logs after 30 days."),
        ("follow_up_intent", "yes"),
        ("non_disclosure", "yes"),
        ("intent", "submit"),
    ];
    let refused = officer
        .post(&format!("/cases/{case_id}/requests"), &fields)
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("Saved as draft R-"),
        "{}",
        refused.body
    );
    let relevance = section(&refused.body, "for=\"relevance\"", "</textarea>");
    assert!(
        relevance.contains("Missing: the relation of the data to the offence (Art. 29(2)(c))"),
        "{relevance}"
    );
    // What was typed is still there, and the form now edits the draft.
    assert!(refused.body.contains("value=\"harbour_kid\""));
    let draft_action = section(
        &refused.body,
        "<form method=\"post\" action=\"/requests/",
        ">",
    );
    assert!(draft_action.contains("/edit\""), "{draft_action}");
    let draft = draft_action
        .split("/requests/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let api = status_of(app, &w.officer, &draft).await;
    assert_eq!(api["status"], "draft");
    assert_eq!(api["identifiers"][1]["observed_at"], "2026-11-20T20:15:03Z");
    assert_eq!(api["date_to"], "2026-11-25T23:59:59Z");

    // A port that is not a number is refused on its own row; nothing saved.
    let version = refused.hidden("version");
    fields.retain(|(k, _)| !matches!(*k, "intent" | "id1.port"));
    fields.push(("version", &version));
    fields.push(("id1.port", "https"));
    fields.push(("intent", "save"));
    let bad_port = officer
        .post(&format!("/requests/{draft}/edit"), &fields)
        .await;
    assert_eq!(bad_port.status, 422, "{}", bad_port.body);
    assert!(
        bad_port.body.contains("`https` is not a port"),
        "{}",
        bad_port.body
    );

    // Completed and submitted from the draft's form.
    fields.retain(|(k, _)| !matches!(*k, "intent" | "id1.port"));
    fields.push(("id1.port", "40112"));
    fields.push(("relevance", "The account sent the messages."));
    fields.push(("intent", "submit"));
    let submitted = officer
        .post(&format!("/requests/{draft}/edit"), &fields)
        .await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    assert_eq!(
        submitted.location(),
        format!("/requests/{draft}?done=submit")
    );
    assert_eq!(
        status_of(app, &w.officer, &draft).await["status"],
        "pending_approval"
    );
    // A submitted request is no longer edited: its page is shown instead.
    let closed = officer.get(&format!("/requests/{draft}/edit")).await;
    assert_eq!(closed.status, 303);
    // Another agency cannot open the draft's form.
    let mut other = signed_in(app, "officer@gb-b.test.example").await;
    assert_eq!(
        other.get(&format!("/requests/{draft}/edit")).await.status,
        404
    );

    // Saving only keeps a draft and says so; the retention of an identifier
    // the provider keeps is said at its row.
    let form = content_form(&mut officer, &case_id, &w.ie_provider, "provider-voluntary").await;
    let token = form.hidden("csrf_token");
    let ie = w.ie_provider.clone();
    let saved = officer
        .post(
            &format!("/cases/{case_id}/requests"),
            &[
                ("csrf_token", &token),
                ("responder_id", &ie),
                ("legal_basis", "provider-voluntary"),
                ("kind", "preservation"),
                ("rows", "3"),
                ("category.identification", "yes"),
                ("id0.type", "ip"),
                ("id0.value", "198.51.100.23"),
                ("id0.port", "40112"),
                ("id0.observed_at", "2026-11-20T21:15:03+00:00"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(
        saved.location().ends_with("/edit?saved=1"),
        "{}",
        saved.location()
    );
    let again = officer.get(saved.location()).await;
    assert!(again.body.contains("Saved as a draft at"), "{}", again.body);
    assert!(
        again
            .body
            .contains("The responder keeps identification data 25 days: gone"),
        "{}",
        again.body
    );
    let risk = officer
        .get(&format!(
            "/retention?responder={}&observed_at=2026-11-20T21:15:03%2B00:00&categories=identification,content",
            w.ie_provider
        ))
        .await;
    assert_eq!(risk.status, 200);
    let said: serde_json::Value = serde_json::from_str(&risk.body).unwrap();
    let text = said["text"].as_str().unwrap();
    assert!(
        text.contains("identification data 25 days: gone") && text.contains("2026-12-15 21:15 UTC"),
        "{said}"
    );
}

async fn a_central_authority_decides_from_its_queue_the_most_urgent_first(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    // An ordinary request, then one whose identifier the provider deletes
    // soonest, both submitted.
    let plain = create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let plain = step(app, &w.officer, &plain, "submit", json!({})).await;
    let mut risky_body = preservation(Some(&case_id), &w.ie_provider);
    // Seen 24 and a half days ago; kept 25: gone in 12 hours, before the
    // approval's own target of a day.
    risky_body["identifiers"][1]["observed_at"] =
        json!((chrono::Utc::now() - chrono::TimeDelta::hours(24 * 24 + 12)).to_rfc3339());
    let risky = create(app, &w.officer, risky_body).await;
    let risky = step(app, &w.officer, &risky, "submit", json!({})).await;
    let (plain_ref, risky_ref) = (
        plain["reference"].as_str().unwrap().to_owned(),
        risky["reference"].as_str().unwrap().to_owned(),
    );

    let mut ca = signed_in(app, "ca@gb.test.example").await;
    let queue = ca.get("/approvals").await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    in_order(&queue.body, &[&risky_ref, &plain_ref]);
    assert!(queue.body.contains("retention risk"), "{}", queue.body);
    // Another jurisdiction's authority, an officer, a provider: not theirs.
    let mut de = signed_in(app, "ca@de.test.example").await;
    let theirs = de.get("/approvals").await;
    assert!(!theirs.body.contains(&plain_ref), "{}", theirs.body);
    for email in ["officer@gb.test.example", "provider@ie.test.example"] {
        let mut someone = signed_in(app, email).await;
        assert_eq!(someone.get("/approvals").await.status, 404, "{email}");
    }

    // The request page shows what the approver judges, and the decisions.
    let risky_id = risky["id"].as_str().unwrap();
    let page = ca.get(&format!("/requests/{risky_id}")).await;
    assert!(page.body.contains("<h2>The case</h2>"), "{}", page.body);
    assert!(page.body.contains("Why it is needed"));
    for form in ["/approve\"", "/return\"", "/reject\""] {
        assert!(page.body.contains(form), "{form}");
    }
    let token = page.hidden("csrf_token");
    let version = page.hidden("version");
    // Returned with questions: a draft again, with the questions kept.
    let returned = ca
        .post(
            &format!("/requests/{risky_id}/return"),
            &[
                ("csrf_token", &token),
                ("version", &version),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(returned.status, 422, "{}", returned.body);
    let returned = ca
        .post(
            &format!("/requests/{risky_id}/return"),
            &[
                ("csrf_token", &token),
                ("version", &version),
                ("comment", "Say when the address was seen, in UTC."),
            ],
        )
        .await;
    assert_eq!(returned.status, 303, "{}", returned.body);
    assert_eq!(
        status_of(app, &w.officer, risky_id).await["status"],
        "draft"
    );
    // Approved: off the queue, and the officer may now transmit it.
    let plain_id = plain["id"].as_str().unwrap();
    let page = ca.get(&format!("/requests/{plain_id}")).await;
    let approved = ca
        .post(
            &format!("/requests/{plain_id}/approve"),
            &[
                ("csrf_token", &page.hidden("csrf_token")),
                ("version", &page.hidden("version")),
            ],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let queue = ca.get("/approvals").await;
    assert!(
        queue.body.contains("Nothing waits for your decision"),
        "{}",
        queue.body
    );
    let mut officer = signed_in(app, "officer@gb.test.example").await;
    let page = officer.get(&format!("/requests/{plain_id}")).await;
    assert!(page.body.contains("/transmit\""), "{}", page.body);
    let sent = officer
        .post(
            &format!("/requests/{plain_id}/transmit"),
            &[
                ("csrf_token", &page.hidden("csrf_token")),
                ("version", &page.hidden("version")),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(
        status_of(app, &w.officer, plain_id).await["status"],
        "transmitted"
    );

    // An emergency sent before approval waits for its validation, first in
    // the queue, its 48-hour clock in view; validated, it leaves the queue.
    let de_case = open_case(app, &net.officer_de).await;
    let pending = create(
        app,
        &net.officer_de,
        json!({
            "case_id": de_case, "kind": "production", "legal_basis": "eu-epoc",
            "responder_id": w.ie_provider, "data_categories": ["subscriber"],
            "identifiers": [{"type": "account", "value": "quiet_fox_77"}],
            "facts": "Extortion of a minor.", "necessity": "To identify the account holder.",
            "relevance": "The account sent the demands."
        }),
    )
    .await;
    step(app, &net.officer_de, &pending, "submit", json!({})).await;
    let urgent = create(
        app,
        &net.officer_de,
        json!({
            "case_id": de_case, "kind": "emergency_disclosure", "legal_basis": "eu-epoc",
            "responder_id": w.ie_provider, "data_categories": ["subscriber"],
            "identifiers": [{"type": "account", "value": "threat_account"}],
            "facts": "A child announced self-harm tonight.", "necessity": "Imminent threat to life.",
            "relevance": "The account made the threats.",
            "emergency": true, "emergency_justification": "Threat to life within hours."
        }),
    )
    .await;
    let urgent = step(app, &net.officer_de, &urgent, "transmit", json!({})).await;
    let urgent_ref = urgent["reference"].as_str().unwrap();
    let mut de = signed_in(app, "ca@de.test.example").await;
    let queue = de.get("/approvals").await;
    in_order(
        &queue.body,
        &[urgent_ref, pending["reference"].as_str().unwrap()],
    );
    let row = section(&queue.body, urgent_ref, "</tr>");
    assert!(row.contains("Emergency"), "{row}");
    assert!(row.contains("validate it"), "{row}");
    assert!(row.contains("ex post validation"), "{row}");
    let urgent_id = urgent["id"].as_str().unwrap();
    let page = de.get(&format!("/requests/{urgent_id}")).await;
    assert!(page.body.contains("ex post validation"), "{}", page.body);
    let validated = de
        .post(
            &format!("/requests/{urgent_id}/approve"),
            &[
                ("csrf_token", &page.hidden("csrf_token")),
                ("version", &page.hidden("version")),
            ],
        )
        .await;
    assert_eq!(validated.status, 303, "{}", validated.body);
    let queue = de.get("/approvals").await;
    assert!(!queue.body.contains(urgent_ref), "{}", queue.body);
    assert_eq!(
        status_of(app, &net.officer_de, urgent_id).await["status"],
        "transmitted",
        "validation leaves the request where it is"
    );
}

async fn a_follow_up_opens_prefilled_where_the_data_moved_and_the_case_shows_the_trail(
    app: &TestApp,
) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let first = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let first = step(
        app,
        &w.provider,
        &first,
        "report-moved",
        json!({"to_provider_id": net.nl_provider, "to_jurisdiction": "NL",
               "note": "Our Dutch affiliate runs the service."}),
    )
    .await;
    let first_id = first["id"].as_str().unwrap();

    let mut officer = signed_in(app, "officer@gb.test.example").await;
    let page = officer.get(&format!("/requests/{first_id}")).await;
    let moved = section(&page.body, "id=\"moved\"", "</ul>");
    assert!(moved.contains("NL Provider"), "{moved}");
    let link = format!("/requests/{first_id}/follow-up?moved=0");
    assert!(moved.contains(&link), "{moved}");
    // The provider who answered sees no follow-up link.
    let mut provider = signed_in(app, "provider@ie.test.example").await;
    let theirs = provider.get(&format!("/requests/{first_id}")).await;
    assert!(!theirs.body.contains("/follow-up"), "{}", theirs.body);
    assert_eq!(provider.get(&link).await.status, 404);

    // One click: addressed to the provider named, with what was asked.
    let form = officer.get(&link).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body
            .contains("answered that the data is held by NL Provider in NL")
    );
    assert!(
        form.body
            .contains("<strong>NL Provider (NL, service provider)</strong>")
    );
    assert!(
        form.body.contains("value=\"provider-voluntary\""),
        "{}",
        form.body
    );
    let form = officer
        .get(&format!("{link}&basis=provider-voluntary"))
        .await;
    assert!(
        form.body.contains("value=\"sunny_day_2011\""),
        "{}",
        form.body
    );
    let filed = officer
        .post(
            &format!("/requests/{first_id}/follow-up"),
            &[
                ("csrf_token", &form.hidden("csrf_token")),
                ("responder_id", &net.nl_provider),
                ("legal_basis", "provider-voluntary"),
                ("kind", "preservation"),
                ("rows", "1"),
                ("category.subscriber", "yes"),
                ("id0.type", "account"),
                ("id0.value", "sunny_day_2011"),
                ("facts", "Grooming over chat."),
                ("relevance", "The account sent the messages."),
                ("necessity", "Logs go after 30 days."),
                ("follow_up_intent", "yes"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(filed.status, 303, "{}", filed.body);
    let child = filed
        .location()
        .trim_start_matches("/requests/")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let api = status_of(app, &w.officer, &child).await;
    assert_eq!(api["parent"]["id"], first["id"]);
    assert_eq!(api["responder_id"], json!(net.nl_provider));
    assert_eq!(api["executing_jurisdiction"], "NL");

    // The case shows the trail: the preservation, where the data went, and
    // the follow-up under it.
    let case = officer.get(&format!("/cases/{case_id}")).await;
    assert_eq!(case.status, 200, "{}", case.body);
    let trail = section(&case.body, "<ol class=\"trail\">", "</ol>");
    in_order(
        trail,
        &[
            first["reference"].as_str().unwrap(),
            "To <strong>IE Provider</strong> (IE)",
            "Data reported moved to <strong>NL Provider in NL</strong>",
            "depth-1",
            api["reference"].as_str().unwrap(),
            "To <strong>NL Provider</strong> (NL)",
        ],
    );
    assert!(
        case.body
            .contains("2 requests to 2 organisations in 2 countries")
    );
}

async fn an_officer_s_board_lists_what_the_responder_did_until_it_is_read(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let request = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let reference = request["reference"].as_str().unwrap().to_owned();
    let id = request["id"].as_str().unwrap().to_owned();
    let mut officer = signed_in(app, "officer@gb.test.example").await;
    let board = officer.get("/at-risk").await;
    assert!(
        board.body.contains("You have read every answer"),
        "{}",
        board.body
    );

    // Acknowledged: waiting to be read, by each officer of the agency.
    let request = step(app, &w.provider, &request, "acknowledge", json!({})).await;
    let board = officer.get("/at-risk").await;
    let unread = section(&board.body, "id=\"unread\"", "</table>");
    assert!(unread.contains(&reference), "{unread}");
    assert!(unread.contains("acknowledge"), "{unread}");
    assert!(unread.contains("IE Provider"), "{unread}");
    // Opened: read, for this officer only.
    assert_eq!(officer.get(&format!("/requests/{id}")).await.status, 200);
    let board = officer.get("/at-risk").await;
    assert!(!section(&board.body, "id=\"unread\"", "<h2>Deadlines").contains(&reference));
    let mut colleague = signed_in(app, "officer2@gb.test.example").await;
    let theirs = colleague.get("/at-risk").await;
    assert!(section(&theirs.body, "id=\"unread\"", "</table>").contains(&reference));
    // A question from the responder: waiting again, said as what it is.
    step(
        app,
        &w.provider,
        &request,
        "ask-clarification",
        json!({"question": "Which time zone?"}),
    )
    .await;
    let board = officer.get("/at-risk").await;
    let unread = section(&board.body, "id=\"unread\"", "</table>");
    assert!(unread.contains("ask clarification"), "{unread}");
    // Another agency's officer, a provider: nothing of it.
    let mut other = signed_in(app, "officer@gb-b.test.example").await;
    let theirs = other.get("/at-risk").await;
    assert!(!theirs.body.contains(&reference), "{}", theirs.body);
    let mut provider = signed_in(app, "provider@ie.test.example").await;
    let theirs = provider.get("/at-risk").await;
    assert!(
        !theirs.body.contains("Waiting to be read"),
        "{}",
        theirs.body
    );
}

async fn the_migration_fills_in_when_the_responder_last_acted_as_each_step_keeps_it(app: &TestApp) {
    use diesel::prelude::*;
    use mlat::db::schema::requests;
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let answered = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let answered = step(app, &w.provider, &answered, "acknowledge", json!({})).await;
    step(app, &w.provider, &answered, "preserve", json!({})).await;
    transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let backend = match app.state.settings.database_url.backend() {
        mlat::db::Backend::Sqlite => "sqlite",
        mlat::db::Backend::Postgres => "postgres",
    };
    let up = std::fs::read_to_string(format!(
        "{}/migrations/{backend}/2026-12-03-000012_reading/up.sql",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let backfill =
        up[up.find("UPDATE requests").unwrap()..up.find("CREATE INDEX").unwrap()].to_owned();
    let state = app.state.clone();
    let (kept, filled) = actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        let read = |conn: &mut mlat::db::DbConn| {
            requests::table
                .select((requests::reference, requests::responder_acted_at))
                .order(requests::reference)
                .load::<(String, Option<mlat::time::UtcTime>)>(conn)
                .unwrap()
        };
        let kept = read(&mut conn);
        diesel::update(requests::table)
            .set(requests::responder_acted_at.eq(None::<mlat::time::UtcTime>))
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query(backfill).execute(&mut conn).unwrap();
        (kept, read(&mut conn))
    })
    .await
    .unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(
        kept.iter().filter(|(_, at)| at.is_some()).count(),
        1,
        "only the answered request: {kept:?}"
    );
    assert_eq!(filled, kept);
}
