//! Plan → fetch → merge → validate for a batch of accounts: the part of the pipeline the
//! CRM sync and the CSV path share. Every provider answer is stored in the cache the
//! moment it arrives, before anything uses it, so a crash never pays for a lookup twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use firmo_connect::{ConnectorError, LookupOutcome, Provider};
use firmo_core::config::CoreConfig;
use firmo_core::merge::{MergedRecord, merge};
use firmo_core::rules::ValidationContext;
use firmo_core::signals::{Signals, compute_signals};
use firmo_core::validate::validate_record;
use firmo_core::{Date, ExecChange, Field, Finding, ProviderRecord, Source, UnixMillis};
use firmo_store::{CachedLookup, LookupEntry, LookupStatus, Store};
use serde::Serialize;
use tokio::sync::{Notify, Semaphore};

use crate::config::Config;
use crate::events;
use crate::plan::{Budget, Decision, ProviderPolicy, decide};

/// A source of "now" (the engine reads no clock directly, so tests can move time).
pub type Clock = Arc<dyn Fn() -> UnixMillis + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        UnixMillis(i64::try_from(ms).unwrap_or(i64::MAX))
    })
}

/// A configured provider and the engine's per-run state for it.
pub struct ProviderHandle {
    pub name: String,
    pub provider: Arc<dyn Provider>,
    pub policy: ProviderPolicy,
    /// Lookups in flight at once (the provider's HTTP client enforces the rate limit).
    pub concurrency: usize,
}

/// An account to enrich: a CRM company or a CSV row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub id: String,
    pub name: Option<String>,
    /// The domain as the CRM or CSV holds it (normalized here).
    pub domain: Option<String>,
    /// The CRM's current property values (empty for CSV rows).
    #[serde(skip)]
    pub properties: BTreeMap<String, Option<String>>,
    /// Multiplies every source's refresh interval (priority tiers).
    #[serde(skip)]
    pub refresh_factor: f64,
}

/// What happened with one provider for one account.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupState {
    /// Fresh cached answer, no credit spent.
    Cached,
    /// Asked the provider this run.
    Fetched,
    /// The provider is still working on it.
    Pending,
    /// Due but over the run's budget.
    Deferred,
    /// The provider failed for this lookup (message).
    Failed(String),
    /// Disabled or stopped for this run.
    Off,
    /// Dry run: would be fetched.
    WouldFetch,
}

/// One account after enrichment.
#[derive(Debug, Clone, Serialize)]
pub struct Enriched {
    pub account: Account,
    /// The normalized domain, or why there is none.
    pub domain: Result<String, String>,
    pub merged: MergedRecord,
    pub findings: Vec<Finding>,
    /// Signals whose inputs are known (a signal without data is absent, not `false`).
    pub signals: BTreeMap<&'static str, bool>,
    pub lookups: BTreeMap<String, LookupState>,
    /// Credits a dry run would spend on this account.
    pub planned_credits: f64,
}

impl Enriched {
    pub fn rejected(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == firmo_core::Severity::Reject)
    }
}

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
    /// Why the provider was stopped for the rest of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// Clay rows arriving at the callback receiver while a run waits for them.
#[derive(Default)]
pub struct ClayArrivals {
    notify: Notify,
}

impl ClayArrivals {
    /// Stores an arrived Clay row in the cache and wakes runs waiting on Clay. A row with
    /// no records is Clay's "nothing found": cached as a miss.
    pub fn arrived(
        &self,
        store: &Mutex<Store>,
        domain: &str,
        records: Vec<ProviderRecord>,
        at: UnixMillis,
    ) -> Result<(), firmo_store::StoreError> {
        let entry = if records.is_empty() {
            LookupEntry::new("clay", domain, at, LookupStatus::Miss)
        } else {
            LookupEntry::hit("clay", domain, at, records)
        };
        lock(store).put_lookup(&entry)?;
        self.notify.notify_waiters();
        Ok(())
    }
}

/// The per-run state shared by the batches of one run.
pub struct RunState {
    pub budget: Mutex<Budget>,
    stopped: HashMap<String, AtomicBool>,
    pub stats: Mutex<BTreeMap<String, ProviderStats>>,
    /// Until when the run may wait for Clay callbacks.
    pub clay_deadline: Option<tokio::time::Instant>,
    pub dry_run: bool,
}

impl RunState {
    pub fn new(config: &Config, providers: &[ProviderHandle], dry_run: bool) -> RunState {
        RunState {
            budget: Mutex::new(Budget::new(config.budget.max_credits_per_run)),
            stopped: providers
                .iter()
                .map(|p| (p.name.clone(), AtomicBool::new(false)))
                .collect(),
            stats: Mutex::new(
                providers
                    .iter()
                    .map(|p| (p.name.clone(), ProviderStats::default()))
                    .collect(),
            ),
            clay_deadline: None,
            dry_run,
        }
    }

