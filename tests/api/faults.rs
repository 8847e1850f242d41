//! Faults outside mlat get honest answers: a database that drops its
//! connections or stays locked past the statement bound is a 503 with
//! `Retry-After`, a full volume a 507, never a 500, and nothing acknowledged
//! is lost. A change the database undid (a deadlock, a connection lost
//! before COMMIT) is run once more; one whose COMMIT was cut is not.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

use serde_json::json;

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
    terminate_where(url, "TRUE")
}

/// Ends the other sessions on the app's database for which `condition` (on
/// `pg_stat_activity`) holds; how many.
fn terminate_where(url: &str, condition: &str) -> usize {
    #[derive(diesel::QueryableByName)]
    struct Ended {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ended: bool,
    }
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND ({condition})"
    ))
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
            let request = crate::workflow::preservation_transmitted(app, &w).await;
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

/// The sessions of the app's database waiting for a row lock in a statement
/// on `table`.
fn waiting_for_lock_on(url: &str, table: &str) -> Vec<i32> {
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE $1",
    )
    .bind::<diesel::sql_types::Text, _>(format!("%FROM {table} %"))
    .load::<Waiting>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|w| w.pid)
    .collect()
}

/// Until some session waits for a lock on `table` other than those in
/// `before`; its pid.
async fn until_waiting_on(url: &str, table: &'static str, before: &[i32]) -> i32 {
    let (url, before) = (url.to_owned(), before.to_vec());
    actix_web::web::block(move || {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let now = waiting_for_lock_on(&url, table);
            if let Some(pid) = now.into_iter().find(|p| !before.contains(p)) {
                return pid;
            }
            assert!(Instant::now() < until, "nobody waits for a lock on {table}");
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap()
}

/// How many times the request's audit trail records `action`.
async fn recorded(app: &TestApp, request_id: &str, action: &str) -> usize {
    let chain = mlat::domain::audit::request_chain(request_id);
    let trail = app.audit_of(&chain).await;
    trail.iter().filter(|e| e.action == action).count()
}

/// Another session on the app's database, in a transaction that looks for
/// deadlocks only after a minute (so that mlat's side is the one undone):
/// runs `first` with the request's id as `$1`, and returns once it has; on
/// the word sent to the returned channel, runs `then` if any, and ends with
/// `end`.
fn another_session(
    url: &str,
    id: &str,
    first: &'static str,
    then: Option<&'static str>,
    end: &'static str,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (go_on, wait) = std::sync::mpsc::channel::<()>();
    let (done, is_done) = std::sync::mpsc::channel::<()>();
    let (url, id) = (url.to_owned(), id.to_owned());
    let thread = std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).unwrap();
        let run = |conn: &mut PgConnection, sql: &str| {
            let rows = diesel::sql_query(sql)
                .bind::<diesel::sql_types::Text, _>(&id)
                .execute(conn)
                .unwrap();
            assert_eq!(rows, 1, "{sql} locked no row");
        };
        conn.batch_execute("BEGIN; SET LOCAL deadlock_timeout = '60s'")
            .unwrap();
        run(&mut conn, first);
        done.send(()).unwrap();
        wait.recv().unwrap();
        if let Some(sql) = then {
            run(&mut conn, sql);
        }
        conn.batch_execute(end).unwrap();
    });
    is_done.recv().unwrap();
    (go_on, thread)
}

/// Another session locks the request's audit chain, then (once mlat's change
/// has locked the request and waits for that chain) the request: a deadlock.
/// PostgreSQL undoes mlat's transaction (the other session waits longer
/// before it looks for deadlocks), mlat runs the change once more, and it
/// goes through exactly once.
#[actix_web::test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
async fn a_change_undone_by_a_deadlock_is_run_again_and_goes_through_once() {
    run_with(
        Backend::Postgres,
        |_| {},
        async |app: &TestApp| {
            let w = app.world().await;
            let sent = crate::workflow::preservation_transmitted(app, &w).await;
            let id = sent["id"].as_str().unwrap().to_owned();
            let url = database_url(app);
            let (go_on, other) = another_session(
                &url,
                &id,
                // The request's chain (`domain::audit::request_chain`).
                "SELECT 1 FROM audit_chains WHERE chain = 'request:' || $1 FOR UPDATE",
                // Returns once PostgreSQL has undone mlat's transaction.
                Some("SELECT 1 FROM requests WHERE id = $1 FOR UPDATE"),
                "COMMIT",
            );
            let preserve = crate::workflow::act(app, &w.provider, &sent, "preserve", json!({}));
            let deadlock = async {
                until_waiting_on(&url, "audit_chains", &[]).await;
                go_on.send(()).unwrap();
            };
            let (reply, ()) = futures_util::future::join(preserve, deadlock).await;
            other.join().unwrap();
            assert_eq!(reply.status, 200, "{:?}", reply.json);
            assert_eq!(reply.json["status"], "preserved");
            assert_eq!(reply.json["version"], sent["version"].as_i64().unwrap() + 1);
            assert_eq!(recorded(app, &id, "preserve").await, 1);
        },
    )
    .await
}

