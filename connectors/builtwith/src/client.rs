//! The BuiltWith [`Provider`]: one `GET /{version}/api.json?KEY=…&LOOKUP=a,b,…` per up to
//! 16 domains (the Domain API's documented multi-lookup), through the shared HTTP policy. The key is a query parameter (BuiltWith offers no
//! header), so the URL is never logged and every error passed on is scrubbed of it.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use firmo_connect::http::{HttpClient, HttpPolicy, HttpResponse};
use firmo_connect::provider::chunks;
use firmo_connect::{
    BatchAnswer, Billing, ConnectorError, LookupOutcome, Provider, Secret, Service,
};
use firmo_core::{Source, UnixMillis};

use crate::config::BuiltWithConfig;
use crate::parse::{DomainAnswer, parse_lookups};
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

    /// One request for `domains` (at most 16): an answer per domain, in order.
    async fn lookup_chunk(&self, domains: &[String]) -> Vec<DomainAnswer> {
        let failed = |e: ConnectorError| {
            let e = scrub(e, &self.key);
            domains
                .iter()
                .map(|_| DomainAnswer {
                    outcome: Err(e.clone()),
                    billed: false,
                })
                .collect()
        };
        let response = match self.send(&domains.join(",")).await {
            Ok(response) => response,
            Err(e) => return failed(e),
        };
        if response.status != 200 {
            return failed(ConnectorError::Unexpected {
                service: Service::BuiltWith,
                status: response.status,
                message: "status the retry policy passed through".into(),
            });
        }
        let mut answers = parse_lookups(
            &response.body,
            domains,
            now(),
            self.config.live_window_millis(),
        );
        for answer in &mut answers {
            if let Err(e) = &answer.outcome {
                answer.outcome = Err(scrub(e.clone(), &self.key));
            }
        }
        answers
    }

    async fn send(&self, lookup: &str) -> Result<HttpResponse, ConnectorError> {
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
                ("LOOKUP", lookup),
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
        self.http
            .execute(|| self.http.reqwest().get(url.clone()), &self.retry)
            .await
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

    fn billing(&self) -> Billing {
        Billing::PerFound
    }

    fn max_batch(&self) -> usize {
        self.config.batch()
    }

    async fn lookup(&self, domain: &str) -> Result<LookupOutcome, ConnectorError> {
        let mut answers = self.lookup_chunk(&[domain.to_owned()]).await;
        answers
            .pop()
            .map_or(Ok(LookupOutcome::NotFound), |a| a.outcome)
    }

    async fn lookup_batch(&self, domains: &[String]) -> Vec<BatchAnswer> {
        let mut answered: Vec<(String, DomainAnswer)> = Vec::with_capacity(domains.len());
        let mut stopped: Option<ConnectorError> = None;
        for chunk in chunks(domains, self.max_batch()) {
            let answers = match &stopped {
                // A refused key or an empty account: the rest aren't asked.
                Some(e) => chunk
                    .iter()
                    .map(|_| DomainAnswer {
                        outcome: Err(e.clone()),
                        billed: false,
                    })
                    .collect(),
                None => self.lookup_chunk(&chunk).await,
            };
            for (domain, answer) in chunk.into_iter().zip(answers) {
                if let Err(e) = &answer.outcome
                    && e.stops_service()
                {
                    stopped.get_or_insert_with(|| e.clone());
                }
                answered.push((domain, answer));
            }
        }
        let cost = self.cost_per_lookup();
        let mut billed_once: Vec<&str> = Vec::new();
        domains
            .iter()
            .map(|domain| {
                // Every distinct domain is in `answered`: `chunks` covers them all.
                let (outcome, billed) = answered
                    .iter()
                    .find(|(d, _)| d == domain)
                    .map_or((Ok(LookupOutcome::NotFound), false), |(_, a)| {
                        (a.outcome.clone(), a.billed)
                    });
                // A domain asked twice was sent, and billed, once.
                let first = !billed_once.contains(&domain.as_str());
                billed_once.push(domain);
                BatchAnswer {
                    domain: domain.clone(),
                    outcome,
                    credits: if billed && first { cost } else { 0.0 },
                }
            })
            .collect()
    }
}

fn now() -> UnixMillis {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    UnixMillis(millis)
}
