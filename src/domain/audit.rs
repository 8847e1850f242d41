//! The audit trail's rules: how an event is hashed into its chain, and how a
//! chain is verified. Pure functions; the repository stores and loads.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::time::UtcTime;

/// The `prev_hash` of the first event of every chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something: an account and its organisation, or the system itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<String>,
    pub organisation_id: Option<String>,
}

impl Actor {
    pub fn system() -> Self {
        Actor::default()
    }

    pub fn user(user_id: &str, organisation_id: Option<&str>) -> Self {
        Actor {
            user_id: Some(user_id.to_owned()),
            organisation_id: organisation_id.map(str::to_owned),
        }
    }
}

/// Names of chains: one per request, one per account, one per organisation,
/// one for reference data,
/// and one for what belongs to none of them.
pub fn request_chain(request_id: &str) -> String {
    format!("request:{request_id}")
}

pub fn user_chain(user_id: &str) -> String {
    format!("user:{user_id}")
}

/// What is done about an organisation's people before any account exists
/// (accounts proposed to it).
pub fn organisation_chain(organisation_id: &str) -> String {
    format!("organisation:{organisation_id}")
}

pub const REFERENCE_CHAIN: &str = "reference";
pub const SYSTEM_CHAIN: &str = "system";

/// One stored event. `hash` covers every other field, `id` and `prev_hash`
/// included, so that editing, deleting or reordering rows is detected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub chain: String,
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub occurred_at: UtcTime,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub request_id: Option<String>,
    /// A JSON document, hashed as the exact text stored.
    pub details: String,
}

#[derive(Serialize)]
struct Hashed<'a> {
    id: &'a str,
    chain: &'a str,
    seq: i64,
    prev_hash: &'a str,
    occurred_at: String,
    actor_id: Option<&'a str>,
    organisation_id: Option<&'a str>,
    action: &'a str,
    object_type: &'a str,
    object_id: Option<&'a str>,
    request_id: Option<&'a str>,
    details: &'a str,
}

/// SHA-256 over a canonical JSON rendering of the event (fields in a fixed
/// order), in lower-case hex.
pub fn compute_hash(event: &Event) -> String {
    let canonical = serde_json::to_vec(&Hashed {
        id: &event.id,
        chain: &event.chain,
        seq: event.seq,
        prev_hash: &event.prev_hash,
        occurred_at: event.occurred_at.to_string(),
        actor_id: event.actor_id.as_deref(),
        organisation_id: event.organisation_id.as_deref(),
        action: &event.action,
        object_type: &event.object_type,
        object_id: event.object_id.as_deref(),
        request_id: event.request_id.as_deref(),
        details: &event.details,
    })
    .expect("an event serialises");
    Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The recorded end of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub chain: String,
    pub seq: i64,
    pub hash: String,
}

/// Where and why a chain stops verifying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChainBreak {
    pub chain: String,
    /// The first event that does not verify; `None` when events are missing
    /// from the end of the chain.
    pub event_id: Option<String>,
    pub seq: Option<i64>,
    pub reason: String,
}

/// Checks one chain's events, in `seq` order as loaded, against its head.
/// Returns the number of events verified.
pub fn verify_chain(head: &Head, events: &[Event]) -> Result<usize, ChainBreak> {
    let mut prev = GENESIS.to_owned();
    let mut expected_seq = 1;
    for event in events {
        let broken = |reason: String| ChainBreak {
            chain: head.chain.clone(),
            event_id: Some(event.id.clone()),
            seq: Some(event.seq),
            reason,
        };
        if event.chain != head.chain {
            return Err(broken(format!("belongs to chain `{}`", event.chain)));
        }
        if event.seq != expected_seq {
            return Err(broken(format!(
                "expected event {expected_seq} of the chain here: events are missing or reordered"
            )));
        }
        if event.prev_hash != prev {
            return Err(broken(
                "does not follow the event before it: events are missing or reordered".into(),
            ));
        }
        if compute_hash(event) != event.hash {
            return Err(broken(
                "its content was altered after it was recorded".into(),
            ));
        }
        prev = event.hash.clone();
        expected_seq += 1;
    }
    let last_seq = expected_seq - 1;
    if head.seq != last_seq || head.hash != prev {
        return Err(ChainBreak {
            chain: head.chain.clone(),
            event_id: None,
            seq: Some(last_seq + 1),
            reason: format!(
                "the chain records {} events but {} remain: events at its end were removed",
                head.seq, last_seq
            ),
        });
    }
    Ok(events.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> (Head, Vec<Event>) {
        let mut prev = GENESIS.to_owned();
        let mut events = Vec::new();
        for seq in 1..=n {
            let mut event = Event {
                id: format!("e{seq}"),
                chain: "request:r1".into(),
                seq,
                prev_hash: prev.clone(),
                hash: String::new(),
                occurred_at: UtcTime::now(),
                actor_id: Some("u1".into()),
                organisation_id: Some("o1".into()),
                action: "submit".into(),
                object_type: "request".into(),
                object_id: Some("r1".into()),
                request_id: Some("r1".into()),
                details: format!("{{\"n\":{seq}}}"),
            };
            event.hash = compute_hash(&event);
            prev = event.hash.clone();
            events.push(event);
        }
        let head = Head {
            chain: "request:r1".into(),
            seq: n,
            hash: prev,
        };
        (head, events)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (head, events) = chain(4);
        assert_eq!(verify_chain(&head, &events), Ok(4));
        let empty = Head {
            chain: "c".into(),
            seq: 0,
            hash: GENESIS.into(),
        };
        assert_eq!(verify_chain(&empty, &[]), Ok(0));
    }

    #[test]
    fn an_edited_event_is_named() {
        let (head, mut events) = chain(4);
        events[2].details = "{\"n\":99}".into();
        let err = verify_chain(&head, &events).unwrap_err();
        assert_eq!(err.event_id.as_deref(), Some("e3"));
        assert!(err.reason.contains("altered"));
    }

    #[test]
    fn an_edited_actor_or_time_is_detected() {
        let (head, mut events) = chain(3);
        events[0].actor_id = Some("someone else".into());
        assert_eq!(
            verify_chain(&head, &events)
                .unwrap_err()
                .event_id
                .as_deref(),
            Some("e1")
        );
        let (head, mut events) = chain(3);
        events[1].occurred_at = events[1].occurred_at + chrono::TimeDelta::seconds(1);
        assert_eq!(
            verify_chain(&head, &events)
                .unwrap_err()
                .event_id
                .as_deref(),
            Some("e2")
        );
    }

    #[test]
    fn a_deleted_event_is_detected_at_its_successor() {
        let (head, mut events) = chain(4);
        events.remove(1);
        let err = verify_chain(&head, &events).unwrap_err();
        assert_eq!(err.event_id.as_deref(), Some("e3"));
    }

    #[test]
    fn deleting_the_last_events_is_detected_against_the_head() {
        let (head, mut events) = chain(4);
        events.truncate(2);
        let err = verify_chain(&head, &events).unwrap_err();
        assert_eq!(err.event_id, None);
        assert_eq!(err.seq, Some(3));
    }

    #[test]
    fn swapped_events_are_detected() {
        let (head, mut events) = chain(4);
        // Swap the positions of events 2 and 3 (their seq numbers too).
        events[1].seq = 3;
        events[2].seq = 2;
        events.swap(1, 2);
        let err = verify_chain(&head, &events).unwrap_err();
        assert_eq!(err.event_id.as_deref(), Some("e3"));
    }
}