/// mlat's change waits for a row another session holds, and its connection
/// is ended under it (as a database restart or an administrator would):
/// nothing was committed, so it is run again on a live connection and goes
/// through exactly once when the row is free.
#[actix_web::test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
async fn a_change_whose_connection_is_lost_before_commit_is_run_again_once() {
    run_with(
        Backend::Postgres,
        |_| {},
        async |app: &TestApp| {
            let w = app.world().await;
            let sent = crate::workflow::preservation_transmitted(app, &w).await;
            let id = sent["id"].as_str().unwrap().to_owned();
            let url = database_url(app);
            let (release, other) = another_session(
                &url,
                &id,
                "SELECT 1 FROM requests WHERE id = $1 FOR UPDATE",
                None,
                "ROLLBACK",
            );
            let preserve = crate::workflow::act(app, &w.provider, &sent, "preserve", json!({}));
            let cut = async {
                let first = until_waiting_on(&url, "requests", &[]).await;
                let ended = {
                    let url = url.clone();
                    actix_web::web::block(move || terminate_where(&url, &format!("pid = {first}")))
                };
                assert_eq!(ended.await.unwrap(), 1);
                // The second run waits for the same row, on another connection.
                until_waiting_on(&url, "requests", &[first]).await;
                release.send(()).unwrap();
            };
            let (reply, ()) = futures_util::future::join(preserve, cut).await;
            other.join().unwrap();
            assert_eq!(reply.status, 200, "{:?}", reply.json);
            assert_eq!(reply.json["version"], sent["version"].as_i64().unwrap() + 1);
            assert_eq!(recorded(app, &id, "preserve").await, 1);
        },
    )
    .await
}

/// A copy of the app's SQLite database served by another instance from a
/// volume of `size` (a tmpfs in a mount namespace of its own, as a small
/// disk would be): the child process, its data directory's path, its base
/// URL, and the directory outside that holds the copy (removed when dropped,
/// after the child has stopped). Files on the volume are reached through
/// `/proc/<pid>/root`.
async fn on_a_small_volume(
    app: &TestApp,
    size: &str,
) -> (
    std::process::Child,
    std::path::PathBuf,
    String,
    tempfile::TempDir,
) {
    let kept = tempfile::tempdir().unwrap();
    let outside = kept.path().to_path_buf();
    let copy = outside.join("copy.db");
    let volume = outside.join("volume");
    std::fs::create_dir(&volume).unwrap();
    {
        let (state, copy) = (app.state.clone(), copy.clone());
        actix_web::web::block(move || {
            let mut conn = state.pool.get().unwrap();
            diesel::sql_query(format!("VACUUM INTO '{}'", copy.display()))
                .execute(&mut conn)
                .unwrap();
        })
        .await
        .unwrap();
    }
    let port = crate::helpers::free_port();
    let keys = &app.state.settings.data_dir;
    let child = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o size={size} tmpfs \"$1\" && cp \"$2\" \"$1/mlat.db\" && exec \"$0\" serve"
        ))
        .arg(env!("CARGO_BIN_EXE_mlat"))
        .arg(&volume)
        .arg(&copy)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MLAT_DATA_DIR", &volume)
        .env("MLAT_DATABASE_URL", volume.join("mlat.db"))
        .env("MLAT_JWT_KEY_FILE", keys.join("jwt-ed25519.pem"))
        .env("MLAT_AUDIT_KEY_FILE", keys.join("audit-ed25519.pem"))
        .env("MLAT_AUDIT_KEYRING_FILE", keys.join("audit-keys.json"))
        .env("MLAT_MFA_REQUIRED", "none")
        .env("MLAT_BIND", format!("127.0.0.1:{port}"))
        .env("MLAT_WATCH_INTERVAL_SECS", "0")
        .env("MLAT_MAIL_INTERVAL_SECS", "0")
        .env("MLAT_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("unshare (util-linux) starts the instance in a mount namespace");
    let base = format!("http://127.0.0.1:{port}");
    crate::helpers::eventually("the instance on the small volume is ready", async || {
        let ready = app.client.get(format!("{base}/readyz")).send().await;
        ready.ok().filter(|r| r.status() == 200).map(|_| ())
    })
    .await;
    let inside = std::path::PathBuf::from(format!("/proc/{}/root", child.id()))
        .join(volume.strip_prefix("/").unwrap());
    (child, inside, base, kept)
}

