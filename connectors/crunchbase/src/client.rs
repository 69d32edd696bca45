//! The Crunchbase [`Provider`]: one `POST /api/v4/searches/organizations` per batch of
//! domains (a `website_url` `domain_eq` predicate whose `values` are the batch's domains),
//! asking with `field_ids` for the organization's funding summary (`last_funding_type`,
//! `last_funding_at`, `last_funding_total`), so the search alone answers every field
//! firmo takes from Crunchbase: no second request per entity. `X-cb-user-key`, through
//! the shared HTTP policy.
//!
//! Sources: the `domain_eq` operator and `website_url` field come from public client code
//! of the v4 search (and an OpenAPI-typed client's operator list); `last_funding_total`
//! as a search field id from public code that requests it. Crunchbase's "Using Search
//! API" says the predicates of `query` are AND'ed and `values` is a list; that a list of
//! several domains in one `domain_eq` matches any of them is assumed, not confirmed:
//! `batch_size = 1` sends one domain per search.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use firmo_connect::http::{HttpClient, HttpPolicy};
use firmo_connect::provider::chunks;
use firmo_connect::{
    BatchAnswer, Billing, ConnectorError, LookupOutcome, Provider, Secret, Service,
};
use firmo_core::{ProviderRecord, Source, UnixMillis};
use serde_json::json;

use crate::config::CrunchbaseConfig;
use crate::parse::parse_search_records;
use crate::retry::CrunchbaseRetryPolicy;

const SERVICE: Service = Service::Crunchbase;
const KEY_HEADER: &str = "X-cb-user-key";
/// Organization fields a search returns with each hit: what firmo reads, and
/// `website_url` to tell which asked domain a hit answers.
const SEARCH_FIELDS: [&str; 5] = [
    "identifier",
    "website_url",
    "last_funding_type",
    "last_funding_at",
    "last_funding_total",
];
/// Hits asked per domain: a domain may match a few organizations (a holding and its
/// brand); the best-ranked exact one wins.
const HITS_PER_DOMAIN: usize = 5;
/// Crunchbase's documented most results per search page.
const MAX_LIMIT: usize = 1000;

/// Looks organizations and their funding up in Crunchbase API v4.
#[derive(Debug, Clone)]
pub struct CrunchbaseClient {
    config: CrunchbaseConfig,
    key: Secret,
    http: HttpClient,
}

impl CrunchbaseClient {
    /// A client with the key read from the environment variable the config names.
    pub fn from_env(config: CrunchbaseConfig) -> Result<CrunchbaseClient, ConnectorError> {
        let key = config.api_key()?;
        CrunchbaseClient::new(config, key)
    }

    /// A client with the HTTP policy the config implies (its rate limit and timeout).
    pub fn new(config: CrunchbaseConfig, key: Secret) -> Result<CrunchbaseClient, ConnectorError> {
        let policy = CrunchbaseClient::http_policy(&config);
        CrunchbaseClient::with_policy(config, key, policy)
    }

    /// A client with an explicit HTTP policy (tests shorten backoffs and timeouts).
    pub fn with_policy(
        config: CrunchbaseConfig,
        key: Secret,
        policy: HttpPolicy,
    ) -> Result<CrunchbaseClient, ConnectorError> {
        Ok(CrunchbaseClient {
            config,
            key,
            http: HttpClient::new(policy)?,
        })
    }

    /// The policy `new` uses: `requests_per_minute` per minute, `timeout_secs`.
    pub fn http_policy(config: &CrunchbaseConfig) -> HttpPolicy {
        let mut policy =
            HttpPolicy::new(SERVICE, config.requests_per_minute, Duration::from_mins(1));
        policy.timeout = config.timeout();
        policy
    }

