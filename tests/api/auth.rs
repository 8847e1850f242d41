//! Sign-in, tokens, lockout, sign-out and deactivation.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp};

backend_tests!(
    sign_in_returns_tokens_that_open_me,
    wrong_password_and_unknown_address_get_the_same_answer,
    five_failures_lock_the_account_even_for_the_right_password,
    unknown_addresses_lock_too,
    parallel_guesses_cannot_outrun_the_lockout,
    refresh_rotates_and_the_old_token_stops_working,
    reusing_a_rotated_refresh_token_revokes_the_family,
    logout_revokes_the_refresh_token,
    a_deactivated_users_tokens_stop_working_at_once,
    a_deactivated_account_is_refused_on_every_kind_of_route,
    a_token_issued_before_the_account_moved_is_refused,
    forged_or_missing_tokens_are_refused,
    sign_ins_and_refreshes_write_in_turn,
    spent_sign_in_state_is_forgotten_and_live_state_kept,
    failures_from_one_address_do_not_keep_the_owner_out,
    a_person_changes_their_own_password_and_their_other_sessions_end,
    a_person_sees_and_ends_their_own_sessions_and_no_one_elses,
);

backend_tests!(
    with |s| { s.sign_in_burst = 5; s.sign_in_per_minute = 1; };
    a_flood_from_one_address_is_refused_while_others_sign_in,
);

/// A sign-in sent from `from` (a loopback address of its own: the server
/// listens on 127.0.0.1 and Linux routes the whole 127/8 to it).
async fn login_from(
    app: &TestApp,
    from: [u8; 4],
    email: &str,
    password: &str,
) -> (u16, Option<String>, serde_json::Value) {
    let client = awc::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .finish();
    let mut response = client
        .post(app.url("/api/v1/auth/login"))
        .send_json(&json!({"email": email, "password": password}))
        .await
        .expect("the server answers");
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .json::<serde_json::Value>()
        .await
        .unwrap_or_default();
    (response.status().as_u16(), retry, body)
}

async fn failures_from_one_address_do_not_keep_the_owner_out(app: &TestApp) {
    app.world().await;
    let email = "officer@gb.test.example";
    for _ in 0..5 {
        let (status, ..) = login_from(app, [127, 0, 0, 2], email, "wrong password!").await;
        assert_eq!(status, 401);
    }
    // Locked for that address, even with the right password...
    let (status, retry, _) = login_from(app, [127, 0, 0, 2], email, PASSWORD).await;
    assert_eq!(status, 429);
    assert!(retry.is_some());
    // ...but the owner, elsewhere, signs in.
    let (status, _, body) = login_from(app, [127, 0, 0, 3], email, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
}

async fn a_flood_from_one_address_is_refused_while_others_sign_in(app: &TestApp) {
    app.world().await;
    // Twenty at once from one address, each for an address of its own (so
    // that no account's lockout answers): five pass the bucket, the rest
    // are refused before any password is hashed.
    let flood = (0..20).map(|i| async move {
        login_from(
            app,
            [127, 0, 0, 4],
            &format!("ghost{i}@nowhere.example"),
            "wrong password!",
        )
        .await
    });
    let answers = futures_util::future::join_all(flood).await;
    let refused: Vec<_> = answers
        .iter()
        .filter(|(status, ..)| *status == 429)
        .collect();
    assert_eq!(refused.len(), 15, "{answers:?}");
    for (_, retry, body) in &refused {
        assert!(
            retry
                .as_deref()
                .and_then(|r| r.parse::<u64>().ok())
                .is_some()
        );
        assert_eq!(body["status"], 429);
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("from your address"),
            "{body}"
        );
    }
    // Another address signs in as usual.
    let (status, _, body) =
        login_from(app, [127, 0, 0, 5], "officer@gb.test.example", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let (status, ..) = login_from(app, [127, 0, 0, 4], "officer@gb.test.example", PASSWORD).await;
    assert_eq!(status, 429, "the flooding address waits its turn");
}

async fn login_body(app: &TestApp, email: &str, password: &str) -> crate::helpers::Reply {
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

async fn sign_in_returns_tokens_that_open_me(app: &TestApp) {
    app.world().await;
    let reply = login_body(app, "Officer@GB.test.example", PASSWORD).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "Bearer");
    assert_eq!(reply.json["expires_in"], 900);
    assert!(reply.json["refresh_token"].as_str().unwrap().len() >= 43);
    let token = reply.json["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/me", token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["email"], "officer@gb.test.example");
    assert_eq!(me.json["role"], "liaison_officer");
    assert_eq!(me.json["organisation"]["kind"], "agency");
    assert_eq!(me.json["organisation"]["jurisdiction"], "GB");
    assert!(me.json.get("password_hash").is_none());
}

async fn wrong_password_and_unknown_address_get_the_same_answer(app: &TestApp) {
    app.world().await;
    let wrong = login_body(app, "officer@gb.test.example", "not the password").await;
    let unknown = login_body(app, "nobody@gb.test.example", "not the password").await;
    assert_eq!(wrong.problem(401)["detail"], unknown.problem(401)["detail"]);
    let invalid = login_body(app, "not an address", "whatever-long-enough").await;
    assert_eq!(invalid.fields(), ["email"]);
}

async fn five_failures_lock_the_account_even_for_the_right_password(app: &TestApp) {
    app.world().await;
    let email = "ca@gb.test.example";
    for attempt in 1..=5 {
        let reply = login_body(app, email, "wrong password!").await;
        assert_eq!(reply.status, 401, "attempt {attempt}");
    }
    let reply = login_body(app, email, PASSWORD).await;
    reply.problem(429);
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "retry-after {retry}");
    // Other accounts are not affected.
    assert_eq!(
        login_body(app, "officer@gb.test.example", PASSWORD)
            .await
            .status,
        200
    );
}

