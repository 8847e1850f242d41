//! Accounts: invitations, organisations' administrators, reset links,
//! visibility, deactivation.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp};

backend_tests!(
    an_invited_person_sets_their_own_password_from_the_link,
    a_role_must_fit_the_organisation_kind,
    new_accounts_are_checked_and_emails_are_unique,
    only_admins_manage_accounts_and_people_see_only_themselves,
    an_admin_cannot_deactivate_themself,
    an_admin_moves_an_account_and_its_sessions_end,
    an_organisations_administrator_runs_its_people_and_nobody_elses,
    the_platform_administrator_holds_no_one_elses_keys,
    a_proposed_account_exists_only_once_its_organisation_approves,
    a_proposal_is_declined_or_withdrawn_and_no_account_is_made,
    two_administrators_approving_at_once_make_one_account,
    a_reset_link_works_once_within_its_hour_and_ends_every_session,
    a_reset_can_remove_a_lost_second_factor,
    an_organisations_administrator_keeps_its_details_and_no_one_elses,
);

async fn an_admin_moves_an_account_and_its_sessions_end(app: &TestApp) {
    let world = app.world().await;
    let officer = format!("/api/v1/users/{}", world.officer_id);
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "officer@gb.test.example", "password": crate::helpers::PASSWORD}),
        )
        .await;
    let refresh = login.json["refresh_token"].as_str().unwrap().to_owned();
    // The role must fit the organisation, the new one when both change.
    let reply = app
        .patch(&officer, &world.admin, json!({"role": "central_authority"}))
        .await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["role"]);
    let reply = app
        .patch(
            &officer,
            &world.admin,
            json!({"role": "central_authority", "organisation_id": world.gb_ca}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["role"], "central_authority");
    assert_eq!(reply.json["organisation_id"], json!(world.gb_ca));
    // What the person may see changed: the refresh token ends.
    let refreshed = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh}),
        )
        .await;
    refreshed.problem(401);
    // An administrator with no organisation; not oneself.
    let reply = app
        .patch(
            &officer,
            &world.admin,
            json!({"role": "admin", "organisation_id": null}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let own = format!("/api/v1/users/{}", world.admin_id);
    let reply = app
        .patch(
            &own,
            &world.admin,
            json!({"role": "provider", "organisation_id": world.ie_provider}),
        )
        .await;
    reply.problem(409);
    let reply = app
        .patch(
            &officer,
            &world.admin,
            json!({"organisation_id": "not-an-id"}),
        )
        .await;
    assert_eq!(reply.fields(), ["organisation_id"]);
}

async fn an_invited_person_sets_their_own_password_from_the_link(app: &TestApp) {
    let world = app.world().await;
    let email = "new.officer@gb.test.example";
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": email, "name": "New Officer",
                   "role": "liaison_officer", "organisation_id": world.gb_agency}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(reply.json["active"], true);
    assert_eq!(reply.json["org_admin"], false);
    assert!(reply.json.get("password_hash").is_none());
    let expires: chrono::DateTime<chrono::Utc> = reply.json["invitation_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let days = (expires - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "{days} hours");
    // The link goes to the holder alone: the inviter never sees its token.
    let token = app.link_sent_to(email).await;
    assert!(!reply.json.to_string().contains(&token));
    let mail = app.account_mail_to(email).await;
    assert_eq!(mail[0].0, "You are invited to mlat");
    assert!(
        mail[0]
            .1
            .contains("https://mlat.test.example/account/setup?token=")
    );
    // Until then no password opens the account.
    for guess in [PASSWORD, "", "a long enough password"] {
        let login = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": guess}),
            )
            .await;
        assert_ne!(login.status, 200, "{guess:?}");
    }
    // The holder's password must pass the policy.
    let weak = app.use_link(email, "aaaaaaaaaaaa").await;
    assert_eq!(weak.fields(), ["new_password"]);
    assert!(
        weak.json.to_string().contains("too easy to guess"),
        "{}",
        weak.json
    );
    assert_eq!(
        app.use_link(email, "my own long passphrase").await.status,
        204
    );
    // Used once.
    let again = app
        .post(
            "/api/v1/auth/account-link",
            None,
            json!({"token": token, "new_password": "another long passphrase"}),
        )
        .await;
    assert_eq!(again.fields(), ["token"]);
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": "my own long passphrase"}),
        )
        .await;
    assert_eq!(login.status, 200, "{:?}", login.json);
    let list = app.get("/api/v1/users", &world.admin).await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 5);
    // The trail says who invited whom.
    let id = reply.json["id"].as_str().unwrap();
    let events = user_trail(app, id).await;
    let invited = events
        .iter()
        .find(|(action, _)| action == "invitation_sent")
        .expect("the invitation is on the trail");
    assert_eq!(invited.1["invited_by"], json!(world.admin_id));
    assert!(events.iter().any(|(action, _)| action == "password_set"));
    assert!(!events.iter().any(|(_, d)| d.to_string().contains(&token)));
}

