//! Starts the real application on port 0 with a fresh database per test, on
//! SQLite always and on PostgreSQL when `MLAT_TEST_POSTGRES_URL` is set.

use std::sync::LazyLock;
use std::time::Duration;

use actix_web::web;
use awc::http::StatusCode;
use diesel::{Connection, PgConnection, RunQueryDsl};
use mlat::Application;
use mlat::config::Settings;
use mlat::db::{DatabaseUrl, write_tx};
use mlat::domain::reference::{DataCategory, OrganisationKind, Role};
use mlat::service::accounts;
use mlat::state::AppState;
use mlat::world::{self, Person, Plan};
use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery staple";

/// Hashing is deliberately slow: seed accounts share one hash.
static PASSWORD_HASH: LazyLock<String> =
    LazyLock::new(|| accounts::hash_password(PASSWORD).expect("hash"));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The server URL tests create their databases on. The PostgreSQL variants
/// run only when the tests were built with `MLAT_TEST_POSTGRES_URL` set
/// (build.rs), and are listed as ignored otherwise; one that runs without it
/// fails here, never passes untried.
pub fn postgres_server_url() -> String {
    std::env::var("MLAT_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .expect("MLAT_TEST_POSTGRES_URL is not set: a PostgreSQL test cannot run without it")
}

/// `postgres://user@host:port/anything` → `postgres://user@host:port/<name>`.
pub fn with_database(server_url: &str, name: &str) -> String {
    let (scheme, rest) = server_url.split_once("://").expect("a postgres:// URL");
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}://{authority}/{name}")
}

/// A throwaway PostgreSQL database, dropped with the test.
pub struct PgDatabase {
    pub server_url: String,
    pub name: String,
}

