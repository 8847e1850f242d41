//! E-mail through a real SMTP conversation with a sink on loopback.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::web;
use chrono::{TimeDelta, Utc};
use mailin_embedded::{Handler, Response, Server, response};
use mlat::mail::{SendReport, send_pass};
use mlat::time::UtcTime;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::workflow::{create, emergency_order, open_case, preservation, step};

/// One message as the SMTP server received it.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// An SMTP server on loopback that keeps what it receives, and refuses
/// recipients whose address starts with `bounce` while `bouncing` is set.
#[derive(Clone)]
pub struct Sink {
    pub received: Arc<Mutex<Vec<Received>>>,
    pub bouncing: Arc<Mutex<bool>>,
    current: Received,
}

impl Handler for Sink {
    fn mail(&mut self, _ip: std::net::IpAddr, _domain: &str, from: &str) -> Response {
        self.current = Received {
            from: from.to_owned(),
            ..Default::default()
        };
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if to.starts_with("bounce") && *self.bouncing.lock().unwrap() {
            return response::NO_MAILBOX;
        }
        self.current.to.push(to.to_owned());
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.push_str(&String::from_utf8_lossy(buf));
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.received
            .lock()
            .unwrap()
            .push(std::mem::take(&mut self.current));
        response::OK
    }
}

impl Sink {
    fn new() -> Self {
        Sink {
            received: Arc::default(),
            bouncing: Arc::new(Mutex::new(true)),
            current: Received::default(),
        }
    }

    /// Starts serving on `port` in a background thread.
    fn start(&self, port: u16) {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("the SMTP port is free");
        let mut server = Server::new(self.clone());
        server.with_name("sink.test").with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A port free now that stays free until the sink starts: the sink is
/// started late on purpose (an outage first), so the port is taken below
/// the kernel's ephemeral range (32768 and up on Linux), where the other
/// tests' `bind(0)` listeners and every outgoing connection get theirs.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % 5_000) as u16;
    loop {
        let port = 20_000 + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % 10_000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Runs a test with an app whose mail goes to a sink on `port` (not yet
/// started: the test starts it, so that it can test an outage first).
async fn with_sink(backend: Backend, test: impl AsyncFnOnce(&TestApp, &Sink, u16)) {
    let port = free_port();
    let app = TestApp::spawn_with(backend, |s| {
        s.mail.smtp_url = Some(mlat::config::SecretUrl::new(format!(
            "smtp://127.0.0.1:{port}"
        )));
    })
    .await;
    let sink = Sink::new();
    test(&app, &sink, port).await;
    app.stop().await;
}

macro_rules! mail_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::with_sink(crate::helpers::Backend::Sqlite, super::$name).await
                }

                #[actix_web::test]

                #[cfg_attr(not(mlat_postgres_tests), ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)")]
                async fn postgres() {
                    super::with_sink(crate::helpers::Backend::Postgres, super::$name).await
                }
            }
        )*
    };
}

mail_tests!(
    an_invitation_reaches_its_holder_and_the_outbox_keeps_no_token,
    each_step_mails_the_right_people_and_no_case_content,
    an_emergency_says_so_first_and_every_clock_comes_with_its_due_times,
    an_smtp_outage_loses_nothing,
    a_permanently_failing_address_ends_dead_and_can_be_retried,
    reminders_to_one_person_in_one_pass_are_one_digest,
    two_senders_deliver_each_message_once,
);

impl TestApp {
    pub async fn send_mail(&self, at: chrono::DateTime<Utc>) -> SendReport {
        let state = self.state.clone();
        web::block(move || {
            let mut conn = state.pool.get().unwrap();
            send_pass(&mut conn, &state.writers, &state.mailer, UtcTime::from(at)).unwrap()
        })
        .await
        .unwrap()
    }
}

fn subject_of(mail: &Received) -> String {
    mail.data
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_owned()
}

