//! BuiltWith adapter settings: the `[sources.builtwith]` table of `firmo.toml`.

use std::time::Duration;

use firmo_connect::{ConnectorError, Secret, Service};
use serde::{Deserialize, Serialize};

/// Settings of the BuiltWith Domain API adapter. Every key has a default.
///
/// ```toml
/// [sources.builtwith]
/// base_url = "https://api.builtwith.com"
/// api_version = "v21"
/// api_key_env = "BUILTWITH_API_KEY"
/// requests_per_minute = 300
/// cost_per_lookup = 1.0
/// timeout_secs = 30
/// live_within_days = 90
/// batch_size = 16
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuiltWithConfig {
    /// Where the Domain API lives. Default: `https://api.builtwith.com`.
    pub base_url: String,
    /// Domain API version path segment. Default: `v21`; BuiltWith keeps older versions
    /// running and v21 and later share the response shape firmo reads.
    pub api_version: String,
    /// Environment variable holding the API key (a GUID). Default: `BUILTWITH_API_KEY`.
    /// BuiltWith takes the key as the `KEY` query parameter, so firmo never logs or
    /// reports request URLs for this provider.
    pub api_key_env: String,
    /// Most requests per minute firmo sends. Default: 300 (5 per second), under the
    /// per-account rate BuiltWith reports through its WhoAmI endpoint (10 per second in
    /// its documented example; 1 per second on the free API).
    pub requests_per_minute: u32,
    /// Credits one domain costs. Default: 1 (BuiltWith: "an API credit is per-website
    /// call to the Domain API … that returns a successful non-error result", so a domain
    /// it has no data on costs nothing).
    pub cost_per_lookup: f64,
    /// Seconds to wait for one answer. Default: 30: a domain missing from BuiltWith's
    /// database is looked up live, which takes a while.
    pub timeout_secs: u64,
    /// A technology counts as in use when BuiltWith last detected it at most this many
    /// days before the fetch. Default: 90 (BuiltWith re-indexes a site within 30 days;
    /// three crawls missed means it is gone).
    pub live_within_days: u32,
    /// Domains per request (the Domain API's multi-lookup, `LOOKUP=a,b,c`). Default and
    /// most: 16, BuiltWith's documented limit ("up to 16 domains at once", reported per
    /// account as `max_batch_size.domain_lookup` by its WhoAmI endpoint). Each domain is
    /// still billed on its own.
    pub batch_size: usize,
}

/// BuiltWith's documented most domains in one lookup.
pub const MAX_BATCH: usize = 16;

/// The real API host.
pub const DEFAULT_BASE_URL: &str = "https://api.builtwith.com";
/// The environment variable the key is read from by default.
pub const DEFAULT_API_KEY_ENV: &str = "BUILTWITH_API_KEY";

impl Default for BuiltWithConfig {
    fn default() -> Self {
        BuiltWithConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_version: "v21".to_owned(),
            api_key_env: DEFAULT_API_KEY_ENV.to_owned(),
            requests_per_minute: 300,
            cost_per_lookup: 1.0,
            timeout_secs: 30,
            live_within_days: 90,
            batch_size: MAX_BATCH,
        }
    }
}

impl BuiltWithConfig {
    /// The configured timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// Domains per request: `batch_size` within 1..=16.
    pub fn batch(&self) -> usize {
        self.batch_size.clamp(1, MAX_BATCH)
    }

    /// The liveness window in milliseconds.
    pub fn live_window_millis(&self) -> i64 {
        i64::from(self.live_within_days) * 86_400_000
    }

    /// Reads the API key from the environment variable named by `api_key_env`; missing
    /// is an [`ConnectorError::Auth`] naming the variable.
    pub fn api_key(&self) -> Result<Secret, ConnectorError> {
        Secret::from_env(&self.api_key_env).ok_or_else(|| ConnectorError::Auth {
            service: Service::BuiltWith,
            message: format!(
                "no API key: set the environment variable {} to your BuiltWith API key",
                self.api_key_env
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_in_docs_parses_to_the_defaults() {
        let toml = "base_url = \"https://api.builtwith.com\"\napi_version = \"v21\"\n\
                    api_key_env = \"BUILTWITH_API_KEY\"\nrequests_per_minute = 300\n\
                    cost_per_lookup = 1.0\ntimeout_secs = 30\nlive_within_days = 90\n\
                    batch_size = 16\n";
        let parsed: BuiltWithConfig = toml::from_str(toml).unwrap();
        assert_eq!(parsed, BuiltWithConfig::default());
        assert_eq!(
            toml::from_str::<BuiltWithConfig>("").unwrap(),
            BuiltWithConfig::default()
        );
        assert_eq!(
            BuiltWithConfig::default().live_window_millis(),
            90 * 86_400_000
        );
        let batch = |n| {
            BuiltWithConfig {
                batch_size: n,
                ..BuiltWithConfig::default()
            }
            .batch()
        };
        assert_eq!((batch(0), batch(5), batch(40)), (1, 5, 16));
    }

    #[test]
    fn missing_key_names_the_variable() {
        let config = BuiltWithConfig {
            api_key_env: "FIRMO_TEST_BUILTWITH_KEY_THAT_IS_NEVER_SET".into(),
            ..BuiltWithConfig::default()
        };
        let err = config.api_key().unwrap_err();
        assert!(err.stops_service());
        assert!(
            err.to_string()
                .contains("FIRMO_TEST_BUILTWITH_KEY_THAT_IS_NEVER_SET"),
            "{err}"
        );
    }
}
