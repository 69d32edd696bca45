//! Fetch: ask the providers what the plan says to ask, store every answer before anything
//! uses it (so a crash never pays for a lookup twice), and hand each answer to every page
//! that waits on it. Answers pushed later (Clay's callback) are awaited here too.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use firmo_connect::{BatchAnswer, ConnectorError, LookupOutcome, Provider};
use firmo_core::UnixMillis;
use firmo_store::{CachedLookup, LookupEntry, LookupStatus};
use serde::Serialize;
use tokio::sync::{Notify, Semaphore};

use crate::events;
use crate::plan::{Claim, Decision, ProviderPolicy};
use crate::run::RunState;
use crate::state::{StateError, StoreHandle};

/// A configured provider and how the engine drives it.
pub struct ProviderHandle {
    pub name: &'static str,
    pub provider: Arc<dyn Provider>,
    pub policy: ProviderPolicy,
    /// Lookups in flight at once (the provider's HTTP client enforces the rate limit).
    pub concurrency: usize,
    /// A receiver for this provider's pushed answers runs during the run, so a pending
    /// lookup made now is worth waiting for.
    pub pushed: bool,
    /// Asked about every account, whatever the waterfall says (`[sources.X] always`).
    pub always: bool,
    pub(crate) permits: Arc<Semaphore>,
}

impl ProviderHandle {
    pub fn new(
        provider: Arc<dyn Provider>,
        policy: ProviderPolicy,
        concurrency: usize,
    ) -> ProviderHandle {
        ProviderHandle {
            name: provider.name(),
            provider,
            policy,
            concurrency,
            pushed: false,
            always: false,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }
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
    /// Due but over a monthly budget: asked once the period resets.
    DeferredMonthly,
    /// The provider failed for this lookup (message).
    Failed(String),
    /// Disabled or stopped for this run.
    Off,
    /// Dry run: would be fetched.
    WouldFetch,
    /// The waterfall did not ask: every field this provider could fill was filled by the
    /// providers before it (or is passive).
    NotNeeded,
}

/// One (provider, domain) resolved for this run: what the cache now holds and how it got
/// there. Shared by every page that needed it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub entry: Option<Arc<CachedLookup>>,
    pub state: LookupState,
    /// Pushed this run: worth waiting for until this instant.
    pub wait_until: Option<tokio::time::Instant>,
}

/// Pushed answers: which pushes are on their way out, and who waits for which answer.
/// An arrival wakes only the pages waiting on that domain, and hands them the key, so a page
/// reads only what arrived (with many pages in flight, waking every page to re-read all
/// it waits on cost more than the rest of the run).
#[derive(Debug, Default)]
pub struct Arrivals {
    pushing: std::sync::Mutex<std::collections::HashSet<(&'static str, String)>>,
    /// Every page waiting on a key: two pages with accounts sharing a domain both wait
    /// for its one row (the page that pushed it and the page that joined its claim).
    waiting: std::sync::Mutex<HashMap<(String, String), Waiters>>,
}

/// The pages waiting on one (provider, domain).
type Waiters = Vec<Arc<Waiter>>;

/// One page waiting for pushed answers.
#[derive(Debug, Default)]
struct Waiter {
    notify: Notify,
    /// (provider, domain) of answers stored since the page last looked.
    arrived: std::sync::Mutex<Vec<(String, String)>>,
}

impl Arrivals {
    /// An answer for `domain` is in the store: wakes every page waiting for it.
    pub fn arrived(&self, provider: &str, domain: &str) {
        let key = (provider.to_owned(), domain.to_owned());
        let waiters = crate::run::lock(&self.waiting)
            .remove(&key)
            .unwrap_or_default();
        for waiter in waiters {
            crate::run::lock(&waiter.arrived).push(key.clone());
            // A stored permit: the page wakes even if it is not waiting yet.
            waiter.notify.notify_one();
        }
    }

