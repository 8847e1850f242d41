//! The evidence store: files named by their SHA-256 under
//! `<data dir>/evidence/ab/cd/<sha256>`, written through a temporary file that
//! disappears unless the upload completes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::domain::evidence::hex;

#[derive(Debug, Clone)]
pub struct EvidenceStore {
    root: PathBuf,
}

/// A file being received; removed when dropped unless kept.
pub struct Incoming {
    path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

impl Drop for Incoming {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("the upload is larger than {0} bytes")]
    TooLarge(u64),
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    #[error("the evidence store failed: {0}")]
    Io(#[from] std::io::Error),
}

impl EvidenceStore {
    pub fn new(data_dir: &Path) -> std::io::Result<Self> {
        let root = data_dir.join("evidence");
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(EvidenceStore { root })
    }

    pub fn path_for(&self, sha256: &str) -> PathBuf {
        self.root
            .join(&sha256[0..2])
            .join(&sha256[2..4])
            .join(sha256)
    }

    /// Streams a body to a temporary file, hashing as it goes; never more than a
    /// chunk in memory. Refuses past `limit` bytes.
    pub async fn receive<S, E>(&self, mut body: S, limit: u64) -> Result<Incoming, ReceiveError>
    where
        S: futures_util::Stream<Item = Result<actix_web::web::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = self.root.join("tmp").join(uuid::Uuid::now_v7().to_string());
        let mut file = File::create(&path)?;
        let mut incoming = Incoming {
            path,
            sha256: String::new(),
            size: 0,
        };
        let mut hasher = Sha256::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| ReceiveError::Interrupted(e.to_string()))?;
            incoming.size += chunk.len() as u64;
            if incoming.size > limit {
                return Err(ReceiveError::TooLarge(limit));
            }
            hasher.update(&chunk);
            file.write_all(&chunk)?;
        }
        file.sync_all()?;
        incoming.sha256 = hex(&hasher.finalize());
        Ok(incoming)
    }

    /// Keeps a received file under its hash; the same bytes twice are stored once.
    pub fn keep(&self, incoming: Incoming) -> std::io::Result<PathBuf> {
        let target = self.path_for(&incoming.sha256);
        if !target.exists() {
            std::fs::create_dir_all(target.parent().expect("a hashed path has a parent"))?;
            std::fs::rename(&incoming.path, &target)?;
        }
        Ok(target)
    }

    /// Stores bytes already in memory (the demo's files), as an upload would.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<(String, u64)> {
        let sha256 = hex(&Sha256::digest(bytes));
        let incoming = Incoming {
            path: self.root.join("tmp").join(uuid::Uuid::now_v7().to_string()),
            sha256: sha256.clone(),
            size: bytes.len() as u64,
        };
        let mut file = File::create(&incoming.path)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        self.keep(incoming)?;
        Ok((sha256, bytes.len() as u64))
    }

    /// Re-hashes a stored file: `None` if it is missing.
    pub fn rehash(&self, sha256: &str) -> std::io::Result<Option<(String, u64)>> {
        let path = self.path_for(sha256);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = std::io::Read::read(&mut file, &mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            size += n as u64;
        }
        Ok(Some((hex(&hasher.finalize()), size)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::web::Bytes;

    fn body(
        chunks: Vec<&'static [u8]>,
    ) -> impl futures_util::Stream<Item = Result<Bytes, String>> + Unpin {
        futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c))))
    }

    #[actix_web::test]
    async fn stores_by_hash_once_and_refuses_oversize() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::new(dir.path()).unwrap();
        let incoming = store
            .receive(body(vec![b"hello ", b"world"]), 100)
            .await
            .unwrap();
        assert_eq!(
            incoming.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(incoming.size, 11);
        let path = store.keep(incoming).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
        let again = store
            .receive(body(vec![b"hello world"]), 100)
            .await
            .unwrap();
        assert_eq!(store.keep(again).unwrap(), path);
        let tmp = std::fs::read_dir(dir.path().join("evidence/tmp"))
            .unwrap()
            .count();
        assert_eq!(tmp, 0, "no temporary file left");
        assert!(matches!(
            store.receive(body(vec![b"0123456789", b"x"]), 10).await,
            Err(ReceiveError::TooLarge(10))
        ));
        assert_eq!(
            std::fs::read_dir(dir.path().join("evidence/tmp"))
                .unwrap()
                .count(),
            0
        );
        let broken = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"part")),
            Err("reset".to_owned()),
        ]);
        assert!(matches!(
            store.receive(broken, 100).await,
            Err(ReceiveError::Interrupted(_))
        ));
        assert_eq!(
            std::fs::read_dir(dir.path().join("evidence/tmp"))
                .unwrap()
                .count(),
            0
        );
        assert_eq!(
            store
                .rehash("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
                .unwrap(),
            Some((
                "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9".into(),
                11
            ))
        );
    }
}

/// A stored file that does not match what was recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Damage {
    pub sha256: String,
    pub problem: String,
}

/// Re-hashes every recorded file; returns how many were checked and what is
/// missing or altered.
pub fn verify_all(
    conn: &mut crate::db::DbConn,
    store: &EvidenceStore,
) -> Result<(usize, Vec<Damage>), String> {
    let files = crate::repo::evidence::all_hashes(conn).map_err(|e| e.to_string())?;
    let mut damage = Vec::new();
    for (sha256, size) in &files {
        match store.rehash(sha256).map_err(|e| e.to_string())? {
            None => damage.push(Damage {
                sha256: sha256.clone(),
                problem: "missing".into(),
            }),
            Some((actual, actual_size)) if actual != *sha256 || actual_size != *size as u64 => {
                damage.push(Damage {
                    sha256: sha256.clone(),
                    problem: format!("altered: now {actual_size} bytes hashing to {actual}"),
                })
            }
            Some(_) => {}
        }
    }
    Ok((files.len(), damage))
}
