//! Jurisdictions, organisations and the legal-bases catalogue.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    an_admin_creates_a_jurisdiction_that_knows_its_memberships,
    jurisdictions_refuse_bad_codes_zones_and_duplicates,
    only_admins_write_reference_data_and_everyone_signed_in_reads_it,
    providers_are_created_with_retention_periods,
    organisations_refuse_bad_input_naming_each_field,
    organisations_list_filters_and_pages,
    the_legal_bases_catalogue_is_served_with_flags_and_clocks,
    admins_keep_memberships_and_public_holidays_current,
    an_admin_changes_an_organisation_s_name_contact_and_retention,
);

async fn an_admin_changes_an_organisation_s_name_contact_and_retention(app: &TestApp) {
    let world = app.world().await;
    let provider = format!("/api/v1/organisations/{}", world.ie_provider);
    let reply = app
        .patch(
            &provider,
            &world.admin,
            json!({"name": "IE Provider Ltd", "retention_days": {"traffic": 90, "content": 30}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["name"], "IE Provider Ltd");
    assert_eq!(
        reply.json["retention_days"],
        json!({"content": 30, "traffic": 90})
    );
    assert_eq!(reply.json["kind"], "provider", "the kind does not change");
    // A provider keeps its address for legal process; only a provider has a
    // retention profile; days are bounded; each problem is named.
    let reply = app
        .patch(
            &provider,
            &world.admin,
            json!({"contact_email": null, "retention_days": {"traffic": 0, "dreams": 3}}),
        )
        .await;
    reply.problem(422);
    assert_eq!(
        reply.fields(),
        [
            "contact_email",
            "retention_days.dreams",
            "retention_days.traffic"
        ]
    );
    let agency = format!("/api/v1/organisations/{}", world.gb_agency);
    let reply = app
        .patch(
            &agency,
            &world.admin,
            json!({"retention_days": {"traffic": 9}}),
        )
        .await;
    assert_eq!(reply.fields(), ["retention_days"]);
    let reply = app
        .patch(&agency, &world.admin, json!({"contact_email": null}))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["contact_email"], json!(null));
    // Nothing else changes, and only an administrator changes anything.
    let reply = app
        .patch(&agency, &world.admin, json!({"kind": "provider"}))
        .await;
    assert!(
        reply.status == 400 || reply.status == 422,
        "{:?}",
        reply.json
    );
    let reply = app
        .patch(&provider, &world.officer, json!({"name": "Mine"}))
        .await;
    reply.problem(403);
    let reply = app
        .patch(
            "/api/v1/organisations/01a2235d-d22a-7c3e-8f00-5ad0c1f1e2a4",
            &world.admin,
            json!({"name": "Nobody"}),
        )
        .await;
    reply.problem(404);
}

async fn admins_keep_memberships_and_public_holidays_current(app: &TestApp) {
    let world = app.world().await;
    let reply = app
        .patch(
            "/api/v1/jurisdictions/IE",
            &world.admin,
            json!({"holidays": ["2027-03-17", "2027-01-01", "2027-03-17"], "memberships": ["budapest", "eu"]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["holidays"], json!(["2027-01-01", "2027-03-17"]));
    assert_eq!(reply.json["memberships"], json!(["budapest", "eu"]));
    let reply = app
        .patch(
            "/api/v1/jurisdictions/IE",
            &world.admin,
            json!({"holidays": ["17/03/2027"], "timezone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(reply.fields(), ["timezone", "holidays[0]"]);
    app.patch(
        "/api/v1/jurisdictions/FR",
        &world.admin,
        json!({"name": "France"}),
    )
    .await
    .problem(404);
    app.patch(
        "/api/v1/jurisdictions/IE",
        &world.officer,
        json!({"name": "Eire"}),
    )
    .await
    .problem(403);
    let events = app.chain_events("reference").await;
    assert_eq!(events.last().unwrap().2, "jurisdiction_changed");
}

async fn an_admin_creates_a_jurisdiction_that_knows_its_memberships(app: &TestApp) {
    let world = app.world().await;
    let reply = app
        .post(
            "/api/v1/jurisdictions",
            Some(&world.admin),
            json!({"code": "NL", "name": "Netherlands", "timezone": "Europe/Amsterdam"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(
        reply.json["memberships"],
        json!([
            "budapest",
            "eu",
            "eu_2023_1543",
            "eu_eio",
            "eu_2013_40",
            "ets_030"
        ])
    );
    let reply = app.get("/api/v1/jurisdictions/NL", &world.provider).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["timezone"], "Europe/Amsterdam");
    // Explicit memberships override the defaults.
    let reply = app
        .post(
            "/api/v1/jurisdictions",
            Some(&world.admin),
            json!({"code": "BR", "name": "Brazil", "timezone": "America/Sao_Paulo",
                   "memberships": ["budapest"]}),
        )
        .await;
    assert_eq!(reply.json["memberships"], json!(["budapest"]));
}

async fn jurisdictions_refuse_bad_codes_zones_and_duplicates(app: &TestApp) {
    let world = app.world().await;
    let reply = app
        .post(
            "/api/v1/jurisdictions",
            Some(&world.admin),
            json!({"code": "XX", "name": "", "timezone": "Europe/Atlantis",
                   "memberships": ["narnia"]}),
        )
        .await;
    assert_eq!(
        reply.fields(),
        ["code", "name", "timezone", "memberships[0]"]
    );
    let reply = app
        .post(
            "/api/v1/jurisdictions",
            Some(&world.admin),
            json!({"code": "GB", "name": "Britain", "timezone": "Europe/London"}),
        )
        .await;
    reply.problem(409);
    let reply = app.get("/api/v1/jurisdictions/FR", &world.admin).await;
    reply.problem(404);
}

async fn only_admins_write_reference_data_and_everyone_signed_in_reads_it(app: &TestApp) {
    let world = app.world().await;
    for token in [&world.officer, &world.ca, &world.provider] {
        app.post(
            "/api/v1/jurisdictions",
            Some(token),
            json!({"code": "FR", "name": "France", "timezone": "Europe/Paris"}),
        )
        .await
        .problem(403);
        app.post(
            "/api/v1/organisations",
            Some(token),
            json!({"name": "X", "kind": "agency", "jurisdiction": "GB"}),
        )
        .await
        .problem(403);
        let list = app.get("/api/v1/jurisdictions", token).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.json["items"].as_array().unwrap().len(), 3);
        assert_eq!(app.get("/api/v1/organisations", token).await.status, 200);
        assert_eq!(app.get("/api/v1/legal-bases", token).await.status, 200);
    }
    for path in [
        "/api/v1/jurisdictions",
        "/api/v1/organisations",
        "/api/v1/legal-bases",
    ] {
        app.call("GET", path, None, None).await.problem(401);
    }
    app.call(
        "POST",
        "/api/v1/jurisdictions",
        None,
        Some(json!({"code": "FR", "name": "France", "timezone": "Europe/Paris"})),
    )
    .await
    .problem(401);
}

async fn providers_are_created_with_retention_periods(app: &TestApp) {
    let world = app.world().await;
    let reply = app
        .post(
            "/api/v1/organisations",
            Some(&world.admin),
            json!({"name": "Chatterbox Ltd", "kind": "provider", "jurisdiction": "IE",
                   "contact_email": "LE@Chatterbox.example",
                   "retention_days": {"identification": 25, "content": 30}}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(
        reply.json["retention_days"],
        json!({"identification": 25, "content": 30})
    );
    assert_eq!(reply.json["contact_email"], "le@chatterbox.example");
    let id = reply.json["id"].as_str().unwrap();
    let fetched = app
        .get(&format!("/api/v1/organisations/{id}"), &world.officer)
        .await;
    assert_eq!(fetched.json["name"], "Chatterbox Ltd");
    // The same name twice in one jurisdiction is a conflict.
    app.post(
        "/api/v1/organisations",
        Some(&world.admin),
        json!({"name": "Chatterbox Ltd", "kind": "provider", "jurisdiction": "IE",
               "contact_email": "le@chatterbox.example"}),
    )
    .await
    .problem(409);
}

async fn organisations_refuse_bad_input_naming_each_field(app: &TestApp) {
    let world = app.world().await;
    let reply = app
        .post(
            "/api/v1/organisations",
            Some(&world.admin),
            json!({"name": " ", "kind": "ngo", "jurisdiction": "gb",
                   "contact_email": "nope", "retention_days": {"dna": 3}}),
        )
        .await;
    assert_eq!(
        reply.fields(),
        [
            "name",
            "kind",
            "jurisdiction",
            "contact_email",
            "retention_days.dna"
        ]
    );
    let reply = app
        .post(
            "/api/v1/organisations",
            Some(&world.admin),
            json!({"name": "P", "kind": "provider", "jurisdiction": "IE",
                   "retention_days": {"traffic": 0}}),
        )
        .await;
    assert_eq!(reply.fields(), ["contact_email", "retention_days.traffic"]);
    let reply = app
        .post(
            "/api/v1/organisations",
            Some(&world.admin),
            json!({"name": "A", "kind": "agency", "jurisdiction": "GB",
                   "retention_days": {"traffic": 10}}),
        )
        .await;
    assert_eq!(reply.fields(), ["retention_days"]);
    let reply = app
        .post(
            "/api/v1/organisations",
            Some(&world.admin),
            json!({"name": "A", "kind": "agency", "jurisdiction": "FR"}),
        )
        .await;
    assert_eq!(reply.fields(), ["jurisdiction"]);
    app.get(
        "/api/v1/organisations/0192f0c1-0000-7000-8000-000000000000",
        &world.admin,
    )
    .await
    .problem(404);
}

async fn organisations_list_filters_and_pages(app: &TestApp) {
    let world = app.world().await;
    let agencies = app
        .get("/api/v1/organisations?kind=agency", &world.officer)
        .await;
    let names: Vec<&str> = agencies.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["GB Police", "DE Police"]);
    let gb = app
        .get("/api/v1/organisations?jurisdiction=GB", &world.officer)
        .await;
    assert_eq!(gb.json["items"].as_array().unwrap().len(), 2);
    app.get("/api/v1/organisations?kind=ngo", &world.officer)
        .await
        .problem(422);
    // Two per page across four organisations: two pages, then none.
    let first = app
        .get("/api/v1/organisations?limit=2", &world.officer)
        .await;
    assert_eq!(first.json["items"].as_array().unwrap().len(), 2);
    let cursor = first.json["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/organisations?limit=2&cursor={cursor}"),
            &world.officer,
        )
        .await;
    assert_eq!(second.json["items"].as_array().unwrap().len(), 2);
    assert_ne!(first.json["items"][0]["id"], second.json["items"][0]["id"]);
    assert!(second.json["next_cursor"].is_null());
    app.get("/api/v1/organisations?cursor=%27%3B--", &world.officer)
        .await
        .problem(422);
}

async fn the_legal_bases_catalogue_is_served_with_flags_and_clocks(app: &TestApp) {
    let world = app.world().await;
    let reply = app.get("/api/v1/legal-bases", &world.officer).await;
    let items = reply.json["items"].as_array().unwrap();
    assert!(items.len() >= 12);
    let epoc = items.iter().find(|b| b["id"] == "eu-epoc").unwrap();
    assert_eq!(epoc["verification"], "verified");
    assert_eq!(epoc["enabled"], true);
    assert_eq!(epoc["clocks"][0]["period"], json!({"days": 10}));
    assert_eq!(epoc["clocks"][0]["emergency_period"], json!({"hours": 8}));
    let cets = items.iter().find(|b| b["id"] == "cets224-7").unwrap();
    assert_eq!(cets["verification"], "unverified");
    assert_eq!(cets["enabled"], false);
    let one = app
        .get("/api/v1/legal-bases/us-2703f", &world.provider)
        .await;
    assert_eq!(one.json["citation"], "18 U.S.C. 2703(f)");
    app.get("/api/v1/legal-bases/nope", &world.provider)
        .await
        .problem(404);
}
