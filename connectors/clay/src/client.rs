//! The Clay [`Provider`]: Clay has no synchronous lookup for most plans, so a lookup
//! POSTs the account to the table's webhook and answers
//! [`LookupOutcome::Pending`]. The enriched row comes back later through the callback
//! receiver ([`crate::receiver`]), which hands it to the engine's cache.
//!
//! A domain pushed within `pending_retry_after_secs` is not pushed again (Clay would add
//! a duplicate row and charge for it): the lookup just answers pending with the time left.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use firmo_connect::http::{HttpClient, HttpPolicy};
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::Source;
use serde_json::json;

use crate::config::ClayConfig;
use crate::retry::ClayRetryPolicy;

const SERVICE: Service = Service::Clay;
/// The header Clay reads a table's webhook token from.
pub const WEBHOOK_AUTH_HEADER: &str = "x-clay-webhook-auth";

/// Pushes accounts into a Clay table.
#[derive(Debug)]
pub struct ClayClient {
    config: ClayConfig,
    webhook: reqwest::Url,
    token: Option<Secret>,
    http: HttpClient,
    /// When each domain was last pushed (this process).
    pushed: Mutex<HashMap<String, Instant>>,
}

impl ClayClient {
    /// A client with the webhook token (if any) read from `api_key_env`.
    pub fn from_env(config: ClayConfig) -> Result<ClayClient, ConnectorError> {
        let token = config.webhook_token();
        ClayClient::new(config, token)
    }

    /// A client with the HTTP policy the config implies.
    pub fn new(config: ClayConfig, token: Option<Secret>) -> Result<ClayClient, ConnectorError> {
        let mut policy =
            HttpPolicy::new(SERVICE, config.requests_per_minute, Duration::from_mins(1));
        policy.timeout = config.timeout();
        ClayClient::with_policy(config, token, policy)
    }

    /// A client with an explicit HTTP policy (tests shorten backoffs and timeouts).
    pub fn with_policy(
        config: ClayConfig,
        token: Option<Secret>,
        policy: HttpPolicy,
    ) -> Result<ClayClient, ConnectorError> {
        let invalid = |message: &str| ConnectorError::Validation {
            service: SERVICE,
            property: Some("sources.clay.webhook_url".into()),
            value: None,
            message: message.to_owned(),
        };
        if config.webhook_url.trim().is_empty() {
            return Err(invalid(
                "not set: copy the table's webhook URL from Clay (table → Add → Webhooks)",
            ));
        }
        // The URL is not echoed: a Clay webhook URL is as good as a password.
        let webhook = reqwest::Url::parse(config.webhook_url.trim())
            .map_err(|e| invalid(&format!("not a usable URL ({e})")))?;
        Ok(ClayClient {
            config,
            webhook,
            token,
            http: HttpClient::new(policy)?,
            pushed: Mutex::default(),
        })
    }

    /// The shared client's counters.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// POSTs one account to the table's webhook: `{"domain", "account_id"?}`.
    pub async fn push(&self, domain: &str, account_id: Option<&str>) -> Result<(), ConnectorError> {
        let mut body = json!({ "domain": domain });
        if let Some(id) = account_id {
            body["account_id"] = json!(id);
        }
        self.http
            .execute(
                || {
                    let request = self.http.reqwest().post(self.webhook.clone()).json(&body);
                    match &self.token {
                        Some(token) => request.header(WEBHOOK_AUTH_HEADER, token.expose()),
                        None => request,
                    }
                },
                &ClayRetryPolicy,
            )
            .await?;
        tracing::info!(
            provider = "clay",
            domain,
            "row pushed to the Clay table; awaiting its callback"
        );
        Ok(())
    }

    /// Forgets that `domain` was pushed (its row arrived), so a later lookup pushes again.
    pub fn row_arrived(&self, domain: &str) {
        self.pushed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(domain);
    }

    fn wait_left(&self, domain: &str) -> Option<Duration> {
        let window = Duration::from_secs(self.config.pending_retry_after_secs);
        let pushed = self
            .pushed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = pushed.get(domain)?;
        window
            .checked_sub(at.elapsed())
            .filter(|left| !left.is_zero())
    }
}

#[async_trait]
impl Provider for ClayClient {
    fn name(&self) -> &'static str {
        "clay"
    }

    fn sources(&self) -> &'static [Source] {
        &[Source::Clay, Source::LinkedIn]
    }

    fn cost_per_lookup(&self) -> f64 {
        self.config.cost_per_lookup
    }

    // Clay's HTTP API column posts each enriched row back to firmo's receiver.
    fn answers_by_push(&self) -> bool {
        true
    }

    async fn lookup(&self, domain: &str) -> Result<LookupOutcome, ConnectorError> {
        if let Some(left) = self.wait_left(domain) {
            // Still waiting for the row pushed earlier: nothing new is billed.
            return Ok(LookupOutcome::Pending {
                retry_after: Some(left),
                charged: false,
            });
        }
        self.push(domain, None).await?;
        self.pushed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(domain.to_owned(), Instant::now());
        Ok(LookupOutcome::Pending {
            retry_after: Some(Duration::from_secs(self.config.pending_retry_after_secs)),
            // Clay bills a pushed row's columns as soon as they run.
            charged: true,
        })
    }
}
