//! The audit trail anchored outside the database (issue 22): signed
//! checkpoints over one Merkle log of every event, and receipts a party keeps.
//!
//! The hash chains (`domain::audit`) catch an edited or removed event inside a
//! chain, but not a chain whose end was cut off and whose head was moved back,
//! nor one rewritten with fresh hashes: nothing outside the database remembered
//! what was there. A checkpoint does: it signs, with a key the database does
//! not hold, the root of the RFC 6962 tree over every event in log order and
//! the heads the chains had reached, and it names the checkpoint before it.
//! Copies live in the database, in a file beside the key and in an auditor's
//! mailbox; verifying compares the database against them.
//!
//! Pure: the signatures are Ed25519 (ed25519-dalek), the texts signed are
//! fixed line formats, so a verifier elsewhere can rebuild them.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::audit::{Event, GENESIS, compute_hash};
use crate::domain::evidence::hex;
use crate::domain::merkle::{self, Frontier, Hash};
use crate::time::UtcTime;

pub const CHECKPOINT_HEADER: &str = "mlat audit checkpoint v1";
pub const RECEIPT_HEADER: &str = "mlat audit receipt v1";
pub const RECEIPT_FORMAT: &str = "mlat-audit-receipt/1";

/// The events of a request for which each side gets a receipt: what one side
/// may later have to prove it was asked, or answered.
pub const RECEIPT_ACTIONS: [&str; 6] = [
    "transmit",
    "preserve",
    "confirm_extension",
    "refuse",
    "fulfil",
    "evidence_uploaded",
];

/// How far a chain had come when a checkpoint was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainHead {
    pub chain: String,
    pub seq: i64,
    pub hash: String,
}

/// One signed checkpoint: the first `tree_size` events of the log have the
/// Merkle root `root`; the chains in `heads` (those that grew since the
/// checkpoint before) had reached those events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditCheckpoint)]
pub struct Checkpoint {
    pub seq: i64,
    pub tree_size: i64,
    /// The RFC 6962 tree hash, hex.
    pub root: String,
    pub issued_at: UtcTime,
    /// SHA-256 of the signed text of checkpoint `seq - 1` (zeros for the first).
    pub previous: String,
    pub key_id: String,
    /// Set on the last checkpoint a key signs: the key that signs the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_key_id: Option<String>,
    pub heads: Vec<ChainHead>,
    /// Ed25519 over `signed_text()`, base64.
    pub signature: String,
}

/// SHA-256 over the heads, one `chain seq hash` line each in chain order: the
/// signed text carries this digest rather than every head.
pub fn heads_digest(heads: &[ChainHead]) -> String {
    let mut sorted: Vec<&ChainHead> = heads.iter().collect();
    sorted.sort_by(|a, b| a.chain.cmp(&b.chain));
    let mut h = Sha256::new();
    for head in sorted {
        h.update(format!("{} {} {}\n", head.chain, head.seq, head.hash));
    }
    hex(&h.finalize())
}

impl Checkpoint {
    /// What the key signs.
    pub fn signed_text(&self) -> String {
        format!(
            "{CHECKPOINT_HEADER}\nseq {}\ntree_size {}\nroot {}\nissued_at {}\nprevious {}\nheads {}\nkey {}\nnext_key {}\n",
            self.seq,
            self.tree_size,
            self.root,
            self.issued_at,
            self.previous,
            heads_digest(&self.heads),
            self.key_id,
            self.next_key_id.as_deref().unwrap_or("-"),
        )
    }

    /// What the next checkpoint names as its `previous`.
    pub fn digest(&self) -> String {
        hex(&Sha256::digest(self.signed_text()))
    }
}

/// The identifier of a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(public: &VerifyingKey) -> String {
    hex(&Sha256::digest(public.as_bytes()))[..16].to_owned()
}

/// The signing half, held by the service only.
pub struct AuditSigner {
    key: SigningKey,
    id: String,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditSigner({})", self.id)
    }
}

impl AuditSigner {
    pub fn new(key: SigningKey) -> Self {
        let id = key_id(&key.verifying_key());
        AuditSigner { key, id }
    }

