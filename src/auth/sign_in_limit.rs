//! Sign-ins by source address: a token bucket per address (the `governor`
//! crate's GCRA), so that a flood from one address is refused at once
//! instead of queueing for the password hasher ahead of everyone else's
//! sign-in. Per process: each instance counts what reaches it.
//!
//! The per-account lockout (`domain::lockout`) counts failures per account
//! *and* address, so that failures from elsewhere cannot keep the owner out;
//! this bucket is what bounds how many guesses one address gets at all.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Addresses the bucket remembers before it forgets those that are full
/// again: a flood of spoofed-looking addresses cannot grow it without bound.
const REMEMBERED: usize = 10_000;

pub struct SignInLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl SignInLimit {
    /// `burst` sign-ins at once from one address, then `per_minute`.
    pub fn new(burst: u32, per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        SignInLimit {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
        }
    }

    /// Takes one sign-in from `from`, or says how long to wait.
    pub fn check(&self, from: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > REMEMBERED {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&from)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The address a request comes from: the connection's peer, or, behind a
/// reverse proxy the deployment trusts (`MLAT_TRUST_FORWARDED`), the client
/// the proxy names (`Forwarded` / `X-Forwarded-For`). Without a proxy those
/// headers are the client's own words and are not believed.
pub fn client_address(req: &HttpRequest, trust_forwarded: bool) -> IpAddr {
    let unspecified = IpAddr::from([0, 0, 0, 0]);
    if trust_forwarded
        && let Some(ip) = req
            .connection_info()
            .realip_remote_addr()
            .and_then(parse_address)
    {
        return ip;
    }
    req.peer_addr().map_or(unspecified, |a| a.ip())
}

/// `203.0.113.9`, `203.0.113.9:4711`, `[2001:db8::1]:4711` or `2001:db8::1`.
fn parse_address(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_is_held_to_its_burst_and_others_are_not() {
        let limit = SignInLimit::new(3, 1);
        let (flood, owner) = (
            IpAddr::from([192, 0, 2, 7]),
            IpAddr::from([198, 51, 100, 1]),
        );
        for _ in 0..3 {
            assert!(limit.check(flood).is_ok());
        }
        let wait = limit.check(flood).unwrap_err();
        assert!(
            wait > Duration::from_secs(30) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(limit.check(owner).is_ok(), "another address signs in");
    }

    #[test]
    fn addresses_are_read_with_or_without_a_port() {
        assert_eq!(
            parse_address("203.0.113.9"),
            Some(IpAddr::from([203, 0, 113, 9]))
        );
        assert_eq!(
            parse_address("203.0.113.9:4711"),
            Some(IpAddr::from([203, 0, 113, 9]))
        );
        assert!(parse_address("[2001:db8::1]:4711").is_some());
        assert!(parse_address("2001:db8::1").is_some());
        assert_eq!(parse_address("unknown"), None);
    }
}
