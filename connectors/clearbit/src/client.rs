//! The Clearbit [`Provider`]: one `GET /v2/companies/find?domain=…` per lookup, sent
//! through the shared HTTP policy with `Authorization: Bearer <key>`.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use firmo_connect::http::{HttpClient, HttpPolicy, HttpResponse, retry_after};
use firmo_connect::{
    BatchAnswer, Billing, ConnectorError, LookupOutcome, Provider, Secret, Service,
};
use firmo_core::{Source, UnixMillis};

use crate::config::ClearbitConfig;
use crate::parse::{error_message, parse_company};
use crate::retry::ClearbitRetryPolicy;

/// Looks companies up in Clearbit's Company API.
#[derive(Debug, Clone)]
pub struct ClearbitClient {
    config: ClearbitConfig,
    key: Secret,
    http: HttpClient,
}

impl ClearbitClient {
    /// A client with the key read from the environment variable the config names.
    pub fn from_env(config: ClearbitConfig) -> Result<ClearbitClient, ConnectorError> {
        let key = config.api_key()?;
        ClearbitClient::new(config, key)
    }

    /// A client with the HTTP policy the config implies (its rate limit and timeout).
    pub fn new(config: ClearbitConfig, key: Secret) -> Result<ClearbitClient, ConnectorError> {
        let policy = ClearbitClient::http_policy(&config);
        ClearbitClient::with_policy(config, key, policy)
    }

    /// A client with an explicit HTTP policy (tests shorten backoffs and timeouts).
    pub fn with_policy(
        config: ClearbitConfig,
        key: Secret,
        policy: HttpPolicy,
    ) -> Result<ClearbitClient, ConnectorError> {
        Ok(ClearbitClient {
            config,
            key,
            http: HttpClient::new(policy)?,
        })
    }

    /// The policy `new` uses: `requests_per_minute` per minute, `timeout_secs`.
    pub fn http_policy(config: &ClearbitConfig) -> HttpPolicy {
        let mut policy = HttpPolicy::new(
            Service::Clearbit,
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
}

impl ClearbitClient {
    /// One lookup, and whether Clearbit counts it. Clearbit's help centre: "Clearbit
    /// only counts requests which return 200, 201, 202, or 404 status codes", and "only
    /// unique requests are counted each billing period", so a 202 and the 200 that
    /// completes it count once: firmo charges the completion.
    async fn find(&self, domain: &str) -> (Result<LookupOutcome, ConnectorError>, bool) {
        let response = match self.send(domain).await {
            Ok(response) => response,
            Err(e) => return (Err(e), false),
        };
        let billed = matches!(response.status, 200 | 201 | 404);
        (self.read(domain, &response), billed)
    }

    async fn send(&self, domain: &str) -> Result<HttpResponse, ConnectorError> {
        let url = reqwest::Url::parse_with_params(
            &format!(
                "{}/v2/companies/find",
                self.config.base_url.trim_end_matches('/')
            ),
            [("domain", domain)],
        )
        .map_err(|e| ConnectorError::Validation {
            service: Service::Clearbit,
            property: Some("base_url".into()),
            value: Some(self.config.base_url.clone()),
            message: format!("not a usable URL: {e}"),
        })?;
        self.http
            .execute(
                || {
                    self.http
                        .reqwest()
                        .get(url.clone())
                        .bearer_auth(self.key.expose())
                },
                &ClearbitRetryPolicy,
            )
            .await
    }

    fn read(&self, domain: &str, response: &HttpResponse) -> Result<LookupOutcome, ConnectorError> {
        match response.status {
            200 | 201 => Ok(LookupOutcome::Found(vec![parse_company(
                &response.body,
                now(),
            )?])),
            202 => {
                let after = retry_after(&response.headers, SystemTime::now())
                    .unwrap_or(Duration::from_secs(self.config.pending_retry_after_secs));
                tracing::info!(
                    provider = "clearbit",
                    domain,
                    "lookup queued by Clearbit (HTTP 202); pending"
                );
                // Clearbit bills a queued lookup when it completes.
                Ok(LookupOutcome::Pending {
                    retry_after: Some(after),
                    charged: false,
                })
            }
            404 => Ok(LookupOutcome::NotFound),
            // Clearbit could not validate the domain (no TLD, doesn't resolve): it will
            // never have a company for it, so this is cached like a 404, not reported on
            // every run as an error.
            422 => {
                let why = error_message(&response.body).unwrap_or_default();
                tracing::info!(
                    provider = "clearbit",
                    domain,
                    why,
                    "Clearbit rejected the domain as invalid (HTTP 422); not found"
                );
                Ok(LookupOutcome::NotFound)
            }
            status => Err(ConnectorError::Unexpected {
                service: Service::Clearbit,
                status,
                message: "status the retry policy passed through".into(),
            }),
        }
    }
}

#[async_trait]
impl Provider for ClearbitClient {
    fn name(&self) -> &'static str {
        "clearbit"
    }

    fn sources(&self) -> &'static [Source] {
        &[Source::Clearbit]
    }

    fn cost_per_lookup(&self) -> f64 {
        self.config.cost_per_lookup
    }

    /// Per domain answered (200 or 404; a 422 is free). The Company API has no batch
    /// form (one `domain` per `GET /v2/companies/find`), so `max_batch` stays 1.
    fn billing(&self) -> Billing {
        Billing::PerDomain
    }

    async fn lookup(&self, domain: &str) -> Result<LookupOutcome, ConnectorError> {
        self.find(domain).await.0
    }

    async fn lookup_batch(&self, domains: &[String]) -> Vec<BatchAnswer> {
        let mut answers: Vec<BatchAnswer> = Vec::with_capacity(domains.len());
        let mut stopped: Option<ConnectorError> = None;
        for domain in domains {
            if let Some(earlier) = answers.iter().find(|a| &a.domain == domain) {
                // Asked once; Clearbit counts a domain once a period anyway.
                let repeat = BatchAnswer {
                    credits: 0.0,
                    ..earlier.clone()
                };
                answers.push(repeat);
                continue;
            }
            let (outcome, billed) = match &stopped {
                Some(error) => (Err(error.clone()), false),
                None => self.find(domain).await,
            };
            if let Err(e) = &outcome
                && e.stops_service()
            {
                stopped = Some(e.clone());
            }
            let credits = if billed { self.cost_per_lookup() } else { 0.0 };
            answers.push(BatchAnswer {
                domain: domain.clone(),
                outcome,
                credits,
            });
        }
        answers
    }
}

fn now() -> UnixMillis {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    UnixMillis(millis)
}
