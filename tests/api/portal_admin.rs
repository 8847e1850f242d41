//! The administrators' pages, as a browser without JavaScript uses them:
//! the calendar that clocks count in, retention profiles, accounts, the
//! outbox, and the verification of the record.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp};
use crate::portal::{Browser, section};
use crate::workflow::{open_case, preservation, transmitted};

backend_tests!(
    an_administrator_adds_a_holiday_and_the_clock_rolls_at_once,
    an_administrator_changes_a_retention_profile_and_the_risk_follows,
    an_administrator_runs_accounts_under_the_api_s_rules,
    an_administrator_sends_a_dead_message_again_and_verifies_the_record,
    only_an_administrator_opens_the_administration,
    an_organisations_administrator_runs_its_people_from_the_portal,
    a_proposed_account_is_approved_on_the_organisations_page_or_withdrawn,
);

async fn signed_in<'a>(app: &'a TestApp, email: &str) -> Browser<'a> {
    let mut browser = Browser::new(app);
    let page = browser.sign_in(email, PASSWORD, "%2F").await;
    assert_eq!(page.status, 303, "{}", page.body);
    browser
}

/// The open deadline of `kind` on a request, as the API gives it.
async fn due(app: &TestApp, token: &str, id: &str, kind: &str) -> serde_json::Value {
    let reply = app
        .get(&format!("/api/v1/requests/{id}/deadlines"), token)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {:?}", reply.json))
        .clone()
}

/// A European Production Order from Germany to the Irish provider: ten
/// days, counted under Regulation 1182/71 in the provider's calendar.
async fn an_order(app: &TestApp, net: &crate::helpers::Network) -> String {
    let de_case = open_case(app, &net.officer_de).await;
    let order = transmitted(
        app,
        &net.officer_de,
        &net.ca_de,
        json!({
            "case_id": de_case, "kind": "production", "legal_basis": "eu-epoc",
            "responder_id": net.w.ie_provider, "data_categories": ["subscriber"],
            "identifiers": [{"type": "account", "value": "quiet_fox_77"}],
            "facts": "Extortion of a minor.", "necessity": "To identify the account holder.",
            "relevance": "The account sent the demands."
        }),
    )
    .await;
    order["id"].as_str().unwrap().to_owned()
}