/// A person's audit trail: (action, details), oldest first.
pub async fn user_trail(app: &TestApp, id: &str) -> Vec<(String, serde_json::Value)> {
    use diesel::prelude::*;
    use mlat::db::schema::audit_events;
    let (state, chain) = (app.state.clone(), format!("user:{id}"));
    actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        audit_events::table
            .filter(audit_events::chain.eq(chain))
            .order(audit_events::seq)
            .select((audit_events::action, audit_events::details))
            .load::<(String, String)>(&mut *conn)
            .unwrap()
            .into_iter()
            .map(|(a, d)| (a, serde_json::from_str(&d).unwrap()))
            .collect()
    })
    .await
    .unwrap()
}

async fn a_role_must_fit_the_organisation_kind(app: &TestApp) {
    let world = app.world().await;
    for (role, organisation) in [
        ("provider", Some(world.gb_agency.clone())),
        ("liaison_officer", Some(world.ie_provider.clone())),
        ("central_authority", Some(world.gb_agency.clone())),
        ("liaison_officer", None),
    ] {
        let reply = app
            .post(
                "/api/v1/users",
                Some(&world.admin),
                json!({"email": "x@test.example", "name": "X", "role": role,
                       "organisation_id": organisation}),
            )
            .await;
        assert_eq!(reply.fields(), ["role"], "{role}");
    }
    for (i, (role, organisation)) in [
        ("central_authority", &world.gb_ca),
        ("liaison_officer", &world.de_agency),
        ("provider", &world.ie_provider),
        ("admin", &world.gb_agency),
    ]
    .into_iter()
    .enumerate()
    {
        let reply = app
            .post(
                "/api/v1/users",
                Some(&world.admin),
                json!({"email": format!("fit{i}@test.example"), "name": "Fits", "role": role,
                       "organisation_id": organisation}),
            )
            .await;
        assert_eq!(reply.status, 201, "{role}: {:?}", reply.json);
    }
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "x@test.example", "name": "X", "role": "wizard",
                   "organisation_id": "0192f0c1-0000-7000-8000-000000000000"}),
        )
        .await;
    assert_eq!(reply.fields(), ["role"]);
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "x@test.example", "name": "X", "role": "provider",
                   "organisation_id": "0192f0c1-0000-7000-8000-000000000000"}),
        )
        .await;
    assert_eq!(reply.fields(), ["organisation_id"]);
}

async fn new_accounts_are_checked_and_emails_are_unique(app: &TestApp) {
    let world = app.world().await;
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "bad", "name": "", "role": "admin"}),
        )
        .await;
    assert_eq!(reply.fields(), ["email", "name"]);
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "OFFICER@gb.test.example", "name": "Dup", "role": "liaison_officer",
                   "organisation_id": world.gb_agency}),
        )
        .await;
    reply.problem(409);
    // An organisation's administrator belongs to one.
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "boss@test.example", "name": "Boss", "role": "admin", "org_admin": true}),
        )
        .await;
    assert_eq!(reply.fields(), ["org_admin"]);
}

