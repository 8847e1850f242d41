//! Evidence: delivered by the responder, downloaded intact by those who may,
//! every access in the custody record, tampering detected.

use std::io::Write;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::backend_tests;
use crate::helpers::{Reply, TestApp};
use crate::workflow::{create, open_case, preservation, step};

// A file of several of a download's reads, above the tests' usual limit.
backend_tests!(with |s: &mut mlat::config::Settings| s.evidence_max_bytes = 4 << 20;
    tampering_on_disk_is_caught_by_download_and_by_verify,
);

// A stop gives requests in flight one second.
backend_tests!(with |s: &mut mlat::config::Settings| s.shutdown_grace = std::time::Duration::from_secs(1);
    an_upload_cut_by_a_stop_is_never_acknowledged_and_leaves_nothing,
);

backend_tests!(
    a_provider_delivers_and_only_the_right_people_download_exactly_those_bytes,
    bad_digests_oversize_and_aborted_uploads_keep_nothing,
    the_data_directory_and_its_files_are_private,
    parallel_uploads_never_pass_the_allowance_and_empty_files_are_refused,
    fulfilling_needs_evidence_or_a_no_data_statement,
);

pub fn digest_of(bytes: &[u8]) -> String {
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
    )
}

/// Uploads `bytes` as evidence of `request`.
pub async fn upload(
    app: &TestApp,
    token: &str,
    request: &Value,
    bytes: Vec<u8>,
    digest: Option<String>,
) -> Reply {
    let mut req = app
        .client
        .post(app.url(&format!(
            "/api/v1/requests/{}/evidence",
            request["id"].as_str().unwrap()
        )))
        .bearer_auth(token)
        .insert_header(("content-type", "application/zip"))
        .insert_header((
            "content-disposition",
            "attachment; filename=\"../subscriber-records.zip\"",
        ));
    if let Some(digest) = digest {
        req = req.insert_header(("repr-digest", digest));
    }
    let mut response = req.send_body(bytes).await.expect("the server answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.body().await.unwrap();
    Reply {
        status,
        headers,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

async fn download(
    app: &TestApp,
    token: &str,
    evidence_id: &str,
) -> (u16, Option<String>, Result<Vec<u8>, String>) {
    let mut response = app
        .client
        .get(app.url(&format!("/api/v1/evidence/{evidence_id}/content")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let digest = response
        .headers()
        .get("repr-digest")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response
        .body()
        .limit(10 << 20)
        .await
        .map(|b| b.to_vec())
        .map_err(|e| e.to_string());
    (response.status().as_u16(), digest, body)
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn transmitted(app: &TestApp) -> (crate::helpers::Network, Value) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let r = create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let r = step(app, &w.officer, &r, "submit", json!({})).await;
    let r = step(app, &w.ca, &r, "approve", json!({})).await;
    let r = step(app, &w.officer, &r, "transmit", json!({})).await;
    (net, r)
}

fn stored_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    let root = app.state.settings.data_dir.join("evidence");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

async fn a_provider_delivers_and_only_the_right_people_download_exactly_those_bytes(app: &TestApp) {
    let (net, r) = transmitted(app).await;
    let w = &net.w;
    let content = bytes(300_000, 7);
    let reply = upload(
        app,
        &w.provider,
        &r,
        content.clone(),
        Some(digest_of(&content)),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(reply.json["size"], 300_000);
    assert_eq!(reply.json["filename"], "subscriber-records.zip");
    assert_eq!(reply.json["media_type"], "application/zip");
    let id = reply.json["id"].as_str().unwrap().to_owned();
    // The same bytes again: a second delivery, one stored file.
    assert_eq!(
        upload(app, &w.provider, &r, content.clone(), None)
            .await
            .status,
        201
    );
    assert_eq!(stored_files(app).len(), 1);

    let list_path = format!("/api/v1/requests/{}/evidence", r["id"].as_str().unwrap());
    for token in [&w.officer, &w.ca, &w.provider] {
        let list = app.get(&list_path, token).await;
        assert_eq!(
            list.json["items"].as_array().unwrap().len(),
            2,
            "{:?}",
            list.json
        );
        let (status, digest, body) = download(app, token, &id).await;
        assert_eq!(status, 200);
        assert_eq!(digest, Some(digest_of(&content)));
        assert_eq!(body.unwrap(), content, "exactly those bytes");
    }
    for token in [
        &net.provider_nl,
        &net.officer_b,
        &net.officer_de,
        &net.ca_de,
        &w.admin,
    ] {
        app.get(&list_path, token).await.problem(404);
        assert_eq!(download(app, token, &id).await.0, 404);
    }
    // Only the responder delivers.
    upload(app, &w.officer, &r, b"x".to_vec(), None)
        .await
        .problem(403);
    upload(app, &net.provider_nl, &r, b"x".to_vec(), None)
        .await
        .problem(404);

    // The custody record: who uploaded and downloaded what, with its hash.
    let trail = app
        .get(
            &format!("/api/v1/requests/{}/audit", r["id"].as_str().unwrap()),
            &w.officer,
        )
        .await
        .json;
    let events: Vec<&Value> = trail["items"].as_array().unwrap().iter().collect();
    let count = |action: &str| events.iter().filter(|e| e["action"] == action).count();
    assert_eq!(count("evidence_uploaded"), 2);
    assert_eq!(count("evidence_downloaded"), 3);
    let sha = reply.json["sha256"].as_str().unwrap();
    // Who uploaded it, by name as well as by id.
    assert_eq!(
        reply.json["uploaded_by_name"], "Test Person",
        "{:?}",
        reply.json
    );
    assert!(
        events
            .iter()
            .filter(|e| e["action"] == "evidence_downloaded")
            .all(|e| e["details"]["sha256"] == sha)
    );
}

async fn bad_digests_oversize_and_aborted_uploads_keep_nothing(app: &TestApp) {
    let (net, r) = transmitted(app).await;
    let w = &net.w;
    let content = bytes(10_000, 1);
    let wrong = upload(
        app,
        &w.provider,
        &r,
        content.clone(),
        Some(digest_of(b"something else")),
    )
    .await;
    assert_eq!(wrong.fields(), ["Repr-Digest"]);
    // The test limit is 1 MiB per file and per request.
    let reply = upload(app, &w.provider, &r, bytes(1024 * 1024 + 1, 2), None).await;
    reply.problem(413);
    // An upload cut off half way.
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut socket = std::net::TcpStream::connect(&address).unwrap();
    write!(
        socket,
        "POST /api/v1/requests/{}/evidence HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nContent-Type: application/zip\r\nContent-Length: 50000\r\n\r\n",
        r["id"].as_str().unwrap(),
        w.provider
    )
    .unwrap();
    socket.write_all(&bytes(20_000, 3)).unwrap();
    // The server is receiving it into a temporary file, which goes once the
    // server has seen the cut.
    let temporary = app.state.settings.data_dir.join("evidence").join("tmp");
    let in_tmp = || std::fs::read_dir(&temporary).map_or(0, |d| d.count());
    crate::helpers::eventually("the upload is being received", async || {
        (in_tmp() == 1).then_some(())
    })
    .await;
    drop(socket);
    crate::helpers::eventually("the cut upload left no temporary file", async || {
        (in_tmp() == 0).then_some(())
    })
    .await;
    let list = app
        .get(
            &format!("/api/v1/requests/{}/evidence", r["id"].as_str().unwrap()),
            &w.officer,
        )
        .await;
    assert_eq!(list.json["items"], json!([]));
    assert!(stored_files(app).is_empty(), "{:?}", stored_files(app));
    // Over the per-request allowance across files.
    assert_eq!(
        upload(app, &w.provider, &r, bytes(800_000, 4), None)
            .await
            .status,
        201
    );
    upload(app, &w.provider, &r, bytes(300_000, 5), None)
        .await
        .problem(413);
}

/// A download read off the socket as it arrives: the status code, the
/// announced `Content-Length`, and the body bytes received before the server
/// closed the connection.
async fn raw_download(app: &TestApp, token: &str, evidence_id: &str) -> (u16, usize, Vec<u8>) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let request = format!(
        "GET /api/v1/evidence/{evidence_id}/content HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    let raw = actix_web::web::block(move || {
        use std::io::Read;
        let mut socket = std::net::TcpStream::connect(&address).unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        socket.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        let mut buffer = [0u8; 65536];
        // A reset or an early close ends the read; keep what arrived.
        while let Ok(n) = socket.read(&mut buffer) {
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buffer[..n]);
        }
        raw
    })
    .await
    .unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let status = head[9..12].parse().unwrap();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    (status, length, raw[split + 4..].to_vec())
}

async fn tampering_on_disk_is_caught_by_download_and_by_verify(app: &TestApp) {
    let (net, r) = transmitted(app).await;
    let w = &net.w;
    // Several of a download's reads (16 segments of 64 KiB each).
    let content = bytes(2_600_000, 9);
    let reply = upload(app, &w.provider, &r, content.clone(), None).await;
    let id = reply.json["id"].as_str().unwrap().to_owned();
    let files = stored_files(app);
    assert_eq!(files.len(), 1);
    let stored = std::fs::read(&files[0]).unwrap();
    // Sealed at rest: no run of the plaintext is on disk.
    assert!(!stored.windows(64).any(|w| w == &content[1000..1064]));
    // Intact, it arrives whole.
    let (status, length, body) = raw_download(app, &w.officer, &id).await;
    assert_eq!((status, length), (200, content.len()));
    assert_eq!(body, content);
    // A byte flipped at the start, in the middle or at the very end: the
    // client gets an error (fewer bytes than announced), never the whole file.
    for at in [0, 1_300_000, content.len() - 1] {
        let mut altered = stored.clone();
        altered[at] ^= 0x01;
        std::fs::write(&files[0], &altered).unwrap();
        let (status, length, body) = raw_download(app, &w.officer, &id).await;
        assert_eq!((status, length), (200, content.len()), "byte {at}");
        assert!(
            body.len() < content.len(),
            "byte {at}: {} of {} bytes arrived",
            body.len(),
            content.len()
        );
        // curl, as an officer would use it, fails ("transfer closed with
        // bytes remaining") and leaves a short file.
        let (url, token) = (
            app.url(&format!("/api/v1/evidence/{id}/content")),
            w.officer.clone(),
        );
        let out = std::env::temp_dir().join(format!("mlat-tampered-{}-{at}", std::process::id()));
        let saved = out.clone();
        let code = actix_web::web::block(move || {
            std::process::Command::new("curl")
                .args(["-sS", "-o"])
                .arg(&saved)
                .args(["-H", &format!("authorization: Bearer {token}"), &url])
                .status()
                .unwrap()
                .code()
        })
        .await
        .unwrap();
        assert_ne!(code, Some(0), "byte {at}: curl must fail");
        assert!(std::fs::metadata(&out).map_or(0, |m| m.len()) < content.len() as u64);
        let _ = std::fs::remove_file(&out);
    }
    std::fs::write(&files[0], {
        let mut altered = stored.clone();
        altered[150_000] ^= 0x01;
        altered
    })
    .unwrap();
    let audit = format!("/api/v1/requests/{}/audit", r["id"].as_str().unwrap());
    crate::helpers::eventually(
        "the audit trail records the integrity failure",
        async || {
            let trail = app.get(&audit, &w.officer).await.json;
            trail["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "evidence_integrity_failure")
                .then_some(())
        },
    )
    .await;

    // `mlat evidence verify` on the same database and store.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mlat"));
    command
        .env_clear()
        .env("MLAT_DATA_DIR", &app.state.settings.data_dir)
        .env("MLAT_DATABASE_URL", database_url(app))
        .args(["evidence", "verify"]);
    let out = command.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(reply.json["sha256"].as_str().unwrap()) && stdout.contains("altered"),
        "{stdout}"
    );
    // A file an older version stored in the clear still verifies, is named as
    // such, and `mlat evidence encrypt` seals it.
    std::fs::write(&files[0], &content).unwrap();
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("1 files are stored in the clear"),
        "{stdout}"
    );
    let mut encrypt = std::process::Command::new(env!("CARGO_BIN_EXE_mlat"));
    encrypt
        .env_clear()
        .env("MLAT_DATA_DIR", &app.state.settings.data_dir)
        .env("MLAT_DATABASE_URL", database_url(app))
        .args(["evidence", "encrypt"]);
    let out = encrypt.output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sealed 1 files"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let on_disk = std::fs::read(&files[0]).unwrap();
    assert!(!on_disk.windows(64).any(|w| w == &content[1000..1064]));
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("evidence store intact") && !stdout.contains("clear"),
        "{stdout}"
    );
    let (_, _, body) = raw_download(app, &w.officer, &id).await;
    assert_eq!(body, content);

    std::fs::remove_file(&files[0]).unwrap();
    let out = command.output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("missing"));
}

