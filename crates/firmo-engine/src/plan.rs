//! The planner: for each account and provider, reuse a fresh cached answer, fetch a due
//! one, wait on a pending one, or defer a fetch the run's credit budget can't pay for.
//! [`decide`] is pure: "now", the cache entry and the budget are inputs.
//!
//! Pages are enriched concurrently, so before a page plans it *claims* each (provider,
//! domain) it needs: the first page to claim one plans and fetches it, a later page that
//! needs it while the claim is open joins the claim and gets the same answer. Two pages
//! sharing a domain therefore make one lookup and reserve its credits once.

use std::collections::HashMap;
use std::time::Duration;

use firmo_core::UnixMillis;
use firmo_store::{CachedLookup, LookupStatus};
use serde::Serialize;
use tokio::sync::watch;

use crate::fetch::{Answer, ProviderHandle};
use crate::run::RunState;

/// What to do about one provider for one account.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Decision {
    /// The cached answer (hit or miss) is fresh: no call, no credit.
    Reuse,
    /// Call the provider; costs `credits`.
    Fetch { credits: f64 },
    /// The provider is still working on it (Clearbit 202, an outstanding Clay row): ask
    /// again no sooner than `until`.
    Wait { until: UnixMillis },
    /// Due, but the run's budget is spent: next run (stale cached data is still used).
    /// `monthly`: the limit in the way is a monthly one (deferred until it resets).
    Defer { credits: f64, monthly: bool },
    /// The provider is disabled, or stopped for this run (bad key, out of credits).
    Off,
}

impl Decision {
    pub fn credits(self) -> f64 {
        match self {
            Decision::Fetch { credits } => credits,
            _ => 0.0,
        }
    }
}

/// A provider's planning inputs.
#[derive(Debug, Clone, Copy)]
pub struct ProviderPolicy {
    pub freshness: Duration,
    pub cost: f64,
    pub pending_retry: Duration,
}

/// A run's credit budget, spent as fetches are planned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Budget {
    pub limit: f64,
    pub planned: f64,
    /// The limit is what the month has left (smaller than the run's own cap).
    pub monthly: bool,
}

impl Budget {
    pub fn new(limit: f64) -> Budget {
        Budget {
            limit,
            planned: 0.0,
            monthly: false,
        }
    }

    /// Reserves `credits` if they fit.
    pub fn try_spend(&mut self, credits: f64) -> bool {
        // A small epsilon: 0.1 + 0.2 must fit a 0.3 budget.
        if self.planned + credits <= self.limit + 1e-9 {
            self.planned += credits;
            true
        } else {
            false
        }
    }

    /// Returns credits reserved for a fetch that was not made (e.g. the provider stopped).
    pub fn refund(&mut self, credits: f64) {
        self.planned = (self.planned - credits).max(0.0);
    }
}

/// Decides for one provider and account.
pub fn decide(
    cached: Option<&CachedLookup>,
    now: UnixMillis,
    policy: ProviderPolicy,
    budget: &mut Budget,
) -> Decision {
    if let Some(entry) = cached {
        if is_fresh(entry, now, policy.freshness, 1.0) {
            return Decision::Reuse;
        }
        if entry.status == LookupStatus::Pending {
            // The shorter of the provider's own window and the configured one: a
            // provider asking for an hour must not outvote `pending_retry_minutes` (a
            // row pushed to a receiver that died with its run never arrives).
            let configured = UnixMillis(
                entry
                    .fetched_at
                    .0
                    .saturating_add(policy.pending_retry.as_millis() as i64),
            );
            let until = entry
                .retry_after
                .map_or(configured, |provider| provider.min(configured));
            if until > now {
                return Decision::Wait { until };
            }
        }
    }
    if budget.try_spend(policy.cost) {
        Decision::Fetch {
            credits: policy.cost,
        }
    } else {
        Decision::Defer {
            credits: policy.cost,
            monthly: budget.monthly,
        }
    }
}

