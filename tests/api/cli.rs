//! The `mlat` binary: migrate, user create, demo, and serve --demo end to end.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{PgDatabase, postgres_server_url};

fn mlat(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mlat"));
    command
        .env_clear()
        .env("MLAT_DATA_DIR", data_dir)
        .env("MLAT_LOG", "info");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run_with_stdin(mut command: Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn migrate_says_what_it_applied() {
    let dir = tempfile::tempdir().unwrap();
    let first = mlat(dir.path()).arg("migrate").output().unwrap();
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stdout).contains("applied 20261128000001"));
    let second = mlat(dir.path()).arg("migrate").output().unwrap();
    assert_eq!(text(&second.stdout).trim(), "no pending migrations");
}

#[test]
fn a_bad_setting_stops_start_up_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [
        ("MLAT_BIND", "localhost"),
        ("MLAT_DATABASE_URL", "mysql://db/mlat"),
        ("MLAT_MFA_REQUIRED", "admin,officer"),
    ] {
        let out = mlat(dir.path())
            .env(name, value)
            .arg("serve")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("error: {name}: ")), "{stderr}");
    }
    let out = mlat(dir.path())
        .env("MLAT_JWT_KEY_FILE", dir.path().join("missing.pem"))
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("cannot read the token signing key"));
}

#[test]
fn user_create_reads_the_password_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let create = |password: &str| {
        let mut command = mlat(dir.path());
        command.args([
            "user",
            "create",
            "--email",
            "first.admin@example.org",
            "--name",
            "First Admin",
            "--role",
            "admin",
            "--password-stdin",
        ]);
        run_with_stdin(command, &format!("{password}\n"))
    };
    let short = create("too short");
    assert!(!short.status.success());
    assert!(text(&short.stderr).contains("password: must be at least 12 characters"));
    let ok = create("a strong first password");
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("created user first.admin@example.org (admin)"));
    let again = create("a strong first password");
    assert!(text(&again.stderr).contains("already exists"));
    let mut wrong_role = mlat(dir.path());
    wrong_role.args([
        "user",
        "create",
        "--email",
        "x@example.org",
        "--name",
        "X",
        "--role",
        "provider",
        "--password-stdin",
    ]);
    let out = run_with_stdin(wrong_role, "a strong first password\n");
    assert!(text(&out.stderr).contains("role: role `provider` needs an organisation"));
}

#[test]
fn demo_loads_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = mlat(dir.path()).arg("demo").output().unwrap();
    assert!(first.status.success(), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    for role in ["admin", "liaison_officer", "central_authority", "provider"] {
        assert!(stdout.contains(role), "{stdout}");
    }
    assert!(!stdout.contains("existed already"));
    let second = mlat(dir.path()).arg("demo").output().unwrap();
    assert!(second.status.success());
    assert_eq!(text(&second.stdout).matches("existed already").count(), 8);
}

