//! Posting a webhook delivery: signed, to the addresses its URL resolves to
//! once each has been checked (`domain::webhooks::may_connect`), so that a
//! name that later points inside a network is refused at the moment of
//! delivery, not only when it was registered.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use crate::db::DbConn;
use crate::domain::webhooks::{may_connect, signature};
use crate::repo;
use crate::repo::outbox::OutboxRow;
use crate::sealed::MasterKey;
use crate::time::UtcTime;

/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// Worth trying again later: the receiver was down or answered an error.
    Failed(String),
    /// Never worth trying again: the webhook is gone, or its address is
    /// refused.
    Refused(String),
}

pub struct Deliverer {
    key: Option<MasterKey>,
    allow_private: bool,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deliverer(..)")
    }
}

/// The addresses `netloc` resolves to, if every one may be connected to.
pub fn resolve_checked(
    netloc: &str,
    https: bool,
    allow_private: bool,
) -> io::Result<Vec<SocketAddr>> {
    let addresses: Vec<SocketAddr> = netloc.to_socket_addrs()?.collect();
    if addresses.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{netloc} has no address"),
        ));
    }
    for address in &addresses {
        may_connect(address.ip(), https, allow_private)
            .map_err(|why| io::Error::new(io::ErrorKind::PermissionDenied, why))?;
    }
    Ok(addresses)
}

impl Deliverer {
    pub fn new(allow_private: bool) -> Self {
        Deliverer {
            key: None,
            allow_private,
        }
    }

    /// The key the webhooks' secrets are sealed with (the factor key).
    pub fn with_key(mut self, key: MasterKey) -> Self {
        self.key = Some(key);
        self
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Posts one delivery, signed at `now`.
    pub fn deliver(&self, conn: &mut DbConn, row: &OutboxRow, now: UtcTime) -> Attempt {
        let Some(webhook_id) = &row.webhook_id else {
            return Attempt::Refused("not a webhook delivery".into());
        };
        let webhook = match repo::webhooks::get(conn, webhook_id) {
            Ok(Some(w)) if w.active => w,
            Ok(_) => return Attempt::Refused("the webhook was removed".into()),
            Err(e) => return Attempt::Failed(format!("the webhook could not be read: {e}")),
        };
        let Some(key) = &self.key else {
            return Attempt::Failed("no key to open the webhook's secret".into());
        };
        let secret = match key.open_value(
            &crate::service::webhooks::context(&webhook.id),
            &webhook.secret_sealed,
        ) {
            Ok(secret) => secret,
            Err(e) => {
                return Attempt::Refused(format!(
                    "the secret does not open with the factor key: {e}"
                ));
            }
        };
        let https = webhook.url.starts_with("https:");
        let allow_private = self.allow_private;
        let tls = match native_tls::TlsConnector::new() {
            Ok(tls) => tls,
            Err(e) => return Attempt::Failed(format!("TLS is not available: {e}")),
        };
        let agent = ureq::AgentBuilder::new()
            .timeout(TIMEOUT)
            .redirects(0)
            .tls_connector(Arc::new(tls))
            .resolver(move |netloc: &str| resolve_checked(netloc, https, allow_private))
            .build();
        let signed = signature(&secret, now.to_datetime().timestamp(), row.body.as_bytes());
        let sent = agent
            .post(&webhook.url)
            .set("Content-Type", "application/json")
            .set("User-Agent", "mlat-webhooks/1")
            .set("Mlat-Event", &row.subject)
            .set("Mlat-Delivery", &row.id)
            .set("Mlat-Signature", &signed)
            .send_bytes(row.body.as_bytes());
        match sent {
            Ok(response) if (200..300).contains(&response.status()) => Attempt::Delivered,
            Ok(response) => Attempt::Failed(format!(
                "the endpoint answered {} (redirects are not followed)",
                response.status()
            )),
            Err(ureq::Error::Status(code, _)) => {
                Attempt::Failed(format!("the endpoint answered {code}"))
            }
            Err(ureq::Error::Transport(transport)) => {
                let refused = std::error::Error::source(&transport)
                    .and_then(|s| s.downcast_ref::<io::Error>())
                    .is_some_and(|e| e.kind() == io::ErrorKind::PermissionDenied);
                if refused {
                    Attempt::Refused(format!("refused: {transport}"))
                } else {
                    Attempt::Failed(transport.to_string())
                }
            }
        }
    }
}
