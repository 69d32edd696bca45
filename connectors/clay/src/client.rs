//! The Clay [`Provider`]: Clay has no synchronous lookup for most plans, so a lookup
//! POSTs the account to the table's webhook and answers
//! [`LookupOutcome::Pending`]. The enriched row comes back later through the callback
//! receiver ([`crate::receiver`]), which hands it to the engine's cache.
//!
//! A domain pushed within `pending_retry_after_secs` is not pushed again (Clay would add
//! a duplicate row and charge for it): the lookup just answers pending with the time left.
//! [`Webhook`] is that machinery, shared with the people table's client
//! ([`crate::person`]).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
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

/// One Clay table's webhook: rows go in, and a key pushed recently is not pushed again.
#[derive(Debug)]
pub(crate) struct Webhook {
    url: reqwest::Url,
    token: Option<Secret>,
    http: HttpClient,
    /// How long a pushed row is waited for before the key may be pushed again.
    window: Duration,
    /// When each key was last pushed (this process).
    pushed: Mutex<HashMap<String, Instant>>,
}

/// What [`Webhook::push_once`] did.
pub(crate) struct Pushed {
    /// How long to wait for the row.
    pub retry_after: Duration,
    /// A row was pushed now (and billed as soon as its columns run); false: one pushed
    /// earlier is still on its way.
    pub charged: bool,
}

impl Webhook {
    /// The webhook of `config`; `key` names the setting in errors (the URL is never
    /// echoed: a Clay webhook URL is as good as a password).
    pub(crate) fn new(
        config: &ClayConfig,
        token: Option<Secret>,
        policy: HttpPolicy,
        key: &str,
        hint: &str,
    ) -> Result<Webhook, ConnectorError> {
        let invalid = |message: &str| ConnectorError::Validation {
            service: SERVICE,
            property: Some(key.into()),
            value: None,
            message: message.to_owned(),
        };
        if config.webhook_url.trim().is_empty() {
            return Err(invalid(&format!(
                "not set: copy {hint} webhook URL from Clay (table → Add → Webhooks)"
            )));
        }
        let url = reqwest::Url::parse(config.webhook_url.trim())
            .map_err(|e| invalid(&format!("not a usable URL ({e})")))?;
        Ok(Webhook {
            url,
            token,
            http: HttpClient::new(policy)?,
            window: Duration::from_secs(config.pending_retry_after_secs),
            pushed: Mutex::default(),
        })
    }

    /// The HTTP policy `config` implies.
    pub(crate) fn policy(config: &ClayConfig) -> HttpPolicy {
        let mut policy =
            HttpPolicy::new(SERVICE, config.requests_per_minute, Duration::from_mins(1));
        policy.timeout = config.timeout();
        policy
    }

    pub(crate) fn http(&self) -> &HttpClient {
        &self.http
    }

    /// POSTs one row, with the table's token when it has one.
    pub(crate) async fn post(&self, body: &serde_json::Value) -> Result<(), ConnectorError> {
        self.http
            .execute(
                || {
                    let request = self.http.reqwest().post(self.url.clone()).json(body);
                    match &self.token {
                        Some(token) => request.header(WEBHOOK_AUTH_HEADER, token.expose()),
                        None => request,
                    }
                },
                &ClayRetryPolicy,
            )
            .await
            .map(drop)
    }

    /// Pushes the row for `key` unless one pushed within the window is still on its way.
    pub(crate) async fn push_once(
        &self,
        key: &str,
        body: &serde_json::Value,
    ) -> Result<Pushed, ConnectorError> {
        if let Some(left) = self.wait_left(key) {
            // Still waiting for the row pushed earlier: nothing new is billed.
            return Ok(Pushed {
                retry_after: left,
                charged: false,
            });
        }
        self.post(body).await?;
        self.lock().insert(key.to_owned(), Instant::now());
        Ok(Pushed {
            retry_after: self.window,
            charged: true,
        })
    }

    /// Forgets that `key` was pushed (its row arrived), so a later lookup pushes again.
    pub(crate) fn row_arrived(&self, key: &str) {
        self.lock().remove(key);
    }

    fn wait_left(&self, key: &str) -> Option<Duration> {
        let at = *self.lock().get(key)?;
        self.window
            .checked_sub(at.elapsed())
            .filter(|left| !left.is_zero())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.pushed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Pushes accounts into a Clay table.
#[derive(Debug)]
pub struct ClayClient {
    config: ClayConfig,
    webhook: Webhook,
}

impl ClayClient {
    /// A client with the webhook token (if any) read from `api_key_env`.
    pub fn from_env(config: ClayConfig) -> Result<ClayClient, ConnectorError> {
        let token = config.webhook_token();
        ClayClient::new(config, token)
    }

    /// A client with the HTTP policy the config implies.
    pub fn new(config: ClayConfig, token: Option<Secret>) -> Result<ClayClient, ConnectorError> {
        let policy = Webhook::policy(&config);
        ClayClient::with_policy(config, token, policy)
    }

    /// A client with an explicit HTTP policy (tests shorten backoffs and timeouts).
    pub fn with_policy(
        config: ClayConfig,
        token: Option<Secret>,
        policy: HttpPolicy,
    ) -> Result<ClayClient, ConnectorError> {
        let webhook = Webhook::new(
            &config,
            token,
            policy,
            "sources.clay.webhook_url",
            "the table's",
        )?;
        Ok(ClayClient { config, webhook })
    }

    /// The shared client's counters.
    pub fn http(&self) -> &HttpClient {
        self.webhook.http()
    }

    /// POSTs one account to the table's webhook: `{"domain", "account_id"?}`.
    pub async fn push(&self, domain: &str, account_id: Option<&str>) -> Result<(), ConnectorError> {
        self.webhook.post(&push_body(domain, account_id)).await?;
        tracing::info!(
            provider = "clay",
            domain,
            "row pushed to the Clay table; awaiting its callback"
        );
        Ok(())
    }

    /// Forgets that `domain` was pushed (its row arrived), so a later lookup pushes again.
    pub fn row_arrived(&self, domain: &str) {
        self.webhook.row_arrived(domain);
    }
}

fn push_body(domain: &str, account_id: Option<&str>) -> serde_json::Value {
    let mut body = json!({ "domain": domain });
    if let Some(id) = account_id {
        body["account_id"] = json!(id);
    }
    body
}

#[async_trait]
impl Provider for ClayClient {
    fn name(&self) -> &'static str {
        crate::NAME
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
        let pushed = self
            .webhook
            .push_once(domain, &push_body(domain, None))
            .await?;
        if pushed.charged {
            tracing::info!(
                provider = "clay",
                domain,
                "row pushed to the Clay table; awaiting its callback"
            );
        }
        Ok(LookupOutcome::Pending {
            retry_after: Some(pushed.retry_after),
            // Clay bills a pushed row's columns as soon as they run.
            charged: pushed.charged,
        })
    }
}