async fn unknown_addresses_lock_too(app: &TestApp) {
    app.world().await;
    for _ in 0..5 {
        login_body(app, "ghost@nowhere.example", "wrong password!").await;
    }
    // Same answer as for a real, locked account: nothing tells that it has none.
    login_body(app, "ghost@nowhere.example", "wrong password!")
        .await
        .problem(429);
}

async fn refresh_rotates_and_the_old_token_stops_working(app: &TestApp) {
    app.world().await;
    let first = login_body(app, "officer@gb.test.example", PASSWORD)
        .await
        .json;
    let old = first["refresh_token"].as_str().unwrap();
    let second = app
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": old}))
        .await;
    assert_eq!(second.status, 200, "{:?}", second.json);
    let new_refresh = second.json["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old);
    let access = second.json["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", access).await.status, 200);
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": old}))
        .await
        .problem(401);
}

async fn reusing_a_rotated_refresh_token_revokes_the_family(app: &TestApp) {
    app.world().await;
    let first = login_body(app, "officer@gb.test.example", PASSWORD)
        .await
        .json;
    let stolen = first["refresh_token"].as_str().unwrap().to_owned();
    let rotated = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": stolen}),
        )
        .await;
    let current = rotated.json["refresh_token"].as_str().unwrap().to_owned();
    let access = rotated.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/me", &access).await.status, 200);
    // The thief replays the old token: refused, and the legitimate chain dies too.
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": stolen}),
    )
    .await
    .problem(401);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": current}),
    )
    .await
    .problem(401);
    // So do the access tokens of that session, at once.
    app.get("/api/v1/me", &access).await.problem(401);
    app.get("/api/v1/me", first["access_token"].as_str().unwrap())
        .await
        .problem(401);
}

async fn logout_revokes_the_refresh_token(app: &TestApp) {
    app.world().await;
    let pair = login_body(app, "officer@gb.test.example", PASSWORD)
        .await
        .json;
    let refresh = pair["refresh_token"].as_str().unwrap();
    let access = pair["access_token"].as_str().unwrap();
    // Another session of the same person, which signing out here leaves alone.
    let other = login_body(app, "officer@gb.test.example", PASSWORD)
        .await
        .json;
    let other_access = other["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", access).await.status, 200);
    let reply = app
        .post(
            "/api/v1/auth/logout",
            None,
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(reply.status, 204);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .problem(401);
    // The session's access token ends with it, at once; the other lives on.
    app.get("/api/v1/me", access).await.problem(401);
    assert_eq!(app.get("/api/v1/me", other_access).await.status, 200);
    // Logging out twice is harmless.
    let again = app
        .post(
            "/api/v1/auth/logout",
            None,
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(again.status, 204);
}

async fn a_deactivated_users_tokens_stop_working_at_once(app: &TestApp) {
    let world = app.world().await;
    let pair = login_body(app, "officer@gb.test.example", PASSWORD)
        .await
        .json;
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", access).await.status, 200);
    let reply = app
        .patch(
            &format!("/api/v1/users/{}", world.officer_id),
            &world.admin,
            json!({"active": false}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["active"], false);
    app.get("/api/v1/me", access).await.problem(401);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .problem(401);
    login_body(app, "officer@gb.test.example", PASSWORD)
        .await
        .problem(401);
    // Reactivated, the person can sign in again.
    app.patch(
        &format!("/api/v1/users/{}", world.officer_id),
        &world.admin,
        json!({"active": true}),
    )
    .await;
    // The tokens of before stay dead: a reactivation does not revive them.
    app.get("/api/v1/me", access).await.problem(401);
    assert_eq!(
        login_body(app, "officer@gb.test.example", PASSWORD)
            .await
            .status,
        200
    );
}

async fn forged_or_missing_tokens_are_refused(app: &TestApp) {
    let world = app.world().await;
    let reply = app.call("GET", "/api/v1/me", None, None).await;
    reply.problem(401);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    app.get("/api/v1/me", "not-a-jwt").await.problem(401);
    // Flip one character of the signature.
    let mut forged = world.officer.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    app.get("/api/v1/me", &forged).await.problem(401);
    // An unsigned token ("alg": "none") claiming to be the admin.
    let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": "mlat", "aud": "mlat-api", "sub": world.admin_id,
        "exp": now + 600, "nbf": now, "iat": now, "jti": "x"});
    use base64::Engine;
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    app.get("/api/v1/me", &format!("{header}.{body}."))
        .await
        .problem(401);
}

