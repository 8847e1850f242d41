//! The web portal over HTTP, as a browser without JavaScript uses it: cookies,
//! forms, redirects, headers. (The browser test drives a real Chromium.)

use std::collections::BTreeMap;

use awc::http::StatusCode;
use awc::http::header::HeaderMap;

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp};
use crate::workflow::{open_case, preservation, transmitted};

backend_tests!(
    a_person_signs_in_lands_on_the_page_they_asked_for_and_signs_out,
    the_sign_in_form_refuses_what_it_did_not_issue_and_says_what_is_wrong,
    only_pages_of_this_site_are_followed_after_sign_in,
    a_session_cookie_never_opens_the_api,
    unknown_pages_are_a_page_and_unknown_api_paths_a_problem,
    an_idle_session_ends_and_a_deactivated_account_loses_its_sessions,
    pages_carry_a_strict_policy_and_are_never_cached,
    the_link_in_an_e_mail_opens_the_request_for_its_provider_and_no_one_else,
    the_inbox_puts_the_soonest_deadline_first_and_narrows_as_asked,
    the_migration_fills_in_the_inbox_order_as_storing_deadlines_keeps_it,
    a_provider_answers_through_forms_and_a_stale_page_says_so,
    the_at_risk_board_shows_what_falls_due_soonest_to_whoever_may_see_it,
    evidence_goes_up_from_a_form_and_comes_back_unaltered,
    a_person_changes_their_password_from_their_account_page,
    a_person_ends_a_session_left_open_in_another_browser,
    a_person_sets_up_and_replaces_their_second_factor_from_their_account_page,
);

enum Body {
    Form(Vec<(String, String)>),
    Raw(String, Vec<u8>),
}

/// A form with a file, as a browser posts it: `multipart/form-data`, its
/// fields in the form's order, the file last.
fn multipart(fields: &[(&str, &str)], filename: &str, bytes: &[u8]) -> Body {
    let boundary = "----mlat-test-boundary-7d2f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Body::Raw(format!("multipart/form-data; boundary={boundary}"), body)
}

