//! How fast the core operations are, against the floor the database allows.
//!
//!     cargo bench --bench service -- --backend sqlite
//!     cargo bench --bench service -- --backend postgres --population 100000
//!
//! Starts the real `mlat serve` on loopback with a fresh database, loads a
//! population of cases and requests, drives concurrent HTTP clients through each
//! operation, and does the same database work directly through diesel (the
//! floor: no HTTP, no authentication, no JSON) in the same run. Prints one table;
//! docs/benchmarks.md keeps the figures. Nothing here asserts a time.

use std::cell::RefCell;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::TimeDelta;
use clap::Parser;
use diesel::{Connection, ExpressionMethods, PgConnection, RunQueryDsl};
use mlat::config::Settings;
use mlat::db::{Backend, DbConn, lock_row, new_id, write_tx};
use mlat::domain::access::Viewer;
use mlat::domain::audit::{Actor, Event, compute_hash, request_chain};
use mlat::domain::reference::{DataCategory, OrganisationKind, Role};
use mlat::domain::workflow::{Action, Status};
use mlat::repo;
use mlat::repo::audit::AuditEventRow;
use mlat::repo::deadlines::{BoardQuery, DeadlineRow};
use mlat::repo::evidence::EvidenceRow;
use mlat::repo::requests::{Filter, RequestRow, Sort};
use mlat::service::accounts;
use mlat::service::requests::{self as requests, Input};
use mlat::state::AppState;
use mlat::time::UtcTime;
use mlat::world::{self, Person, Plan};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PASSWORD: &str = "benchmark password 2026";
const AGENCIES: usize = 10;
const PROVIDERS: usize = 20;
const REQUESTS_PER_CASE: usize = 5;
const EVIDENCE_BYTES: usize = 10 * 1024 * 1024;
const SIGN_IN_PEOPLE: usize = 100;

#[derive(Parser)]
#[command(about = "Benchmarks mlat's core operations against the database floor")]
struct Args {
    /// sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Requests in the database before the run (cases: one per five requests).
    #[arg(long, default_value_t = 10_000)]
    population: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Multiplies how many times each operation runs.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Only these operations (comma-separated): sign-in, create, approve, get, inbox,
    /// list, board, evidence.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// A PostgreSQL server where the user may create databases.
    #[arg(
        long,
        env = "MLAT_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres: String,
    /// Also upload and download one file of this many MiB through curl, against
    /// the disk's own copy speed, with the server's peak memory (0: not run;
    /// docs/benchmarks.md uses 2048).
    #[arg(long, default_value_t = 0)]
    big_file_mib: u64,
    /// How many times the big file goes up and down, each time after a copy
    /// of its own (this machine's disk varies by a third from one minute to
    /// the next; the median of the ratios is the figure).
    #[arg(long, default_value_t = 3)]
    big_file_runs: usize,
    /// Keep the database afterwards (its name or path is printed), to look at
    /// query plans.
    #[arg(long)]
    keep: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Latencies of one side of one operation.
#[derive(Clone)]
struct Sample {
    latencies: Vec<Duration>,
    wall: Duration,
    cpu: Cpu,
}

/// CPU seconds spent while one side of one operation ran: by the server
/// process, by this process (the HTTP client, or the floor's own threads), and
/// by everything else on the machine (mostly PostgreSQL's backends).
#[derive(Clone, Copy, Default)]
struct Cpu {
    server: f64,
    bench: f64,
    rest: f64,
}

/// Busy CPU seconds so far: of the whole machine, of the server, of this process.
#[derive(Clone, Copy)]
struct CpuClock {
    machine: f64,
    server: f64,
    bench: f64,
}

/// Linux reports /proc times in USER_HZ, which is 100 on every architecture
/// the benchmark runs on.
const TICKS_PER_SECOND: f64 = 100.0;

/// utime + stime of a process, with its finished threads, in seconds.
fn process_cpu(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The command name may hold spaces: fields start after its ')'.
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split(' ').collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / TICKS_PER_SECOND)
        })
        .unwrap_or(f64::NAN)
}

/// Busy seconds of all CPUs together: everything but idle and iowait.
fn machine_cpu() -> f64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|stat| {
            let line = stat.lines().next()?;
            let ticks: Vec<f64> = line
                .split_whitespace()
                .skip(1)
                .take(8)
                .filter_map(|t| t.parse().ok())
                .collect();
            let busy: f64 = ticks.iter().sum::<f64>() - ticks.get(3)? - ticks.get(4)?;
            Some(busy / TICKS_PER_SECOND)
        })
        .unwrap_or(f64::NAN)
}

impl CpuClock {
    fn now(server_pid: u32) -> CpuClock {
        CpuClock {
            machine: machine_cpu(),
            server: process_cpu(&server_pid.to_string()),
            bench: process_cpu("self"),
        }
    }

    fn since(self, start: CpuClock) -> Cpu {
        let server = self.server - start.server;
        let bench = self.bench - start.bench;
        Cpu {
            server,
            bench,
            rest: (self.machine - start.machine - server - bench).max(0.0),
        }
    }
}

/// The benchmarked server's process id, once it runs.
static SERVER_PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// Runs one side of an operation and notes the CPU it took.
fn metered(run: impl FnOnce() -> Sample) -> Sample {
    let pid = *SERVER_PID.get().expect("the server runs");
    let start = CpuClock::now(pid);
    let mut sample = run();
    sample.cpu = CpuClock::now(pid).since(start);
    sample
}