/// SQLite on a volume that fills up: an upload that does not fit is a 507
/// and leaves no temporary file; with the volume full, a change the
/// database cannot write is a 507 too, never a 500; what was acknowledged
/// before stays; once space is freed the next change is stored, without a
/// restart.
#[actix_web::test]
async fn sqlite_on_a_full_volume_answers_507_and_recovers_when_space_is_freed() {
    run_with(
        Backend::Sqlite,
        |_| {},
        async |app: &TestApp| {
            let w = app.world().await;
            let sent = crate::workflow::preservation_transmitted(app, &w).await;
            let (mut child, volume, base, _outside) = on_a_small_volume(app, "8m").await;
            let upload = |bytes: Vec<u8>| {
                app.client
                    .post(format!(
                        "{base}/api/v1/requests/{}/evidence",
                        sent["id"].as_str().unwrap()
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
            let temporary = volume.join("evidence").join("tmp");
            assert_eq!(
                std::fs::read_dir(&temporary).map_or(0, |d| d.count()),
                0,
                "no temporary file left"
            );
            let create = |n: usize| {
                app.client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(&w.officer)
                    .send_json(&case_body(&format!("OP-FULL-{n}")))
            };
            let mut stored = Vec::new();
            for n in 0..3 {
                let mut reply = create(n).await.unwrap();
                assert_eq!(reply.status(), 201);
                let body: serde_json::Value = reply.json().await.unwrap();
                stored.push(body["id"].as_str().unwrap().to_owned());
            }
            // Whatever room is left taken by another file, as another program
            // filling the disk would.
            let filler = volume.join("filler");
            {
                use std::io::Write;
                let mut file = std::fs::File::create(&filler).unwrap();
                let chunk = vec![0u8; 4096];
                while file.write_all(&chunk).is_ok() {}
            }
            let refused = loop {
                let mut reply = create(stored.len()).await.unwrap();
                let body: serde_json::Value = reply.json().await.unwrap();
                match reply.status().as_u16() {
                    201 if stored.len() < 500 => {
                        stored.push(body["id"].as_str().unwrap().to_owned())
                    }
                    _ => break (reply.status().as_u16(), body),
                }
            };
            assert_eq!(refused.0, 507, "{}", refused.1);
            assert_eq!(
                refused.1["type"], "urn:mlat:problem:insufficient-storage",
                "{}",
                refused.1
            );
            for id in &stored {
                let reply = app
                    .client
                    .get(format!("{base}/api/v1/cases/{id}"))
                    .bearer_auth(&w.officer)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(reply.status(), 200, "case {id} acknowledged, then lost");
            }
            std::fs::remove_file(&filler).unwrap();
            let after = create(9_999).await.unwrap();
            assert_eq!(after.status(), 201);
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            let log = String::from_utf8_lossy(&out.stderr);
            assert!(log.contains("OPERATOR ALARM insufficient-storage"), "{log}");
            assert!(!log.contains("status=500"), "{log}");
        },
    )
    .await
}

/// The connection is lost while mlat's change commits (a deferred trigger
/// keeps COMMIT busy long enough to end the session then): whether the
/// change was made is unknown to mlat, so it is not run again, and the
/// client is told to look before sending it again rather than "503, not done".
#[actix_web::test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
async fn a_connection_lost_during_commit_is_not_run_again_and_says_the_outcome_is_unknown() {
    run_with(Backend::Postgres, |_| {}, async |app: &TestApp| {
        let world = app.world().await;
        let url = database_url(app);
        {
            let url = url.clone();
            actix_web::web::block(move || {
                PgConnection::establish(&url)
                    .unwrap()
                    .batch_execute(
                        "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS \
                         $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$; \
                         CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON cases \
                         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();",
                    )
                    .unwrap()
            })
            .await
            .unwrap();
        }
        let create = app.post(
            "/api/v1/cases",
            Some(&world.officer),
            case_body("OP-LOST-AT-COMMIT"),
        );
        let cut = {
            let url = url.clone();
            actix_web::web::block(move || {
                let until = Instant::now() + Duration::from_secs(10);
                loop {
                    if terminate_where(&url, "state = 'active' AND query = 'COMMIT'") > 0 {
                        return;
                    }
                    assert!(Instant::now() < until, "no COMMIT to end");
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        let (reply, ended) = futures_util::future::join(create, cut).await;
        ended.unwrap();
        let problem = reply.problem(503);
        assert_eq!(
            problem["type"], "urn:mlat:problem:database-outcome-unknown",
            "{problem}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains("may or may not have been made"),
            "{problem}"
        );
        assert_eq!(reply.header("retry-after"), Some("5"));
        // Run once: PostgreSQL ended it before it committed, and mlat did not
        // send it again (a second run would have been stored).
        let cases = app.get("/api/v1/cases", &world.officer).await;
        assert_eq!(cases.status, 200);
        let named = cases.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["reference"] == "OP-LOST-AT-COMMIT")
            .count();
        assert_eq!(named, 0, "{:?}", cases.json);
    })
    .await
}
