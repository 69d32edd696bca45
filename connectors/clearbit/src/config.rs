//! Clearbit adapter settings: the `[sources.clearbit]` table of `firmo.toml`.

use std::time::Duration;

use firmo_connect::{ConnectorError, Secret, Service};
use serde::{Deserialize, Serialize};

/// Settings of the Clearbit Company API adapter. Every key has a default.
///
/// ```toml
/// [sources.clearbit]
/// base_url = "https://company.clearbit.com"
/// api_key_env = "CLEARBIT_API_KEY"
/// requests_per_minute = 600
/// cost_per_lookup = 1.0
/// timeout_secs = 20
/// pending_retry_after_secs = 300
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClearbitConfig {
    /// Where the Company API lives. The path `/v2/companies/find` is appended.
    /// Default: `https://company.clearbit.com` (the host Clearbit's own clients call).
    pub base_url: String,
    /// Environment variable holding the secret key (`sk_…`). Default: `CLEARBIT_API_KEY`.
    /// The key itself is never read from the config file.
    pub api_key_env: String,
    /// Most requests per minute firmo sends. Default: 600, the per-key limit Clearbit
    /// documents for the Company API.
    pub requests_per_minute: u32,
    /// Credits one lookup costs, for the run budget. Default: 1 (Clearbit bills one
    /// Enrichment credit per company lookup; a 404 "not found" is cached so it is paid
    /// at most once).
    pub cost_per_lookup: f64,
    /// Seconds to wait for one answer. Default: 20. Clearbit answers known domains in
    /// well under a second and queues unknown ones (HTTP 202) instead of blocking.
    pub timeout_secs: u64,
    /// After a 202 ("lookup queued"), ask again no sooner than this many seconds later
    /// (unless Clearbit sends `Retry-After`). Default: 300: Clearbit's help centre says to
    /// retry "after a few minutes", by which time the company is usually indexed.
    pub pending_retry_after_secs: u64,
}

/// The real API host.
pub const DEFAULT_BASE_URL: &str = "https://company.clearbit.com";
/// The environment variable the key is read from by default.
pub const DEFAULT_API_KEY_ENV: &str = "CLEARBIT_API_KEY";

impl Default for ClearbitConfig {
    fn default() -> Self {
        ClearbitConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key_env: DEFAULT_API_KEY_ENV.to_owned(),
            requests_per_minute: 600,
            cost_per_lookup: 1.0,
            timeout_secs: 20,
            pending_retry_after_secs: 300,
        }
    }
}

impl ClearbitConfig {
    /// The configured timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// Reads the API key from the environment variable named by `api_key_env`. A missing
    /// key is an [`ConnectorError::Auth`] naming the variable, so the engine skips
    /// Clearbit for the run and keeps going with the other providers.
    pub fn api_key(&self) -> Result<Secret, ConnectorError> {
        Secret::from_env(&self.api_key_env).ok_or_else(|| ConnectorError::Auth {
            service: Service::Clearbit,
            message: format!(
                "no API key: set the environment variable {} to your Clearbit secret key",
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
        let toml = "base_url = \"https://company.clearbit.com\"\napi_key_env = \"CLEARBIT_API_KEY\"\n\
                    requests_per_minute = 600\ncost_per_lookup = 1.0\ntimeout_secs = 20\n\
                    pending_retry_after_secs = 300\n";
        let parsed: ClearbitConfig = toml::from_str(toml).unwrap();
        assert_eq!(parsed, ClearbitConfig::default());
        let empty: ClearbitConfig = toml::from_str("").unwrap();
        assert_eq!(empty, ClearbitConfig::default());
    }

    #[test]
    fn missing_key_names_the_variable() {
        let config = ClearbitConfig {
            api_key_env: "FIRMO_TEST_CLEARBIT_KEY_THAT_IS_NEVER_SET".into(),
            ..ClearbitConfig::default()
        };
        let err = config.api_key().unwrap_err();
        assert!(err.stops_service());
        assert!(
            err.to_string()
                .contains("FIRMO_TEST_CLEARBIT_KEY_THAT_IS_NEVER_SET"),
            "{err}"
        );
    }
}
