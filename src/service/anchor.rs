//! Checkpoints, verification against them, and receipts (`domain::anchor`).
//!
//! A checkpoint is written to the database first and copied to the file
//! after its transaction commits: a checkpoint in the file is always one the
//! database held, and each pass copies what an earlier one did not (a crash
//! between the two, or a new instance with an empty file).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::audit_keys::AuditKeys;
use crate::db::{DbConn, WriterQueue};
use crate::domain::access::{EventView, Viewer};
use crate::domain::anchor::{
    self, AnchorBreak, ChainHead, Checkpoint, Inclusion, KeyRing, Receipt,
};
use crate::domain::audit::{ChainBreak, Event};
use crate::domain::evidence::hex;
use crate::domain::merkle::{self, Frontier};
use crate::error::Error;
use crate::repo;
use crate::repo::anchor::CheckpointRow;
use crate::repo::audit::AuditEventRow;
use crate::repo::outbox::NewMessage;
use crate::time::UtcTime;

/// Most events one checkpoint takes; a pass anchors the rest next time.
const BATCH: i64 = 20_000;

/// What the service anchors with: its key, the file it appends to, and the
/// auditor's address each checkpoint is mailed to.
#[derive(Debug)]
pub struct Anchoring {
    pub keys: AuditKeys,
    pub file: PathBuf,
    pub mailto: Option<String>,
}

impl Anchoring {
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Self, String> {
        let (key, ring, generate) = crate::audit_keys::paths(settings);
        let keys = crate::audit_keys::load(&key, &ring, generate).map_err(|e| e.to_string())?;
        Ok(Anchoring {
            keys,
            file: settings
                .audit_checkpoint_file
                .clone()
                .unwrap_or_else(|| settings.data_dir.join("audit-checkpoints.jsonl")),
            mailto: settings.audit_checkpoint_mailto.clone(),
        })
    }
}

fn parse_row(row: &CheckpointRow) -> Result<Checkpoint, String> {
    serde_json::from_str(&row.document)
        .map_err(|e| format!("checkpoint {} in the database does not read: {e}", row.seq))
}

/// The checkpoints a file holds, in its order; a line that does not read is
/// an edited file.
pub fn read_file(path: &Path) -> Result<Vec<Checkpoint>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|e| {
                format!(
                    "line {} of {} is not a checkpoint: {e}",
                    n + 1,
                    path.display()
                )
            })
        })
        .collect()
}

/// What one checkpointing did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checkpoint signed now, if there was anything to anchor.
    pub checkpoint: Option<i64>,
    pub anchored: usize,
    /// Checkpoints copied to the file now.
    pub copied: usize,
}

/// Anchors up to `BATCH` events not yet anchored in a new signed checkpoint
/// (when there are any, or when `next_key` hands over to a new key), then
/// copies to the file what it lacks.
pub fn checkpoint(
    conn: &mut DbConn,
    writers: &WriterQueue,
    anchoring: &Anchoring,
    now: UtcTime,
    next_key: Option<String>,
) -> Result<Report, Error> {
    let file_last = match std::fs::File::open(&anchoring.file) {
        Ok(mut file) => last_in_file(&mut file).map_err(Error::internal)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => {
            return Err(Error::internal(format!(
                "cannot read {}: {e}",
                anchoring.file.display()
            )));
        }
    };
    let signed = writers.write(conn, |conn| {
        repo::anchor::lock_checkpointing(conn)?;
        sign_next(conn, anchoring, file_last, now, next_key)
    })?;
    let mut report = Report::default();
    if let Some((checkpoint, anchored)) = signed {
        report.checkpoint = Some(checkpoint.seq);
        report.anchored = anchored;
    }
    report.copied = copy_to_file(conn, &anchoring.file)?;
    Ok(report)
}

