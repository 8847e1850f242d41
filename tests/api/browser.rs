//! The portal in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`), driven over WebDriver: what a person sees, with
//! screenshots of it. Runs when MLAT_TEST_CHROMEDRIVER names the driver
//! (`.ci/run` installs both and sets it); elsewhere it is listed as ignored.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, run_with};
use crate::workflow::{open_case, preservation, transmitted};

mod a_provider_does_its_day_in_the_browser_from_the_e_mail_link_to_the_fulfilled_order {
    #[actix_web::test]
    #[cfg_attr(
        not(mlat_browser_tests),
        ignore = "browser: set MLAT_TEST_CHROMEDRIVER (README)"
    )]
    async fn sqlite() {
        super::in_the_browser(super::Backend::Sqlite).await
    }

    #[actix_web::test]
    #[cfg_attr(
        any(not(mlat_browser_tests), not(mlat_postgres_tests)),
        ignore = "browser and PostgreSQL: set MLAT_TEST_CHROMEDRIVER and MLAT_TEST_POSTGRES_URL (README)"
    )]
    async fn postgres() {
        super::in_the_browser(super::Backend::Postgres).await
    }
}

mod the_issuing_side_files_approves_and_follows_up_in_the_browser {
    #[actix_web::test]
    #[cfg_attr(
        not(mlat_browser_tests),
        ignore = "browser: set MLAT_TEST_CHROMEDRIVER (README)"
    )]
    async fn sqlite() {
        super::issuing_side_in_the_browser(super::Backend::Sqlite).await
    }

    #[actix_web::test]
    #[cfg_attr(
        any(not(mlat_browser_tests), not(mlat_postgres_tests)),
        ignore = "browser and PostgreSQL: set MLAT_TEST_CHROMEDRIVER and MLAT_TEST_POSTGRES_URL (README)"
    )]
    async fn postgres() {
        super::issuing_side_in_the_browser(super::Backend::Postgres).await
    }
}

mod someone_enrols_a_second_factor_and_signs_in_with_codes_in_the_browser {
    #[actix_web::test]
    #[cfg_attr(
        not(mlat_browser_tests),
        ignore = "browser: set MLAT_TEST_CHROMEDRIVER (README)"
    )]
    async fn sqlite() {
        super::second_factor_in_the_browser(super::Backend::Sqlite).await
    }

    #[actix_web::test]
    #[cfg_attr(
        any(not(mlat_browser_tests), not(mlat_postgres_tests)),
        ignore = "browser and PostgreSQL: set MLAT_TEST_CHROMEDRIVER and MLAT_TEST_POSTGRES_URL (README)"
    )]
    async fn postgres() {
        super::second_factor_in_the_browser(super::Backend::Postgres).await
    }
}

/// chromedriver on a port of its own, stopped with the test.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let path = std::env::var("MLAT_TEST_CHROMEDRIVER").expect("MLAT_TEST_CHROMEDRIVER");
        let port = crate::helpers::free_port();
        let child = Command::new(&path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {path}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }

    async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": std::env::var("MLAT_TEST_CHROMIUM")
                    .unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900"],
            }),
        );
        ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keeps what the person saw: `<target>/tmp/screenshots/<name>.png`