async fn parallel_guesses_cannot_outrun_the_lockout(app: &TestApp) {
    app.world().await;
    let guesses = (0..10).map(|_| login_body(app, "ca@gb.test.example", "wrong password!"));
    let replies = futures_util::future::join_all(guesses).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    // Every attempt is counted under a row lock before its password is checked:
    // exactly five are checked, however they interleave, and the rest are
    // refused unheard.
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
    login_body(app, "ca@gb.test.example", PASSWORD)
        .await
        .problem(429);
}

/// The token describes the caller; every route checks the account itself in the
/// hop that reads or writes, so a deactivation stops reads and writes alike.
async fn a_deactivated_account_is_refused_on_every_kind_of_route(app: &TestApp) {
    let w = app.world().await;
    let case_id = crate::workflow::open_case(app, &w.officer).await;
    let request = crate::workflow::create(
        app,
        &w.officer,
        crate::workflow::preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let request_id = request["id"].as_str().unwrap().to_owned();
    let reads = [
        "/api/v1/me".to_owned(),
        "/api/v1/legal-bases".into(),
        "/api/v1/legal-bases/budapest-29".into(),
        "/api/v1/jurisdictions".into(),
        "/api/v1/jurisdictions/GB".into(),
        "/api/v1/organisations".into(),
        format!("/api/v1/organisations/{}", w.gb_agency),
        "/api/v1/cases".into(),
        format!("/api/v1/cases/{case_id}"),
        "/api/v1/requests".into(),
        format!("/api/v1/requests/{request_id}"),
        format!("/api/v1/requests/{request_id}/deadlines"),
        format!("/api/v1/requests/{request_id}/audit"),
        format!("/api/v1/requests/{request_id}/evidence"),
        "/api/v1/deadlines".into(),
        "/api/v1/reminders".into(),
        format!("/api/v1/users/{}", w.officer_id),
    ];
    for path in &reads {
        assert_eq!(app.get(path, &w.officer).await.status, 200, "{path}");
    }
    app.patch(
        &format!("/api/v1/users/{}", w.officer_id),
        &w.admin,
        json!({"active": false}),
    )
    .await;
    for path in &reads {
        app.get(path, &w.officer).await.problem(401);
    }
    // Writes are refused inside their transaction, and leave nothing behind.
    app.post(
        "/api/v1/cases",
        Some(&w.officer),
        crate::cases::case_body("OP-AFTER"),
    )
    .await
    .problem(401);
    app.post(
        "/api/v1/requests",
        Some(&w.officer),
        crate::workflow::preservation(Some(&case_id), &w.ie_provider),
    )
    .await
    .problem(401);
    app.post(
        &format!("/api/v1/requests/{request_id}/submit"),
        Some(&w.officer),
        json!({"version": 1}),
    )
    .await
    .problem(401);
    app.patch(
        &format!("/api/v1/users/{}", w.officer_id),
        &w.admin,
        json!({"active": true}),
    )
    .await;
    let officer = app.login("officer@gb.test.example").await;
    let cases = app.get("/api/v1/cases", &officer).await;
    assert_eq!(cases.json["items"].as_array().unwrap().len(), 1);
    let requests = app.get("/api/v1/requests", &officer).await;
    assert_eq!(requests.json["items"].as_array().unwrap().len(), 1);
    let again = app
        .get(&format!("/api/v1/requests/{request_id}"), &officer)
        .await;
    assert_eq!(again.json["status"], "draft");
}

/// Role and organisation come from the token, so a token must not outlive a
/// change of either: it is refused, and a new sign-in carries the new ones.
async fn a_token_issued_before_the_account_moved_is_refused(app: &TestApp) {
    let w = app.world().await;
    let old = w.officer.clone();
    assert_eq!(app.get("/api/v1/cases", &old).await.status, 200);
    app.sql(format!(
        "UPDATE users SET organisation_id = '{}' WHERE id = '{}'",
        w.de_agency, w.officer_id
    ))
    .await;
    let refused = app.get("/api/v1/cases", &old).await;
    let problem = refused.problem(401);
    assert!(
        problem["detail"].as_str().unwrap().contains("changed"),
        "{problem}"
    );
    let fresh = app.login("officer@gb.test.example").await;
    let me = app.get("/api/v1/me", &fresh).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["organisation"]["id"], w.de_agency.as_str());
}