/// Inside the checkpointing lock: the next checkpoint, over the last one's
/// tree and the events after it.
fn sign_next(
    conn: &mut DbConn,
    anchoring: &Anchoring,
    file_last: i64,
    now: UtcTime,
    next_key: Option<String>,
) -> Result<Option<(Checkpoint, usize)>, Error> {
    let signer = &anchoring.keys.signer;
    let last_row = repo::anchor::last(conn)?;
    let db_last = last_row.as_ref().map_or(0, |r| r.seq);
    if file_last > db_last {
        return Err(Error::internal(format!(
            "the checkpoint file holds checkpoint {file_last} but the database only {db_last}: \
             checkpoints were removed from the database; run `mlat audit verify`"
        )));
    }
    let (last, mut frontier) = match &last_row {
        None => (None, Frontier::default()),
        Some(row) => {
            let last = parse_row(row).map_err(Error::internal)?;
            anchor::check_signature(&last, &anchoring.keys.ring)
                .map_err(|b| Error::internal(b.reason))?;
            let frontier: Frontier =
                serde_json::from_str(&row.frontier).map_err(Error::internal)?;
            if frontier.size() as i64 != last.tree_size || hex(&frontier.root()) != last.root {
                return Err(Error::internal(format!(
                    "checkpoint {}'s stored tree is not the one it signed; run `mlat audit verify`",
                    last.seq
                )));
            }
            let handed_to = last.next_key_id.as_deref().unwrap_or(&last.key_id);
            if handed_to != signer.key_id() {
                return Err(Error::internal(format!(
                    "checkpoint {} expects key {handed_to} to sign next, but this instance holds key {}: \
                     install the key `mlat audit rotate-key` made, or rotate with it",
                    last.seq,
                    signer.key_id()
                )));
            }
            (Some(last), frontier)
        }
    };
    let events = repo::anchor::unanchored(conn, BATCH)?;
    if events.is_empty() && next_key.is_none() {
        return Ok(None);
    }
    let mut heads: BTreeMap<String, (i64, String)> = BTreeMap::new();
    for event in &events {
        repo::anchor::assign(conn, &event.id, frontier.size() as i64)?;
        frontier.push(anchor::leaf_of(&event.hash).map_err(Error::internal)?);
        let further = heads
            .get(&event.chain)
            .is_none_or(|(seq, _)| event.seq > *seq);
        if further {
            heads.insert(event.chain.clone(), (event.seq, event.hash.clone()));
        }
    }
    let heads = heads
        .into_iter()
        .map(|(chain, (seq, hash))| ChainHead { chain, seq, hash })
        .collect();
    let checkpoint = signer.checkpoint(last.as_ref(), &frontier, heads, now, next_key);
    let document = serde_json::to_string(&checkpoint).map_err(Error::internal)?;
    repo::anchor::insert(
        conn,
        &CheckpointRow {
            seq: checkpoint.seq,
            tree_size: checkpoint.tree_size,
            issued_at: now,
            document: document.clone(),
            frontier: serde_json::to_string(&frontier).map_err(Error::internal)?,
        },
    )?;
    store_blocks(conn, checkpoint.tree_size)?;
    if let Some(auditor) = &anchoring.mailto {
        repo::outbox::enqueue(
            conn,
            &NewMessage {
                dedupe_key: format!("audit-checkpoint:{}", checkpoint.seq),
                kind: crate::domain::messages::MessageKind::AuditCheckpoint,
                request_id: None,
                recipient_user_id: None,
                recipient_email: auditor,
                subject: format!(
                    "mlat audit checkpoint {} ({} events)",
                    checkpoint.seq, checkpoint.tree_size
                ),
                body: format!(
                    "Keep this message: it is a signed checkpoint of the audit trail, a copy the \
                     database's administrator does not hold. `mlat audit verify` compares the \
                     database against such copies.\n\n{document}\n"
                ),
                webhook_id: None,
            },
        )?;
    }
    Ok(Some((checkpoint, events.len())))
}

