//! A local HubSpot-compatible CRM and provider emulators with demo data.
//!
//! The sandbox speaks the subset of HubSpot's CRM v3 API firmo uses, faithful to
//! HubSpot's published contract (its OpenAPI files are this crate's test fixtures):
//! bearer auth, companies (list, get, create, update, batch read/update/create, search),
//! company properties and groups, HubSpot's validation and error bodies, its three
//! rate-limit budgets and their headers. Tests turn fault knobs (5xx, 429 bursts,
//! latency, dropped connections, failing ids) in-process or over `/_sandbox/faults`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use firmo_sandbox::{SandboxConfig, start};
//! let sandbox = start(SandboxConfig::default(), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("{} with token {}", sandbox.base_url(), sandbox.token());
//! sandbox.shutdown().await
//! # }
//! ```
//!
//! Batch semantics: every input gets its own outcome. All succeed → 200 (201 for
//! create); some fail → 207 with `numErrors` and one `errors[]` entry per failed input,
//! whose `context` carries `ids` and, when the input had one, `objectWriteTraceId`;
//! all fail → a plain 400 (404 when every id is missing) naming every id. A batch read
//! whose ids all miss is a 207 with empty `results`, as HubSpot answers it.
//!
//! With `ui_dir` set (the repository's `wasm/`), the sandbox also serves the demo CRM
//! company card at `/ui/companies/{id}` (see [`ui`]).
//!
//! Admin endpoints (no auth, never faulted): `GET/PUT /_sandbox/faults`,
//! `GET /_sandbox/stats`, `POST /_sandbox/stats/reset`, `GET /_sandbox/companies/{id}`,
//! `GET /_sandbox/health`.

mod associations;
mod companies;
mod config;
mod contact_seed;
mod contacts;
pub mod emulators;
pub mod endpoints;
mod error;
mod middleware;
mod portal;
mod properties;
mod props_api;
mod rules;
mod search;
mod seed;
mod server;
mod state;
pub mod testing;
mod time;
pub mod ui;
mod versions;

pub use associations::AssociationLabel;
pub use config::{
    DEFAULT_CUSTOM_PROPERTY_LIMIT, DEFAULT_PORTAL_ID, DEFAULT_SCOPES, Faults, RateLimit,
    SandboxArgs, SandboxConfig, env_var, ignore_blank_env,
};
pub use contacts::Contact;
pub use emulators::people::has_recent_exec;
pub use properties::{ModificationMetadata, PropertyDef, PropertyGroup, PropertyOption};
pub use rules::PortalRule;
pub use server::{SandboxHandle, router, start};
pub use state::{Company, SandboxState, Stats};

/// HubSpot's limits the sandbox enforces, for clients and tests to agree on.
pub mod limits {
    /// Most inputs a batch call takes.
    pub const BATCH_INPUTS: usize = crate::companies::BATCH_LIMIT;
    /// Most results one search page returns.
    pub const SEARCH_PAGE: usize = crate::search::MAX_LIMIT;
    /// Results one search query can reach (paging past them is a 400).
    pub const SEARCH_WINDOW: usize = crate::search::WINDOW;
    /// Most filterGroups in a search.
    pub const SEARCH_FILTER_GROUPS: usize = crate::search::MAX_GROUPS;
    /// Most filters in one filterGroup.
    pub const SEARCH_FILTERS_PER_GROUP: usize = crate::search::MAX_FILTERS_PER_GROUP;
    /// Longest request URI (path and query) before a 414.
    pub const URI_LENGTH: usize = crate::middleware::MAX_URI;
    /// Most filters in one search.
    pub const SEARCH_FILTERS: usize = crate::search::MAX_FILTERS;
}
