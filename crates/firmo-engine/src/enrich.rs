//! One page of accounts through plan → fetch → evaluate: the part of the pipeline that
//! `sync` and `enrich` (CSV) share. Pages run concurrently; the claims in `plan.rs` make
//! sure that two pages never pay for one lookup.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use firmo_core::config::CoreConfig;
use firmo_core::{Date, ProviderRecord, UnixMillis};
use firmo_store::{CachedLookup, LookupStatus};
use serde::Serialize;

use crate::Clock;
use crate::evaluate::{Evaluation, evaluate_records};
use crate::fetch::{Answer, Arrivals, Fetcher, LookupState, ProviderHandle, await_pushed};
use crate::peers::LEASE_TTL;
use crate::plan::{Claim, Decision, PageNeeds, claim_page, decide_claims};
use crate::run::RunState;
use crate::state::{StateError, StoreHandle};
use crate::verdict::DomainProblem;
use crate::waterfall::{self, Known, Waterfall, WaterfallPlan};

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

impl Account {
    fn normalized_domain(&self) -> Result<String, DomainProblem> {
        match self
            .domain
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            None => Err(DomainProblem::Missing),
            Some(raw) => firmo_core::normalize::domain(raw)
                .map_err(|e| DomainProblem::Invalid(e.to_string())),
        }
    }
}

/// One account after enrichment.
#[derive(Debug, Clone)]
pub struct Enriched {
    pub account: Account,
    /// The normalized domain, or why there is none.
    pub domain: Result<String, DomainProblem>,
    pub evaluation: Evaluation,
    /// What each provider did for this account.
    pub lookups: BTreeMap<&'static str, LookupState>,
    /// Credits a dry run would spend on this account, at most.
    pub planned_credits: f64,
    /// Dry run: the part of `planned_credits` spent only if earlier sources miss.
    pub planned_if_missed: f64,
}

impl Enriched {
    pub fn rejected(&self) -> impl Iterator<Item = &firmo_core::Finding> {
        self.evaluation
            .findings
            .iter()
            .filter(|f| f.severity == firmo_core::Severity::Reject)
    }
}

/// How many times a page waits on other runs for the same keys before it leaves them
/// waiting for the next run (each wait ends when the holder stores its answer or dies).
const MAX_PEER_LOOKS: usize = 3;

/// The shared enrichment machinery of a command.
pub struct Enricher {
    pub core: CoreConfig,
    pub providers: Vec<ProviderHandle>,
    pub store: StoreHandle,
    pub clock: Clock,
    /// Woken when a pushed answer is stored.
    pub arrivals: Arc<Arrivals>,
    /// Which providers an account still needs (built from `providers`).
    pub waterfall: Waterfall,
    /// Whether other live runs read and write this provider cache: fleet workers, which
    /// hold only their portal's lock. Only then are keys leased before they are asked
    /// (`peers.rs`); a run holding the whole state's lock has no one to lease against.
    pub shares_cache: bool,
    /// Pushes an earlier run made and never finished waiting for (killed or crashed):
    /// their callbacks went to a receiver that died with it, so they are asked again at
    /// once rather than after the pending window. Read once per run, on the first page.
    interrupted: tokio::sync::OnceCell<std::sync::Mutex<HashSet<(usize, String)>>>,
}

/// What a page has learnt so far, per (provider index, domain).
#[derive(Default)]
struct PageState {
    answers: BTreeMap<(usize, String), Answer>,
    /// Credits each planned fetch reserves.
    planned: HashMap<(usize, String), f64>,
    /// Dry run: planned only if an earlier source in some field's order misses.
    conditional: HashSet<(usize, String)>,
    /// What the cache holds for keys not asked (yet): stale data still counts, and a key
    /// never asked whose cached answer isn't fresh is a credit the waterfall saved.
    unasked: HashMap<(usize, String), CachedLookup>,
    /// Keys this page claimed (its stats count their pushed answers).
    owned: HashSet<(usize, String)>,
}