/// Appends to the file every checkpoint of the database it lacks. The file
/// is locked while it is read and appended to, so two checkpointers sharing
/// it (the server's watcher and `mlat audit checkpoint`) copy each
/// checkpoint once.
fn copy_to_file(conn: &mut DbConn, path: &Path) -> Result<usize, Error> {
    let failed = |what: &str, e: std::io::Error| {
        Error::internal(format!("cannot {what} {}: {e}", path.display()))
    };
    let mut options = std::fs::OpenOptions::new();
    options.create(true).read(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| failed("open", e))?;
    file.lock().map_err(|e| failed("lock", e))?;
    let file_last = last_in_file(&mut file).map_err(Error::internal)?;
    let rows: Vec<CheckpointRow> = repo::anchor::all(conn)?
        .into_iter()
        .filter(|r| r.seq > file_last)
        .collect();
    let mut text = String::new();
    for row in &rows {
        text.push_str(&row.document);
        text.push('\n');
    }
    if !rows.is_empty() {
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| failed("append to", e))?;
    }
    Ok(rows.len())
}

/// The `seq` of a checkpoint file's last line (0 when it has none), read
/// from its end: the file grows for as long as the deployment lives.
fn last_in_file(file: &mut std::fs::File) -> Result<i64, String> {
    use std::io::{Read, Seek, SeekFrom};
    let length = file.metadata().map_err(|e| e.to_string())?.len();
    let mut take: u64 = 64 * 1024;
    loop {
        let start = length.saturating_sub(take);
        file.seek(SeekFrom::Start(start))
            .map_err(|e| e.to_string())?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&tail);
        let trimmed = text.trim_end();
        match trimmed.rfind('\n') {
            // The whole last line is in view (or the file is one line).
            Some(at) => return parse_line(&trimmed[at + 1..]),
            None if start == 0 => {
                return if trimmed.is_empty() {
                    Ok(0)
                } else {
                    parse_line(trimmed)
                };
            }
            None => take *= 4,
        }
    }
}

fn parse_line(line: &str) -> Result<i64, String> {
    serde_json::from_str::<Checkpoint>(line)
        .map(|c| c.seq)
        .map_err(|e| format!("the checkpoint file's last line is not a checkpoint: {e}"))
}

/// Anchors everything not yet anchored, a batch per checkpoint.
pub fn checkpoint_all(
    conn: &mut DbConn,
    writers: &WriterQueue,
    anchoring: &Anchoring,
) -> Result<Vec<Report>, Error> {
    let mut reports = Vec::new();
    loop {
        let report = checkpoint(conn, writers, anchoring, UtcTime::now(), None)?;
        let more = report.anchored as i64 == BATCH;
        reports.push(report);
        if !more {
            return Ok(reports);
        }
    }
}

/// The latest checkpoint, in short.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckpointSummary {
    pub seq: i64,
    pub tree_size: i64,
    pub issued_at: UtcTime,
    pub key_id: String,
}

/// How the trail stands against its checkpoints.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Anchored {
    /// Checkpoints held (the database's and the file's together).
    pub checkpoints: usize,
    /// Of them, how many the file holds.
    pub in_file: usize,
    pub latest: Option<CheckpointSummary>,
    pub anchored_events: u64,
    pub unanchored_events: i64,
    /// Said plainly when some events are not anchored yet.
    pub not_yet_anchored: Option<String>,
    /// The first thing the checkpoints show wrong.
    pub first_break: Option<AnchorBreak>,
}

/// The whole verification: the chains, then the checkpoints.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AuditVerification)]
pub struct Verification {
    /// Every chain verifies and nothing contradicts a checkpoint.
    pub intact: bool,
    pub chains: usize,
    pub events: usize,
    /// The first break inside a chain.
    pub first_break: Option<ChainBreak>,
    pub anchoring: Anchored,
}

