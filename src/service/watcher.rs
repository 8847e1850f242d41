//! The watcher: marks missed deadlines, expires lapsed preservations and queues
//! reminders, each exactly once (a unique key per message, the request row
//! locked while it is looked at), with every change audited.

use chrono::TimeDelta;
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::json;

use crate::db::{DbConn, WriterQueue, lock_row};
use crate::domain::audit::Actor;
use crate::domain::deadlines::{DeadlineKind, DeadlineStatus};
use crate::domain::messages::MessageKind;
use crate::domain::notices::{self, Owner};
use crate::domain::reminders;
use crate::domain::workflow::Status;
use crate::error::Error;
use crate::repo;
use crate::repo::deadlines::DeadlineRow;
use crate::repo::outbox::NewMessage;
use crate::repo::requests::RequestRow;
use crate::repo::users::UserRow;
use crate::service::deadlines::{self as clocks, Rules};
use crate::service::notify::{self, LocalTo};
use crate::time::UtcTime;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub examined: usize,
    pub missed: usize,
    pub expired: usize,
    pub reminders: usize,
}

/// How many requests one pass looks at, at most; the next pass takes the rest.
const BATCH: i64 = 5_000;

/// One pass of the watcher at `now`.
pub fn tick(
    conn: &mut DbConn,
    writers: &WriterQueue,
    rules: &Rules<'_>,
    now: UtcTime,
) -> Result<Report, Error> {
    let horizon = now + TimeDelta::days(7) + TimeDelta::minutes(1);
    let ids = repo::deadlines::watch_candidates(conn, horizon, BATCH)?;
    let mut report = Report::default();
    for id in ids {
        let done = writers.write(conn, |conn| watch(conn, rules, &id, now))?;
        report.examined += 1;
        report.missed += done.missed;
        report.expired += done.expired;
        report.reminders += done.reminders;
    }
    // A change of reference data whose recomputation did not finish (the
    // process stopped) is finished here.
    for (scope, done) in crate::service::upgrade::recompute_pending(conn, writers, rules)? {
        tracing::info!(
            ?scope,
            examined = done.examined,
            changed = done.changed,
            "recomputed deadlines after a change of reference data"
        );
    }
    // The server runs this pass every minute: a cheap moment to forget spent
    // sign-in state, and to keep the planner's statistics in step with the
    // tables.
    let purged = crate::service::housekeeping::purge(conn, writers, now)?;
    if purged != Default::default() {
        tracing::info!(?purged, "forgot spent sign-in state");
    }
    // SQLite writes the statistics, so this too waits its turn.
    let _turn = writers.turn_blocking()?;
    crate::db::optimize(conn)?;
    Ok(report)
}

/// What a deadline is called in a subject, what it does before it is due, and
/// what it did once missed.
fn label(kind: DeadlineKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        DeadlineKind::ApprovalDue => ("Approval of", "is due", "was missed"),
        DeadlineKind::ExPostValidation => ("Validation of emergency", "is due", "was missed"),
        DeadlineKind::AcknowledgementDue => ("Acknowledgement of", "is due", "was missed"),
        DeadlineKind::DecisionDue => ("Decision on", "is due", "was missed"),
        DeadlineKind::ResponseDue => ("Answer to", "is due", "was missed"),
        DeadlineKind::EnforcingReview => ("Enforcing-State review of", "ends", "ended"),
        DeadlineKind::PreservationExpires => ("Preservation", "expires", "expired"),
        DeadlineKind::FollowUpDue => ("Follow-up request for", "is due", "was missed"),
        DeadlineKind::RetentionRisk => (
            "Data of",
            "is at risk of deletion from",
            "may have been deleted",
        ),
    }
}

/// What the issuing side does about a clock that was missed.
fn after_a_miss(kind: DeadlineKind) -> &'static str {
    match kind {
        DeadlineKind::ApprovalDue | DeadlineKind::ExPostValidation => {
            "Make sure the central authority decides on the request."
        }
        DeadlineKind::AcknowledgementDue
        | DeadlineKind::DecisionDue
        | DeadlineKind::ResponseDue => "Check with the responder; consider an escalation.",
        other => notices::owed_step(other),
    }
}

