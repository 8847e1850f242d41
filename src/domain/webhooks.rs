//! Webhooks: what an organisation's systems are told, where they may be told
//! it, and how a delivery is signed. Pure: `service::webhooks` queues the
//! deliveries in the outbox and `mail::webhook` posts them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

use super::workflow::Action;

vocabulary!(
    /// What a delivery is about: a request transmitted to the organisation, a
    /// step the other side took on one of its requests, evidence delivered on
    /// a request it issued.
    WebhookEvent {
        RequestReceived = "request.received",
        RequestUpdated = "request.updated",
        EvidenceDelivered = "evidence.delivered",
    }
);

/// The event a workflow step is to the organisation told of it: its receipt
/// for the responder a request is transmitted to, an update otherwise.
pub fn event_of_step(action: Action) -> WebhookEvent {
    match action {
        Action::Transmit => WebhookEvent::RequestReceived,
        _ => WebhookEvent::RequestUpdated,
    }
}

/// Why an address may not be delivered to, if it may not: anything but a
/// public unicast address is inside someone's network (this server's own,
/// its cloud's metadata service, a private range), which a registered URL
/// must not reach unless the operator allows it.
pub fn inside_a_network(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_inside(v4),
        IpAddr::V6(v6) => {
            // An IPv4 address written as IPv6 is that IPv4 address.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_inside(v4);
            }
            v6_inside(v6)
        }
    }
}

fn v4_inside(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (cloud metadata services live there)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some("not a unicast address")
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
        Some("a documentation or benchmarking address")
    } else if a == 192 && b == 0 && c == 0 {
        Some("an IETF protocol address")
    } else {
        None
    }
}

fn v6_inside(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.is_unique_local() {
        Some("a private (unique local) address")
    } else if ip.is_unicast_link_local() {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("not a unicast address")
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        Some("a documentation address")
    } else if segments[0] == 0x0064 && segments[1] == 0xff9b {
        // NAT64: the IPv4 address in the last 32 bits is what is reached.
        let [.., hi, lo] = segments;
        v4_inside(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)))
    } else {
        None
    }
}

/// Whether a delivery over `https` (or not) may connect to `ip`. Public
/// addresses are reached over HTTPS only; with the operator's allowance,
/// addresses inside a network are reached too, over HTTP as well (a receiver
/// on the operator's own network, or a test's on loopback).
pub fn may_connect(ip: IpAddr, https: bool, allow_private: bool) -> Result<(), String> {
    match (inside_a_network(ip), allow_private) {
        (Some(what), false) => Err(format!(
            "{ip} is {what}; webhooks go to public HTTPS addresses unless the operator allows \
             private ones (MLAT_WEBHOOKS_ALLOW_PRIVATE)"
        )),
        (None, _) if !https => Err(format!(
            "{ip} is a public address: a webhook to it must use https"
        )),
        _ => Ok(()),
    }
}

/// Checks a URL as registered, before any name in it is resolved: https (or
/// http, where private addresses are allowed), a host, no credentials, no
/// fragment, and an address literal that may be connected to.
pub fn check_url(text: &str, allow_private: bool) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    let https = match url.scheme() {
        "https" => true,
        "http" if allow_private => false,
        "http" => return Err("use https".into()),
        other => return Err(format!("`{other}:` is not https")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err("put no user name or password in the URL: deliveries are signed".into());
    }
    if url.fragment().is_some() {
        return Err("a URL with a fragment (`#…`) is not an endpoint".into());
    }
    if text.len() > 2_000 {
        return Err("the URL is longer than 2000 characters".into());
    }
    match url.host() {
        None => return Err("the URL names no host".into()),
        Some(url::Host::Ipv4(ip)) => may_connect(IpAddr::V4(ip), https, allow_private)?,
        Some(url::Host::Ipv6(ip)) => may_connect(IpAddr::V6(ip), https, allow_private)?,
        Some(url::Host::Domain(_)) => {}
    }
    Ok(url)
}

/// The `Mlat-Signature` header of a delivery: `t=<unix seconds>,v1=<hex
/// HMAC-SHA256 of "<t>.<body>" under the webhook's secret>`. The receiver
/// recomputes it and refuses a stale `t`, so a delivery captured once cannot
/// be replayed later.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    format!("t={timestamp},v1={}", super::evidence::hex(&tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_outside_every_network() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.7",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            let ip: IpAddr = inside.parse().unwrap();
            assert!(inside_a_network(ip).is_some(), "{inside}");
        }
        for public in [
            "93.184.215.14",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert_eq!(inside_a_network(ip), None, "{public}");
        }
    }

    #[test]
    fn a_public_address_needs_https_and_a_private_one_the_operators_allowance() {
        let public: IpAddr = "93.184.215.14".parse().unwrap();
        let private: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(may_connect(public, true, false).is_ok());
        assert!(may_connect(public, false, true).is_err());
        assert!(may_connect(private, true, false).is_err());
        assert!(may_connect(private, false, true).is_ok());
    }

    #[test]
    fn a_url_is_checked_before_it_is_kept() {
        assert!(check_url("https://93.184.215.14/hooks/mlat", false).is_ok());
        assert!(check_url("https://hooks.example.org/mlat", false).is_ok());
        for (bad, says) in [
            ("http://hooks.example.org/", "use https"),
            ("ftp://hooks.example.org/", "is not https"),
            ("https://user:pw@hooks.example.org/", "no user name"),
            ("https://hooks.example.org/#x", "fragment"),
            ("https://127.0.0.1/", "loopback"),
            ("https://[::1]:8443/", "loopback"),
            ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("https://10.0.0.5/", "private"),
            ("not a url", "not a URL"),
        ] {
            let refused = check_url(bad, false).unwrap_err();
            assert!(refused.contains(says), "{bad}: {refused}");
        }
        assert!(check_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check_url("http://93.184.215.14/hook", true).is_err());
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_timestamp_and_the_body() {
        // Computed apart, with Python's hmac module:
        // hmac.new(b"whsec-test", b'1764763200.{"type":"request.received"}', sha256)
        assert_eq!(
            signature(
                b"whsec-test",
                1_764_763_200,
                br#"{"type":"request.received"}"#
            ),
            "t=1764763200,v1=1cad75b9513bbde734e8f6c2bf65fa70b26a444370ac7cda9b7ec44ee3a67fba"
        );
        // A byte changed in the body, or another time, changes it.
        assert_ne!(signature(b"k", 1, b"{}"), signature(b"k", 1, b"{ }"));
        assert_ne!(signature(b"k", 1, b"{}"), signature(b"k", 2, b"{}"));
    }
}
