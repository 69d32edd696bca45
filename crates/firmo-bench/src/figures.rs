//! The arithmetic of the report: which sandbox requests are CRM calls (setup or per
//! account), the rate-limit bound, and the ratios the goals are stated in.

use std::collections::BTreeMap;
use std::time::Duration;

/// The sandbox's request counters (`Stats::requests`, by endpoint kind) sorted into
/// what they mean for the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Calls {
    /// Once per run whatever the portal's size: `account-info`, the property list,
    /// property and group creation.
    pub(crate) setup: u64,
    /// Scale with the number of companies: list pages, batch reads, batch updates,
    /// searches, single gets and updates.
    pub(crate) per_account: u64,
    /// Of all CRM calls, those under `/crm/` (the ones HubSpot's burst limit counts and
    /// the sandbox enforces it on; `account-info` lives outside).
    pub(crate) rate_limited_kinds: u64,
    /// Calls to the provider emulators, by provider (not CRM calls).
    pub(crate) providers: BTreeMap<String, u64>,
}

impl Calls {
    pub(crate) fn crm(&self) -> u64 {
        self.setup + self.per_account
    }

    /// Sorts `requests` (endpoint kind → count) by kind.
    pub(crate) fn classify(requests: &BTreeMap<String, u64>) -> Calls {
        let mut calls = Calls::default();
        for (kind, &n) in requests {
            let family = kind.split('.').next().unwrap_or_default();
            match family {
                "companies" | "crm" => {
                    calls.per_account += n;
                    calls.rate_limited_kinds += n;
                }
                "properties" | "property_groups" | "limits" => {
                    calls.setup += n;
                    calls.rate_limited_kinds += n;
                }
                // `GET /account-info/v3/details` (the portal key, once per client), the
                // token's introspection and the object schemas: outside `/crm`.
                "account_info" | "oauth" | "schemas" => calls.setup += n,
                _ => *calls.providers.entry(kind.clone()).or_default() += n,
            }
        }
        calls
    }
}

impl Calls {
    /// Requests to one provider's emulator (every endpoint of it).
    pub(crate) fn provider(&self, name: &str) -> u64 {
        self.providers
            .iter()
            .filter(|(kind, _)| kind.split('.').next() == Some(name))
            .map(|(_, n)| *n)
            .sum()
    }
}

/// Calls per 100 accounts.
pub(crate) fn per_100(calls: u64, accounts: u64) -> f64 {
    if accounts == 0 {
        return 0.0;
    }
    calls as f64 * 100.0 / accounts as f64
}

/// The least time `calls` can take at `max_requests` per `interval`, spaced evenly as
/// the HubSpot client paces them (200 calls at 100 per 10 s: 20 s).
pub(crate) fn bound(calls: u64, max_requests: u32, interval: Duration) -> Duration {
    if max_requests == 0 {
        return Duration::ZERO;
    }
    interval.mul_f64(calls as f64 / f64::from(max_requests))
}

/// `wall / bound`, or `None` when the bound is zero.
pub(crate) fn ratio(wall: Duration, bound: Duration) -> Option<f64> {
    (!bound.is_zero()).then(|| wall.as_secs_f64() / bound.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_sandbox_kinds_into_setup_per_account_and_providers() {
        let requests: BTreeMap<String, u64> = [
            ("account_info.details", 1),
            ("oauth.token_info", 1),
            ("properties.list", 2),
            ("properties.create", 15),
            ("property_groups.get", 1),
            ("property_groups.create", 1),
            ("companies.list", 100),
            ("companies.batch_update", 99),
            ("companies.search", 3),
            ("clearbit", 10_000),
            ("clay", 9_000),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let calls = Calls::classify(&requests);
        assert_eq!(calls.setup, 21);
        assert_eq!(calls.per_account, 202);
        assert_eq!(calls.crm(), 223);
        assert_eq!(
            calls.rate_limited_kinds, 221,
            "account-info and the token's introspection are outside /crm"
        );
        assert_eq!(calls.providers.get("clearbit"), Some(&10_000));
        assert_eq!(calls.providers.values().sum::<u64>(), 19_000);
        assert_eq!(calls.provider("clay"), 9_000);
        assert_eq!(calls.provider("crunchbase"), 0);
    }

    #[test]
    fn ratios_and_the_rate_limit_bound() {
        assert!((per_100(202, 10_000) - 2.02).abs() < 1e-9);
        assert!(per_100(5, 0).abs() < f64::EPSILON);
        let hubspot = bound(200, 100, Duration::from_secs(10));
        assert_eq!(hubspot, Duration::from_secs(20));
        assert_eq!(bound(10, 0, Duration::from_secs(1)), Duration::ZERO);
        let r = ratio(Duration::from_secs(22), hubspot).unwrap();
        assert!((r - 1.1).abs() < 1e-9);
        assert_eq!(ratio(Duration::from_secs(1), Duration::ZERO), None);
    }
}
