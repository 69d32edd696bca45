//! The enrichment provider interface.

use std::time::Duration;

use async_trait::async_trait;
use firmo_core::{ProviderRecord, Source};

use crate::error::ConnectorError;

/// A provider's answer for one domain. Every variant is a real, cacheable outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupOutcome {
    /// The provider knows the company. One call may yield records for several sources
    /// (a Clay row carries Clay's own firmographics and LinkedIn data).
    Found(Vec<ProviderRecord>),
    /// The provider has no company for this domain: cache it, don't pay for it again.
    NotFound,
    /// Accepted but not answered yet (Clearbit 202, a Clay row awaiting its callback):
    /// ask again on a later pass, no sooner than `retry_after` when given. `charged`
    /// says whether the provider billed the request already (a row pushed into a Clay
    /// table runs its columns at once) or bills only when the answer is ready (a queued
    /// Clearbit lookup): the engine charges the run from this, never from a name.
    Pending {
        retry_after: Option<Duration>,
        charged: bool,
    },
}

/// An enrichment provider: looks companies up by domain.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Stable name, as in config (`clearbit`, `builtwith`, `crunchbase`, `clay`).
    fn name(&self) -> &'static str;

    /// The sources this provider's records can carry.
    fn sources(&self) -> &'static [Source];

    /// Credits one lookup costs (the engine budgets with it).
    fn cost_per_lookup(&self) -> f64;

    /// Whether answers to pending lookups are pushed back to firmo (a callback receiver
    /// should run during a run, and a page may wait for them).
    fn answers_by_push(&self) -> bool {
        false
    }

    /// Looks up one company by its normalized domain.
    async fn lookup(&self, domain: &str) -> Result<LookupOutcome, ConnectorError>;
}
