//! The second factor through the API: enrolment, two-step sign-in, recovery
//! codes, replay, the lockout across passwords and codes, and the policy.
//! Codes are computed here from the secret with totp-rs, as an authenticator
//! app would, not with mlat's own code.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp};

backend_tests!(
    with |s| { s.mfa_required = Default::default(); };
    an_account_the_policy_covers_must_enrol_before_it_gets_a_token,
    a_code_signs_in_once_and_never_again,
    a_recovery_code_signs_in_once,
    wrong_codes_count_toward_the_lockout_with_wrong_passwords,
    a_challenge_is_spent_by_its_sign_in_and_runs_out,
    the_secret_is_sealed_at_rest_and_nothing_secret_is_audited,
    two_sign_ins_racing_with_one_code_let_exactly_one_in,
    a_lost_phone_is_replaced_with_a_recovery_code,
);

backend_tests!(
    with |s| {
        s.mfa_required = Default::default();
        s.mail.webhooks_allow_private = true;
    };
    the_factor_key_is_rotated_by_sealing_every_secret_again,
);

backend_tests!(
    with |s| { s.mfa_required = mlat::domain::mfa::MfaPolicy::parse("admin").unwrap(); };
    the_policy_decides_who_must_enrol_and_an_enrolled_factor_is_always_asked,
    someone_the_policy_does_not_cover_sets_up_a_factor_and_is_asked_for_it,
);

const OFFICER: &str = "officer@gb.test.example";

/// The code an authenticator app shows for `secret` (base32) at `at`.
fn code(secret: &str, at: u64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).expect("base32");
    totp_rs::Builder::new()
        .with_secret(bytes.as_ref().to_vec())
        .build()
        .expect("an RFC 6238 secret")
        .generate(at)
        .to_string()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn login(app: &TestApp, email: &str, password: &str) -> crate::helpers::Reply {
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

async fn challenge(app: &TestApp, email: &str, mfa: &str) -> String {
    let reply = login(app, email, PASSWORD).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["mfa"], mfa, "{:?}", reply.json);
    assert!(reply.json.get("access_token").is_none());
    reply.json["challenge"].as_str().unwrap().to_owned()
}

async fn send_code(app: &TestApp, challenge: &str, code: &str) -> crate::helpers::Reply {
    app.post(
        "/api/v1/auth/login/mfa",
        None,
        json!({"challenge": challenge, "code": code}),
    )
    .await
}

