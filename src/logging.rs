//! The log as lines a reader can trust: whatever a client sent (a path, a
//! header, a field value) is written with its control characters escaped, so
//! it can never start a line of its own or hide one.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Writes each formatted event to the inner writer with every control
/// character but the event's final newline (and tabs, and the escape that
/// starts a terminal colour) shown as `\u{..}`.
pub struct Escaping<W> {
    inner: W,
}

impl<W> Escaping<W> {
    pub fn new(inner: W) -> Self {
        Escaping { inner }
    }
}

/// `text` with its control characters escaped; a final newline is kept.
pub fn escape_line(text: &str) -> String {
    let (body, newline) = match text.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (text, ""),
    };
    let mut out = String::with_capacity(text.len() + newline.len());
    for c in body.chars() {
        let keep = !c.is_control() || c == '\t' || c == '\u{1b}';
        let separator = matches!(c, '\u{2028}' | '\u{2029}');
        if keep && !separator {
            out.push(c);
        } else {
            out.push_str(&c.escape_unicode().to_string());
        }
    }
    out.push_str(newline);
    out
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The formatter hands over one whole event per call.
        let text = String::from_utf8_lossy(buf);
        self.inner.write_all(escape_line(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Standard error, escaped.
pub struct EscapedStderr;

impl<'a> MakeWriter<'a> for EscapedStderr {
    type Writer = Escaping<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        Escaping::new(io::stderr())
    }
}

/// Whether a request path carries a control character, raw or percent-encoded
/// (`%00`, `%0a`...): no id or code of this service has one, and such a byte
/// would reach the database (PostgreSQL refuses NUL in text) and the log.
pub fn has_control_characters(path: &str) -> bool {
    let bytes = path.as_bytes();
    let control = |b: u8| b < 0x20 || b == 0x7f;
    let mut i = 0;
    while i < bytes.len() {
        if control(bytes[i]) {
            return true;
        }
        if bytes[i] == b'%'
            && let Some(hex) = path.get(i + 1..i + 3)
            && let Ok(value) = u8::from_str_radix(hex, 16)
            && control(value)
        {
            return true;
        }
        i += 1;
    }
    false
}

/// A URL with its password replaced by `***`; one that does not parse is not
/// shown at all, since the password could be anywhere in it.
pub fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<a URL that does not parse, not shown>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_injected_newline_cannot_start_a_log_line() {
        let line = "INFO no request `x\nERROR EVIDENCE INTEGRITY FAILURE forged`\r\n";
        let escaped = escape_line(line);
        assert_eq!(escaped.matches('\n').count(), 1);
        assert!(escaped.ends_with('\n'));
        assert!(escaped.contains("x\\u{a}ERROR"));
        assert!(escaped.contains("\\u{d}"));
        assert_eq!(escape_line("plain\ttext\n"), "plain\ttext\n");
        let mut out = Vec::new();
        Escaping::new(&mut out)
            .write_all(b"a\x00b\xe2\x80\xa8c\n")
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a\\u{0}b\\u{2028}c\n");
    }

    #[test]
    fn control_characters_in_paths_are_found_raw_or_encoded() {
        assert!(has_control_characters("/api/v1/requests/%00"));
        assert!(has_control_characters("/api/v1/requests/x%0Aforged"));
        assert!(has_control_characters("/api/v1/requests/x%0d%0a"));
        assert!(has_control_characters("/api/v1/requests/x%7f"));
        assert!(has_control_characters("/a\u{1}b"));
        assert!(!has_control_characters("/api/v1/requests/0193-abc"));
        assert!(!has_control_characters("/api/v1/requests/%20x%e2%80%8b"));
        assert!(!has_control_characters("/trailing%"));
        assert!(!has_control_characters("/bad%zz"));
    }
}
