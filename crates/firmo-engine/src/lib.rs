//! The sync pipeline: pull → plan → fetch → merge → validate → diff → write → report.
//!
//! [`sync::sync`] runs it against a CRM; [`enrich::Enricher`] is the plan/fetch/merge/
//! validate part shared with the CSV path. The engine reads no clock of its own (a
//! [`enrich::Clock`] is handed in) and keeps its state in a [`firmo_store::Store`].

pub mod clay;
pub mod config;
pub mod diff;
pub mod enrich;
mod events;
pub mod plan;
pub mod properties;
pub mod providers;
pub mod report;
pub mod sync;
