//! The Crunchbase [`Provider`]: per lookup, `POST /api/v4/searches/organizations` with a
//! `website_url` `domain_eq` predicate, then `GET /api/v4/entities/organizations/{id}`
//! with the `raised_funding_rounds` card, both with `X-cb-user-key` and through the
//! shared HTTP policy. A domain the search doesn't know costs one call, not two.
//!
//! The `domain_eq` operator on `website_url` is taken from public client code that calls
//! the v4 search (Crunchbase's operator table documents `eq`/`includes`/`contains`
//! for text and leaves `link` fields' operators unlisted): assumed, not confirmed.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use firmo_connect::http::{HttpClient, HttpPolicy};
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::{Source, UnixMillis};
use serde_json::json;

use crate::config::CrunchbaseConfig;
use crate::parse::{parse_organization, parse_search};
use crate::retry::CrunchbaseRetryPolicy;

const SERVICE: Service = Service::Crunchbase;
const KEY_HEADER: &str = "X-cb-user-key";
/// Organization fields fetched with the entity (the round card brings its own fields).
const ENTITY_FIELDS: &str =
    "identifier,website_url,last_funding_type,last_funding_at,funding_total";

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

    /// The permalink of the organization whose website is `domain`, if Crunchbase has one.
    async fn find(&self, domain: &str) -> Result<Option<String>, ConnectorError> {
        let url = self.url(&["searches", "organizations"])?;
        let body = json!({
            "field_ids": ["identifier", "website_url"],
            "query": [{
                "type": "predicate",
                "field_id": "website_url",
                "operator_id": "domain_eq",
                "values": [domain]
            }],
            "order": [{"field_id": "rank_org", "sort": "asc"}],
            "limit": 5
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
        match response.status {
            200 => parse_search(&response.body, domain),
            status => Err(ConnectorError::Unexpected {
                service: SERVICE,
                status,
                message: "the organization search endpoint is missing (check base_url)".into(),
            }),
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

    async fn lookup(&self, domain: &str) -> Result<LookupOutcome, ConnectorError> {
        let Some(id) = self.find(domain).await? else {
            return Ok(LookupOutcome::NotFound);
        };
        let mut url = self.url(&["entities", "organizations", &id])?;
        url.query_pairs_mut()
            .append_pair("field_ids", ENTITY_FIELDS)
            .append_pair("card_ids", "raised_funding_rounds");
        let response = self
            .http
            .execute(
                || {
                    self.http
                        .reqwest()
                        .get(url.clone())
                        .header(KEY_HEADER, self.key.expose())
                },
                &CrunchbaseRetryPolicy,
            )
            .await?;
        match response.status {
            200 => Ok(LookupOutcome::Found(vec![parse_organization(
                &response.body,
                now(),
            )?])),
            // Found by search but gone by the time we asked (merged or removed).
            404 => Ok(LookupOutcome::NotFound),
            status => Err(ConnectorError::Unexpected {
                service: SERVICE,
                status,
                message: "status the retry policy passed through".into(),
            }),
        }
    }
}

fn now() -> UnixMillis {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    UnixMillis(millis)
}
