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

mod the_link_in_an_e_mail_signs_the_provider_in_and_opens_its_request {
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
            a_providers_link(app, &browser, backend).await;
            browser.close().await.unwrap();
        },
    )
    .await
}

async fn a_providers_link(app: &TestApp, browser: &Client, backend: Backend) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let request = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let reference = request["reference"].as_str().unwrap().to_owned();
    let link = app.url(&format!("/requests/{}", request["id"].as_str().unwrap()));
    let tag = format!("{backend:?}").to_lowercase();

    // The e-mail's link, signed out: the sign-in page, then the request.
    browser.goto(&link).await.unwrap();
    let at = browser.current_url().await.unwrap();
    assert_eq!(at.path(), "/sign-in", "{at}");
    screenshot(browser, &format!("{tag}-sign-in")).await;
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
    screenshot(browser, &format!("{tag}-request")).await;

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
    screenshot(browser, &format!("{tag}-not-found")).await;
}
