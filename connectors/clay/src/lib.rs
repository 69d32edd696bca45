//! firmo's Clay adapter. Clay has no synchronous lookup API for most plans; the real flow
//! is a table webhook in, Clay's enrichment columns, and an "HTTP API" column that POSTs
//! the enriched row to a URL of ours. This crate builds both ends:
//!
//! - [`ClayClient`] (the [`firmo_connect::Provider`]): pushes an account's domain to the
//!   table webhook and answers pending;
//! - [`receiver::router`]: the authenticated callback endpoint that parses arriving rows
//!   and hands them to a [`receiver::ClayRowSink`] (the engine's cache);
//! - [`import::import_csv`]: a table's CSV export, for `firmo import clay FILE.csv`;
//! - [`person`]: person enrichment through a Clay people table ([`ClayPeopleClient`], a
//!   [`firmo_connect::PersonProvider`], and [`people_router`] for its rows).
//!
//! Clay rows carry LinkedIn data (six-month employee growth, job postings, executive
//! changes): those values are filed under [`firmo_core::Source::LinkedIn`], Clay's own
//! firmographics under [`firmo_core::Source::Clay`], so precedence rules can tell them
//! apart. The column mapping is documented in [`parse`].

/// Clay's name in firmo's provider registry, its cache and its stats.
pub const NAME: &str = "clay";

pub mod client;
pub mod config;
pub mod import;
pub mod parse;
pub mod person;
pub mod receiver;
pub mod retry;

pub use client::ClayClient;
pub use config::ClayConfig;
pub use import::{ClayImport, ImportError, RowError, import_csv};
pub use person::{
    ClayPeopleClient, ClayPersonSink, PEOPLE_CALLBACK_PATH, PersonRow, PersonRowError,
    parse_person_row, people_router,
};
pub use receiver::{ClayRowSink, ReceiverConfig, router};

#[cfg(test)]
mod tests;
