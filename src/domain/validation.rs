//! Parsing user input into values that cannot be invalid, collecting every
//! problem with the field it belongs to.

use std::str::FromStr;

use serde::Serialize;

/// One problem with one field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Collects field errors so that a client learns everything wrong at once.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Keeps the parsed value, or records why it failed under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }

    /// The parsed values when every field passed; otherwise every problem found.
    /// `values` is `None` exactly when some `check` failed, so the fallback error
    /// only guards against a parser that forgot to record why.
    pub fn finish<T>(self, values: Option<T>) -> Result<T, Vec<FieldError>> {
        match values {
            Some(values) if self.0.is_empty() => Ok(values),
            _ if !self.0.is_empty() => Err(self.0),
            _ => Err(vec![FieldError {
                field: "body".into(),
                message: "is not valid".into(),
            }]),
        }
    }
}

/// An e-mail address, trimmed and lower-cased so that one person has one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, String> {
        let normalised = text.trim().to_lowercase();
        if normalised.len() > 254 {
            return Err("must be at most 254 characters".into());
        }
        lettre::Address::from_str(&normalised)
            .map(|_| Self(normalised))
            .map_err(|_| format!("`{}` is not an e-mail address", text.trim()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A display name or title: trimmed, not empty, bounded, no control characters.
pub fn text_field(text: &str, max_chars: usize) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if trimmed.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if let Some(c) = trimmed.chars().find(|c| invisible(*c)) {
        return Err(format!(
            "must not contain invisible or direction-changing characters (U+{:04X}): \
             two references that look the same must be the same",
            u32::from(c)
        ));
    }
    Ok(trimmed.to_owned())
}

/// Zero-width characters, direction overrides and isolates, the byte-order
/// mark: they make two texts look alike that are not (`OCPU-2026-0117` and
/// `OCPU-2026-0117\u{200b}`), or reorder what a reader sees.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

pub const PASSWORD_MIN_CHARS: usize = 12;
/// Bounds the work a single sign-in can ask of the password hasher.
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// The password policy: at least 12 characters (NIST SP 800-63B favours length
/// over composition rules), not absurdly long, and not easy to guess (SP
/// 800-63B 5.1.1.2 asks that commonly used, expected or compromised values be
/// refused).
pub fn password_policy(password: &str, said_by_the_account: &[&str]) -> Result<(), String> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(format!(
            "must be at least {PASSWORD_MIN_CHARS} characters long"
        ));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(format!("must be at most {PASSWORD_MAX_BYTES} bytes long"));
    }
    if password.trim().is_empty() {
        return Err("must not be only white space".into());
    }
    // Length is not strength: `aaaaaaaaaaaa` and `password1234` are guessed
    // at once. zxcvbn estimates the guesses an attacker needs, knowing
    // common passwords, words, names, keyboard walks, dates and repeats, and
    // what the account itself says (its e-mail address and name).
    let words: Vec<String> = said_by_the_account
        .iter()
        .flat_map(|s| s.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .chain(said_by_the_account.iter().map(|s| s.to_lowercase()))
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &words);
    if (estimate.score() as u8) < PASSWORD_MIN_SCORE {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning().map(|w| w.to_string()))
            .unwrap_or_else(|| "it is too easy to guess".to_owned());
        return Err(format!(
            "is too easy to guess ({hint}); use a longer passphrase of unrelated words"
        ));
    }
    Ok(())
}

/// The score (0 to 4) zxcvbn must give a password: 3, "safely
/// unguessable: moderate protection from offline slow-hash scenarios"
/// (about 10^10 guesses), which argon2 makes an offline attack's floor.
pub const PASSWORD_MIN_SCORE: u8 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_texts_are_refused() {
        assert!(text_field("OCPU-2026-0117\u{200b}", 64).is_err());
        assert!(
            text_field("OCPU-\u{202e}7110-6202", 64)
                .unwrap_err()
                .contains("U+202E")
        );
        assert!(text_field("\u{feff}OCPU", 64).is_err());
        assert_eq!(
            text_field(" Opération Lanterne ", 64).unwrap(),
            "Opération Lanterne"
        );
        assert_eq!(text_field("עברית", 64).unwrap(), "עברית");
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Officer@Police.EXAMPLE ").unwrap().as_str(),
            "officer@police.example"
        );
        assert!(Email::parse("not-an-address").is_err());
        assert!(Email::parse("a@").is_err());
        assert!(Email::parse("").is_err());
    }

    #[test]
    fn password_policy_needs_twelve_characters_that_are_hard_to_guess() {
        let ok = |p: &str| password_policy(p, &[]).is_ok();
        assert!(!ok("short-pass1"));
        assert!(!ok("            "));
        assert!(!ok(&"x".repeat(2000)));
        // Long enough, guessed at once: repeats, common passwords, keyboard
        // walks, sequences.
        for easy in [
            "aaaaaaaaaaaa",
            "password1234",
            "qwertyuiopas",
            "123456789012",
            "abcdefghijkl",
        ] {
            let said = password_policy(easy, &[]).unwrap_err();
            assert!(said.contains("too easy to guess"), "{easy}: {said}");
        }
        // What the account says of itself does not make a password.
        assert!(!ok_with(
            "officerolivia",
            &["olivia.officer@gb.test", "Olivia Officer"]
        ));
        assert!(ok("correct horse battery staple"));
        assert!(ok("a long enough password"));
        assert!(ok("Tw4-ptarmigan-vellum"));
        // Characters, not bytes: long enough in letters, and unguessable.
        assert!(ok("Ébène-Ωmega-Ørsted-17"));
    }

    fn ok_with(password: &str, said: &[&str]) -> bool {
        password_policy(password, said).is_ok()
    }

    #[test]
    fn text_fields_are_trimmed_and_bounded() {
        assert_eq!(text_field("  Garda  ", 10).unwrap(), "Garda");
        assert!(text_field("   ", 10).is_err());
        assert!(text_field("abcdefghijk", 10).is_err());
        assert!(text_field("a\u{0}b", 10).is_err());
    }

    #[test]
    fn errors_collect_every_field() {
        let mut errors = Errors::new();
        assert_eq!(errors.check("a", Ok::<_, String>(1)), Some(1));
        assert_eq!(errors.check::<u8>("b", Err("bad".into())), None);
        errors.add("c", "also bad");
        let list = errors.into_result().unwrap_err();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].field, "b");
    }
}
