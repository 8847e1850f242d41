//! Passwords, tokens and the authenticated caller.

pub mod caller;
pub mod password;
pub mod sign_in_limit;
pub mod tokens;
pub mod totp;

pub use caller::Caller;