async fn an_administrator_adds_a_holiday_and_the_clock_rolls_at_once(app: &TestApp) {
    let net = app.network().await;
    let order = an_order(app, &net).await;
    let before = due(app, &net.ca_de, &order, "response_due").await;
    assert_eq!(before["timezone"], "Europe/Dublin", "{before}");
    // The period ends at the end of its last day: the minute before the due
    // instant, in the provider's local time.
    let local = chrono::NaiveDateTime::parse_from_str(
        &before["due_local"].as_str().unwrap()[..16],
        "%Y-%m-%d %H:%M",
    )
    .unwrap();
    let day = (local - chrono::TimeDelta::minutes(1)).date().to_string();

    let mut admin = signed_in(app, "admin@test.example").await;
    let page = admin.get("/admin/jurisdictions/IE").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = page.hidden("csrf_token");
    // A day that is not one is refused at the field, and nothing changes.
    let wrong = admin
        .post(
            "/admin/jurisdictions/IE",
            &[
                ("csrf_token", &token),
                ("intent", "add-holiday"),
                ("holiday", "17 March"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(
        wrong.body.contains("is not a date such as"),
        "{}",
        wrong.body
    );
    // The last day of the order's period becomes a holiday: the period runs
    // to the end of the next working day, before the page comes back.
    let added = admin
        .post(
            "/admin/jurisdictions/IE",
            &[
                ("csrf_token", &token),
                ("intent", "add-holiday"),
                ("holiday", &day),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.location(), "/admin/jurisdictions/IE?done=recomputed");
    let after = due(app, &net.ca_de, &order, "response_due").await;
    assert!(
        after["due_at"].as_str().unwrap() > before["due_at"].as_str().unwrap(),
        "{before} → {after}"
    );
    let page = admin.get(added.location()).await;
    assert!(page.body.contains("have been recomputed"), "{}", page.body);
    let row = section(&page.body, &format!("<td>{day}</td>"), "</tr>");
    assert!(row.contains("entered by an administrator"), "{row}");
    // The trail of the request says why its clock moved.
    let trail = app
        .get(&format!("/api/v1/requests/{order}/audit"), &net.ca_de)
        .await;
    assert!(
        trail
            .json
            .to_string()
            .contains("the calendar of IE changed"),
        "{}",
        trail.json
    );
    // Removed again: the clock comes back.
    let removed = admin
        .post(
            "/admin/jurisdictions/IE",
            &[
                ("csrf_token", &token),
                ("intent", "remove-holiday"),
                ("holiday", &day),
            ],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    let back = due(app, &net.ca_de, &order, "response_due").await;
    assert_eq!(back["due_at"], before["due_at"]);
    // Memberships are kept as ticked.
    let kept = admin
        .post(
            "/admin/jurisdictions/IE",
            &[
                ("csrf_token", &token),
                ("intent", "memberships"),
                ("membership.budapest", "yes"),
                ("membership.eu_2023_1543", "yes"),
            ],
        )
        .await;
    assert_eq!(kept.status, 303, "{}", kept.body);
    let ie = app.get("/api/v1/jurisdictions/IE", &net.w.admin).await;
    assert_eq!(ie.json["memberships"], json!(["budapest", "eu_2023_1543"]));
}

async fn an_administrator_changes_a_retention_profile_and_the_risk_follows(app: &TestApp) {
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
    let id = request["id"].as_str().unwrap();
    let before = due(app, &w.officer, id, "retention_risk").await;

    let mut admin = signed_in(app, "admin@test.example").await;
    let link = format!("/admin/organisations/{}", w.ie_provider);
    let page = admin.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("value=\"25\""), "{}", page.body);
    let token = page.hidden("csrf_token");
    // A provider keeps an address for legal process; days are numbers.
    let refused = admin
        .post(
            &link,
            &[
                ("csrf_token", &token),
                ("name", "IE Provider"),
                ("contact_email", ""),
                ("retention.identification", "sixty"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("`sixty` is not a number of days"));
    let refused = admin
        .post(
            &link,
            &[
                ("csrf_token", &token),
                ("name", "IE Provider"),
                ("contact_email", ""),
                ("retention.identification", "60"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("receives legal process"));
    let saved = admin
        .post(
            &link,
            &[
                ("csrf_token", &token),
                ("name", "IE Provider"),
                ("contact_email", "lawful-access@ie-provider.example"),
                ("retention.identification", "60"),
                ("retention.content", "30"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let after = due(app, &w.officer, id, "retention_risk").await;
    assert!(
        after["due_at"].as_str().unwrap() > before["due_at"].as_str().unwrap(),
        "{before} → {after}"
    );
    let org = app
        .get(
            &format!("/api/v1/organisations/{}", w.ie_provider),
            &w.officer,
        )
        .await;
    assert_eq!(
        org.json["contact_email"],
        "lawful-access@ie-provider.example"
    );
    assert_eq!(
        org.json["retention_days"],
        json!({"content": 30, "identification": 60})
    );
}

async fn an_administrator_runs_accounts_under_the_api_s_rules(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let mut admin = signed_in(app, "admin@test.example").await;
    let page = admin.get("/admin/accounts").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("officer@gb.test.example"));
    let token = page.hidden("csrf_token");
    // A liaison officer belongs to an agency, not a provider.
    let misplaced = admin
        .post(
            "/admin/accounts",
            &[
                ("csrf_token", &token),
                ("name", "Ann Other"),
                ("email", "ann@gb.test.example"),
                ("role", "liaison_officer"),
                ("organisation_id", &w.ie_provider),
            ],
        )
        .await;
    assert_eq!(misplaced.status, 422, "{}", misplaced.body);
    assert!(
        misplaced
            .body
            .contains("needs an organisation of kind `agency`")
    );
    assert!(
        !misplaced.body.contains("name=\"password\""),
        "nobody chooses another person's password"
    );
    let created = admin
        .post(
            "/admin/accounts",
            &[
                ("csrf_token", &token),
                ("name", "Ann Other"),
                ("email", "ann@gb.test.example"),
                ("role", "liaison_officer"),
                ("organisation_id", &w.gb_agency),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let listed = admin.get(created.location()).await;
    assert!(
        listed.body.contains("e-mailed an invitation"),
        "{}",
        listed.body
    );
    // Ann follows the link she was e-mailed and chooses her own password.
    let mut ann = Browser::new(app);
    let link = app.link_sent_to("ann@gb.test.example").await;
    let setup = ann.get(&format!("/account/setup?token={link}")).await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    assert!(setup.body.contains("Choose your password"));
    assert!(setup.body.contains("Ann Other"));
    let differ = ann
        .post(
            "/account/setup",
            &[
                ("token", &link),
                ("new_password", "a long enough passphrase"),
                ("new_password_again", "a different passphrase"),
            ],
        )
        .await;
    assert_eq!(differ.status, 422);
    assert!(differ.body.contains("The two passwords differ"));
    let set = ann
        .post(
            "/account/setup",
            &[
                ("token", &link),
                ("new_password", "a long enough passphrase"),
                ("new_password_again", "a long enough passphrase"),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    assert_eq!(set.location(), "/sign-in?set=1");
    let spent = ann.get(&format!("/account/setup?token={link}")).await;
    assert_eq!(spent.status, 410);
    assert!(spent.body.contains("This link no longer works"));
    let signed = ann
        .sign_in("ann@gb.test.example", "a long enough passphrase", "%2F")
        .await;
    assert_eq!(signed.location(), "/");
    assert_eq!(ann.get("/cases").await.status, 200);

    // Moved to the central authority: her session ends, and she comes back
    // as one.
    let list = admin.get("/admin/accounts").await;
    let ann_id = list
        .body
        .split("/admin/accounts/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .find(|id| {
            list.body
                .contains(&format!("/admin/accounts/{id}\">Ann Other</a>"))
        })
        .expect("Ann's line")
        .to_owned();
    let wrong = admin
        .post(
            &format!("/admin/accounts/{ann_id}"),
            &[
                ("csrf_token", &token),
                ("intent", "place"),
                ("role", "central_authority"),
                ("organisation_id", &w.gb_agency),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    let moved = admin
        .post(
            &format!("/admin/accounts/{ann_id}"),
            &[
                ("csrf_token", &token),
                ("intent", "place"),
                ("role", "central_authority"),
                ("organisation_id", &w.gb_ca),
            ],
        )
        .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    assert_eq!(ann.get("/cases").await.status, 303, "her session ended");
    ann.sign_in("ann@gb.test.example", "a long enough passphrase", "%2F")
        .await;
    assert_eq!(ann.get("/approvals").await.status, 200);
    let me = app.get(&format!("/api/v1/users/{ann_id}"), &w.admin).await;
    assert_eq!(me.json["role"], "central_authority");

    // A reset link goes to Ann, not to the administrator.
    let reset = admin
        .post(
            &format!("/admin/accounts/{ann_id}"),
            &[("csrf_token", &token), ("intent", "reset")],
        )
        .await;
    assert_eq!(
        reset.location(),
        format!("/admin/accounts/{ann_id}?done=reset")
    );
    let shown = admin.get(reset.location()).await;
    assert!(
        shown.body.contains("The reset link is on its way"),
        "{}",
        shown.body
    );
    assert_eq!(
        app.account_mail_to("ann@gb.test.example")
            .await
            .last()
            .unwrap()
            .0,
        "Reset your mlat password"
    );

    // Deactivated: out at once. An administrator cannot move themselves.
    let off = admin
        .post(
            &format!("/admin/accounts/{ann_id}"),
            &[("csrf_token", &token), ("intent", "deactivate")],
        )
        .await;
    assert_eq!(off.status, 303, "{}", off.body);
    assert_eq!(ann.get("/approvals").await.status, 303);
    let own = admin
        .post(
            &format!("/admin/accounts/{}", w.admin_id),
            &[
                ("csrf_token", &token),
                ("intent", "place"),
                ("role", "provider"),
                ("organisation_id", &w.ie_provider),
            ],
        )
        .await;
    assert_eq!(own.status, 409, "{}", own.body);
    assert!(own.body.contains("ask another administrator"));
}

async fn an_administrator_sends_a_dead_message_again_and_verifies_the_record(app: &TestApp) {
    use diesel::prelude::*;
    use mlat::db::schema::outbox;
    use mlat::domain::messages::MessageStatus;
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    // One message gave up: as the mail sender leaves it after its retries.
    let state = app.state.clone();
    let dead_id: String = actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        let id: String = outbox::table
            .select(outbox::id)
            .order(outbox::id)
            .first(&mut conn)
            .unwrap();
        diesel::update(outbox::table.find(&id))
            .set((
                outbox::status.eq(MessageStatus::Dead),
                outbox::attempts.eq(8),
                outbox::last_error.eq(Some("550 mailbox unavailable")),
            ))
            .execute(&mut conn)
            .unwrap();
        id
    })
    .await
    .unwrap();

    let mut admin = signed_in(app, "admin@test.example").await;
    let overview = admin.get("/admin").await;
    assert!(
        overview.body.contains("1 message could not be delivered"),
        "{}",
        overview.body
    );
    let dead = admin.get("/admin/outbox").await;
    assert!(
        dead.body.contains("550 mailbox unavailable"),
        "{}",
        dead.body
    );
    let token = dead.hidden("csrf_token");
    let again = admin
        .post(
            &format!("/admin/outbox/{dead_id}/resend"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(again.status, 303, "{}", again.body);
    let pending = admin.get("/admin/outbox?status=pending").await;
    assert!(
        pending.body.contains("550 mailbox unavailable"),
        "{}",
        pending.body
    );
    // Only a dead message is sent again.
    let twice = admin
        .post(
            &format!("/admin/outbox/{dead_id}/resend"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(twice.status, 404);

    // Verified on request: both intact.
    let verified = admin.get("/admin?verify=1").await;
    assert!(
        verified.body.contains("Audit trail intact"),
        "{}",
        verified.body
    );
    assert!(
        verified.body.contains("Evidence store intact"),
        "{}",
        verified.body
    );
    // No checkpoint has been signed in this test: the page says what that means.
    let audit = crate::portal::section(&verified.body, "Audit trail intact", "</div>");
    assert!(
        audit.contains("No checkpoint yet: nothing is anchored outside the database.")
            && audit.contains("are not yet anchored"),
        "{audit}"
    );
    // No case content on the administration's pages.
    for page in [&overview.body, &verified.body] {
        assert!(!page.contains("sunny_day_2011"));
        assert!(!page.contains("groomed"));
    }
}

async fn only_an_administrator_opens_the_administration(app: &TestApp) {
    let net = app.network().await;
    let paths = [
        "/admin".to_owned(),
        "/admin/jurisdictions".to_owned(),
        "/admin/jurisdictions/IE".to_owned(),
        "/admin/organisations".to_owned(),
        format!("/admin/organisations/{}", net.w.ie_provider),
        "/admin/accounts".to_owned(),
        format!("/admin/accounts/{}", net.w.officer_id),
        "/admin/outbox".to_owned(),
    ];
    for email in [
        "officer@gb.test.example",
        "ca@gb.test.example",
        "provider@ie.test.example",
    ] {
        let mut someone = signed_in(app, email).await;
        for path in &paths {
            assert_eq!(someone.get(path).await.status, 404, "{email} {path}");
        }
        let token = someone.get("/at-risk").await.hidden("csrf_token");
        let posted = someone
            .post(
                "/admin/jurisdictions/IE",
                &[
                    ("csrf_token", &token),
                    ("intent", "add-holiday"),
                    ("holiday", "2027-03-18"),
                ],
            )
            .await;
        assert_eq!(posted.status, 404, "{email}");
    }
    let mut admin = signed_in(app, "admin@test.example").await;
    assert_eq!(admin.get("/").await.location(), "/admin");
    for path in &paths {
        assert_eq!(admin.get(path).await.status, 200, "{path}");
    }
    // Without the session's token, nothing changes.
    let forged = admin
        .post(
            "/admin/jurisdictions/IE",
            &[
                ("csrf_token", "forged"),
                ("intent", "add-holiday"),
                ("holiday", "2027-03-18"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let ie = app.get("/api/v1/jurisdictions/IE", &net.w.admin).await;
    assert_eq!(ie.json["holidays"], json!([]));
}

async fn an_organisations_administrator_runs_its_people_from_the_portal(app: &TestApp) {
    let w = app.world().await;
    let provider = app.viewer_of("provider@ie.test.example").await.user_id;
    // The platform administrator makes the provider's first administrator.
    let made = app
        .patch(
            &format!("/api/v1/users/{provider}"),
            &w.admin,
            json!({"org_admin": true}),
        )
        .await;
    assert_eq!(made.status, 200, "{:?}", made.json);
    let mut boss = signed_in(app, "provider@ie.test.example").await;
    let page = boss.get("/organisation").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(r#"id="new-name" name="name" maxlength="200" required value="">"#),
        "the colleague's name starts empty, not the organisation's"
    );
    assert!(
        page.body.contains("Your organisation"),
        "the bar links to it"
    );
    assert!(page.body.contains("provider@ie.test.example"));
    assert!(
        !page.body.contains("officer@gb.test.example"),
        "another organisation's people"
    );
    let token = page.hidden("csrf_token");
    // Invite: refused in place without an address, then sent.
    let bad = boss
        .post(
            "/organisation/accounts",
            &[
                ("csrf_token", &token),
                ("name", "Colleague"),
                ("email", "nope"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let invited = boss
        .post(
            "/organisation/accounts",
            &[
                ("csrf_token", &token),
                ("name", "Colleague"),
                ("email", "colleague@ie.test.example"),
            ],
        )
        .await;
    assert_eq!(invited.status, 303, "{}", invited.body);
    assert_eq!(invited.location(), "/organisation?done=invited");
    app.link_sent_to("colleague@ie.test.example").await;
    let colleague = app.viewer_of("colleague@ie.test.example").await;
    assert_eq!(colleague.role, mlat::domain::reference::Role::Provider);
    let path = format!("/organisation/accounts/{}", colleague.user_id);
    let reset = boss
        .post(&path, &[("csrf_token", &token), ("intent", "reset")])
        .await;
    assert_eq!(
        reset.location(),
        "/organisation?done=reset",
        "{}",
        reset.body
    );
    assert_eq!(
        app.account_mail_to("colleague@ie.test.example")
            .await
            .last()
            .unwrap()
            .0,
        "Reset your mlat password"
    );
    let off = boss
        .post(&path, &[("csrf_token", &token), ("intent", "deactivate")])
        .await;
    assert_eq!(off.location(), "/organisation?done=changed", "{}", off.body);
    let listed = boss.get("/organisation").await;
    assert!(listed.body.contains("deactivated"), "{}", listed.body);
    // Its details: the contact address and the retention profile.
    let saved = boss
        .post(
            "/organisation/details",
            &[
                ("csrf_token", &token),
                ("contact_email", "lawful@ie.test.example"),
                ("retention.traffic", "120"),
            ],
        )
        .await;
    assert_eq!(
        saved.location(),
        "/organisation?done=details",
        "{}",
        saved.body
    );
    let org = app
        .get(
            &format!("/api/v1/organisations/{}", w.ie_provider),
            &w.admin,
        )
        .await;
    assert_eq!(org.json["contact_email"], "lawful@ie.test.example");
    assert_eq!(org.json["retention_days"]["traffic"], 120);
    // Another organisation's account is not there for it.
    let other = boss
        .post(
            &format!("/organisation/accounts/{}", w.officer_id),
            &[("csrf_token", &token), ("intent", "deactivate")],
        )
        .await;
    assert_eq!(other.status, 404, "{}", other.body);
    assert_eq!(app.get("/api/v1/me", &w.officer).await.status, 200);
    // Someone who runs no organisation finds nothing here.
    let mut officer = signed_in(app, "officer@gb.test.example").await;
    assert_eq!(officer.get("/organisation").await.status, 404);
    assert!(
        !officer
            .get("/cases")
            .await
            .body
            .contains("Your organisation")
    );
}

async fn a_proposed_account_is_approved_on_the_organisations_page_or_withdrawn(app: &TestApp) {
    let w = app.world().await;
    let provider = app.viewer_of("provider@ie.test.example").await.user_id;
    let made = app
        .patch(
            &format!("/api/v1/users/{provider}"),
            &w.admin,
            json!({"org_admin": true}),
        )
        .await;
    assert_eq!(made.status, 200, "{:?}", made.json);
    // The platform administrator asks for two people at the provider.
    let mut admin = signed_in(app, "admin@test.example").await;
    let token = admin.get("/admin/accounts").await.hidden("csrf_token");
    for (name, email) in [
        ("Wanted", "wanted@ie.test.example"),
        ("Mistake", "mistake@ie.test.example"),
    ] {
        let asked = admin
            .post(
                "/admin/accounts",
                &[
                    ("csrf_token", &token),
                    ("name", name),
                    ("email", email),
                    ("role", "provider"),
                    ("organisation_id", &w.ie_provider),
                ],
            )
            .await;
        assert_eq!(asked.status, 303, "{}", asked.body);
        assert_eq!(asked.location(), "/admin/accounts?done=proposed");
    }
    let listed = admin.get("/admin/accounts?done=proposed").await;
    assert!(listed.body.contains("made only if one of them approves it"));
    let waiting = section(
        &listed.body,
        "Proposed, waiting for the organisation",
        "</table>",
    );
    assert!(waiting.contains("wanted@ie.test.example") && waiting.contains("Withdraw"));
    let ids = app.get("/api/v1/account-proposals", &w.admin).await.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["email"].as_str().unwrap().to_owned(),
                p["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect::<std::collections::BTreeMap<_, _>>();
    let (wanted, mistake) = (
        &ids["wanted@ie.test.example"],
        &ids["mistake@ie.test.example"],
    );
    // It withdraws the mistake.
    let withdrawn = admin
        .post(
            &format!("/admin/proposals/{mistake}"),
            &[("csrf_token", &token), ("intent", "withdraw")],
        )
        .await;
    assert_eq!(
        withdrawn.location(),
        "/admin/accounts?done=withdrawn",
        "{}",
        withdrawn.body
    );
    // The provider's administrator sees the other one and approves it.
    let mut boss = signed_in(app, "provider@ie.test.example").await;
    let page = boss.get("/organisation").await;
    let proposed = section(&page.body, "Accounts proposed to you", "</table>");
    assert!(proposed.contains("wanted@ie.test.example"), "{proposed}");
    assert!(!proposed.contains("mistake@ie.test.example"), "{proposed}");
    let boss_token = page.hidden("csrf_token");
    let late = boss
        .post(
            &format!("/organisation/proposals/{mistake}"),
            &[("csrf_token", &boss_token), ("intent", "approve")],
        )
        .await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(late.body.contains("withdrawn already"), "{}", late.body);
    let approved = boss
        .post(
            &format!("/organisation/proposals/{wanted}"),
            &[("csrf_token", &boss_token), ("intent", "approve")],
        )
        .await;
    assert_eq!(
        approved.location(),
        "/organisation?done=approved",
        "{}",
        approved.body
    );
    assert!(
        boss.get("/organisation?done=approved")
            .await
            .body
            .contains("Approved: the account is made")
    );
    app.link_sent_to("wanted@ie.test.example").await;
    assert_eq!(
        app.viewer_of("wanted@ie.test.example")
            .await
            .organisation_id
            .as_deref(),
        Some(w.ie_provider.as_str())
    );
    // Nobody else decides it.
    let mut officer = signed_in(app, "officer@gb.test.example").await;
    let officer_token = officer.get("/cases").await.hidden("csrf_token");
    let stranger = officer
        .post(
            &format!("/organisation/proposals/{wanted}"),
            &[("csrf_token", &officer_token), ("intent", "decline")],
        )
        .await;
    assert_eq!(stranger.status, 404, "{}", stranger.body);
}
