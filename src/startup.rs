//! Building the service: data directory, pool, migrations, keys, catalogue, HTTP.

use std::net::TcpListener;
use std::path::PathBuf;

use actix_cors::Cors;
use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Server, ServerHandle, Service, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{Condition, DefaultHeaders, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{App, HttpMessage, HttpServer, web};
use tracing_actix_web::{RequestId, TracingLogger};

use crate::api;
use crate::auth::tokens::{KeyError, TokenKeys};
use crate::config::Settings;
use crate::db::{self, migrations};
use crate::domain::legal_bases::{Catalogue, CatalogueError};
use crate::error::Error;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] db::pool::PoolError),
    #[error("cannot get a database connection: {0}")]
    Connection(#[from] diesel::r2d2::PoolError),
    #[error("migrations failed: {0}")]
    Migrations(migrations::MigrationError),
    #[error(
        "the database lacks migrations this version needs ({0}) and MLAT_MIGRATE=false: run `mlat migrate` first"
    )]
    SchemaBehind(String),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("{0}")]
    Mail(String),
    #[error("MLAT_LEGAL_BASES_FILE {path}: {message}")]
    Catalogue { path: String, message: String },
    #[error("{0}")]
    EvidenceKey(String),
    #[error("{0}")]
    FactorKey(String),
    #[error("{0}")]
    AuditKey(String),
    #[error("cannot bring stored deadlines up to the current rules: {0}")]
    Upgrade(String),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// Where the generated token key lives when `MLAT_JWT_KEY_FILE` is not set.
pub fn default_key_path(settings: &Settings) -> PathBuf {
    settings.data_dir.join("jwt-ed25519.pem")
}