    pub fn key_id(&self) -> &str {
        &self.id
    }

    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    fn sign(&self, text: &str) -> String {
        B64.encode(self.key.sign(text.as_bytes()).to_bytes())
    }

    /// Signs the checkpoint that follows `last` (`None`: the first), over a
    /// tree of `frontier.size()` events, naming `heads`.
    pub fn checkpoint(
        &self,
        last: Option<&Checkpoint>,
        frontier: &Frontier,
        heads: Vec<ChainHead>,
        issued_at: UtcTime,
        next_key_id: Option<String>,
    ) -> Checkpoint {
        let mut checkpoint = Checkpoint {
            seq: last.map_or(1, |c| c.seq + 1),
            tree_size: frontier.size() as i64,
            root: hex(&frontier.root()),
            issued_at,
            previous: last.map_or_else(|| GENESIS.to_owned(), Checkpoint::digest),
            key_id: self.id.clone(),
            next_key_id,
            heads,
            signature: String::new(),
        };
        checkpoint.signature = self.sign(&checkpoint.signed_text());
        checkpoint
    }

    /// A receipt for `event`, signed now; `inclusion` once a checkpoint
    /// covers it.
    pub fn receipt(
        &self,
        event: Event,
        issued_at: UtcTime,
        inclusion: Option<Inclusion>,
    ) -> Receipt {
        let mut receipt = Receipt {
            format: RECEIPT_FORMAT.to_owned(),
            event,
            issued_at,
            key_id: self.id.clone(),
            signature: String::new(),
            inclusion,
        };
        receipt.signature = self.sign(&receipt.signed_text());
        receipt
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Current,
    Retired,
}

/// A public key as published (`GET /api/v1/audit/keys`) and kept in the
/// deployment's key ring file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditKey)]
pub struct PublishedKey {
    pub key_id: String,
    /// Always `Ed25519`.
    pub algorithm: String,
    /// The 32-byte public key, base64.
    pub public_key: String,
    pub status: KeyStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<UtcTime>,
}

impl PublishedKey {
    pub fn of(public: &VerifyingKey, status: KeyStatus) -> Self {
        PublishedKey {
            key_id: key_id(public),
            algorithm: "Ed25519".into(),
            public_key: B64.encode(public.as_bytes()),
            status,
            retired_at: None,
        }
    }

    /// The key, when it reads and its id is its own (a ring edited to pass
    /// one key off under another's id is refused here).
    pub fn verifying_key(&self) -> Result<VerifyingKey, String> {
        let bytes: [u8; 32] = B64
            .decode(&self.public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("key {} is not a 32-byte base64 key", self.key_id))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|e| format!("key {} does not read: {e}", self.key_id))?;
        if key_id(&key) != self.key_id {
            return Err(format!(
                "key {} is published under another key's id",
                self.key_id
            ));
        }
        Ok(key)
    }
}

/// The public keys a verifier trusts: the current one and those retired.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditKeys)]
pub struct KeyRing {
    pub keys: Vec<PublishedKey>,
}

impl KeyRing {
    fn verify(&self, key_id: &str, text: &str, signature: &str) -> Result<(), String> {
        let published = self
            .keys
            .iter()
            .find(|k| k.key_id == key_id)
            .ok_or_else(|| format!("signed with key {key_id}, which is not a published key"))?;
        let key = published.verifying_key()?;
        let bytes: [u8; 64] = B64
            .decode(signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the signature is not a 64-byte base64 value")?;
        key.verify_strict(text.as_bytes(), &Signature::from_bytes(&bytes))
            .map_err(|_| format!("the signature does not verify under key {key_id}"))
    }
}

/// What is wrong with the anchored trail, as precisely as it can be named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AnchorBreak {
    /// The checkpoint that shows it.
    pub checkpoint: Option<i64>,
    pub chain: Option<String>,
    pub event_id: Option<String>,
    /// The event's place in its chain.
    pub seq: Option<i64>,
    /// The event's place in the log.
    pub log_index: Option<i64>,
    pub reason: String,
}

