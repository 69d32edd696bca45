//! firmo's Clearbit adapter: the Company API (`GET /v2/companies/find?domain=…`), which
//! supplies industry, headcount, an estimated revenue bucket and technology tags.
//!
//! Clearbit answers a domain it has not indexed recently with HTTP 202 ("queued"): that is
//! [`firmo_connect::LookupOutcome::Pending`], picked up on a later pass, never a spin.

pub mod client;
pub mod config;
pub mod parse;
pub mod retry;

pub use client::ClearbitClient;
pub use config::ClearbitConfig;

#[cfg(test)]
mod tests;