impl Enricher {
    /// The machinery for `providers`, asked in the waterfall's order (`plan`).
    pub fn new(
        core: CoreConfig,
        plan: &WaterfallPlan,
        providers: Vec<ProviderHandle>,
        store: StoreHandle,
        clock: Clock,
        arrivals: Arc<Arrivals>,
    ) -> Enricher {
        let sources: Vec<&[firmo_core::Source]> =
            providers.iter().map(|p| p.provider.sources()).collect();
        let always = providers.iter().map(|p| p.always).collect();
        let waterfall = Waterfall::new(plan.enabled, &core.merge, &plan.passive, &sources, always);
        Enricher {
            core,
            providers,
            store,
            clock,
            arrivals,
            waterfall,
            shares_cache: false,
            interrupted: tokio::sync::OnceCell::new(),
        }
    }

    /// Plans, fetches and evaluates one page of accounts: round after round, each asking
    /// only the providers the waterfall still wants, until no account needs more.
    pub async fn enrich_page(
        &self,
        accounts: Vec<Account>,
        run: &RunState,
    ) -> Result<Vec<Enriched>, StateError> {
        let now = (self.clock)();
        let domains: Vec<Result<String, DomainProblem>> =
            accounts.iter().map(Account::normalized_domain).collect();
        // The most urgent tier of the accounts sharing a domain decides its freshness.
        let mut factors: BTreeMap<String, f64> = BTreeMap::new();
        for (account, domain) in accounts.iter().zip(&domains) {
            if let Ok(d) = domain {
                let f = factors.entry(d.clone()).or_insert(account.refresh_factor);
                *f = f.min(account.refresh_factor);
            }
        }
        let today = today(now);
        let mut page = PageState::default();
        let mut peek = true;
        loop {
            let wanted = self.next_wanted(&factors, &mut page, today);
            if wanted.is_empty() {
                break;
            }
            self.round(wanted, &factors, peek, &mut page, run, now)
                .await?;
            peek = false;
        }
        self.count_savings(&factors, &page, run, now);
        Ok(self.evaluate_accounts(accounts, domains, &page, run, today))
    }

    /// The (provider, domain, tier factor) keys the waterfall wants asked next.
    fn next_wanted(
        &self,
        factors: &BTreeMap<String, f64>,
        page: &mut PageState,
        today: Date,
    ) -> Vec<(usize, String, f64)> {
        let mut keys = Vec::new();
        let mut known = vec![Known::Unasked; self.providers.len()];
        for (domain, &factor) in factors {
            for (pi, k) in known.iter_mut().enumerate() {
                *k = match page.answers.get(&(pi, domain.clone())).map(|a| &a.state) {
                    None => Known::Unasked,
                    Some(LookupState::Pending) => Known::Pending,
                    Some(LookupState::WouldFetch) => Known::Assumed,
                    Some(_) => Known::Answered,
                };
            }
            if !known.contains(&Known::Unasked) {
                continue;
            }
            let records: Vec<ProviderRecord> = (0..self.providers.len())
                .filter_map(|pi| page.answers.get(&(pi, domain.clone())))
                .filter_map(|a| a.entry.as_ref())
                .flat_map(|e| e.records.iter().cloned())
                .collect();
            // Nothing answered yet (every page's first round): no field is filled, and
            // merging nothing is work on the hot path for no answer.
            let evaluation =
                (!records.is_empty()).then(|| evaluate_records(&records, &self.core, today));
            for want in self.waterfall.wanted(&known, |f| {
                evaluation
                    .as_ref()
                    .is_some_and(|e| waterfall::is_filled(e, f))
            }) {
                if want.conditional {
                    page.conditional.insert((want.provider, domain.clone()));
                }
                keys.push((want.provider, domain.clone(), factor));
            }
        }
        keys
    }