#[test]
fn audit_verify_exits_non_zero_and_names_the_event_after_tampering() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        mlat(dir.path())
            .arg("demo")
            .output()
            .unwrap()
            .status
            .success()
    );
    let ok = mlat(dir.path()).args(["audit", "verify"]).output().unwrap();
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).starts_with("audit trail intact:"));
    let mut conn =
        mlat::db::conn::establish(&mlat::db::DatabaseUrl::Sqlite(dir.path().join("mlat.db")))
            .unwrap();
    use diesel::RunQueryDsl;
    diesel::sql_query(
        "UPDATE audit_events SET details = '{}' WHERE id = \
         (SELECT id FROM audit_events WHERE chain = 'reference' AND seq = 2)",
    )
    .execute(&mut conn)
    .unwrap();
    let broken = mlat(dir.path()).args(["audit", "verify"]).output().unwrap();
    assert_eq!(broken.status.code(), Some(1));
    let stderr = text(&broken.stderr);
    assert!(
        stderr.contains("audit trail broken in chain reference") && stderr.contains("(position 2)"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_catalogue_file_is_refused_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bases.json");
    let mut catalogue: serde_json::Value =
        serde_json::from_str(mlat::domain::legal_bases::EMBEDDED).unwrap();
    catalogue["legal_bases"][1]["clocks"][0]["period"] = json!({"days": 0});
    std::fs::write(&file, catalogue.to_string()).unwrap();
    let out = mlat(dir.path())
        .env("MLAT_LEGAL_BASES_FILE", &file)
        .args(["deadlines", "tick"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("legal basis `us-2703f`: clocks[0].period: must be greater than zero"),
        "{stderr}"
    );
    std::fs::write(&file, "{ not json").unwrap();
    let out = mlat(dir.path())
        .env("MLAT_LEGAL_BASES_FILE", &file)
        .args(["deadlines", "tick"])
        .output()
        .unwrap();
    assert!(text(&out.stderr).contains("the legal-bases file is not valid"));
}

#[test]
fn deadlines_tick_runs_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        mlat(dir.path())
            .arg("demo")
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = mlat(dir.path())
        .args(["deadlines", "tick"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The worked case's request at Pixelshare loses its data within a week.
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "examined 1 requests: 0 deadlines missed, 0 preservations expired, 1 reminders queued"
    );
    // The pass anchors the audit trail too (the demo's events, all new).
    assert!(lines[1].starts_with("checkpoint 1: "), "{stdout}");
    let again = mlat(dir.path())
        .args(["deadlines", "tick"])
        .output()
        .unwrap();
    assert_eq!(
        text(&again.stdout).trim(),
        "examined 1 requests: 0 deadlines missed, 0 preservations expired, 0 reminders queued",
        "a reminder is queued once"
    );
}

#[test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
fn a_wrong_postgres_login_is_reported_in_the_servers_words() {
    let server = postgres_server_url();
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::with_database(&server, "postgres")
        .replacen("://", "://no_such_role:secret@", 1)
        .replacen("@postgres@", "@", 1);
    let out = mlat(dir.path())
        .env("MLAT_DATABASE_URL", &url)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot open the postgres database"),
        "{stderr}"
    );
    assert!(stderr.contains("no_such_role"), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "the password is not printed: {stderr}"
    );
}

/// `serve --demo` on an empty directory: a demo user signs in over HTTP and
/// finds the worked case with every feature in it.
fn serve_demo_and_explore_the_worked_case(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = mlat(dir.path());
    command.env("MLAT_BIND", "127.0.0.1:0");
    if let Some(url) = database_url {
        command.env("MLAT_DATABASE_URL", url);
    }
    let mut child = command
        .args(["serve", "--demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let out_tx = tx.clone();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_tx.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(format!("log| {line}"));
        }
    });
    let mut password = None;
    let mut key = None;
    let mut port = None;
    let mut seen = Vec::new();
    // stdout (the accounts) and stderr (the log) arrive in either order.
    while port.is_none() || password.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the server did not start: {seen:#?}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.get(1) == Some(&"officer@gb-police.demo.test") {
            password = words.get(2).map(|p| p.to_string());
            key = words.get(3).map(|k| k.to_string());
        }
        if let Some(p) = line.split("port=").nth(1) {
            port = p.trim().parse::<u16>().ok();
        }
        seen.push(line);
    }
    let password = password.expect("the demo accounts are printed");
    // Beside each password, the key of the account's second factor: the
    // code an authenticator app would show for it.
    let key = key.expect("the demo accounts come enrolled, their key printed");
    let code = crate::helpers::authenticator_code(&key);
    let port = port.unwrap();
    let result = actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::default();
        let base = format!("http://127.0.0.1:{port}/api/v1");
        let mut reply = client
            .post(format!("{base}/auth/login"))
            .send_json(&json!({"email": "officer@gb-police.demo.test", "password": password}))
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let login: Value = reply.json().await.unwrap();
        assert_eq!(login["mfa"], "required", "{login}");
        let mut reply = client
            .post(format!("{base}/auth/login/mfa"))
            .send_json(&json!({"challenge": login["challenge"], "code": code}))
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let login: Value = reply.json().await.unwrap();
        let token = login["access_token"].as_str().unwrap().to_owned();
        let get = |path: String| {
            let (client, token) = (client.clone(), token.clone());
            async move {
                let mut reply = client.get(path).bearer_auth(token).send().await.unwrap();
                assert_eq!(reply.status(), 200);
                reply.json::<Value>().limit(1 << 20).await.unwrap()
            }
        };
        let cases = get(format!("{base}/cases")).await;
        let case = cases["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["reference"] == "OCPU-2026-0117")
            .expect("the worked case")
            .clone();
        let case = get(format!("{base}/cases/{}", case["id"].as_str().unwrap())).await;
        let mut requests = Vec::new();
        for summary in case["requests"].as_array().unwrap() {
            requests.push(
                get(format!(
                    "{base}/requests/{}",
                    summary["id"].as_str().unwrap()
                ))
                .await,
            );
        }
        let board = get(format!("{base}/deadlines?within=7d")).await;
        // Hostile ids: a NUL byte (PostgreSQL refuses it in text) and a
        // newline that would forge a log line; and an identifier value that
        // must not reach the log.
        for path in [
            "requests/%00",
            "requests/x%0aERROR%20EVIDENCE%20INTEGRITY%20FAILURE%20forged",
            "evidence/%0d%0aforged/content",
        ] {
            let reply = client
                .get(format!("{base}/{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 404, "{path}");
        }
        let refused = client
            .post(format!("{base}/requests"))
            .bearer_auth(&token)
            .send_json(&json!({
                "case_id": case["id"], "kind": "preservation", "legal_basis": "provider-voluntary",
                "identifiers": [{"type": "ip", "value": "SECRET-IDENTIFIER-93"}]
            }))
            .await
            .unwrap();
        assert_eq!(refused.status(), 422);
        let mut evidence = Vec::new();
        for request in requests.iter().filter(|r| r["status"] == "fulfilled") {
            evidence.push(
                get(format!(
                    "{base}/requests/{}/evidence",
                    request["id"].as_str().unwrap()
                ))
                .await,
            );
        }
        (requests, board, evidence)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // Every log line is one event, starting with its time; nothing a client
    // sent started a line of its own, and no identifier value was written.
    let log: Vec<String> = seen.into_iter().chain(rx.try_iter()).collect();
    for line in log.iter().filter_map(|l| l.strip_prefix("log| ")) {
        assert!(
            line.starts_with("20"),
            "a forged or broken log line: {line:?}"
        );
        assert!(!line.contains("SECRET-IDENTIFIER-93"), "{line}");
    }
    assert!(
        log.iter()
            .any(|l| l.contains("http.target=/api/v1/requests/%00"))
    );
    let (requests, board, evidence) = result;
    let mut statuses: Vec<&str> = requests
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [
            "fulfilled",
            "pending_approval",
            "preserved",
            "preserved",
            "refused"
        ]
    );
    // The confirmed preservation reported the data moved, and was followed up
    // in the country named.
    let moved = requests
        .iter()
        .find(|r| r["response"]["moved"].is_array())
        .expect("a data-moved report");
    assert_eq!(moved["status"], "preserved");
    assert_eq!(moved["response"]["moved"][0]["to_jurisdiction"], "NL");
    let follow_up = requests
        .iter()
        .find(|r| r["parent"]["id"] == moved["id"] && r["executing_jurisdiction"] == "NL")
        .expect("the follow-up in the Netherlands");
    assert_eq!(follow_up["status"], "preserved");
    // The production delivered evidence, executed in Ireland through
    // Chatterbox.
    assert_eq!(evidence.len(), 1);
    assert_eq!(evidence[0]["items"].as_array().unwrap().len(), 1);
    let produced = requests
        .iter()
        .find(|r| r["status"] == "fulfilled")
        .unwrap();
    assert_eq!(produced["domestic_orders"][0]["status"], "fulfilled");
    assert!(
        produced["domestic_orders"][0]["responder_name"]
            .as_str()
            .unwrap()
            .starts_with("Chatterbox"),
        "{produced}"
    );
    // The refusal carries its ground.
    let refused = requests.iter().find(|r| r["status"] == "refused").unwrap();
    assert_eq!(
        refused["response"]["refusal"]["ground"],
        "account_not_found"
    );
    // The request waiting for approval is on the board, its data about to go.
    let waiting = requests
        .iter()
        .find(|r| r["status"] == "pending_approval")
        .unwrap();
    assert!(
        board["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["request_id"] == waiting["id"]
                && d["kind"] == "retention_risk"
                && d["status"] == "open"),
        "{board:#}"
    );
}

#[test]
fn serve_demo_on_sqlite_tells_the_worked_case() {
    serve_demo_and_explore_the_worked_case(None);
}

#[test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
fn serve_demo_on_postgres_tells_the_worked_case() {
    let db = PgDatabase::create();
    serve_demo_and_explore_the_worked_case(Some(db.url()));
}

/// The migrations' directories, oldest first (`2026-12-03-000019_audit_anchoring`).
fn migration_dirs() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut dirs: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs
}

