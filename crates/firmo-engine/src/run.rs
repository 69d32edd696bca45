//! A run's shared state and its lifecycle in the store (start, outcomes, credits, finish),
//! written once for `sync` and `enrich`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use firmo_connect::ConnectorError;
use firmo_core::UnixMillis;
use firmo_store::{AccountOutcome, JournalEntry, MergedSnapshot, RunId, RunOutcome, RunStart};
use serde::Serialize;

use crate::Clock;
use crate::budget::{MonthToDate, MonthlyLimits};
use crate::events;
use crate::fetch::ProviderHandle;
use crate::plan::{Budget, Claims};
use crate::state::{StateError, StoreHandle};

/// Per provider counters for the run report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProviderStats {
    pub lookups: u64,
    pub credits: f64,
    pub cache_hits: u64,
    pub found: u64,
    pub not_found: u64,
    pub pending: u64,
    pub deferred: u64,
    pub errors: u64,
    /// Accounts the waterfall did not ask this provider about.
    pub not_needed: u64,
    /// What asking it about them anyway would have cost (nothing where its cached answer
    /// was fresh).
    pub credits_saved: f64,
    /// Dry run: credits planned only in case an earlier source misses.
    pub planned_if_missed: f64,
    /// Pushes asked again at once because the run that made them was interrupted before
    /// their answers came back (the provider bills the new push too).
    pub repushed: u64,
    /// Lookups another run (a fleet portal on the same state) was making at the same
    /// time: waited for and read from the cache instead of bought again.
    pub peer_waits: u64,
    /// Why the provider was stopped for the rest of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// What the pages of one run share.
pub struct RunState {
    budget: Mutex<Budget>,
    stopped: HashMap<&'static str, AtomicBool>,
    stats: Mutex<BTreeMap<&'static str, ProviderStats>>,
    claims: Mutex<Claims>,
    /// Credits each provider with a monthly limit may still spend.
    month_left: Mutex<HashMap<&'static str, f64>>,
    /// Pages that waited on another page's lookup instead of making their own.
    joins: std::sync::atomic::AtomicU64,
    joined: tokio::sync::Notify,
    pub(crate) clock: Clock,
    /// The run each paid answer is charged to as it is stored (none: nothing is recorded).
    pub(crate) id: Option<RunId>,
    /// How long a page waits for an answer pushed to it (Clay's callback).
    pub(crate) push_wait: Duration,
    pub dry_run: bool,
}

impl RunState {
    pub fn new(
        providers: &[ProviderHandle],
        budget: f64,
        clock: Clock,
        push_wait: Duration,
        dry_run: bool,
    ) -> RunState {
        RunState {
            budget: Mutex::new(Budget::new(budget)),
            stopped: providers
                .iter()
                .map(|p| (p.name, AtomicBool::new(false)))
                .collect(),
            stats: Mutex::new(
                providers
                    .iter()
                    .map(|p| (p.name, ProviderStats::default()))
                    .collect(),
            ),
            claims: Mutex::new(Claims::new()),
            month_left: Mutex::new(HashMap::new()),
            joins: std::sync::atomic::AtomicU64::new(0),
            joined: tokio::sync::Notify::new(),
            clock,
            id: None,
            push_wait,
            dry_run,
        }
    }

    /// Charges every paid answer to run `id` the moment it is stored.
    #[must_use]
    pub fn recording(mut self, record: &RunRecord) -> RunState {
        self.id = record.recorded.then_some(record.id);
        self
    }

    pub(crate) fn is_stopped(&self, provider: &str) -> bool {
        self.stopped
            .get(provider)
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    pub(crate) fn stop(&self, provider: &'static str, why: &ConnectorError) {
        if let Some(flag) = self.stopped.get(provider)
            && !flag.swap(true, Ordering::Relaxed)
        {
            events::provider_stopped(provider, why);
            self.stat(provider, |s| s.stopped = Some(why.to_string()));
        }
    }

    pub(crate) fn stat(&self, provider: &str, f: impl FnOnce(&mut ProviderStats)) {
        if let Some(s) = lock(&self.stats).get_mut(provider) {
            f(s);
        }
    }

    pub(crate) fn budget(&self) -> MutexGuard<'_, Budget> {
        lock(&self.budget)
    }

    /// Returns credits reserved for a lookup that was not paid for.
    pub(crate) fn refund(&self, provider: &str, credits: f64) {
        self.budget().refund(credits);
        if let Some(left) = lock(&self.month_left).get_mut(provider) {
            *left += credits;
        }
    }

