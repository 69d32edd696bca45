//! What a HubSpot client is built from.

use std::time::Duration;

use firmo_connect::http::HttpPolicy;
use firmo_connect::{Secret, Service};

use crate::api::ApiVersion;

/// HubSpot's production API host.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";

/// The environment variable the access token is read from.
pub const TOKEN_ENV: &str = "HUBSPOT_ACCESS_TOKEN";

/// How to reach a HubSpot account, and how hard to push it.
///
/// The defaults are HubSpot's Free/Starter limits: 100 requests per rolling 10 seconds
/// for the account, and a separate 4 per second for search (HubSpot's docs say 4 or 5;
/// the lower figure never trips either). Raise them for Professional/Enterprise
/// accounts (190 / 10 s) or the API limit increase pack (250 / 10 s).
#[derive(Debug, Clone, PartialEq)]
pub struct HubspotConfig {
    /// API root, without a trailing slash. The CLI points it elsewhere (the sandbox) from
    /// `HUBSPOT_API_BASE`; this crate reads no environment besides the token.
    pub base_url: String,
    /// A service key, private-app or OAuth access token, sent as `Authorization: Bearer`.
    pub token: Secret,
    /// Which of HubSpot's API versions every path uses (default `2026-09`).
    pub api_version: ApiVersion,
    /// Requests per `interval`, all endpoints together.
    pub requests_per_interval: u32,
    pub interval: Duration,
    /// Slack added to `interval` when pacing requests, so latency jitter between our
    /// send and HubSpot's arrival time can't put one request too many in HubSpot's
    /// rolling window. Default: 100 ms (1 % of the default 10 s interval).
    pub headroom: Duration,
    /// Search requests per second, on top of the general limit (HubSpot: 4 per token;
    /// changelog "CRM Search API rate limit increase"). HubSpot counts them on arrival:
    /// each search holds a slot until a window after its answer, so one delayed on its
    /// way never makes a fifth in one second.
    pub search_per_second: u32,
    /// Slack added to the search limit's one-second window, for the same reason as
    /// `headroom`: clocks and HubSpot's window edges differ by milliseconds. Default
    /// 100 ms (10 %).
    pub search_headroom: Duration,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Retries of one request after the first attempt.
    pub max_retries: u32,
    /// First retry backoff (doubles, jittered) when HubSpot names no wait.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Give up on a request rather than retry past this much time.
    pub max_retry_time: Duration,
    /// Largest response body accepted.
    pub max_response_bytes: u64,
}

impl HubspotConfig {
    /// A config for HubSpot itself with `token` and the defaults above.
    pub fn new(token: Secret) -> HubspotConfig {
        HubspotConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            token,
            api_version: ApiVersion::default(),
            requests_per_interval: 100,
            interval: Duration::from_secs(10),
            headroom: Duration::from_millis(100),
            search_per_second: 4,
            search_headroom: Duration::from_millis(100),
            timeout: Duration::from_secs(30),
            max_retries: 6,
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_retry_time: Duration::from_mins(3),
            max_response_bytes: 32 * 1024 * 1024,
        }
    }

    /// [`HubspotConfig::new`] with the token from `HUBSPOT_ACCESS_TOKEN`; `None` when
    /// it is unset or blank.
    pub fn from_env() -> Option<HubspotConfig> {
        Secret::from_env(TOKEN_ENV).map(HubspotConfig::new)
    }

    /// The same config against another API root (the sandbox, a proxy).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> HubspotConfig {
        let base_url = base_url.into();
        base_url
            .trim_end_matches('/')
            .clone_into(&mut self.base_url);
        self
    }

    /// The same config speaking another API version.
    #[must_use]
    pub fn with_api_version(mut self, api_version: ApiVersion) -> HubspotConfig {
        self.api_version = api_version;
        self
    }

    /// The shared HTTP policy these settings make.
    pub fn http_policy(&self) -> HttpPolicy {
        let mut policy =
            HttpPolicy::new(Service::Hubspot, self.requests_per_interval, self.interval);
        policy.headroom = self.headroom;
        policy.timeout = self.timeout;
        policy.max_retries = self.max_retries;
        policy.base_backoff = self.base_backoff;
        policy.max_backoff = self.max_backoff;
        policy.max_retry_time = self.max_retry_time;
        policy.max_response_bytes = self.max_response_bytes;
        policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_hubspots_free_limits_and_never_print_the_token() {
        let config =
            HubspotConfig::new(Secret::new("pat-na1-secret")).with_base_url("http://127.0.0.1:9/");
        assert_eq!(config.base_url, "http://127.0.0.1:9");
        assert_eq!(
            (config.requests_per_interval, config.interval),
            (100, Duration::from_secs(10))
        );
        assert_eq!(config.search_per_second, 4);
        assert!(!format!("{config:?}").contains("pat-na1-secret"));
        let policy = config.http_policy();
        assert_eq!(policy.service, Service::Hubspot);
        assert_eq!(policy.pacing(), Some(Duration::from_millis(101)));
    }
}
