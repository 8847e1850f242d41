//! Webhooks: registered by an organisation's administrators only, never to
//! an address inside a network unless the operator allows it; deliveries
//! signed, carrying ids only, retried after an outage and given up on in the
//! end; a name that points inside a network at delivery time is refused then.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::{TimeDelta, Utc};
use diesel::prelude::*;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Reply, TestApp};
use crate::portal::Browser;
use crate::workflow::{open_case, preservation, step, transmitted};

crate::backend_tests!(
    only_an_organisations_administrators_register_and_never_inside_a_network,
    an_organisations_administrator_registers_and_removes_one_in_the_portal,
);
crate::backend_tests!(
    with |s| s.mail.webhooks_allow_private = true;
    deliveries_are_signed_carry_ids_and_are_retried_until_they_land_or_die,
);
crate::backend_tests!(a_webhook_that_points_inside_a_network_at_delivery_time_is_refused_then,);

/// What a receiver got: the path, `Mlat-*` headers and the body.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    event: String,
    delivery: String,
    signature: String,
    body: Vec<u8>,
}

/// A receiver on loopback, answering `status` to everything.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    server: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(200));
        let (g, s) = (got.clone(), status.clone());
        let server = HttpServer::new(move || {
            let (g, s) = (g.clone(), s.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (g, s) = (g.clone(), s.clone());
                async move {
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    g.lock().unwrap().push(Received {
                        path: req.path().to_owned(),
                        event: header("mlat-event"),
                        delivery: header("mlat-delivery"),
                        signature: header("mlat-signature"),
                        body: body.to_vec(),
                    });
                    HttpResponse::build(
                        actix_web::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap(),
                    )
                    .finish()
                }
            }))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Receiver {
            port,
            got,
            status,
            server: handle,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// What arrived at `path`, in order.
    fn at(&self, path: &str) -> Vec<Received> {
        self.got().into_iter().filter(|r| r.path == path).collect()
    }
}

/// Makes `email` an administrator of its organisation.
pub(crate) async fn make_org_admin(app: &TestApp, email: &str) {
    let (state, email) = (app.state.clone(), email.to_owned());
    web::block(move || {
        let mut conn = state.pool.get().unwrap();
        let user = mlat::repo::users::find_by_email(&mut conn, &email)
            .unwrap()
            .unwrap();
        mlat::repo::users::set_org_admin(&mut conn, &user.id, true, mlat::time::UtcTime::now())
            .unwrap();
    })
    .await
    .unwrap();
}

pub(crate) async fn register(app: &TestApp, token: &str, url: &str, events: &[&str]) -> Reply {
    app.post(
        "/api/v1/webhooks",
        Some(token),
        json!({ "url": url, "events": events }),
    )
    .await
}

/// The outbox rows of deliveries to webhook `id`: (status, attempts, last_error).
async fn deliveries(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/api/v1/webhooks/{id}/deliveries"), token)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.json["items"].as_array().unwrap().clone()
}

