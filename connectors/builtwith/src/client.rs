//! The BuiltWith [`Provider`]: one `GET /{version}/api.json?KEY=…&LOOKUP=…` per lookup,
//! through the shared HTTP policy. The key is a query parameter (BuiltWith offers no
//! header), so the URL is never logged and every error passed on is scrubbed of it.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use firmo_connect::http::{HttpClient, HttpPolicy};
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::{Source, UnixMillis};

use crate::config::BuiltWithConfig;
use crate::parse::parse_domain;
use crate::retry::{BuiltWithRetryPolicy, scrub};

/// Looks domains up in BuiltWith's Domain API.
#[derive(Debug, Clone)]
pub struct BuiltWithClient {
    config: BuiltWithConfig,
    key: Secret,
    http: HttpClient,
    retry: BuiltWithRetryPolicy,
}

impl BuiltWithClient {
    /// A client with the key read from the environment variable the config names.
    pub fn from_env(config: BuiltWithConfig) -> Result<BuiltWithClient, ConnectorError> {
        let key = config.api_key()?;
        BuiltWithClient::new(config, key)
    }

    /// A client with the HTTP policy the config implies (its rate limit and timeout).
    pub fn new(config: BuiltWithConfig, key: Secret) -> Result<BuiltWithClient, ConnectorError> {
        let policy = BuiltWithClient::http_policy(&config);
        BuiltWithClient::with_policy(config, key, policy)
    }

    /// A client with an explicit HTTP policy (tests shorten backoffs and timeouts).
    pub fn with_policy(
        config: BuiltWithConfig,
        key: Secret,
        policy: HttpPolicy,
    ) -> Result<BuiltWithClient, ConnectorError> {
        let retry = BuiltWithRetryPolicy::new(key.clone());
        Ok(BuiltWithClient {
            config,
            key,
            http: HttpClient::new(policy)?,
            retry,
        })
    }

    /// The policy `new` uses: `requests_per_minute` per minute, `timeout_secs`.
    pub fn http_policy(config: &BuiltWithConfig) -> HttpPolicy {
        let mut policy = HttpPolicy::new(
            Service::BuiltWith,
            config.requests_per_minute,
            Duration::from_mins(1),
        );
        policy.timeout = config.timeout();
        policy
    }

    /// The shared client's counters (requests, retries, 429s).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    async fn lookup_unscrubbed(&self, domain: &str) -> Result<LookupOutcome, ConnectorError> {
        let base = format!(
            "{}/{}/api.json",
            self.config.base_url.trim_end_matches('/'),
            self.config.api_version.trim_matches('/')
        );
        // HIDEDL drops descriptions and links (firmo reads names, tags and dates); NOMETA
        // drops company metadata. Both are documented Domain API options that shrink the
        // answer. LIVEONLY is not sent: firmo applies its own, configurable liveness window.
        let url = reqwest::Url::parse_with_params(
            &base,
            [
                ("KEY", self.key.expose()),
                ("LOOKUP", domain),
                ("HIDEDL", "yes"),
                ("NOMETA", "yes"),
            ],
        )
        .map_err(|e| ConnectorError::Validation {
            service: Service::BuiltWith,
            property: Some("base_url".into()),
            value: Some(self.config.base_url.clone()),
            message: format!("not a usable URL: {e}"),
        })?;
        let response = self
            .http
            .execute(|| self.http.reqwest().get(url.clone()), &self.retry)
            .await?;
        if response.status != 200 {
            return Err(ConnectorError::Unexpected {
                service: Service::BuiltWith,
                status: response.status,
                message: "status the retry policy passed through".into(),
            });
        }
        parse_domain(&response.body, now(), self.config.live_window_millis())
    }
}

#[async_trait]
impl Provider for BuiltWithClient {
    fn name(&self) -> &'static str {
        "builtwith"
    }

    fn sources(&self) -> &'static [Source] {
        &[Source::BuiltWith]
    }

    fn cost_per_lookup(&self) -> f64 {
        self.config.cost_per_lookup
    }

    async fn lookup(&self, domain: &str) -> Result<LookupOutcome, ConnectorError> {
        self.lookup_unscrubbed(domain)
            .await
            .map_err(|e| scrub(e, &self.key))
    }
}

fn now() -> UnixMillis {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    UnixMillis(millis)
}
