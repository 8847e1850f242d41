//! The deadline watcher with an injected clock: reminders once per mark, misses
//! noticed once, lapsed preservations expired, two watchers racing.

use actix_web::web;
use chrono::{DateTime, TimeDelta, Utc};
use mlat::domain::messages::MessageKind;
use mlat::service::watcher::{self, Report};
use mlat::time::UtcTime;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::TestApp;
use crate::workflow::{create, emergency_order, open_case, preservation, step};

backend_tests!(
    reminders_go_once_per_mark_and_a_lapsed_preservation_expires,
    two_watchers_racing_queue_each_message_once,
    the_server_runs_the_watcher_on_its_own,
    without_smtp_mail_is_written_as_eml_files,
    the_sender_and_the_watcher_write_in_turn,
    reminders_reach_whoever_owes_the_step_once_even_from_two_watchers,
);

/// A preservation by the GB officer to the IE provider, submitted: its
/// approval clock runs and the central authority has a message waiting.
async fn submitted_preservation(app: &TestApp) -> Value {
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    let r = create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    step(app, &w.officer, &r, "submit", json!({})).await
}

/// The background jobs write from a blocking thread, outside `AppState::write`;
/// they still queue with every other change (`db::writers`).
async fn the_sender_and_the_watcher_write_in_turn(app: &TestApp) {
    submitted_preservation(app).await;
    let sent = app.behind_a_held_turn(app.send_mail(Utc::now())).await;
    assert_eq!(sent.sent, 1, "{sent:?}");
    // The submitted request's approval is due within the watcher's horizon.
    let watched = app.behind_a_held_turn(app.tick(Utc::now())).await;
    assert_eq!(watched.examined, 1, "{watched:?}");
}

async fn without_smtp_mail_is_written_as_eml_files(app: &TestApp) {
    let r = submitted_preservation(app).await;
    let report = app.send_mail(Utc::now()).await;
    assert_eq!(report.sent, 1);
    let dir = app.state.settings.data_dir.join("mail");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("To: ca@gb.test.example"), "{text}");
    assert!(text.contains(r["reference"].as_str().unwrap()));
}

async fn the_server_runs_the_watcher_on_its_own(app: &TestApp) {
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    // Seen 24 days ago by a provider that keeps it 25: at risk within a day.
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["identifiers"][1]["observed_at"] = json!((Utc::now() - TimeDelta::days(24)).to_rfc3339());
    create(app, &w.officer, body).await;
    mlat::jobs::spawn_watcher(
        app.state.clone().into_inner(),
        std::time::Duration::from_millis(200),
    );
    let subjects = crate::helpers::eventually("the watcher sent a reminder", async || {
        let mine = app.get("/api/v1/reminders", &w.officer).await.json;
        let subjects = mine["items"].as_array().unwrap().clone();
        (!subjects.is_empty()).then_some(subjects)
    })
    .await;
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    let subject = subjects[0]["subject"].as_str().unwrap();
    assert!(
        subject.contains("is at risk of deletion from ") && subject.ends_with(" UTC"),
        "{subject}"
    );
}

impl TestApp {
    pub async fn tick(&self, now: DateTime<Utc>) -> Report {
        let state = self.state.clone();
        web::block(move || {
            let mut conn = state.pool.get().unwrap();
            watcher::tick(
                &mut conn,
                &state.writers,
                &state.rules(),
                UtcTime::from(now),
            )
            .unwrap()
        })
        .await
        .unwrap()
    }
}

/// A preserved request and the instant its preservation expires.
async fn preserved(
    app: &TestApp,
    officer: &str,
    ca: &str,
    provider: &str,
    responder: &str,
) -> (Value, DateTime<Utc>) {
    let case_id = open_case(app, officer).await;
    let r = create(app, officer, preservation(Some(&case_id), responder)).await;
    let r = step(app, officer, &r, "submit", json!({})).await;
    let r = step(app, ca, &r, "approve", json!({})).await;
    let r = step(app, officer, &r, "transmit", json!({})).await;
    let r = step(app, provider, &r, "preserve", json!({})).await;
    let list = app
        .get(
            &format!("/api/v1/requests/{}/deadlines", r["id"].as_str().unwrap()),
            officer,
        )
        .await
        .json;
    let due = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "preservation_expires")
        .unwrap()["due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (r, due)
}

fn report(examined: usize, missed: usize, expired: usize, reminders: usize) -> Report {
    Report {
        examined,
        missed,
        expired,
        reminders,
    }
}

