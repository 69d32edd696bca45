//! firmo's BuiltWith adapter: the Domain API (`GET /v21/api.json?KEY=…&LOOKUP=a,b,…`, up
//! to 16 domains a request), which supplies the technologies a site runs, with first and
//! last detection dates; a credit per domain it returns a result for. Only
//! technologies detected recently count (see [`BuiltWithConfig::live_within_days`]).
//!
//! The key travels in the query string, so this adapter never logs a request URL and
//! scrubs the key from any message it passes on.

pub mod client;
pub mod config;
pub mod parse;
pub mod retry;

pub use client::BuiltWithClient;
pub use config::BuiltWithConfig;

#[cfg(test)]
mod tests;
