//! One pass of the sender: claim due messages, send them (reminders to one
//! person as one digest), record the outcome with backoff.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono::TimeDelta;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use lettre::message::{Mailbox, MultiPart};
use lettre::{FileTransport, Message, SmtpTransport, Transport as _};
use serde::Serialize;
use sha2::Digest as _;

use super::retry::{self, Next};
use super::webhook::Attempt;
use crate::config::MailSettings;
use crate::db::schema::outbox;
use crate::db::{DbConn, WriterQueue};
use crate::domain::messages::MessageStatus;
use crate::error::Error;
use crate::repo::outbox::OutboxRow;
use crate::time::UtcTime;

enum Transport {
    Smtp(SmtpTransport),
    Files(FileTransport),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    retry_base: Duration,
    max_attempts: u32,
    /// The outbox's webhook deliveries, retried as the e-mails are.
    webhooks: super::webhook::Deliverer,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailer(..)")
    }
}

/// How long a claimed message is reserved for the sender that claimed it; past
/// that (a crash mid-send), another pass may take it.
const LEASE: TimeDelta = TimeDelta::minutes(10);
const BATCH: i64 = 100;
/// How long one pass spends on webhook deliveries before it leaves the rest
/// for the next: far inside the lease.
const WEBHOOK_BUDGET: Duration = Duration::from_secs(120);

impl Mailer {
    pub fn new(settings: &MailSettings, data_dir: &Path) -> Result<Self, String> {
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                SmtpTransport::from_url(url.expose())
                    .map_err(|e| format!("MLAT_SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => {
                let dir = data_dir.join("mail");
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                Transport::Files(FileTransport::new(dir))
            }
        };
        Ok(Mailer {
            transport,
            from: settings
                .from
                .parse()
                .map_err(|e| format!("MLAT_MAIL_FROM: {e}"))?,
            retry_base: settings.retry_base,
            max_attempts: settings.max_attempts,
            webhooks: super::webhook::Deliverer::new(settings.webhooks_allow_private),
        })
    }

    /// With the key the webhooks' secrets are sealed under (the factor key).
    pub fn with_webhook_key(mut self, key: crate::sealed::MasterKey) -> Self {
        self.webhooks = self.webhooks.with_key(key);
        self
    }

    /// Whether webhooks may reach private addresses (the operator's allowance).
    pub fn webhooks_allow_private(&self) -> bool {
        self.webhooks.allows_private()
    }

