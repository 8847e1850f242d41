//! EdDSA access tokens and opaque refresh tokens.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ISSUER: &str = "mlat";
pub const AUDIENCE: &str = "mlat-api";
pub const ACCESS_TTL: TimeDelta = TimeDelta::minutes(15);
/// A working day: after it the person signs in again.
pub const REFRESH_TTL: TimeDelta = TimeDelta::hours(12);

/// Every registered claim is required: a token missing one does not decode.
/// `role`, `org`, `org_kind` and `jur` say what the holder was when the token
/// was issued, so that a handler can refuse on them before it reads anything;
/// every request still checks them against the account (`Caller::confirm`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    /// The session (refresh-token family) the token was issued in: it is
    /// refused as soon as that session ends.
    pub sid: String,
    pub role: String,
    pub org: Option<String>,
    pub org_kind: Option<String>,
    pub jur: Option<String>,
}

/// Who a token is issued to: the account and what the access rules need of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub user_id: String,
    pub role: String,
    pub organisation_id: Option<String>,
    pub organisation_kind: Option<String>,
    pub jurisdiction: Option<String>,
}

impl Holder {
    /// What an access token for this account says of it.
    pub fn of(account: &crate::repo::users::UserWithOrganisation) -> Holder {
        Holder {
            user_id: account.user.id.clone(),
            role: account.user.role.as_str().to_owned(),
            organisation_id: account.user.organisation_id.clone(),
            organisation_kind: account.organisation_kind.map(|k| k.as_str().to_owned()),
            jurisdiction: account.jurisdiction.clone(),
        }
    }
}

impl Claims {
    pub fn holder(&self) -> Holder {
        Holder {
            user_id: self.sub.clone(),
            role: self.role.clone(),
            organisation_id: self.org.clone(),
            organisation_kind: self.org_kind.clone(),
            jurisdiction: self.jur.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the token signing key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write a new token signing key to {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("the token signing key {path} is not an Ed25519 private key in PKCS#8 PEM: {message}")]
    Invalid { path: String, message: String },
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    /// Reads the key at `path`; when `generate` is set and the file does not exist,
    /// writes a new key there first (readable by the owner only).
    pub fn load(path: &Path, generate: bool) -> Result<Self, KeyError> {
        let shown = path.display().to_string();
        if generate && !path.exists() {
            write_new_key(path)?;
        }
        let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::from_pem(&pem).map_err(|message| KeyError::Invalid {
            path: shown,
            message,
        })
    }

    pub fn from_pem(private_pem: &str) -> Result<Self, String> {
        let signing = SigningKey::from_pkcs8_pem(private_pem).map_err(|e| e.to_string())?;
        let public_pem = signing
            .verifying_key()
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|e| e.to_string())?;
        let encoding =
            EncodingKey::from_ed_pem(private_pem.as_bytes()).map_err(|e| e.to_string())?;
        let decoding =
            DecodingKey::from_ed_pem(public_pem.as_bytes()).map_err(|e| e.to_string())?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["iss", "aud", "sub", "exp", "nbf"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Ok(Self {
            encoding,
            decoding,
            validation,
        })
    }

    /// A new access token for `holder` in the session `sid`, valid from `now`
    /// for `ACCESS_TTL`.
    pub fn issue(&self, holder: &Holder, sid: &str, now: DateTime<Utc>) -> Result<String, String> {
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: holder.user_id.clone(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + ACCESS_TTL).timestamp(),
            jti: uuid::Uuid::now_v7().to_string(),
            sid: sid.to_owned(),
            role: holder.role.clone(),
            org: holder.organisation_id.clone(),
            org_kind: holder.organisation_kind.clone(),
            jur: holder.jurisdiction.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.encoding)
            .map_err(|e| e.to_string())
    }

    pub fn decode(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims)
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

fn write_new_key(path: &Path) -> Result<(), KeyError> {
    write_new_ed25519_key(path).map_err(|source| KeyError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// Writes a new Ed25519 private key in PKCS#8 PEM to `path`, readable by the
/// owner only, unless a key is there already: another instance sharing the
/// data directory wrote it first, and theirs is used.
pub fn write_new_ed25519_key(path: &Path) -> std::io::Result<()> {
    let seed = random_bytes::<32>().map_err(std::io::Error::other)?;
    let pem = SigningKey::from_bytes(&seed)
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => file
            .write_all(pem.as_bytes())
            .and_then(|()| file.sync_all()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A new opaque secret of 256 random bits (a refresh token, a portal session's
/// id, a form's CSRF token); where it is stored, only its hash is.
pub fn new_secret() -> Result<String, String> {
    let bytes = random_bytes::<32>()?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a secret in hex: it has 256 random bits, so a fast hash suffices
/// to make a stolen table useless.
pub fn hash_secret(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(user_id: &str) -> Holder {
        Holder {
            user_id: user_id.into(),
            role: "liaison_officer".into(),
            organisation_id: Some("org-1".into()),
            organisation_kind: Some("agency".into()),
            jurisdiction: Some("GB".into()),
        }
    }

    fn keys() -> TokenKeys {
        let seed = [7u8; 32];
        let pem = SigningKey::from_bytes(&seed)
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        TokenKeys::from_pem(&pem).unwrap()
    }

    #[test]
    fn issued_tokens_decode_with_every_claim() {
        let keys = keys();
        let token = keys
            .issue(&holder("user-1"), "session-1", Utc::now())
            .unwrap();
        let claims = keys.decode(&token).unwrap();
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.holder(), holder("user-1"));
        assert_eq!(claims.iss, ISSUER);
        assert_eq!(claims.aud, AUDIENCE);
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn expired_and_not_yet_valid_tokens_are_refused() {
        let keys = keys();
        let old = keys
            .issue(
                &holder("u"),
                "session-1",
                Utc::now() - TimeDelta::minutes(16),
            )
            .unwrap();
        assert!(keys.decode(&old).is_err());
        let future = keys
            .issue(
                &holder("u"),
                "session-1",
                Utc::now() + TimeDelta::minutes(5),
            )
            .unwrap();
        assert!(keys.decode(&future).is_err());
    }

    #[test]
    fn a_token_missing_a_claim_or_signed_by_another_key_is_refused() {
        let keys = keys();
        #[derive(Serialize)]
        struct NoJti {
            iss: &'static str,
            aud: &'static str,
            sub: &'static str,
            exp: i64,
            nbf: i64,
            iat: i64,
        }
        let now = Utc::now().timestamp();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::EdDSA),
            &NoJti {
                iss: ISSUER,
                aud: AUDIENCE,
                sub: "u",
                exp: now + 60,
                nbf: now,
                iat: now,
            },
            &keys.encoding,
        )
        .unwrap();
        assert!(keys.decode(&token).is_err());

        let other_pem = SigningKey::from_bytes(&[9u8; 32])
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        let other = TokenKeys::from_pem(&other_pem).unwrap();
        let forged = other.issue(&holder("u"), "session-1", Utc::now()).unwrap();
        assert!(keys.decode(&forged).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_secret(&a).len(), 64);
        assert_eq!(hash_secret(&a), hash_secret(&a));
    }

    #[test]
    fn a_generated_key_is_written_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("mlat-key-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jwt.pem");
        let first = TokenKeys::load(&path, true).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        let second = TokenKeys::load(&path, true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
        let token = first.issue(&holder("u"), "session-1", Utc::now()).unwrap();
        assert!(second.decode(&token).is_ok());
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            TokenKeys::load(&path, true),
            Err(KeyError::Invalid { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