    /// Claims, plans and fetches one round of keys, and waits for what is pushed back.
    /// The first round also reads every other provider's cache for the page: a fresh
    /// answer there costs nothing and may fill a field before anyone is asked.
    async fn round(
        &self,
        keys: Vec<(usize, String, f64)>,
        factors: &BTreeMap<String, f64>,
        peek: bool,
        page: &mut PageState,
        run: &RunState,
        now: firmo_core::UnixMillis,
    ) -> Result<(), StateError> {
        let needs = claim_page(run, keys);
        let mut cached = self
            .read_claimed(&needs, factors, peek, page, run, now)
            .await?;
        let released = self.release_interrupted(&mut cached, run).await?;
        let decided = decide_claims(needs.claims, &cached, &self.providers, run, now);
        self.settle_claims(decided, cached, &released, page, run)
            .await?;
        for (pi, domain, mut rx) in needs.joins {
            run.count_join();
            let answer = match rx.wait_for(Option::is_some).await {
                Ok(answer) => answer.clone().unwrap_or_else(unanswered),
                Err(_) => unanswered(),
            };
            page.unasked.remove(&(pi, domain.clone()));
            page.answers.insert((pi, domain), answer);
        }
        if page.answers.values().any(|a| a.wait_until.is_some()) {
            await_pushed(
                &mut page.answers,
                &page.owned,
                &self.providers,
                run,
                &self.arrivals,
                &self.store,
            )
            .await?;
            // Waited once: a row still out is pending, and holds back what follows it.
            for answer in page.answers.values_mut() {
                answer.wait_until = None;
            }
        }
        Ok(())
    }

    /// Reads the cache for the page's claims and, on a peeking round, for every other
    /// provider's key of the page: a fresh peeked answer is the page's at once, a stale one
    /// is kept as what the cache holds. Returns the claims' entries.
    async fn read_claimed(
        &self,
        needs: &PageNeeds,
        factors: &BTreeMap<String, f64>,
        peek: bool,
        page: &mut PageState,
        run: &RunState,
        now: firmo_core::UnixMillis,
    ) -> Result<Vec<HashMap<String, CachedLookup>>, StateError> {
        let peek_keys: Vec<(usize, String)> = if peek {
            let claimed: HashSet<(usize, &str)> = needs
                .claims
                .iter()
                .map(|c| (c.provider, c.domain.as_str()))
                .chain(needs.joins.iter().map(|(pi, d, _)| (*pi, d.as_str())))
                .collect();
            (0..self.providers.len())
                .flat_map(|pi| factors.keys().map(move |d| (pi, d)))
                .filter(|(pi, d)| !claimed.contains(&(*pi, d.as_str())))
                .map(|(pi, d)| (pi, d.clone()))
                .collect()
        } else {
            Vec::new()
        };
        let mut wanted: Vec<(usize, String)> = needs
            .claims
            .iter()
            .map(|c| (c.provider, c.domain.clone()))
            .collect();
        let first_peeked = wanted.len();
        wanted.extend(peek_keys);
        let mut cached = self.read_cache(&wanted).await?;
        for (pi, domain) in wanted.drain(first_peeked..) {
            let Some(entry) = cached[pi].remove(&domain) else {
                continue;
            };
            let p = &self.providers[pi];
            let factor = factors.get(&domain).copied().unwrap_or(1.0);
            if crate::plan::is_fresh(&entry, now, p.policy.freshness, factor) {
                run.stat(p.name, |s| s.cache_hits += 1);
                let answer = Answer {
                    entry: Some(Arc::new(entry)),
                    state: LookupState::Cached,
                    wait_until: None,
                };
                page.answers.insert((pi, domain), answer);
            } else {
                page.unasked.insert((pi, domain), entry);
            }
        }
        Ok(cached)
    }

    /// Fetches what was decided and settles every claim. A key another run is buying right
    /// now is waited for and decided afresh from the cache, instead of paid for again.
    async fn settle_claims(
        &self,
        mut decided: Vec<(Claim, Decision)>,
        mut cached: Vec<HashMap<String, CachedLookup>>,
        released: &HashSet<(usize, String)>,
        page: &mut PageState,
        run: &RunState,
    ) -> Result<(), StateError> {
        let fetcher = Fetcher {
            providers: &self.providers,
            store: &self.store,
            run,
            arrivals: &self.arrivals,
            leases: self.shares_cache,
        };
        for look in 1.. {
            self.note_planned(&decided, released, page, run);
            let resolution = fetcher.resolve(decided, cached).await?;
            for (pi, domain, answer) in resolution.answers {
                page.unasked.remove(&(pi, domain.clone()));
                page.owned.insert((pi, domain.clone()));
                page.answers.insert((pi, domain), answer);
            }
            let held = resolution.held_elsewhere;
            let Some(id) = run.id.filter(|_| !held.is_empty()) else {
                break;
            };
            let keys: Vec<(usize, String)> = held
                .iter()
                .map(|c| (c.provider, c.domain.clone()))
                .collect();
            for (pi, domain) in &keys {
                page.planned.remove(&(*pi, domain.clone()));
                if look == 1 {
                    run.stat(self.providers[*pi].name, |s| s.peer_waits += 1);
                }
            }
            let patience = if look < MAX_PEER_LOOKS {
                LEASE_TTL
            } else {
                Duration::ZERO
            };
            let store = &self.store;
            crate::peers::wait_for_peers(store, &self.providers, run, id, keys.clone(), patience)
                .await?;
            cached = self.read_cache(&keys).await?;
            if look >= MAX_PEER_LOOKS {
                // Taken over again and again: leave the accounts waiting for the next run.
                for claim in held {
                    let entry = cached[claim.provider].remove(&claim.domain);
                    let answer = Answer {
                        entry: entry.map(Arc::new),
                        state: LookupState::Pending,
                        wait_until: None,
                    };
                    let (pi, domain, answer) = claim.settle(answer, run);
                    page.answers.insert((pi, domain), answer);
                }
                break;
            }
            decided = decide_claims(held, &cached, &self.providers, run, (run.clock)());
        }
        Ok(())
    }