impl Verification {
    /// One line per finding, as `mlat audit verify` prints them.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(b) = &self.first_break {
            lines.push(format!(
                "audit trail broken in chain {} at event {} (position {}): {}",
                b.chain,
                b.event_id.as_deref().unwrap_or("-"),
                b.seq.map_or("-".into(), |s| s.to_string()),
                b.reason
            ));
        }
        if let Some(b) = &self.anchoring.first_break {
            let mut at = Vec::new();
            if let Some(chain) = &b.chain {
                at.push(format!("chain {chain}"));
            }
            if let Some(id) = &b.event_id {
                at.push(format!("event {id}"));
            }
            if let Some(index) = b.log_index {
                at.push(format!("log position {index}"));
            }
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" ({})", at.join(", "))
            };
            lines.push(format!(
                "audit trail contradicts its checkpoints{at}: {}",
                b.reason
            ));
        }
        if self.intact {
            lines.push(format!(
                "audit trail intact: {} events in {} chains",
                self.events, self.chains
            ));
            match &self.anchoring.latest {
                Some(latest) => lines.push(format!(
                    "anchored: {} events by checkpoint {} of {} (key {})",
                    latest.tree_size, latest.seq, latest.issued_at, latest.key_id
                )),
                None => lines.push("no checkpoint yet: nothing is anchored".into()),
            }
        }
        if let Some(note) = &self.anchoring.not_yet_anchored {
            lines.push(note.clone());
        }
        lines
    }
}

/// Verifies the chains, then the database against the checkpoints it and
/// the file hold.
pub fn verify(conn: &mut DbConn, anchoring: &Anchoring) -> Result<Verification, Error> {
    let chains = repo::audit::verify_all(conn)?;
    let (unanchored_events, oldest) = repo::anchor::unanchored_summary(conn)?;
    let mut anchored = Anchored {
        checkpoints: 0,
        in_file: 0,
        latest: None,
        anchored_events: 0,
        unanchored_events,
        not_yet_anchored: None,
        first_break: None,
    };
    if let Err(b) = against_checkpoints(conn, anchoring, &mut anchored) {
        anchored.first_break = Some(b);
    }
    if unanchored_events > 0 {
        anchored.not_yet_anchored = Some(match (&anchored.latest, oldest) {
            (Some(latest), _) => format!(
                "events after {} are not yet anchored ({unanchored_events} events)",
                latest.issued_at
            ),
            (None, Some(oldest)) => format!(
                "events since {oldest} are not yet anchored ({unanchored_events} events): no checkpoint has been made"
            ),
            (None, None) => format!("{unanchored_events} events are not yet anchored"),
        });
    }
    Ok(Verification {
        intact: chains.intact && anchored.first_break.is_none(),
        chains: chains.chains,
        events: chains.events,
        first_break: chains.first_break,
        anchoring: anchored,
    })
}

