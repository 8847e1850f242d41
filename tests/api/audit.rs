//! The hash-chained audit trail: what is recorded, and that tampering is caught.

use actix_web::web;
use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    sign_ins_and_account_changes_are_recorded_and_verify,
    only_admins_verify_the_trail,
    an_edited_event_is_named,
    a_deleted_event_is_named,
    swapped_events_are_named,
);

impl TestApp {
    /// Runs raw SQL on the app's database: the tamperer's view.
    pub async fn sql(&self, statement: String) {
        let pool = self.state.pool.clone();
        web::block(move || {
            let mut conn = pool.get().unwrap();
            diesel::sql_query(statement).execute(&mut conn).unwrap();
        })
        .await
        .unwrap();
    }

    pub async fn chain_events(&self, chain: &str) -> Vec<(String, i64, String)> {
        let pool = self.state.pool.clone();
        let chain = chain.to_owned();
        web::block(move || {
            let mut conn = pool.get().unwrap();
            mlat::repo::audit::for_chain(&mut conn, &chain)
                .unwrap()
                .into_iter()
                .map(|e| (e.id, e.seq, e.action))
                .collect()
        })
        .await
        .unwrap()
    }

    pub async fn verify(&self, admin: &str) -> Value {
        let reply = self.get("/api/v1/audit/verify", admin).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        reply.json
    }
}

/// A chain of four events for the officer's account: created, two sign-ins, a
/// failed one.
async fn officer_chain(app: &TestApp) -> (crate::helpers::World, Vec<(String, i64, String)>) {
    let world = app.world().await;
    app.login("officer@gb.test.example").await;
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": "officer@gb.test.example", "password": "not it at all"}),
    )
    .await;
    let events = app
        .chain_events(&format!("user:{}", world.officer_id))
        .await;
    assert!(events.len() >= 4, "{events:?}");
    assert_eq!(app.verify(&world.admin).await["intact"], true);
    (world, events)
}

async fn sign_ins_and_account_changes_are_recorded_and_verify(app: &TestApp) {
    let world = app.world().await;
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": "nobody@test.example", "password": "wrong password!"}),
    )
    .await;
    app.patch(
        &format!("/api/v1/users/{}", world.officer_id),
        &world.admin,
        json!({"active": false, "name": "Renamed"}),
    )
    .await;
    let events = app
        .chain_events(&format!("user:{}", world.officer_id))
        .await;
    let actions: Vec<&str> = events.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(actions, ["user_created", "login", "user_changed"]);
    let system = app.chain_events("system").await;
    assert_eq!(system.last().unwrap().2, "login_failed");
    let reference = app.chain_events("reference").await;
    assert_eq!(
        reference.len(),
        3 + 4,
        "three jurisdictions and four organisations"
    );
    let report = app.verify(&world.admin).await;
    assert_eq!(report["intact"], true);
    assert!(report["events"].as_u64().unwrap() >= 15);
    assert!(report["first_break"].is_null());
}

async fn only_admins_verify_the_trail(app: &TestApp) {
    let world = app.world().await;
    for token in [&world.officer, &world.ca, &world.provider] {
        app.get("/api/v1/audit/verify", token).await.problem(403);
    }
}

async fn an_edited_event_is_named(app: &TestApp) {
    let (world, events) = officer_chain(app).await;
    let (id, _, _) = &events[1];
    app.sql(format!(
        "UPDATE audit_events SET details = '{{\"email\":\"someone@else.example\"}}' WHERE id = '{id}'"
    ))
    .await;
    let report = app.verify(&world.admin).await;
    assert_eq!(report["intact"], false);
    assert_eq!(report["first_break"]["event_id"], id.as_str());
    assert!(
        report["first_break"]["reason"]
            .as_str()
            .unwrap()
            .contains("altered")
    );
}

async fn a_deleted_event_is_named(app: &TestApp) {
    let (world, events) = officer_chain(app).await;
    app.sql(format!(
        "DELETE FROM audit_events WHERE id = '{}'",
        events[1].0
    ))
    .await;
    let report = app.verify(&world.admin).await;
    assert_eq!(report["intact"], false);
    assert_eq!(report["first_break"]["event_id"], events[2].0.as_str());
}

async fn swapped_events_are_named(app: &TestApp) {
    let (world, events) = officer_chain(app).await;
    let (a, b) = (&events[1].0, &events[2].0);
    app.sql(format!("UPDATE audit_events SET seq = -1 WHERE id = '{a}'"))
        .await;
    app.sql(format!("UPDATE audit_events SET seq = 2 WHERE id = '{b}'"))
        .await;
    app.sql(format!("UPDATE audit_events SET seq = 3 WHERE id = '{a}'"))
        .await;
    let report = app.verify(&world.admin).await;
    assert_eq!(report["intact"], false);
    assert_eq!(report["first_break"]["event_id"], b.as_str());
}
