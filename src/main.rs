use std::io::BufRead;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mlat::config::Settings;
use mlat::domain::reference::Role;
use mlat::domain::validation::{Email, password_policy, text_field};
use mlat::service::accounts::{self, NewUser};
use mlat::{Application, db, demo, startup};

/// mlat: tracks cross-border requests for electronic evidence and their deadlines.
///
/// Settings come from the environment: MLAT_DATABASE_URL, MLAT_DATA_DIR, MLAT_BIND,
/// MLAT_LOG, MLAT_JWT_KEY_FILE, MLAT_LEGAL_BASES_FILE, MLAT_CORS_ORIGINS,
/// MLAT_DB_POOL_SIZE, MLAT_WORKERS (see docs/operations.md).
#[derive(Parser)]
#[command(name = "mlat", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the HTTP API.
    Serve {
        /// Load the demo world first if the database is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending migrations and say which were applied.
    Migrate,
    /// Load the demo world (idempotent) and print the demo accounts.
    Demo,
    /// Deadline watcher, for running from cron.
    Deadlines {
        #[command(subcommand)]
        command: DeadlinesCommand,
    },
    /// Check the evidence store.
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// Check the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The secrets sealed in the database with the factor key.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Print the OpenAPI 3.1 document the server serves.
    Openapi,
    /// Write the JSON Schemas of the exchanged documents (and openapi.json)
    /// into a folder; the repository's schemas/ is made with this.
    Schemas {
        #[arg(long, default_value = "schemas")]
        out: std::path::PathBuf,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum DeadlinesCommand {
    /// One pass of the watcher: mark missed deadlines, expire lapsed
    /// preservations, queue reminders. Safe to run while servers run theirs.
    Tick,
    /// Recompute the deadlines of every open request under the rules of this
    /// binary, auditing each change. The server does this by itself when the
    /// rules change; run it after editing holidays or memberships.
    Recompute,
}

#[derive(Subcommand)]
enum EvidenceCommand {
    /// Decrypt and re-hash every stored evidence file; exit 1 and list the
    /// files missing or altered.
    Verify,
    /// Seal (encrypt) every evidence file an older version stored in the clear.
    Encrypt,
    /// Rotate the evidence master key: wrap every file's data key with the key
    /// in NEW_KEY_FILE (then point MLAT_EVIDENCE_KEY_FILE at it).
    Rewrap {
        #[arg(long)]
        new_key_file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute every hash chain and compare the database with the signed
    /// checkpoints (the database's and the checkpoint file's); exit 0 when
    /// nothing is wrong, 1 and the first finding otherwise.
    Verify,
    /// Anchor every event not yet anchored in signed checkpoints now (the
    /// server does this at each watcher pass).
    Checkpoint,
    /// Check a receipt offline: its event, its signature and its inclusion
    /// proof, with the published keys.
    VerifyReceipt {
        file: std::path::PathBuf,
        /// The keys as `GET /api/v1/audit/keys` serves them; default: this
        /// deployment's key ring.
        #[arg(long)]
        keys: Option<std::path::PathBuf>,
    },
    /// Make a new audit key: the current key signs a checkpoint handing over
    /// to it, is retired in the key ring, and the new key signs from then on.
    RotateKey,
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Rotate the factor key: seal every account's second-factor secret and
    /// every webhook's signing secret again with the key in NEW_KEY_FILE
    /// (created if it does not exist), in one transaction; then point
    /// MLAT_FACTOR_KEY_FILE at it on every instance. Stop the instances first.
    Rewrap {
        #[arg(long)]
        new_key_file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the first administrator is made this way.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, liaison_officer, central_authority or provider.
        #[arg(long)]
        role: String,
        /// The organisation's id (required for every role but admin).
        #[arg(long)]
        organisation: Option<String>,
        /// Read the password (at least 12 characters) from the first line of
        /// standard input, so that it stays out of the shell history.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

fn init_logging(filter: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_target(false)
        .with_writer(mlat::logging::EscapedStderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings.log_filter);
    let mut settings = settings;
    settings.keep_connections = matches!(cli.command, Command::Serve { .. });
    match run(cli.command, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, settings: Settings) -> Result<(), String> {
    match command {
        Command::Serve { demo } => serve(settings, demo),
        Command::Openapi => {
            println!("{}", mlat::api::openapi::document());
            Ok(())
        }
        Command::Schemas { out } => write_schemas(&out),
        Command::Migrate => migrate(&settings),
        Command::Deadlines {
            command: DeadlinesCommand::Tick,
        } => deadlines_tick(settings),
        Command::Deadlines {
            command: DeadlinesCommand::Recompute,
        } => deadlines_recompute(settings),
        Command::Evidence {
            command: EvidenceCommand::Verify,
        } => evidence_verify(settings),
        Command::Evidence {
            command: EvidenceCommand::Encrypt,
        } => evidence_encrypt(settings),
        Command::Evidence {
            command: EvidenceCommand::Rewrap { new_key_file },
        } => evidence_rewrap(settings, &new_key_file),
        Command::Audit {
            command: AuditCommand::Verify,
        } => audit_verify(&settings),
        Command::Audit {
            command: AuditCommand::Checkpoint,
        } => audit_checkpoint(settings),
        Command::Audit {
            command: AuditCommand::VerifyReceipt { file, keys },
        } => audit_verify_receipt(&settings, &file, keys.as_deref()),
        Command::Audit {
            command: AuditCommand::RotateKey,
        } => audit_rotate_key(settings),
        Command::Secrets {
            command: SecretsCommand::Rewrap { new_key_file },
        } => secrets_rewrap(settings, &new_key_file),
        Command::Demo => load_demo(settings),
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    name,
                    role,
                    organisation,
                    password_stdin: _,
                },
        } => create_user(&settings, &email, &name, &role, organisation),
    }
}

/// `mlat schemas`: the JSON Schemas cut from the OpenAPI document, one file each.
fn write_schemas(out: &std::path::Path) -> Result<(), String> {
    for (name, text) in mlat::api::schemas::generate() {
        let path = out.join(&name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

/// `mlat migrate`.
fn migrate(settings: &Settings) -> Result<(), String> {
    // The explicit step migrates whatever MLAT_MIGRATE says.
    let settings = Settings {
        migrate: true,
        ..settings.clone()
    };
    let (_, applied) = startup::open_database(&settings).map_err(|e| e.to_string())?;
    if applied.is_empty() {
        println!("no pending migrations");
    }
    for version in applied {
        println!("applied {version}");
    }
    Ok(())
}

/// `mlat deadlines tick`: one watcher pass now.
fn deadlines_tick(settings: Settings) -> Result<(), String> {
    let state = startup::prepare(settings).map_err(|e| e.to_string())?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let report = mlat::service::watcher::tick(
        &mut conn,
        &state.writers,
        &state.rules(),
        mlat::time::UtcTime::now(),
    )
    .map_err(|e| describe(&e))?;
    println!(
        "examined {} requests: {} deadlines missed, {} preservations expired, {} reminders queued",
        report.examined, report.missed, report.expired, report.reminders
    );
    let anchored = mlat::service::anchor::checkpoint(
        &mut conn,
        &state.writers,
        &state.anchoring,
        mlat::time::UtcTime::now(),
        None,
    )
    .map_err(|e| describe(&e))?;
    if let Some(seq) = anchored.checkpoint {
        println!(
            "checkpoint {seq}: {} audit events anchored",
            anchored.anchored
        );
    }
    Ok(())
}

/// `mlat deadlines recompute`: every open request's deadlines under the rules in force.
fn deadlines_recompute(settings: Settings) -> Result<(), String> {
    let state = startup::prepare(settings).map_err(|e| e.to_string())?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let report = mlat::service::upgrade::recompute_all(
        &mut conn,
        &state.writers,
        &state.rules(),
        "recomputed from the command line",
    )
    .map_err(|e| describe(&e))?;
    println!(
        "examined {} open requests: deadlines changed on {}",
        report.examined, report.changed
    );
    Ok(())
}

/// `mlat evidence verify`: every recorded file is there and hashes to its name.
fn evidence_verify(settings: Settings) -> Result<(), String> {
    let state = startup::prepare(settings).map_err(|e| e.to_string())?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let mlat::service::evidence::Checked {
        files: checked,
        damage,
        in_the_clear,
    } = mlat::service::evidence::verify_all(&mut conn, &state.store)?;
    if in_the_clear > 0 {
        println!("{in_the_clear} files are stored in the clear: run `mlat evidence encrypt`");
    }
    if damage.is_empty() {
        println!("evidence store intact: {checked} files verified");
        Ok(())
    } else {
        for d in &damage {
            println!("{}: {}", d.sha256, d.problem);
        }
        Err(format!(
            "{} of {checked} evidence files are missing or altered",
            damage.len()
        ))
    }
}

/// `mlat evidence encrypt`: seals files stored in the clear by older versions.
fn evidence_encrypt(settings: Settings) -> Result<(), String> {
    let state = startup::prepare(settings).map_err(|e| e.to_string())?;
    let (sealed, refused) = state
        .store
        .seal_all_in_the_clear()
        .map_err(|e| e.to_string())?;
    println!("sealed {sealed} files stored in the clear");
    if refused.is_empty() {
        Ok(())
    } else {
        for name in &refused {
            println!("{name}: left in the clear: its bytes no longer hash to its name");
        }
        Err(format!("{} files do not match their names", refused.len()))
    }
}

/// `mlat evidence rewrap`: every data key wrapped again under a new master key.
fn evidence_rewrap(settings: Settings, new_key_file: &std::path::Path) -> Result<(), String> {
    let state = startup::prepare(settings).map_err(|e| e.to_string())?;
    let new = mlat::sealed::MasterKey::load(new_key_file, true).map_err(|e| e.to_string())?;
    let done = state.store.rewrap_all(&new).map_err(|e| e.to_string())?;
    println!(
        "rewrapped {done} files under {}: set MLAT_EVIDENCE_KEY_FILE to it on every instance",
        new_key_file.display()
    );
    Ok(())
}

/// `mlat secrets rewrap`: every secret the factor key seals, sealed again
/// under a new key.
fn secrets_rewrap(settings: Settings, new_key_file: &std::path::Path) -> Result<(), String> {
    let state = startup::prepare(settings).map_err(|e| e.to_string())?;
    let new = mlat::sealed::MasterKey::load(new_key_file, true).map_err(|e| e.to_string())?;
    let done = state
        .writers
        .write_pooled(&state.pool, |conn| {
            mlat::service::sealed_secrets::reseal_all(conn, &state.factor_key, &new)
        })
        .map_err(|e| describe(&e))?;
    println!(
        "sealed again under {}: {} second factors ({} replacements waiting for a first code), {} webhook secrets; \
         set MLAT_FACTOR_KEY_FILE to it on every instance, start them, then destroy the old key",
        new_key_file.display(),
        done.second_factors,
        done.pending_replacements,
        done.webhooks
    );
    Ok(())
}

/// `mlat audit verify`.
fn audit_verify(settings: &Settings) -> Result<(), String> {
    let (pool, _) = startup::open_database(settings).map_err(|e| e.to_string())?;
    let anchoring = mlat::service::anchor::Anchoring::from_settings(settings)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let result = mlat::service::anchor::verify(&mut conn, &anchoring).map_err(|e| describe(&e))?;
    if result.intact {
        for line in result.lines() {
            println!("{line}");
        }
        Ok(())
    } else {
        Err(result.lines().join("\n"))
    }
}

/// `mlat audit checkpoint`.
fn audit_checkpoint(settings: Settings) -> Result<(), String> {
    let state = startup::prepare(settings).map_err(|e| e.to_string())?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let reports =
        mlat::service::anchor::checkpoint_all(&mut conn, &state.writers, &state.anchoring)
            .map_err(|e| describe(&e))?;
    let mut signed = 0;
    for report in &reports {
        if let Some(seq) = report.checkpoint {
            signed += 1;
            println!("checkpoint {seq}: {} events anchored", report.anchored);
        }
    }
    if signed == 0 {
        println!("nothing new to anchor");
    }
    println!("checkpoints kept in {}", state.anchoring.file.display());
    Ok(())
}

/// `mlat audit verify-receipt FILE`: offline, with the published keys.
fn audit_verify_receipt(
    settings: &Settings,
    file: &std::path::Path,
    keys: Option<&std::path::Path>,
) -> Result<(), String> {
    let ring_path = match keys {
        Some(path) => path.to_path_buf(),
        None => mlat::audit_keys::paths(settings).1,
    };
    let ring = mlat::audit_keys::read_ring(&ring_path).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let receipt: mlat::domain::anchor::Receipt = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a receipt: {e}", file.display()))?;
    let found = mlat::domain::anchor::verify_receipt(&receipt, &ring)
        .map_err(|e| format!("receipt refused: {e}"))?;
    let event = &receipt.event;
    println!(
        "receipt valid: `{}` recorded at {} (event {} of chain {}, hash {}), signed by key {}",
        event.action, event.occurred_at, event.seq, event.chain, event.hash, receipt.key_id
    );
    match found.anchored_by {
        Some((seq, at)) => println!("anchored: in the log of checkpoint {seq}, signed at {at}"),
        None => println!(
            "not anchored yet: download the receipt again after the next checkpoint for its inclusion proof"
        ),
    }
    Ok(())
}

/// `mlat audit rotate-key`.
fn audit_rotate_key(settings: Settings) -> Result<(), String> {
    let (key_path, ring_path, _) = mlat::audit_keys::paths(&settings);
    let state = startup::prepare(settings).map_err(|e| e.to_string())?;
    // Beside the key, whatever its name: `<key>.next`, `<key>.retired-<id>`.
    let beside = |suffix: &str| {
        let mut name = key_path.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    let next_path = beside(".next");
    let _ = std::fs::remove_file(&next_path);
    mlat::auth::tokens::write_new_ed25519_key(&next_path)
        .map_err(|e| format!("cannot write {}: {e}", next_path.display()))?;
    let next = mlat::audit_keys::read_signer(&next_path).map_err(|e| e.to_string())?;
    let old = state.anchoring.keys.signer.key_id().to_owned();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    // Everything so far is anchored under the old key, the last checkpoint
    // naming the new one.
    mlat::service::anchor::checkpoint_all(&mut conn, &state.writers, &state.anchoring)
        .map_err(|e| describe(&e))?;
    let handover = mlat::service::anchor::checkpoint(
        &mut conn,
        &state.writers,
        &state.anchoring,
        mlat::time::UtcTime::now(),
        Some(next.key_id().to_owned()),
    )
    .map_err(|e| describe(&e))?;
    let ring = mlat::audit_keys::ring_after_rotation(
        &state.anchoring.keys.ring,
        &old,
        &next,
        mlat::time::UtcTime::now(),
    );
    mlat::audit_keys::write_ring(&ring_path, &ring).map_err(|e| e.to_string())?;
    let retired = beside(&format!(".retired-{old}"));
    std::fs::rename(&key_path, &retired)
        .and_then(|()| std::fs::rename(&next_path, &key_path))
        .map_err(|e| {
            format!(
                "cannot put the new key in place at {}: {e}",
                key_path.display()
            )
        })?;
    println!(
        "checkpoint {} hands over from key {old} to key {}",
        handover.checkpoint.unwrap_or_default(),
        next.key_id()
    );
    println!(
        "the new key is {}; the retired one is at {}: destroy it once every instance runs with the new key",
        key_path.display(),
        retired.display()
    );
    println!(
        "copy {} and {} to every instance and restart them",
        key_path.display(),
        ring_path.display()
    );
    Ok(())
}

/// `mlat demo`.
fn load_demo(settings: Settings) -> Result<(), String> {
    let state = startup::prepare(settings).map_err(|e| e.to_string())?;
    let loaded = demo::load(&state).map_err(|e| describe(&e))?;
    print!("{}", demo::describe(&loaded));
    Ok(())
}

/// `mlat user create`, the password read from standard input.
fn create_user(
    settings: &Settings,
    email: &str,
    name: &str,
    role: &str,
    organisation: Option<String>,
) -> Result<(), String> {
    let email = Email::parse(email).map_err(|m| format!("--email: {m}"))?;
    let name = text_field(name, 200).map_err(|m| format!("--name: {m}"))?;
    let role = Role::parse(role).map_err(|m| format!("--role: {m}"))?;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = password.trim_end_matches(['\r', '\n']);
    password_policy(password, &[email.as_str(), &name]).map_err(|m| format!("password: {m}"))?;
    let (pool, _) = startup::open_database(settings).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let password_hash = accounts::hash_password(password).map_err(|e| describe(&e))?;
    let user = db::write_tx(&mut conn, |conn| {
        accounts::create_user(
            conn,
            &mlat::domain::audit::Actor::system(),
            NewUser {
                email,
                name,
                role,
                organisation_id: organisation,
                password_hash,
            },
        )
    })
    .map_err(|e| describe(&e))?;
    println!(
        "created user {} ({}) with id {}",
        user.email, user.role, user.id
    );
    Ok(())
}

fn describe(err: &mlat::error::Error) -> String {
    mlat::error::describe(err)
}

#[actix_web::main]
async fn serve(settings: Settings, load_demo: bool) -> Result<(), String> {
    // Bound first, so that probes get an answer while the instance starts
    // (it may wait for another instance's migrations).
    let listener = startup::bind(&settings).map_err(|e| e.to_string())?;
    let starting = startup::starting_server(listener.try_clone().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let starting_handle = starting.handle();
    actix_web::rt::spawn(starting);
    let state = actix_web::web::block(move || startup::prepare(settings))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let state = actix_web::web::Data::new(state);
    if load_demo {
        let app = state.clone();
        let loaded = actix_web::web::block(move || {
            let mut conn = app.pool.get().map_err(|e| e.to_string())?;
            if demo::database_is_empty(&mut conn).map_err(|e| describe(&e))? {
                drop(conn);
                demo::load(&app).map(Some).map_err(|e| describe(&e))
            } else {
                Ok(None)
            }
        })
        .await
        .map_err(|e| e.to_string())??;
        match loaded {
            Some(loaded) => print!("{}", demo::describe(&loaded)),
            None => println!("the database is not empty: demo data not loaded"),
        }
    }
    starting_handle.stop(true).await;
    let app = Application::with_listener(state.clone(), listener).map_err(|e| e.to_string())?;
    tracing::info!(port = app.port(), "listening");
    actix_web::rt::spawn(startup::drain_on_signal(app.handle(), state));
    app.run_until_stopped().await.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}