fn database_url(app: &TestApp) -> String {
    match &app.state.settings.database_url {
        mlat::db::DatabaseUrl::Sqlite(path) => path.display().to_string(),
        mlat::db::DatabaseUrl::Postgres(url) => url.clone(),
    }
}

async fn fulfilling_needs_evidence_or_a_no_data_statement(app: &TestApp) {
    let net = app.network().await;
    let (officer, ca, provider) = (&net.officer_de, &net.ca_de, &net.w.provider);
    let case_id = open_case(app, officer).await;
    let body = json!({
        "case_id": case_id, "kind": "production", "legal_basis": "eu-epoc",
        "responder_id": net.w.ie_provider, "data_categories": ["subscriber"],
        "identifiers": [{"type": "account", "value": "some_account"}],
        "facts": "Extortion of a minor.", "necessity": "Identify the offender.",
        "relevance": "The account made the threats."
    });
    let r = create(app, officer, body).await;
    let r = step(app, officer, &r, "submit", json!({})).await;
    let r = step(app, ca, &r, "approve", json!({})).await;
    let r = step(app, officer, &r, "transmit", json!({})).await;
    let id = r["id"].as_str().unwrap();
    let refused = app
        .post(
            &format!("/api/v1/requests/{id}/fulfil"),
            Some(provider),
            json!({"version": r["version"]}),
        )
        .await;
    assert_eq!(refused.fields(), ["no_data"]);
    let uploaded = upload(app, provider, &r, b"subscriber: J. Doe".to_vec(), None).await;
    assert_eq!(uploaded.status, 201);
    let done = step(app, provider, &r, "fulfil", json!({})).await;
    assert_eq!(done["response"]["fulfilled"]["evidence_items"], 1);
    // After the answer, no more deliveries.
    upload(app, provider, &done, b"late".to_vec(), None)
        .await
        .problem(409);
}

