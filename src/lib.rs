//! mlat: the case-workflow backend for cross-border requests for electronic
//! evidence. `startup::Application` builds the whole service; the binary and the
//! integration tests both start it through that one function.

pub mod api;
pub mod audit_keys;
pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod lifecycle;
pub mod logging;
pub mod mail;
pub mod portal;
pub mod repo;
pub mod sealed;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
pub mod time;
pub mod world;

pub use startup::Application;