async fn only_admins_manage_accounts_and_people_see_only_themselves(app: &TestApp) {
    let world = app.world().await;
    for token in [&world.officer, &world.ca, &world.provider] {
        app.get("/api/v1/users", token).await.problem(403);
        app.post(
            "/api/v1/users",
            Some(token),
            json!({"email": "x@test.example", "name": "X", "role": "admin"}),
        )
        .await
        .problem(403);
        app.patch(
            &format!("/api/v1/users/{}", world.admin_id),
            token,
            json!({"active": false}),
        )
        .await
        .problem(403);
        // Another person's account does not exist for them.
        app.get(&format!("/api/v1/users/{}", world.admin_id), token)
            .await
            .problem(404);
    }
    let own = app
        .get(
            &format!("/api/v1/users/{}", world.officer_id),
            &world.officer,
        )
        .await;
    assert_eq!(own.status, 200);
    let any = app
        .get(&format!("/api/v1/users/{}", world.officer_id), &world.admin)
        .await;
    assert_eq!(any.json["email"], "officer@gb.test.example");
    app.patch(
        "/api/v1/users/0192f0c1-0000-7000-8000-000000000000",
        &world.admin,
        json!({"active": false}),
    )
    .await
    .problem(404);
    app.patch(
        &format!("/api/v1/users/{}", world.officer_id),
        &world.admin,
        json!({}),
    )
    .await
    .problem(422);
}

async fn an_admin_cannot_deactivate_themself(app: &TestApp) {
    let world = app.world().await;
    app.patch(
        &format!("/api/v1/users/{}", world.admin_id),
        &world.admin,
        json!({"active": false}),
    )
    .await
    .problem(409);
    assert_eq!(app.get("/api/v1/me", &world.admin).await.status, 200);
}

/// Invites a provider's administrator as the platform administrator, and
/// signs them in once they set their password: their token.
async fn first_administrator(
    app: &TestApp,
    admin: &str,
    organisation: &str,
    email: &str,
    role: &str,
) -> String {
    let reply = app
        .post(
            "/api/v1/users",
            Some(admin),
            json!({"email": email, "name": "Org Admin", "role": role,
                   "organisation_id": organisation, "org_admin": true}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(reply.json["org_admin"], true);
    assert_eq!(
        app.use_link(email, "the boss's own passphrase")
            .await
            .status,
        204
    );
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": "the boss's own passphrase"}),
        )
        .await;
    assert_eq!(login.status, 200, "{:?}", login.json);
    login.json["access_token"].as_str().unwrap().to_owned()
}

async fn an_organisations_administrator_runs_its_people_and_nobody_elses(app: &TestApp) {
    let world = app.world().await;
    let boss = first_administrator(
        app,
        &world.admin,
        &world.ie_provider,
        "boss@ie.test.example",
        "provider",
    )
    .await;
    // Its own organisation: invite a colleague, see and reset them.
    let colleague = app
        .post(
            "/api/v1/users",
            Some(&boss),
            json!({"email": "colleague@ie.test.example", "name": "Colleague", "role": "provider",
                   "organisation_id": world.ie_provider}),
        )
        .await;
    assert_eq!(colleague.status, 201, "{:?}", colleague.json);
    let colleague_id = colleague.json["id"].as_str().unwrap().to_owned();
    let list = app.get("/api/v1/users", &boss).await;
    let emails: Vec<&str> = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 3, "{emails:?}");
    assert!(
        emails.contains(&"provider@ie.test.example")
            && emails.contains(&"colleague@ie.test.example")
    );
    let reply = app
        .post(
            &format!("/api/v1/users/{colleague_id}/reset"),
            Some(&boss),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.json);
    // A second administrator is told of the next new account.
    let made = app
        .patch(
            &format!("/api/v1/users/{colleague_id}"),
            &boss,
            json!({"org_admin": true}),
        )
        .await;
    assert_eq!(made.status, 200, "{:?}", made.json);
    app.post(
        "/api/v1/users",
        Some(&boss),
        json!({"email": "third@ie.test.example", "name": "Third", "role": "provider",
               "organisation_id": world.ie_provider}),
    )
    .await;
    let told = app.account_mail_to("colleague@ie.test.example").await;
    assert!(
        told.iter()
            .any(|(subject, body)| subject.starts_with("New account at")
                && body.contains("third@ie.test.example")),
        "{told:?}"
    );
    // Nobody else's: another organisation's people are not there for it.
    let officer = format!("/api/v1/users/{}", world.officer_id);
    app.get(&officer, &boss).await.problem(404);
    app.patch(&officer, &boss, json!({"active": false}))
        .await
        .problem(404);
    app.post(&format!("{officer}/reset"), Some(&boss), json!({}))
        .await
        .problem(404);
    app.post(
        "/api/v1/users",
        Some(&boss),
        json!({"email": "mole@gb.test.example", "name": "Mole", "role": "liaison_officer",
               "organisation_id": world.gb_agency}),
    )
    .await
    .problem(404);
    // Nor make anyone a platform administrator, new or old.
    app.post(
        "/api/v1/users",
        Some(&boss),
        json!({"email": "power@ie.test.example", "name": "Power", "role": "admin",
               "organisation_id": world.ie_provider}),
    )
    .await
    .problem(403);
    app.patch(
        &format!("/api/v1/users/{colleague_id}"),
        &boss,
        json!({"role": "admin"}),
    )
    .await
    .problem(403);
    // Nor can it move its people elsewhere.
    app.patch(
        &format!("/api/v1/users/{colleague_id}"),
        &boss,
        json!({"role": "liaison_officer", "organisation_id": world.gb_agency}),
    )
    .await
    .problem(404);
    // And the officer's organisation's administrator cannot reach the provider's.
    let gb_boss = first_administrator(
        app,
        &world.admin,
        &world.gb_agency,
        "boss@gb.test.example",
        "liaison_officer",
    )
    .await;
    app.get(&format!("/api/v1/users/{colleague_id}"), &gb_boss)
        .await
        .problem(404);
    app.patch(
        &format!("/api/v1/users/{colleague_id}"),
        &gb_boss,
        json!({"active": false}),
    )
    .await
    .problem(404);
    // The ordinary members of an organisation run nobody.
    app.get("/api/v1/users", &world.provider).await.problem(403);
}