fn against_checkpoints(
    conn: &mut DbConn,
    anchoring: &Anchoring,
    out: &mut Anchored,
) -> Result<(), AnchorBreak> {
    let plain = |reason: String| AnchorBreak {
        reason,
        ..Default::default()
    };
    let ring: &KeyRing = &anchoring.keys.ring;
    let in_file = read_file(&anchoring.file).map_err(plain)?;
    let rows = repo::anchor::all(conn).map_err(|e| plain(e.to_string()))?;
    let in_database: Vec<Checkpoint> = rows
        .iter()
        .map(parse_row)
        .collect::<Result<_, _>>()
        .map_err(plain)?;
    out.in_file = in_file.len();
    // The file is written only after the database commits, so a checkpoint
    // the file holds and the database does not was removed from it.
    let held: std::collections::BTreeSet<i64> = in_database.iter().map(|c| c.seq).collect();
    if let Some(gone) = in_file.iter().find(|c| !held.contains(&c.seq)) {
        return Err(AnchorBreak {
            checkpoint: Some(gone.seq),
            reason: format!(
                "checkpoint {} is in the checkpoint file but not in the database: checkpoints were removed from it",
                gone.seq
            ),
            ..Default::default()
        });
    }
    let checkpoints = anchor::merge(in_file, in_database)?;
    out.checkpoints = checkpoints.len();
    anchor::check_sequence(&checkpoints, ring)?;
    out.latest = checkpoints.last().map(|c| CheckpointSummary {
        seq: c.seq,
        tree_size: c.tree_size,
        issued_at: c.issued_at,
        key_id: c.key_id.clone(),
    });
    // Each chain still reaches the head a checkpoint saw, with the same event.
    for (chain, head) in anchor::anchored_heads(&checkpoints) {
        let found = repo::anchor::at(conn, &chain, head.0).map_err(|e| plain(e.to_string()))?;
        let found = found
            .as_ref()
            .map(|(id, hash)| (id.as_str(), hash.as_str()));
        anchor::check_head(&chain, found, &head)?;
    }
    // The log, page by page, against every root.
    let mut walk = anchor::LogWalk::new(&checkpoints);
    let mut from = 0;
    loop {
        let page = repo::anchor::log_page(conn, from, 10_000).map_err(|e| plain(e.to_string()))?;
        let Some(last) = page.last() else { break };
        from = last.log_index.unwrap_or(from) + 1;
        for e in &page {
            walk.push(e.log_index.unwrap_or(-1), &e.id, &e.chain, e.seq, &e.hash)?;
        }
    }
    out.anchored_events = walk.finish()?;
    // Places in the log are given only in a checkpoint's own transaction:
    // events placed beyond the last checkpoint held mean a later one was
    // removed (unless one was signed while this ran: asked again).
    let held = checkpoints.last().map_or(0, |c| c.tree_size);
    if out.anchored_events as i64 > held {
        let now = repo::anchor::last(conn)
            .map_err(|e| plain(e.to_string()))?
            .map_or(0, |r| r.tree_size);
        if out.anchored_events as i64 > now {
            return Err(AnchorBreak {
                checkpoint: Some(checkpoints.last().map_or(1, |c| c.seq + 1)),
                log_index: Some(held),
                reason: format!(
                    "{} events have places in the log beyond the last checkpoint held ({held} events): a later checkpoint was removed",
                    out.anchored_events as i64 - held
                ),
                ..Default::default()
            });
        }
    }
    Ok(())
}

/// An event of a request a receipt can be had for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceiptLine {
    pub event_id: String,
    pub action: String,
    pub occurred_at: UtcTime,
    /// The organisation whose person acted.
    pub organisation_id: Option<String>,
    /// Whether a checkpoint covers it: its receipt then carries an inclusion
    /// proof.
    pub anchored: bool,
}

/// The events of a request `viewer` may hold receipts for: the steps of
/// `anchor::RECEIPT_ACTIONS` it reads whole in the trail. Both sides of the
/// request read those, so both get the same receipts.
fn receipt_events(
    conn: &mut DbConn,
    viewer: &Viewer,
    request_id: &str,
) -> Result<Vec<AuditEventRow>, Error> {
    let row = crate::service::requests::visible(conn, viewer, request_id)?;
    let (_, seen) = crate::service::requests::trail_seen_by(conn, viewer, &row)?;
    Ok(seen
        .into_iter()
        .filter(|(event, view)| {
            *view == EventView::Whole && anchor::RECEIPT_ACTIONS.contains(&event.action.as_str())
        })
        .map(|(event, _)| event)
        .collect())
}

pub fn receipts_of(
    conn: &mut DbConn,
    viewer: &Viewer,
    request_id: &str,
) -> Result<Vec<ReceiptLine>, Error> {
    let events = receipt_events(conn, viewer, request_id)?;
    let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    let placed = repo::anchor::log_indices(conn, &ids)?;
    Ok(events
        .into_iter()
        .map(|e| ReceiptLine {
            anchored: placed.contains_key(&e.id),
            event_id: e.id,
            action: e.action,
            occurred_at: e.occurred_at,
            organisation_id: e.organisation_id,
        })
        .collect())
}