/// A migration's version as diesel names it (`20261203000019`).
fn version_of(dir: &str) -> String {
    dir.split('_').next().unwrap().replace('-', "")
}

/// `n` commands run at the same moment, each with its own data directory
/// (as instances on their own machines), against one database.
fn together(n: usize, database_url: &str, shared: &std::path::Path, args: &[&str]) -> Vec<Output> {
    let dirs: Vec<tempfile::TempDir> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
    let children: Vec<_> = dirs
        .iter()
        .map(|dir| {
            mlat(dir.path())
                .env("MLAT_DATABASE_URL", database_url)
                // One audit key for all, as a deployment provides it.
                .env("MLAT_AUDIT_KEY_FILE", shared.join("audit.pem"))
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// How many times the outputs say a migration was applied, and which.
fn applied_in(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .flat_map(|o| {
            let mut lines: Vec<String> = text(&o.stdout)
                .lines()
                .filter_map(|l| l.strip_prefix("applied ").map(str::to_owned))
                .collect();
            lines.extend(
                text(&o.stderr)
                    .lines()
                    .filter(|l| l.contains("migration applied"))
                    .map(str::to_owned),
            );
            lines
        })
        .collect()
}

fn instances_started_together_migrate_once(database_url: &str, fresh: impl Fn()) {
    let shared = tempfile::tempdir().unwrap();
    mlat::auth::tokens::write_new_ed25519_key(&shared.path().join("audit.pem")).unwrap();
    let dirs = migration_dirs();
    let every = dirs.len();
    for n in [2, 4] {
        fresh();
        let outputs = together(n, database_url, shared.path(), &["migrate"]);
        for o in &outputs {
            assert!(o.status.success(), "{}", text(&o.stderr));
        }
        assert_eq!(applied_in(&outputs).len(), every, "each migration once");
    }
    // Started together on a database one migration behind, each instance
    // comes up (the whole start-up), and the migration is applied once.
    fresh();
    let mut conn =
        mlat::db::conn::establish(&mlat::db::DatabaseUrl::parse(database_url).unwrap()).unwrap();
    for _ in 1..every {
        mlat::db::migrations::run_next(&mut conn).unwrap();
    }
    drop(conn);
    let outputs = together(2, database_url, shared.path(), &["deadlines", "tick"]);
    for o in &outputs {
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let applied = applied_in(&outputs);
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert!(
        applied[0].contains(&version_of(&dirs[every - 1])),
        "{applied:?}"
    );
}

#[test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
fn instances_started_together_on_postgres_migrate_once() {
    let server = postgres_server_url();
    let name = format!("mlat_together_{}", std::process::id());
    let url = crate::helpers::with_database(&server, &name);
    let fresh = || {
        let mut admin =
            mlat::db::conn::establish(&mlat::db::DatabaseUrl::parse(&server).unwrap()).unwrap();
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
    };
    instances_started_together_migrate_once(&url, fresh);
    let mut admin =
        mlat::db::conn::establish(&mlat::db::DatabaseUrl::parse(&server).unwrap()).unwrap();
    use diesel::RunQueryDsl;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .unwrap();
}

#[test]
fn instances_started_together_on_sqlite_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shared.db");
    let fresh = || {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = file.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    };
    instances_started_together_migrate_once(&file.display().to_string(), fresh);
}

#[test]
fn without_migrating_an_older_schema_is_refused_naming_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let url = mlat::db::DatabaseUrl::Sqlite(dir.path().join("mlat.db"));
    let mut conn = mlat::db::conn::establish(&url).unwrap();
    let dirs = migration_dirs();
    for _ in 1..dirs.len() {
        mlat::db::migrations::run_next(&mut conn).unwrap();
    }
    drop(conn);
    let newest = dirs.last().unwrap();
    let out = mlat(dir.path())
        .env("MLAT_MIGRATE", "false")
        .args(["serve"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let name = newest.split_once('_').unwrap().1;
    assert!(
        stderr.contains(name) && stderr.contains("mlat migrate"),
        "{stderr}"
    );
    // `mlat migrate` is the explicit step, whatever the setting.
    let migrated = mlat(dir.path())
        .env("MLAT_MIGRATE", "false")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(text(&migrated.stdout).contains(&version_of(newest)));
    let tick = mlat(dir.path())
        .env("MLAT_MIGRATE", "false")
        .args(["deadlines", "tick"])
        .output()
        .unwrap();
    assert!(tick.status.success(), "{}", text(&tick.stderr));
}

/// A plain HTTP GET on loopback: the status and the body, or `None` while
/// nothing answers.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::Read;
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        socket,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    socket.read_to_string(&mut answer).ok()?;
    let status = answer.get(9..12)?.parse().ok()?;
    Some((status, answer))
}

fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "not so after 20 s: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `serve` while another instance holds the migration lock (`hold` takes
/// it and gives it back when what it returns is dropped): alive, not ready,
/// then ready once the lock is free; on SIGTERM, not ready while it drains,
/// then gone.
fn readiness_through_a_life(
    database_url: Option<String>,
    hold: impl FnOnce() -> Box<dyn std::any::Any>,
) {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::helpers::free_port();
    let held = hold();
    let mut command = mlat(dir.path());
    if let Some(url) = &database_url {
        command.env("MLAT_DATABASE_URL", url);
    }
    let child = command
        .env("MLAT_BIND", format!("127.0.0.1:{port}"))
        .env("MLAT_SHUTDOWN_DELAY_SECS", "2")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until("alive while it waits", || {
        http_get(port, "/healthz").is_some_and(|(s, _)| s == 200)
    });
    // Long enough for the start to reach the lock and wait at it.
    std::thread::sleep(Duration::from_millis(2_500));
    let (status, body) = http_get(port, "/readyz").unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("starting"), "{body}");
    let (status, body) = http_get(port, "/api/v1/me").unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("Retry-After") || body.contains("retry-after"),
        "{body}"
    );
    drop(held);
    until("ready once the migrations are done", || {
        http_get(port, "/readyz").is_some_and(|(s, _)| s == 200)
    });
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    until("not ready while draining", || {
        http_get(port, "/readyz").is_some_and(|(s, body)| s == 503 && body.contains("draining"))
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("stops within its grace")
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("another instance is migrating the database"),
        "{stderr}"
    );
    assert!(
        stderr.contains("draining") && stderr.contains("stopped"),
        "{stderr}"
    );
}

#[test]
fn readiness_on_sqlite_waits_for_migrations_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().to_path_buf();
    readiness_through_a_life(
        Some(lock.join("shared.db").display().to_string()),
        move || {
            let file = std::fs::File::create(lock.join("shared.db.migrating")).unwrap();
            file.lock().unwrap();
            Box::new(file)
        },
    );
}

#[test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
fn readiness_on_postgres_waits_for_migrations_and_drains_on_sigterm() {
    let db = PgDatabase::create();
    let url = db.url();
    let holder = url.clone();
    readiness_through_a_life(Some(url), move || {
        let mut conn =
            mlat::db::conn::establish(&mlat::db::DatabaseUrl::parse(&holder).unwrap()).unwrap();
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT pg_advisory_lock(7243591200023)")
            .execute(&mut conn)
            .unwrap();
        // Dropping the connection ends the session, and its lock.
        Box::new(conn)
    });
    drop(db);
}
