//! Accounts: creation, visibility, deactivation.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    an_admin_creates_an_account_that_can_sign_in,
    a_role_must_fit_the_organisation_kind,
    passwords_need_twelve_hard_to_guess_characters_and_emails_are_unique,
    only_admins_manage_accounts_and_people_see_only_themselves,
    an_admin_cannot_deactivate_themself,
    an_admin_moves_an_account_and_its_sessions_end,
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

async fn an_admin_creates_an_account_that_can_sign_in(app: &TestApp) {
    let world = app.world().await;
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "new.officer@gb.test.example", "name": "New Officer",
                   "role": "liaison_officer", "organisation_id": world.gb_agency,
                   "password": "a long enough password"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(reply.json["active"], true);
    assert!(reply.json.get("password_hash").is_none());
    assert!(reply.json.get("password").is_none());
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "new.officer@gb.test.example", "password": "a long enough password"}),
        )
        .await;
    assert_eq!(login.status, 200);
    let list = app.get("/api/v1/users", &world.admin).await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 5);
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
                       "organisation_id": organisation, "password": "a long enough password"}),
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
                       "organisation_id": organisation, "password": "a long enough password"}),
            )
            .await;
        assert_eq!(reply.status, 201, "{role}: {:?}", reply.json);
    }
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "x@test.example", "name": "X", "role": "wizard",
                   "organisation_id": "0192f0c1-0000-7000-8000-000000000000",
                   "password": "a long enough password"}),
        )
        .await;
    assert_eq!(reply.fields(), ["role"]);
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "x@test.example", "name": "X", "role": "provider",
                   "organisation_id": "0192f0c1-0000-7000-8000-000000000000",
                   "password": "a long enough password"}),
        )
        .await;
    assert_eq!(reply.fields(), ["organisation_id"]);
}

async fn passwords_need_twelve_hard_to_guess_characters_and_emails_are_unique(app: &TestApp) {
    let world = app.world().await;
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "bad", "name": "", "role": "admin", "password": "short"}),
        )
        .await;
    assert_eq!(reply.fields(), ["email", "name", "password"]);
    // Twelve characters, guessed at once: refused, saying so.
    for easy in ["aaaaaaaaaaaa", "password1234"] {
        let reply = app
            .post(
                "/api/v1/users",
                Some(&world.admin),
                json!({"email": "new@gb.test.example", "name": "New", "role": "admin",
                       "password": easy}),
            )
            .await;
        assert_eq!(reply.fields(), ["password"], "{easy}");
        assert!(
            reply.json.to_string().contains("too easy to guess"),
            "{}",
            reply.json
        );
    }
    let reply = app
        .post(
            "/api/v1/users",
            Some(&world.admin),
            json!({"email": "OFFICER@gb.test.example", "name": "Dup", "role": "liaison_officer",
                   "organisation_id": world.gb_agency, "password": "a long enough password"}),
        )
        .await;
    reply.problem(409);
}

async fn only_admins_manage_accounts_and_people_see_only_themselves(app: &TestApp) {
    let world = app.world().await;
    for token in [&world.officer, &world.ca, &world.provider] {
        app.get("/api/v1/users", token).await.problem(403);
        app.post(
            "/api/v1/users",
            Some(token),
            json!({"email": "x@test.example", "name": "X", "role": "admin",
                   "password": "a long enough password"}),
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
