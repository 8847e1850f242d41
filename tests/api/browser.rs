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

/// chromedriver on a port of its own, stopped with the test.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let path = std::env::var("MLAT_TEST_CHROMEDRIVER").expect("MLAT_TEST_CHROMEDRIVER");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
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

async fn click(browser: &Client, xpath: &str) {
    browser
        .find(Locator::XPath(xpath))
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
