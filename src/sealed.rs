//! Evidence at rest: each file is sealed with its own random data key, in the
//! STREAM construction of RustCrypto's `aead` crate over XChaCha20-Poly1305
//! (segments of 64 KiB, each authenticated, their order and the last one
//! bound by the construction). The data key is wrapped with the deployment's
//! master key, so rotating the master key rewrites only the headers.
//!
//! Layout of a sealed file:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | `MLATEV01` |
//! | 24 | nonce of the wrapped key |
//! | 48 | the data key wrapped with the master key (XChaCha20-Poly1305, the magic as associated data) |
//! | 19 | the STREAM nonce prefix |
//! | … | segments: every one but the last is 64 KiB + 16; the last, 16 to 64 KiB + 16 |
//!
//! Nothing here is a cipher of its own: the construction, the AEAD and the
//! randomness come from well-kept crates.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use base64::Engine;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

pub const MAGIC: &[u8; 8] = b"MLATEV01";
const WRAP_NONCE: usize = 24;
const WRAPPED_KEY: usize = 32 + 16;
const STREAM_NONCE: usize = 19;
pub const HEADER: usize = MAGIC.len() + WRAP_NONCE + WRAPPED_KEY + STREAM_NONCE;
/// Plaintext bytes per segment.
pub const SEGMENT: usize = 64 * 1024;
const TAG: usize = 16;

/// The deployment's key-encryption key: 32 bytes, kept in a file beside (or,
/// better, apart from) the data.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("the key file {0} cannot be read: {1}")]
    Read(String, io::Error),
    #[error("the key file {0} must hold 32 bytes in base64 on one line")]
    Format(String),
    #[error("cannot write a new key to {0}: {1}")]
    Write(String, io::Error),
    #[error("no randomness for a new key: {0}")]
    Random(String),
}

