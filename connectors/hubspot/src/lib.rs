//! firmo's HubSpot connector: a typed client for HubSpot's CRM companies and properties
//! APIs in a dated version (`2026-09` by default, `2026-03`, or the legacy `v3`; see
//! [`api`]), implementing [`firmo_connect::Crm`] over the shared HTTP policy.
//!
//! What it guards against (the failures users of other HubSpot connectors report):
//! 429 storms (the account's burst limit and the search limit are paced client-side,
//! a `DAILY` 429 stops the run), companies missed past the search's 10,000-result cap
//! or at a cursor's same-millisecond boundary (see [`pull`](crate::pull)), `414 URI Too
//! Long` (long property lists go in POST bodies), 207 partial failures dropped on the
//! floor (one outcome per record, traced by `objectWriteTraceId`), and values HubSpot
//! rejects (see [`values`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), firmo_connect::ConnectorError> {
//! use firmo_connect::crm::{Crm, PullRequest};
//! use firmo_hubspot::{HubspotClient, HubspotConfig};
//!
//! let config = HubspotConfig::from_env().expect("HUBSPOT_ACCESS_TOKEN is set");
//! let hubspot = HubspotClient::new(config)?;
//! let request = PullRequest { properties: vec!["domain".into()], ..PullRequest::default() };
//! let mut cursor = None;
//! loop {
//!     let page = hubspot.pull(&request, cursor.as_ref()).await?;
//!     println!("{} companies", page.companies.len());
//!     match page.next { Some(next) => cursor = Some(next), None => break }
//! }
//! # Ok(()) }
//! ```

/// HubSpot's name in firmo's CRM registry (`--crm hubspot`) and its state.
pub const NAME: &str = "hubspot";

pub mod api;
mod client;
pub mod config;
pub mod contacts;
mod pacing;
pub mod pull;
pub mod retry;
pub mod setup;
pub mod values;
mod wire;

pub use api::{ApiVersion, UnknownApiVersion};
pub use client::{
    BATCH_LIMIT, HubspotClient, LIST_LIMIT, ListPage, MAX_QUERY_PROPERTIES_BYTES, SEARCH_LIMIT,
};
pub use config::{DEFAULT_BASE_URL, HubspotConfig, TOKEN_ENV};
pub use contacts::{ASSOCIATION_INPUT_LIMIT, contact_properties};
pub use retry::HubspotRetryPolicy;