async fn the_platform_administrator_holds_no_one_elses_keys(app: &TestApp) {
    let world = app.world().await;
    // A password of the administrator's choosing is no longer taken.
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "puppet@gb.test.example", "name": "Puppet", "role": "liaison_officer",
                   "organisation_id": world.gb_agency, "password": "a password I chose myself"}),
        )
        .await;
    reply.problem(422);
    assert!(
        reply.json.to_string().contains("password"),
        "{}",
        reply.json
    );
    // Once the provider has its own administrator, the platform administrator
    // no longer adds people to it (only proposes them, see
    // `a_proposed_account_exists_only_once_its_organisation_approves`) nor
    // changes their roles...
    first_administrator(
        app,
        &world.admin,
        &world.ie_provider,
        "boss@ie.test.example",
        "provider",
    )
    .await;
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "puppet@ie.test.example", "name": "Puppet", "role": "provider",
                   "organisation_id": world.ie_provider}),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.json);
    assert!(
        app.account_mail_to("puppet@ie.test.example")
            .await
            .is_empty()
    );
    let provider_id = app.viewer_of("provider@ie.test.example").await.user_id;
    app.patch(
        &format!("/api/v1/users/{provider_id}"),
        &world.admin,
        json!({"org_admin": true}),
    )
    .await
    .problem(403);
    // ...but may still deactivate an account there (which gives no way in).
    let reply = app
        .patch(
            &format!("/api/v1/users/{provider_id}"),
            &world.admin,
            json!({"active": false}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let told = app.account_mail_to("provider@ie.test.example").await;
    assert!(
        told.iter()
            .any(|(s, b)| s == "A security change to your mlat account" && b.contains("active")),
        "{told:?}"
    );
}

/// The platform administrator asks for `email` at the IE provider, which
/// has an administrator: the proposal's id.
async fn propose(app: &TestApp, admin: &str, organisation: &str, email: &str) -> String {
    let reply = app
        .post(
            "/api/v1/users",
            Some(admin),
            json!({"email": email, "name": "Proposed Person", "role": "provider",
                   "organisation_id": organisation}),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.json);
    assert_eq!(reply.json["email"], email);
    assert!(reply.json["decision"].is_null());
    reply.json["id"].as_str().unwrap().to_owned()
}

async fn a_proposed_account_exists_only_once_its_organisation_approves(app: &TestApp) {
    let world = app.world().await;
    let boss = first_administrator(
        app,
        &world.admin,
        &world.ie_provider,
        "boss@ie.test.example",
        "provider",
    )
    .await;
    let gb_boss = first_administrator(
        app,
        &world.admin,
        &world.gb_agency,
        "boss@gb.test.example",
        "liaison_officer",
    )
    .await;
    let email = "newcomer@ie.test.example";
    let id = propose(app, &world.admin, &world.ie_provider, email).await;
    // Nothing exists yet: no account, no invitation, nobody to sign in as.
    let users = app.get("/api/v1/users?limit=200", &world.admin).await;
    assert!(!users.json.to_string().contains(email), "{:?}", users.json);
    assert!(app.account_mail_to(email).await.is_empty());
    // The same address cannot be proposed twice, nor one that has an account.
    let again = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": email, "name": "Again", "role": "provider",
                   "organisation_id": world.ie_provider}),
        )
        .await;
    again.problem(409);
    let taken = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "provider@ie.test.example", "name": "Taken", "role": "provider",
                   "organisation_id": world.ie_provider}),
        )
        .await;
    taken.problem(409);
    // Nor is a platform administrator proposed into an organisation.
    let platform = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "second-admin@ie.test.example", "name": "Admin", "role": "admin",
                   "organisation_id": world.ie_provider}),
        )
        .await;
    assert_eq!(platform.problem(422)["errors"][0]["field"], "role");
    // The provider's administrator is asked, and sees it; the agency's does not.
    let asked = app.account_mail_to("boss@ie.test.example").await;
    assert!(
        asked
            .iter()
            .any(|(s, b)| s.starts_with("Approve an account at") && b.contains(email)),
        "{asked:?}"
    );
    let waiting = app.get("/api/v1/account-proposals", &boss).await;
    assert_eq!(waiting.status, 200, "{:?}", waiting.json);
    assert_eq!(waiting.json["items"][0]["id"], id.as_str());
    let elsewhere = app.get("/api/v1/account-proposals", &gb_boss).await;
    assert_eq!(elsewhere.json["items"], json!([]));
    let approve = format!("/api/v1/account-proposals/{id}/approve");
    app.post(&approve, Some(&gb_boss), json!({}))
        .await
        .problem(404);
    // Whoever asked does not answer: the platform administrator cannot approve.
    let own = app.post(&approve, Some(&world.admin), json!({})).await;
    own.problem(403);
    // Members who run no accounts neither see nor approve.
    app.get("/api/v1/account-proposals", &world.provider)
        .await
        .problem(403);
    app.post(&approve, Some(&world.provider), json!({}))
        .await
        .problem(404);
    // The administrator approves: the account is made and its holder invited.
    let approved = app.post(&approve, Some(&boss), json!({})).await;
    assert_eq!(approved.status, 201, "{:?}", approved.json);
    assert_eq!(approved.json["email"], email);
    assert_eq!(approved.json["organisation_id"], world.ie_provider.as_str());
    let account = approved.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.use_link(email, "a passphrase of my very own")
            .await
            .status,
        204
    );
    // Once only; and it leaves the queue.
    app.post(&approve, Some(&boss), json!({}))
        .await
        .problem(409);
    let waiting = app.get("/api/v1/account-proposals", &boss).await;
    assert_eq!(waiting.json["items"], json!([]));
    // The platform administrator is told; the trail shows who asked and who approved.
    let told = app.account_mail_to("admin@test.example").await;
    assert!(
        told.iter()
            .any(|(s, _)| s.starts_with("Account at") && s.contains("approved")),
        "{told:?}"
    );
    let boss_id = app.viewer_of("boss@ie.test.example").await.user_id;
    let admin_id = app.viewer_of("admin@test.example").await.user_id;
    let trail = app.audit_of(&format!("user:{account}")).await;
    let invited = trail
        .iter()
        .find(|e| e.action == "invitation_sent")
        .expect("the invitation is in the trail");
    assert_eq!(invited.actor_id.as_deref(), Some(boss_id.as_str()));
    let details: serde_json::Value = serde_json::from_str(&invited.details).unwrap();
    assert_eq!(details["proposed_by"], admin_id.as_str());
    assert_eq!(details["proposal"], id.as_str());
    let organisation_trail = app
        .audit_of(&format!("organisation:{}", world.ie_provider))
        .await;
    let actions: Vec<&str> = organisation_trail
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        ["account_proposed", "account_proposal_approved"],
        "{actions:?}"
    );
}