fn random<const N: usize>() -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(bytes)
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MasterKey(bytes)
    }

    /// Whether two keys are one (a rotation to the key in use is refused).
    pub fn same_as(&self, other: &MasterKey) -> bool {
        self.0 == other.0
    }

    /// Reads the key; with `create`, writes a new random one (mode 0600) when
    /// the file does not exist.
    pub fn load(path: &Path, create: bool) -> Result<Self, KeyFileError> {
        let shown = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|_| KeyFileError::Format(shown.clone()))?;
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| KeyFileError::Format(shown.clone()))?;
                Ok(MasterKey(key))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                let key = random::<32>().map_err(|e| KeyFileError::Random(e.to_string()))?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let text = base64::engine::general_purpose::STANDARD.encode(key) + "\n";
                match options.open(path) {
                    Ok(mut file) => file
                        .write_all(text.as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(|e| KeyFileError::Write(shown.clone(), e))?,
                    // Another instance wrote it first: use theirs.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        return Self::load(path, false);
                    }
                    Err(e) => return Err(KeyFileError::Write(shown, e)),
                }
                Ok(MasterKey(key))
            }
            Err(e) => Err(KeyFileError::Read(shown, e)),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&self.0))
    }

    /// A header wrapping `data_key` with this key, beside the file's STREAM
    /// nonce.
    fn header_for(
        &self,
        data_key: &[u8; 32],
        stream_nonce: &[u8; STREAM_NONCE],
    ) -> io::Result<[u8; HEADER]> {
        let wrap_nonce = random::<WRAP_NONCE>()?;
        let wrapped = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&wrap_nonce),
                Payload {
                    msg: data_key,
                    aad: MAGIC,
                },
            )
            .map_err(|_| io::Error::other("cannot wrap a data key"))?;
        let mut header = [0u8; HEADER];
        let mut at = 0;
        for part in [&MAGIC[..], &wrap_nonce, &wrapped, stream_nonce] {
            header[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        Ok(header)
    }

    /// A header for a new sealed file and the data key it wraps.
    fn new_header(&self) -> io::Result<([u8; HEADER], [u8; 32])> {
        let data_key = random::<32>()?;
        let header = self.header_for(&data_key, &random::<STREAM_NONCE>()?)?;
        Ok((header, data_key))
    }

    /// The data key a header wraps; fails if this is not the key it was
    /// wrapped with or the header was altered.
    fn unwrap(&self, header: &[u8; HEADER]) -> io::Result<([u8; 32], [u8; STREAM_NONCE])> {
        if &header[..MAGIC.len()] != MAGIC {
            return Err(invalid("not a sealed evidence file"));
        }
        let nonce = &header[MAGIC.len()..MAGIC.len() + WRAP_NONCE];
        let wrapped = &header[MAGIC.len() + WRAP_NONCE..MAGIC.len() + WRAP_NONCE + WRAPPED_KEY];
        let key = self
            .cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: wrapped,
                    aad: MAGIC,
                },
            )
            .map_err(|_| {
                invalid(
                    "the file's key does not open with this master key, or its header was altered",
                )
            })?;
        let data_key: [u8; 32] = key
            .try_into()
            .map_err(|_| invalid("a wrapped data key of the wrong size"))?;
        let mut stream_nonce = [0u8; STREAM_NONCE];
        stream_nonce.copy_from_slice(&header[HEADER - STREAM_NONCE..]);
        Ok((data_key, stream_nonce))
    }

    /// Seals a small secret kept in the database (a second factor's): a
    /// random nonce and the ciphertext, in base64. `context` (the owner's id,
    /// say) is bound as associated data, so a sealed value copied to another
    /// row does not open there.
    pub fn seal_value(&self, context: &[u8], plain: &[u8]) -> io::Result<String> {
        let nonce = random::<WRAP_NONCE>()?;
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            .map_err(|_| io::Error::other("cannot seal a value"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    /// The value `seal_value` sealed with this key and `context`; fails if
    /// the key, the context or a byte differs.
    pub fn open_value(&self, context: &[u8], sealed: &str) -> io::Result<Vec<u8>> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| invalid("a sealed value that is not base64"))?;
        if bytes.len() < WRAP_NONCE + TAG {
            return Err(invalid("a sealed value too short to be one"));
        }
        let (nonce, sealed) = bytes.split_at(WRAP_NONCE);
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: context,
                },
            )
            .map_err(|_| invalid("the value does not open with this key, or was altered"))
    }

    /// The same header with its data key wrapped by `new` instead (rotation):
    /// the segments do not change.
    pub fn rewrap(&self, header: &[u8; HEADER], new: &MasterKey) -> io::Result<[u8; HEADER]> {
        let (data_key, stream_nonce) = self.unwrap(header)?;
        new.header_for(&data_key, &stream_nonce)
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// Writes a sealed file from plaintext given in pieces of any size.
pub struct SealWriter<W: Write> {
    out: W,
    stream: Option<EncryptorBE32<XChaCha20Poly1305>>,
    buffer: Vec<u8>,
}

impl<W: Write> SealWriter<W> {
    pub fn new(key: &MasterKey, mut out: W) -> io::Result<Self> {
        let (header, data_key) = key.new_header()?;
        out.write_all(&header)?;
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&data_key));
        let stream = EncryptorBE32::from_aead(cipher, header[HEADER - STREAM_NONCE..].into());
        Ok(SealWriter {
            out,
            stream: Some(stream),
            buffer: Vec::with_capacity(SEGMENT + TAG + 1),
        })
    }

    pub fn write(&mut self, mut plain: &[u8]) -> io::Result<()> {
        while !plain.is_empty() {
            // A full segment goes out only once more follows: the last one,
            // whatever its size, is sealed as the last.
            let room = SEGMENT + 1 - self.buffer.len().min(SEGMENT + 1);
            let take = room.min(plain.len());
            self.buffer.extend_from_slice(&plain[..take]);
            plain = &plain[take..];
            if self.buffer.len() > SEGMENT {
                // Sealed in place, the tag appended, in the one buffer this
                // writer keeps: no allocation or copy per segment.
                let next = self.buffer[SEGMENT];
                self.buffer.truncate(SEGMENT);
                let stream = self.stream.as_mut().expect("not finished");
                stream
                    .encrypt_next_in_place(&[], &mut self.buffer)
                    .map_err(|_| io::Error::other("cannot seal a segment"))?;
                self.out.write_all(&self.buffer)?;
                self.buffer.clear();
                self.buffer.push(next);
            }
        }
        Ok(())
    }

    /// Seals what is left as the last segment; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let stream = self.stream.take().expect("finished once");
        stream
            .encrypt_last_in_place(&[], &mut self.buffer)
            .map_err(|_| io::Error::other("cannot seal the last segment"))?;
        self.out.write_all(&self.buffer)?;
        Ok(self.out)
    }
}

/// Reads a sealed file back as plaintext segments; any altered byte fails
/// the segment it is in (`InvalidData`), and a file cut short fails at its end.
pub struct SealReader {
    file: File,
    stream: Option<DecryptorBE32<XChaCha20Poly1305>>,
    /// Segments left to read, the last included.
    left: u64,
}

impl SealReader {
    pub fn open(key: &MasterKey, mut file: File) -> io::Result<Self> {
        let length = file.metadata()?.len();
        let mut header = [0u8; HEADER];
        file.read_exact(&mut header)
            .map_err(|_| invalid("the sealed file is shorter than its header"))?;
        let (data_key, stream_nonce) = key.unwrap(&header)?;
        let sealed = length - HEADER as u64;
        let full = (SEGMENT + TAG) as u64;
        let left = sealed.div_ceil(full).max(1);
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&data_key));
        Ok(SealReader {
            file,
            stream: Some(DecryptorBE32::from_aead(cipher, (&stream_nonce).into())),
            left,
        })
    }

    /// The next plaintext segment, `None` after the last.
    pub fn next_segment(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut sealed = Vec::with_capacity(SEGMENT + TAG);
        (&mut self.file)
            .take((SEGMENT + TAG) as u64)
            .read_to_end(&mut sealed)?;
        self.left -= 1;
        let failed =
            || invalid("a segment of the sealed file does not authenticate: it was altered");
        // Opened in place: the segment's buffer becomes its plaintext.
        let opened = if self.left == 0 {
            let stream = self.stream.take().ok_or_else(failed)?;
            stream.decrypt_last_in_place(&[], &mut sealed)
        } else {
            let stream = self.stream.as_mut().ok_or_else(failed)?;
            stream.decrypt_next_in_place(&[], &mut sealed)
        };
        opened.map_err(|_| failed())?;
        Ok(Some(sealed))
    }
}