impl PgDatabase {
    pub fn create() -> Self {
        let server_url = postgres_server_url();
        let name = format!("mlat_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::establish(&with_database(&server_url, "postgres"))
            .unwrap_or_else(|e| {
                panic!("MLAT_TEST_POSTGRES_URL is set but PostgreSQL cannot be reached: {e}")
            });
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create the test database");
        PgDatabase { server_url, name }
    }

    pub fn url(&self) -> String {
        with_database(&self.server_url, &self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&with_database(&self.server_url, "postgres"))
        {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub state: web::Data<AppState>,
    pub client: awc::Client,
    handle: actix_web::dev::ServerHandle,
    // Dropped after the server has stopped.
    _pg: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

/// The code an authenticator app shows now for `key` (base32): computed with
/// totp-rs, not with mlat.
pub fn authenticator_code(key: &str) -> String {
    let secret = totp_rs::Secret::try_from_base32(key).expect("a base32 key");
    totp_rs::Builder::new()
        .with_secret(secret.as_ref().to_vec())
        .build()
        .expect("an RFC 6238 secret")
        .generate_current()
        .to_string()
}

/// A port nothing listens on now, for a process the test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub fn test_settings(dir: &std::path::Path, database_url: DatabaseUrl) -> Settings {
    Settings {
        database_url,
        data_dir: dir.to_path_buf(),
        bind: "127.0.0.1:0".parse().unwrap(),
        log_filter: "warn".into(),
        jwt_key_file: None,
        legal_bases_file: None,
        evidence_key_file: None,
        factor_key_file: None,
        audit_key_file: None,
        audit_keyring_file: None,
        audit_checkpoint_file: None,
        audit_checkpoint_mailto: None,
        migrate: true,
        shutdown_delay: std::time::Duration::ZERO,
        shutdown_grace: std::time::Duration::from_secs(5),
        // Most tests sign in with a password alone; the second factor's own
        // tests (auth.rs, browser.rs) set the default policy back.
        mfa_required: mlat::domain::mfa::MfaPolicy::none(),
        cors_origins: Vec::new(),
        db_pool_size: 4,
        db_pool_wait: std::time::Duration::from_secs(10),
        db_statement_timeout: Some(std::time::Duration::from_secs(30)),
        keep_connections: true,
        workers: 2,
        targets: Default::default(),
        watch_interval: None,
        public_url: "https://mlat.test.example".into(),
        mail: mlat::config::MailSettings {
            smtp_url: None,
            from: "mlat <noreply@mlat.test.example>".into(),
            retry_base: std::time::Duration::from_secs(30),
            max_attempts: 3,
            interval: None,
            webhooks_allow_private: false,
        },
        evidence_max_bytes: 1024 * 1024,
        body_idle_timeout: std::time::Duration::from_secs(2),
        max_connections: 1_024,
        // Tests sign in many people from one address; the limit's own tests
        // set it low.
        sign_in_burst: 10_000,
        sign_in_per_minute: 10_000,
        trust_forwarded: false,
    }
}

fn init_test_logging() {
    if let Ok(filter) = std::env::var("MLAT_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// Runs one test body against a fresh app on `backend`, then stops the app.
pub async fn run(backend: Backend, test: impl AsyncFnOnce(&TestApp)) {
    run_with(backend, |_| {}, test).await
}

/// Asks `check` again every 20 ms until it answers `Some`, for at most 10 s:
/// for what a server does after its answer (a job, a cut connection's clean-up).
/// Fails the test, naming `what`, if it never does.
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still not so after 10 s: {what}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Like `run`, on a server whose settings `tweak` changed first.
pub async fn run_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
    test: impl AsyncFnOnce(&TestApp),
) {
    let app = TestApp::spawn_with(backend, tweak).await;
    test(&app).await;
    app.stop().await;
}

impl TestApp {
    /// Runs `work` while a change holds this server's writer turn
    /// (`db::writers`) and returns its outcome once the turn is let go. On
    /// SQLite `work` must still be waiting after 300 ms: it writes in turn. On
    /// PostgreSQL, where writers are not queued, it must finish meanwhile.
    pub async fn behind_a_held_turn<F: std::future::Future>(&self, work: F) -> F::Output {
        let queued = self.state.settings.database_url.backend() == mlat::db::Backend::Sqlite;
        let window = Duration::from_millis(if queued { 300 } else { 10_000 });
        let turn = self.state.writers.turn().await.unwrap();
        futures_util::pin_mut!(work);
        let early = actix_web::rt::time::timeout(window, &mut work).await;
        assert_eq!(early.is_err(), queued, "queued only on SQLite");
        drop(turn);
        match early {
            Ok(done) => done,
            Err(_) => work.await,
        }
    }

    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like `spawn`, with settings changed by `tweak` first.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        init_test_logging();
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg) = match backend {
            Backend::Sqlite => (DatabaseUrl::Sqlite(dir.path().join("mlat.db")), None),
            Backend::Postgres => {
                postgres_server_url();
                let pg = PgDatabase::create();
                (DatabaseUrl::Postgres(pg.url()), Some(pg))
            }
        };
        let mut settings = test_settings(dir.path(), url);
        tweak(&mut settings);
        let app = Application::build(settings).expect("the application starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state();
        let handle = app.handle();
        actix_web::rt::spawn(app.run_until_stopped());
        TestApp {
            address,
            state,
            client: awc::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .finish(),
            handle,
            _pg: pg,
            _dir: dir,
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends a request and returns the status, the headers we check, and the
    /// JSON body (`Value::Null` when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let mut response = match body {
            Some(body) => request.send_json(&body).await,
            None => request.send().await,
        }
        .expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.body().limit(10 << 20).await.expect("a body");
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            json,
        }
    }

    /// The account `email` as the access rules see it, for calling the
    /// service layer directly.
    pub async fn viewer_of(&self, email: &str) -> mlat::domain::access::Viewer {
        let (state, email) = (self.state.clone(), email.to_owned());
        web::block(move || {
            let mut conn = state.pool.get().unwrap();
            let user = mlat::repo::users::find_by_email(&mut conn, &email)
                .unwrap()
                .expect("a seeded account");
            mlat::repo::users::find_active_with_organisation(&mut conn, &user.id)
                .unwrap()
                .expect("an active account")
                .viewer()
                .unwrap()
        })
        .await
        .unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call("POST", path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call("PATCH", path, Some(token), Some(body)).await
    }

    pub async fn login(&self, email: &str) -> String {
        let reply = self
            .post(
                "/api/v1/auth/login",
                None,
                serde_json::json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "login {email}: {:?}",
            reply.json
        );
        reply.json["access_token"].as_str().unwrap().to_owned()
    }

    /// Account e-mails to `email` (invitations, links, notices), oldest
    /// first: (subject, body).
    pub async fn account_mail_to(&self, email: &str) -> Vec<(String, String)> {
        let (state, email) = (self.state.clone(), email.to_owned());
        web::block(move || {
            let mut conn = state.pool.get().unwrap();
            mlat::repo::outbox::about_accounts_to(&mut conn, &email).unwrap()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.subject, m.body))
        .collect()
    }

    /// The token of the last link e-mailed to `email` (an invitation or a
    /// reset), read from the message as its holder would.
    pub async fn link_sent_to(&self, email: &str) -> String {
        let mail = self.account_mail_to(email).await;
        let body = mail
            .iter()
            .rev()
            .map(|(_, body)| body)
            .find(|body| body.contains("/account/setup?token="))
            .unwrap_or_else(|| panic!("no link was e-mailed to {email}: {mail:?}"));
        let at = body.find("/account/setup?token=").unwrap() + "/account/setup?token=".len();
        body[at..].split_whitespace().next().unwrap().to_owned()
    }

    /// An account made directly through the service layer, with the tests'
    /// password, as the world's are: its id.
    pub async fn add_person(
        &self,
        email: &str,
        name: &str,
        role: &str,
        organisation: &str,
    ) -> String {
        let state = self.state.clone();
        let new = accounts::NewUser {
            email: mlat::domain::validation::Email::parse(email).unwrap(),
            name: name.to_owned(),
            role: Role::parse(role).unwrap(),
            organisation_id: Some(organisation.to_owned()),
            password_hash: accounts::hash_password(PASSWORD).unwrap(),
        };
        web::block(move || {
            let mut conn = state.pool.get().unwrap();
            write_tx(&mut conn, |conn| {
                accounts::create_user(conn, &mlat::domain::audit::Actor::system(), new)
            })
        })
        .await
        .unwrap()
        .unwrap()
        .id
    }

    /// Every event of one audit chain, oldest first.
    pub async fn audit_of(&self, chain: &str) -> Vec<mlat::repo::audit::AuditEventRow> {
        let (pool, chain) = (self.state.pool.clone(), chain.to_owned());
        web::block(move || {
            let mut conn = pool.get().unwrap();
            mlat::repo::audit::for_chain(&mut conn, &chain).unwrap()
        })
        .await
        .unwrap()
    }

    /// Sets a password from the link e-mailed to `email`.
    pub async fn use_link(&self, email: &str, password: &str) -> Reply {
        let token = self.link_sent_to(email).await;
        self.post(
            "/api/v1/auth/account-link",
            None,
            serde_json::json!({"token": token, "new_password": password}),
        )
        .await
    }

    /// Creates reference data and one account per role directly through the
    /// service layer, without signing anyone in.
    pub async fn seed(&self) -> world::Built {
        let state = self.state.clone();
        web::block(move || {
            let mut conn = state.pool.get().unwrap();
            write_tx(&mut conn, |conn| world::build(conn, &plan()))
        })
        .await
        .unwrap()
        .expect("seed the world")
    }

    /// Creates reference data and one account per role directly through the
    /// service layer, and returns their ids and tokens.
    pub async fn world(&self) -> World {
        let built = self.seed().await;
        let mut tokens = Vec::new();
        for email in SEED_EMAILS {
            tokens.push(self.login(email).await);
        }
        World {
            gb_agency: built.organisation("gb-agency").to_owned(),
            gb_ca: built.organisation("gb-ca").to_owned(),
            ie_provider: built.organisation("ie-provider").to_owned(),
            de_agency: built.organisation("de-agency").to_owned(),
            admin: tokens[0].clone(),
            officer: tokens[1].clone(),
            ca: tokens[2].clone(),
            provider: tokens[3].clone(),
            admin_id: built.person(SEED_EMAILS[0]).to_owned(),
            officer_id: built.person(SEED_EMAILS[1]).to_owned(),
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: awc::http::header::HeaderMap,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status and returns its body.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.json);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{:?}",
            self.json
        );
        assert_eq!(self.json["status"], status);
        assert!(
            self.json["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:mlat:problem:")
        );
        assert!(self.json["detail"].as_str().is_some_and(|d| !d.is_empty()));
        &self.json
    }

    /// The fields a 422 names.
    pub fn fields(&self) -> Vec<String> {
        self.problem(422)["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }
}

pub struct World {
    pub gb_agency: String,
    pub gb_ca: String,
    pub ie_provider: String,
    pub de_agency: String,
    pub admin: String,
    pub officer: String,
    pub ca: String,
    pub provider: String,
    pub admin_id: String,
    pub officer_id: String,
}

const SEED_EMAILS: [&str; 4] = [
    "admin@test.example",
    "officer@gb.test.example",
    "ca@gb.test.example",
    "provider@ie.test.example",
];

/// The tests' world: a British agency, central authority and officer, an Irish
/// provider (connection logs kept 25 days, content 30), a German agency with
/// nobody in it, and an administrator; every account's password is `PASSWORD`.
fn plan() -> Plan {
    Plan {
        places: world::places(&["GB", "IE", "DE"]),
        organisations: vec![
            org("gb-agency", "GB Police", OrganisationKind::Agency, "GB"),
            org(
                "gb-ca",
                "GB Central Authority",
                OrganisationKind::CentralAuthority,
                "GB",
            ),
            // Keeps connection logs 25 days and content 30.
            world::Organisation {
                retention_days: vec![
                    (DataCategory::Identification, 25),
                    (DataCategory::Content, 30),
                ],
                ..org(
                    "ie-provider",
                    "IE Provider",
                    OrganisationKind::Provider,
                    "IE",
                )
            },
            org("de-agency", "DE Police", OrganisationKind::Agency, "DE"),
        ],
        people: vec![
            person(SEED_EMAILS[0], Role::Admin, None),
            person(SEED_EMAILS[1], Role::LiaisonOfficer, Some("gb-agency")),
            person(SEED_EMAILS[2], Role::CentralAuthority, Some("gb-ca")),
            person(SEED_EMAILS[3], Role::Provider, Some("ie-provider")),
        ],
    }
}

/// The world, with the Netherlands, a second British agency, more people, and
/// central authorities for Germany and the Netherlands.
fn network_plan() -> Plan {
    let mut plan = plan();
    plan.places = world::places(&["GB", "IE", "DE", "NL"]);
    plan.organisations.extend([
        org(
            "gb-agency-b",
            "GB Other Police",
            OrganisationKind::Agency,
            "GB",
        ),
        org(
            "nl-ca",
            "NL Central Authority",
            OrganisationKind::CentralAuthority,
            "NL",
        ),
        org(
            "nl-provider",
            "NL Provider",
            OrganisationKind::Provider,
            "NL",
        ),
        org(
            "de-ca",
            "DE Central Authority",
            OrganisationKind::CentralAuthority,
            "DE",
        ),
    ]);
    plan.people.extend([
        person(
            "officer@gb-b.test.example",
            Role::LiaisonOfficer,
            Some("gb-agency-b"),
        ),
        person(
            "officer@de.test.example",
            Role::LiaisonOfficer,
            Some("de-agency"),
        ),
        person("ca@de.test.example", Role::CentralAuthority, Some("de-ca")),
        person("ca@nl.test.example", Role::CentralAuthority, Some("nl-ca")),
        person(
            "provider@nl.test.example",
            Role::Provider,
            Some("nl-provider"),
        ),
        person("ca2@gb.test.example", Role::CentralAuthority, Some("gb-ca")),
        person(
            "officer2@gb.test.example",
            Role::LiaisonOfficer,
            Some("gb-agency"),
        ),
    ]);
    plan
}

/// A test organisation, with no retention periods.
fn org(
    key: &str,
    name: &str,
    kind: OrganisationKind,
    jurisdiction: &'static str,
) -> world::Organisation {
    world::Organisation {
        key: key.into(),
        name: name.into(),
        kind,
        jurisdiction,
        contact_email: Some("legal@org.test.example".into()),
        retention_days: Vec::new(),
    }
}

/// A test account; every one's password is `PASSWORD`.
fn person(email: &str, role: Role, organisation: Option<&str>) -> Person {
    Person {
        email: email.into(),
        name: "Test Person".into(),
        role,
        organisation: organisation.map(Into::into),
        password_hash: PASSWORD_HASH.clone(),
    }
}

/// Declares each named `async fn(&TestApp)` as a test on SQLite and one on
/// PostgreSQL.
#[macro_export]
macro_rules! backend_tests {
    (with $tweak:expr; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    $crate::helpers::run_with($crate::helpers::Backend::Sqlite, $tweak, super::$name).await
                }

                #[actix_web::test]
                #[cfg_attr(not(mlat_postgres_tests), ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)")]
                async fn postgres() {
                    $crate::helpers::run_with($crate::helpers::Backend::Postgres, $tweak, super::$name).await
                }
            }
        )*
    };
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    $crate::helpers::run($crate::helpers::Backend::Sqlite, super::$name).await
                }

