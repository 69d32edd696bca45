//! One page of accounts through plan → fetch → evaluate: the part of the pipeline that
//! `sync` and `enrich` (CSV) share. Pages run concurrently; the claims in `plan.rs` make
//! sure that two pages never pay for one lookup.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use firmo_core::config::CoreConfig;
use firmo_core::{Date, ProviderRecord};
use firmo_store::CachedLookup;
use serde::Serialize;

use crate::Clock;
use crate::evaluate::{Evaluation, evaluate_records};
use crate::fetch::{Answer, Arrivals, Fetcher, LookupState, ProviderHandle, await_pushed};
use crate::plan::{Decision, claim_page, decide_claims};
use crate::run::RunState;
use crate::state::{StateError, StoreHandle};
use crate::verdict::DomainProblem;

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
    /// Credits a dry run would spend on this account.
    pub planned_credits: f64,
}

impl Enriched {
    pub fn rejected(&self) -> impl Iterator<Item = &firmo_core::Finding> {
        self.evaluation
            .findings
            .iter()
            .filter(|f| f.severity == firmo_core::Severity::Reject)
    }
}

/// The shared enrichment machinery of a command.
pub struct Enricher {
    pub core: CoreConfig,
    pub providers: Vec<ProviderHandle>,
    pub store: StoreHandle,
    pub clock: Clock,
    /// Woken when a pushed answer is stored.
    pub arrivals: Arc<Arrivals>,
}

impl Enricher {
    /// Plans, fetches and evaluates one page of accounts.
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

        let needs = claim_page(run, &self.providers, &factors);
        let cached = self.read_cache(&needs.claims).await?;
        let decided = decide_claims(needs.claims, &cached, &self.providers, run, now);
        let planned: HashMap<(usize, String), f64> = decided
            .iter()
            .filter(|(_, d)| matches!(d, Decision::Fetch { .. }))
            .map(|(c, d)| ((c.provider, c.domain.clone()), d.credits()))
            .collect();
        let fetcher = Fetcher {
            providers: &self.providers,
            store: &self.store,
            run,
            arrivals: &self.arrivals,
        };
        let resolved = fetcher.resolve(decided, cached).await?;

        let owned: HashSet<(usize, String)> =
            resolved.iter().map(|(pi, d, _)| (*pi, d.clone())).collect();
        let mut answers: BTreeMap<(usize, String), Answer> = resolved
            .into_iter()
            .map(|(pi, d, a)| ((pi, d), a))
            .collect();
        for (pi, domain, mut rx) in needs.joins {
            run.count_join();
            let answer = match rx.wait_for(Option::is_some).await {
                Ok(answer) => answer.clone().unwrap_or_else(unanswered),
                Err(_) => unanswered(),
            };
            answers.insert((pi, domain), answer);
        }
        if answers.values().any(|a| a.wait_until.is_some()) {
            await_pushed(
                &mut answers,
                &owned,
                &self.providers,
                run,
                &self.arrivals,
                &self.store,
            )
            .await?;
        }

        Ok(self.evaluate_accounts(accounts, domains, &answers, &planned, run, now))
    }

    /// Each account's records from the page's answers, through core's evaluation.
    fn evaluate_accounts(
        &self,
        accounts: Vec<Account>,
        domains: Vec<Result<String, DomainProblem>>,
        answers: &BTreeMap<(usize, String), Answer>,
        planned: &HashMap<(usize, String), f64>,
        run: &RunState,
        now: firmo_core::UnixMillis,
    ) -> Vec<Enriched> {
        let today = now
            .date()
            .unwrap_or_else(|| Date::new(1970, 1, 1).expect("a valid date"));
        let mut out = Vec::with_capacity(accounts.len());
        for (account, domain) in accounts.into_iter().zip(domains) {
            let mut records: Vec<ProviderRecord> = Vec::new();
            let mut lookups = BTreeMap::new();
            let mut planned_credits = 0.0;
            if let Ok(d) = &domain {
                for (pi, p) in self.providers.iter().enumerate() {
                    let key = (pi, d.clone());
                    if let Some(answer) = answers.get(&key) {
                        if let Some(entry) = &answer.entry {
                            // Stale, and pending-but-answered-before, data still counts.
                            records.extend(entry.records.iter().cloned());
                        }
                        lookups.insert(p.name, answer.state.clone());
                    }
                    planned_credits += planned.get(&key).copied().unwrap_or(0.0);
                }
            }
            out.push(Enriched {
                evaluation: evaluate_records(&records, &self.core, today),
                account,
                domain,
                lookups,
                planned_credits: if run.dry_run { planned_credits } else { 0.0 },
            });
        }
        out
    }

    /// What the cache holds for each claim, one map per provider, read in one store call.
    async fn read_cache(
        &self,
        claims: &[crate::plan::Claim],
    ) -> Result<Vec<HashMap<String, CachedLookup>>, StateError> {
        let mut wanted: Vec<(&'static str, Vec<String>)> = self
            .providers
            .iter()
            .map(|p| (p.name, Vec::new()))
            .collect();
        for c in claims {
            wanted[c.provider].1.push(c.domain.clone());
        }
        self.store
            .call(move |s| {
                wanted
                    .iter()
                    .map(|(provider, keys)| {
                        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                        s.get_lookups(provider, &keys)
                    })
                    .collect()
            })
            .await
    }
}

/// The answer a page gets when the page that claimed the lookup failed before answering.
fn unanswered() -> Answer {
    Answer {
        entry: None,
        state: LookupState::Failed("the lookup was not answered this run".into()),
        wait_until: None,
    }
}