    fn send(&self, message: &Message) -> Result<(), String> {
        match &self.transport {
            Transport::Smtp(t) => t.send(message).map(|_| ()).map_err(|e| e.to_string()),
            Transport::Files(t) => t.send(message).map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SendReport {
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Takes due messages for this pass. On PostgreSQL `FOR UPDATE SKIP LOCKED`
/// lets several senders split the work without waiting on each other; each
/// claimed row is leased so no other pass takes it meanwhile.
fn claim(conn: &mut DbConn, writers: &WriterQueue, now: UtcTime) -> Result<Vec<OutboxRow>, Error> {
    writers.write(conn, |conn| {
        let ids: Vec<Claimed> = match conn {
            DbConn::Pg(c) => diesel::sql_query(
                "SELECT id FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            )
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(BATCH)
            .load(c)?,
            DbConn::Sqlite(c) => diesel::sql_query(
                "SELECT id FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= ? \
                 ORDER BY next_attempt_at LIMIT ?",
            )
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(BATCH)
            .load(c)?,
        };
        let ids: Vec<String> = ids.into_iter().map(|c| c.id).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
            .set((
                outbox::status.eq(MessageStatus::Sending),
                outbox::next_attempt_at.eq(now + LEASE),
            ))
            .execute(conn)?;
        outbox::table
            .filter(outbox::id.eq_any(&ids))
            .select(OutboxRow::as_select())
            .order(outbox::id)
            .load(conn)
            .map_err(Error::from)
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The plain-text body as HTML: paragraphs, and links made clickable.
fn html(text: &str) -> String {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| {
            let lines: Vec<String> = p
                .lines()
                .map(|line| {
                    let escaped = escape(line);
                    match line.find("https://").or_else(|| line.find("http://")) {
                        Some(i) => {
                            let url = escape(&line[i..]);
                            format!("{}<a href=\"{url}\">{url}</a>", escape(&line[..i]))
                        }
                        None => escaped,
                    }
                })
                .collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect();
    format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">{}</body></html>",
        paragraphs.join("")
    )
}

/// The `Message-ID` and `Date` of the e-mail for `rows`, both derived from
/// the rows alone (their ids, when the first was queued), so that a retry
/// after a crash or a refusal is the same message to the receiving server,
/// which may then drop the duplicate (RFC 5322 §3.6.4). A digest is named
/// by the ids it holds.
fn identity(rows: &[&OutboxRow], domain: &str) -> (String, std::time::SystemTime) {
    let local = match rows {
        [one] => one.id.clone(),
        many => {
            let mut ids: Vec<&str> = many.iter().map(|r| r.id.as_str()).collect();
            ids.sort_unstable();
            let digest = sha2::Sha256::digest(ids.join(",").as_bytes());
            format!("digest.{}", crate::domain::evidence::hex(&digest[..16]))
        }
    };
    let queued = rows
        .iter()
        .map(|r| r.created_at)
        .min()
        .unwrap_or_else(UtcTime::now);
    (
        format!("<{local}@{domain}>"),
        std::time::SystemTime::from(queued.to_datetime()),
    )
}

/// One e-mail for a group of rows to one address: a single row as it is, several
/// reminders as a digest.
fn compose(mailer: &Mailer, to: &str, rows: &[&OutboxRow]) -> Result<Message, String> {
    let to: Mailbox = to
        .parse()
        .map_err(|e| format!("bad recipient address: {e}"))?;
    let (subject, text) = match rows {
        [one] => (one.subject.clone(), one.body.clone()),
        many => {
            let mut text = format!("{} deadlines need your attention:\n\n", many.len());
            for row in many {
                text.push_str(&format!("* {}\n\n{}\n", row.subject, row.body));
            }
            (
                format!("{} mlat deadlines need your attention", many.len()),
                text,
            )
        }
    };
    let (message_id, date) = identity(rows, mailer.from.email.domain());
    Message::builder()
        .from(mailer.from.clone())
        .to(to)
        .message_id(Some(message_id))
        .date(date)
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(text.clone(), html(&text)))
        .map_err(|e| e.to_string())
}

/// Why a send failed, and whether trying again could help.
struct Failure {
    error: String,
    hopeless: bool,
}

impl From<String> for Failure {
    fn from(error: String) -> Self {
        Failure {
            error,
            hopeless: false,
        }
    }
}

fn record(
    conn: &mut DbConn,
    mailer: &Mailer,
    rows: &[&OutboxRow],
    outcome: Result<(), Failure>,
    now: UtcTime,
    report: &mut SendReport,
) -> QueryResult<()> {
    for row in rows {
        match &outcome {
            Ok(()) => {
                diesel::update(outbox::table.find(&row.id))
                    .set((
                        outbox::status.eq(MessageStatus::Sent),
                        outbox::sent_at.eq(Some(now)),
                        outbox::attempts.eq(row.attempts + 1),
                        outbox::last_error.eq(None::<String>),
                    ))
                    .execute(conn)?;
                if row.kind == crate::domain::messages::MessageKind::Account
                    && let Some(kept) = crate::service::account_mail::without_link_token(&row.body)
                {
                    diesel::update(outbox::table.find(&row.id))
                        .set(outbox::body.eq(kept))
                        .execute(conn)?;
                }
                report.sent += 1;
            }
            Err(Failure { error, hopeless }) => {
                let attempts = row.attempts + 1;
                let next = if *hopeless {
                    Next::Dead
                } else {
                    retry::after_failure(
                        mailer.retry_base,
                        attempts as u32,
                        mailer.max_attempts,
                        now,
                    )
                };
                let (status, next) = match next {
                    Next::RetryAt(at) => {
                        report.retried += 1;
                        (MessageStatus::Pending, at)
                    }
                    Next::Dead => {
                        report.dead += 1;
                        tracing::error!(outbox = %row.id, %error, "message dead after {attempts} attempts");
                        (MessageStatus::Dead, now)
                    }
                };
                diesel::update(outbox::table.find(&row.id))
                    .set((
                        outbox::status.eq(status),
                        outbox::attempts.eq(attempts),
                        outbox::next_attempt_at.eq(next),
                        outbox::last_error.eq(Some(error.clone())),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// One pass: send what is due at `now`.
pub fn send_pass(
    conn: &mut DbConn,
    writers: &WriterQueue,
    mailer: &Mailer,
    now: UtcTime,
) -> Result<SendReport, Error> {
    let claimed = claim(conn, writers, now)?;
    let mut report = SendReport::default();
    // Reminders and misses to one address in this pass go out as one digest;
    // webhook deliveries go last, so that a slow endpoint delays no e-mail.
    let mut digests: BTreeMap<&str, Vec<&OutboxRow>> = BTreeMap::new();
    let mut singles = Vec::new();
    let mut hooks = Vec::new();
    for row in &claimed {
        if row.webhook_id.is_some() {
            hooks.push(row);
        } else if row.kind.is_digestible() {
            digests
                .entry(row.recipient_email.as_str())
                .or_default()
                .push(row);
        } else {
            singles.push((row.recipient_email.as_str(), vec![row]));
        }
    }
    for (to, rows) in singles.into_iter().chain(digests) {
        let outcome = compose(mailer, to, &rows)
            .and_then(|m| mailer.send(&m))
            .map_err(Failure::from);
        writers.write(conn, |conn| {
            record(conn, mailer, &rows, outcome, now, &mut report).map_err(Error::from)
        })?;
    }
    // Each delivery may take its whole timeout: past the budget, what is left
    // goes back to the queue for the next pass, well within the lease.
    let started = std::time::Instant::now();
    for (i, hook) in hooks.iter().enumerate() {
        if started.elapsed() > WEBHOOK_BUDGET {
            let left: Vec<&str> = hooks[i..].iter().map(|r| r.id.as_str()).collect();
            writers.write(conn, |conn| {
                diesel::update(outbox::table.filter(outbox::id.eq_any(&left)))
                    .set((
                        outbox::status.eq(MessageStatus::Pending),
                        outbox::next_attempt_at.eq(now),
                    ))
                    .execute(conn)
                    .map_err(Error::from)
            })?;
            break;
        }
        let outcome = match mailer.webhooks.deliver(conn, hook, now) {
            Attempt::Delivered => Ok(()),
            Attempt::Failed(error) => Err(Failure::from(error)),
            Attempt::Refused(error) => Err(Failure {
                error,
                hopeless: true,
            }),
        };
        writers.write(conn, |conn| {
            record(conn, mailer, &[*hook], outcome, now, &mut report).map_err(Error::from)
        })?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, queued: &str) -> OutboxRow {
        OutboxRow {
            id: id.into(),
            dedupe_key: format!("k:{id}"),
            kind: crate::domain::messages::MessageKind::Reminder,
            request_id: None,
            recipient_user_id: None,
            recipient_email: "officer@example.test".into(),
            subject: "Subject".into(),
            body: "Body".into(),
            status: MessageStatus::Pending,
            attempts: 0,
            next_attempt_at: UtcTime::now(),
            last_error: None,
            created_at: UtcTime::from(queued.parse::<chrono::DateTime<chrono::Utc>>().unwrap()),
            sent_at: None,
            webhook_id: None,
        }
    }

    #[test]
    fn a_message_keeps_its_id_and_date_across_retries() {
        let a = row(
            "0190a1b2-0000-7000-8000-000000000001",
            "2026-12-03T10:00:00Z",
        );
        let b = row(
            "0190a1b2-0000-7000-8000-000000000002",
            "2026-12-03T09:00:00Z",
        );
        let (id, date) = identity(&[&a], "mlat.example");
        assert_eq!(id, "<0190a1b2-0000-7000-8000-000000000001@mlat.example>");
        assert_eq!(
            chrono::DateTime::<chrono::Utc>::from(date).to_rfc3339(),
            "2026-12-03T10:00:00+00:00"
        );
        // Composed again later (a retry): the same identity.
        assert_eq!(identity(&[&a], "mlat.example"), (id.clone(), date));
        // A digest is named by its rows, whatever their order, and dated by
        // the first queued.
        let (digest, digest_date) = identity(&[&a, &b], "mlat.example");
        assert_eq!(identity(&[&b, &a], "mlat.example").0, digest);
        assert!(digest.starts_with("<digest.") && digest != id, "{digest}");
        assert_eq!(
            chrono::DateTime::<chrono::Utc>::from(digest_date).to_rfc3339(),
            "2026-12-03T09:00:00+00:00"
        );
    }

    #[test]
    fn html_escapes_and_links() {
        let out = html("Request R-1 <b>\n\nOpen: https://mlat.example/requests/1");
        assert!(out.contains("Request R-1 &lt;b&gt;"));
        assert!(out.contains("<a href=\"https://mlat.example/requests/1\">"));
    }
}