                #[actix_web::test]
                #[cfg_attr(not(mlat_postgres_tests), ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)")]
                async fn postgres() {
                    $crate::helpers::run($crate::helpers::Backend::Postgres, super::$name).await
                }
            }
        )*
    };
}

/// The world plus what the workflow needs: a second agency in GB, agencies and
/// central authorities elsewhere, a second provider.
pub struct Network {
    pub w: World,
    pub nl_ca: String,
    pub nl_provider: String,
    pub officer_b: String,
    pub officer_de: String,
    pub ca_de: String,
    pub ca_nl: String,
    pub provider_nl: String,
    pub ca_second: String,
}

impl TestApp {
    pub async fn network(&self) -> Network {
        let w = self.world().await;
        let state = self.state.clone();
        let built = web::block(move || {
            let mut conn = state.pool.get().unwrap();
            write_tx(&mut conn, |conn| world::build(conn, &network_plan()))
        })
        .await
        .unwrap()
        .expect("seed the network");
        Network {
            w,
            nl_ca: built.organisation("nl-ca").to_owned(),
            nl_provider: built.organisation("nl-provider").to_owned(),
            officer_b: self.login("officer@gb-b.test.example").await,
            officer_de: self.login("officer@de.test.example").await,
            ca_de: self.login("ca@de.test.example").await,
            ca_nl: self.login("ca@nl.test.example").await,
            provider_nl: self.login("provider@nl.test.example").await,
            ca_second: self.login("ca2@gb.test.example").await,
        }
    }
}