    /// Holds the run to what the budget period has left: overall (the run's cap shrinks
    /// to it) and per provider.
    #[must_use]
    pub fn within_month(self, month: &MonthToDate, limits: &MonthlyLimits) -> RunState {
        if let Some(left) = month.left_total(limits) {
            let mut budget = self.budget();
            if left < budget.limit {
                budget.limit = left;
                budget.monthly = true;
            }
        }
        {
            let mut caps = lock(&self.month_left);
            for name in self.stopped.keys() {
                if let Some(left) = month.left_for(limits, name) {
                    caps.insert(name, left);
                }
            }
        }
        self
    }

    /// Reserves `credits` of `provider`'s monthly limit, if it has one; false when they
    /// don't fit.
    pub(crate) fn take_from_month(&self, provider: &str, credits: f64) -> bool {
        match lock(&self.month_left).get_mut(provider) {
            Some(left) if *left + 1e-9 >= credits => {
                *left -= credits;
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    pub(crate) fn claims(&self) -> MutexGuard<'_, Claims> {
        lock(&self.claims)
    }

    pub(crate) fn release_claim(&self, provider: usize, domain: &str) {
        self.claims().remove(&(provider, domain.to_owned()));
    }

    pub(crate) fn count_join(&self) {
        self.joins.fetch_add(1, Ordering::Relaxed);
        self.joined.notify_waiters();
    }

    /// How many times a page took another page's lookup instead of making its own.
    pub fn joins(&self) -> u64 {
        self.joins.load(Ordering::Relaxed)
    }

    /// Resolves once at least `n` joins have happened.
    pub async fn joined_at_least(&self, n: u64) {
        loop {
            let notified = self.joined.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.joins() >= n {
                return;
            }
            notified.await;
        }
    }

    pub fn stats(&self) -> BTreeMap<String, ProviderStats> {
        lock(&self.stats)
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    pub fn planned_credits(&self) -> f64 {
        self.budget().planned
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (every value
/// behind these locks is a counter or a map that stays consistent between statements).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A run as the store records it.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub id: RunId,
    store: StoreHandle,
    /// False on a read-only state (a dry run on a file the user may not write): the run
    /// is planned and shown, not recorded.
    recorded: bool,
}

/// What one page of a run leaves in the store.
#[derive(Debug, Default)]
pub struct PageRecord {
    pub outcomes: Vec<AccountOutcome>,
    pub snapshots: Vec<MergedSnapshot>,
    /// Journal entries to record with the page (values adopted as firmo's).
    pub journal: Vec<JournalEntry>,
}

/// Runs whose merged snapshots are kept for reports.
const KEEP_SNAPSHOT_RUNS: usize = 10;

impl RunRecord {
    pub async fn start(store: &StoreHandle, start: RunStart) -> Result<RunRecord, StateError> {
        let id = store
            .call(move |s| {
                if s.is_read_only() {
                    return Ok(None);
                }
                s.start_run(&start).map(Some)
            })
            .await?;
        Ok(RunRecord {
            id: id.unwrap_or(RunId(0)),
            store: store.clone(),
            recorded: id.is_some(),
        })
    }

    /// Records a page's outcomes, snapshots and journal entries in one transaction.
    pub async fn page(&self, page: PageRecord) -> Result<(), StateError> {
        if !self.recorded {
            return Ok(());
        }
        let id = self.id;
        let recorded = self
            .store
            .call(move |s| {
                s.write(|w| {
                    w.record_outcomes(id, &page.outcomes)?;
                    w.record_merged(id, &page.snapshots)?;
                    if !page.journal.is_empty() {
                        w.record_writes(id, &page.journal)?;
                    }
                    Ok(())
                })?;
                Ok(page)
            })
            .await?;
        // Freed here, not on the store thread every stage waits on: a page's documents
        // are thousands of small allocations.
        drop(recorded);
        Ok(())
    }

    /// Records the outcome and the summary, and prunes old snapshots. (Credits are on the
    /// run's ledger already: each was charged as its answer was stored.)
    pub async fn finish(
        self,
        finished: UnixMillis,
        outcome: RunOutcome,
        summary: serde_json::Value,
    ) -> Result<(), StateError> {
        if !self.recorded {
            return Ok(());
        }
        let id = self.id;
        self.store
            .call(move |s| {
                // Keys leased and never answered (a provider failed or stopped) are free
                // for other runs from now on.
                s.write(|w| {
                    w.finish_run(id, finished, outcome, &summary)?;
                    w.release_leases(id)
                })?;
                // Snapshots are the store's bulk (one document per account per run):
                // keep the recent runs `firmo report` reads.
                if let Err(e) = s.prune_merged(KEEP_SNAPSHOT_RUNS) {
                    tracing::warn!(error = %e, "could not prune old merged snapshots");
                }
                Ok(())
            })
            .await
    }
}
