//! firmo's Crunchbase adapter (API v4): finds the organization for a domain with a
//! search on `website_url`, then fetches it with its `raised_funding_rounds` card. The
//! latest round supplies `funding_stage`, `last_funding_date` and `last_funding_amount`.

pub mod client;
pub mod config;
pub mod parse;
pub mod retry;

pub use client::CrunchbaseClient;
pub use config::CrunchbaseConfig;

#[cfg(test)]
mod tests;