impl AnchorBreak {
    fn at_checkpoint(seq: i64, reason: String) -> Self {
        AnchorBreak {
            checkpoint: Some(seq),
            reason,
            ..Default::default()
        }
    }
}

/// Checks one checkpoint's signature against the ring.
pub fn check_signature(checkpoint: &Checkpoint, ring: &KeyRing) -> Result<(), AnchorBreak> {
    ring.verify(
        &checkpoint.key_id,
        &checkpoint.signed_text(),
        &checkpoint.signature,
    )
    .map_err(|reason| {
        AnchorBreak::at_checkpoint(
            checkpoint.seq,
            format!("checkpoint {}: {reason}", checkpoint.seq),
        )
    })
}

/// Checks a run of checkpoints, in `seq` order: numbered from 1 without a
/// gap, each signed by a published key, naming the one before it, never
/// shrinking the log, and signed by the key the one before handed over to.
pub fn check_sequence(checkpoints: &[Checkpoint], ring: &KeyRing) -> Result<(), AnchorBreak> {
    let mut last: Option<&Checkpoint> = None;
    for checkpoint in checkpoints {
        let expected = last.map_or(1, |c| c.seq + 1);
        if checkpoint.seq != expected {
            return Err(AnchorBreak::at_checkpoint(
                expected,
                format!(
                    "checkpoint {expected} is missing (the next one held is {})",
                    checkpoint.seq
                ),
            ));
        }
        check_signature(checkpoint, ring)?;
        let previous = last.map_or_else(|| GENESIS.to_owned(), Checkpoint::digest);
        if checkpoint.previous != previous {
            return Err(AnchorBreak::at_checkpoint(
                checkpoint.seq,
                format!(
                    "checkpoint {} does not name the checkpoint before it",
                    checkpoint.seq
                ),
            ));
        }
        if let Some(before) = last {
            if checkpoint.tree_size < before.tree_size {
                return Err(AnchorBreak::at_checkpoint(
                    checkpoint.seq,
                    format!(
                        "checkpoint {} anchors fewer events than the one before it",
                        checkpoint.seq
                    ),
                ));
            }
            let handed_to = before.next_key_id.as_deref().unwrap_or(&before.key_id);
            if checkpoint.key_id != handed_to {
                return Err(AnchorBreak::at_checkpoint(
                    checkpoint.seq,
                    format!(
                        "checkpoint {} is signed by key {} but the one before hands over to key {handed_to}",
                        checkpoint.seq, checkpoint.key_id
                    ),
                ));
            }
        }
        last = Some(checkpoint);
    }
    Ok(())
}

