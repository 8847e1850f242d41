//! The audit trail anchored outside the database: signed checkpoints catch
//! what an insider with write access to the database could do unseen by the
//! hash chains alone, and each side of a request holds receipts it can check
//! without the service.

use std::process::Command;

use actix_web::web;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::TestApp;
use crate::workflow::step;
use mlat::domain::anchor::{KeyRing, Receipt, verify_receipt};
use mlat::domain::audit::compute_hash;
use mlat::service::anchor::{Anchoring, Report};

backend_tests!(
    checkpoints_anchor_every_event_and_verify_says_what_is_not_yet_anchored,
    a_cut_tail_with_its_head_moved_back_is_caught_and_named,
    a_chain_rewritten_with_fresh_hashes_is_caught,
    a_deleted_middle_event_is_caught_even_when_the_chain_is_mended,
    events_swapped_in_the_log_are_caught,
    an_edited_or_foreign_checkpoint_is_refused,
    a_missing_checkpoint_is_named,
    receipts_verify_offline_and_carry_a_proof_after_the_next_checkpoint,
    a_rotated_key_signs_on_and_old_receipts_still_verify,
    two_checkpointers_at_once_sign_one_checkpoint_and_copy_it_once,
    both_sides_download_receipts_from_the_request_page,
    a_long_logs_receipts_are_proved_from_block_roots_and_a_wrong_root_changes_nothing,
);

backend_tests!(with |s: &mut mlat::config::Settings| s.audit_checkpoint_mailto = Some("auditor@audit.test.example".into());
    each_checkpoint_is_mailed_to_the_auditor,
);

impl TestApp {
    /// One checkpoint pass with `anchoring` (`None`: the app's own key), as
    /// the watcher runs it; its error in words.
    async fn checkpoint_with(
        &self,
        anchoring: Option<std::sync::Arc<Anchoring>>,
    ) -> Result<Report, String> {
        let state = self.state.clone();
        web::block(move || {
            let mut conn = state.pool.get().unwrap();
            let anchoring = anchoring.as_deref().unwrap_or(&state.anchoring);
            mlat::service::anchor::checkpoint(
                &mut conn,
                &state.writers,
                anchoring,
                mlat::time::UtcTime::now(),
                None,
            )
            .map_err(|e| mlat::error::describe(&e))
        })
        .await
        .unwrap()
    }

    /// One checkpoint pass as the watcher runs it, which succeeds.
    pub async fn checkpoint(&self) -> Report {
        self.checkpoint_with(None).await.unwrap()
    }

    fn checkpoint_file(&self) -> std::path::PathBuf {
        self.state.anchoring.file.clone()
    }