/// The database, the evidence store, the keys and the mail spool hold abuse
/// material and secrets: everything this process creates is for its own user
/// only (files 0600, directories 0700), and the data directory is closed to
/// others even if an older version made it 0755.
pub fn private_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        let evidence = dir.join("evidence");
        if evidence.is_dir() {
            std::fs::set_permissions(&evidence, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Opens the data directory and the database and applies pending migrations.
/// Returns the pool and the versions applied now.
pub fn open_database(settings: &Settings) -> Result<(db::Pool, Vec<String>), StartupError> {
    private_data_dir(&settings.data_dir).map_err(|source| StartupError::DataDir {
        path: settings.data_dir.display().to_string(),
        source,
    })?;
    // On SQLite the lock is taken before the pool opens: switching a new
    // database to write-ahead logging also needs the file to itself.
    let _sqlite_lock = match &settings.database_url {
        db::DatabaseUrl::Sqlite(path) => {
            Some(migrations::lock_beside(path).map_err(StartupError::Migrations)?)
        }
        db::DatabaseUrl::Postgres(_) => None,
    };
    let pool = db::pool::build(
        &settings.database_url,
        settings.db_pool_size,
        settings.keep_connections,
        db::pool::Bounds {
            wait: settings.db_pool_wait,
            statement_timeout: settings.db_statement_timeout,
        },
    )?;
    // Migrations run on a connection of their own, without the pool's
    // statement timeout: a migration of a large table may take minutes.
    let mut conn = db::conn::establish(&settings.database_url)
        .map_err(|e| StartupError::Migrations(Box::new(e)))?;
    let applied = if settings.migrate {
        // SQLite's lock is held already (above).
        migrations::run_pending_exclusively(&mut conn, None).map_err(StartupError::Migrations)?
    } else {
        // Another step of the deployment migrates (`mlat migrate`): a schema
        // behind this binary is refused, one ahead of it is fine (the next
        // release's expand step, docs/operations.md).
        let missing = migrations::pending(&mut conn).map_err(StartupError::Migrations)?;
        if !missing.is_empty() {
            return Err(StartupError::SchemaBehind(missing.join(", ")));
        }
        Vec::new()
    };
    if let Err(e) = db::optimize(&mut conn) {
        tracing::warn!(error = %e, "could not refresh the query planner's statistics");
    }
    Ok((pool, applied))
}

pub fn load_catalogue(settings: &Settings) -> Result<Catalogue, StartupError> {
    match &settings.legal_bases_file {
        None => Ok(Catalogue::embedded()),
        Some(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| StartupError::Catalogue {
                path: shown.clone(),
                message: e.to_string(),
            })?;
            Catalogue::parse(&text).map_err(|e: CatalogueError| StartupError::Catalogue {
                path: shown,
                message: e.to_string(),
            })
        }
    }
}

/// Everything the handlers share, ready to serve.
pub fn prepare(settings: Settings) -> Result<AppState, StartupError> {
    let (pool, applied) = open_database(&settings)?;
    for version in &applied {
        tracing::info!(%version, "migration applied");
    }
    let keys = match &settings.jwt_key_file {
        Some(path) => TokenKeys::load(path, false)?,
        None => TokenKeys::load(&default_key_path(&settings), true)?,
    };
    let catalogue = load_catalogue(&settings)?;
    tracing::info!(
        backend = %settings.database_url.backend(),
        database = %settings.database_url.redacted(),
        legal_bases = catalogue.legal_bases.len(),
        "ready"
    );
    let evidence_key = match &settings.evidence_key_file {
        Some(path) => crate::sealed::MasterKey::load(path, false),
        None => crate::sealed::MasterKey::load(&settings.data_dir.join("evidence.key"), true),
    }
    .map_err(|e| StartupError::EvidenceKey(e.to_string()))?;
    let store =
        crate::store::EvidenceStore::new(&settings.data_dir, evidence_key).map_err(|e| {
            StartupError::Mail(format!(
                "cannot open the evidence store in {}: {e}",
                settings.data_dir.display()
            ))
        })?;
    // Every instance must read the same factor key (as the evidence key).
    let factor_key = match &settings.factor_key_file {
        Some(path) => crate::sealed::MasterKey::load(path, false),
        None => crate::sealed::MasterKey::load(&settings.data_dir.join("factor.key"), true),
    }
    .map_err(|e| StartupError::FactorKey(e.to_string()))?;
    // The webhooks' signing secrets are sealed under the factor key too.
    let mailer = crate::mail::Mailer::new(&settings.mail, &settings.data_dir)
        .map_err(StartupError::Mail)?
        .with_webhook_key(factor_key.clone());
    let anchoring = crate::service::anchor::Anchoring::from_settings(&settings)
        .map_err(StartupError::AuditKey)?;
    let writers = crate::db::WriterQueue::new(
        settings.database_url.backend(),
        crate::db::writers::PATIENCE,
    );
    let sign_in_limit = crate::auth::sign_in_limit::SignInLimit::new(
        settings.sign_in_burst,
        settings.sign_in_per_minute,
    );
    let state = AppState {
        pool,
        keys,
        catalogue,
        settings,
        mailer,
        store,
        writers,
        sign_in_limit,
        factor_key,
        anchoring,
        lifecycle: Default::default(),
    };
    let mut conn = state.pool.get()?;
    let upgraded =
        crate::service::upgrade::bring_up_to_date(&mut conn, &state.writers, &state.rules())
            .map_err(|e| StartupError::Upgrade(e.to_string()))?;
    if let Some(report) = upgraded {
        tracing::info!(?report, "stored deadlines brought up to the current rules");
    }
    drop(conn);
    Ok(state)
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Builds the service and binds its listener (port 0 picks a free one).
    pub fn build(settings: Settings) -> Result<Self, StartupError> {
        let state = web::Data::new(prepare(settings)?);
        Self::with_state(state)
    }

    pub fn with_state(state: web::Data<AppState>) -> Result<Self, StartupError> {
        let listener = bind(&state.settings)?;
        Self::with_listener(state, listener)
    }

    /// Serves on a listener bound already (by `serve`, which answered on it
    /// while starting: `starting_server`).
    pub fn with_listener(
        state: web::Data<AppState>,
        listener: TcpListener,
    ) -> Result<Self, StartupError> {
        let address = state.settings.bind;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                address: address.to_string(),
                source,
            })?
            .port();
        let workers = state.settings.workers;
        let shared = state.clone();
        let server = HttpServer::new(move || {
            let cors_origins = shared.settings.cors_origins.clone();
            App::new()
                .app_data(shared.clone())
                .configure(api::configure)
                .configure(crate::portal::configure)
                .default_service(web::to(not_found))
                .wrap(Condition::new(
                    !cors_origins.is_empty(),
                    cors(&cors_origins),
                ))
                .wrap(ErrorHandlers::new().default_handler(problem_for_bare_errors))
                .wrap(security_headers())
                // Every body is read through an idle deadline.
                .wrap_fn({
                    let idle = shared.settings.body_idle_timeout;
                    move |mut req, srv| {
                        let body = req.take_payload();
                        req.set_payload(crate::api::body_deadline::IdleDeadline::wrap(body, idle));
                        srv.call(req)
                    }
                })
                // No id or code has a control character: refuse one before it
                // reaches a handler, the database or the log.
                .wrap_fn(|req, srv| {
                    if crate::logging::has_control_characters(req.path()) {
                        futures_util::future::Either::Left(std::future::ready(Err(
                            Error::not_found(
                                "no resource at this path: it contains a control character",
                            )
                            .into(),
                        )))
                    } else {
                        futures_util::future::Either::Right(srv.call(req))
                    }
                })
                .wrap_fn(|req, srv| {
                    let request_id = req.extensions().get::<RequestId>().copied();
                    let response = srv.call(req);
                    async move {
                        let mut response = response.await?;
                        if let Some(id) = request_id
                            && let Ok(value) = HeaderValue::from_str(&id.to_string())
                        {
                            response
                                .headers_mut()
                                .insert(HeaderName::from_static("x-request-id"), value);
                        }
                        Ok(response)
                    }
                })
                .wrap(TracingLogger::<crate::api::request_log::RequestLog>::new())
        })
        .workers(workers)
        .max_connections(state.settings.max_connections)
        // `serve` handles SIGTERM itself (`drain`): readiness goes first.
        .disable_signals()
        .shutdown_timeout(state.settings.shutdown_grace.as_secs().max(1))
        .client_disconnect_timeout(std::time::Duration::from_secs(1))
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            address: address.to_string(),
            source,
        })?
        .run();
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves, with the deadline watcher running beside it if configured.
    /// Once the server has stopped, waits (within the grace) for a running
    /// watcher or mail pass to finish its transaction.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if let Some(interval) = self.state.settings.watch_interval {
            crate::jobs::spawn_watcher(self.state.clone().into_inner(), interval);
        }
        if let Some(interval) = self.state.settings.mail.interval {
            crate::jobs::spawn_sender(self.state.clone().into_inner(), interval);
        }
        let served = self.server.await;
        let lifecycle = &self.state.lifecycle;
        lifecycle.drain();
        if !lifecycle
            .passes_finished(self.state.settings.shutdown_grace)
            .await
        {
            tracing::warn!("a background pass was still running at the end of the grace period");
        }
        served
    }
}

