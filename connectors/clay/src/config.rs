//! Clay adapter settings: the `[sources.clay]` table of `firmo.toml`.

use std::time::Duration;

use firmo_connect::{ConnectorError, Secret, Service};
use serde::{Deserialize, Serialize};

use crate::receiver::{DEFAULT_MAX_BODY_BYTES, DEFAULT_SECRET_HEADER, ReceiverConfig};

/// Settings of the Clay adapter: the table webhook firmo pushes accounts to, and the
/// callback receiver the table's HTTP API column posts enriched rows back to.
///
/// ```toml
/// [sources.clay]
/// webhook_url = "https://api.clay.com/v3/sources/webhook/pull-in-data-from-a-webhook-…"
/// api_key_env = "CLAY_WEBHOOK_TOKEN"
/// callback_secret_env = "CLAY_CALLBACK_SECRET"
/// callback_header = "x-firmo-secret"
/// requests_per_minute = 600
/// cost_per_lookup = 1.0
/// timeout_secs = 20
/// pending_retry_after_secs = 3600
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClayConfig {
    /// The table's webhook URL (Clay: table → Add → Webhooks → copy URL). No default:
    /// every table has its own. firmo POSTs `{"domain", "account_id"}` to it.
    pub webhook_url: String,
    /// Environment variable holding the table's webhook auth token, sent as
    /// `x-clay-webhook-auth`. Default: `CLAY_WEBHOOK_TOKEN`. Optional: tables without a
    /// token accept unauthenticated rows, so an unset variable sends no header.
    pub api_key_env: String,
    /// Environment variable holding the shared secret Clay's HTTP API column sends to
    /// firmo's callback receiver. Default: `CLAY_CALLBACK_SECRET`. Required to receive.
    pub callback_secret_env: String,
    /// Header the callback secret travels in (configure the same on the Clay column).
    /// Default: `x-firmo-secret`.
    pub callback_header: String,
    /// Most rows per minute pushed to the webhook. Default: 600 (10 per second: Clay's
    /// stated webhook limit is 10 records per second per workspace, bursts of 20).
    pub requests_per_minute: u32,
    /// Credits one pushed row costs. Default: 1. The real cost is whatever the table's
    /// enrichment columns spend per row (Clay charges per cell, even for "no data"):
    /// set it to your table's figure so the run budget is honest.
    pub cost_per_lookup: f64,
    /// Seconds to wait for the webhook to accept a row. Default: 20.
    pub timeout_secs: u64,
    /// A pushed row whose callback has not arrived is pending; firmo pushes it again no
    /// sooner than this. Default: 3600 (an hour: Clay tables usually finish a row within
    /// minutes; a lost row should not wait a week).
    pub pending_retry_after_secs: u64,
}

/// The environment variable the webhook token is read from by default.
pub const DEFAULT_API_KEY_ENV: &str = "CLAY_WEBHOOK_TOKEN";
/// The environment variable the callback secret is read from by default.
pub const DEFAULT_CALLBACK_SECRET_ENV: &str = "CLAY_CALLBACK_SECRET";

impl Default for ClayConfig {
    fn default() -> Self {
        ClayConfig {
            webhook_url: String::new(),
            api_key_env: DEFAULT_API_KEY_ENV.to_owned(),
            callback_secret_env: DEFAULT_CALLBACK_SECRET_ENV.to_owned(),
            callback_header: DEFAULT_SECRET_HEADER.to_owned(),
            requests_per_minute: 600,
            cost_per_lookup: 1.0,
            timeout_secs: 20,
            pending_retry_after_secs: 3600,
        }
    }
}

impl ClayConfig {
    /// The configured timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// The webhook token from `api_key_env`, when set (tables may not require one).
    pub fn webhook_token(&self) -> Option<Secret> {
        Secret::from_env(&self.api_key_env)
    }

    /// The receiver's settings, with the secret read from `callback_secret_env`; a
    /// missing secret is an [`ConnectorError::Auth`] naming the variable (the receiver
    /// must never run open).
    pub fn receiver_config(&self) -> Result<ReceiverConfig, ConnectorError> {
        let secret = Secret::from_env(&self.callback_secret_env).ok_or_else(|| ConnectorError::Auth {
            service: Service::Clay,
            message: format!(
                "no callback secret: set the environment variable {} to the secret your Clay HTTP API column sends in `{}`",
                self.callback_secret_env, self.callback_header
            ),
        })?;
        Ok(ReceiverConfig {
            secret,
            header: self.callback_header.clone(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_in_docs_parses_and_empty_is_the_defaults() {
        let toml = "webhook_url = \"https://api.clay.com/v3/sources/webhook/pull-in-data-from-a-webhook-x\"\n\
                    api_key_env = \"CLAY_WEBHOOK_TOKEN\"\ncallback_secret_env = \"CLAY_CALLBACK_SECRET\"\n\
                    callback_header = \"x-firmo-secret\"\nrequests_per_minute = 600\ncost_per_lookup = 1.0\n\
                    timeout_secs = 20\npending_retry_after_secs = 3600\n";
        let parsed: ClayConfig = toml::from_str(toml).unwrap();
        assert_eq!(
            parsed,
            ClayConfig {
                webhook_url:
                    "https://api.clay.com/v3/sources/webhook/pull-in-data-from-a-webhook-x".into(),
                ..ClayConfig::default()
            }
        );
        assert_eq!(
            toml::from_str::<ClayConfig>("").unwrap(),
            ClayConfig::default()
        );
    }

    #[test]
    fn missing_callback_secret_names_the_variable() {
        let config = ClayConfig {
            callback_secret_env: "FIRMO_TEST_CLAY_SECRET_THAT_IS_NEVER_SET".into(),
            ..ClayConfig::default()
        };
        let err = config.receiver_config().unwrap_err();
        assert!(
            err.to_string()
                .contains("FIRMO_TEST_CLAY_SECRET_THAT_IS_NEVER_SET"),
            "{err}"
        );
    }
}