async fn each_step_mails_the_right_people_and_no_case_content(
    app: &TestApp,
    sink: &Sink,
    port: u16,
) {
    sink.start(port);
    let w = app.world().await;
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
    step(app, &w.provider, &r, "preserve", json!({})).await;
    let report = app.send_mail(Utc::now()).await;
    assert_eq!(report.sent, 5, "{report:?}");
    let reference = r["reference"].as_str().unwrap();
    let mut got: Vec<(String, String)> = sink
        .all()
        .iter()
        .map(|m| (m.to.join(","), subject_of(m)))
        .collect();
    got.sort();
    let mut want = vec![
        (
            "ca@gb.test.example".to_owned(),
            format!("Request {reference} submitted for approval"),
        ),
        (
            "officer@gb.test.example".to_owned(),
            format!("Request {reference} approved"),
        ),
        (
            "provider@ie.test.example".to_owned(),
            format!("Request {reference} received"),
        ),
        (
            "legal@org.test.example".to_owned(),
            format!("Request {reference} received"),
        ),
        (
            "officer@gb.test.example".to_owned(),
            format!("Request {reference} preserved"),
        ),
    ];
    want.sort();
    assert_eq!(got, want);
    for mail in sink.all() {
        assert_eq!(mail.from, "noreply@mlat.test.example");
        assert!(
            mail.data.contains("multipart/alternative"),
            "plain text and HTML"
        );
        assert!(mail.data.contains("https://mlat.test.example/requests/"));
        for secret in [
            "groomed",
            "sunny_day_2011",
            "198.51.100.23",
            "OP-LANTERN",
            "Grooming",
        ] {
            assert!(!mail.data.contains(secret), "{secret} leaked into a mail");
        }
    }
    assert_eq!(
        app.send_mail(Utc::now()).await,
        SendReport::default(),
        "each mail once"
    );
}

