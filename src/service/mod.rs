//! Use cases: each takes validated input and a connection inside the caller's
//! transaction, and composes repository calls, so that a state change and what
//! must accompany it commit together.

pub mod account_mail;
pub mod accounts;
pub mod anchor;
pub mod approvals;
pub mod cases;
pub mod deadlines;
pub mod evidence;
pub mod execution;
pub mod housekeeping;
pub mod inbox;
pub mod notify;
pub mod outbox;
pub mod own_sessions;
pub mod portal_sessions;
pub mod proposals;
pub mod reads;
pub mod reference;
pub mod requests;
pub mod sealed_secrets;
pub mod second_factor;
pub mod sessions;
pub mod stewardship;
pub mod upgrade;
pub mod watcher;
pub mod webhooks;
