//! Query plans that the benchmark once found wrong, pinned on a population shaped
//! like the one that misled the planner (docs/benchmarks.md, second round).

use std::sync::{Arc, Mutex};

use actix_web::web;
use diesel::connection::{Connection, InstrumentationEvent};
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use mlat::db::DbConn;
use mlat::domain::access::Viewer;
use mlat::domain::reference::Role;
use mlat::repo;

use crate::helpers::{Backend, TestApp};
use crate::workflow::{create, open_case, preservation};

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Step {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// Copies request `from` `count` times, each with `parent` as its parent.
fn copy(conn: &mut DbConn, from: &str, count: usize, parent: Option<&str>, tag: &str) {
    let columns: Vec<String> = diesel::sql_query("SELECT name FROM pragma_table_info('requests')")
        .load::<Name>(conn)
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    let values: Vec<String> = columns
        .iter()
        .map(|c| match c.as_str() {
            "id" => format!("'{tag}-' || n.i"),
            "reference" => format!("'R-{tag}-' || n.i"),
            "parent_id" => parent.map_or("NULL".into(), |p| format!("'{p}'")),
            other => format!("requests.{other}"),
        })
        .collect();
    diesel::sql_query(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
         INSERT INTO requests ({}) SELECT {} FROM requests, n WHERE requests.id = '{from}'",
        columns.join(", "),
        values.join(", "),
    ))
    .execute(conn)
    .unwrap();
}

/// Almost every request has no parent, and SQLite's statistics count all those
/// NULLs as one key: with an index over every request's `parent_id`, the planner
/// judged it less selective than the agency's and walked the whole agency for a
/// request's follow-ups. Migration 000008 indexes follow-ups only.
#[actix_web::test]
async fn sqlite_finds_follow_ups_through_their_own_index_when_most_requests_have_no_parent() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let w = app.world().await;
    let case_id = open_case(&app, &w.officer).await;
    let first = create(
        &app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let id = first["id"].as_str().unwrap().to_owned();
    let viewer = Viewer {
        user_id: w.officer_id.clone(),
        role: Role::LiaisonOfficer,
        organisation_id: Some(w.gb_agency.clone()),
        jurisdiction: Some("GB".into()),
    };
    let state = app.state.clone();
    let (found, plan) = web::block(move || {
        let mut conn = state.pool.get().unwrap();
        copy(&mut conn, &id, 3000, None, "alone");
        copy(&mut conn, &id, 40, Some(&id), "follow-up");
        mlat::db::optimize(&mut conn).unwrap();

        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorder = seen.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                recorder.lock().unwrap().push(query.to_string());
            }
        });
        let found = repo::requests::children_visible(&mut conn, &viewer, &id).unwrap();
        conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
        let sql = seen.lock().unwrap().last().cloned().unwrap();
        let sql = sql.split(" -- binds:").next().unwrap().to_owned();
        let plan: Vec<String> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load::<Step>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|s| s.detail)
            .collect();
        (found, plan)
    })
    .await
    .unwrap();
    assert_eq!(found.len(), 40);
    assert!(
        plan.iter().any(|step| step.contains("requests_parent_idx")),
        "the follow-ups were not looked up by parent: {plan:?}"
    );
    app.stop().await;
}