/// The receipt for one event of a request, for `viewer`.
pub fn receipt_for(
    conn: &mut DbConn,
    anchoring: &Anchoring,
    viewer: &Viewer,
    request_id: &str,
    event_id: &str,
) -> Result<Receipt, Error> {
    let event = receipt_events(conn, viewer, request_id)?
        .into_iter()
        .find(|e| e.id == event_id)
        .ok_or_else(|| {
            Error::not_found(format!(
                "no receipt for event `{event_id}` of this request (receipts are given for {})",
                anchor::RECEIPT_ACTIONS.join(", ")
            ))
        })?;
    receipt(conn, anchoring, event)
}

/// A receipt for a recorded event: signed now, with its inclusion proof once
/// a checkpoint covers it.
pub fn receipt(
    conn: &mut DbConn,
    anchoring: &Anchoring,
    event: AuditEventRow,
) -> Result<Receipt, Error> {
    let log_index = repo::anchor::log_indices(conn, std::slice::from_ref(&event.id))?
        .get(&event.id)
        .copied();
    let inclusion = match log_index {
        None => None,
        Some(index) => match repo::anchor::first_covering(conn, index)? {
            None => None,
            Some(row) => {
                let checkpoint = parse_row(&row).map_err(Error::internal)?;
                let leaf = anchor::leaf_of(&event.hash).map_err(Error::internal)?;
                let proof = inclusion_proof(conn, &leaf, index, &checkpoint)?
                    .iter()
                    .map(|h| hex(h))
                    .collect();
                Some(Inclusion {
                    log_index: index,
                    proof,
                    checkpoint,
                })
            }
        },
    };
    Ok(anchoring
        .keys
        .signer
        .receipt(Event::from(event), UtcTime::now(), inclusion))
}

/// At most this many blocks' roots are stored by one checkpoint: a log that
/// grew before blocks were stored (an upgraded deployment) is caught up over
/// a few passes rather than in one long transaction.
const BLOCKS_PER_CHECKPOINT: i64 = 64;

/// Stores the roots of the log's complete blocks below `tree_size` that
/// have none yet, the oldest first.
fn store_blocks(conn: &mut DbConn, tree_size: i64) -> Result<(), Error> {
    let block = merkle::BLOCK as i64;
    let stored = repo::anchor::next_block(conn)?;
    let complete = tree_size / block;
    for j in stored..complete.min(stored + BLOCKS_PER_CHECKPOINT) {
        let leaves = repo::anchor::log_hashes_between(conn, j * block, (j + 1) * block)?
            .iter()
            .map(|(_, hash)| anchor::leaf_of(hash))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::internal)?;
        if leaves.len() as i64 != block {
            // A gap in the log: `mlat audit verify` names it; proofs over
            // this block are made from its leaves meanwhile.
            tracing::error!(
                block = j,
                places = leaves.len(),
                "a block of the audit log is not whole"
            );
            return Ok(());
        }
        repo::anchor::store_block(conn, j, &hex(&merkle::root(&leaves)))?;
    }
    Ok(())
}

