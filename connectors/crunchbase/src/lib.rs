//! firmo's Crunchbase adapter (API v4): one search on `website_url` per batch of domains,
//! whose hits carry the organization's funding summary (`last_funding_type`,
//! `last_funding_at`, `last_funding_total`): `funding_stage`, `last_funding_date` and
//! `last_funding_amount` without a second request per entity. Billed per call.

pub mod client;
pub mod config;
pub mod parse;
pub mod retry;

pub use client::CrunchbaseClient;
pub use config::CrunchbaseConfig;

#[cfg(test)]
mod tests;