async fn a_proposal_is_declined_or_withdrawn_and_no_account_is_made(app: &TestApp) {
    let world = app.world().await;
    let boss = first_administrator(
        app,
        &world.admin,
        &world.ie_provider,
        "boss@ie.test.example",
        "provider",
    )
    .await;
    let declined = propose(app, &world.admin, &world.ie_provider, "no@ie.test.example").await;
    let reply = app
        .post(
            &format!("/api/v1/account-proposals/{declined}/decline"),
            Some(&boss),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["decision"], "declined");
    assert!(reply.json["user_id"].is_null());
    app.post(
        &format!("/api/v1/account-proposals/{declined}/approve"),
        Some(&boss),
        json!({}),
    )
    .await
    .problem(409);
    // The platform administrator takes its own back; the administrator then
    // finds nothing to approve.
    let withdrawn = propose(
        app,
        &world.admin,
        &world.ie_provider,
        "oops@ie.test.example",
    )
    .await;
    let reply = app
        .post(
            &format!("/api/v1/account-proposals/{withdrawn}/decline"),
            Some(&world.admin),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["decision"], "withdrawn");
    app.post(
        &format!("/api/v1/account-proposals/{withdrawn}/approve"),
        Some(&boss),
        json!({}),
    )
    .await
    .problem(409);
    let users = app.get("/api/v1/users?limit=200", &world.admin).await;
    let listed = users.json.to_string();
    assert!(!listed.contains("no@ie.test.example") && !listed.contains("oops@ie.test.example"));
    // A declined address may be proposed again.
    propose(app, &world.admin, &world.ie_provider, "no@ie.test.example").await;
    app.post(
        "/api/v1/account-proposals/not-an-id/decline",
        Some(&boss),
        json!({}),
    )
    .await
    .problem(404);
}