/// What a browser keeps between requests.
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    client: awc::Client,
    cookies: BTreeMap<String, String>,
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The value of the hidden input `name` in the page's form.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no `{name}` in {}", self.body))
            + marker.len();
        let end = start + self.body[start..].find('"').unwrap();
        self.body[start..end].to_owned()
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            client: awc::Client::builder().disable_redirects().finish(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let body = form.map(|fields| {
            Body::Form(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        });
        self.send_body(method, path, body).await
    }

    async fn send_body(&mut self, method: &str, path: &str, body: Option<Body>) -> Page {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, self.app.url(path));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.insert_header(("cookie", jar.join("; ")));
        }
        let mut response = match body {
            Some(Body::Form(fields)) => request.send_form(&fields).await,
            Some(Body::Raw(content_type, bytes)) => {
                request
                    .insert_header(("content-type", content_type))
                    .send_body(bytes)
                    .await
            }
            None => request.send().await,
        }
        .expect("the server answers");
        let page = Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: String::from_utf8_lossy(&response.body().limit(1 << 20).await.unwrap())
                .into_owned(),
        };
        for set in page.set_cookies() {
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = set.contains("Max-Age=0") || value.is_empty();
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send("POST", path, Some(form)).await
    }

    /// Signs in through the form at `/sign-in?next=..`.
    pub async fn sign_in(&mut self, email: &str, password: &str, next: &str) -> Page {
        let form = self.get(&format!("/sign-in?next={next}")).await;
        assert_eq!(form.status, 200, "{}", form.body);
        let token = form.hidden("form_token");
        let next = form.hidden("next");
        self.post(
            "/sign-in",
            &[
                ("form_token", &token),
                ("next", &next),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }
}

async fn a_person_signs_in_lands_on_the_page_they_asked_for_and_signs_out(app: &TestApp) {
    app.world().await;
    let mut browser = Browser::new(app);
    let start = browser.get("/").await;
    assert_eq!(start.status, 303);
    assert_eq!(start.location(), "/sign-in?next=%2F");

    let signed_in = browser
        .sign_in("provider@ie.test.example", PASSWORD, "%2F")
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.location(), "/");
    let cookie = signed_in
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("mlat_session="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let first_session = browser.cookies["mlat_session"].clone();

    let home = browser.get("/inbox").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("<h1>Inbox</h1>"), "{}", home.body);

    // Signing in again starts a new session and ends the one before.
    browser
        .sign_in("provider@ie.test.example", PASSWORD, "%2F")
        .await;
    assert_ne!(browser.cookies["mlat_session"], first_session);
    let mut old = Browser::new(app);
    old.cookies.insert("mlat_session".into(), first_session);
    assert_eq!(
        old.get("/inbox").await.status,
        303,
        "the old session still opens pages"
    );

    // Sign-out is a form: without its token it is refused and nothing ends.
    let forged = browser.post("/sign-out", &[("csrf_token", "forged")]).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(browser.get("/inbox").await.status, 200);
    let home = browser.get("/inbox").await;
    let token = home.hidden("csrf_token");
    let session = browser.cookies["mlat_session"].clone();
    let out = browser.post("/sign-out", &[("csrf_token", &token)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/sign-in");
    assert!(!browser.cookies.contains_key("mlat_session"));

    // The session is gone from the server too, not only from this browser.
    let mut replay = Browser::new(app);
    replay.cookies.insert("mlat_session".into(), session);
    assert_eq!(replay.get("/inbox").await.status, 303);
    // A form posted once the session is over leads to the sign-in, and from
    // there to the start page, not back to the form's address.
    let late = replay.post("/sign-out", &[("csrf_token", &token)]).await;
    assert_eq!(late.status, 303);
    assert_eq!(late.location(), "/sign-in?next=%2F");
}

async fn the_sign_in_form_refuses_what_it_did_not_issue_and_says_what_is_wrong(app: &TestApp) {
    app.world().await;
    let mut browser = Browser::new(app);
    // A form posted from elsewhere: no form cookie to match its token.
    let forged = browser
        .post(
            "/sign-in",
            &[
                ("form_token", "made-up"),
                ("next", "/"),
                ("email", "provider@ie.test.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(
        forged.body.contains("did not come from this site"),
        "{}",
        forged.body
    );
    assert!(!browser.cookies.contains_key("mlat_session"));

    let wrong = browser
        .sign_in("provider@ie.test.example", "not the password", "%2F")
        .await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .body
            .contains("The e-mail address or the password is wrong.")
    );
    // What was typed stays in the form, except the password.
    assert!(
        wrong.body.contains("value=\"provider@ie.test.example\""),
        "{}",
        wrong.body
    );
    assert!(!wrong.body.contains("not the password"));

    // A post that is not the form at all is answered with a page too.
    let garbled = browser.post("/sign-in", &[("email", "x")]).await;
    assert_eq!(garbled.status, 400);
    assert!(
        garbled.header("content-type").starts_with("text/html"),
        "{}",
        garbled.body
    );

    let not_an_address = browser.sign_in("provider", PASSWORD, "%2F").await;
    assert_eq!(not_an_address.status, 422);
    assert!(not_an_address.body.contains("Enter your e-mail address"));

    // The portal counts toward the same lockout as the API.
    for _ in 0..4 {
        browser
            .sign_in("provider@ie.test.example", "still not it", "%2F")
            .await;
    }
    let locked = browser
        .sign_in("provider@ie.test.example", PASSWORD, "%2F")
        .await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(
        locked.body.contains("too many failed sign-ins"),
        "{}",
        locked.body
    );
    let api = app
        .post(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"email": "provider@ie.test.example", "password": PASSWORD}),
        )
        .await;
    assert_eq!(api.status, 429);
}

async fn only_pages_of_this_site_are_followed_after_sign_in(app: &TestApp) {
    app.world().await;
    for (asked, landed) in [
        ("%2Frequests%2Fabc%3Fx%3D1", "/requests/abc?x=1"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2F%2Fevil.example%2F", "/"),
        ("%2F%5Cevil.example", "/"),
    ] {
        let mut browser = Browser::new(app);
        let signed_in = browser
            .sign_in("officer@gb.test.example", PASSWORD, asked)
            .await;
        assert_eq!(signed_in.status, 303, "{asked}");
        assert_eq!(signed_in.location(), landed, "{asked}");
    }
}

async fn a_session_cookie_never_opens_the_api(app: &TestApp) {
    app.world().await;
    let mut browser = Browser::new(app);
    browser
        .sign_in("officer@gb.test.example", PASSWORD, "%2F")
        .await;
    // An officer starts from the agency's cases.
    assert_eq!(browser.get("/").await.location(), "/cases");
    assert_eq!(browser.get("/cases").await.status, 200);
    let api = browser.get("/api/v1/me").await;
    assert_eq!(api.status, 401, "{}", api.body);
    assert_eq!(api.header("content-type"), "application/problem+json");
}

async fn unknown_pages_are_a_page_and_unknown_api_paths_a_problem(app: &TestApp) {
    let mut browser = Browser::new(app);
    let page = browser.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(
        page.body.contains("There is no page at this address"),
        "{}",
        page.body
    );
    let api = browser.get("/api/v1/no-such-thing").await;
    assert_eq!(api.status, 404);
    assert_eq!(api.header("content-type"), "application/problem+json");
}

async fn an_idle_session_ends_and_a_deactivated_account_loses_its_sessions(app: &TestApp) {
    use diesel::prelude::*;
    use mlat::db::schema::portal_sessions;
    let w = app.world().await;
    let mut browser = Browser::new(app);
    browser
        .sign_in("officer@gb.test.example", PASSWORD, "%2F")
        .await;
    // An officer starts from the agency's cases.
    assert_eq!(browser.get("/").await.location(), "/cases");
    assert_eq!(browser.get("/cases").await.status, 200);
    let mut elsewhere = Browser::new(app);
    elsewhere
        .sign_in("ca@gb.test.example", PASSWORD, "%2F")
        .await;
    // Half an hour without a page, as the clock of the database sees it.
    let state = app.state.clone();
    actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        let long_ago = mlat::time::UtcTime::now() - chrono::TimeDelta::minutes(31);
        diesel::update(portal_sessions::table)
            .set(portal_sessions::last_seen_at.eq(long_ago))
            .execute(&mut *conn)
            .unwrap();
    })
    .await
    .unwrap();
    let idle = browser.get("/?from=mail").await;
    assert_eq!(idle.status, 303);
    assert_eq!(idle.location(), "/sign-in?next=%2F%3Ffrom%3Dmail");
    assert_eq!(count_sessions(app).await, 1, "the idle session is removed");
    // The other one goes with the housekeeping that runs with the watcher.
    let state = app.state.clone();
    let purged = actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        mlat::service::housekeeping::purge(&mut conn, &state.writers, mlat::time::UtcTime::now())
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(purged.portal_sessions, 1);
    assert_eq!(count_sessions(app).await, 0);

    browser
        .sign_in("officer@gb.test.example", PASSWORD, "%2F")
        .await;
    assert_eq!(count_sessions(app).await, 1);
    let off = app
        .patch(
            &format!("/api/v1/users/{}", w.officer_id),
            &w.admin,
            serde_json::json!({"active": false}),
        )
        .await;
    assert_eq!(off.status, 200, "{:?}", off.json);
    assert_eq!(
        count_sessions(app).await,
        0,
        "deactivation ends every session"
    );
    assert_eq!(browser.get("/").await.status, 303);
}