/// The message for one deadline: the reference (an emergency marked first),
/// what is needed and by when, as an instant in UTC and in the recipient's
/// time rather than a count of days that would be stale by the time a
/// delayed message is read, and a link; never the facts of the case or the
/// identifiers. `missed` once the clock ran out.
fn message(
    row: &RequestRow,
    d: &DeadlineRow,
    missed: bool,
    tz: Tz,
    public_url: &str,
) -> (String, String) {
    let kind = d.kind;
    let (what, ahead, past) = label(kind);
    let emergency = if row.emergency { "EMERGENCY: " } else { "" };
    let subject = if missed {
        format!("{emergency}{what} {} {past}", row.reference)
    } else {
        format!(
            "{emergency}{what} {} {ahead} {} UTC",
            row.reference,
            d.due_at.to_datetime().format("%Y-%m-%d %H:%M")
        )
    };
    let action = if missed {
        after_a_miss(kind)
    } else {
        notices::owed_step(kind)
    };
    let body = format!(
        "Request {reference}\nDeadline: {kind}\nDue: {due}\n\n{action}\n\nOpen the request: {url}/requests/{id}\n",
        reference = row.reference,
        kind = kind.as_str(),
        due = notices::both_times(d.due_at, tz),
        url = public_url.trim_end_matches('/'),
        id = row.id,
    );
    (subject, body)
}

/// Someone a reminder goes to: an account, or an organisation's address.
struct Recipient {
    user_id: Option<String>,
    email: String,
}

impl Recipient {
    fn of(user: UserRow) -> Self {
        Recipient {
            user_id: Some(user.id),
            email: user.email,
        }
    }

    /// What tells this recipient apart in a message's key.
    fn key(&self) -> String {
        self.user_id
            .clone()
            .unwrap_or_else(|| format!("address:{}", self.email))
    }
}

/// Who is reminded of what `owner` owes on `row`, and in whose time: the
/// responder's address for legal process if it gave one (a team's mailbox),
/// else its people; the issuing central authority's people; the officer who
/// filed the request.
fn owed_by(
    conn: &mut DbConn,
    row: &RequestRow,
    owner: Owner,
    creator: Option<&UserRow>,
) -> Result<(Vec<Recipient>, Tz), Error> {
    Ok(match owner {
        Owner::Responder => {
            let tz = notify::time_zone(conn, row, LocalTo::Responder)?;
            let address =
                repo::organisations::get(conn, &row.responder_id)?.and_then(|o| o.contact_email);
            let people = match address {
                Some(email) => vec![Recipient {
                    user_id: None,
                    email,
                }],
                None => repo::users::active_of_organisation(conn, &row.responder_id)?
                    .into_iter()
                    .map(Recipient::of)
                    .collect(),
            };
            (people, tz)
        }
        Owner::IssuingAuthority => (
            repo::users::active_central_authority_users(conn, &row.issuing_jurisdiction)?
                .into_iter()
                .map(Recipient::of)
                .collect(),
            notify::time_zone(conn, row, LocalTo::Issuer)?,
        ),
        Owner::Officer => (
            creator
                .filter(|u| u.active)
                .cloned()
                .map(Recipient::of)
                .into_iter()
                .collect(),
            notify::time_zone(conn, row, LocalTo::Issuer)?,
        ),
        Owner::Nobody => (Vec::new(), Tz::UTC),
    })
}

fn watch(conn: &mut DbConn, rules: &Rules<'_>, id: &str, now: UtcTime) -> Result<Report, Error> {
    let mut done = Report::default();
    lock_row(conn, "requests", "id", id)?;
    let Some(mut row) = repo::requests::get(conn, id)? else {
        return Ok(done);
    };
    let mut computed = clocks::compute(conn, rules, &row, now)?;
    let lapsed = computed.iter().find(|d| {
        d.kind == DeadlineKind::PreservationExpires && d.status == DeadlineStatus::Missed
    });
    if row.status == Status::Preserved
        && let Some(lapsed) = lapsed
    {
        if !expire(conn, &mut row, lapsed.due_at, now)? {
            return Ok(done);
        }
        done.expired += 1;
        computed = clocks::compute(conn, rules, &row, now)?;
    }
    repo::deadlines::replace_for_request(conn, &row, &computed)?;
    let creator = repo::users::get(conn, &row.created_by)?;
    let notices = Notices {
        row: &row,
        creator: creator.as_ref(),
        public_url: rules.public_url,
        now,
    };
    for d in repo::deadlines::for_request(conn, &row.id)? {
        match d.status {
            DeadlineStatus::Missed if d.missed_noticed_at.is_none() => {
                notices.missed(conn, &d)?;
                done.missed += 1;
            }
            DeadlineStatus::Open => {
                done.reminders += notices.remind(conn, &d)?;
            }
            _ => {}
        }
    }
    Ok(done)
}