async fn two_administrators_approving_at_once_make_one_account(app: &TestApp) {
    let world = app.world().await;
    let boss = first_administrator(
        app,
        &world.admin,
        &world.ie_provider,
        "boss@ie.test.example",
        "provider",
    )
    .await;
    // A second administrator, invited by the first.
    let reply = app
        .post(
            "/api/v1/users",
            Some(&boss),
            json!({"email": "deputy@ie.test.example", "name": "Deputy", "role": "provider",
                   "organisation_id": world.ie_provider, "org_admin": true}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    app.use_link("deputy@ie.test.example", "the deputy's own passphrase")
        .await;
    let deputy = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "deputy@ie.test.example", "password": "the deputy's own passphrase"}),
        )
        .await
        .json["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = propose(
        app,
        &world.admin,
        &world.ie_provider,
        "once@ie.test.example",
    )
    .await;
    let approve = format!("/api/v1/account-proposals/{id}/approve");
    let (a, b) = futures_util::future::join(
        app.post(&approve, Some(&boss), json!({})),
        app.post(&approve, Some(&deputy), json!({})),
    )
    .await;
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{:?} {:?}", a.json, b.json);
    let invitations = app
        .account_mail_to("once@ie.test.example")
        .await
        .into_iter()
        .filter(|(s, _)| s == "You are invited to mlat")
        .count();
    assert_eq!(invitations, 1);
}

