//! The second factor's mechanics: TOTP codes (RFC 6238: HMAC-SHA-1, six
//! digits, 30-second steps, one step of clock skew either way, as every
//! authenticator app expects), the `otpauth://` URI and its QR code, and
//! recovery codes. The algorithm is totp-rs's; the randomness is the
//! operating system's.

use totp_rs::{Builder, Secret, Totp};

/// Bytes of a new secret: 160 bits, as RFC 4226 §4 recommends.
const SECRET_BYTES: usize = 20;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// What the service is called in authenticator apps.
pub const ISSUER: &str = "mlat";

/// A second factor's secret, raw. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct FactorSecret(Vec<u8>);

impl std::fmt::Debug for FactorSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FactorSecret(..)")
    }
}

impl FactorSecret {
    pub fn generate() -> Result<Self, String> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
        Ok(FactorSecret(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        FactorSecret(bytes)
    }

    /// From the base32 an app shows or `oathtool -b` takes.
    pub fn from_base32(text: &str) -> Result<Self, String> {
        Secret::try_from_base32(text.trim())
            .map_err(|e| e.to_string())
            .map(|s| s.as_ref().to_vec())
            .map(FactorSecret)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 without padding, as typed into an app by hand.
    pub fn to_base32(&self) -> String {
        Secret::from(self.0.clone()).to_base32()
    }

    fn totp(&self, account: &str) -> Totp {
        // The account name is only shown in the app; a colon would end the
        // label, so it goes.
        let account: String = account.chars().filter(|c| *c != ':').collect();
        Builder::new()
            .with_secret(self.0.clone())
            .with_issuer(Some(ISSUER))
            .with_account_name(account)
            .build_noncompliant()
    }

    /// The code an authenticator shows at `unix_seconds`.
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.totp("").generate(unix_seconds).to_string()
    }

    /// The time step `code` belongs to if it is this secret's code within a
    /// step of `unix_seconds` and later than `after` (the step last
    /// accepted): a code is never accepted twice.
    pub fn accepts(&self, code: &str, unix_seconds: u64, after: Option<u64>) -> Option<u64> {
        let code = normalise_totp(code)?;
        self.totp("")
            .check(&code, unix_seconds)
            .filter(|step| after.is_none_or(|last| *step > last))
    }

    /// What an app scans: `otpauth://totp/mlat:<account>?secret=…&issuer=mlat`.
    pub fn otpauth_uri(&self, account: &str) -> Result<String, String> {
        self.totp(account).to_url().map_err(|e| e.to_string())
    }
}

/// The time step (30 s) an instant falls in.
pub fn step_of(unix_seconds: u64) -> u64 {
    unix_seconds / 30
}

/// The six digits of a TOTP code as typed (spaces allowed, as apps show
/// `123 456`), or `None` if it is not one.
pub fn normalise_totp(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// An SVG drawing of a QR code for `text` (the otpauth URI).
pub fn qr_svg(text: &str) -> Result<String, String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Recovery codes' alphabet: no 0/O or 1/I, so that a code read off paper
/// is typed right.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// New recovery codes: four groups of four from a 32-letter alphabet (80
/// random bits each), such as `K7QF-9XWM-2HRD-PT4C`.
pub fn new_recovery_codes() -> Result<Vec<String>, String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
            let letters: Vec<char> = bytes
                .iter()
                .map(|b| ALPHABET[(*b & 31) as usize] as char)
                .collect();
            Ok(letters
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-"))
        })
        .collect()
}

/// A recovery code as typed, in the form it was hashed in: capitals, no
/// spaces or dashes; `None` if it cannot be one.
pub fn normalise_recovery_code(code: &str) -> Option<String> {
    let letters: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (letters.len() == 16 && letters.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(letters)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1, the last six digits of each eight.
    #[test]
    fn codes_are_rfc_6238s() {
        let secret = FactorSecret::from_bytes(b"12345678901234567890".to_vec());
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(secret.code_at(time), code, "at {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_within_a_step_and_never_twice() {
        let secret = FactorSecret::generate().unwrap();
        let now = 1_800_000_000;
        let code = secret.code_at(now);
        let step = secret.accepts(&code, now, None).expect("the current code");
        assert_eq!(step, step_of(now));
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(secret.accepts(&spaced, now, None), Some(step));
        assert_eq!(
            secret.accepts(&code, now + 30, None),
            Some(step),
            "late by one step"
        );
        assert_eq!(secret.accepts(&code, now + 60, None), None, "late by two");
        assert_eq!(secret.accepts(&code, now, Some(step)), None, "used already");
        let next = secret.code_at(now + 30);
        assert_eq!(secret.accepts(&next, now, Some(step)), Some(step + 1));
        assert_eq!(secret.accepts("12345", now, None), None);
        assert_eq!(secret.accepts("abcdef", now, None), None);
    }

    #[test]
    fn a_secret_round_trips_through_base32_and_the_uri_names_it() {
        let secret = FactorSecret::generate().unwrap();
        let text = secret.to_base32();
        assert_eq!(
            FactorSecret::from_base32(&text).unwrap().as_bytes(),
            secret.as_bytes()
        );
        let uri = secret.otpauth_uri("officer@gardai.example").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/mlat:officer%40gardai.example?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={text}")), "{uri}");
        assert!(uri.contains("issuer=mlat"), "{uri}");
        assert!(format!("{secret:?}").find(&text).is_none());
        assert!(qr_svg(&uri).unwrap().starts_with("<?xml"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_back_as_typed() {
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            let typed = code.to_lowercase().replace('-', " ");
            assert_eq!(
                normalise_recovery_code(&typed).unwrap(),
                code.replace('-', "")
            );
            assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
        }
        assert_eq!(normalise_recovery_code("123456"), None);
    }
}
