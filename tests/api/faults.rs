//! Faults outside mlat get honest answers: a database that drops its
//! connections or stays locked past the statement bound is a 503 with
//! `Retry-After`, never a 500, and nothing acknowledged is lost.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::cases::case_body;
use crate::helpers::{Backend, TestApp, run_with};

fn database_url(app: &TestApp) -> String {
    match &app.state.settings.database_url {
        mlat::db::DatabaseUrl::Postgres(url) => url.clone(),
        mlat::db::DatabaseUrl::Sqlite(_) => unreachable!("PostgreSQL's faults"),
    }
}

/// Ends every other session on the app's database, as a restart of
/// PostgreSQL or an administrator would.
fn terminate_connections(url: &str) -> usize {
    #[derive(diesel::QueryableByName)]
    struct Ended {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ended: bool,
    }
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .load::<Ended>(&mut conn)
    .unwrap()
    .iter()
    .filter(|e| e.ended)
    .count()
}

#[actix_web::test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
async fn dropped_connections_are_503_and_nothing_acknowledged_is_lost() {
    run_with(
        Backend::Postgres,
        |_| {},
        async |app: &TestApp| {
            let world = app.world().await;
            let url = database_url(app);
            // Every pooled connection ended at once (a restart of the
            // database). A change finds its connection dead when it begins,
            // before anything is done, and begins again on a live one.
            let cut = || {
                let url = url.clone();
                actix_web::web::block(move || terminate_connections(&url))
            };
            assert!(cut().await.unwrap() >= 1);
            let first = app
                .post(
                    "/api/v1/cases",
                    Some(&world.officer),
                    case_body("OP-AFTER-RESTART"),
                )
                .await;
            assert_eq!(first.status, 201, "{:?}", first.json);
            // A read meets its dead connection in the middle of the use case,
            // which is not run twice: 503 (unless a recent loss had every
            // connection checked as it was taken), and the next one is served.
            assert!(cut().await.unwrap() >= 1);
            let read = app.get("/api/v1/cases", &world.officer).await;
            if read.status != 200 {
                let problem = read.problem(503);
                assert_eq!(
                    problem["type"], "urn:mlat:problem:database-unavailable",
                    "{problem}"
                );
                assert_eq!(read.header("retry-after"), Some("5"));
            }
            assert_eq!(app.get("/api/v1/cases", &world.officer).await.status, 200);
            // A stream of creates while the connections keep being cut.
            let storm = {
                let url = url.clone();
                actix_web::web::block(move || {
                    for _ in 0..5 {
                        std::thread::sleep(Duration::from_millis(150));
                        terminate_connections(&url);
                    }
                })
            };
            let mut acknowledged = Vec::new();
            let mut refused = 0;
            for n in 0..60 {
                let reply = app
                    .post(
                        "/api/v1/cases",
                        Some(&world.officer),
                        case_body(&format!("OP-STORM-{n}")),
                    )
                    .await;
                match reply.status.as_u16() {
                    201 => acknowledged.push(reply.json["id"].as_str().unwrap().to_owned()),
                    503 => {
                        let problem = reply.problem(503);
                        assert!(
                            problem["type"]
                                .as_str()
                                .unwrap()
                                .starts_with("urn:mlat:problem:database-"),
                            "{problem}"
                        );
                        refused += 1;
                    }
                    other => panic!("{other}: {:?}", reply.json),
                }
            }
            storm.await.unwrap();
            assert!(acknowledged.len() + refused == 60);
            // Recovered without a restart, and every acknowledged case is there.
            for id in &acknowledged {
                let reply = app
                    .get(&format!("/api/v1/cases/{id}"), &world.officer)
                    .await;
                assert_eq!(reply.status, 200, "{:?}", reply.json);
            }
            let after = app
                .post(
                    "/api/v1/cases",
                    Some(&world.officer),
                    case_body("OP-RECOVERED"),
                )
                .await;
            assert_eq!(after.status, 201, "{:?}", after.json);
        },
    )
    .await
}

#[actix_web::test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
async fn a_lock_held_past_the_statement_bound_is_a_503_within_it() {
    let tweak = |s: &mut mlat::config::Settings| {
        s.db_statement_timeout = Some(Duration::from_secs(1));
    };
    run_with(Backend::Postgres, tweak, async |app: &TestApp| {
        let world = app.world().await;
        let url = database_url(app);
        // Another session holds the cases table, as a long migration or a
        // stuck administrator's transaction would.
        let (hold, release) = std::sync::mpsc::channel::<()>();
        let (held, is_held) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let mut conn = PgConnection::establish(&url).unwrap();
            conn.batch_execute("BEGIN; LOCK TABLE cases IN ACCESS EXCLUSIVE MODE")
                .unwrap();
            held.send(()).unwrap();
            let _ = release.recv();
            conn.batch_execute("ROLLBACK").unwrap();
        });
        is_held.recv().unwrap();
        let started = Instant::now();
        let reply = app.get("/api/v1/cases", &world.officer).await;
        let took = started.elapsed();
        let problem = reply.problem(503);
        assert_eq!(
            problem["type"], "urn:mlat:problem:database-timeout",
            "{problem}"
        );
        assert_eq!(reply.header("retry-after"), Some("5"));
        assert!(took < Duration::from_secs(5), "answered after {took:?}");
        hold.send(()).unwrap();
        holder.join().unwrap();
        assert_eq!(app.get("/api/v1/cases", &world.officer).await.status, 200);
    })
    .await
}

