//! HTTP basics: health, problem+json for every kind of bad request, headers.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    health_and_readiness_answer,
    every_response_carries_the_security_headers_and_a_request_id,
    unknown_paths_and_methods_are_problems,
    malformed_bodies_are_client_errors,
    oversize_bodies_are_refused_with_413,
    cors_is_closed_by_default,
    a_stalled_body_is_cut_off_and_the_service_keeps_answering,
);

async fn health_and_readiness_answer(app: &TestApp) {
    let reply = app.call("GET", "/healthz", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["status"], "ok");
    let reply = app.call("GET", "/readyz", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["status"], "ready");
}

async fn every_response_carries_the_security_headers_and_a_request_id(app: &TestApp) {
    for (reply, policy) in [
        (
            app.call("GET", "/healthz", None, None).await,
            "frame-ancestors 'none'",
        ),
        (
            app.call("GET", "/api/v1/me", None, None).await,
            "frame-ancestors 'none'",
        ),
        // Outside the API, the portal's 404 page, with the pages' stricter
        // policy (it forbids framing too).
        (
            app.call("GET", "/nowhere", None, None).await,
            mlat::portal::CONTENT_SECURITY_POLICY,
        ),
    ] {
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("content-security-policy"), Some(policy));
        let id = reply.header("x-request-id").expect("a request id");
        assert!(uuid::Uuid::parse_str(id).is_ok());
    }
}

async fn unknown_paths_and_methods_are_problems(app: &TestApp) {
    let world = app.world().await;
    let reply = app.get("/api/v1/no-such-thing", &world.officer).await;
    reply.problem(404);
    let reply = app
        .call("DELETE", "/api/v1/users", Some(&world.admin), None)
        .await;
    reply.problem(405);
    let reply = app.call("PUT", "/healthz", None, None).await;
    reply.problem(405);
}

async fn malformed_bodies_are_client_errors(app: &TestApp) {
    let world = app.world().await;
    // Not JSON at all.
    let reply = app
        .client
        .post(app.url("/api/v1/jurisdictions"))
        .bearer_auth(&world.admin)
        .insert_header(("content-type", "application/json"))
        .send_body("{\"code\": ")
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    assert_eq!(
        reply.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    // JSON, but not declared as such.
    let reply = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .insert_header(("content-type", "text/plain"))
        .send_body("{}")
        .await
        .unwrap();
    assert_eq!(reply.status(), 415);
    // Unknown field, missing field, wrong type: 422 naming the field.
    let reply = app
        .post(
            "/api/v1/jurisdictions",
            Some(&world.admin),
            json!({"code": "FR", "name": "France", "timezone": "Europe/Paris", "colour": "blue"}),
        )
        .await;
    assert_eq!(reply.fields(), ["colour"]);
    let reply = app
        .post(
            "/api/v1/jurisdictions",
            Some(&world.admin),
            json!({"code": "FR"}),
        )
        .await;
    assert_eq!(reply.fields(), ["name"]);
    let reply = app
        .post(
            "/api/v1/jurisdictions",
            Some(&world.admin),
            json!({"code": 33, "name": "France", "timezone": "Europe/Paris"}),
        )
        .await;
    reply.problem(422);
    // Bad query parameters.
    let reply = app
        .get("/api/v1/organisations?limit=abc", &world.officer)
        .await;
    reply.problem(422);
    let reply = app
        .get("/api/v1/organisations?limit=500", &world.officer)
        .await;
    assert_eq!(reply.fields(), ["limit"]);
}

async fn oversize_bodies_are_refused_with_413(app: &TestApp) {
    let world = app.world().await;
    let huge = "x".repeat(mlat::api::JSON_LIMIT + 1);
    let reply = app
        .post(
            "/api/v1/jurisdictions",
            Some(&world.admin),
            json!({"code": "FR", "name": huge, "timezone": "Europe/Paris"}),
        )
        .await;
    reply.problem(413);
}

async fn cors_is_closed_by_default(app: &TestApp) {
    let reply = app
        .client
        .get(app.url("/healthz"))
        .insert_header(("origin", "https://evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert!(reply.headers().get("access-control-allow-origin").is_none());
}

mod cors_answers_configured_origins_only {
    #[actix_web::test]
    async fn sqlite() {
        super::cors_with_an_origin(crate::helpers::Backend::Sqlite).await
    }

    #[actix_web::test]
    #[cfg_attr(
        not(mlat_postgres_tests),
        ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
    )]
    async fn postgres() {
        super::cors_with_an_origin(crate::helpers::Backend::Postgres).await
    }
}

/// A browser front end at a configured origin may call the API, with a token,
/// and read the request id; any other origin, one that merely starts with it
/// included, gets no CORS grant, and its preflight a problem.
async fn cors_with_an_origin(backend: crate::helpers::Backend) {
    const PORTAL: &str = "https://portal.example";
    let app = TestApp::spawn_with(backend, |s| s.cors_origins = vec![PORTAL.into()]).await;
    let preflight = cors_call(&app, awc::http::Method::OPTIONS, PORTAL).await;
    assert_eq!(preflight.status, 200);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(PORTAL)
    );
    let methods = preflight.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = preflight
        .header("access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    // A browser delivers evidence with its name and digest.
    for needed in [
        "authorization",
        "content-type",
        "content-disposition",
        "repr-digest",
    ] {
        assert!(headers.contains(needed), "{needed} not in {headers}");
    }
    assert_eq!(preflight.header("access-control-max-age"), Some("600"));

    let simple = cors_call(&app, awc::http::Method::GET, PORTAL).await;
    assert_eq!(simple.status, 200);
    assert_eq!(simple.header("access-control-allow-origin"), Some(PORTAL));
    let exposed = simple.header("access-control-expose-headers").unwrap();
    // ...and reads the digest and name of what it downloads.
    for readable in ["x-request-id", "repr-digest", "content-disposition"] {
        assert!(exposed.contains(readable), "{readable} not in {exposed}");
    }

    for origin in [
        "https://evil.example",
        "https://portal.example.evil.example",
    ] {
        let refused = cors_call(&app, awc::http::Method::OPTIONS, origin).await;
        assert_eq!(refused.status, 400, "{origin}");
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json"),
            "{origin}"
        );
        assert!(
            refused.header("access-control-allow-origin").is_none(),
            "{origin}"
        );
        let other = cors_call(&app, awc::http::Method::GET, origin).await;
        // Answered, but without a grant the browser keeps the answer from the page.
        assert_eq!(other.status, 200, "{origin}");
        assert!(
            other.header("access-control-allow-origin").is_none(),
            "{origin}"
        );
    }
    app.stop().await;
}

