//! One integration-test binary (each extra binary is another link step), with a
//! module per resource.

mod helpers;

mod anchoring;
mod audit;
mod auth;
mod browser;
mod cases;
mod cli;
mod clocks;
mod contract;
mod deadlines;
mod documents;
mod evidence;
mod execution;
mod faults;
mod http;
mod mail;
mod migrations;
mod plans;
mod portal;
mod portal_admin;
mod portal_desk;
mod queues;
mod reference;
mod second_factor;
mod users;
mod watcher;
mod webhooks;
mod workflow;
