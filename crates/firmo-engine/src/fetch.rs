//! Fetch: ask the providers what the plan says to ask, store every answer before anything
//! uses it (so a crash never pays for a lookup twice), and hand each answer to every page
//! that waits on it. Answers pushed later (Clay's callback) are awaited here too.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use firmo_connect::{ConnectorError, LookupOutcome, Provider};
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
    /// The provider failed for this lookup (message).
    Failed(String),
    /// Disabled or stopped for this run.
    Off,
    /// Dry run: would be fetched.
    WouldFetch,
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

/// Wakes runs waiting on pushed answers when one is stored.
#[derive(Debug, Default)]
pub struct Arrivals {
    notify: Notify,
}

impl Arrivals {
    pub fn arrived(&self) {
        self.notify.notify_waiters();
    }
}

/// Settles the page's claims: answers that need no call at once, the rest after their
/// lookup's answer is stored. Returns every claim's answer.
pub(crate) async fn resolve(
    claims: Vec<(Claim, Decision)>,
    providers: &[ProviderHandle],
    mut cached: Vec<HashMap<String, CachedLookup>>,
    store: &StoreHandle,
    run: &RunState,
) -> Result<Vec<(usize, String, Answer)>, StateError> {
    let mut resolved = Vec::with_capacity(claims.len());
    let mut tasks = tokio::task::JoinSet::new();
    let mut asked: HashMap<(usize, String), (Claim, Option<CachedLookup>)> = HashMap::new();
    for (claim, decision) in claims {
        let p = &providers[claim.provider];
        let entry = cached[claim.provider].remove(&claim.domain);
        let state = match decision {
            Decision::Reuse => {
                run.stat(p.name, |s| s.cache_hits += 1);
                LookupState::Cached
            }
            Decision::Wait { .. } => {
                run.stat(p.name, |s| s.pending += 1);
                LookupState::Pending
            }
            Decision::Defer { .. } => {
                run.stat(p.name, |s| s.deferred += 1);
                events::lookup_deferred(p.name, &claim.domain);
                LookupState::Deferred
            }
            Decision::Off => LookupState::Off,
            Decision::Fetch { .. } if run.dry_run => LookupState::WouldFetch,
            Decision::Fetch { credits } => {
                let (pi, domain) = (claim.provider, claim.domain.clone());
                let provider = Arc::clone(&p.provider);
                let permits = Arc::clone(&p.permits);
                asked.insert((pi, domain.clone()), (claim, entry));
                let clock = Arc::clone(&run.clock);
                tasks.spawn(async move {
                    let Ok(_permit) = permits.acquire_owned().await else {
                        return (pi, domain, credits, None);
                    };
                    let asked_at = clock();
                    let answer = provider.lookup(&domain).await;
                    (pi, domain, credits, Some((asked_at, answer)))
                });
                continue;
            }
        };
        let answer = Answer {
            entry: entry.map(Arc::new),
            state,
            wait_until: None,
        };
        resolved.push(claim.settle(answer, run));
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let Ok((pi, domain, credits, outcome)) = joined else {
            continue;
        };
        let Some((claim, old)) = asked.remove(&(pi, domain)) else {
            continue;
        };
        let Some((asked_at, outcome)) = outcome else {
            run.refund(credits);
            resolved.push(claim.settle(failed_answer(old, "not asked"), run));
            continue;
        };
        let asked = Asked {
            domain: &claim.domain,
            credits,
            sent_at: asked_at,
        };
        match record(&providers[pi], &asked, outcome, old, store, run).await {
            Ok(answer) => resolved.push(claim.settle(answer, run)),
            Err(e) => {
                // The claim's channel closes unanswered: pages waiting on it see a
                // failure, and the run stops with the store's error.
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(resolved),
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
struct Asked<'a> {
    domain: &'a str,
    credits: f64,
    /// When the request was sent: an answer stored since then is newer than it.
    sent_at: UnixMillis,
}

/// Turns one provider answer into a cache entry, stores it, and counts it.
async fn record(
    p: &ProviderHandle,
    asked: &Asked<'_>,
    outcome: Result<LookupOutcome, ConnectorError>,
    old: Option<CachedLookup>,
    store: &StoreHandle,
    run: &RunState,
) -> Result<Answer, StateError> {
    let now = (run.clock)();
    let name = p.name;
    let (domain, credits) = (asked.domain, asked.credits);
    let (mut entry, state, wait_until) = match outcome {
        Ok(LookupOutcome::Found(records)) => {
            run.stat(name, |s| {
                s.lookups += 1;
                s.found += 1;
                s.credits += credits;
            });
            events::credit_spent(name, domain, credits);
            let entry = LookupEntry::hit(name, domain, now, records).charged(credits);
            (entry, LookupState::Fetched, None)
        }
        Ok(LookupOutcome::NotFound) => {
            run.stat(name, |s| {
                s.lookups += 1;
                s.not_found += 1;
                s.credits += credits;
            });
            events::credit_spent(name, domain, credits);
            let entry = LookupEntry::new(name, domain, now, LookupStatus::Miss).charged(credits);
            (entry, LookupState::Fetched, None)
        }
        Ok(LookupOutcome::Pending {
            retry_after,
            charged,
        }) => {
            let charged = if charged { credits } else { 0.0 };
            run.refund(credits - charged);
            run.stat(name, |s| {
                s.lookups += 1;
                s.pending += 1;
                s.credits += charged;
            });
            if charged > 0.0 {
                events::credit_spent(name, domain, charged);
            }
            let retry =
                retry_after.map_or(p.policy.pending_retry, |r| r.min(p.policy.pending_retry));
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
            run.refund(credits);
            run.stat(name, |s| s.errors += 1);
            if error.stops_service() {
                run.stop(name, &error);
            }
            events::lookup_failed(name, domain, &error);
            let entry = LookupEntry::new(name, domain, now, LookupStatus::Error)
                .with_error(error.to_string());
            (entry, LookupState::Failed(error.to_string()), None)
        }
    };
    if matches!(entry.status, LookupStatus::Pending | LookupStatus::Error)
        && let Some(old) = &old
    {
        // A pending refresh or a failed one doesn't erase the answer we had.
        entry.records.clone_from(&old.records);
    }
    let asked_at = asked.sent_at;
    let stored = store
        .call({
            let run_id = run.id;
            move |s| store_unless_answered(s, entry, asked_at, run_id)
        })
        .await?;
    // A pushed answer that beat our own pending entry into the store is the answer.
    let (state, wait_until) = match stored.status {
        LookupStatus::Hit | LookupStatus::Miss if state == LookupState::Pending => {
            run.stat(name, |s| {
                s.pending = s.pending.saturating_sub(1);
                s.found += 1;
            });
            (LookupState::Fetched, None)
        }
        _ => (state, wait_until),
    };
    Ok(Answer {
        entry: Some(Arc::new(stored)),
        state,
        wait_until,
    })
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
    let current = s.get_lookup(&entry.provider, &entry.key)?;
    let answered = entry.status == LookupStatus::Pending
        && current.as_ref().is_some_and(|c| {
            matches!(c.status, LookupStatus::Hit | LookupStatus::Miss) && c.fetched_at >= asked_at
        });
    s.write(|w| match (answered, run) {
        // The push was still paid for: only the ledger learns of it.
        (true, Some(run)) => w.add_credits(run, &entry.provider, entry.credits, 1),
        (true, None) => Ok(()),
        // Charged to the run in the same transaction as the cache write, so a run killed
        // right after still shows what it spent.
        (false, Some(run)) => w.put_lookup_charged(&entry, run),
        (false, None) => w.put_lookup(&entry),
    })?;
    if answered {
        return Ok(current.expect("an answered entry exists"));
    }
    Ok(s.get_lookup(&entry.provider, &entry.key)?
        .unwrap_or_else(|| to_cached(entry)))
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
    loop {
        let waiting: Vec<(usize, String, tokio::time::Instant)> = answers
            .iter()
            .filter(|(_, a)| a.state == LookupState::Pending)
            .filter_map(|((pi, d), a)| a.wait_until.map(|t| (*pi, d.clone(), t)))
            .filter(|(_, _, t)| *t > tokio::time::Instant::now())
            .collect();
        let Some(deadline) = waiting.iter().map(|(_, _, t)| *t).max() else {
            return Ok(());
        };
        // Register interest before reading, so a row stored between the read and the
        // wait still wakes us.
        let notified = arrivals.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let keys: Vec<(&'static str, String)> = waiting
            .iter()
            .map(|(pi, d, _)| (providers[*pi].name, d.clone()))
            .collect();
        let fresh = store
            .call(move |s| {
                let mut out = Vec::new();
                for (provider, key) in keys {
                    if let Some(e) = s.get_lookup(provider, &key)?
                        && matches!(e.status, LookupStatus::Hit | LookupStatus::Miss)
                    {
                        out.push(e);
                    }
                }
                Ok(out)
            })
            .await?;
        let arrived = !fresh.is_empty();
        for entry in fresh {
            let Some(pi) = providers.iter().position(|p| p.name == entry.provider) else {
                continue;
            };
            let key = (pi, entry.key.clone());
            if owned.contains(&key) {
                run.stat(providers[pi].name, |s| {
                    s.pending = s.pending.saturating_sub(1);
                    s.found += 1;
                });
            }
            if let Some(answer) = answers.get_mut(&key) {
                answer.state = LookupState::Fetched;
                answer.wait_until = None;
                answer.entry = Some(Arc::new(entry));
            }
        }
        if arrived {
            continue;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return Ok(());
        }
    }
}