/// Binds the address the settings name.
pub fn bind(settings: &Settings) -> Result<TcpListener, StartupError> {
    TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
        address: settings.bind.to_string(),
        source,
    })
}

/// What answers on the listener while the instance starts (waiting for
/// another instance's migrations, applying its own, loading keys, the demo):
/// `/healthz` 200, so a liveness probe does not kill a start that waits, and
/// everything else 503 with `Retry-After`, `/readyz` included.
pub fn starting_server(listener: TcpListener) -> std::io::Result<Server> {
    use actix_web::HttpResponse;
    async fn starting(req: actix_web::HttpRequest) -> HttpResponse {
        if req.path() == "/healthz" {
            return HttpResponse::Ok().json(serde_json::json!({"status": "ok"}));
        }
        // A 503 problem, with `Retry-After` as every 503 has.
        actix_web::ResponseError::error_response(&Error::unavailable(
            "starting: this instance is not ready yet",
        ))
    }
    Ok(
        HttpServer::new(|| App::new().default_service(web::to(starting)))
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)?
            .run(),
    )
}

/// On SIGTERM or SIGINT: not ready at once (`/readyz` 503), still serving for
/// `MLAT_SHUTDOWN_DELAY_SECS` so that load balancers see it, then no new
/// connections and the requests in flight finish within
/// `MLAT_SHUTDOWN_GRACE_SECS` (those still running then are cut: their
/// clients see an error, never a success for what was not done).
pub async fn drain_on_signal(handle: ServerHandle, state: web::Data<AppState>) {
    use actix_web::rt::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for signals: a stop will not drain");
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    let settings = &state.settings;
    tracing::info!(
        delay_secs = settings.shutdown_delay.as_secs(),
        grace_secs = settings.shutdown_grace.as_secs(),
        "stopping: not ready any more, draining"
    );
    state.lifecycle.drain();
    actix_web::rt::time::sleep(settings.shutdown_delay).await;
    handle.stop(true).await;
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"))
        .add((header::REFERRER_POLICY, "no-referrer"))
}