    /// The `mlat` binary against this app's database and data directory.
    fn mlat(&self) -> Command {
        let settings = &self.state.settings;
        let url = match &settings.database_url {
            mlat::db::DatabaseUrl::Sqlite(path) => path.display().to_string(),
            mlat::db::DatabaseUrl::Postgres(url) => url.clone(),
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_mlat"));
        command
            .env_clear()
            .env("MLAT_DATA_DIR", &settings.data_dir)
            .env("MLAT_DATABASE_URL", url)
            .env("MLAT_LOG", "warn");
        command
    }

    /// The rows of a chain, for rewriting as an insider would.
    async fn chain_rows(&self, chain: &str) -> Vec<mlat::repo::audit::AuditEventRow> {
        self.audit_of(chain).await
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Rewrites `rows` (a chain's events from some point on) in the database
/// with fresh, consistent hashes, and moves the chain's head to the last: the
/// hash chain alone then verifies.
async fn rewrite(app: &TestApp, rows: Vec<mlat::repo::audit::AuditEventRow>, from_prev: String) {
    let mut prev = from_prev;
    let mut last = None;
    for row in rows {
        let mut event = mlat::domain::audit::Event::from(row);
        event.prev_hash = prev.clone();
        event.hash = compute_hash(&event);
        app.sql(format!(
            "UPDATE audit_events SET seq = {}, prev_hash = {}, hash = {}, details = {} WHERE id = {}",
            event.seq,
            quoted(&event.prev_hash),
            quoted(&event.hash),
            quoted(&event.details),
            quoted(&event.id)
        ))
        .await;
        prev = event.hash.clone();
        last = Some(event);
    }
    let last = last.unwrap();
    app.sql(format!(
        "UPDATE audit_chains SET head_seq = {}, head_hash = {} WHERE chain = {}",
        last.seq,
        quoted(&last.hash),
        quoted(&last.chain)
    ))
    .await;
}

/// Asserts that a break's reason says `words`.
fn says(found: &Value, words: &str) {
    let reason = found["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(words), "{found}");
}

fn anchor_break(report: &Value) -> &Value {
    assert_eq!(report["intact"], false, "{report}");
    &report["anchoring"]["first_break"]
}

async fn checkpoints_anchor_every_event_and_verify_says_what_is_not_yet_anchored(app: &TestApp) {
    let world = app.world().await;
    let before = app.verify(&world.admin).await;
    assert_eq!(before["intact"], true);
    assert!(before["anchoring"]["latest"].is_null());
    let note = before["anchoring"]["not_yet_anchored"].as_str().unwrap();
    assert!(note.contains("not yet anchored"), "{note}");

    let first = app.checkpoint().await;
    assert_eq!(first.checkpoint, Some(1));
    assert_eq!(first.copied, 1);
    let after = app.verify(&world.admin).await;
    assert_eq!(after["intact"], true, "{after}");
    let anchoring = &after["anchoring"];
    assert_eq!(anchoring["latest"]["seq"], 1);
    assert_eq!(anchoring["anchored_events"], after["events"]);
    assert_eq!(anchoring["unanchored_events"], 0);
    assert!(anchoring["not_yet_anchored"].is_null());
    // A pass with nothing new signs nothing.
    assert_eq!(app.checkpoint().await, Report::default());

    // One more event: said plainly, with the instant of the last checkpoint.
    app.login("officer@gb.test.example").await;
    let later = app.verify(&world.admin).await;
    let issued = anchoring["latest"]["issued_at"].as_str().unwrap();
    assert_eq!(
        later["anchoring"]["not_yet_anchored"],
        format!("events after {issued} are not yet anchored (1 events)")
    );
    let second = app.checkpoint().await;
    assert_eq!((second.checkpoint, second.anchored), (Some(2), 1));
    // The file holds both, as the database does, each naming the one before.
    let text = std::fs::read_to_string(app.checkpoint_file()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["seq"], 2);
    assert_ne!(lines[1]["previous"], lines[0]["previous"]);
    let out = app.mlat().args(["audit", "verify"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("anchored:"), "{stdout}");
}

/// A preservation by the GB officer to the IE provider, transmitted and
/// preserved: the request's chain ends with the provider's confirmation.
async fn preserved(app: &TestApp) -> (crate::helpers::Network, Value) {
    let net = app.network().await;
    let r = preserved_for(app, &net.w).await;
    (net, r)
}

/// A preservation request of `w`'s officer, transmitted and preserved.
async fn preserved_for(app: &TestApp, w: &crate::helpers::World) -> Value {
    let r = crate::workflow::preservation_transmitted(app, w).await;
    step(app, &w.provider, &r, "preserve", json!({})).await
}

async fn a_cut_tail_with_its_head_moved_back_is_caught_and_named(app: &TestApp) {
    let (net, request) = preserved(app).await;
    let chain = format!("request:{}", request["id"].as_str().unwrap());
    app.checkpoint().await;
    let rows = app.chain_rows(&chain).await;
    let (last, before) = (&rows[rows.len() - 1], &rows[rows.len() - 2]);
    assert_eq!(last.action, "preserve");
    // The insider's edit: the provider's confirmation gone, the head moved back.
    app.sql(format!(
        "DELETE FROM audit_events WHERE id = {}",
        quoted(&last.id)
    ))
    .await;
    app.sql(format!(
        "UPDATE audit_chains SET head_seq = {}, head_hash = {} WHERE chain = {}",
        before.seq,
        quoted(&before.hash),
        quoted(&chain)
    ))
    .await;
    let report = app.verify(&net.w.admin).await;
    // The chains alone still verify: this is what the checkpoints add.
    assert!(report["first_break"].is_null(), "{report}");
    let found = anchor_break(&report);
    assert_eq!(found["chain"], chain.as_str());
    assert_eq!(found["seq"], last.seq);
    assert_eq!(found["checkpoint"], 1);
    says(found, "removed");
    // The command says so too, and exits 1.
    let out = app.mlat().args(["audit", "verify"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "audit trail contradicts its checkpoints (chain {chain})"
        )),
        "{stderr}"
    );
}

async fn a_chain_rewritten_with_fresh_hashes_is_caught(app: &TestApp) {
    let world = app.world().await;
    app.login("officer@gb.test.example").await;
    app.checkpoint().await;
    let chain = format!("user:{}", world.officer_id);
    let mut rows = app.chain_rows(&chain).await;
    assert!(rows.len() >= 2);
    for row in rows.iter_mut() {
        row.details = json!({"rewritten": true}).to_string();
    }
    rewrite(app, rows, mlat::domain::audit::GENESIS.to_owned()).await;
    let report = app.verify(&world.admin).await;
    assert!(
        report["first_break"].is_null(),
        "the chain itself is consistent: {report}"
    );
    let found = anchor_break(&report);
    assert_eq!(found["chain"], chain.as_str());
    says(found, "rewritten");
}

async fn a_deleted_middle_event_is_caught_even_when_the_chain_is_mended(app: &TestApp) {
    let world = app.world().await;
    app.login("officer@gb.test.example").await;
    app.login("officer@gb.test.example").await;
    app.checkpoint().await;
    let chain = format!("user:{}", world.officer_id);
    let rows = app.chain_rows(&chain).await;
    assert!(rows.len() >= 3);
    app.sql(format!(
        "DELETE FROM audit_events WHERE id = {}",
        quoted(&rows[1].id)
    ))
    .await;
    // The events after it renumbered and rehashed, so the chain verifies.
    let mut rest: Vec<_> = rows[2..].to_vec();
    for row in rest.iter_mut() {
        row.seq -= 1;
    }
    rewrite(app, rest, rows[0].hash.clone()).await;
    let report = app.verify(&world.admin).await;
    assert!(report["first_break"].is_null(), "{report}");
    let found = anchor_break(&report);
    assert_eq!(found["chain"], chain.as_str());
}

async fn events_swapped_in_the_log_are_caught(app: &TestApp) {
    let world = app.world().await;
    app.checkpoint().await;
    // Two events trade places in the log; every chain is untouched.
    app.sql("UPDATE audit_events SET log_index = -1 WHERE log_index = 3".into())
        .await;
    app.sql("UPDATE audit_events SET log_index = 3 WHERE log_index = 4".into())
        .await;
    app.sql("UPDATE audit_events SET log_index = 4 WHERE log_index = -1".into())
        .await;
    let report = app.verify(&world.admin).await;
    assert!(report["first_break"].is_null(), "{report}");
    let found = anchor_break(&report);
    assert_eq!(found["checkpoint"], 1);
    says(found, "moved");
    // Swapping two events of one chain (their places in it) is caught by the
    // chain, as before.
    app.sql("UPDATE audit_events SET log_index = -1 WHERE log_index = 4".into())
        .await;
    app.sql("UPDATE audit_events SET log_index = 4 WHERE log_index = 3".into())
        .await;
    app.sql("UPDATE audit_events SET log_index = 3 WHERE log_index = -1".into())
        .await;
    assert_eq!(app.verify(&world.admin).await["intact"], true);
}

async fn an_edited_or_foreign_checkpoint_is_refused(app: &TestApp) {
    let world = app.world().await;
    app.checkpoint().await;
    let file = app.checkpoint_file();
    let original = std::fs::read_to_string(&file).unwrap();
    // The file's copy edited: it no longer matches the database's.
    let edited = original.replacen("\"tree_size\":", "\"tree_size\":1", 1);
    std::fs::write(&file, &edited).unwrap();
    let found = anchor_break(&app.verify(&world.admin).await).clone();
    says(&found, "differs");
    // Both copies edited alike: the signature does not cover it.
    let document = edited.trim_end().to_owned();
    app.sql(format!(
        "UPDATE audit_checkpoints SET document = {}",
        quoted(&document)
    ))
    .await;
    let found = anchor_break(&app.verify(&world.admin).await).clone();
    says(&found, "does not verify");
    std::fs::write(&file, &original).unwrap();
    app.sql(format!(
        "UPDATE audit_checkpoints SET document = {}",
        quoted(original.trim_end())
    ))
    .await;
    assert_eq!(app.verify(&world.admin).await["intact"], true);

    // A checkpoint signed with a key of the insider's own (who also added
    // it to a copy of the ring).
    let dir = &app.state.settings.data_dir;
    std::fs::copy(dir.join("audit-keys.json"), dir.join("insider-ring.json")).unwrap();
    let theirs = Anchoring {
        keys: mlat::audit_keys::load(
            &app.state.settings.data_dir.join("insider.pem"),
            &app.state.settings.data_dir.join("insider-ring.json"),
            true,
        )
        .unwrap(),
        file: file.clone(),
        mailto: None,
    };
    app.login("officer@gb.test.example").await;
    // This instance refuses to follow another key's checkpoints...
    let refused = app
        .checkpoint_with(Some(std::sync::Arc::new(theirs)))
        .await
        .unwrap_err();
    assert!(refused.contains("expects key"), "{refused}");
    // ...and one slipped into both copies is refused by the published keys.
    let last: mlat::domain::anchor::Checkpoint =
        serde_json::from_str(original.lines().last().unwrap()).unwrap();
    let insider =
        mlat::audit_keys::read_signer(&app.state.settings.data_dir.join("insider.pem")).unwrap();
    let forged = insider.checkpoint(
        Some(&last),
        &mlat::domain::merkle::Frontier::default(),
        vec![],
        mlat::time::UtcTime::now(),
        None,
    );
    let line = serde_json::to_string(&forged).unwrap();
    std::fs::write(&file, format!("{original}{line}\n")).unwrap();
    app.sql(format!(
        "INSERT INTO audit_checkpoints (seq, tree_size, issued_at, document, frontier) \
         VALUES (2, 0, '2026-12-03 12:00:00', {}, '{{}}')",
        quoted(&line)
    ))
    .await;
    let found = anchor_break(&app.verify(&world.admin).await).clone();
    assert_eq!(found["checkpoint"], 2);
    says(&found, "not a published key");
}

async fn a_missing_checkpoint_is_named(app: &TestApp) {
    let world = app.world().await;
    for _ in 0..3 {
        app.login("officer@gb.test.example").await;
        app.checkpoint().await;
    }
    let file = app.checkpoint_file();
    let original = std::fs::read_to_string(&file).unwrap();
    assert_eq!(original.lines().count(), 3);
    // The last checkpoint removed from the database: the file still has it.
    app.sql("DELETE FROM audit_checkpoints WHERE seq = 3".into())
        .await;
    let found = anchor_break(&app.verify(&world.admin).await).clone();
    assert_eq!(found["checkpoint"], 3);
    says(&found, "not in the database");
    // And the checkpointer will not carry on past it.
    let refused = app.checkpoint_with(None).await.unwrap_err();
    assert!(refused.contains("removed from the database"), "{refused}");
    // The middle one removed from both copies: the sequence has a hole.
    app.sql("DELETE FROM audit_checkpoints WHERE seq = 2".into())
        .await;
    let kept: Vec<&str> = original
        .lines()
        .filter(|l| l.starts_with("{\"seq\":1,"))
        .collect();
    assert_eq!(kept.len(), 1);
    let third = original
        .lines()
        .find(|l| l.starts_with("{\"seq\":3,"))
        .unwrap();
    std::fs::write(&file, format!("{}\n{third}\n", kept[0])).unwrap();
    app.sql(format!(
        "INSERT INTO audit_checkpoints (seq, tree_size, issued_at, document, frontier) \
         VALUES (3, 0, '2026-12-03 12:00:00', {}, '{{}}')",
        quoted(third)
    ))
    .await;
    let found = anchor_break(&app.verify(&world.admin).await).clone();
    assert_eq!(found["checkpoint"], 2);
    says(&found, "checkpoint 2 is missing");
    // The last checkpoint removed from the database where no file has it
    // (an instance whose file never caught up): the log says so.
    std::fs::remove_file(&file).unwrap();
    app.sql("DELETE FROM audit_checkpoints WHERE seq >= 2".into())
        .await;
    let found = anchor_break(&app.verify(&world.admin).await).clone();
    assert_eq!(found["checkpoint"], 2);
    says(&found, "a later checkpoint was removed");
}

async fn published_keys(app: &TestApp) -> KeyRing {
    let reply = app.call("GET", "/api/v1/audit/keys", None, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    serde_json::from_value(reply.json).unwrap()
}

async fn receipts_verify_offline_and_carry_a_proof_after_the_next_checkpoint(app: &TestApp) {
    let (net, request) = preserved(app).await;
    let w = &net.w;
    let id = request["id"].as_str().unwrap();
    let list = |token: String| async move {
        let reply = app
            .get(&format!("/api/v1/requests/{id}/receipts"), &token)
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        reply.json["items"].as_array().unwrap().clone()
    };
    // Both sides hold the same receipts: the transmission and the preservation.
    let officers = list(w.officer.clone()).await;
    let providers = list(w.provider.clone()).await;
    let actions: Vec<&str> = officers
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["transmit", "preserve"]);
    assert_eq!(officers, providers);
    assert!(officers.iter().all(|i| i["anchored"] == false));
    // Nobody else's.
    app.get(&format!("/api/v1/requests/{id}/receipts"), &net.officer_de)
        .await
        .problem(404);
    let preserve_id = officers[1]["event_id"].as_str().unwrap();
    let path = format!("/api/v1/requests/{id}/receipts/{preserve_id}");
    app.get(&path, &net.officer_de).await.problem(404);
    // Not for an event that is not a receipt's.
    let trail = app
        .get(&format!("/api/v1/requests/{id}/audit"), &w.officer)
        .await;
    let created = trail.json["items"][0]["id"].as_str().unwrap().to_owned();
    app.get(
        &format!("/api/v1/requests/{id}/receipts/{created}"),
        &w.officer,
    )
    .await
    .problem(404);

    let keys = published_keys(app).await;
    let early = app.get(&path, &w.provider).await;
    assert_eq!(early.status, 200);
    assert!(
        early
            .header("content-disposition")
            .unwrap()
            .contains("attachment"),
        "a file to keep"
    );
    let early: Receipt = serde_json::from_value(early.json).unwrap();
    assert!(early.inclusion.is_none());
    assert_eq!(verify_receipt(&early, &keys).unwrap().anchored_by, None);

    app.checkpoint().await;
    assert!(
        list(w.officer.clone())
            .await
            .iter()
            .all(|i| i["anchored"] == true)
    );
    let reply = app.get(&path, &w.officer).await;
    let receipt: Receipt = serde_json::from_value(reply.json.clone()).unwrap();
    let inclusion = receipt.inclusion.as_ref().expect("an inclusion proof");
    assert_eq!(inclusion.checkpoint.seq, 1);
    assert_eq!(
        verify_receipt(&receipt, &keys)
            .unwrap()
            .anchored_by
            .unwrap()
            .0,
        1
    );
    // The receipt signed before the checkpoint is still good.
    assert!(verify_receipt(&early, &keys).is_ok());

    // Offline, with the command and the published keys.
    let dir = tempfile::tempdir().unwrap();
    let (receipt_file, keys_file) = (
        dir.path().join("receipt.json"),
        dir.path().join("keys.json"),
    );
    std::fs::write(
        &receipt_file,
        serde_json::to_string_pretty(&reply.json).unwrap(),
    )
    .unwrap();
    std::fs::write(&keys_file, serde_json::to_string(&keys).unwrap()).unwrap();
    let check = |file: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_mlat"))
            .env_clear()
            .env("MLAT_DATA_DIR", dir.path().join("nothing-here"))
            .args(["audit", "verify-receipt"])
            .arg(file)
            .arg("--keys")
            .arg(&keys_file)
            .output()
            .unwrap()
    };
    let out = check(&receipt_file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("receipt valid: `preserve`"), "{stdout}");
    assert!(stdout.contains("in the log of checkpoint 1"), "{stdout}");
    // One byte changed: refused.
    let text = std::fs::read_to_string(&receipt_file).unwrap();
    let at = text.find("\"occurred_at\": \"").unwrap() + "\"occurred_at\": \"20".len();
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'9' { b'8' } else { b'9' };
    let altered = dir.path().join("altered.json");
    std::fs::write(&altered, bytes).unwrap();
    let out = check(&altered);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("receipt refused"));
}

async fn a_rotated_key_signs_on_and_old_receipts_still_verify(app: &TestApp) {
    let (net, request) = preserved(app).await;
    let id = request["id"].as_str().unwrap();
    app.checkpoint().await;
    let items = app
        .get(&format!("/api/v1/requests/{id}/receipts"), &net.w.officer)
        .await;
    let event = items.json["items"][0]["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .get(
            &format!("/api/v1/requests/{id}/receipts/{event}"),
            &net.w.officer,
        )
        .await;
    let old_receipt: Receipt = serde_json::from_value(reply.json).unwrap();
    let old_key = app.state.anchoring.keys.signer.key_id().to_owned();

    let out = app.mlat().args(["audit", "rotate-key"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("hands over from key {old_key}")),
        "{stdout}"
    );

    // The instance still on the old key may not sign after the handover.
    app.login("officer@gb.test.example").await;
    let refused = app.checkpoint_with(None).await.unwrap_err();
    assert!(refused.contains("expects key"), "{refused}");
    // Restarted with the new key (as each instance is), it signs on.
    let renewed = std::sync::Arc::new(Anchoring::from_settings(&app.state.settings).unwrap());
    let new_key = renewed.keys.signer.key_id().to_owned();
    assert_ne!(new_key, old_key);
    let statuses: Vec<(String, String)> = renewed
        .keys
        .ring
        .keys
        .iter()
        .map(|k| {
            (
                k.key_id.clone(),
                serde_json::to_value(k.status)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (old_key.clone(), "retired".into()),
            (new_key.clone(), "current".into())
        ]
    );
    let report = app.checkpoint_with(Some(renewed.clone())).await.unwrap();
    assert_eq!(report.checkpoint, Some(3), "checkpoint 2 handed over");
    let state = app.state.clone();
    let check = renewed.clone();
    let verification = web::block(move || {
        let mut conn = state.pool.get().unwrap();
        mlat::service::anchor::verify(&mut conn, &check).unwrap()
    })
    .await
    .unwrap();
    assert!(verification.intact, "{:?}", verification.lines());
    let latest = verification.anchoring.latest.unwrap();
    assert_eq!((latest.seq, latest.key_id), (3, new_key));
    // A receipt the old key signed verifies with the ring as it is now.
    let found = verify_receipt(&old_receipt, &renewed.keys.ring).unwrap();
    assert_eq!(found.anchored_by.unwrap().0, 1);
}

async fn each_checkpoint_is_mailed_to_the_auditor(app: &TestApp) {
    app.world().await;
    app.checkpoint().await;
    let state = app.state.clone();
    let queued = web::block(move || {
        let mut conn = state.pool.get().unwrap();
        mlat::service::outbox::in_status(
            &mut conn,
            mlat::domain::messages::MessageStatus::Pending,
            500,
        )
        .unwrap()
    })
    .await
    .unwrap();
    let mailed: Vec<_> = queued
        .iter()
        .filter(|m| m.kind == mlat::domain::messages::MessageKind::AuditCheckpoint)
        .collect();
    assert_eq!(mailed.len(), 1);
    assert_eq!(mailed[0].recipient_email, "auditor@audit.test.example");
    let line = std::fs::read_to_string(app.checkpoint_file()).unwrap();
    assert!(
        mailed[0].body.contains(line.trim_end()),
        "the same signed document"
    );
}

async fn two_checkpointers_at_once_sign_one_checkpoint_and_copy_it_once(app: &TestApp) {
    let world = app.world().await;
    let (a, b) = futures_util::future::join(app.checkpoint(), app.checkpoint()).await;
    let signed: Vec<i64> = [a.checkpoint, b.checkpoint].into_iter().flatten().collect();
    assert_eq!(signed, [1]);
    assert_eq!(a.copied + b.copied, 1);
    let text = std::fs::read_to_string(app.checkpoint_file()).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert_eq!(app.verify(&world.admin).await["intact"], true);
}

async fn both_sides_download_receipts_from_the_request_page(app: &TestApp) {
    let (net, request) = preserved(app).await;
    let id = request["id"].as_str().unwrap();
    app.checkpoint().await;
    let keys = published_keys(app).await;
    for email in ["officer@gb.test.example", "provider@ie.test.example"] {
        let mut browser = crate::portal::Browser::new(app);
        let signed = browser
            .sign_in(email, crate::helpers::PASSWORD, "%2F")
            .await;
        assert_eq!(signed.status, 303, "{}", signed.body);
        let page = browser.get(&format!("/requests/{id}")).await;
        assert_eq!(page.status, 200);
        let receipts = crate::portal::section(&page.body, "<h2 id=\"receipts\">", "</table>");
        assert!(receipts.contains("Request transmitted"), "{receipts}");
        assert!(receipts.contains("Preservation confirmed"), "{receipts}");
        assert!(
            receipts.contains("Yes: the receipt carries its proof"),
            "{receipts}"
        );
        let marker = format!("href=\"/requests/{id}/receipts/");
        let start = receipts.rfind(&marker).expect("a download link") + "href=\"".len();
        let link = &receipts[start..start + receipts[start..].find('"').unwrap()];
        let file = browser.get(link).await;
        assert_eq!(file.status, 200, "{}", file.body);
        assert!(file.header("content-disposition").starts_with("attachment"));
        let receipt: Receipt = serde_json::from_str(&file.body).unwrap();
        assert_eq!(receipt.event.action, "preserve");
        assert_eq!(
            verify_receipt(&receipt, &keys)
                .unwrap()
                .anchored_by
                .unwrap()
                .0,
            1
        );
    }
    // Another agency's officer finds no such page, nor its receipts.
    let mut other = crate::portal::Browser::new(app);
    other
        .sign_in("officer@de.test.example", crate::helpers::PASSWORD, "%2F")
        .await;
    let page = other.get(&format!("/requests/{id}")).await;
    assert_eq!(page.status, 404);
    let trail = app
        .get(&format!("/api/v1/requests/{id}/receipts"), &net.w.officer)
        .await;
    let event = trail.json["items"][1]["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = other.get(&format!("/requests/{id}/receipts/{event}")).await;
    assert_eq!(refused.status, 404);
    assert!(!refused.body.contains("mlat-audit-receipt"));
}

/// Runs `sql` on the app's database.
async fn execute(app: &TestApp, sql: &'static str) -> usize {
    let state = app.state.clone();
    web::block(move || {
        let mut conn = state.pool.get().unwrap();
        diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn).unwrap()
    })
    .await
    .unwrap()
}

/// A receipt for an event that happened after a whole block of the log: the
/// request's preservation, after more events than a block holds.
async fn a_receipt_past_the_first_block(app: &TestApp) -> (Receipt, String, String) {
    let net = app.network().await;
    let w = &net.w;
    let state = app.state.clone();
    web::block(move || {
        let mut conn = state.pool.get().unwrap();
        mlat::db::write_tx(&mut conn, |conn| {
            for n in 0..mlat::domain::merkle::BLOCK + 100 {
                mlat::repo::audit::append(
                    conn,
                    mlat::repo::audit::NewEvent {
                        chain: mlat::domain::audit::SYSTEM_CHAIN.to_owned(),
                        actor: &mlat::domain::audit::Actor::system(),
                        action: "filler",
                        object_type: "test",
                        object_id: None,
                        request_id: None,
                        details: json!({ "n": n }),
                    },
                )?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    })
    .await
    .unwrap();
    let r = preserved_for(app, w).await;
    let report = app.checkpoint().await;
    assert_eq!(report.checkpoint, Some(1));
    assert!(report.anchored > mlat::domain::merkle::BLOCK as usize);
    let id = r["id"].as_str().unwrap();
    let receipts = app
        .get(&format!("/api/v1/requests/{id}/receipts"), &w.officer)
        .await;
    let preserve_id = receipts.json["items"][1]["event_id"].as_str().unwrap();
    let path = format!("/api/v1/requests/{id}/receipts/{preserve_id}");
    let receipt: Receipt = serde_json::from_value(app.get(&path, &w.provider).await.json).unwrap();
    (receipt, path, w.provider.clone())
}

/// With more events than a block holds, the checkpointer stores the
/// complete block's root, and a later event's proof is made from it: it
/// verifies even with the block's events out of reach. A stored root edited
/// behind mlat's back does not give a wrong receipt: the proof is checked
/// against the signed root and made from every leaf instead.
async fn a_long_logs_receipts_are_proved_from_block_roots_and_a_wrong_root_changes_nothing(
    app: &TestApp,
) {
    let (receipt, path, provider) = a_receipt_past_the_first_block(app).await;
    let block = mlat::domain::merkle::BLOCK as i64;
    let state = app.state.clone();
    let stored = web::block(move || {
        let mut conn = state.pool.get().unwrap();
        let roots = mlat::repo::anchor::block_roots(&mut conn, i64::MAX).unwrap();
        let leaves = mlat::repo::anchor::log_hashes(&mut conn, block)
            .unwrap()
            .iter()
            .map(|(_, h)| mlat::domain::anchor::leaf_of(h).unwrap())
            .collect::<Vec<_>>();
        (
            roots,
            mlat::domain::evidence::hex(&mlat::domain::merkle::root(&leaves)),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        stored.0,
        vec![(0, stored.1)],
        "the one complete block's root"
    );
    let keys = published_keys(app).await;
    let inclusion = receipt.inclusion.as_ref().expect("an inclusion proof");
    assert!(inclusion.log_index >= block, "after the complete block");
    assert_eq!(
        verify_receipt(&receipt, &keys)
            .unwrap()
            .anchored_by
            .unwrap()
            .0,
        1
    );
    let fetch = async || -> Receipt {
        serde_json::from_value(app.get(&path, &provider).await.json).unwrap()
    };

    // The first block's events moved out of the log's reach: the proof
    // needs only their stored root.
    let moved = execute(
        app,
        "UPDATE audit_events SET log_index = log_index + 1000000 WHERE log_index < 1024",
    )
    .await;
    assert_eq!(moved, 1024);
    let from_root = fetch().await;
    assert_eq!(from_root.inclusion.as_ref().unwrap().proof, inclusion.proof);
    execute(
        app,
        "UPDATE audit_events SET log_index = log_index - 1000000 WHERE log_index >= 1000000",
    )
    .await;

    // A wrong stored root: the same proof, from every leaf.
    assert_eq!(
        execute(
            app,
            "UPDATE audit_log_blocks SET root = \
             '0000000000000000000000000000000000000000000000000000000000000000'"
        )
        .await,
        1
    );
    let despite = fetch().await;
    assert!(verify_receipt(&despite, &keys).is_ok());
    assert_eq!(despite.inclusion.unwrap().proof, inclusion.proof);
}