async fn only_an_organisations_administrators_register_and_never_inside_a_network(app: &TestApp) {
    let w = app.world().await;
    let public = "https://93.184.215.14/mlat/events";
    // Not an administrator of its organisation; the platform's administrator.
    for token in [&w.provider, &w.admin] {
        register(app, token, public, &["request.received"])
            .await
            .problem(403);
        app.get("/api/v1/webhooks", token).await.problem(403);
    }
    make_org_admin(app, "provider@ie.test.example").await;
    for (url, says) in [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost:8443/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("http://93.184.215.14/hook", "https"),
        ("https://user:pw@93.184.215.14/hook", "user name"),
        ("gopher://93.184.215.14/", "not https"),
    ] {
        let reply = register(app, &w.provider, url, &["request.received"]).await;
        assert_eq!(reply.fields(), ["url"], "{url}: {:?}", reply.json);
        assert!(
            reply.json.to_string().contains(says),
            "{url}: {:?}",
            reply.json
        );
    }
    let reply = register(app, &w.provider, public, &["request.deleted"]).await;
    assert_eq!(reply.fields(), ["events[0]"]);
    let reply = register(app, &w.provider, public, &[]).await;
    assert_eq!(reply.fields(), ["events"]);
    let reply = app
        .post(
            "/api/v1/webhooks",
            Some(&w.provider),
            json!({ "url": public, "events": ["request.received"], "secret": "mine" }),
        )
        .await;
    assert_eq!(reply.status, 422, "{:?}", reply.json);

    let made = register(
        app,
        &w.provider,
        public,
        &["request.received", "request.updated"],
    )
    .await;
    assert_eq!(made.status, 201, "{:?}", made.json);
    let id = made.json["id"].as_str().unwrap().to_owned();
    assert!(made.json["secret"].as_str().unwrap().starts_with("whsec_"));
    let listed = app.get("/api/v1/webhooks", &w.provider).await.json;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert!(listed["items"][0].get("secret").is_none(), "{listed}");
    assert!(
        !listed
            .to_string()
            .contains(made.json["secret"].as_str().unwrap())
    );
    // Stored sealed: the secret is nowhere in the database in the clear.
    let (state, secret) = (
        app.state.clone(),
        made.json["secret"].as_str().unwrap().to_owned(),
    );
    let sealed: String = web::block(move || {
        use mlat::db::schema::webhooks;
        let mut conn = state.pool.get().unwrap();
        webhooks::table
            .select(webhooks::secret_sealed)
            .first::<String>(&mut conn)
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!sealed.contains(&secret[6..]));

    // Another organisation's administrator sees none of it.
    make_org_admin(app, "officer@gb.test.example").await;
    let theirs = app.get("/api/v1/webhooks", &w.officer).await.json;
    assert_eq!(theirs["items"], json!([]));
    let gone = app
        .call(
            "DELETE",
            &format!("/api/v1/webhooks/{id}"),
            Some(&w.officer),
            None,
        )
        .await;
    assert_eq!(gone.status, 404);
    app.get(&format!("/api/v1/webhooks/{id}/deliveries"), &w.officer)
        .await
        .problem(404);
    let gone = app
        .call(
            "DELETE",
            &format!("/api/v1/webhooks/{id}"),
            Some(&w.provider),
            None,
        )
        .await;
    assert_eq!(gone.status, 204);
    let again = app
        .call(
            "DELETE",
            &format!("/api/v1/webhooks/{id}"),
            Some(&w.provider),
            None,
        )
        .await;
    assert_eq!(again.status, 409);
    let listed = app.get("/api/v1/webhooks", &w.provider).await.json;
    assert_eq!(listed["items"][0]["active"], false);
    let ie = w.ie_provider.clone();
    let trail: Vec<String> = app
        .audit_of(&format!("organisation:{ie}"))
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(trail, ["webhook_registered", "webhook_removed"]);
}

/// The HMAC of `"<t>.<body>"` under `secret`, computed here with the hmac
/// crate: what a receiver does.
fn verify(secret: &str, received: &Received) -> i64 {
    let (t, v1) = received.signature.split_once(",v1=").expect("t=…,v1=…");
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&received.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "the signature does not verify");
    t.parse().unwrap()
}