async fn count_sessions(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use mlat::db::schema::portal_sessions;
    let state = app.state.clone();
    actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        portal_sessions::table
            .count()
            .get_result::<i64>(&mut *conn)
            .unwrap()
    })
    .await
    .unwrap()
}

async fn pages_carry_a_strict_policy_and_are_never_cached(app: &TestApp) {
    app.world().await;
    let mut browser = Browser::new(app);
    let form = browser.get("/sign-in").await;
    let sign_in_cookie = form
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("mlat_sign_in="))
        .expect("the form's cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/sign-in"] {
        assert!(sign_in_cookie.contains(attribute), "{sign_in_cookie}");
    }
    browser
        .sign_in("officer@gb.test.example", PASSWORD, "%2F")
        .await;
    for path in [
        "/sign-in",
        "/inbox",
        "/at-risk",
        "/cases",
        "/cases/new",
        "/no/such/page",
    ] {
        let page = browser.get(path).await;
        assert_eq!(
            page.header("content-security-policy"),
            mlat::portal::CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert!(
            page.header("content-security-policy")
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(page.header("cache-control"), "no-store", "{path}");
        assert_eq!(page.header("x-content-type-options"), "nosniff", "{path}");
        assert!(!page.header("referrer-policy").is_empty(), "{path}");
    }
    // No inline script or style on any page: the policy would block it.
    let home = browser.get("/cases").await;
    assert!(!home.body.contains("<script"), "{}", home.body);
    assert!(!home.body.contains("style="), "{}", home.body);
    let css = browser.get("/assets/portal.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").starts_with("text/css"));
}

async fn the_link_in_an_e_mail_opens_the_request_for_its_provider_and_no_one_else(app: &TestApp) {
    let net = app.network().await;
    let w = &net.w;
    let case_id = open_case(app, &w.officer).await;
    let mut body = preservation(Some(&case_id), &w.ie_provider);
    body["facts"] = json!("Chats with <script>alert(1)</script> in them.");
    let request = transmitted(app, &w.officer, &w.ca, body).await;
    let id = request["id"].as_str().unwrap();
    let reference = request["reference"].as_str().unwrap();
    let link = format!("/requests/{id}");

    // Signed out, the link asks for a sign-in and comes back to the request.
    let mut provider = Browser::new(app);
    let first = provider.get(&link).await;
    assert_eq!(first.status, 303);
    let next = first
        .location()
        .strip_prefix("/sign-in?next=")
        .unwrap()
        .to_owned();
    let signed_in = provider
        .sign_in("provider@ie.test.example", PASSWORD, &next)
        .await;
    assert_eq!(signed_in.location(), link);
    let page = provider.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        reference,
        "sunny_day_2011",
        "198.51.100.23",
        "40112",
        "2026-11-20T21:15:03Z",
        "Do not tell the account holder",
        "The provider deletes connection logs after 25 days.",
    ] {
        assert!(
            page.body.contains(shown),
            "{shown} missing from {}",
            page.body
        );
    }
    // Its history from the transmission on, as the API gives it to a provider:
    // not the drafting and approval inside the issuing side.
    let history = &page.body[page.body.find("<h2>History</h2>").expect("a history")..];
    assert!(history.contains("<td>transmit</td>"), "{history}");
    for hidden in ["<td>created</td>", "<td>submit</td>", "<td>approve</td>"] {
        assert!(
            !history.contains(hidden),
            "{hidden} shown to the provider: {history}"
        );
    }
    // What the issuing side typed is shown as text, never run.
    assert!(!page.body.contains("<script>alert(1)</script>"));
    assert!(
        page.body.contains("Chats with &#60;script&#62;alert(1)"),
        "{}",
        page.body
    );

    // Another provider following the same link gets the page for nothing there.
    let mut other = Browser::new(app);
    other
        .sign_in("provider@nl.test.example", PASSWORD, "%2F")
        .await;
    let refused = other.get(&link).await;
    assert_eq!(refused.status, 404);
    assert!(!refused.body.contains(reference), "{}", refused.body);
    assert!(refused.body.contains("There is no page at this address"));
    let unknown = other
        .get("/requests/00000000-0000-7000-8000-000000000000")
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.body, refused.body,
        "a request that exists is not told apart"
    );
}

/// Where each of `needles` first appears in `haystack`, in that order.
pub(crate) fn in_order(haystack: &str, needles: &[&str]) {
    let places: Vec<usize> = needles
        .iter()
        .map(|n| {
            haystack
                .find(n)
                .unwrap_or_else(|| panic!("{n} missing from {haystack}"))
        })
        .collect();
    assert!(
        places.windows(2).all(|w| w[0] < w[1]),
        "{needles:?} out of order in {haystack}"
    );
}