    /// Whether a push for `domain` is being sent (its pending entry not stored yet).
    pub fn is_pushing(&self, provider: &str, domain: &str) -> bool {
        crate::run::lock(&self.pushing)
            .iter()
            .any(|(p, d)| *p == provider && d == domain)
    }

    fn set_pushing(&self, provider: &'static str, domain: &str, on: bool) {
        let mut pushing = crate::run::lock(&self.pushing);
        if on {
            pushing.insert((provider, domain.to_owned()));
        } else {
            pushing.remove(&(provider, domain.to_owned()));
        }
    }

    fn register(&self, keys: &[(String, String)]) -> Arc<Waiter> {
        let waiter = Arc::new(Waiter::default());
        let mut waiting = crate::run::lock(&self.waiting);
        for key in keys {
            waiting
                .entry(key.clone())
                .or_default()
                .push(Arc::clone(&waiter));
        }
        waiter
    }

    fn unregister(&self, waiter: &Arc<Waiter>) {
        let mut waiting = crate::run::lock(&self.waiting);
        for waiters in waiting.values_mut() {
            waiters.retain(|w| !Arc::ptr_eq(w, waiter));
        }
        waiting.retain(|_, waiters| !waiters.is_empty());
    }
}

/// What the fetch stage works with, for one page.
pub(crate) struct Fetcher<'a> {
    pub providers: &'a [ProviderHandle],
    pub store: &'a StoreHandle,
    pub run: &'a RunState,
    pub arrivals: &'a Arrivals,
    /// Lease keys before asking: other runs share the cache (`Enricher::shares_cache`).
    pub leases: bool,
}

/// What [`Fetcher::resolve`] settled, and what it left to another run.
pub(crate) struct Resolution {
    pub answers: Vec<(usize, String, Answer)>,
    /// Claims on keys another live run holds a lease on: not asked, not settled.
    pub held_elsewhere: Vec<Claim>,
}

/// A lookup in flight: its claim and the answer the cache held before it.
type Asked = HashMap<(usize, String), (Claim, Option<CachedLookup>)>;
/// What a lookup task returns, per domain of its batch: which claim, the credits
/// reserved, and when it was sent with the provider's answer and what it billed for it
/// (`None`: never sent).
type Sent = Vec<(usize, String, f64, Option<(UnixMillis, BatchAnswer)>)>;

