//! Identifiers a request names (an account, an address, an IP at an instant...),
//! parsed so that a request never leaves with one a provider would bounce.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::validation::{Email, Errors};
use crate::time::UtcTime;

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

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn parse(input: &IdentifierIn) -> (Option<Identifier>, Vec<FieldErrorName>) {
        let mut errors = Errors::new();
        let parsed = input.parse("identifiers[3]", &mut errors);
        let names = match errors.into_result() {
            Ok(()) => Vec::new(),
            Err(list) => list.into_iter().map(|e| e.field).collect(),
        };
        (parsed, names)
    }

    type FieldErrorName = String;

    fn kind() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(IdentifierType::ALL).prop_map(|k| k.as_str().to_owned()),
            ".{0,12}",
        ]
    }

    /// An instant with some offset, as a person would type it.
    fn typed_instant() -> impl Strategy<Value = (chrono::DateTime<chrono::FixedOffset>, String)> {
        (
            0i64..(4_102_444_800 - 631_152_000),
            -(14 * 3600i32)..=(14 * 3600),
        )
            .prop_map(|(secs, offset_secs)| {
                let offset = chrono::FixedOffset::east_opt(offset_secs / 60 * 60).unwrap();
                let utc = chrono::DateTime::from_timestamp(631_152_000 + secs, 0).unwrap();
                let local = utc.with_timezone(&offset);
                (local, local.to_rfc3339())
            })
    }

    proptest! {
        /// Whatever arrives, parsing answers (no panic), and a refusal names
        /// fields of this identifier only.
        #[test]
        fn any_input_is_parsed_or_refused_with_its_fields(
            kind in kind(),
            value in ".{0,80}",
            port in proptest::option::of(any::<i64>()),
            observed_at in proptest::option::of(".{0,40}"),
        ) {
            let input = IdentifierIn { kind, value, port, observed_at };
            let (parsed, fields) = parse(&input);
            if parsed.is_none() {
                prop_assert!(!fields.is_empty());
            }
            for field in &fields {
                prop_assert!(field.starts_with("identifiers[3]."), "{}", field);
            }
        }

        /// A parsed identifier is already in normal form: sending it back
        /// gives the same identifier.
        #[test]
        fn normalising_is_a_fixed_point(
            kind in kind(),
            value in prop_oneof![
                ".{1,40}",
                "[A-Za-z]{1,10}@[a-z]{1,10}\\.(org|IE|com)",
                "(https?://)?[A-Za-z0-9.-]{1,20}(/[a-z]{0,5})?",
                "\\+?[0-9 ]{1,16}",
                "[0-9]{1,3}(\\.[0-9]{1,3}){3}",
                "[0-9A-Fa-f:]{2,39}",
            ],
            port in proptest::option::of(0i64..70_000),
            typed in proptest::option::of(typed_instant()),
        ) {
            let input = IdentifierIn {
                kind,
                value,
                port,
                observed_at: typed.map(|(_, text)| text),
            };
            if let (Some(first), _) = parse(&input) {
                let again = IdentifierIn {
                    kind: first.kind.as_str().to_owned(),
                    value: first.value.clone(),
                    port: first.port.map(i64::from),
                    observed_at: first.observed_at.map(|t| t.to_string()),
                };
                let (second, fields) = parse(&again);
                prop_assert!(fields.is_empty(), "{:?}", fields);
                prop_assert_eq!(Some(first), second);
            }
        }

        /// Every IPv4 address with a port and an instant is accepted, and the
        /// instant is the same moment in UTC whatever offset it was typed in.
        #[test]
        fn ipv4_with_port_and_instant_is_accepted_in_utc(
            octets in any::<[u8; 4]>(),
            port in 1i64..=65535,
            (local, text) in typed_instant(),
        ) {
            let address = std::net::Ipv4Addr::from(octets).to_string();
            let input = IdentifierIn {
                kind: "ip".into(),
                value: address.clone(),
                port: Some(port),
                observed_at: Some(text),
            };
            let (parsed, fields) = parse(&input);
            prop_assert!(fields.is_empty(), "{:?}", fields);
            let parsed = parsed.unwrap();
            prop_assert_eq!(parsed.value, address);
            prop_assert_eq!(parsed.observed_at.unwrap().to_datetime(), local.to_utc());
        }

        /// An IPv4 address without its source port is always refused, naming
        /// the port.
        #[test]
        fn ipv4_without_port_is_refused(octets in any::<[u8; 4]>(), (_, text) in typed_instant()) {
            let input = IdentifierIn {
                kind: "ip".into(),
                value: std::net::Ipv4Addr::from(octets).to_string(),
                port: None,
                observed_at: Some(text),
            };
            let (parsed, fields) = parse(&input);
            prop_assert!(parsed.is_none());
            prop_assert_eq!(fields, vec!["identifiers[3].port".to_owned()]);
        }

        /// E.164: `+`, no leading zero, 2 to 15 digits; anything else is refused.
        #[test]
        fn phone_numbers_follow_e164(digits in "[0-9]{1,17}", plus in any::<bool>()) {
            let value = if plus { format!("+{digits}") } else { digits.clone() };
            let valid = plus && (2..=15).contains(&digits.len()) && !digits.starts_with('0');
            let input = IdentifierIn { kind: "phone".into(), value, port: None, observed_at: None };
            let (parsed, _) = parse(&input);
            prop_assert_eq!(parsed.is_some(), valid);
        }

        /// Instants outside the years kept are refused; inside, accepted.
        #[test]
        fn instants_are_kept_to_their_years(year in 1000i32..3000, offset_hours in -12i32..=12) {
            let text = format!("{year:04}-06-15T12:00:00{:+03}:00", offset_hours);
            prop_assert_eq!(parse_instant(&text).is_ok(), YEARS.contains(&year));
        }
    }
}
