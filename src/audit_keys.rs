//! The audit key and the ring of its public keys, kept in files beside the
//! other keys and never in the database: whoever controls only the database
//! cannot sign a checkpoint, nor slip a key of their own into the ring.
//!
//! `MLAT_AUDIT_KEY_FILE` (default `<data dir>/audit-ed25519.pem`) holds the
//! Ed25519 private key, generated once like the token key. The ring
//! (`MLAT_AUDIT_KEYRING_FILE`, default `<data dir>/audit-keys.json`) holds
//! every public key that ever signed, the current one and those retired, in
//! the document `GET /api/v1/audit/keys` serves.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;

use crate::domain::anchor::{AuditSigner, KeyRing, KeyStatus, PublishedKey};
use crate::time::UtcTime;

#[derive(Debug, thiserror::Error)]
pub enum AuditKeyError {
    #[error("cannot read the audit key {path}: {message}")]
    Read { path: String, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
}

/// The signing key and the public keys a verifier trusts.
#[derive(Debug)]
pub struct AuditKeys {
    pub signer: AuditSigner,
    pub ring: KeyRing,
}

fn read_error(path: &Path, message: impl ToString) -> AuditKeyError {
    AuditKeyError::Read {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

fn write_error(path: &Path, message: impl ToString) -> AuditKeyError {
    AuditKeyError::Write {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Reads a private key file.
pub fn read_signer(path: &Path) -> Result<AuditSigner, AuditKeyError> {
    let pem = std::fs::read_to_string(path).map_err(|e| read_error(path, e))?;
    let key = SigningKey::from_pkcs8_pem(&pem)
        .map_err(|e| read_error(path, format!("not an Ed25519 key in PKCS#8 PEM: {e}")))?;
    Ok(AuditSigner::new(key))
}

/// Reads a ring file; none yet is an empty ring.
pub fn read_ring(path: &Path) -> Result<KeyRing, AuditKeyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| read_error(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeyRing::default()),
        Err(e) => Err(read_error(path, e)),
    }
}

/// Replaces the ring file whole (a temporary file renamed over it), so a
/// crash leaves the old ring or the new one.
pub fn write_ring(path: &Path, ring: &KeyRing) -> Result<(), AuditKeyError> {
    let text = serde_json::to_string_pretty(ring).map_err(|e| write_error(path, e))?;
    let temporary = path.with_extension("json.new");
    std::fs::write(&temporary, text + "\n").map_err(|e| write_error(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| write_error(path, e))
}

/// Loads the key (writing a new one first when `generate` and there is none)
/// and the ring, adding the key to the ring as current when it is not there.
pub fn load(key_path: &Path, ring_path: &Path, generate: bool) -> Result<AuditKeys, AuditKeyError> {
    if generate && !key_path.exists() {
        crate::auth::tokens::write_new_ed25519_key(key_path)
            .map_err(|e| write_error(key_path, e))?;
    }
    let signer = read_signer(key_path)?;
    let mut ring = read_ring(ring_path)?;
    if !ring.keys.iter().any(|k| k.key_id == signer.key_id()) {
        ring.keys
            .push(PublishedKey::of(&signer.public(), KeyStatus::Current));
        write_ring(ring_path, &ring)?;
    }
    Ok(AuditKeys { signer, ring })
}

/// The ring once `old` is retired and `new` current.
pub fn ring_after_rotation(ring: &KeyRing, old: &str, new: &AuditSigner, at: UtcTime) -> KeyRing {
    let mut keys: Vec<PublishedKey> = ring
        .keys
        .iter()
        .cloned()
        .map(|mut k| {
            if k.key_id == old || k.status == KeyStatus::Current {
                k.status = KeyStatus::Retired;
                k.retired_at.get_or_insert(at);
            }
            k
        })
        .collect();
    keys.push(PublishedKey::of(&new.public(), KeyStatus::Current));
    KeyRing { keys }
}

/// Where the key and the ring live for these settings.
pub fn paths(settings: &crate::config::Settings) -> (PathBuf, PathBuf, bool) {
    let (key, generate) = match &settings.audit_key_file {
        Some(path) => (path.clone(), false),
        None => (settings.data_dir.join("audit-ed25519.pem"), true),
    };
    let ring = settings
        .audit_keyring_file
        .clone()
        .unwrap_or_else(|| settings.data_dir.join("audit-keys.json"));
    (key, ring, generate)
}