async fn reminders_go_once_per_mark_and_a_lapsed_preservation_expires(app: &TestApp) {
    let w = app.world().await;
    let (request, expires) = preserved(app, &w.officer, &w.ca, &w.provider, &w.ie_provider).await;
    let id = request["id"].as_str().unwrap();

    // Six days before expiry: the follow-up margin (14 days) has passed, and the
    // 7-day reminder of the expiry is due.
    let at = expires - TimeDelta::days(6);
    assert_eq!(app.tick(at).await, report(1, 1, 0, 1));
    assert_eq!(app.tick(at).await, report(1, 0, 0, 0), "nothing twice");
    assert_eq!(app.tick(at + TimeDelta::hours(1)).await, report(1, 0, 0, 0));
    // The 2-day and 1-day marks, once each.
    assert_eq!(
        app.tick(expires - TimeDelta::hours(36)).await,
        report(1, 0, 0, 1)
    );
    assert_eq!(
        app.tick(expires - TimeDelta::hours(12)).await,
        report(1, 0, 0, 1)
    );
    assert_eq!(
        app.tick(expires - TimeDelta::hours(11)).await,
        report(1, 0, 0, 0)
    );
    // Past expiry: expired, once.
    assert_eq!(
        app.tick(expires + TimeDelta::minutes(1)).await,
        report(1, 1, 1, 0)
    );
    assert_eq!(
        app.tick(expires + TimeDelta::minutes(2)).await,
        report(0, 0, 0, 0)
    );

    // The passes ran months ahead, and forgot the sessions whose refresh
    // tokens had expired by then, with their access tokens: sign in again.
    let w = crate::helpers::World {
        officer: app.login("officer@gb.test.example").await,
        ca: app.login("ca@gb.test.example").await,
        provider: app.login("provider@ie.test.example").await,
        admin: app.login("admin@test.example").await,
        ..w
    };
    let now = app
        .get(&format!("/api/v1/requests/{id}"), &w.officer)
        .await
        .json;
    assert_eq!(now["status"], "expired");
    let mine = app.get("/api/v1/reminders", &w.officer).await.json;
    let subjects: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    let reference = request["reference"].as_str().unwrap();
    // Each reminder names the instant, not a count of days that a message
    // sent late would get wrong.
    let expiring = format!(
        "Preservation {reference} expires {} UTC",
        expires.format("%Y-%m-%d %H:%M")
    );
    assert_eq!(
        subjects,
        [
            format!("Preservation {reference} expired"),
            expiring.clone(),
            expiring.clone(),
            expiring,
            format!("Follow-up request for {reference} was missed"),
        ]
    );
    // No case content in any message: only the reference, the need, the link.
    for message in mine["items"].as_array().unwrap() {
        let body = message["body"].as_str().unwrap();
        assert!(body.contains(reference) && body.contains("https://mlat.test.example/requests/"));
        for secret in ["groomed", "sunny_day_2011", "198.51.100.23", "OP-LANTERN"] {
            assert!(
                !body.contains(secret) && !message["subject"].as_str().unwrap().contains(secret)
            );
        }
    }
    // Missed deadlines also reach the central authority.
    let ca_messages = app.get("/api/v1/reminders", &w.ca).await.json;
    assert_eq!(ca_messages["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get("/api/v1/reminders", &w.provider).await.json["items"],
        json!([])
    );

    let trail = app
        .get(&format!("/api/v1/requests/{id}/audit"), &w.officer)
        .await
        .json;
    let count = |action: &str| {
        trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .count()
    };
    assert_eq!(
        (
            count("reminder_queued"),
            count("deadline_missed"),
            count("expire")
        ),
        (3, 2, 1)
    );
    assert_eq!(
        app.get("/api/v1/audit/verify", &w.admin).await.json["intact"],
        true
    );
}

async fn two_watchers_racing_queue_each_message_once(app: &TestApp) {
    let w = app.world().await;
    let (request, expires) = preserved(app, &w.officer, &w.ca, &w.provider, &w.ie_provider).await;
    let at = UtcTime::from(expires - TimeDelta::days(6));
    let watchers: Vec<_> = (0..2)
        .map(|_| {
            let state = app.state.clone();
            std::thread::spawn(move || {
                let mut conn = state.pool.get().unwrap();
                watcher::tick(&mut conn, &state.writers, &state.rules(), at).unwrap()
            })
        })
        .collect();
    let reports: Vec<Report> = watchers.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        reports.iter().map(|r| r.reminders).sum::<usize>(),
        1,
        "{reports:?}"
    );
    assert_eq!(
        reports.iter().map(|r| r.missed).sum::<usize>(),
        1,
        "{reports:?}"
    );
    let pool = app.state.pool.clone();
    let id = request["id"].as_str().unwrap().to_owned();
    let kinds = web::block(move || {
        let mut conn = pool.get().unwrap();
        mlat::repo::outbox::for_request(&mut conn, &id)
            .unwrap()
            .into_iter()
            .map(|m| m.kind)
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let count = |kind| kinds.iter().filter(|k| **k == kind).count();
    let (reminders, missed) = (
        count(MessageKind::Reminder),
        count(MessageKind::DeadlineMissed),
    );
    assert_eq!(
        (reminders, missed),
        (1, 2),
        "one reminder; the miss to the officer and the CA"
    );
    // The passes ran ahead and forgot the expired sessions: sign in again.
    let admin = app.login("admin@test.example").await;
    assert_eq!(
        app.get("/api/v1/audit/verify", &admin).await.json["intact"],
        true
    );
}

/// Two watchers passing at the same instant, as two instances would.
async fn two_ticks(app: &TestApp, at: DateTime<Utc>) -> usize {
    let at = UtcTime::from(at);
    let watchers: Vec<_> = (0..2)
        .map(|_| {
            let state = app.state.clone();
            std::thread::spawn(move || {
                let mut conn = state.pool.get().unwrap();
                watcher::tick(&mut conn, &state.writers, &state.rules(), at).unwrap()
            })
        })
        .collect();
    watchers
        .into_iter()
        .map(|h| h.join().unwrap().reminders)
        .sum()
}

async fn reminders_reach_whoever_owes_the_step_once_even_from_two_watchers(app: &TestApp) {
    let net = app.network().await;
    let case_id = open_case(app, &net.officer_de).await;
    let draft = create(
        app,
        &net.officer_de,
        emergency_order(&case_id, &net.w.ie_provider, "emergency_disclosure"),
    )
    .await;
    let sent = step(app, &net.officer_de, &draft, "transmit", json!({})).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let clocks = app
        .get(&format!("/api/v1/requests/{id}/deadlines"), &net.officer_de)
        .await
        .json;
    let due = |kind: &str| -> DateTime<Utc> {
        clocks["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == kind)
            .unwrap()["due_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (response, validation) = (due("response_due"), due("ex_post_validation"));
    let transmitted: DateTime<Utc> = sent["transmitted_at"].as_str().unwrap().parse().unwrap();
    // Half-way through the provider's eight hours: the provider is reminded
    // (at its address for legal process), nobody else.
    let half = transmitted + (response - transmitted) / 2 + TimeDelta::minutes(1);
    assert_eq!(two_ticks(app, half).await, 1);
    assert_eq!(two_ticks(app, half + TimeDelta::minutes(5)).await, 0);
    // Half-way through the 48 hours of ex-post validation: the German
    // central authority, once.
    let later = transmitted + (validation - transmitted) / 2 + TimeDelta::minutes(1);
    assert_eq!(two_ticks(app, later).await, 1);
    let pool = app.state.pool.clone();
    let messages = web::block(move || {
        let mut conn = pool.get().unwrap();
        mlat::repo::outbox::for_request(&mut conn, &id).unwrap()
    })
    .await
    .unwrap();
    let reminders: Vec<_> = messages
        .iter()
        .filter(|m| m.kind == MessageKind::Reminder)
        .collect();
    let to: Vec<&str> = reminders
        .iter()
        .map(|m| m.recipient_email.as_str())
        .collect();
    assert_eq!(
        to,
        ["legal@org.test.example", "ca@de.test.example"],
        "{reminders:?}"
    );
    let reference = sent["reference"].as_str().unwrap();
    let to_provider = reminders[0];
    assert_eq!(
        to_provider.subject,
        format!(
            "EMERGENCY: Answer to {reference} is due {} UTC",
            response.format("%Y-%m-%d %H:%M")
        )
    );
    // The due instant in the provider's time, whenever the message leaves.
    let dublin = response.with_timezone(&chrono_tz::Europe::Dublin);
    assert!(
        to_provider.body.contains(&format!(
            "Due: {} UTC ({} {}, Europe/Dublin)",
            response.format("%Y-%m-%d %H:%M"),
            dublin.format("%Y-%m-%d %H:%M"),
            dublin.format("%Z")
        )),
        "{}",
        to_provider.body
    );
    assert!(to_provider.body.contains("produce the data, or refuse it"));
    let to_authority = reminders[1];
    assert!(
        to_authority
            .subject
            .starts_with("EMERGENCY: Validation of emergency"),
        "{}",
        to_authority.subject
    );
    assert!(
        to_authority.body.contains("Europe/Berlin"),
        "{}",
        to_authority.body
    );
    // The officer who filed it is not reminded of steps that are not theirs.
    assert!(!to.contains(&"officer@de.test.example"));
}