/// The checkpoints the database holds and those a file holds, as one run:
/// where both hold a checkpoint they must hold the same one.
pub fn merge(
    file: Vec<Checkpoint>,
    database: Vec<Checkpoint>,
) -> Result<Vec<Checkpoint>, AnchorBreak> {
    let mut by_seq: BTreeMap<i64, Checkpoint> = BTreeMap::new();
    for (source, list) in [("the file", file), ("the database", database)] {
        for checkpoint in list {
            match by_seq.get(&checkpoint.seq) {
                Some(held) if *held != checkpoint => {
                    return Err(AnchorBreak::at_checkpoint(
                        checkpoint.seq,
                        format!(
                            "checkpoint {} in {source} differs from the other copy",
                            checkpoint.seq
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    by_seq.insert(checkpoint.seq, checkpoint);
                }
            }
        }
    }
    Ok(by_seq.into_values().collect())
}

/// The leaf of the log for an event: its chain hash, as bytes.
pub fn leaf_of(event_hash: &str) -> Result<Hash, String> {
    parse_hash(event_hash)
        .map(|bytes| merkle::leaf_hash(&bytes))
        .ok_or_else(|| format!("`{event_hash}` is not a SHA-256 hash in hex"))
}

/// A SHA-256 hash written in hex, if `text` is one.
pub fn parse_hash(text: &str) -> Option<Hash> {
    if text.len() != 64 {
        return None;
    }
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}

/// The log walked in order against the checkpoints: each event's leaf is
/// added, and at each checkpoint's size the root must be the one it signed.
pub struct LogWalk<'a> {
    checkpoints: &'a [Checkpoint],
    next: usize,
    frontier: Frontier,
    /// How many events the last root that matched covered.
    matched: i64,
}

impl<'a> LogWalk<'a> {
    pub fn new(checkpoints: &'a [Checkpoint]) -> Self {
        let mut walk = LogWalk {
            checkpoints,
            next: 0,
            frontier: Frontier::default(),
            matched: 0,
        };
        walk.skip_empty();
        walk
    }

    fn skip_empty(&mut self) {
        while self
            .checkpoints
            .get(self.next)
            .is_some_and(|c| c.tree_size == 0)
        {
            self.next += 1;
        }
    }

    /// The next event of the log: its place, and its id, chain, seq and hash.
    pub fn push(
        &mut self,
        log_index: i64,
        id: &str,
        chain: &str,
        seq: i64,
        hash: &str,
    ) -> Result<(), AnchorBreak> {
        let named = |reason: String| AnchorBreak {
            checkpoint: self.checkpoints.get(self.next).map(|c| c.seq),
            chain: Some(chain.to_owned()),
            event_id: Some(id.to_owned()),
            seq: Some(seq),
            log_index: Some(log_index),
            reason,
        };
        let expected = self.frontier.size() as i64;
        if log_index != expected {
            return Err(named(format!(
                "the log jumps from position {expected} to {log_index} here: anchored events are missing"
            )));
        }
        let leaf = leaf_of(hash).map_err(named)?;
        self.frontier.push(leaf);
        while let Some(checkpoint) = self.checkpoints.get(self.next)
            && checkpoint.tree_size == self.frontier.size() as i64
        {
            if hex(&self.frontier.root()) != checkpoint.root {
                return Err(AnchorBreak::at_checkpoint(
                    checkpoint.seq,
                    format!(
                        "the first {} events of the log are not those checkpoint {} signed: an anchored event at log positions {} to {} was altered, removed, added or moved",
                        checkpoint.tree_size,
                        checkpoint.seq,
                        self.matched,
                        checkpoint.tree_size - 1
                    ),
                ));
            }
            self.matched = checkpoint.tree_size;
            self.next += 1;
        }
        Ok(())
    }

    /// Every checkpoint must have been reached.
    pub fn finish(self) -> Result<u64, AnchorBreak> {
        match self.checkpoints.get(self.next) {
            None => Ok(self.frontier.size()),
            Some(checkpoint) => Err(AnchorBreak::at_checkpoint(
                checkpoint.seq,
                format!(
                    "checkpoint {} anchors {} events but the database holds {} in the log: anchored events were removed",
                    checkpoint.seq,
                    checkpoint.tree_size,
                    self.frontier.size()
                ),
            )),
        }
    }
}

/// The furthest head each chain reached in any checkpoint, with the
/// checkpoint that anchored it.
pub fn anchored_heads(checkpoints: &[Checkpoint]) -> BTreeMap<String, (i64, String, i64)> {
    let mut heads: BTreeMap<String, (i64, String, i64)> = BTreeMap::new();
    for checkpoint in checkpoints {
        for head in &checkpoint.heads {
            let further = heads
                .get(&head.chain)
                .is_none_or(|(seq, _, _)| head.seq > *seq);
            if further {
                heads.insert(
                    head.chain.clone(),
                    (head.seq, head.hash.clone(), checkpoint.seq),
                );
            }
        }
    }
    heads
}

/// Checks a chain against the head a checkpoint anchored for it, given the
/// event the database holds at that place in the chain (its id and hash).
pub fn check_head(
    chain: &str,
    found: Option<(&str, &str)>,
    anchored: &(i64, String, i64),
) -> Result<(), AnchorBreak> {
    let (seq, hash, checkpoint) = anchored;
    let base = AnchorBreak {
        checkpoint: Some(*checkpoint),
        chain: Some(chain.to_owned()),
        seq: Some(*seq),
        ..Default::default()
    };
    match found {
        None => Err(AnchorBreak {
            reason: format!(
                "event {seq} of chain {chain}, anchored by checkpoint {checkpoint}, is missing: events at the chain's end were removed"
            ),
            ..base
        }),
        Some((id, held)) if held != hash => Err(AnchorBreak {
            event_id: Some(id.to_owned()),
            reason: format!(
                "event {seq} of chain {chain} is not the one checkpoint {checkpoint} anchored: the chain was rewritten up to it"
            ),
            ..base
        }),
        Some(_) => Ok(()),
    }
}

/// Where an event sits in the log a checkpoint signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Inclusion {
    pub log_index: i64,
    /// The audit path (RFC 6962 §2.1.1), innermost sibling first, hex.
    pub proof: Vec<String>,
    pub checkpoint: Checkpoint,
}

/// A signed statement that an event was recorded, for a party to keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditReceipt)]
pub struct Receipt {
    /// `mlat-audit-receipt/1`.
    pub format: String,
    /// The event as recorded; `event.hash` is recomputed from the rest.
    #[schema(value_type = Object)]
    pub event: Event,
    pub issued_at: UtcTime,
    pub key_id: String,
    /// Ed25519 over the receipt's signed text, base64.
    pub signature: String,
    /// Once a checkpoint covers the event: its place and the proof.
    pub inclusion: Option<Inclusion>,
}

impl Receipt {
    pub fn signed_text(&self) -> String {
        format!(
            "{RECEIPT_HEADER}\nevent {}\nchain {}\nseq {}\noccurred_at {}\nissued_at {}\nkey {}\n",
            self.event.hash,
            self.event.chain,
            self.event.seq,
            self.event.occurred_at,
            self.issued_at,
            self.key_id,
        )
    }
}

/// What a receipt that verifies proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFindings {
    /// The checkpoint whose log holds the event, when the receipt has one.
    pub anchored_by: Option<(i64, UtcTime)>,
}

