//! Domain rules as plain functions and types, with no I/O.

pub mod audit;
pub mod countries;
pub mod legal_bases;
pub mod lockout;
pub mod reference;
pub mod validation;