/// The plain-text part of a received message, its quoted-printable soft
/// line breaks joined again.
fn text_of(mail: &Received) -> String {
    let at = mail
        .data
        .find("Content-Type: text/plain")
        .expect("a text part");
    let text = &mail.data[at..];
    text[..text.find("Content-Type: text/html").unwrap_or(text.len())]
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

async fn an_emergency_says_so_first_and_every_clock_comes_with_its_due_times(
    app: &TestApp,
    sink: &Sink,
    port: u16,
) {
    sink.start(port);
    let net = app.network().await;
    let case_id = open_case(app, &net.officer_de).await;
    let draft = create(
        app,
        &net.officer_de,
        emergency_order(&case_id, &net.w.ie_provider, "emergency_disclosure"),
    )
    .await;
    let sent = step(app, &net.officer_de, &draft, "transmit", json!({})).await;
    let reference = sent["reference"].as_str().unwrap();
    let id = sent["id"].as_str().unwrap();
    let clocks = app
        .get(&format!("/api/v1/requests/{id}/deadlines"), &net.officer_de)
        .await
        .json["items"]
        .as_array()
        .unwrap()
        .clone();
    let due = |kind: &str| -> chrono::DateTime<Utc> {
        clocks
            .iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {clocks:?}"))["due_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    app.send_mail(Utc::now()).await;
    let to_provider = sink
        .all()
        .into_iter()
        .find(|m| m.to == ["provider@ie.test.example"])
        .expect("the provider is told");
    assert_eq!(
        subject_of(&to_provider),
        format!("EMERGENCY: request {reference} received")
    );
    let text = text_of(&to_provider);
    assert!(text.contains("This is an EMERGENCY request."), "{text}");
    // Its clock, in UTC and in Dublin's time, which is UTC's in December
    // and one hour ahead in summer.
    let response = due("response_due");
    let dublin = response.with_timezone(&chrono_tz::Europe::Dublin);
    let line = format!(
        "Response due: {} UTC ({} {}, Europe/Dublin)",
        response.format("%Y-%m-%d %H:%M"),
        dublin.format("%Y-%m-%d %H:%M"),
        dublin.format("%Z"),
    );
    assert!(text.contains(&line), "{line} missing from {text}");
    // The issuing side's own clock is not the provider's business.
    assert!(!text.contains("Ex-post validation"), "{text}");
    // The provider answers: the German officer reads the validation still
    // owed in Berlin's time.
    step(
        app,
        &net.w.provider,
        &sent,
        "fulfil",
        json!({"no_data": true}),
    )
    .await;
    app.send_mail(Utc::now()).await;
    let to_officer = sink
        .all()
        .into_iter()
        .find(|m| m.to == ["officer@de.test.example"])
        .expect("the officer is told");
    assert_eq!(
        subject_of(&to_officer),
        format!("EMERGENCY: request {reference} fulfilled")
    );
    let validation = due("ex_post_validation");
    let berlin = validation.with_timezone(&chrono_tz::Europe::Berlin);
    let line = format!(
        "Ex-post validation due: {} UTC ({} {}, Europe/Berlin)",
        validation.format("%Y-%m-%d %H:%M"),
        berlin.format("%Y-%m-%d %H:%M"),
        berlin.format("%Z"),
    );
    assert!(
        text_of(&to_officer).contains(&line),
        "{line} missing from {}",
        text_of(&to_officer)
    );
    // Still no case content.
    for mail in sink.all() {
        for secret in ["self-harm", "threat_account", "extortion"] {
            assert!(!mail.data.contains(secret), "{secret} leaked into a mail");
        }
    }
}

async fn an_smtp_outage_loses_nothing(app: &TestApp, sink: &Sink, port: u16) {
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    let r = create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    // The SMTP server is down: the action succeeds, the mail waits.
    let r = step(app, &w.officer, &r, "submit", json!({})).await;
    assert_eq!(r["status"], "pending_approval");
    let now = Utc::now();
    assert_eq!(
        app.send_mail(now).await,
        SendReport {
            sent: 0,
            retried: 1,
            dead: 0
        }
    );
    // Not before its backoff has passed.
    assert_eq!(
        app.send_mail(now + TimeDelta::seconds(10)).await,
        SendReport::default()
    );
    sink.start(port);
    let report = app.send_mail(now + TimeDelta::seconds(31)).await;
    assert_eq!(
        report,
        SendReport {
            sent: 1,
            retried: 0,
            dead: 0
        }
    );
    assert_eq!(sink.all().len(), 1);
    assert_eq!(sink.all()[0].to, ["ca@gb.test.example"]);
    assert_eq!(
        app.send_mail(now + TimeDelta::hours(1)).await,
        SendReport::default()
    );
    assert_eq!(sink.all().len(), 1, "delivered once");
    // A crash after the server took the message but before the pass recorded
    // it: the next pass sends it again, as the same message (its Message-ID
    // and Date), so that the receiving side can tell it is a duplicate.
    app.sql(
        "UPDATE outbox SET status = 'pending', sent_at = NULL, next_attempt_at = created_at".into(),
    )
    .await;
    assert_eq!(app.send_mail(now + TimeDelta::hours(2)).await.sent, 1);
    let [first, again] = &sink.all()[..] else {
        panic!("two deliveries: {:?}", sink.all());
    };
    let id = header(&first.data, "Message-ID");
    assert!(id.starts_with('<') && id.ends_with(">"), "{id}");
    assert_eq!(header(&again.data, "Message-ID"), id);
    assert!(!header(&first.data, "Date").is_empty());
    assert_eq!(header(&again.data, "Date"), header(&first.data, "Date"));
}

/// The value of header `name` in a received message.
fn header(data: &str, name: &str) -> String {
    let prefix = format!("{name}: ");
    data.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in {data}"))
        .trim()
        .to_owned()
}

async fn a_permanently_failing_address_ends_dead_and_can_be_retried(
    app: &TestApp,
    sink: &Sink,
    port: u16,
) {
    sink.start(port);
    let w = app.world().await;
    // Made directly, as the world is: an invitation would be one more
    // message to the bouncing address.
    app.add_person(
        "bounce@gb.test.example",
        "Bouncing CA",
        "central_authority",
        &w.gb_ca,
    )
    .await;
    let case_id = open_case(app, &w.officer).await;
    let r = create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    step(app, &w.officer, &r, "submit", json!({})).await;
    let now = Utc::now();
    // Three attempts (the test settings' maximum), each after its backoff.
    assert_eq!(
        app.send_mail(now).await,
        SendReport {
            sent: 1,
            retried: 1,
            dead: 0
        }
    );
    assert_eq!(
        app.send_mail(now + TimeDelta::seconds(31)).await,
        SendReport {
            sent: 0,
            retried: 1,
            dead: 0
        }
    );
    assert_eq!(
        app.send_mail(now + TimeDelta::seconds(100)).await,
        SendReport {
            sent: 0,
            retried: 0,
            dead: 1
        }
    );
    assert_eq!(
        app.send_mail(now + TimeDelta::hours(7)).await,
        SendReport::default(),
        "dead stays dead"
    );
    let dead = app.get("/api/v1/admin/outbox?status=dead", &w.admin).await;
    let items = dead.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["recipient_email"], "bounce@gb.test.example");
    assert_eq!(items[0]["attempts"], 3);
    assert!(
        items[0]["last_error"].as_str().unwrap().contains("550"),
        "{:?}",
        items[0]
    );
    let id = items[0]["id"].as_str().unwrap();
    app.get("/api/v1/admin/outbox?status=dead", &w.officer)
        .await
        .problem(403);
    app.post(
        &format!("/api/v1/admin/outbox/{id}/retry"),
        Some(&w.officer),
        json!({}),
    )
    .await
    .problem(403);
    // The address is fixed on the other side; an admin retries.
    *sink.bouncing.lock().unwrap() = false;
    let retried = app
        .post(
            &format!("/api/v1/admin/outbox/{id}/retry"),
            Some(&w.admin),
            json!({}),
        )
        .await;
    assert_eq!(retried.status, 200, "{:?}", retried.json);
    assert_eq!(retried.json["status"], "pending");
    app.post(
        &format!("/api/v1/admin/outbox/{id}/retry"),
        Some(&w.admin),
        json!({}),
    )
    .await
    .problem(404);
    assert_eq!(
        app.send_mail(Utc::now()).await,
        SendReport {
            sent: 1,
            retried: 0,
            dead: 0
        }
    );
    assert!(
        sink.all()
            .iter()
            .any(|m| m.to == ["bounce@gb.test.example"])
    );
}

async fn reminders_to_one_person_in_one_pass_are_one_digest(app: &TestApp, sink: &Sink, port: u16) {
    sink.start(port);
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    for _ in 0..2 {
        let mut body = preservation(Some(&case_id), &w.ie_provider);
        body["identifiers"][1]["observed_at"] =
            json!((Utc::now() - TimeDelta::days(24)).to_rfc3339());
        create(app, &w.officer, body).await;
    }
    let report = app.tick(Utc::now()).await;
    assert_eq!(report.reminders, 2);
    assert_eq!(app.send_mail(Utc::now()).await.sent, 2);
    let mails = sink.all();
    assert_eq!(mails.len(), 1, "one digest");
    assert_eq!(mails[0].to, ["officer@gb.test.example"]);
    assert_eq!(
        subject_of(&mails[0]),
        "2 mlat deadlines need your attention"
    );
}

async fn two_senders_deliver_each_message_once(app: &TestApp, sink: &Sink, port: u16) {
    sink.start(port);
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    for _ in 0..6 {
        let r = create(
            app,
            &w.officer,
            preservation(Some(&case_id), &w.ie_provider),
        )
        .await;
        step(app, &w.officer, &r, "submit", json!({})).await;
    }
    let now = UtcTime::now();
    let senders: Vec<_> = (0..2)
        .map(|_| {
            let state = app.state.clone();
            std::thread::spawn(move || {
                let mut conn = state.pool.get().unwrap();
                send_pass(&mut conn, &state.writers, &state.mailer, now).unwrap()
            })
        })
        .collect();
    let sent: usize = senders.into_iter().map(|h| h.join().unwrap().sent).sum();
    assert_eq!(sent, 6);
    assert_eq!(
        sink.all().len(),
        6,
        "each of the six submissions mailed once"
    );
}

/// The invitation leaves with its link; once sent, the outbox keeps the
/// message without the token, and the link still works for its holder.
async fn an_invitation_reaches_its_holder_and_the_outbox_keeps_no_token(
    app: &TestApp,
    sink: &Sink,
    port: u16,
) {
    sink.start(port);
    let w = app.world().await;
    let reply = app
        .post(
            "/api/v1/users",
            Some(&w.admin),
            json!({"email": "new@gb.test.example", "name": "New Officer",
                   "role": "liaison_officer", "organisation_id": w.gb_agency}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let token = app.link_sent_to("new@gb.test.example").await;
    assert_eq!(app.send_mail(Utc::now()).await.sent, 1);
    let received = sink.all();
    assert_eq!(received[0].to, ["new@gb.test.example"]);
    // Quoted-printable may fold the line; the token is there once unfolded.
    let unfolded = received[0].data.replace("=\r\n", "").replace("=3D", "=");
    assert!(unfolded.contains(&token), "the holder gets the link");
    let kept = app.account_mail_to("new@gb.test.example").await;
    assert!(!kept[0].1.contains(&token), "{kept:?}");
    assert!(kept[0].1.contains("token=(sent; not kept)"), "{kept:?}");
    let set = app
        .post(
            "/api/v1/auth/account-link",
            None,
            json!({"token": token, "new_password": "my own long passphrase"}),
        )
        .await;
    assert_eq!(set.status, 204, "{:?}", set.json);
}