/// Checks a receipt with the published keys alone: the event's hash is its
/// content's, the service signed it, and, when it carries one, the proof puts
/// the event in the log of a checkpoint the service signed.
pub fn verify_receipt(receipt: &Receipt, ring: &KeyRing) -> Result<ReceiptFindings, String> {
    if receipt.format != RECEIPT_FORMAT {
        return Err(format!("not a receipt of the format {RECEIPT_FORMAT}"));
    }
    if compute_hash(&receipt.event) != receipt.event.hash {
        return Err("the event does not match its hash: the receipt was altered".into());
    }
    ring.verify(&receipt.key_id, &receipt.signed_text(), &receipt.signature)
        .map_err(|e| format!("the receipt's signature: {e}"))?;
    let Some(inclusion) = &receipt.inclusion else {
        return Ok(ReceiptFindings { anchored_by: None });
    };
    let checkpoint = &inclusion.checkpoint;
    check_signature(checkpoint, ring).map_err(|b| b.reason)?;
    let proof: Vec<Hash> = inclusion
        .proof
        .iter()
        .map(|h| parse_hash(h))
        .collect::<Option<_>>()
        .ok_or("the inclusion proof does not read")?;
    let root = parse_hash(&checkpoint.root).ok_or("the checkpoint's root does not read")?;
    let leaf = leaf_of(&receipt.event.hash)?;
    let (Ok(index), Ok(size)) = (
        u64::try_from(inclusion.log_index),
        u64::try_from(checkpoint.tree_size),
    ) else {
        return Err("the inclusion proof names no place in the log".into());
    };
    if !merkle::verify_inclusion(&leaf, index, size, &proof, &root) {
        return Err(format!(
            "the inclusion proof does not put the event in the log of checkpoint {}",
            checkpoint.seq
        ));
    }
    Ok(ReceiptFindings {
        anchored_by: Some((checkpoint.seq, checkpoint.issued_at)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::GENESIS;

    fn signer(seed: u8) -> AuditSigner {
        AuditSigner::new(SigningKey::from_bytes(&[seed; 32]))
    }

    fn ring(signers: &[&AuditSigner]) -> KeyRing {
        KeyRing {
            keys: signers
                .iter()
                .map(|s| PublishedKey::of(&s.public(), KeyStatus::Current))
                .collect(),
        }
    }

    fn event(n: i64, prev: &str) -> Event {
        let mut event = Event {
            id: format!("e{n}"),
            chain: "request:r1".into(),
            seq: n,
            prev_hash: prev.to_owned(),
            hash: String::new(),
            occurred_at: UtcTime::now(),
            actor_id: Some("u1".into()),
            organisation_id: Some("o1".into()),
            action: "transmit".into(),
            object_type: "request".into(),
            object_id: Some("r1".into()),
            request_id: Some("r1".into()),
            details: "{}".into(),
        };
        event.hash = compute_hash(&event);
        event
    }

    fn events(n: i64) -> Vec<Event> {
        let mut out: Vec<Event> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(GENESIS.to_owned(), |e| e.hash.clone());
            out.push(event(seq, &prev));
        }
        out
    }

    /// Checkpoints after 2 and after 5 events, by `signer`.
    fn two_checkpoints(signer: &AuditSigner, log: &[Event]) -> Vec<Checkpoint> {
        let mut frontier = Frontier::default();
        let mut out: Vec<Checkpoint> = Vec::new();
        for (i, e) in log.iter().enumerate() {
            frontier.push(leaf_of(&e.hash).unwrap());
            if i == 1 || i == 4 {
                let head = ChainHead {
                    chain: e.chain.clone(),
                    seq: e.seq,
                    hash: e.hash.clone(),
                };
                out.push(signer.checkpoint(
                    out.last(),
                    &frontier,
                    vec![head],
                    UtcTime::now(),
                    None,
                ));
            }
        }
        out
    }

    fn walk(checkpoints: &[Checkpoint], log: &[Event]) -> Result<u64, AnchorBreak> {
        let mut walk = LogWalk::new(checkpoints);
        for (i, e) in log.iter().enumerate() {
            walk.push(i as i64, &e.id, &e.chain, e.seq, &e.hash)?;
        }
        walk.finish()
    }

    #[test]
    fn checkpoints_verify_and_the_log_matches_them() {
        let key = signer(1);
        let log = events(6);
        let checkpoints = two_checkpoints(&key, &log);
        assert_eq!(checkpoints[1].previous, checkpoints[0].digest());
        assert_eq!(check_sequence(&checkpoints, &ring(&[&key])), Ok(()));
        assert_eq!(walk(&checkpoints, &log), Ok(6));
    }

    #[test]
    fn an_edited_or_foreign_checkpoint_is_refused() {
        let (key, other) = (signer(1), signer(2));
        let log = events(5);
        let mut checkpoints = two_checkpoints(&key, &log);
        checkpoints[0].tree_size = 1;
        let err = check_sequence(&checkpoints, &ring(&[&key])).unwrap_err();
        assert_eq!(err.checkpoint, Some(1));
        assert!(err.reason.contains("does not verify"), "{}", err.reason);
        // Signed by a key the verifier was not given.
        let forged = two_checkpoints(&other, &log);
        let err = check_sequence(&forged, &ring(&[&key])).unwrap_err();
        assert!(err.reason.contains("not a published key"), "{}", err.reason);
        // A ring that passes the other key off under the right id.
        let mut lying = ring(&[&key]);
        lying.keys[0].public_key = B64.encode(other.public().as_bytes());
        let err = check_sequence(&forged, &lying).unwrap_err();
        assert!(err.reason.contains("not a published key"), "{}", err.reason);
        let honest = two_checkpoints(&key, &log);
        let err = check_sequence(&honest, &lying).unwrap_err();
        assert!(err.reason.contains("another key's id"), "{}", err.reason);
    }

    #[test]
    fn a_missing_or_unlinked_checkpoint_is_named() {
        let key = signer(1);
        let log = events(5);
        let checkpoints = two_checkpoints(&key, &log);
        let err = check_sequence(&checkpoints[1..], &ring(&[&key])).unwrap_err();
        assert_eq!(err.checkpoint, Some(1));
        assert!(err.reason.contains("checkpoint 1 is missing"));
        // A second run started afresh (a rewritten history) does not link.
        let mut restarted = checkpoints.clone();
        restarted[1] = key.checkpoint(None, &Frontier::default(), vec![], UtcTime::now(), None);
        restarted[1].seq = 2;
        restarted[1].signature = key.sign(&restarted[1].signed_text());
        let err = check_sequence(&restarted, &ring(&[&key])).unwrap_err();
        assert!(err.reason.contains("does not name the checkpoint before"));
    }

    #[test]
    fn the_file_and_the_database_must_hold_the_same_checkpoints() {
        let key = signer(1);
        let log = events(5);
        let checkpoints = two_checkpoints(&key, &log);
        let merged = merge(checkpoints.clone(), checkpoints[..1].to_vec()).unwrap();
        assert_eq!(merged, checkpoints);
        let mut other = checkpoints.clone();
        other[1].issued_at = other[1].issued_at + chrono::TimeDelta::seconds(1);
        let err = merge(checkpoints, other).unwrap_err();
        assert_eq!(err.checkpoint, Some(2));
    }

    #[test]
    fn a_log_that_lost_altered_or_reordered_anchored_events_is_caught() {
        let key = signer(1);
        let log = events(6);
        let checkpoints = two_checkpoints(&key, &log);
        // The newest anchored event gone: the last checkpoint is not reached.
        let err = walk(&checkpoints, &log[..4]).unwrap_err();
        assert_eq!(err.checkpoint, Some(2));
        assert!(err.reason.contains("were removed"));
        // An anchored event rewritten with a fresh hash.
        let mut rewritten = log.clone();
        rewritten[3].details = "{\"n\":1}".into();
        rewritten[3].hash = compute_hash(&rewritten[3]);
        assert_eq!(
            walk(&checkpoints, &rewritten).unwrap_err().checkpoint,
            Some(2)
        );
        // Two anchored events swapped in the log.
        let mut swapped = log.clone();
        swapped.swap(2, 3);
        let err = walk(&checkpoints, &swapped).unwrap_err();
        assert_eq!(err.checkpoint, Some(2));
        // Checkpoint 1 (two events) still matched: the change lies after it.
        assert!(
            err.reason.contains("at log positions 2 to 4"),
            "{}",
            err.reason
        );
        // A gap in the positions names the event after it.
        let mut walker = LogWalk::new(&checkpoints);
        walker.push(0, "e1", "c", 1, &log[0].hash).unwrap();
        let err = walker.push(2, "e3", "c", 3, &log[2].hash).unwrap_err();
        assert_eq!(err.event_id.as_deref(), Some("e3"));
        assert_eq!(err.log_index, Some(2));
        // Events after the last checkpoint are not judged by it.
        let mut more = log.clone();
        more[5].details = "{\"later\":true}".into();
        more[5].hash = compute_hash(&more[5]);
        assert_eq!(walk(&checkpoints, &more), Ok(6));
    }

    #[test]
    fn a_chain_cut_short_or_rewritten_is_named_by_its_anchored_head() {
        let key = signer(1);
        let log = events(5);
        let checkpoints = two_checkpoints(&key, &log);
        let heads = anchored_heads(&checkpoints);
        let anchored = &heads["request:r1"];
        assert_eq!((anchored.0, anchored.2), (5, 2));
        let at_five = |log: &[Event]| log.get(4).map(|e| (e.id.clone(), e.hash.clone()));
        let found = at_five(&log);
        let found = found.as_ref().map(|(i, h)| (i.as_str(), h.as_str()));
        assert_eq!(check_head("request:r1", found, anchored), Ok(()));
        let err = check_head("request:r1", None, anchored).unwrap_err();
        assert_eq!((err.seq, err.checkpoint), (Some(5), Some(2)));
        assert!(err.reason.contains("were removed"));
        let mut rewritten = log.clone();
        rewritten[4].details = "{\"n\":2}".into();
        rewritten[4].hash = compute_hash(&rewritten[4]);
        let found = at_five(&rewritten);
        let found = found.as_ref().map(|(i, h)| (i.as_str(), h.as_str()));
        let err = check_head("request:r1", found, anchored).unwrap_err();
        assert_eq!(err.event_id.as_deref(), Some("e5"));
        assert!(err.reason.contains("rewritten"));
    }

    #[test]
    fn a_receipt_verifies_offline_and_fails_when_one_byte_changes() {
        let key = signer(1);
        let log = events(5);
        let checkpoints = two_checkpoints(&key, &log);
        let leaves: Vec<Hash> = log.iter().map(|e| leaf_of(&e.hash).unwrap()).collect();
        let proof = merkle::inclusion_proof(&leaves, 3)
            .iter()
            .map(|h| hex(h))
            .collect();
        let inclusion = Inclusion {
            log_index: 3,
            proof,
            checkpoint: checkpoints[1].clone(),
        };
        let receipt = key.receipt(log[3].clone(), UtcTime::now(), Some(inclusion));
        let keys = ring(&[&key]);
        let found = verify_receipt(&receipt, &keys).unwrap();
        assert_eq!(found.anchored_by.map(|a| a.0), Some(2));
        let unanchored = key.receipt(log[3].clone(), UtcTime::now(), None);
        assert_eq!(
            verify_receipt(&unanchored, &keys).unwrap().anchored_by,
            None
        );

        let text = serde_json::to_string(&receipt).unwrap();
        // One character changed right after each of these: the action, the
        // chain position, the signature, the place in the log, the root.
        for needle in [
            "\"action\":\"",
            "\"seq\":",
            "\"signature\":\"",
            "\"log_index\":",
            "\"root\":\"",
        ] {
            let at = text.find(needle).unwrap() + needle.len();
            let mut bytes = text.clone().into_bytes();
            bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
            let changed: Receipt = serde_json::from_slice(&bytes).expect(needle);
            assert_ne!(changed, receipt, "{needle}");
            assert!(verify_receipt(&changed, &keys).is_err(), "{needle}");
        }
        // Another key's ring does not vouch for it.
        assert!(verify_receipt(&receipt, &ring(&[&signer(2)])).is_err());
    }

    #[test]
    fn a_new_key_signs_from_the_checkpoint_that_hands_over_and_old_receipts_still_verify() {
        let (old, new) = (signer(1), signer(2));
        let log = events(3);
        let mut frontier = Frontier::default();
        frontier.push(leaf_of(&log[0].hash).unwrap());
        let first = old.checkpoint(None, &frontier, vec![], UtcTime::now(), None);
        let handover = old.checkpoint(
            Some(&first),
            &frontier,
            vec![],
            UtcTime::now(),
            Some(new.key_id().to_owned()),
        );
        frontier.push(leaf_of(&log[1].hash).unwrap());
        let next = new.checkpoint(Some(&handover), &frontier, vec![], UtcTime::now(), None);
        let mut keys = ring(&[&old, &new]);
        keys.keys[0].status = KeyStatus::Retired;
        let run = vec![first.clone(), handover.clone(), next.clone()];
        assert_eq!(check_sequence(&run, &keys), Ok(()));
        // The new key cannot take over without the handover.
        let sneaked = new.checkpoint(Some(&first), &frontier, vec![], UtcTime::now(), None);
        let err = check_sequence(&[first.clone(), sneaked], &keys).unwrap_err();
        assert!(err.reason.contains("hands over to key"), "{}", err.reason);
        // Nor may the old one sign after handing over.
        let late = old.checkpoint(Some(&handover), &frontier, vec![], UtcTime::now(), None);
        assert!(check_sequence(&[first, handover, late], &keys).is_err());
        // A receipt the old key signed still verifies with the retired key.
        let receipt = old.receipt(log[0].clone(), UtcTime::now(), None);
        assert!(verify_receipt(&receipt, &keys).is_ok());
    }
}