/// CORS stays closed (no CORS headers, so browsers refuse cross-origin reads)
/// unless `MLAT_CORS_ORIGINS` lists origins.
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST", "PATCH"])
        // A browser client delivers evidence with its name and digest, and
        // reads the digest of what it downloads.
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::CONTENT_DISPOSITION,
            HeaderName::from_static("repr-digest"),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("repr-digest"),
            header::CONTENT_DISPOSITION,
        ])
        .max_age(600)
}

/// An unknown path: a problem document under the API, the portal's page
/// anywhere else.
async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, Error> {
    if req.path().starts_with("/api/") {
        Err(Error::not_found(format!("no resource at {}", req.path())))
    } else {
        Ok(crate::portal::not_found())
    }
}

/// Errors raised by actix itself (an unknown method on a known path, say) carry
/// a plain body; give them the problem+json shape every client expects.
fn problem_for_bare_errors<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .starts_with(api::error::PROBLEM_JSON.as_bytes())
    });
    // The portal's error pages are pages.
    let is_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_problem || is_page || res.status().as_u16() < 400 {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match status.as_u16() {
        405 => Error::unsupported(format!(
            "{} is not allowed on {}",
            res.request().method(),
            res.request().path()
        )),
        404 => Error::not_found(format!("no resource at {}", res.request().path())),
        400 => Error::malformed("the request could not be understood"),
        413 => Error::too_large("the request is too large"),
        _ if status.is_server_error() => Error::internal(format!("unhandled {status}")),
        _ => Error::malformed(format!(
            "the request was refused ({})",
            status.canonical_reason().unwrap_or("error")
        )),
    };
    let (req, _) = res.into_parts();
    let response = if actix_web::ResponseError::status_code(&detail) == status {
        actix_web::ResponseError::error_response(&detail)
    } else {
        // A status with no kind of its own: keep it, in the body too.
        let reason = status.canonical_reason().unwrap_or("Error");
        let body = serde_json::json!({
            "type": api::error::problem_type("http-error"),
            "title": reason,
            "status": status.as_u16(),
            "detail": detail.to_string(),
        });
        actix_web::HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, api::error::PROBLEM_JSON))
            .body(body.to_string())
    };
    let response: actix_web::HttpResponse<EitherBody<B, BoxBody>> = response.map_into_right_body();
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(
        req, response,
    )))
}
