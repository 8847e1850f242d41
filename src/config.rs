//! Settings from `MLAT_*` environment variables over defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::db::DatabaseUrl;

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub log_filter: String,
    /// An Ed25519 private key in PKCS#8 PEM; `None` means the generated key in the
    /// data directory.
    pub jwt_key_file: Option<PathBuf>,
    pub legal_bases_file: Option<PathBuf>,
    /// The master key that wraps each evidence file's data key; `None`:
    /// `<data dir>/evidence.key`, generated once.
    pub evidence_key_file: Option<PathBuf>,
    /// The key that seals second factors' secrets in the database; `None`:
    /// `<data dir>/factor.key`, generated once.
    pub factor_key_file: Option<PathBuf>,
    /// The key that signs the audit trail's checkpoints and receipts
    /// (`audit_keys`); `None`: `<data dir>/audit-ed25519.pem`, generated once.
    pub audit_key_file: Option<PathBuf>,
    /// The public keys verifiers trust, current and retired; `None`:
    /// `<data dir>/audit-keys.json`.
    pub audit_keyring_file: Option<PathBuf>,
    /// Where each checkpoint is appended, one JSON line each; `None`:
    /// `<data dir>/audit-checkpoints.jsonl`.
    pub audit_checkpoint_file: Option<PathBuf>,
    /// An auditor's address each checkpoint is mailed to, through the outbox.
    pub audit_checkpoint_mailto: Option<String>,
    /// Apply pending migrations at start (under a lock shared by every
    /// instance); when false, refuse to start on a schema this version
    /// is ahead of (`mlat migrate` always migrates).
    pub migrate: bool,
    /// On SIGTERM: how long `/readyz` says 503 while the instance still
    /// serves, then how long requests in flight may take to finish.
    pub shutdown_delay: std::time::Duration,
    pub shutdown_grace: std::time::Duration,
    /// The roles that must sign in with a second factor.
    pub mfa_required: crate::domain::mfa::MfaPolicy,
    pub cors_origins: Vec<String>,
    pub db_pool_size: u32,
    /// How long a request waits for a database connection, and (PostgreSQL)
    /// for one statement, before it is answered 503.
    pub db_pool_wait: std::time::Duration,
    pub db_statement_timeout: Option<std::time::Duration>,
    /// Keep a connection open and replace it in the background (a server);
    /// not for a one-off command, which would exit with a connection attempt
    /// still running on another thread (libpq crashes in its exit handlers).
    pub keep_connections: bool,
    pub workers: usize,
    /// Approval and follow-up targets where the law sets none.
    pub targets: crate::domain::deadlines::Targets,
    /// How often the deadline watcher runs in the server; `None`: not at all
    /// (run `mlat deadlines tick` from cron instead).
    pub watch_interval: Option<std::time::Duration>,
    /// The address people open the service at, for links in notifications.
    pub public_url: String,
    pub mail: MailSettings,
    /// Largest evidence file, and most evidence bytes per request.
    pub evidence_max_bytes: u64,
    /// A request body that sends nothing for this long is cut off (408).
    pub body_idle_timeout: std::time::Duration,
    /// Open connections per worker; more wait in the listen queue.
    pub max_connections: usize,
    /// Sign-ins one address may make at once, then per minute
    /// (`auth::sign_in_limit`).
    pub sign_in_burst: u32,
    pub sign_in_per_minute: u32,
    /// Behind a reverse proxy the deployment runs: believe the client address
    /// it names in `Forwarded` / `X-Forwarded-For`.
    pub trust_forwarded: bool,
}

/// How notifications leave: SMTP when a URL is set, otherwise `.eml` files in
/// `<data dir>/mail/` so that the embedded default works offline.
/// A URL that may carry a password (`smtps://user:password@host`): its
/// `Debug`, and so any log of the settings, shows it with the password
/// masked; only `expose` gives it whole, to the code that connects.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        SecretUrl(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::logging::redacted_url(&self.0))
    }
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port` (STARTTLS if offered), `smtp://host:port?tls=required`,
    /// `smtps://user:password@host` (TLS from the first byte).
    pub smtp_url: Option<SecretUrl>,
    pub from: String,
    /// Wait before the first retry; doubled each time, capped at 6 hours.
    pub retry_base: std::time::Duration,
    /// Attempts before a message is dead.
    pub max_attempts: u32,
    /// How often the server's sender runs; `None`: not at all.
    pub interval: Option<std::time::Duration>,
    /// Webhooks may reach loopback and private addresses, over plain HTTP
    /// too (`domain::webhooks::may_connect`): for receivers on the
    /// operator's own network.
    pub webhooks_allow_private: bool,
}