impl Fetcher<'_> {
    /// Settles the page's claims: answers that need no call at once, the rest after their
    /// lookup's answer is stored. Returns every claim's answer, but for the claims whose
    /// key another run is asking about right now (`peers.rs`): those come back open, their
    /// credits refunded, to be decided again once that run's answer is stored.
    pub(crate) async fn resolve(
        &self,
        claims: Vec<(Claim, Decision)>,
        mut cached: Vec<HashMap<String, CachedLookup>>,
    ) -> Result<Resolution, StateError> {
        let mut resolved = Vec::with_capacity(claims.len());
        let mut tasks = tokio::task::JoinSet::new();
        let mut asked = Asked::new();
        let mut to_ask: BTreeMap<usize, Vec<(String, f64)>> = BTreeMap::new();
        for (claim, decision) in claims {
            let entry = cached[claim.provider].remove(&claim.domain);
            match self.without_asking(&claim, decision) {
                Some(state) => {
                    let answer = Answer {
                        entry: entry.map(Arc::new),
                        state,
                        wait_until: None,
                    };
                    resolved.push(claim.settle(answer, self.run));
                }
                None => {
                    to_ask
                        .entry(claim.provider)
                        .or_default()
                        .push((claim.domain.clone(), decision.credits()));
                    asked.insert((claim.provider, claim.domain.clone()), (claim, entry));
                }
            }
        }
        let mut held_elsewhere = Vec::new();
        if let Some(id) = self.run.id
            && self.leases
            && !to_ask.is_empty()
        {
            let seen = |pi: usize, domain: &str| {
                asked
                    .get(&(pi, domain.to_owned()))
                    .and_then(|(_, entry)| entry.as_ref().map(|e| e.fetched_at))
            };
            let held =
                crate::peers::lease(self.store, self.providers, self.run, id, &mut to_ask, &seen)
                    .await?;
            for (pi, domain, credits) in held {
                self.run.refund(self.providers[pi].name, credits);
                if let Some((claim, _)) = asked.remove(&(pi, domain)) {
                    held_elsewhere.push(claim);
                }
            }
        }
        for (pi, domains) in to_ask {
            let size = self.providers[pi].provider.max_batch().max(1);
            for batch in domains.chunks(size) {
                self.ask(&mut tasks, pi, batch.to_vec());
            }
        }
        let mut first_error = None;
        // Each batch's answers are stored the moment it returns, not once the page's last
        // lookup is back: a run killed meanwhile loses only what was still in flight.
        while let Some(joined) = tasks.join_next().await {
            let Ok(batch) = joined else {
                continue;
            };
            self.record_batch(batch, &mut asked, &mut resolved, &mut first_error)
                .await;
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(Resolution {
                answers: resolved,
                held_elsewhere,
            }),
        }
    }

    /// Stores and settles the answers of one returned batch.
    async fn record_batch(
        &self,
        batch: Sent,
        asked: &mut Asked,
        resolved: &mut Vec<(usize, String, Answer)>,
        first_error: &mut Option<StateError>,
    ) {
        for (pi, domain, credits, sent) in batch {
            let Some((claim, old)) = asked.remove(&(pi, domain)) else {
                continue;
            };
            let answer = match sent {
                None => {
                    self.run.refund(self.providers[pi].name, credits);
                    let p = &self.providers[pi];
                    if p.pushed {
                        self.arrivals.set_pushing(p.name, &claim.domain, false);
                    }
                    Ok(failed_answer(old, "not asked"))
                }
                Some((sent_at, answer)) => {
                    let lookup = Lookup {
                        domain: &claim.domain,
                        credits,
                        billed: answer.credits,
                        sent_at,
                    };
                    self.record(&self.providers[pi], &lookup, answer.outcome, old)
                        .await
                }
            };
            match answer {
                Ok(answer) => resolved.push(claim.settle(answer, self.run)),
                // The claim closes unanswered: pages waiting on it see a failure, and the
                // run stops with the store's error.
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    }

    /// The state of a claim that needs no call (`None`: ask the provider).
    fn without_asking(&self, claim: &Claim, decision: Decision) -> Option<LookupState> {
        let p = &self.providers[claim.provider];
        let run = self.run;
        Some(match decision {
            Decision::Reuse => {
                run.stat(p.name, |s| s.cache_hits += 1);
                LookupState::Cached
            }
            Decision::Wait { .. } => {
                run.stat(p.name, |s| s.pending += 1);
                LookupState::Pending
            }
            Decision::Defer { monthly, .. } => {
                run.stat(p.name, |s| s.deferred += 1);
                events::lookup_deferred(p.name, &claim.domain);
                if monthly {
                    LookupState::DeferredMonthly
                } else {
                    LookupState::Deferred
                }
            }
            Decision::Off => LookupState::Off,
            Decision::Fetch { .. } if run.dry_run => LookupState::WouldFetch,
            Decision::Fetch { .. } => return None,
        })
    }

    /// Sends one batch of lookups (one request where the provider takes several
    /// domains), within the provider's concurrency; `batch`: each domain and the credits
    /// reserved for it.
    fn ask(&self, tasks: &mut tokio::task::JoinSet<Sent>, pi: usize, batch: Vec<(String, f64)>) {
        let p = &self.providers[pi];
        let provider = Arc::clone(&p.provider);
        let permits = Arc::clone(&p.permits);
        let clock = Arc::clone(&self.run.clock);
        if p.pushed {
            // Marked before the push is sent: its answer may arrive before its reply.
            for (domain, _) in &batch {
                self.arrivals.set_pushing(p.name, domain, true);
            }
        }
        tasks.spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return batch
                    .into_iter()
                    .map(|(domain, credits)| (pi, domain, credits, None))
                    .collect();
            };
            let sent_at = clock();
            let domains: Vec<String> = batch.iter().map(|(d, _)| d.clone()).collect();
            let mut answers = provider.lookup_batch(&domains).await.into_iter();
            // One answer per domain, in order (the provider's contract).
            batch
                .into_iter()
                .map(|(domain, credits)| {
                    let answer = answers.next().map(|a| (sent_at, a));
                    (pi, domain, credits, answer)
                })
                .collect()
        });
    }

    /// Stores one provider answer and counts it.
    async fn record(
        &self,
        p: &ProviderHandle,
        lookup: &Lookup<'_>,
        outcome: Result<LookupOutcome, ConnectorError>,
        old: Option<CachedLookup>,
    ) -> Result<Answer, StateError> {
        let (mut entry, state, wait_until) = self.entry_for(p, lookup, outcome);
        if matches!(entry.status, LookupStatus::Pending | LookupStatus::Error)
            && let Some(old) = &old
        {
            // A pending refresh or a failed one doesn't erase the answer we had.
            entry.records.clone_from(&old.records);
        }
        let (sent_at, run_id) = (lookup.sent_at, self.run.id);
        let stored = self
            .store
            .call(move |s| store_unless_answered(s, entry, sent_at, run_id))
            .await;
        if p.pushed {
            self.arrivals.set_pushing(p.name, lookup.domain, false);
        }
        let stored = stored?;
        // A pushed answer that beat our own pending entry into the store is the answer.
        if state == LookupState::Pending
            && matches!(stored.status, LookupStatus::Hit | LookupStatus::Miss)
        {
            self.run.stat(p.name, |s| {
                s.pending = s.pending.saturating_sub(1);
                s.found += 1;
            });
            return Ok(Answer {
                entry: Some(Arc::new(stored)),
                state: LookupState::Fetched,
                wait_until: None,
            });
        }
        Ok(Answer {
            entry: Some(Arc::new(stored)),
            state,
            wait_until,
        })
    }

    /// The cache entry, state and wait for one answer, counted in the run's stats.
    fn entry_for(
        &self,
        p: &ProviderHandle,
        lookup: &Lookup<'_>,
        outcome: Result<LookupOutcome, ConnectorError>,
    ) -> (LookupEntry, LookupState, Option<tokio::time::Instant>) {
        let (run, name) = (self.run, p.name);
        let (domain, now) = (lookup.domain, (run.clock)());
        // Charged what the provider billed, never more than was reserved.
        let billed = lookup.billed.clamp(0.0, lookup.credits);
        let paid = |found: bool| {
            run.refund(name, lookup.credits - billed);
            run.stat(name, |s| {
                s.lookups += 1;
                s.credits += billed;
                if found {
                    s.found += 1;
                } else {
                    s.not_found += 1;
                }
            });
            events::credit_spent(name, domain, billed);
        };
        match outcome {
            Ok(LookupOutcome::Found(records)) => {
                paid(true);
                let entry = LookupEntry::hit(name, domain, now, records).charged(billed);
                (entry, LookupState::Fetched, None)
            }
            Ok(LookupOutcome::NotFound) => {
                paid(false);
                let entry = LookupEntry::new(name, domain, now, LookupStatus::Miss).charged(billed);
                (entry, LookupState::Fetched, None)
            }
            Ok(LookupOutcome::Pending {
                retry_after,
                charged,
            }) => {
                let charged = if charged { billed } else { 0.0 };
                run.refund(name, lookup.credits - charged);
                run.stat(name, |s| {
                    s.lookups += 1;
                    s.pending += 1;
                    s.credits += charged;
                });
                if charged > 0.0 {
                    events::credit_spent(name, domain, charged);
                }
                // The shorter of the provider's window and the configured one.
                let window = p.policy.pending_retry;
                let retry = retry_after.map_or(window, |r| r.min(window));
                let until = UnixMillis(now.0.saturating_add(retry.as_millis() as i64));
                let entry = LookupEntry::new(name, domain, now, LookupStatus::Pending)
                    .with_retry_after(until)
                    .charged(charged);
                let wait = p
                    .pushed
                    .then(|| tokio::time::Instant::now() + run.push_wait);
                (entry, LookupState::Pending, wait)
            }
            Err(error) => {
                run.refund(name, lookup.credits);
                run.stat(name, |s| s.errors += 1);
                if error.stops_service() {
                    run.stop(name, &error);
                }
                events::lookup_failed(name, domain, &error);
                let entry = LookupEntry::new(name, domain, now, LookupStatus::Error)
                    .with_error(error.to_string());
                (entry, LookupState::Failed(error.to_string()), None)
            }
        }
    }
}