/// Whether a stored file is sealed (or, from an older version, in the clear).
pub fn is_sealed(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; MAGIC.len()];
    let mut file = File::open(path)?;
    match file.read_exact(&mut magic) {
        Ok(()) => Ok(&magic == MAGIC),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(key: &MasterKey, plain: &[u8], pieces: usize) -> Vec<u8> {
        let mut writer = SealWriter::new(key, Vec::new()).unwrap();
        for chunk in plain.chunks(pieces.max(1)) {
            writer.write(chunk).unwrap();
        }
        writer.finish().unwrap()
    }

    fn open(key: &MasterKey, sealed: &[u8]) -> io::Result<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, sealed).unwrap();
        let mut reader = SealReader::open(key, File::open(&path).unwrap())?;
        let mut out = Vec::new();
        while let Some(segment) = reader.next_segment()? {
            out.extend_from_slice(&segment);
        }
        Ok(out)
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let key = MasterKey::from_bytes([3; 32]);
        let sealed = key.seal_value(b"user-1", b"secret bytes").unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(key.open_value(b"user-1", &sealed).unwrap(), b"secret bytes");
        assert!(key.open_value(b"user-2", &sealed).is_err());
        assert!(
            MasterKey::from_bytes([4; 32])
                .open_value(b"user-1", &sealed)
                .is_err()
        );
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(&sealed)
            .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(key.open_value(b"user-1", &altered).is_err());
        assert_ne!(sealed, key.seal_value(b"user-1", b"secret bytes").unwrap());
    }

    #[test]
    fn sealed_files_open_to_their_plaintext_at_every_size() {
        let key = MasterKey::from_bytes([7; 32]);
        for size in [
            0,
            1,
            SEGMENT - 1,
            SEGMENT,
            SEGMENT + 1,
            2 * SEGMENT,
            3 * SEGMENT + 17,
        ] {
            let plain: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            for pieces in [1000, SEGMENT, 3 * SEGMENT] {
                let sealed = seal(&key, &plain, pieces);
                assert_eq!(&sealed[..8], MAGIC);
                assert_eq!(open(&key, &sealed).unwrap(), plain, "{size} in {pieces}");
            }
        }
    }

    #[test]
    fn the_ciphertext_does_not_show_the_plaintext_and_any_change_is_caught() {
        let key = MasterKey::from_bytes([7; 32]);
        let plain = b"account sunny_day_2011 logged in from 198.51.100.23 ".repeat(5000);
        let sealed = seal(&key, &plain, 4096);
        assert!(!sealed.windows(20).any(|w| w == &plain[..20]));
        // A flipped byte in the header, the first, a middle and the last segment.
        for at in [10, HEADER + 3, sealed.len() / 2, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[at] ^= 1;
            assert_eq!(
                open(&key, &altered).unwrap_err().kind(),
                io::ErrorKind::InvalidData,
                "byte {at}"
            );
        }
        // Cut short by a whole segment, or lengthened: caught too.
        let cut = &sealed[..sealed.len() - (SEGMENT + TAG)];
        assert!(open(&key, cut).is_err());
        let mut longer = sealed.clone();
        longer.extend_from_slice(&[0; 40]);
        assert!(open(&key, &longer).is_err());
        // Another master key does not open it.
        assert!(open(&MasterKey::from_bytes([8; 32]), &sealed).is_err());
    }

    #[test]
    fn a_rewrapped_header_opens_with_the_new_key_only() {
        let (old, new) = (
            MasterKey::from_bytes([1; 32]),
            MasterKey::from_bytes([2; 32]),
        );
        let plain = vec![42u8; SEGMENT + 5];
        let mut sealed = seal(&old, &plain, 1000);
        let header: [u8; HEADER] = sealed[..HEADER].try_into().unwrap();
        sealed[..HEADER].copy_from_slice(&old.rewrap(&header, &new).unwrap());
        assert_eq!(open(&new, &sealed).unwrap(), plain);
        assert!(open(&old, &sealed).is_err());
    }

    #[test]
    fn a_key_file_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evidence.key");
        let made = MasterKey::load(&path, true).unwrap();
        let again = MasterKey::load(&path, true).unwrap();
        assert_eq!(made.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(
            MasterKey::load(&path, false),
            Err(KeyFileError::Format(_))
        ));
        assert!(matches!(
            MasterKey::load(&dir.path().join("none"), false),
            Err(KeyFileError::Read(..))
        ));
    }
}