/// One bad setting, named, so start-up can stop with one clear line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name}: {message}")]
pub struct SettingError {
    pub name: &'static str,
    pub message: String,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process
    /// environment.
    ///
    /// Long on purpose: one setting after another, each with its default and
    /// its message (docs/operations.md lists them all).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let err = |name: &'static str, message: String| SettingError { name, message };

        let data_dir = PathBuf::from(get("MLAT_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = match get("MLAT_DATABASE_URL") {
            Some(text) => {
                DatabaseUrl::parse(&text).map_err(|e| err("MLAT_DATABASE_URL", e.to_string()))?
            }
            None => DatabaseUrl::Sqlite(data_dir.join("mlat.db")),
        };
        let bind_text = get("MLAT_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind = bind_text.trim().parse::<SocketAddr>().map_err(|_| {
            err(
                "MLAT_BIND",
                format!("`{bind_text}` is not an address and port such as 127.0.0.1:8080"),
            )
        })?;
        let log_filter = get("MLAT_LOG").unwrap_or_else(|| "info".into());
        tracing_subscriber::EnvFilter::try_new(&log_filter).map_err(|e| {
            err(
                "MLAT_LOG",
                format!("`{log_filter}` is not a log filter: {e}"),
            )
        })?;
        let cors_origins = match get("MLAT_CORS_ORIGINS") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|origin| {
                    if origin.starts_with("https://") || origin.starts_with("http://") {
                        Ok(origin.trim_end_matches('/').to_owned())
                    } else {
                        Err(err(
                            "MLAT_CORS_ORIGINS",
                            format!("`{origin}` is not an origin such as https://portal.example"),
                        ))
                    }
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let number = |name: &'static str, default: u32, max: u32| -> Result<u32, SettingError> {
            match get(name) {
                None => Ok(default),
                Some(text) => match text.trim().parse::<u32>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => Err(err(
                        name,
                        format!("`{text}` is not a whole number from 1 to {max}"),
                    )),
                },
            }
        };
        let db_pool_size = number("MLAT_DB_POOL_SIZE", 10, 500)?;
        let targets = crate::domain::deadlines::Targets {
            approval: chrono::TimeDelta::hours(
                number("MLAT_APPROVAL_TARGET_HOURS", 24, 24 * 30)?.into(),
            ),
            approval_emergency: chrono::TimeDelta::hours(
                number("MLAT_APPROVAL_EMERGENCY_TARGET_HOURS", 2, 24 * 7)?.into(),
            ),
            follow_up_margin: chrono::TimeDelta::days(
                number("MLAT_FOLLOW_UP_MARGIN_DAYS", 14, 365)?.into(),
            ),
        };
        let default_workers = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
        let workers = number("MLAT_WORKERS", default_workers, 256)? as usize;
        let watch_secs = match get("MLAT_WATCH_INTERVAL_SECS").as_deref().map(str::trim) {
            Some("0") => 0,
            _ => number("MLAT_WATCH_INTERVAL_SECS", 60, 86_400)?,
        };
        let public_url = get("MLAT_PUBLIC_URL")
            .map(|u| u.trim().trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{bind}"));
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
            return Err(err(
                "MLAT_PUBLIC_URL",
                format!("`{public_url}` is not a URL such as https://mlat.example.gov"),
            ));
        }
        let smtp_url = get("MLAT_SMTP_URL").map(|u| SecretUrl::new(u.trim()));
        if let Some(url) = &smtp_url
            && !(url.expose().starts_with("smtp://") || url.expose().starts_with("smtps://"))
        {
            return Err(err(
                "MLAT_SMTP_URL",
                "use smtp://host:port or smtps://user:password@host".into(),
            ));
        }
        let from = get("MLAT_MAIL_FROM").unwrap_or_else(|| "mlat <noreply@mlat.invalid>".into());
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(err(
                "MLAT_MAIL_FROM",
                format!("`{from}` is not a mailbox such as `mlat <noreply@agency.example>`"),
            ));
        }
        let mail_interval = match get("MLAT_MAIL_INTERVAL_SECS").as_deref().map(str::trim) {
            Some("0") => 0,
            _ => number("MLAT_MAIL_INTERVAL_SECS", 10, 86_400)?,
        };
        let mail = MailSettings {
            smtp_url,
            from,
            retry_base: std::time::Duration::from_secs(
                number("MLAT_MAIL_RETRY_BASE_SECS", 30, 86_400)?.into(),
            ),
            max_attempts: number("MLAT_MAIL_MAX_ATTEMPTS", 8, 100)?,
            interval: (mail_interval > 0)
                .then(|| std::time::Duration::from_secs(mail_interval.into())),
            webhooks_allow_private: match get("MLAT_WEBHOOKS_ALLOW_PRIVATE")
                .as_deref()
                .map(str::trim)
            {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(err(
                        "MLAT_WEBHOOKS_ALLOW_PRIVATE",
                        format!("`{other}` is not `true` or `false`"),
                    ));
                }
            },
        };
        let evidence_max_bytes = match get("MLAT_EVIDENCE_MAX_BYTES") {
            None => 2 * 1024 * 1024 * 1024,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(err(
                        "MLAT_EVIDENCE_MAX_BYTES",
                        format!("`{text}` is not a number of bytes"),
                    ));
                }
            },
        };
        let body_idle_timeout = std::time::Duration::from_secs(
            number("MLAT_BODY_IDLE_TIMEOUT_SECS", 30, 3_600)?.into(),
        );
        let max_connections = number("MLAT_MAX_CONNECTIONS", 1_024, 100_000)? as usize;
        let sign_in_burst = number("MLAT_SIGN_IN_BURST", 20, 100_000)?;
        let sign_in_per_minute = number("MLAT_SIGN_IN_PER_MINUTE", 10, 100_000)?;
        let trust_forwarded = match get("MLAT_TRUST_FORWARDED").as_deref().map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(err(
                    "MLAT_TRUST_FORWARDED",
                    format!("`{other}` is not `true` or `false`"),
                ));
            }
        };
        let migrate = match get("MLAT_MIGRATE").as_deref().map(str::trim) {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(err(
                    "MLAT_MIGRATE",
                    format!("`{other}` is not `true` or `false`"),
                ));
            }
        };
        let mfa_required = match get("MLAT_MFA_REQUIRED") {
            None => crate::domain::mfa::MfaPolicy::default(),
            Some(text) => crate::domain::mfa::MfaPolicy::parse(&text)
                .map_err(|message| err("MLAT_MFA_REQUIRED", message))?,
        };
        let audit_checkpoint_mailto = match get("MLAT_AUDIT_CHECKPOINT_MAILTO") {
            None => None,
            Some(address) => Some(
                crate::domain::validation::Email::parse(&address)
                    .map_err(|message| err("MLAT_AUDIT_CHECKPOINT_MAILTO", message))?
                    .into_string(),
            ),
        };
        Ok(Settings {
            database_url,
            data_dir,
            bind,
            log_filter,
            jwt_key_file: get("MLAT_JWT_KEY_FILE").map(PathBuf::from),
            legal_bases_file: get("MLAT_LEGAL_BASES_FILE").map(PathBuf::from),
            evidence_key_file: get("MLAT_EVIDENCE_KEY_FILE").map(PathBuf::from),
            factor_key_file: get("MLAT_FACTOR_KEY_FILE").map(PathBuf::from),
            audit_key_file: get("MLAT_AUDIT_KEY_FILE").map(PathBuf::from),
            audit_keyring_file: get("MLAT_AUDIT_KEYRING_FILE").map(PathBuf::from),
            audit_checkpoint_file: get("MLAT_AUDIT_CHECKPOINT_FILE").map(PathBuf::from),
            audit_checkpoint_mailto,
            migrate,
            shutdown_delay: std::time::Duration::from_secs(
                number("MLAT_SHUTDOWN_DELAY_SECS", 0, 300)?.into(),
            ),
            shutdown_grace: std::time::Duration::from_secs(
                number("MLAT_SHUTDOWN_GRACE_SECS", 30, 3_600)?.into(),
            ),
            mfa_required,
            cors_origins,
            db_pool_size,
            db_pool_wait: std::time::Duration::from_secs(
                number("MLAT_DB_POOL_WAIT_SECS", 5, 600)?.into(),
            ),
            db_statement_timeout: match get("MLAT_DB_STATEMENT_TIMEOUT_SECS")
                .as_deref()
                .map(str::trim)
            {
                Some("0") => None,
                _ => Some(std::time::Duration::from_secs(
                    number("MLAT_DB_STATEMENT_TIMEOUT_SECS", 30, 86_400)?.into(),
                )),
            },
            keep_connections: true,
            workers,
            targets,
            watch_interval: (watch_secs > 0)
                .then(|| std::time::Duration::from_secs(watch_secs.into())),
            public_url,
            mail,
            evidence_max_bytes,
            body_idle_timeout,
            max_connections,
            sign_in_burst,
            sign_in_per_minute,
            trust_forwarded,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_settings_never_show_in_their_debug() {
        let mail = MailSettings {
            smtp_url: Some(SecretUrl::new(
                "smtps://mlat:s3cret-pw@mail.example.gov:465",
            )),
            from: "mlat <noreply@example.gov>".into(),
            retry_base: std::time::Duration::from_secs(30),
            max_attempts: 8,
            interval: None,
            webhooks_allow_private: false,
        };
        let shown = format!("{mail:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(
            shown.contains("smtps://mlat:***@mail.example.gov:465"),
            "{shown}"
        );
        let database =
            DatabaseUrl::Postgres("postgres://mlat:s3cret-pw@db.example.gov/mlat".into());
        let shown = format!("{database:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("db.example.gov"), "{shown}");
        assert!(!format!("{:?}", SecretUrl::new("smtp://us er:pw@[bad")).contains("pw"));
    }

    /// Every variable this module reads is in the operations manual.
    #[test]
    fn every_setting_is_documented() {
        let manual = include_str!("../docs/operations.md");
        let source = include_str!("config.rs")
            .split("#[cfg(test)]")
            .next()
            .unwrap();
        let mut names: Vec<&str> = source
            .split('"')
            .filter(|s| {
                s.starts_with("MLAT_")
                    && s.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .collect();
        names.sort();
        names.dedup();
        assert!(names.len() >= 15, "{names:?}");
        for name in names {
            assert!(
                manual.contains(&format!("`{name}`")),
                "{name} is not in docs/operations.md"
            );
        }
    }
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SettingError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_to_sqlite_in_the_data_directory() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.database_url, DatabaseUrl::Sqlite("./data/mlat.db".into()));
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.log_filter, "info");
        let s = settings(&[("MLAT_DATA_DIR", "/srv/mlat")]).unwrap();
        assert_eq!(
            s.database_url,
            DatabaseUrl::Sqlite("/srv/mlat/mlat.db".into())
        );
    }

    #[test]
    fn postgres_is_chosen_by_scheme() {
        let s = settings(&[("MLAT_DATABASE_URL", "postgres://u@h/db")]).unwrap();
        assert_eq!(s.database_url.backend(), crate::db::Backend::Postgres);
    }

    #[test]
    fn a_bad_setting_is_named() {
        let e = settings(&[("MLAT_BIND", "localhost")]).unwrap_err();
        assert_eq!(e.name, "MLAT_BIND");
        assert!(e.to_string().starts_with("MLAT_BIND: `localhost`"));
        let e = settings(&[("MLAT_DATABASE_URL", "mysql://h/db")]).unwrap_err();
        assert_eq!(e.name, "MLAT_DATABASE_URL");
        let e = settings(&[("MLAT_DB_POOL_SIZE", "0")]).unwrap_err();
        assert_eq!(e.name, "MLAT_DB_POOL_SIZE");
        let e = settings(&[("MLAT_CORS_ORIGINS", "portal.example")]).unwrap_err();
        assert_eq!(e.name, "MLAT_CORS_ORIGINS");
        let e = settings(&[("MLAT_LOG", "info,[[[")]).unwrap_err();
        assert_eq!(e.name, "MLAT_LOG");
    }
}