/// A file-size limit on the instance (as a full or quota-bound volume
/// would): an upload beyond it is a 507, leaves nothing behind, and the next
/// one that fits is stored.
#[actix_web::test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
async fn an_upload_onto_a_full_volume_is_a_507_and_leaves_nothing() {
    run_with(
        Backend::Postgres,
        |_| {},
        async |app: &TestApp| {
            let w = app.world().await;
            let case_id = crate::workflow::open_case(app, &w.officer).await;
            let request = crate::workflow::transmitted(
                app,
                &w.officer,
                &w.ca,
                crate::workflow::preservation(Some(&case_id), &w.ie_provider),
            )
            .await;
            // Another instance on the same database and token key, whose files
            // may not grow past 4 MB. SQLite would be limited too: this one keeps
            // its data in PostgreSQL.
            let dir = tempfile::tempdir().unwrap();
            let port = crate::helpers::free_port();
            let mut child = std::process::Command::new("sh")
                .arg("-c")
                .arg("trap '' XFSZ; ulimit -f 8192; exec \"$0\" serve")
                .arg(env!("CARGO_BIN_EXE_mlat"))
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("MLAT_DATA_DIR", dir.path())
                .env("MLAT_DATABASE_URL", database_url(app))
                .env(
                    "MLAT_JWT_KEY_FILE",
                    app.state.settings.data_dir.join("jwt-ed25519.pem"),
                )
                .env("MLAT_MFA_REQUIRED", "none")
                .env("MLAT_BIND", format!("127.0.0.1:{port}"))
                .env("MLAT_WATCH_INTERVAL_SECS", "0")
                .env("MLAT_MAIL_INTERVAL_SECS", "0")
                .env("MLAT_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let base = format!("http://127.0.0.1:{port}");
            crate::helpers::eventually("the second instance is ready", async || {
                let ready = app.client.get(format!("{base}/readyz")).send().await;
                ready.ok().filter(|r| r.status() == 200).map(|_| ())
            })
            .await;
            let upload = |bytes: Vec<u8>| {
                app.client
                    .post(format!(
                        "{base}/api/v1/requests/{}/evidence",
                        request["id"].as_str().unwrap()
                    ))
                    .bearer_auth(&w.provider)
                    .insert_header(("content-type", "application/zip"))
                    .insert_header(("content-disposition", "attachment; filename=\"export.zip\""))
                    .send_body(bytes)
            };
            let mut too_big = upload(vec![7u8; 12 << 20]).await.unwrap();
            assert_eq!(too_big.status(), 507);
            let body: serde_json::Value = too_big.json().await.unwrap();
            assert_eq!(
                body["type"], "urn:mlat:problem:insufficient-storage",
                "{body}"
            );
            let temporary = dir.path().join("evidence").join("tmp");
            assert_eq!(
                std::fs::read_dir(&temporary).map_or(0, |d| d.count()),
                0,
                "no temporary file left"
            );
            let fits = upload(vec![8u8; 100 << 10]).await.unwrap();
            assert_eq!(fits.status(), 201);
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            let log = String::from_utf8_lossy(&out.stderr);
            assert!(log.contains("OPERATOR ALARM insufficient-storage"), "{log}");
        },
    )
    .await
}

/// The watcher runs every second here; its passes fail while the database
/// drops every connection, and resume by themselves: a checkpoint of the
/// audit trail (part of each pass) appears once it is back.
#[actix_web::test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
async fn the_watcher_resumes_after_an_outage_without_a_restart() {
    let tweak = |s: &mut mlat::config::Settings| {
        s.watch_interval = Some(Duration::from_secs(1));
    };
    run_with(Backend::Postgres, tweak, async |app: &TestApp| {
        app.world().await;
        let url = database_url(app);
        let checkpoints = |app: &TestApp| {
            let state = app.state.clone();
            actix_web::web::block(move || {
                // None while the connection fails; 0 before any checkpoint.
                let mut conn = state.pool.get().ok()?;
                let last = mlat::repo::anchor::last(&mut conn).ok()?;
                Some(last.map_or(0, |c| c.seq))
            })
        };
        // The outage: every connection cut, again and again, for 1.5 seconds.
        actix_web::web::block(move || {
            let until = Instant::now() + Duration::from_millis(1_500);
            while Instant::now() < until {
                terminate_connections(&url);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
        .await
        .unwrap();
        let before = crate::helpers::eventually("the database answers again", async || {
            checkpoints(app).await.unwrap()
        })
        .await;
        app.login("officer@gb.test.example").await;
        crate::helpers::eventually(
            "a pass after the outage anchors the new event",
            async || {
                let now = checkpoints(app).await.unwrap()?;
                (now > before).then_some(())
            },
        )
        .await;
    })
    .await
}