impl Sample {
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }

    /// CPU microseconds per operation: server, this process, the rest.
    fn cpu_per_op(&self) -> (f64, f64, f64) {
        let n = self.latencies.len().max(1) as f64 / 1e6;
        (self.cpu.server / n, self.cpu.bench / n, self.cpu.rest / n)
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The people and objects the operations use.
struct World {
    officer: Viewer,
    ca: Viewer,
    provider: Viewer,
    case_id: String,
    provider_id: String,
    /// Requests of the officer's agency, for get.
    visible: Vec<String>,
    /// The identifier values of the officer's agency's requests, for search.
    searchable: Vec<String>,
    /// Pending requests for the HTTP approvals, and for the floor's.
    pending_http: Vec<(String, i64)>,
    pending_floor: Vec<(String, i64)>,
    /// Requests transmitted to the benchmark provider, for evidence.
    deliverable: Vec<String>,
    draft_template: RequestRow,
    /// The workflow request and its preservation event, for receipts.
    receipt: (String, String),
}

fn actor(v: &Viewer) -> Actor {
    Actor::user(&v.user_id, v.organisation_id.as_deref())
}

fn viewer(conn: &mut DbConn, email: &str) -> Viewer {
    let user = repo::users::find_by_email(conn, email).unwrap().unwrap();
    repo::users::find_active_with_organisation(conn, &user.id)
        .unwrap()
        .unwrap()
        .viewer()
        .unwrap()
}

fn request_body(case_id: &str, responder: &str) -> Value {
    json!({
        "case_id": case_id,
        "kind": "preservation",
        "legal_basis": "provider-voluntary",
        "responder_id": responder,
        "data_categories": ["subscriber", "identification", "content"],
        "identifiers": [
            {"type": "account", "value": "sunny_day_2011"},
            {"type": "ip", "value": "198.51.100.23", "port": 40112,
             "observed_at": (chrono::Utc::now() - TimeDelta::days(3)).to_rfc3339()}
        ],
        "date_from": "2026-10-01T00:00:00Z",
        "date_to": "2026-11-20T00:00:00Z",
        "facts": "An adult groomed a 12-year-old over chat and obtained images.",
        "necessity": "The provider deletes connection logs after 25 days.",
        "relevance": "The account sent the messages; the IP logged in when it did.",
        "follow_up_intent": true,
        "non_disclosure": true
    })
}

/// Reference data, accounts, and one request taken through the workflow by
/// the use cases, whose rows at each step are the templates of the population.
fn load(state: &AppState, population: usize, pending: usize) -> World {
    let mut conn = state.pool.get().unwrap();
    let conn = &mut *conn;
    let hash = accounts::hash_password(PASSWORD).unwrap();
    let started = Instant::now();
    let organisation = |key: String, kind, jurisdiction| world::Organisation {
        name: key.clone(),
        key,
        kind,
        jurisdiction,
        contact_email: (kind == OrganisationKind::Provider)
            .then(|| "legal@provider.example".into()),
        retention_days: if kind == OrganisationKind::Provider {
            vec![
                (DataCategory::Subscriber, 365),
                (DataCategory::Identification, 25),
            ]
        } else {
            Vec::new()
        },
    };
    let agency_keys: Vec<String> = (0..AGENCIES).map(|i| format!("Agency {i}")).collect();
    let provider_keys: Vec<String> = (0..PROVIDERS).map(|i| format!("Provider {i}")).collect();
    let person = |email: String, role, organisation: &String| Person {
        name: email.clone(),
        email,
        role,
        organisation: Some(organisation.clone()),
        password_hash: hash.clone(),
    };
    let plan = Plan {
        places: world::places(&["GB", "IE"]),
        organisations: agency_keys
            .iter()
            .map(|k| organisation(k.clone(), OrganisationKind::Agency, "GB"))
            .chain([organisation(
                "GB CA".into(),
                OrganisationKind::CentralAuthority,
                "GB",
            )])
            .chain(
                provider_keys
                    .iter()
                    .map(|k| organisation(k.clone(), OrganisationKind::Provider, "IE")),
            )
            .collect(),
        // Sign-ins are spread over many people: attempts at one address are
        // counted before the password is checked, so many at once lock it.
        people: [
            person(
                "officer@bench.example".into(),
                Role::LiaisonOfficer,
                &agency_keys[0],
            ),
            person(
                "ca@bench.example".into(),
                Role::CentralAuthority,
                &"GB CA".into(),
            ),
            person(
                "provider@bench.example".into(),
                Role::Provider,
                &provider_keys[0],
            ),
        ]
        .into_iter()
        .chain((0..SIGN_IN_PEOPLE).map(|i| {
            person(
                format!("person{i}@bench.example"),
                Role::Provider,
                &provider_keys[i % PROVIDERS],
            )
        }))
        .collect(),
    };
    let built = write_tx(conn, |conn| world::build(conn, &plan)).unwrap();
    let agencies: Vec<String> = agency_keys
        .iter()
        .map(|k| built.organisation(k).to_owned())
        .collect();
    let providers: Vec<String> = provider_keys
        .iter()
        .map(|k| built.organisation(k).to_owned())
        .collect();
    let officer = viewer(conn, "officer@bench.example");
    let ca = viewer(conn, "ca@bench.example");
    let provider = viewer(conn, "provider@bench.example");
    let rules = state.rules();

    // Cases, bulk.
    let cases_count = population.div_ceil(REQUESTS_PER_CASE).max(AGENCIES);
    let mut case_ids = Vec::with_capacity(cases_count);
    let now = UtcTime::now();
    for chunk in (0..cases_count).collect::<Vec<_>>().chunks(1000) {
        let rows: Vec<repo::cases::CaseRow> = chunk
            .iter()
            .map(|i| repo::cases::CaseRow {
                id: new_id(),
                agency_id: agencies[i % AGENCIES].clone(),
                reference: format!("BENCH-{i}"),
                title: "Benchmark case".into(),
                offence_categories: "[\"grooming\"]".into(),
                summary: "A case of the benchmark population.".into(),
                priority: mlat::domain::requests::Priority::Normal,
                created_by: officer.user_id.clone(),
                created_at: now,
                updated_at: now,
            })
            .collect();
        case_ids.extend(rows.iter().map(|r| r.id.clone()));
        write_tx(conn, |conn| {
            for row in &rows {
                repo::cases::insert(conn, row)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    }
    let case_id = case_ids[0].clone();

    // One request through the workflow: its rows at each step are templates.
    let body: mlat::api::requests::RequestIn =
        serde_json::from_value(request_body(&case_id, &providers[0])).unwrap();
    let (_, drafted) = body.parse().unwrap();
    let mut templates: Vec<(RequestRow, Vec<DeadlineRow>)> = Vec::new();
    write_tx(conn, |conn| {
        let mut row = requests::create(
            conn,
            &officer,
            &actor(&officer),
            &rules,
            &case_id,
            drafted,
            None,
        )?;
        templates.push((row.clone(), repo::deadlines::for_request(conn, &row.id)?));
        for (who, action) in [
            (&officer, Action::Submit),
            (&ca, Action::Approve),
            (&officer, Action::Transmit),
            (&provider, Action::Preserve),
        ] {
            let input = match action {
                Action::Preserve => Input::Preserve {
                    preserved_until: None,
                },
                _ => Input::Note(None),
            };
            row = requests::transition(
                conn,
                who,
                &actor(who),
                &rules,
                &row.id,
                action,
                row.version,
                input,
            )?;
            templates.push((row.clone(), repo::deadlines::for_request(conn, &row.id)?));
        }
        Ok::<_, mlat::error::Error>(())
    })
    .unwrap();
    let draft_template = templates[0].0.clone();
    let receipt_request = templates[4].0.id.clone();
    let receipt_event = repo::audit::for_chain(conn, &request_chain(&receipt_request))
        .unwrap()
        .into_iter()
        .find(|e| e.action == "preserve")
        .expect("the preservation is recorded")
        .id;

    // The population: copies of the templates in a mix of states, with their
    // deadlines spread from 3 weeks overdue to 3 months ahead, and each with
    // the first event of its audit chain.
    let mut visible = Vec::new();
    let mut searchable = Vec::new();
    let mut pending_all = Vec::new();
    let mut deliverable = Vec::new();
    let total = population + 2 * pending;
    for start in (0..total).step_by(1000) {
        let end = (start + 1000).min(total);
        let mut request_rows = Vec::new();
        let mut identifier_rows = Vec::new();
        let mut deadline_rows = Vec::new();
        let mut events = Vec::new();
        for i in start..end {
            // The first 2 × pending are awaiting approval; then a mix.
            let step = if i < 2 * pending {
                1
            } else {
                [4, 4, 4, 4, 3, 3, 1, 2, 0, 4][i % 10]
            };
            let (template, deadlines) = &templates[step];
            let mut row = template.clone();
            row.id = new_id();
            row.reference = format!("R-BENCH-{i:07}");
            row.case_id = case_ids[i / REQUESTS_PER_CASE % case_ids.len()].clone();
            row.agency_id = agencies[i % AGENCIES].clone();
            row.responder_id = providers[i % PROVIDERS].clone();
            // Each its own account, found through `request_identifiers`.
            let account = format!("bench_account_{i:07}");
            row.identifiers =
                serde_json::json!([{"type": "account", "value": account}]).to_string();
            identifier_rows.push((
                mlat::db::schema::request_identifiers::value_key
                    .eq(mlat::repo::requests::identifier_key(&account)),
                mlat::db::schema::request_identifiers::request_id.eq(row.id.clone()),
            ));
            if i < 2 * pending {
                row.agency_id = agencies[0].clone();
                pending_all.push((row.id.clone(), row.version));
            } else if row.agency_id == agencies[0] {
                visible.push(row.id.clone());
                searchable.push(account);
            }
            if step >= 3 && row.responder_id == providers[0] && deliverable.len() < 1000 {
                deliverable.push(row.id.clone());
            }
            let shift = TimeDelta::hours((i % 2700) as i64 - 500);
            for d in deadlines {
                let mut d = d.clone();
                d.id = new_id();
                d.request_id = row.id.clone();
                d.agency_id = row.agency_id.clone();
                d.responder_id = row.responder_id.clone();
                d.due_at =
                    now + shift + TimeDelta::minutes(d.due_at.to_datetime().timestamp() % 60);
                deadline_rows.push(d);
            }
            let mut event = Event {
                id: new_id(),
                chain: request_chain(&row.id),
                seq: 1,
                prev_hash: mlat::domain::audit::GENESIS.into(),
                hash: String::new(),
                occurred_at: now,
                actor_id: Some(officer.user_id.clone()),
                organisation_id: Some(row.agency_id.clone()),
                action: "created".into(),
                object_type: "request".into(),
                object_id: Some(row.id.clone()),
                request_id: Some(row.id.clone()),
                details: "{}".into(),
            };
            event.hash = compute_hash(&event);
            events.push(AuditEventRow::from(event));
            request_rows.push(row);
        }
        write_tx(conn, |conn| {
            // Multi-row inserts go to the concrete connection: the connection
            // enum has no batch insert.
            macro_rules! batch {
                ($table:expr, $rows:expr) => {
                    for chunk in $rows.chunks(100) {
                        match conn {
                            DbConn::Sqlite(c) => {
                                diesel::insert_into($table).values(chunk).execute(c)?;
                            }
                            DbConn::Pg(c) => {
                                diesel::insert_into($table).values(chunk).execute(c)?;
                            }
                        }
                    }
                };
            }
            batch!(mlat::db::schema::requests::table, request_rows);
            batch!(
                mlat::db::schema::request_identifiers::table,
                identifier_rows
            );
            batch!(mlat::db::schema::deadlines::table, deadline_rows);
            let heads: Vec<_> = events
                .iter()
                .map(|e| {
                    (
                        mlat::db::schema::audit_chains::chain.eq(e.chain.clone()),
                        mlat::db::schema::audit_chains::head_seq.eq(1i64),
                        mlat::db::schema::audit_chains::head_hash.eq(e.hash.clone()),
                    )
                })
                .collect();
            batch!(mlat::db::schema::audit_chains::table, heads);
            batch!(mlat::db::schema::audit_events::table, events);
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    }
    // What storing each request's deadlines keeps beside it (the inbox's
    // order), for the copies inserted whole: the migration's own backfill.
    let responder_due = "UPDATE requests SET responder_due_at = owed.due_at FROM (
        SELECT request_id, MIN(due_at) AS due_at FROM deadlines
        WHERE status = 'open'
          AND kind NOT IN ('approval_due', 'ex_post_validation', 'follow_up_due', 'enforcing_review')
        GROUP BY request_id) AS owed
        WHERE owed.request_id = requests.id";
    // And the issuing side's (the list's `sort=due`), as migration 000016 fills it.
    let issuer_due = "UPDATE requests SET issuer_due_at = owed.due_at FROM (
        SELECT request_id, MIN(due_at) AS due_at FROM deadlines
        WHERE status IN ('open', 'missed') AND kind <> 'enforcing_review'
        GROUP BY request_id) AS owed
        WHERE owed.request_id = requests.id";
    for statement in [responder_due, issuer_due] {
        match conn {
            DbConn::Sqlite(c) => diesel::sql_query(statement).execute(c).unwrap(),
            DbConn::Pg(c) => diesel::sql_query(statement).execute(c).unwrap(),
        };
    }
    if let DbConn::Pg(c) = conn {
        diesel::sql_query("ANALYZE").execute(c).unwrap();
    }
    eprintln!(
        "loaded {total} requests, {cases_count} cases in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let pending_floor = pending_all.split_off(pending);
    World {
        officer,
        ca,
        provider,
        case_id,
        provider_id: providers[0].clone(),
        visible,
        searchable,
        pending_http: pending_all,
        pending_floor,
        deliverable,
        draft_template,
        receipt: (receipt_request, receipt_event),
    }
}

/// Anchors the whole audit trail in checkpoints, as the watcher would over
/// its passes (each stores up to 64 blocks' roots), and says how long that
/// took.
fn anchor_everything(state: &AppState) {
    let started = Instant::now();
    let mut conn = state.pool.get().unwrap();
    let (mut checkpoints, mut events) = (0, 0);
    loop {
        let report = mlat::service::anchor::checkpoint(
            &mut conn,
            &state.writers,
            &state.anchoring,
            UtcTime::now(),
            None,
        )
        .unwrap();
        if report.checkpoint.is_none() {
            break;
        }
        checkpoints += 1;
        events += report.anchored;
    }
    eprintln!(
        "anchored {events} events in {checkpoints} checkpoints in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// Runs `count` calls of `f` on `threads` threads, each with its own pooled
/// connection: the floor.
fn floor<F>(state: &AppState, threads: usize, count: usize, f: F) -> Sample
where
    F: Fn(&mut DbConn, usize) + Send + Sync,
{
    metered(|| floor_unmetered(state, threads, count, f))
}

fn floor_unmetered<F>(state: &AppState, threads: usize, count: usize, f: F) -> Sample
where
    F: Fn(&mut DbConn, usize) + Send + Sync,
{
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let latencies = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (next, f) = (&next, &f);
                scope.spawn(move || {
                    let mut conn = state.pool.get().unwrap();
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break mine;
                        }
                        let t = Instant::now();
                        f(&mut conn, i);
                        mine.push(t.elapsed());
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    Sample {
        latencies,
        wall: started.elapsed(),
        cpu: Cpu::default(),
    }
}

/// The floor's writers take turns in the process, as the server's do
/// (`mlat::db::writers`), so that neither side waits in SQLite's busy handler.
static FLOOR_WRITERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn floor_write<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let _turn = (conn.backend() == Backend::Sqlite).then(|| FLOOR_WRITERS.lock().unwrap());
    write_tx(conn, f)
}

/// One HTTP call, built fresh for each index.
type Call = Rc<
    dyn Fn(
        usize,
    ) -> (
        awc::http::Method,
        String,
        Option<Vec<u8>>,
        Vec<(String, String)>,
    ),
>;

/// Runs `count` calls with `clients` concurrent connections: the service.
fn http(base: &str, clients: usize, count: usize, call: Call) -> Sample {
    metered(|| http_unmetered(base, clients, count, call))
}

fn http_unmetered(base: &str, clients: usize, count: usize, call: Call) -> Sample {
    let base = base.to_owned();
    actix_rt::System::new().block_on(async move {
        let next = Rc::new(RefCell::new(0usize));
        let latencies = Rc::new(RefCell::new(Vec::with_capacity(count)));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (next, latencies, call, base) =
                (next.clone(), latencies.clone(), call.clone(), base.clone());
            tasks.push(actix_rt::spawn(async move {
                let client = awc::Client::builder()
                    .timeout(Duration::from_secs(120))
                    .finish();
                loop {
                    let i = {
                        let mut n = next.borrow_mut();
                        *n += 1;
                        *n - 1
                    };
                    if i >= count {
                        break;
                    }
                    let (method, path, body, headers) = call(i);
                    let mut request = client.request(method, format!("{base}{path}"));
                    for (k, v) in &headers {
                        request = request.insert_header((k.as_str(), v.as_str()));
                    }
                    let t = Instant::now();
                    let mut response = match body {
                        Some(body) => request.send_body(body).await,
                        None => request.send().await,
                    }
                    .expect("the server answers");
                    let bytes = response.body().limit(64 << 20).await.unwrap();
                    let elapsed = t.elapsed();
                    assert!(
                        response.status().is_success(),
                        "{path}: {} {}",
                        response.status(),
                        String::from_utf8_lossy(&bytes)
                    );
                    latencies.borrow_mut().push(elapsed);
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let wall = started.elapsed();
        Sample {
            latencies: latencies.take(),
            wall,
            cpu: Cpu::default(),
        }
    })
}

/// Whether the server on `port` answers `/readyz` with 200.
fn ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut answer = String::new();
    let asked = stream
        .write_all(b"GET /readyz HTTP/1.0\r\n\r\n")
        .and_then(|()| stream.read_to_string(&mut answer));
    asked.is_ok() && (answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"))
}

fn login(base: &str, email: &str) -> String {
    let base = base.to_owned();
    let email = email.to_owned();
    actix_rt::System::new().block_on(async move {
        let mut reply = awc::Client::default()
            .post(format!("{base}/api/v1/auth/login"))
            .send_json(&json!({"email": email, "password": PASSWORD}))
            .await
            .unwrap();
        let body: Value = reply.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    })
}

struct Server {
    child: Child,
    /// Highest RssAnon seen by a sampler every 20 ms, in kB.
    peak_anon_kb: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

/// A field of a process's /proc status, in kB.
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|v| v.strip_prefix(':')))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

impl Server {
    fn start(url: &str, dir: &std::path::Path, port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_mlat"))
            .arg("serve")
            .env("MLAT_DATABASE_URL", url)
            .env("MLAT_DATA_DIR", dir)
            .env("MLAT_BIND", format!("127.0.0.1:{port}"))
            .env("MLAT_LOG", "error")
            .env("MLAT_WATCH_INTERVAL_SECS", "0")
            .env("MLAT_MAIL_INTERVAL_SECS", "0")
            // The benchmark's people sign in with a password alone: what it
            // measures is the password's hashing, next to which a second
            // factor's HMAC is nothing.
            .env("MLAT_MFA_REQUIRED", "none")
            // Room for the big file on top of the 10 MB uploads.
            .env("MLAT_EVIDENCE_MAX_BYTES", "17179869184")
            // As docs/operations.md recommends: large blocks (Argon2's 19 MiB)
            // go back to the system when freed.
            .env(
                "MALLOC_MMAP_THRESHOLD_",
                std::env::var("MALLOC_MMAP_THRESHOLD_").unwrap_or_else(|_| "1048576".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // Ready, not merely bound: `serve` answers 503 while it starts.
        let started = Instant::now();
        while !ready(port) {
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the server did not become ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("server ready in {:.1}s", started.elapsed().as_secs_f64());
        let peak_anon_kb = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (pid, peak, halt) = (child.id(), peak_anon_kb.clone(), stop.clone());
        SERVER_PID.set(pid).expect("one server per run");
        std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                if let Some(kb) = status_kb(pid, "RssAnon") {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Server {
            child,
            peak_anon_kb,
            stop,
        }
    }

    /// A line of the server's /proc status in MiB: `VmHWM` is the peak
    /// resident set, `RssAnon` the process's own memory now, `RssFile` the
    /// mapped files now (the SQLite database, shared with the page cache).
    fn status_mib(&self, field: &str) -> f64 {
        status_kb(self.child.id(), field).map_or(f64::NAN, |kb| kb as f64 / 1024.0)
    }

    fn peak_anon_mib(&self) -> f64 {
        self.peak_anon_kb.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Megabytes per second for `bytes` in `took`.
fn rate(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

/// One file of `mib` MiB up and down through curl (which streams from and to
/// disk), `runs` times, each against the disk's own copy of it just before;
/// the server's peak own memory while it runs. Prints its own lines.
fn big_file(base: &str, token: &str, request_id: &str, (mib, runs): (u64, usize), server: &Server) {
    use std::io::{Seek as _, Write as _};
    let dir = tempfile::tempdir_in(".").unwrap();
    let source = dir.path().join("big.bin");
    let mut block = vec![0u8; 1 << 20];
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&source).unwrap());
        for _ in 0..mib {
            getrandom::fill(&mut block).unwrap();
            out.write_all(&block).unwrap();
        }
        out.into_inner().unwrap().sync_all().unwrap();
    }
    let bytes = mib << 20;
    let (mut ups, mut downs) = (Vec::new(), Vec::new());
    println!();
    for run in 1..=runs {
        // A new first MiB: each run delivers a file the store has not seen.
        {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .open(&source)
                .unwrap();
            getrandom::fill(&mut block).unwrap();
            file.seek(std::io::SeekFrom::Start(0)).unwrap();
            file.write_all(&block).unwrap();
            file.sync_all().unwrap();
        }
        // The disk's own speed: copy the file and make it durable.
        let copy = dir.path().join("copy.bin");
        let started = Instant::now();
        std::fs::copy(&source, &copy).unwrap();
        std::fs::File::open(&copy).unwrap().sync_all().unwrap();
        let disk = started.elapsed();
        std::fs::remove_file(&copy).unwrap();
        server.peak_anon_kb.store(0, Ordering::Relaxed);
        let started = Instant::now();
        let out = Command::new("curl")
            .args(["-sS", "--fail-with-body", "-X", "POST", "-T"])
            .arg(&source)
            .args([
                "-H",
                &format!("authorization: Bearer {token}"),
                "-H",
                "content-type: application/octet-stream",
                "-H",
                "content-disposition: attachment; filename=\"big.bin\"",
                &format!("{base}/api/v1/requests/{request_id}/evidence"),
            ])
            .output()
            .unwrap();
        let up = started.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let item: Value = serde_json::from_slice(&out.stdout).unwrap();
        let up_peak = server.peak_anon_mib();
        server.peak_anon_kb.store(0, Ordering::Relaxed);
        let target = dir.path().join("down.bin");
        let started = Instant::now();
        let status = Command::new("curl")
            .args(["-sS", "--fail", "-o"])
            .arg(&target)
            .args([
                "-H",
                &format!("authorization: Bearer {token}"),
                &format!(
                    "{base}/api/v1/evidence/{}/content",
                    item["id"].as_str().unwrap()
                ),
            ])
            .status()
            .unwrap();
        let down = started.elapsed();
        assert!(status.success());
        assert_eq!(std::fs::metadata(&target).unwrap().len(), bytes);
        std::fs::remove_file(&target).unwrap();
        let down_peak = server.peak_anon_mib();
        let (up_ratio, down_ratio) = (
            disk.as_secs_f64() / up.as_secs_f64(),
            disk.as_secs_f64() / down.as_secs_f64(),
        );
        ups.push(up_ratio);
        downs.push(down_ratio);
        println!(
            "big file {mib} MiB, run {run}: disk copy {:.0} MB/s; upload {:.0} MB/s ({up_ratio:.2} of the disk), server peak RssAnon {up_peak:.1} MiB; download {:.0} MB/s ({down_ratio:.2} of the disk), server peak RssAnon {down_peak:.1} MiB",
            rate(bytes, disk),
            rate(bytes, up),
            rate(bytes, down),
        );
    }
    println!(
        "big file {mib} MiB, median of {runs} runs: upload {:.2} of the disk, download {:.2} of the disk",
        median(&mut ups),
        median(&mut downs),
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The name of get's row behind the bare HTTP server.
const BARE: &str = "get, bare HTTP";

/// The name of get's row during a burst of sign-ins.
const BURST: &str = "get, sign-ins";

/// Sign-ins arriving at once in the burst, twice the server's default pool.
const BURST_SIGN_INS: usize = 20;

/// A sign-in by one of the benchmark's people, `i` picking whom.
fn sign_in_call() -> Call {
    Rc::new(|i| {
        let email = format!("person{}@bench.example", i % SIGN_IN_PEOPLE);
        let body = json!({"email": email, "password": PASSWORD});
        (
            awc::http::Method::POST,
            "/api/v1/auth/login".into(),
            Some(body.to_string().into_bytes()),
            vec![("content-type".into(), "application/json".into())],
        )
    })
}

/// Gets by `clients` clients for as long as a burst of sign-ins lasts, as at
/// the start of a shift. Sign-ins wait for the hashing threads; the gets show
/// whether they hold the pool's connections meanwhile. Not metered: the CPU is
/// the sign-ins' hashes.
fn during_sign_ins(base: &str, clients: usize, get: Call) -> Sample {
    let burst = std::thread::spawn({
        let base = base.to_owned();
        move || http_unmetered(&base, BURST_SIGN_INS, 2 * BURST_SIGN_INS, sign_in_call())
    });
    // Every sign-in of the first wave is in by then, waiting for a hasher.
    std::thread::sleep(Duration::from_millis(50));
    let mut during = Sample {
        latencies: Vec::new(),
        wall: Duration::ZERO,
        cpu: Cpu::default(),
    };
    while !burst.is_finished() {
        let batch = http_unmetered(base, clients, 100, get.clone());
        during.latencies.extend(batch.latencies);
        during.wall += batch.wall;
    }
    burst.join().expect("the sign-ins succeed");
    during
}

/// get's reads behind the thinnest HTTP server: actix-web on two workers in this
/// process, a hop to a blocking thread as the service makes, and no middleware,
/// token, account check or request document (a three-field answer). Against it,
/// the service shows what mlat itself adds; against the floor, it shows what
/// HTTP on loopback costs any service on these cores.
fn bare_http(
    state: &Arc<AppState>,
    viewer: &Viewer,
    ids: &[String],
    clients: usize,
    count: usize,
) -> Sample {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = actix_web::web::Data::new((state.clone(), viewer.clone()));
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || {
                actix_web::App::new()
                    .app_data(data.clone())
                    .route("/r/{id}", actix_web::web::get().to(bare_get))
            })
            .workers(2)
            .listen(listener)
            .unwrap()
            .run();
            handle_tx.send(server.handle()).unwrap();
            server.await.unwrap();
        })
    });
    let handle = handle_rx.recv().unwrap();
    let ids = ids.to_vec();
    let sample = http(
        &format!("http://127.0.0.1:{port}"),
        clients,
        count,
        Rc::new(move |i| {
            let path = format!("/r/{}", ids[i * 7919 % ids.len()]);
            (awc::http::Method::GET, path, None, Vec::new())
        }),
    );
    actix_rt::System::new().block_on(handle.stop(true));
    thread.join().unwrap();
    sample
}

async fn bare_get(
    data: actix_web::web::Data<(Arc<AppState>, Viewer)>,
    id: actix_web::web::Path<String>,
) -> actix_web::HttpResponse {
    let (data, id) = (data.into_inner(), id.into_inner());
    let answer = actix_web::web::block(move || {
        let (state, viewer) = &*data;
        let mut conn = state.pool.get().unwrap();
        let row = repo::requests::get_visible(&mut conn, viewer, &id)
            .unwrap()
            .unwrap();
        let children = repo::requests::children_visible(&mut conn, viewer, &row.id).unwrap();
        json!({"id": row.id, "reference": row.reference, "children": children})
    })
    .await
    .unwrap();
    actix_web::HttpResponse::Ok().json(answer)
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![
        ("authorization".into(), format!("Bearer {token}")),
        ("content-type".into(), "application/json".into()),
    ]
}

fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().unwrap();
    let mut pg_database = None;
    let url = match args.backend.as_str() {
        "sqlite" => format!("sqlite://{}/bench.db", dir.path().display()),
        "postgres" => {
            let name = format!("mlat_bench_{}", uuid::Uuid::now_v7().simple());
            let mut admin = PgConnection::establish(&args.postgres).expect("PostgreSQL answers");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .unwrap();
            let (scheme, rest) = args.postgres.split_once("://").unwrap();
            let authority = rest.split(['/', '?']).next().unwrap();
            pg_database = Some(name.clone());
            format!("{scheme}://{authority}/{name}")
        }
        other => panic!("--backend is sqlite or postgres, not {other}"),
    };
    let scaled = |n: usize| ((n as f64 * args.scale).round() as usize).max(1);
    let counts: HashMap<&str, usize> = [
        ("sign-in", scaled(100)),
        ("create", scaled(2000)),
        ("approve", scaled(1000)),
        ("get", scaled(5000)),
        ("list", scaled(2000)),
        ("board", scaled(2000)),
        ("search", scaled(2000)),
        ("queue", scaled(2000)),
        ("ca-queue", scaled(200)),
        ("inbox", scaled(2000)),
        ("evidence", scaled(40)),
        ("receipt", scaled(500)),
    ]
    .into_iter()
    .collect();
    let wanted = |op: &str| args.only.is_empty() || args.only.iter().any(|o| o == op);

    let mut env: HashMap<&str, String> = HashMap::new();
    env.insert("MLAT_DATABASE_URL", url.clone());
    env.insert("MLAT_DATA_DIR", dir.path().display().to_string());
    env.insert("MLAT_LOG", "error".into());
    let settings = Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
    let state = Arc::new(mlat::startup::prepare(settings).unwrap());
    let world = load(&state, args.population, counts["approve"]);

    let port = free_port();
    let server = Server::start(&url, dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let officer = login(&base, "officer@bench.example");
    let ca = login(&base, "ca@bench.example");
    let provider = login(&base, "provider@bench.example");
    let rules = state.rules();
    let mut rows: Vec<(&str, Sample, Sample)> = Vec::new();
    let c = args.clients;

    if wanted("sign-in") {
        let n = counts["sign-in"];
        let service = http(&base, c, n, sign_in_call());
        // The database work of a sign-in: the throttle row, the account, the
        // refresh token; not the password hash, which is the point of it.
        let floor = floor(&state, c, n, |conn, i| {
            floor_write(conn, |conn| {
                let email = &format!("person{}@bench.example", i % SIGN_IN_PEOPLE);
                let throttle = repo::sessions::lock_throttle(conn, email)?;
                repo::users::find_by_email(conn, email)?;
                repo::sessions::save_throttle(conn, email, &throttle)?;
                let user = repo::users::find_by_email(conn, email)?.unwrap();
                repo::sessions::insert_refresh(
                    conn,
                    &repo::sessions::RefreshTokenRow {
                        id: new_id(),
                        user_id: user.id,
                        family_id: new_id(),
                        token_hash: new_id(),
                        created_at: UtcTime::now(),
                        expires_at: UtcTime::now() + TimeDelta::hours(12),
                        revoked_at: None,
                    },
                )?;
                Ok::<_, diesel::result::Error>(())
            })
            .unwrap();
        });
        rows.push(("sign-in", service, floor));
    }
    if wanted("create") {
        let n = counts["create"];
        let (case_id, to, token) = (
            world.case_id.clone(),
            world.provider_id.clone(),
            officer.clone(),
        );
        let service = http(
            &base,
            c,
            n,
            Rc::new(move |_| {
                (
                    awc::http::Method::POST,
                    "/api/v1/requests".into(),
                    Some(request_body(&case_id, &to).to_string().into_bytes()),
                    bearer(&token),
                )
            }),
        );
        let template = world.draft_template.clone();
        let officer_actor = actor(&world.officer);
        let floor = floor(&state, c, n, |conn, i| {
            let mut row = template.clone();
            row.id = new_id();
            row.reference = format!("R-FLOOR-{i:07}");
            floor_write(conn, |conn| {
                repo::requests::insert(conn, &row)?;
                repo::audit::append_for_request(
                    conn,
                    &officer_actor,
                    &row.id,
                    "created",
                    ("request", &row.id),
                    json!({}),
                )?;
                mlat::service::deadlines::refresh(conn, &rules, &row)?;
                Ok::<_, mlat::error::Error>(())
            })
            .unwrap();
        });
        rows.push(("create", service, floor));
    }
    if wanted("approve") {
        let n = counts["approve"];
        let pending = world.pending_http.clone();
        let token = ca.clone();
        let service = http(
            &base,
            c,
            n,
            Rc::new(move |i| {
                let (id, version) = &pending[i];
                (
                    awc::http::Method::POST,
                    format!("/api/v1/requests/{id}/approve"),
                    Some(json!({"version": version}).to_string().into_bytes()),
                    bearer(&token),
                )
            }),
        );
        let ca_actor = actor(&world.ca);
        let floor = floor(&state, c, n, |conn, i| {
            let (id, version) = &world.pending_floor[i];
            floor_write(conn, |conn| {
                lock_row(conn, "requests", "id", id)?;
                let mut row = repo::requests::get(conn, id)?.unwrap();
                row.status = Status::Approved;
                row.version = version + 1;
                row.approved_at = Some(UtcTime::now());
                row.approved_by = Some(world.ca.user_id.clone());
                row.updated_at = UtcTime::now();
                assert!(repo::requests::update_if_version(conn, &row, *version)?);
                repo::audit::append_for_request(
                    conn,
                    &ca_actor,
                    id,
                    "approve",
                    ("request", id),
                    json!({}),
                )?;
                mlat::service::deadlines::refresh(conn, &rules, &row)?;
                Ok::<_, mlat::error::Error>(())
            })
            .unwrap();
        });
        rows.push(("approve", service, floor));
    }
    if wanted("get") {
        let n = counts["get"];
        let (ids, token) = (world.visible.clone(), officer.clone());
        let get: Call = Rc::new(move |i| {
            (
                awc::http::Method::GET,
                format!("/api/v1/requests/{}", ids[i * 7919 % ids.len()]),
                None,
                bearer(&token),
            )
        });
        let service = http(&base, c, n, get.clone());
        // The reads the document needs: the request, and its follow-ups.
        let floor = floor(&state, c, n, |conn, i| {
            let id = &world.visible[i * 7919 % world.visible.len()];
            let row = repo::requests::get_visible(conn, &world.officer, id)
                .unwrap()
                .unwrap();
            repo::requests::children_visible(conn, &world.officer, &row.id).unwrap();
        });
        rows.push(("get", service, floor.clone()));
        let bare = bare_http(&state, &world.officer, &world.visible, c, n);
        rows.push((BARE, bare, floor.clone()));
        rows.push((BURST, during_sign_ins(&base, c, get), floor));
    }
    if wanted("list") {
        let n = counts["list"];
        let token = officer.clone();
        let service = http(
            &base,
            c,
            n,
            Rc::new(move |_| {
                (
                    awc::http::Method::GET,
                    "/api/v1/requests?status=preserved&limit=50".into(),
                    None,
                    bearer(&token),
                )
            }),
        );
        let floor = floor(&state, c, n, |conn, _| {
            let filter = Filter {
                statuses: vec![mlat::domain::workflow::Status::Preserved],
                ..Default::default()
            };
            repo::requests::list_visible(conn, &world.officer, &filter, Sort::Created, None, 50)
                .unwrap();
        });
        rows.push(("list", service, floor));
    }
    if wanted("search") {
        let n = counts["search"];
        let token = officer.clone();
        let accounts = Rc::new(world.searchable.clone());
        let service = http(
            &base,
            c,
            n,
            Rc::new(move |i| {
                (
                    awc::http::Method::GET,
                    format!(
                        "/api/v1/requests?identifier={}",
                        accounts[i % accounts.len()].to_uppercase()
                    ),
                    None,
                    bearer(&token),
                )
            }),
        );
        let floor = floor(&state, c, n, |conn, i| {
            let filter = Filter {
                identifier: Some(world.searchable[i % world.searchable.len()].clone()),
                ..Default::default()
            };
            let (found, _) = repo::requests::list_visible(
                conn,
                &world.officer,
                &filter,
                Sort::Created,
                None,
                50,
            )
            .unwrap();
            assert_eq!(found.len(), 1);
        });
        rows.push(("search", service, floor));
    }
    // The officer's queue; and the central authority's, which sees every
    // request its jurisdiction issued or received: here the whole population.
    for (op, token, who) in [
        ("queue", officer.clone(), &world.officer),
        ("ca-queue", ca.clone(), &world.ca),
    ] {
        if !wanted(op) {
            continue;
        }
        let n = counts[op];
        let service = http(
            &base,
            c,
            n,
            Rc::new(move |_| {
                (
                    awc::http::Method::GET,
                    "/api/v1/requests?status=transmitted,acknowledged,preserved&sort=due&limit=50"
                        .into(),
                    None,
                    bearer(&token),
                )
            }),
        );
        let floor = floor(&state, c, n, |conn, _| {
            use mlat::domain::workflow::Status;
            let filter = Filter {
                statuses: vec![Status::Transmitted, Status::Acknowledged, Status::Preserved],
                ..Default::default()
            };
            repo::requests::list_visible(conn, who, &filter, Sort::DueForIssuer, None, 50).unwrap();
        });
        rows.push((op, service, floor));
    }
    if wanted("board") {
        let n = counts["board"];
        let token = officer.clone();
        let service = http(
            &base,
            c,
            n,
            Rc::new(move |_| {
                (
                    awc::http::Method::GET,
                    "/api/v1/deadlines?within=14d&limit=50".into(),
                    None,
                    bearer(&token),
                )
            }),
        );
        let floor = floor(&state, c, n, |conn, _| {
            let q = BoardQuery {
                status: Some(mlat::domain::deadlines::DeadlineStatus::Open),
                due_before: UtcTime::now() + TimeDelta::days(14),
                requests: Default::default(),
                after: None,
                limit: 50,
            };
            repo::deadlines::board(conn, &world.officer, &q).unwrap();
        });
        rows.push(("board", service, floor));
    }
    if wanted("inbox") {
        let n = counts["inbox"];
        // The provider's portal session, opened as signing in would.
        let cookie = {
            let mut conn = state.pool.get().unwrap();
            let account =
                repo::users::find_active_with_organisation(&mut conn, &world.provider.user_id)
                    .unwrap()
                    .unwrap();
            write_tx(&mut conn, |conn| {
                mlat::service::portal_sessions::open(conn, &account, UtcTime::now())
            })
            .unwrap()
            .cookie
        };
        let service = http(
            &base,
            c,
            n,
            Rc::new(move |_| {
                (
                    awc::http::Method::GET,
                    "/inbox".into(),
                    None,
                    vec![("cookie".into(), format!("mlat_session={cookie}"))],
                )
            }),
        );
        // The page's reads: its 50 requests with their issuers, and their deadlines.
        let floor = floor(&state, c, n, |conn, _| {
            let page =
                mlat::service::inbox::page(conn, &world.provider, &Default::default(), None, 50)
                    .unwrap();
            assert_eq!(page.lines.len(), 50);
        });
        rows.push(("inbox (HTML)", service, floor));
    }
    if wanted("receipt") {
        let n = counts["receipt"];
        anchor_everything(&state);
        let (id, event) = world.receipt.clone();
        let token = provider.clone();
        let service = http(
            &base,
            c,
            n,
            Rc::new(move |_| {
                (
                    awc::http::Method::GET,
                    format!("/api/v1/requests/{id}/receipts/{event}"),
                    None,
                    bearer(&token),
                )
            }),
        );
        let (id, event) = &world.receipt;
        let floor = floor(&state, c, n, |conn, _| {
            mlat::service::anchor::receipt_for(conn, &state.anchoring, &world.provider, id, event)
                .unwrap();
        });
        rows.push(("receipt", service, floor));
        // What a proof cost before block roots: every leaf of the log read.
        let mut conn = state.pool.get().unwrap();
        let started = Instant::now();
        let leaves: Vec<_> = repo::anchor::log_hashes(&mut conn, i64::MAX)
            .unwrap()
            .iter()
            .map(|(_, h)| mlat::domain::anchor::leaf_of(h).unwrap())
            .collect();
        mlat::domain::merkle::inclusion_proof(&leaves, 0);
        eprintln!(
            "a proof from every leaf (before block roots): {} ms for {} places",
            ms(started.elapsed()),
            leaves.len()
        );
    }
    if wanted("evidence") {
        let n = counts["evidence"];
        let mut file = vec![0u8; EVIDENCE_BYTES];
        getrandom::fill(&mut file).unwrap();
        let file = Rc::new(file);
        let (ids, token) = (world.deliverable.clone(), provider.clone());
        let service = http(
            &base,
            c.min(4),
            n,
            Rc::new(move |i| {
                // Each upload differs, so that none is stored only once.
                let mut bytes = file.as_ref().clone();
                bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
                let digest =
                    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
                let mut headers = bearer(&token);
                headers[1].1 = "application/octet-stream".into();
                headers.push((
                    "content-disposition".into(),
                    format!("attachment; filename=\"export-{i}.bin\""),
                ));
                headers.push(("repr-digest".into(), format!("sha-256=:{digest}:")));
                (
                    awc::http::Method::POST,
                    format!("/api/v1/requests/{}/evidence", ids[i % ids.len()]),
                    Some(bytes),
                    headers,
                )
            }),
        );
        // The floor: hash and write the same bytes, then the row and its custody
        // event.
        let mut bytes = vec![0u8; EVIDENCE_BYTES];
        getrandom::fill(&mut bytes).unwrap();
        let provider_actor = actor(&world.provider);
        let floor = floor(&state, c.min(4), n, |conn, i| {
            let mut mine = bytes.clone();
            mine[..8].copy_from_slice(&((i + 1_000_000) as u64).to_le_bytes());
            let (sha256, size) = state.store.put(&mine).unwrap();
            let request_id = &world.deliverable[i % world.deliverable.len()];
            floor_write(conn, |conn| {
                let row = EvidenceRow {
                    id: new_id(),
                    request_id: request_id.clone(),
                    filename: format!("floor-{i}.bin"),
                    media_type: "application/octet-stream".into(),
                    size: size as i64,
                    sha256,
                    uploaded_by: world.provider.user_id.clone(),
                    uploader_organisation_id: world.provider_id.clone(),
                    uploaded_at: UtcTime::now(),
                };
                repo::evidence::insert(conn, &row)?;
                repo::audit::append_for_request(
                    conn,
                    &provider_actor,
                    request_id,
                    "evidence_uploaded",
                    ("evidence", &row.id),
                    json!({}),
                )?;
                Ok::<_, diesel::result::Error>(())
            })
            .unwrap();
        });
        rows.push(("evidence 10 MB", service, floor));
    }

    if args.big_file_mib > 0 {
        let id = world
            .deliverable
            .last()
            .expect("a deliverable request")
            .clone();
        big_file(
            &base,
            &provider,
            &id,
            (args.big_file_mib, args.big_file_runs),
            &server,
        );
    }

    let (peak, peak_anon, anon, file) = (
        server.status_mib("VmHWM"),
        server.peak_anon_mib(),
        server.status_mib("RssAnon"),
        server.status_mib("RssFile"),
    );
    drop(server);
    println!();
    println!(
        "mlat benchmark: backend {}, population {} requests, {} clients",
        args.backend, args.population, c
    );
    println!(
        "{:<15} {:>6} {:>10} {:>9} {:>9} {:>9} {:>10} {:>9} {:>9} {:>7}",
        "operation",
        "n",
        "ops/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "floor/s",
        "floor p50",
        "floor p99",
        "ratio"
    );
    for (name, service, floor) in &rows {
        println!(
            "{:<15} {:>6} {:>10.1} {:>9} {:>9} {:>9} {:>10.1} {:>9} {:>9} {:>7.2}",
            name,
            service.latencies.len(),
            service.throughput(),
            ms(service.percentile(0.50)),
            ms(service.percentile(0.95)),
            ms(service.percentile(0.99)),
            floor.throughput(),
            ms(floor.percentile(0.50)),
            ms(floor.percentile(0.99)),
            service.throughput() / floor.throughput(),
        );
    }
    println!();
    println!("CPU per operation, microseconds (all cores together, from /proc)");
    println!(
        "{:<15} {:>9} {:>9} {:>9} {:>9}   {:>9} {:>9} {:>9}   {:>9}",
        "operation",
        "server",
        "client",
        "database",
        "total",
        "floor",
        "database",
        "total",
        "cpu ratio"
    );
    for (name, service, floor) in rows.iter().filter(|row| row.0 != BURST) {
        let (server, client, db) = service.cpu_per_op();
        let (_, own, floor_db) = floor.cpu_per_op();
        let (total, floor_total) = (server + client + db, own + floor_db);
        println!(
            "{:<15} {:>9.0} {:>9.0} {:>9.0} {:>9.0}   {:>9.0} {:>9.0} {:>9.0}   {:>9.2}",
            name,
            server,
            client,
            db,
            total,
            own,
            floor_db,
            floor_total,
            floor_total / total
        );
    }
    let size_mib = {
        let mut conn = state.pool.get().unwrap();
        match &mut *conn {
            DbConn::Sqlite(_) => std::fs::metadata(dir.path().join("bench.db"))
                .map(|m| m.len() as f64 / 1048576.0)
                .unwrap_or(f64::NAN),
            DbConn::Pg(c) => {
                #[derive(diesel::QueryableByName)]
                struct Size {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    bytes: i64,
                }
                diesel::sql_query("SELECT pg_database_size(current_database()) AS bytes")
                    .get_result::<Size>(c)
                    .map(|s| s.bytes as f64 / 1048576.0)
                    .unwrap_or(f64::NAN)
            }
        }
    };
    println!("database size after the run: {size_mib:.1} MiB");
    println!(
        "server memory: own (RssAnon) peak {peak_anon:.1} MiB, {anon:.1} MiB at the end; \
         mapped database (RssFile) {file:.1} MiB at the end; peak resident of both (VmHWM) {peak:.1} MiB"
    );
    println!(
        "ratio = service throughput / floor throughput (1.0: HTTP, authentication and JSON cost nothing)"
    );
    let by_name = |name: &str| rows.iter().find(|row| row.0 == name).map(|row| &row.1);
    if let (Some(service), Some(bare)) = (by_name("get"), by_name(BARE)) {
        println!(
            "{BARE}: the same reads behind a bare actix-web server in this process (its CPU is in the \
             client column); get / bare HTTP = {:.2}",
            service.throughput() / bare.throughput()
        );
    }
    if by_name(BURST).is_some() {
        println!(
            "{BURST}: the same gets while {BURST_SIGN_INS} sign-ins at a time wait for the hashing \
             threads (not in the CPU table: its CPU is the hashes')"
        );
    }
    println!(
        "CPU: server = the mlat process, client = this process's HTTP client, database = the rest of the \
         machine (PostgreSQL's backends; about 0 on SQLite); cpu ratio = floor total / service total"
    );

    drop(state);
    if args.keep && pg_database.is_none() {
        println!("kept the database {}/bench.db", dir.keep().display());
        return;
    }
    if let Some(name) = pg_database.filter(|name| {
        if args.keep {
            println!("kept the database {name}");
        }
        !args.keep
    }) {
        let mut admin = PgConnection::establish(&args.postgres).unwrap();
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin);
    }
}