fn failed_answer(old: Option<CachedLookup>, why: &str) -> Answer {
    Answer {
        entry: old.map(Arc::new),
        state: LookupState::Failed(why.to_owned()),
        wait_until: None,
    }
}

/// One lookup that was made.
struct Lookup<'a> {
    domain: &'a str,
    /// Reserved for it when planned.
    credits: f64,
    /// What the provider billed for it (by its own rule: per domain, per found record,
    /// or its share of one request).
    billed: f64,
    /// When the request was sent: an answer stored since then is newer than it.
    sent_at: UnixMillis,
}

/// Stores `entry`, except that a pending entry never replaces an answer that arrived
/// after the lookup began (a pushed row can land before the push's own reply is stored).
/// Runs on the store thread, so the read and the write are one step for every user of
/// the store in this process. Returns what the cache holds afterwards.
fn store_unless_answered(
    s: &mut firmo_store::Store,
    entry: LookupEntry,
    asked_at: UnixMillis,
    run: Option<firmo_store::RunId>,
) -> Result<CachedLookup, firmo_store::StoreError> {
    if entry.status == LookupStatus::Pending
        && let Some(current) = s.get_lookup(&entry.provider, &entry.key)?
        && matches!(current.status, LookupStatus::Hit | LookupStatus::Miss)
        && current.fetched_at >= asked_at
    {
        // The push was still paid for: the key's running total and the run's ledger learn
        // of it (the arrived answer itself stays as it is).
        if entry.credits > 0.0 {
            let charge = LookupEntry {
                provider: current.provider.clone(),
                key: current.key.clone(),
                fetched_at: current.fetched_at,
                status: current.status,
                records: current.records.clone(),
                error: current.error.clone(),
                retry_after: current.retry_after,
                credits: entry.credits,
                attempts: 0,
            };
            s.write(|w| match run {
                Some(run) => w.put_lookup_charged(&charge, run),
                None => w.put_lookup(&charge),
            })?;
        }
        return Ok(current);
    }
    s.write(|w| match run {
        // Charged to the run in the same transaction as the cache write, so a run killed
        // right after still shows what it spent.
        Some(run) => w.put_lookup_charged(&entry, run),
        None => w.put_lookup(&entry),
    })?;
    // What the page needs of the stored entry is its records, which are the entry's.
    Ok(to_cached(entry))
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

/// Waits (each until its own deadline) for answers pushed this run, replacing each
/// pending answer by the row once the receiver has stored it.
pub(crate) async fn await_pushed(
    answers: &mut BTreeMap<(usize, String), Answer>,
    owned: &std::collections::HashSet<(usize, String)>,
    providers: &[ProviderHandle],
    run: &RunState,
    arrivals: &Arrivals,
    store: &StoreHandle,
) -> Result<(), StateError> {
    let mut waiting: Vec<(String, String)> = answers
        .iter()
        .filter(|(_, a)| a.state == LookupState::Pending && a.wait_until.is_some())
        .map(|((pi, d), _)| (providers[*pi].name.to_owned(), d.clone()))
        .collect();
    let Some(deadline) = answers.values().filter_map(|a| a.wait_until).max() else {
        return Ok(());
    };
    // Registered before the first read, so a row stored in between still reaches us.
    let waiter = arrivals.register(&waiting);
    let result = async {
        let mut to_read = waiting.clone();
        loop {
            let fresh = read_answered(store, to_read).await?;
            for entry in fresh {
                waiting.retain(|(p, d)| !(*p == entry.provider && *d == entry.key));
                take_pushed(answers, owned, providers, run, entry);
            }
            if waiting.is_empty()
                || tokio::time::timeout_at(deadline, waiter.notify.notified())
                    .await
                    .is_err()
            {
                return Ok(());
            }
            to_read = std::mem::take(&mut *crate::run::lock(&waiter.arrived));
        }
    }
    .await;
    arrivals.unregister(&waiter);
    result
}

/// The answered (hit or miss) entries among `keys`, in one store call.
async fn read_answered(
    store: &StoreHandle,
    keys: Vec<(String, String)>,
) -> Result<Vec<CachedLookup>, StateError> {
    store
        .call(move |s| {
            let mut out = Vec::new();
            for (provider, key) in keys {
                if let Some(e) = s.get_lookup(&provider, &key)?
                    && matches!(e.status, LookupStatus::Hit | LookupStatus::Miss)
                {
                    out.push(e);
                }
            }
            Ok(out)
        })
        .await
}

/// Puts an arrived row in place of the page's pending answer.
fn take_pushed(
    answers: &mut BTreeMap<(usize, String), Answer>,
    owned: &std::collections::HashSet<(usize, String)>,
    providers: &[ProviderHandle],
    run: &RunState,
    entry: CachedLookup,
) {
    let Some(pi) = providers.iter().position(|p| p.name == entry.provider) else {
        return;
    };
    let key = (pi, entry.key.clone());
    // A row read twice (stored while the first read ran) counts once.
    let Some(answer) = answers
        .get_mut(&key)
        .filter(|a| a.state == LookupState::Pending)
    else {
        return;
    };
    if owned.contains(&key) {
        run.stat(providers[pi].name, |s| {
            s.pending = s.pending.saturating_sub(1);
            s.found += 1;
        });
    }
    answer.state = LookupState::Fetched;
    answer.wait_until = None;
    answer.entry = Some(Arc::new(entry));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_arrival_wakes_every_page_waiting_on_its_key() {
        let arrivals = Arrivals::default();
        let key = ("clay".to_owned(), "acme.com".to_owned());
        let other = ("clay".to_owned(), "other.com".to_owned());
        // The page that pushed the row and a page that joined its claim.
        let pusher = arrivals.register(std::slice::from_ref(&key));
        let joiner = arrivals.register(&[key.clone(), other.clone()]);
        arrivals.arrived("clay", "acme.com");
        for waiter in [&pusher, &joiner] {
            // The stored permit returns at once; the timeout only turns a missed wake-up
            // into a failure instead of a hang.
            tokio::time::timeout(std::time::Duration::from_secs(5), waiter.notify.notified())
                .await
                .expect("every waiting page is woken");
            assert_eq!(*crate::run::lock(&waiter.arrived), vec![key.clone()]);
        }
        // Unregistering one page leaves the other's remaining keys in place.
        arrivals.unregister(&pusher);
        arrivals.arrived("clay", "other.com");
        joiner.notify.notified().await;
        assert_eq!(
            *crate::run::lock(&joiner.arrived),
            vec![key.clone(), other.clone()]
        );
        arrivals.unregister(&joiner);
        assert!(crate::run::lock(&arrivals.waiting).is_empty());
    }
}