/// (docs/portal.md shows copies of them).
async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn sign_in(browser: &Client, email: &str) {
    browser
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    browser
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    browser
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn in_the_browser(backend: Backend) {
    // Served over plain http on loopback, like a developer's machine: cookies
    // without `Secure`, which Chromium would otherwise keep from http.
    run_with(
        backend,
        |s| s.public_url = "http://localhost".into(),
        async |app: &TestApp| {
            let driver = Driver::start();
            let browser = driver.browser().await;
            a_providers_day(app, &browser, backend).await;
            browser.close().await.unwrap();
        },
    )
    .await
}

async fn issuing_side_in_the_browser(backend: Backend) {
    run_with(
        backend,
        |s| s.public_url = "http://localhost".into(),
        async |app: &TestApp| {
            let driver = Driver::start();
            let browser = driver.browser().await;
            the_issuing_side(app, &browser, backend).await;
            browser.close().await.unwrap();
        },
    )
    .await
}

async fn second_factor_in_the_browser(backend: Backend) {
    run_with(
        backend,
        |s| {
            s.public_url = "http://localhost".into();
            s.mfa_required = Default::default();
        },
        async |app: &TestApp| {
            let driver = Driver::start();
            let browser = driver.browser().await;
            two_step_sign_in(app, &browser, backend).await;
            browser.close().await.unwrap();
        },
    )
    .await
}

/// The code an authenticator app shows for `key` (base32, as the page shows
/// it, spaces and all) at `at`: computed with totp-rs, not with mlat.
fn authenticator_code(key: &str, at: u64) -> String {
    let key: String = key.split_whitespace().collect();
    let secret = totp_rs::Secret::try_from_base32(&key).expect("a base32 key");
    totp_rs::Builder::new()
        .with_secret(secret.as_ref().to_vec())
        .build()
        .expect("an RFC 6238 secret")
        .generate(at)
        .to_string()
}

async fn path_is(browser: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let at = browser.current_url().await.unwrap();
        if at.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "never reached {path}: at {at}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An officer whose account must have a second factor signs in for the first
/// time: the password leads to the enrolment (a QR code and the key), the
/// app's first code to the recovery codes, shown once; then a sign-in asks
/// for a code, refuses a wrong one in place, and a recovery code works too.
async fn two_step_sign_in(app: &TestApp, browser: &Client, backend: Backend) {
    app.seed().await;
    let shot = |name: &str| format!("{name}-{backend:?}").to_lowercase();
    let officer = "officer@gb.test.example";
    browser.goto(&app.url("/cases")).await.unwrap();
    sign_in(browser, officer).await;
    path_is(browser, "/sign-in/enrol").await;
    let qr = browser
        .find(Locator::Css("figure.qr svg"))
        .await
        .expect("the QR code is drawn");
    assert!(qr.attr("viewBox").await.unwrap().is_some());
    let key = browser
        .find(Locator::Id("secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    accessible(browser, "enrolment").await;
    screenshot(browser, &shot("enrol-second-factor")).await;

    // A code from another key is refused in place, the same key still shown.
    type_into(
        browser,
        "code",
        &authenticator_code("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", now()),
    )
    .await;
    click(browser, "//button[text()='Confirm and sign in']").await;
    let problem = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("p.problem"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(problem.contains("not the one the app shows"), "{problem}");
    let shown_again = browser
        .find(Locator::Id("secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(shown_again, key, "a reloaded enrolment keeps its key");

    let enrolled_at = now();
    type_into(browser, "code", &authenticator_code(&key, enrolled_at)).await;
    click(browser, "//button[text()='Confirm and sign in']").await;
    let list = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("recovery-codes"))
        .await
        .expect("the recovery codes are shown");
    let codes: Vec<String> = {
        let mut codes = Vec::new();
        for item in list.find_all(Locator::Css("li")).await.unwrap() {
            codes.push(item.text().await.unwrap());
        }
        codes
    };
    assert_eq!(codes.len(), 10, "{codes:?}");
    accessible(browser, "recovery codes").await;
    screenshot(browser, &shot("recovery-codes")).await;
    click(browser, "//a[contains(text(), 'continue')]").await;
    path_is(browser, "/cases").await;

    // Next time: the password, then a code.
    click(browser, "//button[text()='Sign out']").await;
    path_is(browser, "/sign-in").await;
    sign_in(browser, officer).await;
    path_is(browser, "/sign-in/code").await;
    accessible(browser, "code").await;
    screenshot(browser, &shot("sign-in-code")).await;
    // The code that confirmed the enrolment is spent.
    type_into(browser, "code", &authenticator_code(&key, enrolled_at)).await;
    click(browser, "//button[text()='Sign in']").await;
    let problem = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("p.problem"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(problem.contains("wrong, or was used already"), "{problem}");
    // The app's next one signs in, back to where the person was going.
    type_into(browser, "code", &authenticator_code(&key, enrolled_at + 30)).await;
    click(browser, "//button[text()='Sign in']").await;
    path_is(browser, "/cases").await;

    // A lost phone: a recovery code, as read off paper.
    click(browser, "//button[text()='Sign out']").await;
    path_is(browser, "/sign-in").await;
    sign_in(browser, officer).await;
    path_is(browser, "/sign-in/code").await;
    type_into(browser, "code", &codes[0].to_lowercase()).await;
    click(browser, "//button[text()='Sign in']").await;
    path_is(browser, "/cases").await;

    // The account page (second factor, sessions) and, once the officer runs
    // the agency's accounts, the organisation's page.
    browser.goto(&app.url("/account")).await.unwrap();
    accessible(browser, "account").await;
    screenshot(browser, &shot("account")).await;
    {
        let state = app.state.clone();
        actix_web::web::block(move || {
            let mut conn = state.pool.get().unwrap();
            let user = mlat::repo::users::find_by_email(&mut conn, "officer@gb.test.example")
                .unwrap()
                .unwrap();
            mlat::repo::users::set_org_admin(&mut conn, &user.id, true, mlat::time::UtcTime::now())
                .unwrap();
            // The platform administrator asks for a colleague there.
            let admin = mlat::repo::users::find_by_email(&mut conn, "admin@test.example")
                .unwrap()
                .unwrap();
            let invitation = mlat::service::stewardship::Invitation {
                email: mlat::domain::validation::Email::parse("newcomer@gb.test.example").unwrap(),
                name: "Nia Newcomer".into(),
                role: mlat::domain::reference::Role::LiaisonOfficer,
                organisation_id: user.organisation_id.clone(),
                org_admin: false,
            };
            let hash = mlat::service::stewardship::unusable_password_hash().unwrap();
            let proposed = mlat::db::write_tx(&mut conn, |conn| {
                mlat::service::stewardship::invite(
                    conn,
                    &admin.id,
                    invitation,
                    hash,
                    "http://localhost",
                )
            })
            .unwrap();
            assert!(matches!(
                proposed,
                mlat::service::stewardship::Invited::Proposed(_)
            ));
        })
        .await
        .unwrap();
    }
    browser.goto(&app.url("/organisation")).await.unwrap();
    click(browser, "//a[text()='Your organisation']").await;
    path_is(browser, "/organisation").await;
    accessible(browser, "organisation").await;
    browser.set_window_size(1280, 1800).await.unwrap();
    screenshot(browser, &shot("organisation")).await;
    // A webhook: its secret is shown on the page that registers it, once.
    type_into(browser, "webhook-url", "https://93.184.215.14/mlat/events").await;
    click(browser, "//input[@id='webhook-request.updated']").await;
    click(
        browser,
        "//button[normalize-space()='Register the webhook']",
    )
    .await;
    let secret = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//div[@role='status']//code"))
        .await
        .expect("the secret, shown once")
        .text()
        .await
        .unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    accessible(browser, "webhook registered").await;
    screenshot(browser, &shot("webhook-secret")).await;
    browser.goto(&app.url("/organisation")).await.unwrap();
    assert!(!browser.source().await.unwrap().contains(&secret));
    browser.set_window_size(1280, 900).await.unwrap();
    // The officer approves the proposed colleague, who is invited.
    click(browser, "//button[text()='Approve']").await;
    wait_for_query(browser, "done=approved").await;
    assert!(notice(browser).await.contains("Approved"));
    app.link_sent_to("newcomer@gb.test.example").await;
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// axe-core's own script (MLAT_TEST_AXE names `axe.min.js`; `.ci/run` takes
/// it from the npm registry), run on the page shown: no serious or critical
/// violation of the rules it checks (WCAG 2 A and AA among them).
async fn accessible(browser: &Client, page: &str) {
    let path = std::env::var("MLAT_TEST_AXE")
        .expect("MLAT_TEST_AXE names axe-core's axe.min.js (README: browser tests)");
    let axe = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    browser.execute(&axe, vec![]).await.expect("axe-core loads");
    let found = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                   where: v.nodes.map(n => n.target.join(' ')).slice(0, 3) }))))
               .catch(e => done([{ id: 'axe-failed', impact: 'critical', help: String(e) }]));",
            vec![],
        )
        .await
        .expect("axe-core ran");
    let grave: Vec<&serde_json::Value> = found
        .as_array()
        .expect("a list of violations")
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(grave.is_empty(), "{page}: {grave:#?}");
}

/// Clicks what `xpath` names once the page shows it (a click that
/// navigates may return before the next page has loaded).
async fn click(browser: &Client, xpath: &str) {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn wait_for_query(browser: &Client, part: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let at = browser.current_url().await.unwrap();
        if at.query().is_some_and(|q| q.contains(part)) {
            return;
        }
        assert!(Instant::now() < deadline, "never reached ?{part}: at {at}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn notice(browser: &Client) -> String {
    browser
        .find(Locator::Css(".notice"))
        .await
        .expect("a notice")
        .text()
        .await
        .unwrap()
}

/// The link the provider was e-mailed for `request_id`: its path, on the test
/// server.
async fn e_mailed_link(app: &TestApp, request_id: &str) -> String {
    let (state, id) = (app.state.clone(), request_id.to_owned());
    let messages = actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        mlat::repo::outbox::for_request(&mut conn, &id).unwrap()
    })
    .await
    .unwrap();
    let message = messages
        .iter()
        .find(|m| m.recipient_email == "provider@ie.test.example")
        .expect("the provider was e-mailed");
    let at = message
        .body
        .find("http://localhost/requests/")
        .expect("a link");
    let link = message.body[at..].split_whitespace().next().unwrap();
    app.url(link.trim_start_matches("http://localhost"))
}

async fn a_providers_day(app: &TestApp, browser: &Client, backend: Backend) {
    use sha2::Digest;
    let net = app.network().await;
    let w = &net.w;
    let tag = format!("{backend:?}").to_lowercase();
    let shot = |name: &str| format!("{tag}-{name}");
    let case_id = open_case(app, &w.officer).await;
    let request = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let reference = request["reference"].as_str().unwrap().to_owned();
    let link = e_mailed_link(app, request["id"].as_str().unwrap()).await;

    // The e-mail's link, signed out: the sign-in page, then the request.
    browser.goto(&link).await.unwrap();
    let at = browser.current_url().await.unwrap();
    assert_eq!(at.path(), "/sign-in", "{at}");
    accessible(browser, "sign-in").await;
    screenshot(browser, &shot("sign-in")).await;
    sign_in(browser, "provider@ie.test.example").await;
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_url(&url::Url::parse(&link).unwrap())
        .await
        .expect("back on the request after signing in");
    let heading = browser
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, reference);
    let page = browser.source().await.unwrap();
    for shown in ["sunny_day_2011", "198.51.100.23", "Clocks", "Sign out"] {
        assert!(page.contains(shown), "{shown} is not on the page");
    }
    // The stylesheet loaded under the page's policy: the bar is coloured.
    let bar = browser.find(Locator::Css("header.bar")).await.unwrap();
    let colour = bar.css_value("background-color").await.unwrap();
    assert_eq!(
        colour, "rgba(11, 79, 138, 1)",
        "the stylesheet did not apply"
    );
    accessible(browser, "request").await;
    screenshot(browser, &shot("request")).await;

    // Acknowledged, with the provider's own reference.
    click(
        browser,
        "//summary[normalize-space()='Acknowledge receipt']",
    )
    .await;
    browser
        .find(Locator::Id("acknowledge-provider_reference"))
        .await
        .unwrap()
        .send_keys("LE-2027-0042")
        .await
        .unwrap();
    click(browser, "//button[normalize-space()='Acknowledge']").await;
    wait_for_query(browser, "done=acknowledge").await;
    assert!(notice(browser).await.contains("Done: acknowledge"));

    // Preserved until a day a year from now (set as the date picker would).
    let until = (chrono::Utc::now() + chrono::TimeDelta::days(365)).date_naive();
    click(
        browser,
        "//summary[normalize-space()='Confirm preservation']",
    )
    .await;
    browser
        .execute(
            "document.getElementById('preserve-preserved_until').value = arguments[0];",
            vec![json!(until.to_string())],
        )
        .await
        .unwrap();
    accessible(browser, "request with a form open").await;
    screenshot(browser, &shot("answer")).await;
    click(
        browser,
        "//button[normalize-space()='Confirm preservation']",
    )
    .await;
    wait_for_query(browser, "done=preserve").await;
    let page = browser.source().await.unwrap();
    assert!(
        page.contains(&format!("{until} 00:00 UTC")),
        "no preserved-until date"
    );
    assert!(page.contains("LE-2027-0042"));

    // A production order arrives: its link, the inbox, the upload, fulfilment.
    let de_case = open_case(app, &net.officer_de).await;
    let order = transmitted(
        app,
        &net.officer_de,
        &net.ca_de,
        json!({
            "case_id": de_case, "kind": "production", "legal_basis": "eu-epoc",
            "responder_id": w.ie_provider, "data_categories": ["subscriber"],
            "identifiers": [{"type": "account", "value": "quiet_fox_77"}],
            "facts": "Extortion of a minor.", "necessity": "To identify the account holder.",
            "relevance": "The account sent the demands."
        }),
    )
    .await;
    let order_ref = order["reference"].as_str().unwrap().to_owned();
    let order_link = e_mailed_link(app, order["id"].as_str().unwrap()).await;
    let order_link = order_link.trim_start_matches(&app.url("")).to_owned();
    browser.goto(&app.url("/inbox")).await.unwrap();
    let inbox = browser.source().await.unwrap();
    let (first, second) = (
        inbox.find(&order_ref).unwrap(),
        inbox.find(&reference).unwrap(),
    );
    assert!(
        first < second,
        "the order (10 days) comes before the preservation (90)"
    );
    accessible(browser, "inbox").await;
    screenshot(browser, &shot("inbox")).await;
    // On a tablet held upright, nothing runs off the side of the screen.
    browser.set_window_size(820, 1180).await.unwrap();
    for page in ["/inbox", "/at-risk", order_link.as_str()] {
        browser.goto(&app.url(page)).await.unwrap();
        let fits = browser
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(fits, json!(true), "{page} is wider than a tablet");
    }
    browser.goto(&app.url("/inbox")).await.unwrap();
    screenshot(browser, &shot("inbox-tablet")).await;
    browser.set_window_size(1280, 900).await.unwrap();
    browser.goto(&app.url(&order_link)).await.unwrap();

    let export =
        b"account,name,email,created\nquiet_fox_77,J. Doe,jd@example.net,2024-03-01\n".repeat(4000);
    let sha = mlat::domain::evidence::hex(&sha2::Sha256::digest(&export));
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{tag}-subscriber-export.csv"));
    std::fs::write(&file, &export).unwrap();
    browser
        .find(Locator::Id("sha256"))
        .await
        .unwrap()
        .send_keys(&sha)
        .await
        .unwrap();
    browser
        .find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    screenshot(browser, &shot("upload")).await;
    click(browser, "//form[@data-upload]//button[@type='submit']").await;
    wait_for_query(browser, "done=evidence").await;
    let hash_shown = browser
        .find(Locator::Css("code.hash"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(hash_shown, sha, "the SHA-256 on the page is the file's");
    assert!(notice(browser).await.contains("compare its SHA-256"));
    accessible(browser, "request with evidence").await;
    screenshot(browser, &shot("evidence")).await;

    click(browser, "//summary[normalize-space()='Fulfil']").await;
    click(browser, "//button[normalize-space()='Fulfil the request']").await;
    wait_for_query(browser, "done=fulfil").await;
    let status = app
        .get(
            &format!("/api/v1/requests/{}", order["id"].as_str().unwrap()),
            &w.provider,
        )
        .await;
    assert_eq!(status.json["status"], "fulfilled");
    // Once the watcher's pass has anchored them, the page offers a signed
    // receipt of each step with its proof.
    app.checkpoint().await;
    browser
        .goto(&app.url(&format!(
            "/requests/{}#receipts",
            order["id"].as_str().unwrap()
        )))
        .await
        .unwrap();
    let receipts = browser
        .find(Locator::Css("table.receipts"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for step in [
        "Evidence delivered",
        "Request fulfilled",
        "Yes: the receipt carries its proof",
    ] {
        assert!(receipts.contains(step), "{receipts}");
    }
    accessible(browser, "request with receipts").await;
    screenshot(browser, &shot("receipts")).await;
    browser.goto(&app.url("/at-risk")).await.unwrap();
    accessible(browser, "at-risk").await;

    // Another provider, following the same link, sees nothing of it.
    browser.delete_all_cookies().await.unwrap();
    browser.goto(&link).await.unwrap();
    sign_in(browser, "provider@nl.test.example").await;
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_url(&url::Url::parse(&link).unwrap())
        .await
        .unwrap();
    let page = browser.source().await.unwrap();
    assert!(page.contains("There is no page at this address"));
    assert!(!page.contains(&reference));
    accessible(browser, "not found").await;
    screenshot(browser, &shot("not-found")).await;
}

/// Signs out (the session's cookie forgotten) and in again as `email`.
async fn as_person(app: &TestApp, browser: &Client, email: &str) {
    browser.delete_all_cookies().await.unwrap();
    browser.goto(&app.url("/sign-in")).await.unwrap();
    sign_in(browser, email).await;
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("nav.account"))
        .await
        .expect("signed in");
}

async fn type_into(browser: &Client, id: &str, text: &str) {
    let field = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}"));
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn choose(browser: &Client, id: &str, value: &str) {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}"))
        .select_by_value(value)
        .await
        .unwrap();
}

/// An officer opens a case and files an Art. 29 request through the guided
/// form (refused in place without one of its items), a central authority
/// approves it from its queue, the executing authority answers that the data
/// is with a provider, and the officer's prefilled follow-up joins the trail.
async fn the_issuing_side(app: &TestApp, browser: &Client, backend: Backend) {
    let net = app.network().await;
    let tag = format!("{backend:?}").to_lowercase();
    let shot = |name: &str| format!("{tag}-{name}");

    // The officer starts from the agency's cases and opens one.
    as_person(app, browser, "officer@gb.test.example").await;
    assert_eq!(browser.current_url().await.unwrap().path(), "/cases");
    click(browser, "//a[normalize-space()='Open a case']").await;
    accessible(browser, "new case").await;
    type_into(browser, "reference", "OP-HARBOUR").await;
    type_into(browser, "title", "Extortion over a game chat").await;
    click(browser, "//input[@name='offence.sexual_extortion']").await;
    type_into(browser, "summary", "A 14-year-old was made to send images.").await;
    click(browser, "//button[normalize-space()='Open the case']").await;
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//a[normalize-space()='File a request']"))
        .await
        .expect("the case page");
    accessible(browser, "empty case").await;

    // The guided form: whom, under what, then what that basis asks.
    click(browser, "//a[normalize-space()='File a request']").await;
    choose(browser, "responder", &net.nl_ca).await;
    click(browser, "//button[normalize-space()='Continue']").await;
    accessible(browser, "request form, bases").await;
    click(browser, "//input[@name='basis' and @value='budapest-29']").await;
    click(browser, "//button[normalize-space()='Continue']").await;
    click(browser, "//input[@name='category.subscriber']").await;
    click(browser, "//input[@name='category.traffic']").await;
    type_into(browser, "id0-value", "harbour_kid").await;
    choose(browser, "id1-type", "ip").await;
    type_into(browser, "id1-value", "198.51.100.23").await;
    type_into(browser, "id1-port", "40112").await;
    type_into(browser, "id1-observed_at", "2026-11-20T21:15:03+01:00").await;
    browser
        .execute(
            "document.getElementById('date_from').value = '2026-11-01';
             document.getElementById('date_to').value = '2026-11-25';",
            vec![],
        )
        .await
        .unwrap();
    type_into(
        browser,
        "facts",
        "A 14-year-old was made to send images over a game chat.",
    )
    .await;
    type_into(browser, "custodian", "The platform's Dutch subsidiary.").await;
    type_into(
        browser,
        "necessity",
        "The platform deletes its logs after 30 days.",
    )
    .await;
    accessible(browser, "request form").await;
    // The whole form in one picture, for docs/portal.md.
    browser.set_window_size(1280, 3000).await.unwrap();
    screenshot(browser, &shot("request-form")).await;
    browser.set_window_size(1280, 900).await.unwrap();
    click(
        browser,
        "//button[normalize-space()='Save and submit for approval']",
    )
    .await;
    // Refused in place: the relation of the data to the offence is missing
    // (waited for: the click may return before the answer's page is shown).
    let problem = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("relevance-problem"))
        .await
        .expect("the problem next to the field")
        .text()
        .await
        .unwrap();
    assert!(problem.contains("Art. 29(2)(c)"), "{problem}");
    assert!(notice(browser).await.contains("Saved as draft"));
    accessible(browser, "request form refused").await;
    browser
        .execute(
            "document.getElementById('relevance-problem').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await
        .unwrap();
    screenshot(browser, &shot("request-form-refused")).await;
    type_into(browser, "relevance", "The account sent the demands.").await;
    click(
        browser,
        "//button[normalize-space()='Save and submit for approval']",
    )
    .await;
    wait_for_query(browser, "done=submit").await;
    let reference = browser
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let request_url = browser.current_url().await.unwrap();
    let request_path = request_url.path().to_owned();

    // The central authority approves it from its queue.
    as_person(app, browser, "ca@gb.test.example").await;
    browser.goto(&app.url("/approvals")).await.unwrap();
    assert!(browser.source().await.unwrap().contains(&reference));
    accessible(browser, "approvals").await;
    screenshot(browser, &shot("approvals")).await;
    click(browser, &format!("//a[normalize-space()='{reference}']")).await;
    accessible(browser, "request to approve").await;
    click(browser, "//summary[normalize-space()='Approve']").await;
    click(browser, "//button[normalize-space()='Approve']").await;
    wait_for_query(browser, "done=approve").await;

    // The officer transmits it (after a look at their own account page).
    as_person(app, browser, "officer@gb.test.example").await;
    click(browser, "//a[@href='/account']").await;
    accessible(browser, "account").await;
    screenshot(browser, &shot("account")).await;
    browser.goto(&app.url(&request_path)).await.unwrap();
    click(
        browser,
        "//summary[normalize-space()='Transmit to the responder']",
    )
    .await;
    click(browser, "//button[normalize-space()='Transmit']").await;
    wait_for_query(browser, "done=transmit").await;

    // The executing authority answers that a provider in Ireland holds it.
    as_person(app, browser, "ca@nl.test.example").await;
    browser.goto(&app.url("/inbox")).await.unwrap();
    click(browser, &format!("//a[normalize-space()='{reference}']")).await;
    // First it has the Dutch provider preserve what it can (a domestic order).
    click(
        browser,
        "//summary[normalize-space()='Have a provider in NL execute it']",
    )
    .await;
    choose(browser, "order-provider", &net.nl_provider).await;
    type_into(
        browser,
        "order-facts",
        "Preserve the account named; a request from abroad follows.",
    )
    .await;
    click(browser, "//button[normalize-space()='Send the order']").await;
    wait_for_query(browser, "done=domestic-order").await;
    let executed = browser
        .find(Locator::XPath(
            "//h2[@id='orders']/following-sibling::table[1]",
        ))
        .await
        .expect("the orders executing the request")
        .text()
        .await
        .unwrap();
    assert!(executed.contains("NL Provider"), "{executed}");
    assert!(executed.contains("transmitted"), "{executed}");
    accessible(browser, "executed through").await;
    screenshot(browser, &shot("executed-through")).await;
    click(
        browser,
        "//summary[normalize-space()='Report that the data is elsewhere']",
    )
    .await;
    choose(browser, "report-moved-to_provider_id", &net.w.ie_provider).await;
    type_into(browser, "report-moved-to_jurisdiction", "IE").await;
    type_into(
        browser,
        "report-moved-note",
        "The service is run from Dublin.",
    )
    .await;
    click(browser, "//button[normalize-space()='Send the report']").await;
    wait_for_query(browser, "done=report-moved").await;

    // The answer waits to be read on the officer's board; one click from it
    // to a follow-up addressed there.
    as_person(app, browser, "officer@gb.test.example").await;
    browser.goto(&app.url("/at-risk")).await.unwrap();
    assert!(browser.source().await.unwrap().contains("report moved"));
    accessible(browser, "board with an answer to read").await;
    screenshot(browser, &shot("board-unread")).await;
    browser.goto(&app.url(&request_path)).await.unwrap();
    let page = browser.source().await.unwrap();
    assert!(page.contains("Executed through") && page.contains("NL Provider"));
    assert!(
        !page.contains("Have a provider in"),
        "the officer orders nobody"
    );
    click(browser, "//a[normalize-space()='File a follow-up there']").await;
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("IE Provider (IE, service provider)"),
        "not addressed there"
    );
    click(
        browser,
        "//input[@name='basis' and @value='provider-voluntary']",
    )
    .await;
    click(browser, "//button[normalize-space()='Continue']").await;
    // The next page, once it has loaded.
    let value = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("id0-value"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        value.as_deref(),
        Some("harbour_kid"),
        "prefilled from the request"
    );
    // The provider's retention of what was seen, said as it is typed.
    click(browser, "//input[@name='category.identification']").await;
    type_into(browser, "id1-observed_at", "2026-11-20T21:15:03+00:00").await;
    browser
        .find(Locator::Id("facts"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let risk = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            // Said "gone from" before that day and "gone since" after it.
            "//p[@data-risk][contains(., 'The responder keeps identification data 25 days: gone')][contains(., '2026-12-15 21:15 UTC')]",
        ))
        .await
        .expect("the retention risk, shown by the script")
        .text()
        .await
        .unwrap();
    assert!(risk.contains("2026-12-15 21:15 UTC"), "{risk}");
    accessible(browser, "follow-up form").await;
    screenshot(browser, &shot("follow-up-form")).await;
    click(browser, "//button[normalize-space()='Save the draft']").await;
    wait_for_query(browser, "saved=1").await;

    // The case shows the trail across providers and countries.
    click(browser, "//a[normalize-space()='OP-HARBOUR']").await;
    let trail = browser
        .find(Locator::Css("ol.trail"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for shown in [
        reference.as_str(),
        "NL Central Authority",
        "Data reported moved to IE Provider in IE",
        "IE Provider",
    ] {
        assert!(
            trail.contains(shown),
            "{shown} is not on the trail: {trail}"
        );
    }
    browser
        .find(Locator::Css("ol.trail li.depth-1"))
        .await
        .expect("the follow-up under the request it follows");
    accessible(browser, "case trail").await;
    screenshot(browser, &shot("case-trail")).await;
    click(
        browser,
        "//nav[@aria-label='Your work']//a[normalize-space()='Cases']",
    )
    .await;
    accessible(browser, "cases").await;
    screenshot(browser, &shot("cases")).await;

    // An administrator makes the last day of a European Production Order's
    // period a public holiday in Ireland: the order's page shows the clock
    // rolled to the next working day.
    let de_case = open_case(app, &net.officer_de).await;
    let order = transmitted(
        app,
        &net.officer_de,
        &net.ca_de,
        json!({
            "case_id": de_case, "kind": "production", "legal_basis": "eu-epoc",
            "responder_id": net.w.ie_provider, "data_categories": ["subscriber"],
            "identifiers": [{"type": "account", "value": "quiet_fox_77"}],
            "facts": "Extortion of a minor.", "necessity": "To identify the account holder.",
            "relevance": "The account sent the demands."
        }),
    )
    .await;
    let order_path = format!("/requests/{}", order["id"].as_str().unwrap());
    // The UTC cell after the clock's name on the request page.
    let clock = |page: &str| -> String {
        let marker = "<td>response due</td>";
        let from = page.find(marker).expect("the response clock") + marker.len();
        let cell = &page[from..];
        let start = cell.find('>').unwrap() + 1;
        cell[start..start + cell[start..].find('<').unwrap()].to_owned()
    };
    as_person(app, browser, "provider@ie.test.example").await;
    browser.goto(&app.url(&order_path)).await.unwrap();
    let before = clock(&browser.source().await.unwrap());
    // Due at the end of the last day, shown as the midnight that ends it.
    let end = chrono::NaiveDateTime::parse_from_str(&before[..16], "%Y-%m-%d %H:%M").unwrap();
    let last_day = (end - chrono::TimeDelta::minutes(1)).date();

    as_person(app, browser, "admin@test.example").await;
    assert_eq!(browser.current_url().await.unwrap().path(), "/admin");
    accessible(browser, "administration").await;
    click(
        browser,
        "//nav[@aria-label='Administration']//a[normalize-space()='Jurisdictions']",
    )
    .await;
    accessible(browser, "jurisdictions").await;
    click(browser, "//a[normalize-space()='IE']").await;
    browser
        .execute(
            "document.getElementById('holiday').value = arguments[0];",
            vec![json!(last_day.to_string())],
        )
        .await
        .unwrap();
    click(browser, "//button[normalize-space()='Add the holiday']").await;
    wait_for_query(browser, "done=").await;
    assert!(notice(browser).await.contains("recomputed"));
    accessible(browser, "jurisdiction").await;
    screenshot(browser, &shot("admin-holidays")).await;
    for page in [
        "/admin/organisations",
        "/admin/accounts",
        "/admin/outbox",
        "/admin?verify=1",
    ] {
        browser.goto(&app.url(page)).await.unwrap();
        accessible(browser, page).await;
        let name = page.trim_start_matches('/').replace(['/', '?', '='], "-");
        screenshot(browser, &shot(&name)).await;
    }

    as_person(app, browser, "provider@ie.test.example").await;
    browser.goto(&app.url(&order_path)).await.unwrap();
    let after = clock(&browser.source().await.unwrap());
    assert!(after > before, "the clock did not roll: {before} → {after}");
}