async fn a_reset_link_works_once_within_its_hour_and_ends_every_session(app: &TestApp) {
    let world = app.world().await;
    let email = "officer@gb.test.example";
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let refresh = login.json["refresh_token"].as_str().unwrap().to_owned();
    let reply = app
        .post(
            &format!("/api/v1/users/{}/reset", world.officer_id),
            Some(&world.admin),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.json);
    let expires: chrono::DateTime<chrono::Utc> = reply.json["link_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((expires - chrono::Utc::now()).num_minutes() <= 60);
    // Nothing changes until the holder uses it.
    assert_eq!(app.get("/api/v1/me", &world.officer).await.status, 200);
    assert_eq!(
        app.use_link(email, "a brand new passphrase").await.status,
        204
    );
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .problem(401);
    app.get("/api/v1/me", &world.officer).await.problem(401);
    let old = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    old.problem(401);
    let new = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(new.status, 200, "{:?}", new.json);
    assert_eq!(
        app.use_link(email, "yet another passphrase").await.fields(),
        ["token"]
    );
    let notices = app.account_mail_to(email).await;
    assert!(
        notices
            .iter()
            .any(|(s, b)| s == "A security change to your mlat account"
                && b.contains("reset from a link")),
        "{notices:?}"
    );
    // A link past its hour does not work.
    app.post(
        &format!("/api/v1/users/{}/reset", world.officer_id),
        Some(&world.admin),
        json!({}),
    )
    .await;
    {
        use diesel::prelude::*;
        use mlat::db::schema::account_links;
        let state = app.state.clone();
        actix_web::web::block(move || {
            let mut conn = state.pool.get().unwrap();
            diesel::update(account_links::table.filter(account_links::used_at.is_null()))
                .set(
                    account_links::expires_at
                        .eq(mlat::time::UtcTime::now() - chrono::Duration::seconds(1)),
                )
                .execute(&mut *conn)
                .unwrap();
        })
        .await
        .unwrap();
    }
    assert_eq!(
        app.use_link(email, "yet another passphrase").await.fields(),
        ["token"]
    );
    // Only the last link sent works.
    app.post(
        &format!("/api/v1/users/{}/reset", world.officer_id),
        Some(&world.admin),
        json!({}),
    )
    .await;
    let first = app.link_sent_to(email).await;
    app.post(
        &format!("/api/v1/users/{}/reset", world.officer_id),
        Some(&world.admin),
        json!({}),
    )
    .await;
    let stale = app
        .post(
            "/api/v1/auth/account-link",
            None,
            json!({"token": first, "new_password": "yet another passphrase"}),
        )
        .await;
    assert_eq!(stale.fields(), ["token"]);
    assert_eq!(
        app.use_link(email, "yet another passphrase").await.status,
        204
    );
}

async fn a_reset_can_remove_a_lost_second_factor(app: &TestApp) {
    let world = app.world().await;
    let officer = app.viewer_of("officer@gb.test.example").await.user_id;
    // An enrolled factor, as the demo sets one up.
    {
        let state = app.state.clone();
        let id = officer.clone();
        actix_web::web::block(move || {
            let mut conn = state.pool.get().unwrap();
            let user = mlat::repo::users::get(&mut conn, &id).unwrap().unwrap();
            mlat::service::second_factor::enrol_directly(
                &mut conn,
                &state.factor_key,
                &user,
                &mlat::auth::totp::FactorSecret::generate().unwrap(),
                &mlat::domain::audit::Actor::system(),
                mlat::time::UtcTime::now(),
            )
            .unwrap();
        })
        .await
        .unwrap();
    }
    let asks = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "officer@gb.test.example", "password": PASSWORD}),
        )
        .await;
    assert_eq!(asks.json["mfa"], "required", "{:?}", asks.json);
    let reply = app
        .post(
            &format!("/api/v1/users/{officer}/reset"),
            Some(&world.admin),
            json!({"second_factor": true}),
        )
        .await;
    assert_eq!(reply.status, 202);
    assert_eq!(
        app.use_link("officer@gb.test.example", "a brand new passphrase")
            .await
            .status,
        204
    );
    // With the factor gone (and, here, no policy) the password signs in.
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "officer@gb.test.example", "password": "a brand new passphrase"}),
        )
        .await;
    assert!(login.json["access_token"].is_string(), "{:?}", login.json);
    let trail = user_trail(app, &officer).await;
    let set = trail.iter().find(|(a, _)| a == "password_set").unwrap();
    assert_eq!(set.1["second_factor_removed"], true);
}

async fn an_organisations_administrator_keeps_its_details_and_no_one_elses(app: &TestApp) {
    let world = app.world().await;
    let boss = first_administrator(
        app,
        &world.admin,
        &world.ie_provider,
        "boss@ie.test.example",
        "provider",
    )
    .await;
    let own = format!("/api/v1/organisations/{}", world.ie_provider);
    let reply = app
        .patch(
            &own,
            &boss,
            json!({"contact_email": "lawful@ie.test.example",
                   "retention_days": {"subscriber": 365, "identification": 90, "traffic": 90, "content": 30}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["contact_email"], "lawful@ie.test.example");
    assert_eq!(reply.json["retention_days"]["traffic"], 90);
    // Its name is how others know it: the platform administrator's to change.
    app.patch(&own, &boss, json!({"name": "Renamed"}))
        .await
        .problem(403);
    // Not another organisation's, nor is an ordinary member's.
    app.patch(
        &format!("/api/v1/organisations/{}", world.gb_agency),
        &boss,
        json!({"contact_email": "x@gb.test.example"}),
    )
    .await
    .problem(403);
    app.patch(
        &own,
        &world.provider,
        json!({"contact_email": "x@ie.test.example"}),
    )
    .await
    .problem(403);
}