/// Reads a `/proc/<pid>/status` field in kB.
fn proc_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The real server in its own process, so that its memory is measured alone:
/// 200 MiB streamed in, the peak resident set stays far below it.
#[test]
fn a_200_mib_upload_keeps_the_server_memory_bounded() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mlat = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mlat"));
        c.env_clear()
            .env("MLAT_DATA_DIR", dir.path())
            .env("MLAT_LOG", "info")
            .env("MLAT_WATCH_INTERVAL_SECS", "0")
            .env("MLAT_MAIL_INTERVAL_SECS", "0")
            .env("MLAT_EVIDENCE_MAX_BYTES", "300000000");
        c
    };
    let demo = mlat().arg("demo").output().unwrap();
    let accounts = String::from_utf8_lossy(&demo.stdout).into_owned();
    // Each account's password and second-factor key, as the demo prints them.
    let password = |email: &str| {
        accounts
            .lines()
            .find_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (w.get(1) == Some(&email)).then(|| (w[2].to_owned(), w[3].to_owned()))
            })
            .unwrap()
    };
    let mut child = mlat()
        .env("MLAT_BIND", "127.0.0.1:0")
        .arg("serve")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().expect("the server starts").unwrap();
        if let Some(p) = line.split("port=").nth(1) {
            break p.trim().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let credentials = [
        (
            "officer@gb-police.demo.test",
            password("officer@gb-police.demo.test"),
        ),
        ("ca@gb-ca.demo.test", password("ca@gb-ca.demo.test")),
        (
            "legal@chatterbox.demo.test",
            password("legal@chatterbox.demo.test"),
        ),
    ];
    let before_kb = proc_kb(child.id(), "VmRSS:");
    let size = 200 * 1024 * 1024;
    let uploaded = actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::builder()
            .timeout(std::time::Duration::from_secs(300))
            .finish();
        let mut tokens = Vec::new();
        for (email, (password, key)) in &credentials {
            let mut r = client
                .post(format!("{base}/auth/login"))
                .send_json(&json!({"email": email, "password": password}))
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            let code = crate::helpers::authenticator_code(key);
            let mut r = client
                .post(format!("{base}/auth/login/mfa"))
                .send_json(&json!({"challenge": v["challenge"], "code": code}))
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            tokens.push(v["access_token"].as_str().unwrap().to_owned());
        }
        let call = |method: &str, path: &str, token: &str, body: Value| {
            let req = client
                .request(
                    awc::http::Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("{base}{path}"),
                )
                .bearer_auth(token);
            async move {
                let mut r = req.send_json(&body).await.unwrap();
                let v: Value = r.json().limit(1 << 20).await.unwrap();
                v
            }
        };
        let me = {
            let mut r = client
                .get(format!("{base}/me"))
                .bearer_auth(&tokens[2])
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        };
        let provider_id = me["organisation"]["id"].as_str().unwrap().to_owned();
        let case = call(
            "POST",
            "/cases",
            &tokens[0],
            crate::cases::case_body("BIG-FILE"),
        )
        .await;
        let mut body = preservation(case["id"].as_str(), &provider_id);
        body["identifiers"] = json!([{"type": "account", "value": "big"}]);
        let r = call("POST", "/requests", &tokens[0], body).await;
        let id = r["id"].as_str().unwrap().to_owned();
        let r = call(
            "POST",
            &format!("/requests/{id}/submit"),
            &tokens[0],
            json!({"version": r["version"]}),
        )
        .await;
        let r = call(
            "POST",
            &format!("/requests/{id}/approve"),
            &tokens[1],
            json!({"version": r["version"]}),
        )
        .await;
        let r = call(
            "POST",
            &format!("/requests/{id}/transmit"),
            &tokens[0],
            json!({"version": r["version"]}),
        )
        .await;
        assert_eq!(r["status"], "transmitted");
        let chunks =
            futures_util::stream::iter((0..200u32).map(|i| {
                Ok::<_, std::io::Error>(actix_web::web::Bytes::from(vec![i as u8; 1 << 20]))
            }));
        let mut response = client
            .post(format!("{base}/requests/{id}/evidence"))
            .bearer_auth(&tokens[2])
            .insert_header(("content-type", "application/octet-stream"))
            .send_stream(chunks)
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()
    });
    let peak_kb = proc_kb(child.id(), "VmHWM:");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(uploaded["size"], size);
    eprintln!(
        "server resident set: {before_kb} kB before, peak {peak_kb} kB for a {size}-byte upload"
    );
    assert!(
        peak_kb < 100 * 1024,
        "peak {peak_kb} kB: the upload was held in memory"
    );
}