/// Three requests to the Irish provider, returned as (due last, due
/// second, due first): a voluntary preservation from Britain (90 days), a
/// European Production Order from Germany (10 days), and an emergency from
/// Germany (8 hours), sent in that order.
async fn three_requests(
    app: &TestApp,
    net: &crate::helpers::Network,
) -> (String, String, String, String) {
    let w = &net.w;
    // Sent first, due last: a voluntary preservation (90 days) from Britain.
    let gb_case = open_case(app, &w.officer).await;
    // Without an observation time, so that no retention clock (which runs
    // from the day the identifier was seen) moves it up as the days go by.
    let mut voluntary = preservation(Some(&gb_case), &w.ie_provider);
    voluntary["identifiers"] = json!([{"type": "account", "value": "sunny_day_2011"}]);
    let kept = transmitted(app, &w.officer, &w.ca, voluntary).await;
    // A European Production Order (10 days) from Germany.
    let de_case = open_case(app, &net.officer_de).await;
    let production = json!({
        "case_id": de_case, "kind": "production", "legal_basis": "eu-epoc",
        "responder_id": w.ie_provider, "data_categories": ["subscriber"],
        "identifiers": [{"type": "account", "value": "quiet_fox_77"}],
        "facts": "Extortion of a minor.", "necessity": "To identify the account holder.",
        "relevance": "The account sent the demands."
    });
    let order = transmitted(app, &net.officer_de, &net.ca_de, production).await;
    // Sent last, due first: an emergency (8 hours), transmitted at once.
    let urgent = json!({
        "case_id": de_case, "kind": "emergency_disclosure", "legal_basis": "eu-epoc",
        "responder_id": w.ie_provider, "data_categories": ["subscriber"],
        "identifiers": [{"type": "account", "value": "threat_account"}],
        "facts": "A child announced self-harm tonight.", "necessity": "Imminent threat to life.",
        "relevance": "The account made the threats.",
        "emergency": true, "emergency_justification": "Threat to life within hours."
    });
    let draft = crate::workflow::create(app, &net.officer_de, urgent).await;
    let urgent = crate::workflow::step(app, &net.officer_de, &draft, "transmit", json!({})).await;
    let reference = |r: &serde_json::Value| r["reference"].as_str().unwrap().to_owned();
    let (kept_ref, order_ref, urgent_ref) =
        (reference(&kept), reference(&order), reference(&urgent));

    (
        kept_ref,
        order_ref,
        urgent_ref,
        urgent["id"].as_str().unwrap().to_owned(),
    )
}