/// Sign-in and refresh write from a blocking thread, outside `AppState::write`;
/// they still queue with every other change, or queued changes back to back
/// could keep them out of SQLite's lock until they fail.
async fn sign_ins_and_refreshes_write_in_turn(app: &TestApp) {
    app.world().await;
    let signed_in = app
        .behind_a_held_turn(login_body(app, "officer@gb.test.example", PASSWORD))
        .await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.json);
    let refresh_token = signed_in.json["refresh_token"].as_str().unwrap();
    let refreshed = app
        .behind_a_held_turn(app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh_token }),
        ))
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.json);
}

/// Rows of `login_throttle` for `email`, and of `refresh_tokens` in `family`
/// (revoked ones apart).
async fn sign_in_rows(app: &TestApp, email: &str, family: &str) -> (i64, i64, i64) {
    use diesel::prelude::*;
    use mlat::db::schema::{login_throttle, refresh_tokens};
    let (state, email, family) = (app.state.clone(), email.to_owned(), family.to_owned());
    actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        // The lockout is kept per account and address (`<email> from <ip>`).
        let throttles = login_throttle::table
            .filter(login_throttle::email.like(format!("{email} from %")))
            .count()
            .get_result(&mut *conn)
            .unwrap();
        let tokens = refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(&family))
            .count()
            .get_result(&mut *conn)
            .unwrap();
        let revoked = refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(&family))
            .filter(refresh_tokens::revoked_at.is_not_null())
            .count()
            .get_result(&mut *conn)
            .unwrap();
        (throttles, tokens, revoked)
    })
    .await
    .unwrap()
}

/// The watcher's pass forgets throttle states once nothing in them counts, and
/// refresh-token families once all their tokens have expired; a family with a
/// live token is kept whole, so that reusing its rotated token still revokes it.
async fn spent_sign_in_state_is_forgotten_and_live_state_kept(app: &TestApp) {
    use mlat::auth::tokens::hash_secret;
    use mlat::repo::sessions::{RefreshTokenRow, insert_refresh};
    use mlat::time::UtcTime;
    let w = app.world().await;
    let now = chrono::Utc::now();
    let at = move |minutes: i64| now + chrono::TimeDelta::minutes(minutes);
    let address = "officer@gb.test.example";
    assert_eq!(
        login_body(app, address, "not the password").await.status,
        401
    );
    // A family whose rotated token has expired while its successor lives, and
    // one whose only token has expired.
    let state = app.state.clone();
    let user = w.officer_id.clone();
    actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        let token = |raw: &str, family: &str, expires: i64, revoked: Option<i64>| RefreshTokenRow {
            id: mlat::db::new_id(),
            user_id: user.clone(),
            family_id: family.into(),
            token_hash: hash_secret(raw),
            created_at: UtcTime::from(at(-720)),
            expires_at: UtcTime::from(at(expires)),
            revoked_at: revoked.map(|m| UtcTime::from(at(m))),
        };
        for row in [
            token("rotated-raw", "live-family", -60, Some(-120)),
            token("successor-raw", "live-family", 60, None),
            token("expired-raw", "dead-family", -60, None),
        ] {
            insert_refresh(&mut conn, &row).unwrap();
        }
    })
    .await
    .unwrap();

    app.tick(at(1)).await;
    assert_eq!(sign_in_rows(app, address, "live-family").await, (1, 2, 1));
    assert_eq!(sign_in_rows(app, address, "dead-family").await.1, 0);
    // The failure still counts: four more lock the address.
    for _ in 0..4 {
        login_body(app, address, "not the password").await;
    }
    login_body(app, address, PASSWORD).await.problem(429);
    // The rotated token, presented again, revokes its live successor.
    let reused = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": "rotated-raw" }),
        )
        .await;
    assert_eq!(reused.status, 401, "{:?}", reused.json);
    assert_eq!(sign_in_rows(app, address, "live-family").await, (1, 2, 2));

    // Past the lock, and past the successor's expiry: both forgotten.
    app.tick(at(61)).await;
    assert_eq!(sign_in_rows(app, address, "live-family").await, (0, 0, 0));
}