/// The inclusion proof of `leaf` at place `index` of `checkpoint`'s log,
/// from the stored roots of its complete blocks and the leaves of two
/// blocks (and of any block without a root yet), checked against the
/// signed root before it is given out. A wrong stored root (derived data,
/// edited or damaged) costs a proof from every leaf and an error in the log,
/// never a wrong receipt.
fn inclusion_proof(
    conn: &mut DbConn,
    leaf: &merkle::Hash,
    index: i64,
    checkpoint: &Checkpoint,
) -> Result<Vec<merkle::Hash>, Error> {
    let size = checkpoint.tree_size;
    let block = merkle::BLOCK as i64;
    let complete = size / block;
    let mut roots = BTreeMap::new();
    for (j, root) in repo::anchor::block_roots(conn, complete)? {
        if let Some(root) = anchor::parse_hash(&root) {
            roots.insert(j as u64, root);
        }
    }
    let mut read = |from: i64, to: i64, into: &mut BTreeMap<u64, merkle::Hash>| {
        for (at, hash) in repo::anchor::log_hashes_between(conn, from, to)? {
            into.insert(at as u64, anchor::leaf_of(&hash).map_err(Error::internal)?);
        }
        Ok::<(), Error>(())
    };
    let mut leaves = BTreeMap::new();
    let own = index / block;
    read(own * block, ((own + 1) * block).min(size), &mut leaves)?;
    if complete * block < size && own != complete {
        read(complete * block, size, &mut leaves)?;
    }
    let mut j = 0;
    while j < complete {
        // Runs of blocks without a root are read in one query each.
        if roots.contains_key(&(j as u64)) || j == own {
            j += 1;
            continue;
        }
        let start = j;
        while j < complete && !roots.contains_key(&(j as u64)) && j != own {
            j += 1;
        }
        read(start * block, j * block, &mut leaves)?;
    }
    let parts = merkle::InBlocks {
        block: merkle::BLOCK,
        roots,
        leaves,
    };
    let size = size as u64;
    let root = anchor::parse_hash(&checkpoint.root);
    let proves = |proof: &[merkle::Hash]| {
        root.is_some_and(|root| merkle::verify_inclusion(leaf, index as u64, size, proof, &root))
    };
    if let Some(proof) = merkle::inclusion_proof_from(&parts, size, index as u64)
        && proves(&proof)
    {
        return Ok(proof);
    }
    let all = repo::anchor::log_hashes(conn, checkpoint.tree_size)?
        .into_iter()
        .map(|(_, hash)| anchor::leaf_of(&hash))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::internal)?;
    let proof = merkle::inclusion_proof(&all, index as usize);
    if proves(&proof) {
        tracing::error!(
            checkpoint = checkpoint.seq,
            "the stored roots of the audit log's blocks are wrong (the proof was made from every \
             leaf instead): they are derived data; `DELETE FROM audit_log_blocks` and the next \
             checkpoints store them again"
        );
    } else {
        tracing::error!(
            checkpoint = checkpoint.seq,
            log_index = index,
            "the audit log no longer proves this event against the checkpoint that anchored it: \
             the trail was changed after it was anchored; run `mlat audit verify`"
        );
    }
    Ok(proof)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: i64, heads: usize) -> String {
        let checkpoint = Checkpoint {
            seq,
            tree_size: seq,
            root: "00".repeat(32),
            issued_at: UtcTime::now(),
            previous: "00".repeat(32),
            key_id: "k".into(),
            next_key_id: None,
            heads: (0..heads)
                .map(|i| ChainHead {
                    chain: format!("request:{i:036}"),
                    seq: 1,
                    hash: "ab".repeat(32),
                })
                .collect(),
            signature: String::new(),
        };
        serde_json::to_string(&checkpoint).unwrap() + "\n"
    }

    #[test]
    fn the_last_checkpoint_of_a_file_is_read_from_its_end_whatever_its_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoints.jsonl");
        let last = |text: &str| {
            std::fs::write(&path, text).unwrap();
            last_in_file(&mut std::fs::File::open(&path).unwrap())
        };
        assert_eq!(last(""), Ok(0));
        assert_eq!(last(&line(1, 0)), Ok(1));
        // Lines far longer than the first look back (thousands of heads).
        let long = line(1, 3_000) + &line(2, 3_000);
        assert!(long.len() > 4 * 64 * 1024);
        assert_eq!(last(&long), Ok(2));
        assert_eq!(last(&(line(1, 0) + &line(2, 5_000))), Ok(2));
        assert!(last(&(line(1, 0) + "{\"edited\": true}\n")).is_err());
    }
}