    /// Notes what each decided fetch reserves, and counts re-pushes and, for a dry run,
    /// fetches planned only in case an earlier source misses.
    fn note_planned(
        &self,
        decided: &[(Claim, Decision)],
        released: &HashSet<(usize, String)>,
        page: &mut PageState,
        run: &RunState,
    ) {
        for (c, d) in decided {
            if matches!(d, Decision::Fetch { .. }) {
                let key = (c.provider, c.domain.clone());
                let name = self.providers[c.provider].name;
                if released.contains(&key) {
                    run.stat(name, |s| s.repushed += 1);
                }
                if page.conditional.contains(&key) {
                    run.stat(name, |s| s.planned_if_missed += d.credits());
                }
                page.planned.insert(key, d.credits());
            }
        }
    }

    /// Counts, per provider, the lookups the waterfall did not need and what asking
    /// everyone would have paid for them (nothing where the cache was fresh anyway).
    fn count_savings(
        &self,
        factors: &BTreeMap<String, f64>,
        page: &PageState,
        run: &RunState,
        now: firmo_core::UnixMillis,
    ) {
        for (pi, p) in self.providers.iter().enumerate() {
            if run.is_stopped(p.name) {
                continue;
            }
            // What one more domain would have cost: a request's price is shared by the
            // domains it carries (counted as a full batch, the usual case).
            let per_domain = match p.provider.billing() {
                firmo_connect::Billing::PerRequest => {
                    p.policy.cost / p.provider.max_batch().max(1) as f64
                }
                firmo_connect::Billing::PerDomain | firmo_connect::Billing::PerFound => {
                    p.policy.cost
                }
            };
            let (mut skipped, mut saved) = (0u64, 0.0);
            for (domain, &factor) in factors {
                let key = (pi, domain.clone());
                if page.answers.contains_key(&key) {
                    continue;
                }
                skipped += 1;
                let fresh = page
                    .unasked
                    .get(&key)
                    .is_some_and(|e| crate::plan::is_fresh(e, now, p.policy.freshness, factor));
                if !fresh {
                    saved += per_domain;
                }
            }
            if skipped > 0 {
                run.stat(p.name, |s| {
                    s.not_needed += skipped;
                    s.credits_saved += saved;
                });
            }
        }
    }