async fn a_person_changes_their_own_password_and_their_other_sessions_end(app: &TestApp) {
    app.world().await;
    let email = "officer@gb.test.example";
    let here = login_body(app, email, PASSWORD).await.json;
    let elsewhere = login_body(app, email, PASSWORD).await.json;
    let token = here["access_token"].as_str().unwrap().to_owned();
    let change = |current: &str, new: &str| {
        let token = token.clone();
        let body = json!({"current_password": current, "new_password": new});
        async move { app.post("/api/v1/me/password", Some(&token), body).await }
    };
    let new = "vellum ptarmigan quarry lantern";
    // The current password is proven; the new one follows the policy.
    let wrong = change("not the password", new).await;
    assert_eq!(wrong.fields(), ["current_password"]);
    let weak = change(PASSWORD, "password1234").await;
    assert_eq!(weak.fields(), ["new_password"]);
    assert_eq!(change(PASSWORD, new).await.status, 204);
    // This session's refresh token lives on; every other one has ended.
    let kept = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": here["refresh_token"]}),
        )
        .await;
    assert_eq!(kept.status, 200, "{:?}", kept.json);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": elsewhere["refresh_token"]}),
    )
    .await
    .problem(401);
    login_body(app, email, PASSWORD).await.problem(401);
    assert_eq!(login_body(app, email, new).await.status, 200);
    // Guessing the current password through this door meets the lockout.
    for _ in 0..5 {
        assert_eq!(
            change("not the password", "another long passphrase here")
                .await
                .status,
            422
        );
    }
    change(new, "another long passphrase here")
        .await
        .problem(429);
    // The trail says what happened, and holds no password.
    use diesel::prelude::*;
    use mlat::db::schema::audit_events;
    let state = app.state.clone();
    let events: Vec<String> = actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        audit_events::table
            .filter(audit_events::action.eq("password_changed"))
            .select(audit_events::details)
            .load(&mut conn)
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    // Two other families: `elsewhere`, and the world's own sign-in.
    assert!(
        events[0].contains("\"revoked_refresh_tokens\":2"),
        "{}",
        events[0]
    );
    assert!(!events[0].contains(new) && !events[0].contains(PASSWORD));
}

async fn a_person_sees_and_ends_their_own_sessions_and_no_one_elses(app: &TestApp) {
    let world = app.world().await;
    let second = app.login("officer@gb.test.example").await;
    let list = app.get("/api/v1/me/sessions", &world.officer).await;
    assert_eq!(list.status, 200, "{:?}", list.json);
    let items = list.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items.iter().all(|s| s["kind"] == "api"));
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let other = items.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Someone else's session is not theirs to end.
    let ca_sessions = app.get("/api/v1/me/sessions", &world.ca).await;
    let ca_session = ca_sessions.json["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        "DELETE",
        &format!("/api/v1/me/sessions/{ca_session}"),
        Some(&world.officer),
        None,
    )
    .await
    .problem(404);
    assert_eq!(app.get("/api/v1/me", &world.ca).await.status, 200);
    app.call(
        "DELETE",
        "/api/v1/me/sessions/api-nothing",
        Some(&world.officer),
        None,
    )
    .await
    .problem(404);
    // Its own: the other token stops at once, this one goes on.
    assert_eq!(app.get("/api/v1/me", &second).await.status, 200);
    let ended = app
        .call(
            "DELETE",
            &format!("/api/v1/me/sessions/{other}"),
            Some(&world.officer),
            None,
        )
        .await;
    assert_eq!(ended.status, 204, "{:?}", ended.json);
    app.get("/api/v1/me", &second).await.problem(401);
    assert_eq!(app.get("/api/v1/me", &world.officer).await.status, 200);
    let list = app.get("/api/v1/me/sessions", &world.officer).await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 1);
}