async fn deliveries_are_signed_carry_ids_and_are_retried_until_they_land_or_die(app: &TestApp) {
    let w = app.world().await;
    let receiver = Receiver::start().await;
    make_org_admin(app, "provider@ie.test.example").await;
    make_org_admin(app, "officer@gb.test.example").await;
    let provider_hook = register(
        app,
        &w.provider,
        &receiver.url("/provider"),
        &["request.received", "request.updated"],
    )
    .await;
    assert_eq!(provider_hook.status, 201, "{:?}", provider_hook.json);
    let provider_secret = provider_hook.json["secret"].as_str().unwrap().to_owned();
    let provider_hook = provider_hook.json["id"].as_str().unwrap().to_owned();
    let agency_hook = register(
        app,
        &w.officer,
        &receiver.url("/agency"),
        &["request.updated"],
    )
    .await;
    assert_eq!(agency_hook.status, 201, "{:?}", agency_hook.json);
    let agency_secret = agency_hook.json["secret"].as_str().unwrap().to_owned();

    // The receiver is down when the request arrives.
    receiver.status.store(503, Ordering::SeqCst);
    let case_id = open_case(app, &w.officer).await;
    let request = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let now = Utc::now();
    app.send_mail(now).await;
    let first = receiver.at("/provider");
    assert_eq!(first.len(), 1, "{first:?}");
    // The agency's endpoint heard of the approval (its own central
    // authority's step), and was down too.
    let approval = receiver.at("/agency");
    assert_eq!(approval.len(), 1, "{approval:?}");
    assert!(String::from_utf8_lossy(&approval[0].body).contains("\"action\":\"approve\""));
    let waiting = deliveries(app, &w.provider, &provider_hook).await;
    assert_eq!(waiting[0]["status"], "pending");
    assert_eq!(waiting[0]["attempts"], 1);
    assert!(
        waiting[0]["last_error"].as_str().unwrap().contains("503"),
        "{waiting:?}"
    );
    // Back up: the retry lands, the same delivery.
    receiver.status.store(200, Ordering::SeqCst);
    let later = now + TimeDelta::hours(1);
    app.send_mail(later).await;
    let got = receiver.at("/provider");
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(receiver.at("/agency").len(), 2);
    let landed = &got[1];
    assert_eq!(landed.event, "request.received");
    assert_eq!(
        landed.delivery, first[0].delivery,
        "a retry is the same delivery"
    );
    let t = verify(&provider_secret, landed);
    assert_eq!(t, later.timestamp(), "signed when sent");
    let body: Value = serde_json::from_slice(&landed.body).unwrap();
    assert_eq!(body["type"], "request.received");
    assert_eq!(body["request_id"], request["id"]);
    assert_eq!(body["organisation_id"], w.ie_provider.as_str());
    assert_eq!(body["action"], "transmit");
    let text = String::from_utf8_lossy(&landed.body).into_owned();
    for content in ["sunny_day_2011", "198.51.100.23", "groomed", "OP-LANTERN"] {
        assert!(!text.contains(content), "{content} in {text}");
    }
    let sent = deliveries(app, &w.provider, &provider_hook).await;
    assert_eq!(sent[0]["status"], "sent");
    // A signature made with another key, or over another body, fails.
    let mut forged = landed.clone();
    forged.body = br#"{"type":"request.received"}"#.to_vec();
    assert!(std::panic::catch_unwind(|| verify(&provider_secret, &forged)).is_err());

    // The provider's answer goes to the agency's endpoint, not its own.
    step(app, &w.provider, &request, "acknowledge", json!({})).await;
    app.send_mail(later + TimeDelta::minutes(1)).await;
    assert_eq!(
        receiver.at("/provider").len(),
        2,
        "not told of its own step"
    );
    let got = receiver.at("/agency");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2].event, "request.updated");
    assert!(String::from_utf8_lossy(&got[2].body).contains("\"action\":\"acknowledge\""));
    verify(&agency_secret, &got[2]);

    // A receiver that never recovers: given up after the attempts allowed.
    receiver.status.store(500, Ordering::SeqCst);
    let request = crate::workflow::create(
        app,
        &w.officer,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let request = step(app, &w.officer, &request, "submit", json!({})).await;
    let request = step(app, &w.ca, &request, "approve", json!({})).await;
    step(app, &w.officer, &request, "transmit", json!({})).await;
    for hours in [2, 6, 24] {
        app.send_mail(now + TimeDelta::hours(hours)).await;
    }
    let listed = deliveries(app, &w.provider, &provider_hook).await;
    assert_eq!(listed[0]["status"], "dead", "{listed:?}");
    assert_eq!(listed[0]["attempts"], 3);
    // The operator sees the dead letter beside the e-mails and may retry it.
    let dead = app.get("/api/v1/admin/outbox?status=dead", &w.admin).await;
    assert!(dead.json.to_string().contains(&receiver.url("/provider")));
    receiver.server.stop(true).await;
}