/// A browser's call from `origin`: a preflight for a `POST /api/v1/requests`
/// with a token and a JSON body, or a plain `GET /healthz`.
async fn cors_call(
    app: &TestApp,
    method: awc::http::Method,
    origin: &str,
) -> crate::helpers::Reply {
    let preflight = method == awc::http::Method::OPTIONS;
    let path = if preflight {
        "/api/v1/requests"
    } else {
        "/healthz"
    };
    let mut request = app
        .client
        .request(method, app.url(path))
        .insert_header(("origin", origin));
    if preflight {
        request = request
            .insert_header(("access-control-request-method", "POST"))
            .insert_header((
                "access-control-request-headers",
                "authorization, content-type, content-disposition, repr-digest",
            ));
    }
    let response = request.send().await.unwrap();
    crate::helpers::Reply {
        status: response.status(),
        headers: response.headers().clone(),
        json: serde_json::Value::Null,
    }
}

/// A client announces a body and stops sending (slowloris): the connection is
/// answered 408 and closed once the body's idle deadline (2 s in the tests)
/// passes, and the service answers others meanwhile.
async fn a_stalled_body_is_cut_off_and_the_service_keeps_answering(app: &TestApp) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let (sent, stalling) = tokio::sync::oneshot::channel();
    let stalled = actix_web::web::block(move || {
        use std::io::{Read, Write};
        let started = std::time::Instant::now();
        let mut socket = std::net::TcpStream::connect(&address).unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        write!(
            socket,
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"em"
        )
        .unwrap();
        let _ = sent.send(());
        let mut answer = Vec::new();
        // Read until the server closes the connection.
        let mut buffer = [0u8; 4096];
        while let Ok(n) = socket.read(&mut buffer) {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
        }
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    });
    // Meanwhile (the body started and stalled) the service answers.
    stalling.await.unwrap();
    assert_eq!(app.call("GET", "/healthz", None, None).await.status, 200);
    let (answer, took) = stalled.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("urn:mlat:problem:request-timeout"),
        "{answer}"
    );
    assert!(
        took >= std::time::Duration::from_secs(2) && took < std::time::Duration::from_secs(20),
        "closed after {took:?}"
    );
}