    /// The shared client's counters (requests, retries, 429s).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn url(&self, segments: &[&str]) -> Result<reqwest::Url, ConnectorError> {
        let bad_base = |message: String| ConnectorError::Validation {
            service: SERVICE,
            property: Some("base_url".into()),
            value: Some(self.config.base_url.clone()),
            message,
        };
        let mut url = reqwest::Url::parse(self.config.base_url.trim_end_matches('/'))
            .map_err(|e| bad_base(format!("not a usable URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| bad_base("cannot take a path".into()))?
            .pop_if_empty()
            .extend(["api", "v4"])
            .extend(segments);
        Ok(url)
    }

    /// One search for `domains`: each domain's record, or `None` when Crunchbase has
    /// none; `Err` when the request failed (every domain of it failed).
    async fn search(
        &self,
        domains: &[String],
    ) -> Result<Vec<Option<ProviderRecord>>, ConnectorError> {
        let url = self.url(&["searches", "organizations"])?;
        let body = json!({
            "field_ids": SEARCH_FIELDS,
            "query": [{
                "type": "predicate",
                "field_id": "website_url",
                "operator_id": "domain_eq",
                "values": domains
            }],
            "order": [{"field_id": "rank_org", "sort": "asc"}],
            "limit": (domains.len() * HITS_PER_DOMAIN).clamp(1, MAX_LIMIT)
        });
        let response = self
            .http
            .execute(
                || {
                    self.http
                        .reqwest()
                        .post(url.clone())
                        .header(KEY_HEADER, self.key.expose())
                        .json(&body)
                },
                &CrunchbaseRetryPolicy,
            )
            .await?;
        if response.status != 200 {
            return Err(ConnectorError::Unexpected {
                service: SERVICE,
                status: response.status,
                message: "the organization search endpoint is missing (check base_url)".into(),
            });
        }
        parse_search_records(&response.body, domains, now())
    }

    /// One search per chunk: each distinct domain's outcome and whether its request was
    /// answered (metered).
    async fn answer_chunk(
        &self,
        chunk: &[String],
    ) -> (Vec<Result<LookupOutcome, ConnectorError>>, bool) {
        let outcome = |r: Option<ProviderRecord>| match r {
            Some(record) => LookupOutcome::Found(vec![record]),
            None => LookupOutcome::NotFound,
        };
        match self.search(chunk).await {
            Ok(records) => (records.into_iter().map(|r| Ok(outcome(r))).collect(), true),
            Err(e) => {
                // A 200 firmo can't read was answered, and metered, all the same.
                let answered = matches!(e, ConnectorError::Malformed { .. });
                (chunk.iter().map(|_| Err(e.clone())).collect(), answered)
            }
        }
    }
}

#[async_trait]
impl Provider for CrunchbaseClient {
    fn name(&self) -> &'static str {
        "crunchbase"
    }

    fn sources(&self) -> &'static [Source] {
        &[Source::Crunchbase]
    }

    fn cost_per_lookup(&self) -> f64 {
        self.config.cost_per_lookup
    }

    /// Crunchbase's plans meter API calls, not organizations.
    fn billing(&self) -> Billing {
        Billing::PerRequest
    }

    fn max_batch(&self) -> usize {
        self.config.batch()
    }

    async fn lookup(&self, domain: &str) -> Result<LookupOutcome, ConnectorError> {
        let (mut outcomes, _) = self.answer_chunk(&[domain.to_owned()]).await;
        outcomes.pop().unwrap_or(Ok(LookupOutcome::NotFound))
    }

    async fn lookup_batch(&self, domains: &[String]) -> Vec<BatchAnswer> {
        let cost = self.cost_per_lookup();
        // (domain, outcome, credits) per distinct domain.
        let mut answered: Vec<(String, Result<LookupOutcome, ConnectorError>, f64)> = Vec::new();
        let mut stopped: Option<ConnectorError> = None;
        for chunk in chunks(domains, self.max_batch()) {
            let (outcomes, metered) = match &stopped {
                Some(e) => (chunk.iter().map(|_| Err(e.clone())).collect(), false),
                None => self.answer_chunk(&chunk).await,
            };
            let share = if metered {
                cost / chunk.len() as f64
            } else {
                0.0
            };
            for (domain, outcome) in chunk.into_iter().zip(outcomes) {
                if let Err(e) = &outcome
                    && e.stops_service()
                {
                    stopped.get_or_insert_with(|| e.clone());
                }
                answered.push((domain, outcome, share));
            }
        }
        let mut billed: Vec<&str> = Vec::new();
        domains
            .iter()
            .map(|domain| {
                // Every distinct domain is in `answered`: `chunks` covers them all.
                let (outcome, credits) = answered
                    .iter()
                    .find(|(d, _, _)| d == domain)
                    .map_or((Ok(LookupOutcome::NotFound), 0.0), |(_, o, c)| {
                        (o.clone(), *c)
                    });
                // A domain asked twice was sent once: its share is billed once.
                let first = !billed.contains(&domain.as_str());
                billed.push(domain);
                BatchAnswer {
                    domain: domain.clone(),
                    outcome,
                    credits: if first { credits } else { 0.0 },
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
