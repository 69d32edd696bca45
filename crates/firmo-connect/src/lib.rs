//! The connector interface every CRM and enrichment provider implements, the one error
//! type they all return, and the shared HTTP policy (rate limiting, retries that honour
//! `Retry-After`, timeouts, response-size limits) so no connector hand-rolls its own.

pub mod contacts;
pub mod crm;
pub mod env;
pub mod error;
pub mod http;
pub mod person;
pub mod provider;
pub mod secret;
#[cfg(feature = "test-support")]
pub mod testing;

pub use contacts::ContactCrm;
pub use crm::Crm;
pub use env::env_var;
pub use error::{ConnectorError, Service};
pub use http::{HttpClient, HttpPolicy, HttpResponse, HttpStats, RetryAction, RetryPolicy};
pub use person::{PersonOutcome, PersonProvider, PersonQuery};
pub use provider::{BatchAnswer, Billing, LookupOutcome, Provider};
pub use secret::Secret;
