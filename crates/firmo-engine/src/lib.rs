//! The sync pipeline, one stage per module: [`setup`] → [`pull`] → [`plan`] → [`fetch`] →
//! [`evaluate`] → [`verdict`] → [`write`], with [`cursor`] deciding what the next pass
//! pulls; [`sync`] only wires them, and [`enrich`] is the plan/fetch/evaluate part shared
//! with the CSV path.
//!
//! The engine reads no clock of its own (a [`Clock`] is handed in) and keeps its state in
//! a [`firmo_store::Store`] owned by one thread ([`state`]).

pub mod batch;
pub mod budget;
pub mod clay;
pub mod config;
pub mod contacts;
pub mod crms;
pub mod cursor;
pub mod diff;
pub mod enrich;
pub mod evaluate;
mod events;
pub mod fetch;
mod pass;
mod peers;
pub mod plan;
pub mod properties;
pub mod providers;
pub mod pull;
pub mod quality;
pub mod report;
pub mod run;
pub mod setup;
pub mod state;
pub mod sync;
pub mod verdict;
pub mod waterfall;
pub mod write;

use std::sync::Arc;

use firmo_core::UnixMillis;

/// A source of "now" (the engine reads no clock directly, so tests can move time).
pub type Clock = Arc<dyn Fn() -> UnixMillis + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        UnixMillis(i64::try_from(ms).unwrap_or(i64::MAX))
    })
}
