//! Identifiers a request names (an account, an address, an IP at an instant...),
//! parsed so that a request never leaves with one a provider would bounce.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::validation::{Email, Errors};
use crate::db::UtcTime;

vocabulary!(
    IdentifierType {
        Account = "account",
        Email = "email",
        Phone = "phone",
        Url = "url",
        Ip = "ip",
        Domain = "domain",
        Other = "other",
    }
);

/// An identifier as a client sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifierIn {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub port: Option<i64>,
    pub observed_at: Option<String>,
}

/// A valid identifier, normalised (lower-case e-mail and domain, canonical IP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identifier {
    #[serde(rename = "type")]
    pub kind: IdentifierType,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<UtcTime>,
}

pub const MAX_IDENTIFIERS: usize = 100;

/// Instants people give are kept to these years, so that deadline arithmetic
/// on them can never overflow.
pub const YEARS: std::ops::RangeInclusive<i32> = 1990..=2100;

/// Parses an RFC 3339 instant that carries an explicit offset.
pub fn parse_instant(text: &str) -> Result<UtcTime, String> {
    let instant = chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|dt| dt.to_utc())
        .map_err(|_| {
            format!(
                "`{text}` is not an RFC 3339 instant with an offset, e.g. 2026-12-01T09:00:00+01:00"
            )
        })?;
    if !YEARS.contains(&chrono::Datelike::year(&instant)) {
        return Err(format!(
            "`{text}` is outside the years {} to {}",
            YEARS.start(),
            YEARS.end()
        ));
    }
    Ok(UtcTime::from(instant))
}

fn phone(value: &str) -> Result<String, String> {
    let digits = value.strip_prefix('+').unwrap_or("");
    let ok = (2..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "`{value}` is not an E.164 number: `+`, country code and number, up to 15 digits, no spaces"
        ))
    }
}

fn url(value: &str) -> Result<String, String> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(u.to_string())
        }
        _ => Err(format!("`{value}` is not an http(s) URL with a host")),
    }
}

fn domain(value: &str) -> Result<String, String> {
    let invalid = || format!("`{value}` is not a domain name such as example.org");
    match url::Host::parse(value) {
        Ok(url::Host::Domain(d)) if d.contains('.') && d.len() <= 253 => {
            let labels_ok = d.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
            if labels_ok { Ok(d) } else { Err(invalid()) }
        }
        _ => Err(invalid()),
    }
}

fn bounded(value: &str, max: usize) -> Result<String, String> {
    if value.chars().count() > max {
        Err(format!("must be at most {max} characters"))
    } else if value.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(value.to_owned())
    }
}

impl IdentifierIn {
    /// Parses one identifier, recording problems under `identifiers[i].<field>`.
    pub fn parse(&self, at: &str, errors: &mut Errors) -> Option<Identifier> {
        let kind = errors.check(&format!("{at}.type"), IdentifierType::parse(&self.kind))?;
        let raw = self.value.trim();
        let value_field = format!("{at}.value");
        if raw.is_empty() {
            errors.add(value_field, "must not be empty");
            return None;
        }
        let value = match kind {
            IdentifierType::Ip => raw
                .parse::<IpAddr>()
                .map(|ip| ip.to_string())
                .map_err(|_| format!("`{raw}` is not an IPv4 or IPv6 address")),
            IdentifierType::Email => Email::parse(raw).map(Email::into_string),
            IdentifierType::Phone => phone(raw),
            IdentifierType::Url => url(raw),
            IdentifierType::Domain => domain(raw),
            IdentifierType::Account => bounded(raw, 256),
            IdentifierType::Other => bounded(raw, 1000),
        };
        let value = errors.check(&value_field, value);
        let port = match self.port {
            None => Some(None),
            Some(_) if kind != IdentifierType::Ip => {
                errors.add(format!("{at}.port"), "only an IP address has a port");
                None
            }
            Some(p) if (1..=65535).contains(&p) => Some(Some(p as u16)),
            Some(p) => {
                errors.add(
                    format!("{at}.port"),
                    format!("{p} is not a port from 1 to 65535"),
                );
                None
            }
        };
        let observed_at = match self.observed_at.as_deref() {
            Some(text) => errors
                .check(&format!("{at}.observed_at"), parse_instant(text))
                .map(Some),
            None => Some(None),
        };
        // Providers cannot attribute an IP without the instant, and a shared
        // (carrier-grade NAT) IPv4 address without the source port.
        if kind == IdentifierType::Ip {
            if matches!(observed_at, Some(None)) {
                errors.add(
                    format!("{at}.observed_at"),
                    "an IP address needs the instant it was seen, with its offset",
                );
            }
            if matches!(port, Some(None))
                && value
                    .as_deref()
                    .is_some_and(|v| v.parse::<std::net::Ipv4Addr>().is_ok())
            {
                errors.add(
                    format!("{at}.port"),
                    "an IPv4 address needs its source port: providers share addresses behind NAT",
                );
            }
        }
        Some(Identifier {
            kind,
            value: value?,
            port: port?,
            observed_at: observed_at?,
        })
        .filter(|_| errors.is_empty())
    }
}

