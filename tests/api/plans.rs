//! Query plans that the benchmark once found wrong, pinned on a population shaped
//! like the one that misled the planner (docs/benchmarks.md, second and third
//! rounds).

use std::sync::{Arc, Mutex};

use actix_web::web;
use diesel::connection::{Connection, InstrumentationEvent};
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use mlat::db::DbConn;
use mlat::domain::access::Viewer;
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

/// Copies request `from` `count` times under ids `{tag}-{n}`, with the columns
/// in `set` given these SQL values instead of the original's.
fn copy(conn: &mut DbConn, from: &str, count: usize, tag: &str, set: &[(&str, &str)]) {
    let listing = match conn.backend() {
        mlat::db::Backend::Sqlite => "SELECT name FROM pragma_table_info('requests')",
        mlat::db::Backend::Postgres => {
            "SELECT column_name::text AS name FROM information_schema.columns \
             WHERE table_name = 'requests' ORDER BY ordinal_position"
        }
    };
    let columns: Vec<String> = diesel::sql_query(listing)
        .load::<Name>(conn)
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    let values: Vec<String> = columns
        .iter()
        .map(
            |c| match (c.as_str(), set.iter().find(|(name, _)| name == c)) {
                (_, Some((_, value))) => (*value).to_owned(),
                ("id", None) => format!("'{tag}-' || n.i"),
                ("reference", None) => format!("'R-{tag}-' || n.i"),
                (other, None) => format!("requests.{other}"),
            },
        )
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

/// What `f` returns, and SQLite's plan of each query it ran, in order.
fn explained<T>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> T) -> (T, Vec<Vec<String>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = seen.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            recorder.lock().unwrap().push(query.to_string());
        }
    });
    let found = f(conn);
    conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
    let queries = seen.lock().unwrap().clone();
    let plans = queries
        .iter()
        .map(|sql| {
            let sql = sql.split(" -- binds:").next().unwrap();
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load::<Step>(conn)
                .unwrap()
                .into_iter()
                .map(|s| s.detail)
                .collect()
        })
        .collect();
    (found, plans)
}

/// The officer's view and one draft request of the officer's agency; and the
/// id of another agency.
async fn one_draft(app: &TestApp) -> (Viewer, String, String) {
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    let first = create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let (state, officer) = (app.state.clone(), w.officer_id.clone());
    let viewer = web::block(move || {
        let mut conn = state.pool.get().unwrap();
        repo::users::find_active_with_organisation(&mut conn, &officer)
            .unwrap()
            .unwrap()
            .viewer()
            .unwrap()
    })
    .await
    .unwrap();
    (
        viewer,
        first["id"].as_str().unwrap().to_owned(),
        w.de_agency,
    )
}

/// Almost every request has no parent, and SQLite's statistics count all those
/// NULLs as one key: with an index over every request's `parent_id`, the planner
/// judged it less selective than the agency's and walked the whole agency for a
/// request's follow-ups. Migration 000008 indexes follow-ups only.
#[actix_web::test]
async fn sqlite_finds_follow_ups_through_their_own_index_when_most_requests_have_no_parent() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (viewer, id, _) = one_draft(&app).await;
    let state = app.state.clone();
    let (found, plan) = web::block(move || {
        let mut conn = state.pool.get().unwrap();
        copy(&mut conn, &id, 3000, "alone", &[("parent_id", "NULL")]);
        let parent = format!("'{id}'");
        copy(&mut conn, &id, 40, "follow-up", &[("parent_id", &parent)]);
        mlat::db::optimize(&mut conn).unwrap();

        explained(&mut conn, |conn| {
            repo::requests::children_visible(conn, &viewer, &id).unwrap()
        })
    })
    .await
    .unwrap();
    let plan = plan.last().unwrap().clone();
    assert_eq!(found.len(), 40);
    assert!(
        plan.iter().any(|step| step.contains("requests_parent_idx")),
        "the follow-ups were not looked up by parent: {plan:?}"
    );
    app.stop().await;
}

#[derive(QueryableByName)]
struct Read {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    rows: i64,
}