async fn the_inbox_puts_the_soonest_deadline_first_and_narrows_as_asked(app: &TestApp) {
    let net = app.network().await;
    let (kept_ref, order_ref, urgent_ref, _) = three_requests(app, &net).await;
    let mut provider = Browser::new(app);
    provider
        .sign_in("provider@ie.test.example", PASSWORD, "%2F")
        .await;
    // The start page of a provider is its inbox.
    let home = provider.get("/").await;
    assert_eq!(
        (home.status, home.location()),
        (StatusCode::SEE_OTHER, "/inbox")
    );
    let inbox = provider.get("/inbox").await;
    assert_eq!(inbox.status, 200, "{}", inbox.body);
    in_order(&inbox.body, &[&urgent_ref, &order_ref, &kept_ref]);
    let urgent_row = &inbox.body[inbox.body.find(&urgent_ref).unwrap()..];
    let urgent_row = &urgent_row[..urgent_row.find("</tr>").unwrap()];
    assert!(urgent_row.contains("Emergency"), "{urgent_row}");
    assert!(urgent_row.contains("response due"), "{urgent_row}");
    assert!(urgent_row.contains("DE Police"), "{urgent_row}");
    assert!(urgent_row.contains("(Europe/Dublin)"), "{urgent_row}");
    assert!(inbox.body.contains("GB Police"));

    // Narrowed: by emergency, by kind, by an identifier, by a reference.
    for (query, shown) in [
        ("emergency=yes", &urgent_ref),
        ("kind=preservation", &kept_ref),
        ("q=SUNNY_DAY", &kept_ref),
        (&format!("q={order_ref}") as &str, &order_ref),
    ] {
        let page = provider.get(&format!("/inbox?{query}")).await;
        assert_eq!(page.status, 200, "{query}: {}", page.body);
        for r in [&urgent_ref, &order_ref, &kept_ref] {
            assert_eq!(page.body.contains(r.as_str()), r == shown, "{query}: {r}");
        }
    }
    let nothing = provider.get("/inbox?q=%25").await;
    assert!(
        nothing.body.contains("No request matches."),
        "{}",
        nothing.body
    );
    let wrong = provider.get("/inbox?status=lost").await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body.contains("status"), "{}", wrong.body);

    // Page by page, one request a page, the same order and nothing twice.
    let viewer = app.viewer_of("provider@ie.test.example").await;
    let state = app.state.clone();
    let walked = actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        let (mut seen, mut after) = (Vec::new(), None);
        loop {
            let page = mlat::service::inbox::page(
                &mut conn,
                &viewer,
                &Default::default(),
                after.as_ref(),
                1,
            )
            .unwrap();
            seen.extend(page.lines.into_iter().map(|l| l.request.reference));
            match page.next {
                Some(next) => after = Some(next),
                None => break seen,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(walked, vec![urgent_ref.clone(), order_ref, kept_ref]);

    // Another provider's inbox holds none of them.
    let mut other = Browser::new(app);
    other
        .sign_in("provider@nl.test.example", PASSWORD, "%2F")
        .await;
    let theirs = other.get("/inbox").await;
    assert!(!theirs.body.contains(&urgent_ref), "{}", theirs.body);
    assert!(
        theirs.body.contains("No request has been addressed"),
        "{}",
        theirs.body
    );
}

/// The section of `page` from `start` up to `end`.
pub(crate) fn section<'p>(page: &'p str, start: &str, end: &str) -> &'p str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("{start} missing from {page}"));
    let rest = &page[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

pub(crate) async fn status_of(app: &TestApp, token: &str, id: &str) -> serde_json::Value {
    app.get(&format!("/api/v1/requests/{id}"), token).await.json
}

/// A preservation from Britain transmitted to the Irish provider, and that
/// provider signed in: the network, the request's id and page, the browser.
async fn provider_with_a_request(
    app: &TestApp,
) -> (crate::helpers::Network, String, String, Browser<'_>) {
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
    let id = request["id"].as_str().unwrap().to_owned();
    let link = format!("/requests/{id}");
    let mut provider = Browser::new(app);
    provider
        .sign_in("provider@ie.test.example", PASSWORD, "%2F")
        .await;
    (net, id, link, provider)
}

async fn a_provider_answers_through_forms_and_a_stale_page_says_so(app: &TestApp) {
    let (net, id, link, mut provider) = provider_with_a_request(app).await;
    let (w, id) = (&net.w, id.as_str());
    let first = provider.get(&link).await;
    assert_eq!(first.status, 200, "{}", first.body);
    for offered in [
        "Acknowledge receipt",
        "Confirm preservation",
        "Refuse",
        "Report that the data is elsewhere",
        "Ask for clarification",
    ] {
        assert!(first.body.contains(offered), "{offered} not offered");
    }
    let token = first.hidden("csrf_token");
    let read_version = first.hidden("version");

    // Forged: refused, and nothing changes.
    let forged = provider
        .post(
            &format!("{link}/acknowledge"),
            &[("csrf_token", "forged"), ("version", &read_version)],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(
        status_of(app, &w.provider, id).await["status"],
        "transmitted"
    );

    // Acknowledged with the provider's own reference.
    let done = provider
        .post(
            &format!("{link}/acknowledge"),
            &[
                ("csrf_token", &token),
                ("version", &read_version),
                ("provider_reference", "LE-2027-0042"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), format!("{link}?done=acknowledge#answer"));
    let now = provider.get(&format!("{link}?done=acknowledge")).await;
    assert!(now.body.contains("Done: acknowledge"), "{}", now.body);
    // The notice says only what the portal did, never words from the address.
    let spoofed = provider
        .get(&format!("{link}?done=call%20+1%20555%200100%20now"))
        .await;
    assert_eq!(spoofed.status, 200);
    assert!(!spoofed.body.contains("Done:"), "{}", spoofed.body);
    assert!(now.body.contains("LE-2027-0042"));
    assert!(
        !now.body.contains("Acknowledge receipt"),
        "acknowledging is offered twice"
    );
    assert_eq!(
        status_of(app, &w.provider, id).await["status"],
        "acknowledged"
    );

    // A question from a form, the answer through the API: both on the page.
    let asked = provider
        .post(
            &format!("{link}/ask-clarification"),
            &[
                ("csrf_token", &token),
                ("version", &now.hidden("version")),
                ("question", "Is the IP address's time in UTC?"),
            ],
        )
        .await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let current = status_of(app, &w.officer, id).await;
    crate::workflow::step(
        app,
        &w.officer,
        &current,
        "answer-clarification",
        json!({ "answer": "Yes: the offset is +00:00." }),
    )
    .await;
    let now = provider.get(&link).await;
    let exchange = section(&now.body, "<h2>Clarifications</h2>", "</ol>");
    assert!(
        exchange.contains("Is the IP address&#39;s time in UTC?"),
        "{exchange}"
    );
    assert!(
        exchange.contains("Yes: the offset is +00:00."),
        "{exchange}"
    );

    // The first page, posted again after someone acted: it says so, and
    // overwrites nothing.
    let stale = provider
        .post(
            &format!("{link}/preserve"),
            &[("csrf_token", &token), ("version", &read_version)],
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(
        stale
            .body
            .contains("Someone acted on this request before you"),
        "{}",
        stale.body
    );
    assert!(
        stale.body.contains("it is now acknowledged"),
        "{}",
        stale.body
    );
    assert_eq!(
        status_of(app, &w.provider, id).await["status"],
        "acknowledged"
    );

    // Refused by the workflow: the message next to the form, what was typed kept.
    let version = now.hidden("version");
    let past = provider
        .post(
            &format!("{link}/preserve"),
            &[
                ("csrf_token", &token),
                ("version", &version),
                ("preserved_until", "2020-01-01"),
            ],
        )
        .await;
    assert_eq!(past.status, 422, "{}", past.body);
    let form = section(&past.body, "<summary>Confirm preservation", "</details>");
    assert!(
        form.contains("preserved until: must be in the future"),
        "{form}"
    );
    assert!(form.contains("value=\"2020-01-01\""), "{form}");
    assert!(
        past.body
            .contains("<details class=\"step\" open>\n    <summary>Confirm preservation"),
        "{}",
        past.body
    );
    let no_ground = provider
        .post(
            &format!("{link}/refuse"),
            &[
                ("csrf_token", &token),
                ("version", &version),
                ("ground", ""),
                ("explanation", "Gone."),
            ],
        )
        .await;
    assert_eq!(no_ground.status, 422, "{}", no_ground.body);
    assert!(section(&no_ground.body, "<summary>Refuse", "</details>").contains("ground:"));

    // Preserved until a day: its first instant in UTC.
    let next_year = (chrono::Utc::now() + chrono::TimeDelta::days(365)).date_naive();
    let kept = provider
        .post(
            &format!("{link}/preserve"),
            &[
                ("csrf_token", &token),
                ("version", &version),
                ("preserved_until", &next_year.to_string()),
            ],
        )
        .await;
    assert_eq!(kept.status, 303, "{}", kept.body);
    let after = status_of(app, &w.provider, id).await;
    assert_eq!(after["status"], "preserved");
    assert_eq!(after["preserved_until"], format!("{next_year}T00:00:00Z"));
    let page = provider.get(&link).await;
    assert!(
        page.body.contains(&format!("{next_year} 00:00 UTC")),
        "{}",
        page.body
    );

    // The issuing side is offered none of the provider's steps, and cannot take them.
    let mut officer = Browser::new(app);
    officer
        .sign_in("officer@gb.test.example", PASSWORD, "%2F")
        .await;
    let theirs = officer.get(&link).await;
    assert_eq!(theirs.status, 200);
    assert!(
        !theirs.body.contains("Confirm the extension"),
        "{}",
        theirs.body
    );
    let officer_token = theirs.hidden("csrf_token");
    let version = status_of(app, &w.officer, id).await["version"].to_string();
    let refused = officer
        .post(
            &format!("{link}/fulfil"),
            &[
                ("csrf_token", &officer_token),
                ("version", &version),
                ("no_data", "yes"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    // Another provider: nothing there.
    let mut other = Browser::new(app);
    other
        .sign_in("provider@nl.test.example", PASSWORD, "%2F")
        .await;
    let other_token = other.get("/inbox").await.hidden("csrf_token");
    let hidden = other
        .post(
            &format!("{link}/fulfil"),
            &[
                ("csrf_token", &other_token),
                ("version", "1"),
                ("no_data", "yes"),
            ],
        )
        .await;
    assert_eq!(hidden.status, 404, "{}", hidden.body);
    assert_eq!(status_of(app, &w.provider, id).await["status"], "preserved");
}

async fn evidence_goes_up_from_a_form_and_comes_back_unaltered(app: &TestApp) {
    use sha2::Digest;
    let (net, id, link, mut provider) = provider_with_a_request(app).await;
    let (w, id) = (&net.w, id.as_str());
    let page = provider.get(&link).await;
    assert!(
        page.body.contains("enctype=\"multipart/form-data\""),
        "{}",
        page.body
    );
    let token = page.hidden("csrf_token");
    let bytes = b"account,ip,seen\nsunny_day_2011,198.51.100.23,2026-11-20T21:15:03Z\n".repeat(200);
    let sha = mlat::domain::evidence::hex(&sha2::Sha256::digest(&bytes));
    let upload = format!("{link}/evidence");

    // Without the session's token, nothing is read or kept.
    let forged = provider
        .send_body(
            "POST",
            &upload,
            Some(multipart(
                &[("csrf_token", "forged")],
                "subscriber.csv",
                &bytes,
            )),
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    // A hash that the bytes do not have: refused, said next to the form, nothing kept.
    let wrong = "0".repeat(64);
    let refused = provider
        .send_body(
            "POST",
            &upload,
            Some(multipart(
                &[("csrf_token", &token), ("sha256", &wrong)],
                "subscriber.csv",
                &bytes,
            )),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let form = section(&refused.body, "<form class=\"upload\"", "</form>");
    assert!(
        form.contains(&format!("the file received hashes to sha-256 {sha}")),
        "{form}"
    );
    assert!(form.contains(&wrong), "what was typed is kept: {form}");
    let listed = app
        .get(&format!("/api/v1/requests/{id}/evidence"), &w.provider)
        .await;
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 0);

    // Received, with the hash the provider computed (in capitals, as some tools print it).
    let sent = provider
        .send_body(
            "POST",
            &upload,
            Some(multipart(
                &[("csrf_token", &token), ("sha256", &sha.to_uppercase())],
                "subscriber.csv",
                &bytes,
            )),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.location(), format!("{link}?done=evidence#evidence"));
    let shown = provider.get(&format!("{link}?done=evidence")).await;
    let evidence = section(&shown.body, "<h2 id=\"evidence\">", "</table>");
    assert!(evidence.contains("subscriber.csv"), "{evidence}");
    assert!(evidence.contains(&sha), "{evidence}");
    assert!(evidence.contains("12.9 KB"), "{evidence}");
    assert!(
        shown.body.contains("compare its SHA-256 below"),
        "{}",
        shown.body
    );
    let listed = app
        .get(&format!("/api/v1/requests/{id}/evidence"), &w.provider)
        .await;
    let evidence_id = listed.json["items"][0]["id"].as_str().unwrap().to_owned();

    // Downloaded from the page: the same bytes, never cached.
    let download = format!("/evidence/{evidence_id}");
    assert!(shown.body.contains(&download));
    let mut response = provider
        .client
        .get(app.url(&download))
        .insert_header((
            "cookie",
            format!("mlat_session={}", provider.cookies["mlat_session"]),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    assert!(
        response
            .headers()
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let got = response.body().limit(1 << 20).await.unwrap();
    assert_eq!(got.as_ref(), bytes.as_slice());
    // Another provider: the 404 page, not the file.
    let mut other = Browser::new(app);
    other
        .sign_in("provider@nl.test.example", PASSWORD, "%2F")
        .await;
    let theirs = other.get(&download).await;
    assert_eq!(theirs.status, 404);
    assert!(theirs.body.contains("There is no page at this address"));

    // Fulfilled with it: the upload form goes, the file stays.
    let version = shown.hidden("version");
    let fulfilled = provider
        .post(
            &format!("{link}/fulfil"),
            &[
                ("csrf_token", &token),
                ("version", &version),
                ("note", "Subscriber record attached."),
            ],
        )
        .await;
    // A preservation is preserved, not fulfilled: refused in place, and not
    // mistaken for someone acting first.
    assert_eq!(fulfilled.status, 409, "{}", fulfilled.body);
    assert!(
        !fulfilled.body.contains("Someone acted"),
        "{}",
        fulfilled.body
    );
    assert!(
        fulfilled
            .body
            .contains("a preservation request is preserved, not fulfilled")
    );
    // Preserved instead: the file stays with the request.
    let preserved = provider
        .post(
            &format!("{link}/preserve"),
            &[("csrf_token", &token), ("version", &version)],
        )
        .await;
    assert_eq!(preserved.status, 303, "{}", preserved.body);
    let closed = provider.get(&link).await;
    assert!(
        closed.body.contains("<span class=\"tag\">preserved</span>"),
        "{}",
        closed.body
    );
    assert!(closed.body.contains(&sha));

    // The officer downloads it too: its custody, upload and downloads, is
    // on the page with who and when.
    let mut officer = Browser::new(app);
    officer
        .sign_in("officer@gb.test.example", PASSWORD, "%2F")
        .await;
    let theirs = officer.get(&download).await;
    assert_eq!(theirs.status, 200);
    let page = officer.get(&link).await;
    let custody = section(&page.body, "<details class=\"custody\">", "</details>");
    assert!(custody.contains("3 events"), "{custody}");
    in_order(
        custody,
        &[
            "uploaded by Test Person (IE Provider)",
            "downloaded by Test Person (IE Provider)",
            "downloaded by Test Person (GB Police)",
        ],
    );
    // The provider reads its own people by name, the other side's by
    // organisation.
    let theirs = provider.get(&link).await;
    let custody = section(&theirs.body, "<details class=\"custody\">", "</details>");
    assert!(
        custody.contains("uploaded by Test Person (IE Provider)"),
        "{custody}"
    );
    assert!(
        custody.contains("downloaded by someone at GB Police"),
        "{custody}"
    );
    assert!(!custody.contains("(GB Police)"), "{custody}");
}

async fn the_at_risk_board_shows_what_falls_due_soonest_to_whoever_may_see_it(app: &TestApp) {
    let net = app.network().await;
    let (kept_ref, order_ref, urgent_ref, urgent_id) = three_requests(app, &net).await;
    let mut provider = Browser::new(app);
    provider
        .sign_in("provider@ie.test.example", PASSWORD, "%2F")
        .await;
    let board = provider.get("/at-risk").await;
    assert_eq!(board.status, 200, "{}", board.body);
    assert!(
        board.body.contains("<option value=\"14d\" selected>"),
        "{}",
        board.body
    );
    in_order(&board.body, &[&urgent_ref, &order_ref]);
    assert!(board.body.contains(&format!("/requests/{urgent_id}")));
    // The preservation expires in 90 days: beyond the span.
    assert!(!board.body.contains(&kept_ref), "{}", board.body);
    let soon = provider.get("/at-risk?within=72h").await;
    assert!(soon.body.contains(&urgent_ref));
    assert!(!soon.body.contains(&order_ref), "{}", soon.body);
    let month = provider.get("/at-risk?within=30d").await;
    assert!(!month.body.contains(&kept_ref));
    let wrong = provider.get("/at-risk?within=1y").await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(
        wrong.body.contains("within: is one of 72h, 7d, 14d or 30d"),
        "{}",
        wrong.body
    );
    // The German officer sees the two German requests, the British none of them.
    let mut officer = Browser::new(app);
    officer
        .sign_in("officer@de.test.example", PASSWORD, "%2F")
        .await;
    let theirs = officer.get("/at-risk").await;
    assert!(theirs.body.contains(&urgent_ref) && theirs.body.contains(&order_ref));
    let mut other = Browser::new(app);
    other
        .sign_in("provider@nl.test.example", PASSWORD, "%2F")
        .await;
    let none = other.get("/at-risk").await;
    assert!(
        none.body.contains("Nothing falls due in that time."),
        "{}",
        none.body
    );
}

async fn the_migration_fills_in_the_inbox_order_as_storing_deadlines_keeps_it(app: &TestApp) {
    use diesel::prelude::*;
    use mlat::db::schema::requests;
    let net = app.network().await;
    three_requests(app, &net).await;
    let backend = match app.state.settings.database_url.backend() {
        mlat::db::Backend::Sqlite => "sqlite",
        mlat::db::Backend::Postgres => "postgres",
    };
    let up = std::fs::read_to_string(format!(
        "{}/migrations/{backend}/2026-12-03-000011_inbox_order/up.sql",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let backfill = &up[up.find("UPDATE requests").unwrap()..up.find("CREATE INDEX").unwrap()];
    let state = app.state.clone();
    let backfill = backfill.to_owned();
    let (kept, filled) = actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        let read = |conn: &mut mlat::db::DbConn| {
            requests::table
                .select((requests::reference, requests::responder_due_at))
                .order(requests::reference)
                .load::<(String, Option<mlat::time::UtcTime>)>(conn)
                .unwrap()
        };
        let kept = read(&mut conn);
        diesel::update(requests::table)
            .set(requests::responder_due_at.eq(None::<mlat::time::UtcTime>))
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query(backfill).execute(&mut conn).unwrap();
        (kept, read(&mut conn))
    })
    .await
    .unwrap();
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().all(|(_, due)| due.is_some()), "{kept:?}");
    assert_eq!(filled, kept);
}

async fn a_person_changes_their_password_from_their_account_page(app: &TestApp) {
    app.world().await;
    let email = "provider@ie.test.example";
    let mut here = Browser::new(app);
    here.sign_in(email, PASSWORD, "%2F").await;
    let mut elsewhere = Browser::new(app);
    elsewhere.sign_in(email, PASSWORD, "%2F").await;
    let page = here.get("/account").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(email));
    assert!(page.body.contains("IE Provider"));
    let token = page.hidden("csrf_token");
    let new = "vellum ptarmigan quarry lantern";
    let mut change = async |current: &str, new: &str, again: &str| {
        here.post(
            "/account/password",
            &[
                ("csrf_token", token.as_str()),
                ("current_password", current),
                ("new_password", new),
                ("new_password_again", again),
            ],
        )
        .await
    };
    let mismatch = change(PASSWORD, new, "vellum ptarmigan quarry").await;
    assert_eq!(mismatch.status, 422);
    assert!(
        mismatch
            .body
            .contains("is not the same as the new password")
    );
    let wrong = change("not the password", new, new).await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("is not your current password"));
    assert!(!wrong.body.contains(new), "a password is never shown back");
    let weak = change(PASSWORD, "password1234", "password1234").await;
    assert!(weak.body.contains("too easy to guess"), "{}", weak.body);
    let done = change(PASSWORD, new, new).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/account?done=password");
    // This browser stays signed in; the other session has ended.
    assert_eq!(here.get("/inbox").await.status, 200);
    assert_eq!(elsewhere.get("/inbox").await.status, 303);
    let again = elsewhere.sign_in(email, new, "%2F").await;
    assert_eq!(again.status, 303, "{}", again.body);
}

async fn a_person_ends_a_session_left_open_in_another_browser(app: &TestApp) {
    let w = app.world().await;
    let email = "provider@ie.test.example";
    let mut here = Browser::new(app);
    here.sign_in(email, PASSWORD, "%2F").await;
    let mut elsewhere = Browser::new(app);
    elsewhere.sign_in(email, PASSWORD, "%2F").await;
    let page = here.get("/account").await;
    assert!(
        page.body.contains("Where you are signed in"),
        "{}",
        page.body
    );
    assert!(page.body.contains("This browser"));
    assert!(page.body.contains("Another browser"));
    assert!(
        page.body.contains("A program, through the API"),
        "the world's token"
    );
    let token = page.hidden("csrf_token");
    // The other browser's session, by the id of its form.
    let other = page
        .body
        .split("name=\"session\" value=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .find(|id| id.starts_with("portal-"))
        .expect("the other browser's line has an End button");
    // Another person cannot end it.
    let mut someone = Browser::new(app);
    someone.sign_in("ca@gb.test.example", PASSWORD, "%2F").await;
    let their = someone.get("/account").await.hidden("csrf_token");
    let refused = someone
        .post(
            "/account/sessions",
            &[("csrf_token", &their), ("session", &other)],
        )
        .await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert_eq!(elsewhere.get("/inbox").await.status, 200);
    let ended = here
        .post(
            "/account/sessions",
            &[("csrf_token", &token), ("session", &other)],
        )
        .await;
    assert_eq!(ended.status, 303, "{}", ended.body);
    assert_eq!(ended.location(), "/account?done=session");
    assert_eq!(
        elsewhere.get("/inbox").await.status,
        303,
        "signed out there"
    );
    assert_eq!(here.get("/inbox").await.status, 200, "not here");
    let _ = w;
}

/// The key an enrolment page shows (grouped by four), as one string.
fn shown_key(body: &str) -> String {
    let at = body.find("id=\"secret\">").expect("the key is shown") + "id=\"secret\">".len();
    body[at..]
        .split('<')
        .next()
        .unwrap()
        .split_whitespace()
        .collect()
}

async fn a_person_sets_up_and_replaces_their_second_factor_from_their_account_page(app: &TestApp) {
    app.world().await;
    let email = "provider@ie.test.example";
    let mut here = Browser::new(app);
    here.sign_in(email, PASSWORD, "%2F").await;
    let page = here.get("/account").await;
    assert!(
        page.body.contains("Set up an authenticator"),
        "{}",
        page.body
    );
    let token = page.hidden("csrf_token");
    let begun = here
        .post("/account/second-factor", &[("csrf_token", &token)])
        .await;
    assert_eq!(begun.status, 200, "{}", begun.body);
    assert!(begun.body.contains("<svg"), "the QR code is drawn");
    let key = shown_key(&begun.body);
    let done = here
        .post(
            "/account/second-factor/confirm",
            &[
                ("csrf_token", &token),
                ("code", &crate::helpers::authenticator_code(&key)),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Your recovery codes"));
    let recovery: Vec<String> = done
        .body
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    let page = here.get("/account").await;
    assert!(
        page.body
            .contains("asks for a code from your authenticator app"),
        "{}",
        page.body
    );
    // A new phone: a wrong proof is said at its field, a recovery code does.
    let wrong = here
        .post(
            "/account/second-factor",
            &[("csrf_token", &token), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(
        wrong
            .body
            .contains("the code is wrong, or was used already"),
        "{}",
        wrong.body
    );
    let begun = here
        .post(
            "/account/second-factor",
            &[("csrf_token", &token), ("code", &recovery[0])],
        )
        .await;
    assert_eq!(begun.status, 200, "{}", begun.body);
    let new_key = shown_key(&begun.body);
    assert_ne!(new_key, key);
    let done = here
        .post(
            "/account/second-factor/confirm",
            &[
                ("csrf_token", &token),
                ("code", &crate::helpers::authenticator_code(&new_key)),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    // Signing in now asks for the new phone's code.
    let asks = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(asks.json["mfa"], "required", "{:?}", asks.json);
}
