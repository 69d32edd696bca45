//! The sync pipeline: pull → plan → fetch → merge → validate → diff → write → report.

pub mod config;
pub mod diff;
pub mod plan;
pub mod properties;
