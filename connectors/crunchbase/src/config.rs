//! Crunchbase adapter settings: the `[sources.crunchbase]` table of `firmo.toml`.

use std::time::Duration;

use firmo_connect::{ConnectorError, Secret, Service};
use serde::{Deserialize, Serialize};

/// Settings of the Crunchbase API v4 adapter. Every key has a default.
///
/// ```toml
/// [sources.crunchbase]
/// base_url = "https://api.crunchbase.com"
/// api_key_env = "CRUNCHBASE_API_KEY"
/// requests_per_minute = 200
/// cost_per_lookup = 1.0
/// timeout_secs = 20
/// batch_size = 25
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CrunchbaseConfig {
    /// Where the API lives; `/api/v4/…` is appended. Default: `https://api.crunchbase.com`.
    pub base_url: String,
    /// Environment variable holding the user key (sent as `X-cb-user-key`). Default:
    /// `CRUNCHBASE_API_KEY`.
    pub api_key_env: String,
    /// Most requests per minute firmo sends. Default: 200, the limit Crunchbase documents
    /// for the v4 Enterprise API (one search answers up to `batch_size` companies).
    pub requests_per_minute: u32,
    /// Credits one request costs. Default: 1. Crunchbase bills by plan and meters calls,
    /// so firmo budgets in calls: one search per batch, shared by its domains.
    pub cost_per_lookup: f64,
    /// Seconds to wait for one answer. Default: 20.
    pub timeout_secs: u64,
    /// Domains per search (one `domain_eq` predicate listing them). Default: 25; 1 sends
    /// one search per domain, should an account's API not take several values.
    pub batch_size: usize,
}

/// Most domains one search carries (results are paged at 1000, five hits a domain).
pub const MAX_BATCH: usize = 200;

/// The real API host.
pub const DEFAULT_BASE_URL: &str = "https://api.crunchbase.com";
/// The environment variable the key is read from by default.
pub const DEFAULT_API_KEY_ENV: &str = "CRUNCHBASE_API_KEY";

impl Default for CrunchbaseConfig {
    fn default() -> Self {
        CrunchbaseConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key_env: DEFAULT_API_KEY_ENV.to_owned(),
            requests_per_minute: 200,
            cost_per_lookup: 1.0,
            timeout_secs: 20,
            batch_size: 25,
        }
    }
}

impl CrunchbaseConfig {
    /// The configured timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// Domains per search: `batch_size` within 1..=200.
    pub fn batch(&self) -> usize {
        self.batch_size.clamp(1, MAX_BATCH)
    }

    /// Reads the user key from the environment variable named by `api_key_env`; missing
    /// is an [`ConnectorError::Auth`] naming the variable.
    pub fn api_key(&self) -> Result<Secret, ConnectorError> {
        Secret::from_env(&self.api_key_env).ok_or_else(|| ConnectorError::Auth {
            service: Service::Crunchbase,
            message: format!(
                "no API key: set the environment variable {} to your Crunchbase user key",
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
        let toml = "base_url = \"https://api.crunchbase.com\"\napi_key_env = \"CRUNCHBASE_API_KEY\"\n\
                    requests_per_minute = 200\ncost_per_lookup = 1.0\ntimeout_secs = 20\n\
                    batch_size = 25\n";
        let parsed: CrunchbaseConfig = toml::from_str(toml).unwrap();
        assert_eq!(parsed, CrunchbaseConfig::default());
        assert_eq!(
            toml::from_str::<CrunchbaseConfig>("").unwrap(),
            CrunchbaseConfig::default()
        );
    }

    #[test]
    fn missing_key_names_the_variable() {
        let config = CrunchbaseConfig {
            api_key_env: "FIRMO_TEST_CRUNCHBASE_KEY_THAT_IS_NEVER_SET".into(),
            ..CrunchbaseConfig::default()
        };
        let err = config.api_key().unwrap_err();
        assert!(err.stops_service());
        assert!(
            err.to_string()
                .contains("FIRMO_TEST_CRUNCHBASE_KEY_THAT_IS_NEVER_SET"),
            "{err}"
        );
    }
}
