//! Test support for connectors (feature `test-support`, enabled only in
//! `[dev-dependencies]`): the [`ScriptedServer`] every connector's tests talk to, and the
//! connector contract ([`check_provider`], [`check_crm`]) that injects the failure modes
//! of docs/specs/connector.md and asserts each connector handles them alike.
//!
//! A provider's tests run the whole contract in one call:
//!
//! ```ignore
//! let report = check_provider(&clearbit_contract(), |base, key, policy| {
//!     ClearbitClient::with_policy(ClearbitConfig { base_url: base.into(), ..Default::default() }, key, policy)
//! })
//! .await;
//! assert!(report.unsupported.is_empty());
//! ```

pub mod contract;
pub mod scripted;

use std::time::Duration;

pub use contract::{
    BatchCase, Case, CrmContract, ErrorKind, Expect, Expected, MalformedCase, Mode, PendingCase,
    ProviderContract, Report, check_crm, check_provider, contract_policy,
};
pub use scripted::{EXHAUSTED_STATUS, Reply, ScriptedServer, Seen, closed_port_url};

use firmo_core::ProviderRecord;

use crate::http::HttpPolicy;
use crate::provider::LookupOutcome;

/// `policy` with millisecond backoffs, for tests against a local server or the sandbox
/// (its rate limit and timeout are kept).
#[must_use]
pub fn quick_backoff(mut policy: HttpPolicy) -> HttpPolicy {
    policy.base_backoff = Duration::from_millis(5);
    policy.max_backoff = Duration::from_millis(20);
    policy
}

/// The records of a [`LookupOutcome::Found`].
///
/// # Panics
/// On any other outcome, naming it (a test assertion).
pub fn expect_found(outcome: LookupOutcome) -> Vec<ProviderRecord> {
    match outcome {
        LookupOutcome::Found(records) => records,
        other => panic!("expected Found, got {other:?}"),
    }
}