/// Parses a list of identifiers; every problem is recorded.
pub fn parse_all(list: &[IdentifierIn], errors: &mut Errors) -> Vec<Identifier> {
    if list.len() > MAX_IDENTIFIERS {
        errors.add(
            "identifiers",
            format!("at most {MAX_IDENTIFIERS} identifiers per request"),
        );
        return Vec::new();
    }
    list.iter()
        .enumerate()
        .filter_map(|(i, item)| item.parse(&format!("identifiers[{i}]"), errors))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(
        kind: &str,
        value: &str,
        port: Option<i64>,
        observed_at: Option<&str>,
    ) -> Result<Identifier, Vec<String>> {
        let mut errors = Errors::new();
        let parsed = IdentifierIn {
            kind: kind.into(),
            value: value.into(),
            port,
            observed_at: observed_at.map(str::to_owned),
        }
        .parse("identifiers[0]", &mut errors);
        match errors.into_result() {
            Ok(()) => Ok(parsed.unwrap()),
            Err(list) => Err(list.into_iter().map(|e| e.field).collect()),
        }
    }

    const AT: Option<&str> = Some("2026-11-20T21:15:03+01:00");

    #[test]
    fn ip_addresses_need_instant_and_for_ipv4_a_port() {
        let ok = one("ip", "203.0.113.7", Some(51234), AT).unwrap();
        assert_eq!(ok.port, Some(51234));
        assert_eq!(ok.observed_at.unwrap().to_string(), "2026-11-20T20:15:03Z");
        assert_eq!(
            one("ip", "2001:DB8::1", None, AT).unwrap().value,
            "2001:db8::1"
        );
        assert_eq!(
            one("ip", "203.0.113.7", None, AT),
            Err(vec!["identifiers[0].port".into()])
        );
        assert_eq!(
            one("ip", "203.0.113.7", Some(1), None),
            Err(vec!["identifiers[0].observed_at".into()])
        );
        assert_eq!(
            one("ip", "203.0.113.7", Some(1), Some("2026-11-20T21:15:03")),
            Err(vec!["identifiers[0].observed_at".into()])
        );
        assert_eq!(
            one("ip", "300.1.1.1", Some(1), AT),
            Err(vec!["identifiers[0].value".into()])
        );
        assert_eq!(
            one("ip", "203.0.113.7", Some(0), AT),
            Err(vec!["identifiers[0].port".into()])
        );
        assert_eq!(
            one("ip", "203.0.113.7", Some(65536), AT),
            Err(vec!["identifiers[0].port".into()])
        );
    }

    #[test]
    fn instants_outside_the_supported_years_are_refused() {
        assert!(
            parse_instant("9999-12-31T00:00:00Z")
                .unwrap_err()
                .contains("outside the years")
        );
        assert!(parse_instant("1900-01-01T00:00:00Z").is_err());
        assert!(parse_instant("2100-12-31T23:59:59+00:00").is_ok());
    }

    #[test]
    fn other_types_are_checked() {
        assert_eq!(
            one("email", "A@Example.ORG", None, None).unwrap().value,
            "a@example.org"
        );
        assert!(one("email", "nope", None, None).is_err());
        assert!(one("phone", "+447700900123", None, None).is_ok());
        assert!(one("phone", "07700 900123", None, None).is_err());
        assert!(one("phone", "+0123", None, None).is_err());
        assert!(one("url", "https://chat.example/u/123", None, None).is_ok());
        assert!(one("url", "javascript:alert(1)", None, None).is_err());
        assert_eq!(
            one("domain", "Example.ORG", None, None).unwrap().value,
            "example.org"
        );
        assert!(one("domain", "localhost", None, None).is_err());
        assert!(one("domain", "-bad.example", None, None).is_err());
        assert!(one("account", "user_123", None, None).is_ok());
        assert_eq!(
            one("account", "u", Some(80), None),
            Err(vec!["identifiers[0].port".into()])
        );
        assert_eq!(
            one("handle", "u", None, None),
            Err(vec!["identifiers[0].type".into()])
        );
        assert_eq!(
            one("account", "  ", None, None),
            Err(vec!["identifiers[0].value".into()])
        );
    }
}