/// Evidence is often abuse material: nobody but the service's own user may read
/// the data directory, the database, or a stored file.
async fn the_data_directory_and_its_files_are_private(app: &TestApp) {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let (net, r) = transmitted(app).await;
    upload(app, &net.w.provider, &r, bytes(1000, 7), None).await;
    let dir = &app.state.settings.data_dir;
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    assert_eq!(mode(&dir.join("evidence")), 0o700);
    let files = stored_files(app);
    assert_eq!(files.len(), 1);
    assert_eq!(mode(&files[0]), 0o600);
    assert_eq!(mode(files[0].parent().unwrap()), 0o700);
    if let mlat::db::DatabaseUrl::Sqlite(path) = &app.state.settings.database_url {
        assert_eq!(mode(path), 0o600, "{}", path.display());
    }
}

/// Three uploads of 700 KB at once against an allowance of 1 MiB per request:
/// whatever order they finish in, one is kept and the others are refused, and
/// the store holds no more than the allowance.
async fn parallel_uploads_never_pass_the_allowance_and_empty_files_are_refused(app: &TestApp) {
    let (net, r) = transmitted(app).await;
    let w = &net.w;
    let (a, b, c) = futures_util::future::join3(
        upload(app, &w.provider, &r, bytes(700_000, 21), None),
        upload(app, &w.provider, &r, bytes(700_000, 22), None),
        upload(app, &w.provider, &r, bytes(700_000, 23), None),
    )
    .await;
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16(), c.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 413, 413]);
    let list = app
        .get(
            &format!("/api/v1/requests/{}/evidence", r["id"].as_str().unwrap()),
            &w.officer,
        )
        .await;
    let kept: i64 = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["size"].as_i64().unwrap())
        .sum();
    assert_eq!(kept, 700_000);
    assert_eq!(stored_files(app).len(), 1);
    // An empty file is no evidence.
    let empty = upload(app, &w.provider, &r, Vec::new(), None).await;
    assert_eq!(empty.fields(), ["body"]);
    assert_eq!(stored_files(app).len(), 1);
}