/// A confirmed preservation whose period ran out becomes `expired`; `false`
/// when someone changed the request meanwhile (it is looked at next pass).
fn expire(
    conn: &mut DbConn,
    row: &mut RequestRow,
    expired_at: UtcTime,
    now: UtcTime,
) -> Result<bool, Error> {
    let read = row.version;
    row.status = Status::Expired;
    row.version += 1;
    row.updated_at = now;
    if !repo::requests::update_if_version(conn, row, read)? {
        return Ok(false);
    }
    repo::audit::append_for_request(
        conn,
        &Actor::system(),
        &row.id,
        "expire",
        ("request", &row.id),
        json!({ "from": "preserved", "to": "expired", "preservation_expired_at": expired_at }),
    )?;
    Ok(true)
}

/// What the watcher tells people of one request's deadlines.
struct Notices<'a> {
    row: &'a RequestRow,
    /// The officer who created the request, if the account still exists.
    creator: Option<&'a UserRow>,
    public_url: &'a str,
    now: UtcTime,
}

impl Notices<'_> {
    /// A missed deadline, told once to the officer who created the request and
    /// to the issuing jurisdiction's central authority.
    fn missed(&self, conn: &mut DbConn, d: &DeadlineRow) -> Result<(), Error> {
        let (row, creator, public_url, now) = (self.row, self.creator, self.public_url, self.now);
        let system = Actor::system();
        let due_key = d.due_at.to_datetime().timestamp_micros();
        let mut recipients: Vec<_> = creator.into_iter().filter(|u| u.active).cloned().collect();
        recipients.extend(repo::users::active_central_authority_users(
            conn,
            &row.issuing_jurisdiction,
        )?);
        let tz = notify::time_zone(conn, row, LocalTo::Issuer)?;
        let (subject, body) = message(row, d, true, tz, public_url);
        for user in &recipients {
            repo::outbox::enqueue(
                conn,
                &NewMessage {
                    dedupe_key: format!("missed:{}:{due_key}:{}", d.id, user.id),
                    kind: MessageKind::DeadlineMissed,
                    request_id: Some(&row.id),
                    recipient_user_id: Some(&user.id),
                    recipient_email: &user.email,
                    subject: subject.clone(),
                    body: body.clone(),
                    webhook_id: None,
                },
            )?;
        }
        repo::audit::append_for_request(
            conn,
            &system,
            &row.id,
            "deadline_missed",
            ("deadline", &d.id),
            json!({
                "kind": d.kind, "due_at": d.due_at, "explanation": d.explanation,
                "notified": recipients.iter().map(|u| &u.id).collect::<Vec<_>>(),
            }),
        )?;
        repo::deadlines::mark_missed_noticed(conn, &d.id, now)?;
        Ok(())
    }

    /// The reminder due now for an open deadline, to whoever owes what it
    /// waits for (`notices::owner`), once per mark and recipient; how many
    /// messages this call queued.
    fn remind(&self, conn: &mut DbConn, d: &DeadlineRow) -> Result<usize, Error> {
        let (row, public_url, now) = (self.row, self.public_url, self.now);
        let due_key = d.due_at.to_datetime().timestamp_micros();
        let Some((mark, _)) = reminders::due_now(d.started_at, d.due_at, now) else {
            return Ok(0);
        };
        let (recipients, tz) = owed_by(conn, row, notices::owner(d.kind), self.creator)?;
        let (subject, body) = message(row, d, false, tz, public_url);
        let mut queued = Vec::new();
        for to in &recipients {
            let key = to.key();
            if repo::outbox::enqueue(
                conn,
                &NewMessage {
                    dedupe_key: format!("reminder:{}:{due_key}:{}:{key}", d.id, mark.as_str()),
                    kind: MessageKind::Reminder,
                    request_id: Some(&row.id),
                    recipient_user_id: to.user_id.as_deref(),
                    recipient_email: &to.email,
                    subject: subject.clone(),
                    body: body.clone(),
                    webhook_id: None,
                },
            )? {
                queued.push(key);
            }
        }
        if !queued.is_empty() {
            repo::audit::append_for_request(
                conn,
                &Actor::system(),
                &row.id,
                "reminder_queued",
                ("deadline", &d.id),
                json!({ "kind": d.kind, "mark": mark.as_str(), "due_at": d.due_at, "to": queued }),
            )?;
        }
        Ok(queued.len())
    }
}