/// The open claims of a run: who is resolving each (provider index, domain) right now.
pub(crate) type Claims = HashMap<(usize, String), watch::Receiver<Option<Answer>>>;

/// A (provider, domain) this page resolves for everyone who needs it.
pub(crate) struct Claim {
    pub provider: usize,
    pub domain: String,
    /// The most urgent tier factor of this page's accounts with the domain.
    pub factor: f64,
    answer: watch::Sender<Option<Answer>>,
}

impl Claim {
    /// Hands the answer to every page that joined, and closes the claim. Call it only
    /// once the answer is in the store: a page claiming afresh after this reads it there.
    pub(crate) fn settle(self, answer: Answer, run: &RunState) -> (usize, String, Answer) {
        let _ = self.answer.send(Some(answer.clone()));
        run.release_claim(self.provider, &self.domain);
        (self.provider, self.domain, answer)
    }
}

/// What a page needs, split by who resolves it.
#[derive(Default)]
pub(crate) struct PageNeeds {
    pub claims: Vec<Claim>,
    /// Claimed by another page: wait for its answer.
    pub joins: Vec<(usize, String, watch::Receiver<Option<Answer>>)>,
}

/// Claims, or joins, each (provider index, domain, tier factor) a page wants asked; the
/// factor is the most urgent refresh factor among the page's accounts with the domain.
pub(crate) fn claim_page(run: &RunState, keys: Vec<(usize, String, f64)>) -> PageNeeds {
    let mut needs = PageNeeds::default();
    let mut open = run.claims();
    for (pi, domain, factor) in keys {
        let key = (pi, domain);
        // A claim whose page went away (its sender dropped) is no claim.
        if let Some(rx) = open.get(&key)
            && rx.has_changed().is_ok()
        {
            let rx = rx.clone();
            needs.joins.push((key.0, key.1, rx));
            continue;
        }
        let (answer, rx) = watch::channel(None);
        let claim = Claim {
            provider: key.0,
            domain: key.1.clone(),
            factor,
            answer,
        };
        open.insert(key, rx);
        needs.claims.push(claim);
    }
    needs
}

/// Whether a cached answer (hit or miss) is fresh enough to reuse for free, with the
/// provider's `freshness` scaled by the account's tier `factor`.
pub fn is_fresh(entry: &CachedLookup, now: UnixMillis, freshness: Duration, factor: f64) -> bool {
    let age = Duration::from_millis(now.0.saturating_sub(entry.fetched_at.0).max(0) as u64);
    matches!(entry.status, LookupStatus::Hit | LookupStatus::Miss)
        && age < freshness.mul_f64(factor.clamp(0.001, 10.0))
}

