//! The evidence store: files named by the SHA-256 of their plaintext under
//! `<data dir>/evidence/ab/cd/<sha256>`, sealed at rest (`crate::sealed`),
//! written through a temporary file that disappears unless the upload
//! completes. Files stored in the clear by an older version are still read,
//! and `mlat evidence encrypt` seals them.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::domain::evidence::hex;
use crate::sealed::{MasterKey, SealReader, SealWriter};

#[derive(Debug, Clone)]
pub struct EvidenceStore {
    root: PathBuf,
    key: MasterKey,
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

/// How much a received file may hold in the page cache before the kernel is
/// asked to start writing it out.
const WRITE_BEHIND: u64 = 64 << 20;

/// A file being written that starts the kernel's writeback of every
/// `WRITE_BEHIND` bytes as soon as they are written, so that the disk works
/// while the body is still arriving and the `fsync` before the answer has
/// little left to do. Without it nothing is written out until the end (the
/// kernel waits for a tenth of memory to be dirty), and a 2 GiB upload spends
/// as long in its final `fsync` as in receiving. It also keeps sealed
/// evidence out of the page cache once it is on disk.
struct WriteBehind {
    file: File,
    written: u64,
    advised: u64,
}

impl WriteBehind {
    fn new(file: File) -> Self {
        WriteBehind {
            file,
            written: 0,
            advised: 0,
        }
    }