/// Enrols `email`: its secret, the instant its first code was for, and the
/// recovery codes.
async fn enrol(app: &TestApp, email: &str) -> (String, u64, Vec<String>) {
    let challenge = challenge(app, email, "enrol").await;
    let reply = app
        .post(
            "/api/v1/auth/mfa/enrol",
            None,
            json!({"challenge": challenge}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let secret = reply.json["secret"].as_str().unwrap().to_owned();
    let at = now();
    let reply = app
        .post(
            "/api/v1/auth/mfa/confirm",
            None,
            json!({"challenge": challenge, "code": code(&secret, at)}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let codes = reply.json["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, at, codes)
}

async fn an_account_the_policy_covers_must_enrol_before_it_gets_a_token(app: &TestApp) {
    app.seed().await;
    let challenge = challenge(app, OFFICER, "enrol").await;
    // It can only enrol: no code is asked of it, the challenge opens nothing.
    let reply = send_code(app, &challenge, "123456").await;
    reply.problem(409);
    assert_eq!(app.get("/api/v1/me", &challenge).await.status, 401);

    let reply = app
        .post(
            "/api/v1/auth/mfa/enrol",
            None,
            json!({"challenge": challenge}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let secret = reply.json["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = reply.json["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/mlat:officer%40gb.test.example?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    // Asked again during the same sign-in (a reloaded page), the same secret.
    let again = app
        .post(
            "/api/v1/auth/mfa/enrol",
            None,
            json!({"challenge": challenge}),
        )
        .await;
    assert_eq!(again.json["secret"], secret.as_str());

    // A code of another secret does not confirm it.
    let other = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let wrong = app
        .post(
            "/api/v1/auth/mfa/confirm",
            None,
            json!({"challenge": challenge, "code": code(other, now())}),
        )
        .await;
    wrong.problem(401);
    let reply = app
        .post(
            "/api/v1/auth/mfa/confirm",
            None,
            json!({"challenge": challenge, "code": code(&secret, now())}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let codes = reply.json["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let token = reply.json["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/me", token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["email"], OFFICER);

    // From now on the account is asked for a code, and cannot enrol again.
    let challenge = challenge_for_code(app, OFFICER).await;
    app.post(
        "/api/v1/auth/mfa/enrol",
        None,
        json!({"challenge": challenge}),
    )
    .await
    .problem(409);
}

async fn challenge_for_code(app: &TestApp, email: &str) -> String {
    challenge(app, email, "required").await
}

async fn a_code_signs_in_once_and_never_again(app: &TestApp) {
    app.seed().await;
    let (secret, at, _) = enrol(app, OFFICER).await;
    // The code that confirmed the enrolment is spent.
    let challenge = challenge_for_code(app, OFFICER).await;
    let used = send_code(app, &challenge, &code(&secret, at)).await;
    assert_eq!(
        used.problem(401)["detail"],
        "the code is wrong, or was used already"
    );
    // The app's next code (one step of skew is allowed) signs in, once.
    let next = code(&secret, at + 30);
    let spaced = format!("{} {}", &next[..3], &next[3..]);
    let reply = send_code(app, &challenge, &spaced).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let token = reply.json["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", token).await.status, 200);
    let challenge = challenge_for_code(app, OFFICER).await;
    send_code(app, &challenge, &next).await.problem(401);
    // Garbage is a wrong code, not a malformed request; nothing is a 422.
    send_code(app, &challenge, "not a code").await.problem(401);
    let empty = send_code(app, &challenge, " ").await;
    assert_eq!(empty.fields(), ["code"]);
}

async fn a_recovery_code_signs_in_once(app: &TestApp) {
    app.seed().await;
    let (_, _, codes) = enrol(app, OFFICER).await;
    let challenge = challenge_for_code(app, OFFICER).await;
    // Typed as read off paper: lower case, spaces for dashes.
    let typed = codes[3].to_lowercase().replace('-', " ");
    let reply = send_code(app, &challenge, &typed).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let challenge = challenge_for_code(app, OFFICER).await;
    send_code(app, &challenge, &codes[3]).await.problem(401);
    let reply = send_code(app, &challenge, &codes[4]).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let trail = trail(app, OFFICER).await;
    let used: Vec<&Value> = trail
        .iter()
        .filter(|e| e["action"] == "recovery_code_used")
        .collect();
    assert_eq!(used.len(), 2);
    assert_eq!(used[1]["details"]["recovery_codes_left"], 8);
}

/// The audit events on a person's chain, oldest first.
async fn trail(app: &TestApp, email: &str) -> Vec<Value> {
    use diesel::prelude::*;
    use mlat::db::schema::{audit_events, users};
    let (state, email) = (app.state.clone(), email.to_owned());
    actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        let id: String = users::table
            .filter(users::email.eq(&email))
            .select(users::id)
            .first(&mut *conn)
            .unwrap();
        audit_events::table
            .filter(audit_events::chain.eq(format!("user:{id}")))
            .order(audit_events::seq)
            .select((audit_events::action, audit_events::details))
            .load::<(String, String)>(&mut *conn)
            .unwrap()
            .into_iter()
            .map(|(action, details)| {
                json!({"action": action, "details": serde_json::from_str::<Value>(&details).unwrap()})
            })
            .collect()
    })
    .await
    .unwrap()
}

async fn wrong_codes_count_toward_the_lockout_with_wrong_passwords(app: &TestApp) {
    app.seed().await;
    let (secret, at, codes) = enrol(app, OFFICER).await;
    for _ in 0..2 {
        login(app, OFFICER, "not the password at all")
            .await
            .problem(401);
    }
    // The right password is counted too until its second step passes: a known
    // password does not wipe the count of wrong codes.
    let challenge = challenge_for_code(app, OFFICER).await;
    send_code(app, &challenge, "000000").await.problem(401);
    send_code(app, &challenge, "111111").await.problem(401);
    // Five failures: locked, for the right code and a recovery code alike.
    let locked = send_code(app, &challenge, &code(&secret, at + 30)).await;
    locked.problem(429);
    assert!(locked.header("retry-after").is_some());
    send_code(app, &challenge, &codes[0]).await.problem(429);
    login(app, OFFICER, PASSWORD).await.problem(429);
    let trail = trail(app, OFFICER).await;
    let wrong_codes = trail
        .iter()
        .filter(|e| e["action"] == "login_failed" && e["details"]["reason"] == "wrong_code")
        .count();
    assert_eq!(wrong_codes, 2);
    assert!(trail.iter().any(|e| e["action"] == "lockout"));
}

async fn a_challenge_is_spent_by_its_sign_in_and_runs_out(app: &TestApp) {
    app.seed().await;
    let (secret, at, codes) = enrol(app, OFFICER).await;
    let challenge = challenge_for_code(app, OFFICER).await;
    assert_eq!(
        send_code(app, &challenge, &code(&secret, at + 30))
            .await
            .status,
        200
    );
    let spent = send_code(app, &challenge, &codes[0]).await;
    assert!(
        spent.problem(401)["detail"]
            .as_str()
            .unwrap()
            .contains("sign in again"),
        "{:?}",
        spent.json
    );
    // A challenge past its ten minutes is refused.
    let challenge = challenge_for_code(app, OFFICER).await;
    {
        use diesel::prelude::*;
        use mlat::db::schema::sign_in_challenges;
        let state = app.state.clone();
        let hash = mlat::auth::tokens::hash_secret(&challenge);
        actix_web::web::block(move || {
            let mut conn = state.pool.get().unwrap();
            let past = mlat::time::UtcTime::now() - chrono::Duration::seconds(1);
            diesel::update(sign_in_challenges::table.find(hash))
                .set(sign_in_challenges::expires_at.eq(past))
                .execute(&mut *conn)
                .unwrap();
        })
        .await
        .unwrap();
    }
    send_code(app, &challenge, &codes[0]).await.problem(401);
    send_code(app, "made-up", &codes[0]).await.problem(401);
}

async fn the_secret_is_sealed_at_rest_and_nothing_secret_is_audited(app: &TestApp) {
    app.seed().await;
    let (secret, at, codes) = enrol(app, OFFICER).await;
    let stored: Vec<String> = {
        use diesel::prelude::*;
        use mlat::db::schema::{recovery_codes, second_factors};
        let state = app.state.clone();
        actix_web::web::block(move || {
            let mut conn = state.pool.get().unwrap();
            let mut all: Vec<String> = second_factors::table
                .select(second_factors::secret_sealed)
                .load(&mut *conn)
                .unwrap();
            all.extend(
                recovery_codes::table
                    .select(recovery_codes::code_hash)
                    .load::<String>(&mut *conn)
                    .unwrap(),
            );
            all
        })
        .await
        .unwrap()
    };
    assert_eq!(stored.len(), 11, "the factor and its ten codes");
    let raw = totp_rs::Secret::try_from_base32(&secret).unwrap();
    let raw_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(raw.as_ref())
    };
    for value in &stored {
        assert!(
            !value.contains(&secret) && !value.contains(&raw_b64),
            "{value}"
        );
        for code in &codes {
            assert!(!value.contains(code) && !value.contains(&code.replace('-', "")));
        }
    }
    // The sealed secret opens only with the deployment's key, for this account.
    let key = &app.state.factor_key;
    let sealed = &stored[0];
    let officer = {
        let trail = trail(app, OFFICER).await;
        assert!(
            trail
                .iter()
                .any(|e| e["action"] == "second_factor_enrolled")
        );
        let text = serde_json::to_string(&trail).unwrap();
        assert!(!text.contains(&secret), "the trail holds the secret");
        assert!(!text.contains(&code(&secret, at)), "the trail holds a code");
        for c in &codes {
            assert!(!text.contains(c), "the trail holds a recovery code");
        }
        app.viewer_of(OFFICER).await.user_id
    };
    let opened = key
        .open_value(format!("second-factor:{officer}").as_bytes(), sealed)
        .unwrap();
    assert_eq!(opened, raw.as_ref());
    assert!(
        mlat::sealed::MasterKey::from_bytes([9; 32])
            .open_value(format!("second-factor:{officer}").as_bytes(), sealed)
            .is_err()
    );
}

async fn two_sign_ins_racing_with_one_code_let_exactly_one_in(app: &TestApp) {
    app.seed().await;
    let (secret, at, _) = enrol(app, OFFICER).await;
    let first = challenge_for_code(app, OFFICER).await;
    let second = challenge_for_code(app, OFFICER).await;
    let next = code(&secret, at + 30);
    let (a, b) = futures_util::future::join(
        send_code(app, &first, &next),
        send_code(app, &second, &next),
    )
    .await;
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 401], "{:?} {:?}", a.json, b.json);
}

async fn the_policy_decides_who_must_enrol_and_an_enrolled_factor_is_always_asked(app: &TestApp) {
    app.seed().await;
    // Officers are not covered: a password signs them in.
    let reply = login(app, OFFICER, PASSWORD).await;
    assert_eq!(reply.status, 200);
    assert!(reply.json["access_token"].is_string(), "{:?}", reply.json);
    // Administrators are.
    challenge(app, "admin@test.example", "enrol").await;
    let (secret, at, _) = enrol(app, "admin@test.example").await;
    let challenge = challenge_for_code(app, "admin@test.example").await;
    let reply = send_code(app, &challenge, &code(&secret, at + 30)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
}

async fn a_lost_phone_is_replaced_with_a_recovery_code(app: &TestApp) {
    app.seed().await;
    let (old, at, codes) = enrol(app, OFFICER).await;
    // The phone is lost: a recovery code signs in...
    let challenge = challenge_for_code(app, OFFICER).await;
    let reply = send_code(app, &challenge, &codes[0]).await;
    let token = reply.json["access_token"].as_str().unwrap().to_owned();
    // ...and another proves it is them to set up a new phone.
    let begin = |code: Option<&str>| {
        let token = token.clone();
        let body = match code {
            Some(c) => json!({"code": c}),
            None => json!({}),
        };
        async move {
            app.post("/api/v1/me/second-factor", Some(&token), body)
                .await
        }
    };
    assert_eq!(begin(None).await.fields(), ["code"]);
    assert_eq!(begin(Some("123456")).await.fields(), ["code"]);
    let reply = begin(Some(&codes[1])).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let new = reply.json["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    // Until the new one is confirmed, the old one still works.
    let challenge = challenge_for_code(app, OFFICER).await;
    assert_eq!(
        send_code(app, &challenge, &code(&old, at + 30))
            .await
            .status,
        200
    );
    let confirm = |c: String| {
        let token = token.clone();
        async move {
            app.post(
                "/api/v1/me/second-factor/confirm",
                Some(&token),
                json!({"code": c}),
            )
            .await
        }
    };
    assert_eq!(confirm(code(&old, now())).await.fields(), ["code"]);
    let done = confirm(code(&new, now())).await;
    assert_eq!(done.status, 200, "{:?}", done.json);
    let fresh = done.json["recovery_codes"].as_array().unwrap();
    assert_eq!(fresh.len(), 10);
    // The new phone signs in, the old one and the old recovery codes do not.
    let later = now() + 30;
    let challenge = challenge_for_code(app, OFFICER).await;
    send_code(app, &challenge, &code(&old, later))
        .await
        .problem(401);
    send_code(app, &challenge, &codes[2]).await.problem(401);
    assert_eq!(
        send_code(app, &challenge, &code(&new, later)).await.status,
        200
    );
    let trail = trail(app, OFFICER).await;
    assert!(
        trail
            .iter()
            .any(|e| e["action"] == "second_factor_replacement_begun"
                && e["details"]["proof"] == "recovery_code")
    );
    let told = app.account_mail_to(OFFICER).await;
    assert!(
        told.iter()
            .any(|(_, body)| body.contains("replaced the second factor")),
        "{told:?}"
    );
}

async fn someone_the_policy_does_not_cover_sets_up_a_factor_and_is_asked_for_it(app: &TestApp) {
    app.seed().await;
    let token = crate::helpers::TestApp::login(app, OFFICER).await;
    let reply = app
        .post("/api/v1/me/second-factor", Some(&token), json!({}))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let secret = reply.json["secret"].as_str().unwrap().to_owned();
    app.post(
        "/api/v1/me/second-factor/confirm",
        Some(&token),
        json!({"code": "000000"}),
    )
    .await
    .fields();
    let at = now();
    let done = app
        .post(
            "/api/v1/me/second-factor/confirm",
            Some(&token),
            json!({"code": code(&secret, at)}),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.json);
    // Nothing is pending now.
    app.post(
        "/api/v1/me/second-factor/confirm",
        Some(&token),
        json!({"code": code(&secret, at + 30)}),
    )
    .await
    .problem(409);
    let challenge = challenge_for_code(app, OFFICER).await;
    assert_eq!(
        send_code(app, &challenge, &code(&secret, at + 30))
            .await
            .status,
        200
    );
}

/// What the factor key seals for `user_id` in the database: the secret and
/// the replacement waiting for its first code.
async fn sealed_factor(app: &TestApp, user_id: &str) -> (String, Option<String>) {
    let (state, user_id) = (app.state.clone(), user_id.to_owned());
    actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        let row = mlat::repo::factors::find(&mut conn, &user_id)
            .unwrap()
            .unwrap();
        (row.secret_sealed, row.pending_sealed)
    })
    .await
    .unwrap()
}

async fn sealed_webhook(app: &TestApp, id: &str) -> String {
    let (state, id) = (app.state.clone(), id.to_owned());
    actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        mlat::repo::webhooks::get(&mut conn, &id)
            .unwrap()
            .unwrap()
            .secret_sealed
    })
    .await
    .unwrap()
}

/// `mlat secrets rewrap`, run (instances stopped) against the app's database
/// with the app's settings.
fn rewrap(app: &TestApp, new_key: &std::path::Path) -> std::process::Output {
    let settings = &app.state.settings;
    let url = match &settings.database_url {
        mlat::db::DatabaseUrl::Postgres(url) => url.clone(),
        mlat::db::DatabaseUrl::Sqlite(path) => path.display().to_string(),
    };
    std::process::Command::new(env!("CARGO_BIN_EXE_mlat"))
        .env_clear()
        .env("MLAT_DATA_DIR", &settings.data_dir)
        .env("MLAT_DATABASE_URL", url)
        .env("MLAT_LOG", "warn")
        .args(["secrets", "rewrap", "--new-key-file"])
        .arg(new_key)
        .output()
        .unwrap()
}

/// The factor key is replaced: every secret it sealed (an enrolled factor,
/// a replacement waiting for its first code, a webhook's signing secret) is
/// the same secret sealed under the new key, and no longer opens with the
/// old one; the rotation is audited. Run again with the old key still
/// configured, it changes nothing and names the secret that did not open.
async fn the_factor_key_is_rotated_by_sealing_every_secret_again(app: &TestApp) {
    let built = app.seed().await;
    let officer_id = built.people[OFFICER].0.clone();
    let (secret, at, recovery) = enrol(app, OFFICER).await;
    let challenge = challenge_for_code(app, OFFICER).await;
    let reply = send_code(app, &challenge, &code(&secret, at + 30)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let token = reply.json["access_token"].as_str().unwrap().to_owned();
    // A replacement begun with a recovery code, left waiting.
    let begun = app
        .post(
            "/api/v1/me/second-factor",
            Some(&token),
            json!({"code": recovery[0]}),
        )
        .await;
    assert_eq!(begun.status, 200, "{:?}", begun.json);
    let replacement = begun.json["secret"].as_str().unwrap().to_owned();
    crate::webhooks::make_org_admin(app, OFFICER).await;
    let hook = crate::webhooks::register(
        app,
        &token,
        "http://127.0.0.1:9/hook",
        &["request.received"],
    )
    .await;
    assert_eq!(hook.status, 201, "{:?}", hook.json);
    let hook_id = hook.json["id"].as_str().unwrap().to_owned();
    let hook_secret = hook.json["secret"].as_str().unwrap().to_owned();

    let old = mlat::sealed::MasterKey::load(&app.state.settings.data_dir.join("factor.key"), false)
        .unwrap();
    let new_file = app.state.settings.data_dir.join("factor-2.key");
    let out = rewrap(app, &new_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(
            "1 second factors (1 replacements waiting for a first code), 1 webhook secrets"
        ),
        "{said}"
    );
    let new = mlat::sealed::MasterKey::load(&new_file, false).unwrap();

    let factor_context = mlat::service::second_factor::context(&officer_id);
    let base32 = |s: &str| {
        totp_rs::Secret::try_from_base32(s)
            .unwrap()
            .as_ref()
            .to_vec()
    };
    let (sealed, pending) = sealed_factor(app, &officer_id).await;
    let pending = pending.expect("the replacement still waits");
    assert_eq!(
        new.open_value(&factor_context, &sealed).unwrap(),
        base32(&secret)
    );
    assert_eq!(
        new.open_value(&factor_context, &pending).unwrap(),
        base32(&replacement)
    );
    assert!(old.open_value(&factor_context, &sealed).is_err());
    assert!(old.open_value(&factor_context, &pending).is_err());
    let webhook_context = mlat::service::webhooks::context(&hook_id);
    let sealed_hook = sealed_webhook(app, &hook_id).await;
    assert_eq!(
        new.open_value(&webhook_context, &sealed_hook).unwrap(),
        hook_secret.as_bytes()
    );
    assert!(old.open_value(&webhook_context, &sealed_hook).is_err());
    let (state, wanted) = (app.state.clone(), "factor_key_rotated");
    let audited = actix_web::web::block(move || {
        let mut conn = state.pool.get().unwrap();
        mlat::repo::audit::for_chain(&mut conn, mlat::domain::audit::SYSTEM_CHAIN)
            .unwrap()
            .into_iter()
            .filter(|e| e.action == wanted)
            .count()
    })
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // Again, with the old key still configured: nothing opens, nothing changes.
    let again = rewrap(app, &app.state.settings.data_dir.join("factor-3.key"));
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains(&format!(
            "the second factor of account {officer_id} does not open with the key in use"
        )),
        "{said}"
    );
    assert_eq!(sealed_factor(app, &officer_id).await.0, sealed);
    // The key in use as the new one is refused.
    let same = rewrap(app, &app.state.settings.data_dir.join("factor.key"));
    assert!(!same.status.success());
    assert!(String::from_utf8_lossy(&same.stderr).contains("the new key is the key in use"));
}