    fn is_stopped(&self, provider: &str) -> bool {
        self.stopped
            .get(provider)
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    fn stop(&self, provider: &str, why: &ConnectorError) {
        if let Some(flag) = self.stopped.get(provider)
            && !flag.swap(true, Ordering::Relaxed)
        {
            events::provider_stopped(provider, why);
            self.stat(provider, |s| s.stopped = Some(why.to_string()));
        }
    }

    fn stat(&self, provider: &str, f: impl FnOnce(&mut ProviderStats)) {
        if let Some(s) = lock(&self.stats).get_mut(provider) {
            f(s);
        }
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the store's own
/// transactions keep the file consistent either way).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The shared enrichment machinery.
pub struct Enricher {
    pub core: CoreConfig,
    pub providers: Vec<ProviderHandle>,
    pub store: Arc<Mutex<Store>>,
    pub clock: Clock,
    pub clay_arrivals: Option<Arc<ClayArrivals>>,
    semaphores: Vec<Arc<Semaphore>>,
}

impl Enricher {
    pub fn new(
        core: CoreConfig,
        providers: Vec<ProviderHandle>,
        store: Arc<Mutex<Store>>,
        clock: Clock,
        clay_arrivals: Option<Arc<ClayArrivals>>,
    ) -> Enricher {
        let semaphores = providers
            .iter()
            .map(|p| Arc::new(Semaphore::new(p.concurrency.max(1))))
            .collect();
        Enricher {
            core,
            providers,
            store,
            clock,
            clay_arrivals,
            semaphores,
        }
    }

    /// Plans, fetches, merges and validates `accounts`.
    pub async fn enrich(
        &self,
        accounts: Vec<Account>,
        run: &RunState,
    ) -> Result<Vec<Enriched>, EnrichError> {
        let now = (self.clock)();
        let domains: Vec<Result<String, String>> = accounts
            .iter()
            .map(
                |a| match a.domain.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                    None => Err("no domain".to_owned()),
                    Some(raw) => firmo_core::normalize::domain(raw)
                        .map_err(|e| format!("invalid domain: {e}")),
                },
            )
            .collect();

        // Plan: one decision per (provider, distinct domain); the most urgent tier of the
        // accounts sharing a domain decides its freshness.
        let mut factor_by_domain: BTreeMap<&str, f64> = BTreeMap::new();
        for (account, domain) in accounts.iter().zip(&domains) {
            if let Ok(d) = domain {
                let f = factor_by_domain
                    .entry(d.as_str())
                    .or_insert(account.refresh_factor);
                *f = f.min(account.refresh_factor);
            }
        }
        let keys: Vec<&str> = factor_by_domain.keys().copied().collect();
        let mut cached: Vec<HashMap<String, CachedLookup>> =
            Vec::with_capacity(self.providers.len());
        {
            let store = lock(&self.store);
            for p in &self.providers {
                cached.push(
                    store
                        .get_lookups(&p.name, &keys)
                        .map_err(EnrichError::Store)?,
                );
            }
        }
        let mut decisions: Vec<BTreeMap<String, Decision>> =
            vec![BTreeMap::new(); self.providers.len()];
        {
            let mut budget = lock(&run.budget);
            for (pi, p) in self.providers.iter().enumerate() {
                for (&domain, &factor) in &factor_by_domain {
                    let decision = if run.is_stopped(&p.name) {
                        Decision::Off
                    } else {
                        let mut policy = p.policy;
                        policy.freshness = policy.freshness.mul_f64(factor.clamp(0.001, 10.0));
                        decide(cached[pi].get(domain), now, policy, &mut budget)
                    };
                    decisions[pi].insert(domain.to_owned(), decision);
                }
            }
        }

        let mut states: Vec<BTreeMap<String, LookupState>> =
            vec![BTreeMap::new(); self.providers.len()];
        for (pi, p) in self.providers.iter().enumerate() {
            for (domain, decision) in &decisions[pi] {
                let state = match decision {
                    Decision::Reuse => {
                        run.stat(&p.name, |s| s.cache_hits += 1);
                        LookupState::Cached
                    }
                    Decision::Wait { .. } => {
                        run.stat(&p.name, |s| s.pending += 1);
                        LookupState::Pending
                    }
                    Decision::Defer { .. } => {
                        run.stat(&p.name, |s| s.deferred += 1);
                        events::lookup_deferred(&p.name, domain);
                        LookupState::Deferred
                    }
                    Decision::Off => LookupState::Off,
                    Decision::Fetch { .. } if run.dry_run => LookupState::WouldFetch,
                    Decision::Fetch { .. } => continue,
                };
                states[pi].insert(domain.clone(), state);
            }
        }

        if !run.dry_run {
            self.fetch_all(&decisions, &mut states, &mut cached, run)
                .await?;
            self.wait_for_clay(&decisions, &mut states, &mut cached, run)
                .await?;
        }

        let today = now
            .date()
            .unwrap_or_else(|| Date::new(1970, 1, 1).expect("valid date"));
        let ctx = ValidationContext {
            today,
            quality: self.core.quality.clone(),
        };
        let mut out = Vec::with_capacity(accounts.len());
        for (account, domain) in accounts.into_iter().zip(domains) {
            let mut records: Vec<ProviderRecord> = Vec::new();
            let mut lookups = BTreeMap::new();
            let mut planned_credits = 0.0;
            if let Ok(d) = &domain {
                for (pi, p) in self.providers.iter().enumerate() {
                    if let Some(entry) = cached[pi].get(d) {
                        // Stale and pending-but-previously-answered data still counts.
                        records.extend(entry.records.iter().cloned());
                    }
                    if let Some(state) = states[pi].get(d) {
                        lookups.insert(p.name.clone(), state.clone());
                    }
                    planned_credits += decisions[pi].get(d).map_or(0.0, |x| x.credits());
                }
            }
            let merged = merge(&records, &self.core.merge);
            let findings = validate_record(&merged, &ctx);
            let exec_changes: Vec<ExecChange> = records
                .iter()
                .filter(|r| r.source == Source::LinkedIn)
                .flat_map(|r| r.exec_changes.iter().cloned())
                .collect();
            let has_linkedin = records.iter().any(|r| r.source == Source::LinkedIn);
            let signals = known_signals(
                &merged,
                compute_signals(&merged, &exec_changes, today, &self.core.signals),
                has_linkedin,
            );
            out.push(Enriched {
                account,
                domain,
                merged,
                findings,
                signals,
                lookups,
                planned_credits: if run.dry_run { planned_credits } else { 0.0 },
            });
        }
        Ok(out)
    }

    async fn fetch_all(
        &self,
        decisions: &[BTreeMap<String, Decision>],
        states: &mut [BTreeMap<String, LookupState>],
        cached: &mut [HashMap<String, CachedLookup>],
        run: &RunState,
    ) -> Result<(), EnrichError> {
        let mut tasks = tokio::task::JoinSet::new();
        for (pi, p) in self.providers.iter().enumerate() {
            for (domain, decision) in &decisions[pi] {
                let Decision::Fetch { credits } = *decision else {
                    continue;
                };
                let provider = Arc::clone(&p.provider);
                let semaphore = Arc::clone(&self.semaphores[pi]);
                let domain = domain.clone();
                tasks.spawn(async move {
                    let Ok(_permit) = semaphore.acquire_owned().await else {
                        return (pi, domain, credits, None);
                    };
                    let answer = provider.lookup(&domain).await;
                    (pi, domain, credits, Some(answer))
                });
            }
        }
        let mut first_store_error = None;
        while let Some(joined) = tasks.join_next().await {
            let Ok((pi, domain, credits, answer)) = joined else {
                continue;
            };
            let name = &self.providers[pi].name;
            let now = (self.clock)();
            let Some(answer) = answer else { continue };
            // A provider stopped while this lookup was in flight: its answer still
            // counts (it may have been paid for), but nothing new is sent.
            let (entry, state) = match answer {
                Ok(LookupOutcome::Found(records)) => {
                    run.stat(name, |s| {
                        s.lookups += 1;
                        s.found += 1;
                        s.credits += credits;
                    });
                    events::credit_spent(name, &domain, credits);
                    (
                        LookupEntry::hit(name.clone(), domain.clone(), now, records)
                            .charged(credits),
                        LookupState::Fetched,
                    )
                }
                Ok(LookupOutcome::NotFound) => {
                    run.stat(name, |s| {
                        s.lookups += 1;
                        s.not_found += 1;
                        s.credits += credits;
                    });
                    events::credit_spent(name, &domain, credits);
                    (
                        LookupEntry::new(name.clone(), domain.clone(), now, LookupStatus::Miss)
                            .charged(credits),
                        LookupState::Fetched,
                    )
                }
                Ok(LookupOutcome::Pending {
                    retry_after,
                    charged,
                }) => {
                    // The connector says whether the provider billed the request already.
                    let charged = if charged { credits } else { 0.0 };
                    lock(&run.budget).refund(credits - charged);
                    run.stat(name, |s| {
                        s.lookups += 1;
                        s.pending += 1;
                        s.credits += charged;
                    });
                    let retry = retry_after.unwrap_or(self.providers[pi].policy.pending_retry);
                    let until = UnixMillis(now.0.saturating_add(retry.as_millis() as i64));
                    // Keep whatever older answer we had: a pending refresh doesn't erase it.
                    let mut entry =
                        LookupEntry::new(name.clone(), domain.clone(), now, LookupStatus::Pending)
                            .with_retry_after(until)
                            .charged(charged);
                    if let Some(old) = cached[pi].get(&domain) {
                        entry.records.clone_from(&old.records);
                    }
                    (entry, LookupState::Pending)
                }
                Err(error) => {
                    lock(&run.budget).refund(credits);
                    run.stat(name, |s| s.errors += 1);
                    if error.stops_service() {
                        run.stop(name, &error);
                    }
                    events::lookup_failed(name, &domain, &error);
                    let mut entry =
                        LookupEntry::new(name.clone(), domain.clone(), now, LookupStatus::Error)
                            .with_error(error.to_string());
                    if let Some(old) = cached[pi].get(&domain) {
                        entry.records.clone_from(&old.records);
                    }
                    (entry, LookupState::Failed(error.to_string()))
                }
            };
            // Stored before anything uses it: the crash-safety promise of the cache.
            if let Err(e) = lock(&self.store).put_lookup(&entry) {
                first_store_error.get_or_insert(e);
            }
            states[pi].insert(domain.clone(), state);
            cached[pi].insert(domain, to_cached(entry));
        }
        match first_store_error {
            Some(e) => Err(EnrichError::Store(e)),
            None => Ok(()),
        }
    }

    /// Clay answers through its callback: wait (bounded by the run's deadline) for the
    /// rows this batch pushed, then read them from the cache the receiver wrote.
    async fn wait_for_clay(
        &self,
        decisions: &[BTreeMap<String, Decision>],
        states: &mut [BTreeMap<String, LookupState>],
        cached: &mut [HashMap<String, CachedLookup>],
        run: &RunState,
    ) -> Result<(), EnrichError> {
        let (Some(arrivals), Some(deadline)) = (&self.clay_arrivals, run.clay_deadline) else {
            return Ok(());
        };
        let Some(pi) = self.providers.iter().position(|p| p.name == "clay") else {
            return Ok(());
        };
        loop {
            // Only rows pushed by this run: a row pushed by an earlier run was addressed
            // to that run's receiver and arrives (if ever) into the cache, not here.
            let waiting: Vec<String> = states[pi]
                .iter()
                .filter(|(d, s)| {
                    **s == LookupState::Pending
                        && matches!(decisions[pi].get(*d), Some(Decision::Fetch { .. }))
                })
                .map(|(d, _)| d.clone())
                .collect();
            if waiting.is_empty() {
                return Ok(());
            }
            // Register interest before checking the cache, so a row that lands between
            // the check and the wait still wakes us.
            let notified = arrivals.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let keys: Vec<&str> = waiting.iter().map(String::as_str).collect();
            let fresh = lock(&self.store)
                .get_lookups("clay", &keys)
                .map_err(EnrichError::Store)?;
            let mut arrived_any = false;
            for (domain, entry) in fresh {
                if entry.status == LookupStatus::Hit || entry.status == LookupStatus::Miss {
                    states[pi].insert(domain.clone(), LookupState::Fetched);
                    run.stat("clay", |s| {
                        s.found += 1;
                        s.pending = s.pending.saturating_sub(1);
                    });
                    cached[pi].insert(domain, entry);
                    arrived_any = true;
                }
            }
            if arrived_any {
                continue;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(());
            }
        }
    }
}

fn to_cached(entry: LookupEntry) -> CachedLookup {
    CachedLookup {
        provider: entry.provider,
        key: entry.key,
        fetched_at: entry.fetched_at,
        status: entry.status,
        records: entry.records,
        error: entry.error,
        retry_after: entry.retry_after,
        credits: entry.credits,
        attempts: entry.attempts,
    }
}

/// Only signals whose inputs exist: "no funding data" must not read as "not recently funded".
fn known_signals(
    merged: &MergedRecord,
    signals: Signals,
    has_linkedin: bool,
) -> BTreeMap<&'static str, bool> {
    let mut out = BTreeMap::new();
    if merged.get(Field::LastFundingDate).is_some() {
        out.insert("post_funding", signals.post_funding);
    }
    if merged.get(Field::EmployeeGrowth6mo).is_some()
        || merged.get(Field::RecentJobPostings).is_some()
    {
        out.insert("hiring_surge", signals.hiring_surge);
    }
    if merged.get(Field::TechStack).is_some() {
        out.insert("cloud_native", signals.cloud_native);
    }
    if has_linkedin {
        out.insert("exec_change", signals.exec_change);
    }
    out
}

/// Why a batch could not be enriched at all.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    #[error(transparent)]
    Store(#[from] firmo_store::StoreError),
}

/// How long the run may wait for Clay callbacks in total.
pub fn clay_deadline(wait: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + wait
}