    /// Each account's records from the page's answers, through core's evaluation.
    fn evaluate_accounts(
        &self,
        accounts: Vec<Account>,
        domains: Vec<Result<String, DomainProblem>>,
        page: &PageState,
        run: &RunState,
        today: Date,
    ) -> Vec<Enriched> {
        let mut out = Vec::with_capacity(accounts.len());
        for (account, domain) in accounts.into_iter().zip(domains) {
            let mut records: Vec<ProviderRecord> = Vec::new();
            let mut lookups = BTreeMap::new();
            let (mut planned_credits, mut conditional_credits) = (0.0, 0.0);
            if let Ok(d) = &domain {
                for (pi, p) in self.providers.iter().enumerate() {
                    let key = (pi, d.clone());
                    if let Some(answer) = page.answers.get(&key) {
                        if let Some(entry) = &answer.entry {
                            // Stale, and pending-but-answered-before, data still counts.
                            records.extend(entry.records.iter().cloned());
                        }
                        lookups.insert(p.name, answer.state.clone());
                    } else {
                        // Not needed: what the cache holds (stale or not) still counts.
                        if let Some(entry) = page.unasked.get(&key) {
                            records.extend(entry.records.iter().cloned());
                        }
                        lookups.insert(p.name, LookupState::NotNeeded);
                    }
                    let credits = page.planned.get(&key).copied().unwrap_or(0.0);
                    planned_credits += credits;
                    if page.conditional.contains(&key) {
                        conditional_credits += credits;
                    }
                }
            }
            let dry = run.dry_run;
            out.push(Enriched {
                evaluation: evaluate_records(&records, &self.core, today),
                account,
                domain,
                lookups,
                planned_credits: if dry { planned_credits } else { 0.0 },
                planned_if_missed: if dry { conditional_credits } else { 0.0 },
            });
        }
        out
    }

    /// What the cache holds for `keys`, one map per provider, read in one store call.
    /// Makes the claimed keys whose pending entry an interrupted run left due now, and
    /// returns them. Each is released once: the re-push this run makes is its own.
    async fn release_interrupted(
        &self,
        cached: &mut [HashMap<String, CachedLookup>],
        run: &RunState,
    ) -> Result<HashSet<(usize, String)>, StateError> {
        let interrupted = self
            .interrupted
            .get_or_try_init(|| self.find_interrupted(run))
            .await?;
        let mut interrupted = interrupted.lock().unwrap_or_else(PoisonError::into_inner);
        let mut released = HashSet::new();
        if interrupted.is_empty() {
            return Ok(released);
        }
        for (pi, entries) in cached.iter_mut().enumerate() {
            for (domain, entry) in entries.iter_mut() {
                let key = (pi, domain.clone());
                if entry.status == LookupStatus::Pending && interrupted.remove(&key) {
                    entry.retry_after = Some(UnixMillis(0));
                    released.insert(key);
                }
            }
        }
        Ok(released)
    }

    /// The pending pushes of runs that never finished, per provider with pushed answers.
    async fn find_interrupted(
        &self,
        run: &RunState,
    ) -> Result<std::sync::Mutex<HashSet<(usize, String)>>, StateError> {
        let mut found = HashSet::new();
        // Without a run record (a dry run) the current run can't be told from the
        // interrupted ones, and nothing is asked anyway.
        if let Some(current) = run.id {
            // Leases of runs that died are void too, so nothing waits on them.
            self.store
                .call(move |s| s.write(|w| w.void_dead_leases(current)))
                .await?;
            for (pi, p) in self.providers.iter().enumerate().filter(|(_, p)| p.pushed) {
                let name = p.name;
                let keys = self
                    .store
                    .call(move |s| s.orphaned_pending(name, current))
                    .await?;
                if !keys.is_empty() {
                    tracing::info!(
                        provider = name,
                        count = keys.len(),
                        "asking again at once: pushes an interrupted run made"
                    );
                }
                found.extend(keys.into_iter().map(|k| (pi, k)));
            }
        }
        Ok(std::sync::Mutex::new(found))
    }

    async fn read_cache(
        &self,
        keys: &[(usize, String)],
    ) -> Result<Vec<HashMap<String, CachedLookup>>, StateError> {
        let mut wanted: Vec<(&'static str, Vec<String>)> = self
            .providers
            .iter()
            .map(|p| (p.name, Vec::new()))
            .collect();
        for (pi, domain) in keys {
            wanted[*pi].1.push(domain.clone());
        }
        self.store
            .call(move |s| {
                wanted
                    .iter()
                    .map(|(provider, keys)| {
                        if keys.is_empty() {
                            return Ok(HashMap::new());
                        }
                        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                        s.get_lookups(provider, &keys)
                    })
                    .collect()
            })
            .await
    }
}

fn today(now: firmo_core::UnixMillis) -> Date {
    now.date()
        .unwrap_or_else(|| Date::new(1970, 1, 1).expect("a valid date"))
}

/// The answer a page gets when the page that claimed the lookup failed before answering.
fn unanswered() -> Answer {
    Answer {
        entry: None,
        state: LookupState::Failed("the lookup was not answered this run".into()),
        wait_until: None,
    }
}