/// An agency's newest requests are its drafts. With PostgreSQL's default
/// `random_page_cost`, a page of its preserved requests walked the primary key
/// backwards past every draft instead of taking the (agency, status, id) index:
/// thousands of rows read for one page. mlat's sessions set it to 1.1
/// (`db::conn::establish`).
#[actix_web::test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
async fn postgres_reads_one_page_of_rows_for_a_filtered_list_behind_many_newer_drafts() {
    crate::helpers::run(Backend::Postgres, async |app: &TestApp| {
        let (viewer, id, other_agency) = one_draft(app).await;
        let state = app.state.clone();
        let (found, read) = web::block(move || {
            let mut conn = state.pool.get().unwrap();
            // Older requests (ids `a-...`), one in ten the officer's agency's, as
            // when agencies file side by side; then the agency's newer drafts
            // (`b-...` sorts after `a-...`).
            let agency = viewer.organisation_id.clone().unwrap();
            let mixed = format!("CASE WHEN n.i % 10 = 0 THEN '{agency}' ELSE '{other_agency}' END");
            copy(
                &mut conn,
                &id,
                10_000,
                "a",
                &[("status", "'preserved'"), ("agency_id", &mixed)],
            );
            copy(&mut conn, &id, 3000, "b", &[("status", "'draft'")]);
            diesel::sql_query("ANALYZE requests")
                .execute(&mut conn)
                .unwrap();
            mlat::db::write_tx(&mut conn, |conn| {
                let filter = repo::requests::Filter {
                    statuses: vec![mlat::domain::workflow::Status::Preserved],
                    ..Default::default()
                };
                let (found, _) = repo::requests::list_visible(
                    conn,
                    &viewer,
                    &filter,
                    repo::requests::Sort::Created,
                    None,
                    50,
                )?;
                let read = diesel::sql_query(
                    "SELECT (seq_tup_read + idx_tup_fetch)::bigint AS rows \
                     FROM pg_stat_xact_user_tables WHERE relname = 'requests'",
                )
                .get_result::<Read>(conn)?;
                Ok::<_, diesel::result::Error>((found.len(), read.rows))
            })
            .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(found, 50);
        assert!(read < 200, "{read} rows read for a page of 50");
    })
    .await;
}

/// Finding the requests about an identifier is a lookup in
/// `request_identifiers` and then by id, not a scan of every request the
/// viewer may see (migration 000016).
#[actix_web::test]
async fn sqlite_finds_requests_by_an_identifier_through_its_index() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (viewer, id, _) = one_draft(&app).await;
    let state = app.state.clone();
    let (found, plan) = web::block(move || {
        let mut conn = state.pool.get().unwrap();
        copy(&mut conn, &id, 3000, "other", &[]);
        mlat::db::optimize(&mut conn).unwrap();
        let filter = repo::requests::Filter {
            identifier: Some("SUNNY_DAY_2011".into()),
            ..Default::default()
        };
        explained(&mut conn, |conn| {
            repo::requests::list_visible(
                conn,
                &viewer,
                &filter,
                repo::requests::Sort::Created,
                None,
                50,
            )
            .unwrap()
            .0
        })
    })
    .await
    .unwrap();
    let plan = plan.last().unwrap().clone();
    // The copies carry the identifier in their JSON but have no keys: only
    // the request made through the service is found.
    assert_eq!(found.len(), 1);
    assert!(
        plan.iter()
            .any(|step| step.contains("request_identifiers") && step.contains("value_key=?")),
        "the identifier was not looked up by its key: {plan:?}"
    );
    assert!(
        !plan.iter().any(|step| step.starts_with("SCAN requests")),
        "every request was read: {plan:?}"
    );
    app.stop().await;
}

/// An officer's queue by urgency is read in order off
/// `(agency_id, issuer_due_at, id)`, not gathered and sorted: at a million
/// requests the agency's own were tens of thousands to sort for each page.
#[actix_web::test]
async fn sqlite_reads_the_queue_by_urgency_in_index_order() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (viewer, id, _) = one_draft(&app).await;
    let state = app.state.clone();
    let (found, plan) = web::block(move || {
        let mut conn = state.pool.get().unwrap();
        copy(
            &mut conn,
            &id,
            3000,
            "queued",
            &[
                (
                    "status",
                    "CASE n.i % 4 WHEN 0 THEN 'transmitted' WHEN 1 THEN 'acknowledged' \
                     WHEN 2 THEN 'preserved' ELSE 'draft' END",
                ),
                (
                    "issuer_due_at",
                    "strftime('%Y-%m-%d %H:%M:%f', 'now', '+' || n.i || ' minutes')",
                ),
            ],
        );
        mlat::db::optimize(&mut conn).unwrap();
        let filter = repo::requests::Filter {
            statuses: vec![
                mlat::domain::workflow::Status::Transmitted,
                mlat::domain::workflow::Status::Acknowledged,
                mlat::domain::workflow::Status::Preserved,
            ],
            ..Default::default()
        };
        explained(&mut conn, |conn| {
            repo::requests::list_visible(
                conn,
                &viewer,
                &filter,
                repo::requests::Sort::DueForIssuer,
                None,
                50,
            )
            .unwrap()
            .0
        })
    })
    .await
    .unwrap();
    // The page's own query; the next one reads the cursor's due instant.
    let plan = plan[0].clone();
    assert_eq!(found.len(), 50);
    assert!(
        plan.iter()
            .any(|step| step.contains("requests_agency_due_idx")),
        "the queue was not read off its index: {plan:?}"
    );
    assert!(
        !plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "the queue was sorted: {plan:?}"
    );
    app.stop().await;
}