async fn a_webhook_that_points_inside_a_network_at_delivery_time_is_refused_then(app: &TestApp) {
    let w = app.world().await;
    let receiver = Receiver::start().await;
    make_org_admin(app, "provider@ie.test.example").await;
    // Registered as if its name had resolved to a public address then (the
    // service call, below the URL checks): it now reaches loopback.
    let (state, url) = (app.state.clone(), receiver.url("/hook"));
    let hook = web::block(move || {
        let mut conn = state.pool.get().unwrap();
        let by = mlat::repo::users::find_by_email(&mut conn, "provider@ie.test.example")
            .unwrap()
            .unwrap();
        mlat::db::write_tx(&mut conn, |conn| {
            mlat::service::webhooks::register(
                conn,
                &state.factor_key,
                &by,
                &mlat::domain::audit::Actor::system(),
                &url::Url::parse(&url).unwrap(),
                &[mlat::domain::webhooks::WebhookEvent::RequestReceived],
            )
        })
        .map(|r| r.webhook.id)
    })
    .await
    .unwrap()
    .unwrap();
    let case_id = open_case(app, &w.officer).await;
    transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    app.send_mail(Utc::now()).await;
    assert!(receiver.got().is_empty(), "no connection was made");
    let listed = deliveries(app, &w.provider, &hook).await;
    assert_eq!(listed[0]["status"], "dead", "refused for good: {listed:?}");
    let error = listed[0]["last_error"].as_str().unwrap();
    assert!(error.contains("loopback"), "{error}");
    receiver.server.stop(true).await;
}

async fn an_organisations_administrator_registers_and_removes_one_in_the_portal(app: &TestApp) {
    app.world().await;
    make_org_admin(app, "provider@ie.test.example").await;
    let mut browser = Browser::new(app);
    let signed = browser
        .sign_in("provider@ie.test.example", PASSWORD, "%2Forganisation")
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let page = browser.get("/organisation").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Register the webhook"), "{}", page.body);
    let token = page.hidden("csrf_token");
    // Refused in place, what was typed kept.
    let refused = browser
        .post(
            "/organisation/webhooks",
            &[
                ("csrf_token", &token),
                ("url", "https://169.254.169.254/latest"),
                ("event.request.received", "yes"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("link-local"), "{}", refused.body);
    assert!(
        refused
            .body
            .contains("value=\"https://169.254.169.254/latest\"")
    );
    let none = browser
        .post(
            "/organisation/webhooks",
            &[
                ("csrf_token", &token),
                ("url", "https://93.184.215.14/mlat"),
            ],
        )
        .await;
    assert_eq!(none.status, 422, "{}", none.body);
    assert!(
        none.body.contains("name at least one event"),
        "{}",
        none.body
    );
    // Without the session's token: nothing.
    let forged = browser
        .post(
            "/organisation/webhooks",
            &[
                ("url", "https://93.184.215.14/mlat"),
                ("event.request.received", "yes"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);

    let made = browser
        .post(
            "/organisation/webhooks",
            &[
                ("csrf_token", &token),
                ("url", "https://93.184.215.14/mlat"),
                ("event.request.received", "yes"),
                ("event.request.updated", "yes"),
            ],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert!(
        made.body.contains("Keep this signing secret now"),
        "{}",
        made.body
    );
    let at = made.body.find("whsec_").expect("the secret, once");
    let secret: String = made.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    assert!(made.body.contains("request.received, request.updated"));
    // Shown once: the next view of the page has it no more.
    let again = browser.get("/organisation").await;
    assert!(!again.body.contains(&secret));
    assert!(again.body.contains("https://93.184.215.14/mlat"));
    let listed = app
        .get(
            "/api/v1/webhooks",
            &app.login("provider@ie.test.example").await,
        )
        .await
        .json;
    let id = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let removed = browser
        .post(
            &format!("/organisation/webhooks/{id}"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(removed.location(), "/organisation?done=webhook-removed");
    let page = browser.get("/organisation?done=webhook-removed").await;
    assert!(page.body.contains("(removed)"), "{}", page.body);
}
