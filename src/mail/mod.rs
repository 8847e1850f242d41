//! Sending what the outbox holds: SMTP through lettre, or `.eml` files.

pub mod retry;
pub mod sender;
pub mod webhook;

pub use sender::{Mailer, SendReport, send_pass};
