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

/// How a provider bills, in units of [`Provider::cost_per_lookup`]. Under every rule one
/// domain costs at most one unit (what the engine reserves before asking); the engine
/// charges what each [`BatchAnswer::credits`] says afterwards. No provider bills a request it refused
/// (an error status, a refused key, a rate limit), so an error costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    /// Every domain answered costs `cost_per_lookup`, found or not: Clearbit counts
    /// 200, 202 and 404 answers; a row pushed into a Clay table runs its columns.
    PerDomain,
    /// A domain costs `cost_per_lookup` only when the provider returns a result for it:
    /// BuiltWith bills "per website call that returns a successful non-error result".
    PerFound,
    /// Each request costs `cost_per_lookup`, however many domains it carries (Crunchbase's
    /// plans meter calls): the domains of one request share its cost equally.
    PerRequest,
}

impl Billing {
    /// What one domain's answer cost, when its request carried `domains_in_request`
    /// domains (1 for a single lookup).
    pub fn credits(
        self,
        cost: f64,
        outcome: &Result<LookupOutcome, ConnectorError>,
        domains_in_request: usize,
    ) -> f64 {
        match (self, outcome) {
            (_, Err(_)) | (Billing::PerFound, Ok(LookupOutcome::NotFound)) => 0.0,
            (Billing::PerRequest, Ok(_)) => cost / domains_in_request.max(1) as f64,
            (_, Ok(LookupOutcome::Pending { charged, .. })) => {
                if *charged {
                    cost
                } else {
                    0.0
                }
            }
            (Billing::PerDomain | Billing::PerFound, Ok(_)) => cost,
        }
    }
}

/// One domain's answer from [`Provider::lookup_batch`], with what the provider billed
/// for it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchAnswer {
    /// The domain as it was asked.
    pub domain: String,
    pub outcome: Result<LookupOutcome, ConnectorError>,
    /// Credits this domain cost, by the provider's [`Billing`]; the answers of one
    /// batch sum to what the provider billed for the whole batch.
    pub credits: f64,
}

/// An enrichment provider: looks companies up by domain.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Stable name, as in config (`clearbit`, `builtwith`, `crunchbase`, `clay`).
    fn name(&self) -> &'static str;

    /// The sources this provider's records can carry.
    fn sources(&self) -> &'static [Source];

    /// Credits one billing unit costs (see [`Provider::billing`]): one domain, or one
    /// request for a provider that bills per request.
    fn cost_per_lookup(&self) -> f64;

    /// How the provider bills. Default: every domain answered costs one unit.
    fn billing(&self) -> Billing {
        Billing::PerDomain
    }

    /// What `outcome`, the answer of one [`Provider::lookup`], cost.
    fn credits_for(&self, outcome: &Result<LookupOutcome, ConnectorError>) -> f64 {
        self.billing().credits(self.cost_per_lookup(), outcome, 1)
    }

    /// Whether answers to pending lookups are pushed back to firmo (a callback receiver
    /// should run during a run, and a page may wait for them).
    fn answers_by_push(&self) -> bool {
        false
    }

    /// Most domains one request of [`Provider::lookup_batch`] carries. Default 1: the
    /// provider's API takes one domain per request. A caller may pass more; the provider
    /// splits them.
    fn max_batch(&self) -> usize {
        1
    }

    /// Looks up one company by its normalized domain.
    async fn lookup(&self, domain: &str) -> Result<LookupOutcome, ConnectorError>;

    /// Looks up several companies: one answer per domain given, in the order given, each
    /// domain's outcome its own (one unknown or unreadable domain never fails the
    /// others); a domain given twice is asked once (the repeat costs nothing). The
    /// default asks [`Provider::lookup`] per distinct domain; once an answer
    /// [`ConnectorError::stops_service`] (a refused key, no credits), the domains left
    /// get that error without being asked.
    async fn lookup_batch(&self, domains: &[String]) -> Vec<BatchAnswer> {
        let mut answers: Vec<BatchAnswer> = Vec::with_capacity(domains.len());
        let mut stopped: Option<ConnectorError> = None;
        for domain in domains {
            // A domain given twice is asked, and billed, once.
            if let Some(earlier) = answers.iter().find(|a| &a.domain == domain) {
                let repeat = BatchAnswer {
                    credits: 0.0,
                    ..earlier.clone()
                };
                answers.push(repeat);
                continue;
            }
            let outcome = match &stopped {
                Some(error) => Err(error.clone()),
                None => self.lookup(domain).await,
            };
            if let Err(error) = &outcome
                && error.stops_service()
            {
                stopped = Some(error.clone());
            }
            let credits = self.credits_for(&outcome);
            answers.push(BatchAnswer {
                domain: domain.clone(),
                outcome,
                credits,
            });
        }
        answers
    }
}

/// The distinct domains of `domains` in first-seen order, cut into chunks of at most
/// `size` (at least 1): the requests a batching provider sends.
pub fn chunks(domains: &[String], size: usize) -> Vec<Vec<String>> {
    let mut distinct: Vec<String> = Vec::with_capacity(domains.len());
    for d in domains {
        if !distinct.contains(d) {
            distinct.push(d.clone());
        }
    }
    distinct
        .chunks(size.max(1))
        .map(<[String]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Service;

    fn refused() -> ConnectorError {
        ConnectorError::Auth {
            service: Service::Clearbit,
            message: "bad key".into(),
        }
    }

    #[test]
    fn each_billing_rule_charges_what_the_provider_bills() {
        let found = Ok(LookupOutcome::Found(Vec::new()));
        let missing = Ok(LookupOutcome::NotFound);
        let queued = |charged| {
            Ok(LookupOutcome::Pending {
                retry_after: None,
                charged,
            })
        };
        let failed = Err(refused());
        let per_domain: Vec<f64> = [&found, &missing, &queued(true), &queued(false), &failed]
            .iter()
            .map(|o| Billing::PerDomain.credits(2.0, o, 1))
            .collect();
        assert_eq!(per_domain, [2.0, 2.0, 2.0, 0.0, 0.0]);
        // Per found; then four domains sharing one request, a failed request costing
        // nothing, and a request of no domains counted as one.
        let others = vec![
            Billing::PerFound.credits(2.0, &found, 16),
            Billing::PerFound.credits(2.0, &missing, 16),
            Billing::PerRequest.credits(1.0, &found, 4),
            Billing::PerRequest.credits(1.0, &missing, 4),
            Billing::PerRequest.credits(1.0, &failed, 4),
            Billing::PerRequest.credits(1.0, &found, 0),
        ];
        assert_eq!(others, [2.0, 0.0, 0.25, 0.25, 0.0, 1.0]);
    }

    #[test]
    fn chunks_are_distinct_in_order_and_bounded() {
        let ds: Vec<String> = ["a", "b", "a", "c", "d", "b", "e"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            chunks(&ds, 2),
            vec![vec!["a", "b"], vec!["c", "d"], vec!["e"]]
        );
        assert_eq!(chunks(&ds, 0).len(), 5, "a size of 0 is taken as 1");
        assert!(chunks(&[], 16).is_empty());
    }
}