    fn into_file(self) -> File {
        self.file
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.advised >= WRITE_BEHIND {
            // Advice only: DONTNEED starts writeback of the dirty pages in the
            // range without waiting for it, and drops the pages already clean.
            // A kernel that ignores it costs only the final fsync's time.
            let _ = rustix::fs::fadvise(
                &self.file,
                self.advised,
                std::num::NonZeroU64::new(self.written - self.advised),
                rustix::fs::Advice::DontNeed,
            );
            self.advised = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// A stored file opened for reading its plaintext, piece by piece.
pub enum Plain {
    Sealed(SealReader),
    /// Stored in the clear by a version before sealing.
    Clear(File),
}

impl Plain {
    /// The next piece of plaintext, `None` at the end; an altered sealed file
    /// fails with `InvalidData`.
    pub fn next_piece(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        match self {
            Plain::Sealed(reader) => reader.next_segment(),
            Plain::Clear(file) => {
                let mut buffer = vec![0u8; crate::sealed::SEGMENT];
                let n = std::io::Read::read(file, &mut buffer)?;
                buffer.truncate(n);
                Ok((n > 0).then_some(buffer))
            }
        }
    }
}

/// What re-reading a stored file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reread {
    Missing,
    /// Its plaintext, hashed, and whether it is sealed.
    Read {
        sha256: String,
        size: u64,
        sealed: bool,
    },
    /// A sealed file that does not authenticate.
    Altered(String),
}

impl EvidenceStore {
    pub fn new(data_dir: &Path, key: MasterKey) -> std::io::Result<Self> {
        let root = data_dir.join("evidence");
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(EvidenceStore { root, key })
    }

    pub fn path_for(&self, sha256: &str) -> PathBuf {
        self.root
            .join(&sha256[0..2])
            .join(&sha256[2..4])
            .join(sha256)
    }

    fn temporary(&self) -> PathBuf {
        self.root.join("tmp").join(uuid::Uuid::now_v7().to_string())
    }

    /// Streams a body to a sealed temporary file, hashing the plaintext as it
    /// goes; never more than a few chunks in memory. Refuses past `limit`
    /// bytes. Sealing and writing run on a blocking thread, fed through a
    /// short queue, so that they never block an async worker and the hashing
    /// and the sealing use two cores at once.
    pub async fn receive<S, B, E>(&self, mut body: S, limit: u64) -> Result<Incoming, ReceiveError>
    where
        S: futures_util::Stream<Item = Result<B, E>> + Unpin,
        B: AsRef<[u8]> + Send + 'static,
        E: std::fmt::Display,
    {
        let path = self.temporary();
        let file = File::create(&path)?;
        let mut incoming = Incoming {
            path,
            sha256: String::new(),
            size: 0,
        };
        let (chunks, mut queue) = tokio::sync::mpsc::channel::<B>(8);
        let key = self.key.clone();
        let sealing = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let out = std::io::BufWriter::new(WriteBehind::new(file));
            let mut writer = SealWriter::new(&key, out)?;
            while let Some(chunk) = queue.blocking_recv() {
                writer.write(chunk.as_ref())?;
            }
            let out = writer.finish()?.into_inner().map_err(|e| e.into_error())?;
            out.into_file().sync_all()
        });
        let mut hasher = Sha256::new();
        let received = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| ReceiveError::Interrupted(e.to_string()))?;
                incoming.size += chunk.as_ref().len() as u64;
                if incoming.size > limit {
                    return Err(ReceiveError::TooLarge(limit));
                }
                hasher.update(chunk.as_ref());
                if chunks.send(chunk).await.is_err() {
                    // The sealing side stopped: its error says why.
                    break;
                }
            }
            Ok(())
        }
        .await;
        drop(chunks);
        let sealed = sealing
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        received?;
        sealed?;
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

    fn seal_to_temporary(&self, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.temporary();
        let mut writer = SealWriter::new(&self.key, File::create(&path)?)?;
        writer.write(bytes)?;
        writer.finish()?.sync_all()?;
        Ok(path)
    }

    /// Stores bytes already in memory (the demo's files), as an upload would.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<(String, u64)> {
        let sha256 = hex(&Sha256::digest(bytes));
        let incoming = Incoming {
            path: self.seal_to_temporary(bytes)?,
            sha256: sha256.clone(),
            size: bytes.len() as u64,
        };
        self.keep(incoming)?;
        Ok((sha256, bytes.len() as u64))
    }

    /// Opens a stored file for its plaintext: `NotFound` if it is missing,
    /// `InvalidData` if a sealed header does not open.
    pub fn open(&self, sha256: &str) -> std::io::Result<Plain> {
        let path = self.path_for(sha256);
        let file = File::open(&path)?;
        if crate::sealed::is_sealed(&path)? {
            Ok(Plain::Sealed(SealReader::open(&self.key, file)?))
        } else {
            Ok(Plain::Clear(file))
        }
    }

    /// Re-reads a stored file and hashes its plaintext.
    pub fn reread(&self, sha256: &str) -> std::io::Result<Reread> {
        let mut plain = match self.open(sha256) {
            Ok(plain) => plain,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Reread::Missing),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Ok(Reread::Altered(e.to_string()));
            }
            Err(e) => return Err(e),
        };
        let sealed = matches!(plain, Plain::Sealed(_));
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        loop {
            match plain.next_piece() {
                Ok(Some(piece)) => {
                    hasher.update(&piece);
                    size += piece.len() as u64;
                }
                Ok(None) => break,
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Ok(Reread::Altered(e.to_string()));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Reread::Read {
            sha256: hex(&hasher.finalize()),
            size,
            sealed,
        })
    }

    /// Seals every file an older version stored in the clear, each only if its
    /// plaintext still hashes to its name; returns how many were sealed and the
    /// names of those left alone because they do not.
    pub fn seal_all_in_the_clear(&self) -> std::io::Result<(usize, Vec<String>)> {
        let mut sealed = 0;
        let mut refused = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    if path.file_name().is_some_and(|n| n != "tmp") {
                        stack.push(path);
                    }
                    continue;
                }
                if crate::sealed::is_sealed(&path)? {
                    continue;
                }
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_owned();
                let bytes = std::fs::read(&path)?;
                if hex(&Sha256::digest(&bytes)) != name {
                    refused.push(name);
                    continue;
                }
                let temporary = self.seal_to_temporary(&bytes)?;
                std::fs::rename(&temporary, &path)?;
                sealed += 1;
            }
        }
        Ok((sealed, refused))
    }

    /// Wraps every sealed file's data key with `new` instead of this store's
    /// key (master-key rotation); the segments are not touched.
    pub fn rewrap_all(&self, new: &MasterKey) -> std::io::Result<usize> {
        use std::io::{Read, Seek};
        let mut done = 0;
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if !crate::sealed::is_sealed(&path)? {
                    continue;
                }
                let mut file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)?;
                let mut header = [0u8; crate::sealed::HEADER];
                file.read_exact(&mut header)?;
                let rewrapped = self.key.rewrap(&header, new)?;
                file.seek(std::io::SeekFrom::Start(0))?;
                file.write_all(&rewrapped)?;
                file.sync_all()?;
                done += 1;
            }
        }
        Ok(done)
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
        let store = EvidenceStore::new(dir.path(), MasterKey::from_bytes([3; 32])).unwrap();
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
        // Sealed at rest: the plaintext is not on disk.
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(&on_disk[..8], crate::sealed::MAGIC);
        assert!(!on_disk.windows(11).any(|w| w == b"hello world"));
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
                .reread("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
                .unwrap(),
            Reread::Read {
                sha256: "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9".into(),
                size: 11,
                sealed: true,
            }
        );
    }

    #[test]
    fn files_in_the_clear_are_read_then_sealed_and_a_rotation_rewraps_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::new(dir.path(), MasterKey::from_bytes([3; 32])).unwrap();
        // What an older version left: the plaintext under its hash.
        let plain = b"subscriber record".repeat(10_000);
        let sha = hex(&Sha256::digest(&plain));
        let path = store.path_for(&sha);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &plain).unwrap();
        assert!(matches!(
            store.reread(&sha).unwrap(),
            Reread::Read { sealed: false, .. }
        ));
        // A clear file whose bytes no longer match its name is left for an auditor.
        let wrong = store.path_for(&"ab".repeat(32));
        std::fs::create_dir_all(wrong.parent().unwrap()).unwrap();
        std::fs::write(&wrong, b"not what the name says").unwrap();
        let (sealed, refused) = store.seal_all_in_the_clear().unwrap();
        assert_eq!((sealed, refused), (1, vec!["ab".repeat(32)]));
        let on_disk = std::fs::read(&path).unwrap();
        assert!(!on_disk.windows(17).any(|w| w == b"subscriber record"));
        assert_eq!(
            store.reread(&sha).unwrap(),
            Reread::Read {
                sha256: sha.clone(),
                size: plain.len() as u64,
                sealed: true
            }
        );
        // Rotation: rewrapped under a new master key, the old one opens nothing.
        let new_key = MasterKey::from_bytes([4; 32]);
        assert_eq!(store.rewrap_all(&new_key).unwrap(), 1);
        let rotated = EvidenceStore::new(dir.path(), new_key).unwrap();
        assert!(matches!(
            rotated.reread(&sha).unwrap(),
            Reread::Read { sealed: true, .. }
        ));
        assert!(matches!(store.reread(&sha).unwrap(), Reread::Altered(_)));
    }
}