async fn an_upload_cut_by_a_stop_is_never_acknowledged_and_leaves_nothing(app: &TestApp) {
    let (net, r) = transmitted(app).await;
    let w = &net.w;
    let address = app.address.trim_start_matches("http://").to_owned();
    let path = format!("/api/v1/requests/{}/evidence", r["id"].as_str().unwrap());
    let token = w.provider.clone();
    // A slow upload: never idle long enough to be cut as stalled, far from
    // done when the stop comes.
    let answer = actix_web::web::block(move || {
        use std::io::Read;
        let mut socket = std::net::TcpStream::connect(&address).unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        write!(
            socket,
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/zip\r\nContent-Length: 900000\r\n\r\n"
        )
        .unwrap();
        for _ in 0..100 {
            if socket.write_all(&[7u8; 4096]).is_err() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let mut answer = Vec::new();
        let _ = socket.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    });
    let temporary = app.state.settings.data_dir.join("evidence").join("tmp");
    let in_tmp = || std::fs::read_dir(&temporary).map_or(0, |d| d.count());
    crate::helpers::eventually("the upload is being received", async || {
        (in_tmp() == 1).then_some(())
    })
    .await;
    // The stop `serve` makes on SIGTERM, with a one-second grace.
    let started = std::time::Instant::now();
    app.stop().await;
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(4),
        "stopped after {took:?}"
    );
    let answer = answer.await.unwrap();
    assert!(!answer.starts_with("HTTP/1.1 201"), "{answer}");
    crate::helpers::eventually("the cut upload left no temporary file", async || {
        (in_tmp() == 0).then_some(())
    })
    .await;
    let state = app.state.clone();
    let id = r["id"].as_str().unwrap().to_owned();
    let stored = actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        mlat::repo::evidence::for_request(&mut conn, &id)
            .unwrap()
            .len()
    })
    .await
    .unwrap();
    assert_eq!(stored, 0, "nothing recorded for bytes that were not stored");
}