/// Decides each claim from what the cache held when the claim was made.
pub(crate) fn decide_claims(
    claims: Vec<Claim>,
    cached: &[HashMap<String, CachedLookup>],
    providers: &[ProviderHandle],
    run: &RunState,
    now: UnixMillis,
) -> Vec<(Claim, Decision)> {
    let mut budget = run.budget();
    claims
        .into_iter()
        .map(|claim| {
            let p = &providers[claim.provider];
            if run.is_stopped(p.name) {
                // Stopped for the run (bad key, out of credits): cached data still counts.
                return (claim, Decision::Off);
            }
            let mut policy = p.policy;
            policy.freshness = policy.freshness.mul_f64(claim.factor.clamp(0.001, 10.0));
            let decision = decide(
                cached[claim.provider].get(&claim.domain),
                now,
                policy,
                &mut budget,
            );
            if let Decision::Fetch { credits } = decision
                && !run.take_from_month(p.name, credits)
            {
                // The provider's own monthly limit is spent.
                budget.refund(credits);
                return (
                    claim,
                    Decision::Defer {
                        credits,
                        monthly: true,
                    },
                );
            }
            (claim, decision)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use firmo_store::LookupStatus;

    const DAY: i64 = 86_400_000;

    fn entry(status: LookupStatus, fetched_at: i64, retry_after: Option<i64>) -> CachedLookup {
        CachedLookup {
            provider: "clearbit".into(),
            key: "acme.com".into(),
            fetched_at: UnixMillis(fetched_at),
            status,
            records: Vec::new(),
            error: None,
            retry_after: retry_after.map(UnixMillis),
            credits: 1.0,
            attempts: 1,
        }
    }

    fn policy() -> ProviderPolicy {
        ProviderPolicy {
            freshness: Duration::from_hours(7 * 24),
            cost: 1.0,
            pending_retry: Duration::from_mins(10),
        }
    }

    #[test]
    fn fresh_hits_and_misses_are_reused_for_free() {
        let now = UnixMillis(100 * DAY);
        let mut budget = Budget::new(0.0);
        for status in [LookupStatus::Hit, LookupStatus::Miss] {
            assert_eq!(
                decide(
                    Some(&entry(status, 95 * DAY, None)),
                    now,
                    policy(),
                    &mut budget
                ),
                Decision::Reuse
            );
        }
        assert!(budget.planned.abs() < 1e-9);
    }

    #[test]
    fn stale_errors_and_unknown_are_fetched_within_budget() {
        let now = UnixMillis(100 * DAY);
        let mut budget = Budget::new(2.0);
        let stale = entry(LookupStatus::Hit, 90 * DAY, None);
        let failed = entry(LookupStatus::Error, 99 * DAY, None);
        assert_eq!(
            decide(Some(&stale), now, policy(), &mut budget),
            Decision::Fetch { credits: 1.0 }
        );
        assert_eq!(
            decide(Some(&failed), now, policy(), &mut budget),
            Decision::Fetch { credits: 1.0 }
        );
        assert_eq!(
            decide(None, now, policy(), &mut budget),
            Decision::Defer {
                credits: 1.0,
                monthly: false
            }
        );
        assert!((budget.planned - 2.0).abs() < 1e-9);
    }

    #[test]
    fn pending_waits_until_its_retry_time() {
        let now = UnixMillis(100 * DAY);
        let mut budget = Budget::new(10.0);
        let pending = entry(LookupStatus::Pending, now.0 - 1000, Some(now.0 + 5000));
        assert_eq!(
            decide(Some(&pending), now, policy(), &mut budget),
            Decision::Wait {
                until: UnixMillis(now.0 + 5000)
            }
        );
        // Without a retry time, the configured interval applies.
        let pending = entry(LookupStatus::Pending, now.0 - 700_000, None);
        assert_eq!(
            decide(Some(&pending), now, policy(), &mut budget),
            Decision::Fetch { credits: 1.0 }
        );
    }

    #[test]
    fn a_long_provider_window_gives_way_to_the_configured_retry() {
        let now = UnixMillis(100 * DAY);
        let mut budget = Budget::new(10.0);
        // Pushed 11 minutes ago, the provider said "an hour"; the config says 10 minutes.
        let pending = entry(
            LookupStatus::Pending,
            now.0 - 660_000,
            Some(now.0 + 2_940_000),
        );
        assert_eq!(
            decide(Some(&pending), now, policy(), &mut budget),
            Decision::Fetch { credits: 1.0 }
        );
    }

    #[test]
    fn tier_freshness_shortens_reuse() {
        let now = UnixMillis(100 * DAY);
        let mut budget = Budget::new(10.0);
        let mut fast = policy();
        fast.freshness = Duration::from_hours(3 * 24);
        let four_days = entry(LookupStatus::Hit, 96 * DAY, None);
        assert_eq!(
            decide(Some(&four_days), now, policy(), &mut budget),
            Decision::Reuse
        );
        assert_eq!(
            decide(Some(&four_days), now, fast, &mut budget),
            Decision::Fetch { credits: 1.0 }
        );
    }
}
