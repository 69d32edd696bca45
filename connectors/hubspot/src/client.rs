//! The typed HubSpot CRM v3 client: companies (list, get, search, batch read, batch
//! update) and company properties and groups, every call through the shared HTTP policy.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;

use async_trait::async_trait;
use firmo_connect::crm::{
    AccessFacts, BatchRead, CompanyUpdate, Crm, CrmCompany, EnsureOutcome, FilterGroup,
    PropertyCapacity, PropertyDef, PropertyGroup, PullCursor, PullPage, PullRequest, SearchPage,
    SearchQuery, WriteOutcome,
};
use firmo_connect::http::{HttpClient, HttpResponse, HttpStats, RetryAction, RetryPolicy};
use firmo_connect::{ConnectorError, Service};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::Serialize;
use serde_json::json;
use tokio::sync::OnceCell;

use crate::api::TOKEN_INFO_PATH;
use crate::config::HubspotConfig;
use crate::retry::{HubspotRetryPolicy, entry_is_transient, error_from_standard};
use crate::wire::{
    AccountDetails, BatchResponse, Collection, Group, Property, PropertyCreate, Results, TokenInfo,
    options_wire,
};

pub(crate) const SERVICE: Service = Service::Hubspot;
/// The object type every path here is about.
const OBJECT_TYPE: &str = "companies";

/// Most inputs one batch call takes.
pub const BATCH_LIMIT: usize = 100;
/// Most results one list page returns.
pub const LIST_LIMIT: u32 = 100;
/// Most results one search page returns.
pub const SEARCH_LIMIT: u32 = 200;
/// Above this many bytes of comma-joined property names, list pages fetch properties
/// with a batch read (POST body) instead of the query string, so the URL never gets
/// long enough for a `414 URI Too Long`.
pub const MAX_QUERY_PROPERTIES_BYTES: usize = 1500;
/// How many times records of a 207 whose errors were transient are sent again.
const PARTIAL_RETRY_ROUNDS: u32 = 3;

/// One page of the list endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub companies: Vec<CrmCompany>,
    /// `paging.next.after`: pass it back for the next page; `None` on the last.
    pub after: Option<String>,
}

/// A HubSpot account's companies and company properties.
#[derive(Debug, Clone)]
pub struct HubspotClient {
    config: HubspotConfig,
    http: HttpClient,
    // Shares `http`'s limits and counters, plus the search endpoint's own limit.
    search_http: HttpClient,
    // HubSpot counts the search limit on arrival (see `crate::pacing`).
    search_window: Option<crate::pacing::ArrivalWindow>,
    account_key: std::sync::Arc<OnceCell<String>>,
}

/// Takes the given statuses as answers the caller reads (409 on create: it exists),
/// everything else as HubSpot's policy says.
pub(crate) struct Accept(pub(crate) &'static [u16]);

impl RetryPolicy for Accept {
    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> RetryAction {
        if self.0.contains(&status) {
            RetryAction::Done
        } else {
            HubspotRetryPolicy.classify(status, headers, body)
        }
    }

    fn throttle(&self, status: u16, headers: &HeaderMap) -> Option<std::time::Duration> {
        HubspotRetryPolicy.throttle(status, headers)
    }
}

const CONFLICT: Accept = Accept(&[409]);

pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// FNV-1a, 64 bits: a stable (across Rust versions) fingerprint for the account key.
fn fnv1a(data: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

impl HubspotClient {
    pub fn new(config: HubspotConfig) -> Result<HubspotClient, ConnectorError> {
        let config = config.clone().with_base_url(config.base_url);
        let http = HttpClient::new(config.http_policy())?;
        let search_http = http.with_additional_limit(
            config.search_per_second,
            std::time::Duration::from_secs(1) + config.search_headroom,
        );
        let search_window = crate::pacing::ArrivalWindow::new(
            config.search_per_second,
            std::time::Duration::from_secs(1) + config.search_headroom,
        );
        Ok(HubspotClient {
            config,
            http,
            search_http,
            search_window,
            account_key: std::sync::Arc::default(),
        })
    }

    pub fn config(&self) -> &HubspotConfig {
        &self.config
    }

    /// What the client's HTTP layer did: requests, retries, 429s seen, waits.
    pub fn stats(&self) -> HttpStats {
        self.http.stats()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url)
    }

    // Every path comes from the configured API version (see `crate::api`).
    fn companies_path(&self) -> String {
        self.config.api_version.objects(OBJECT_TYPE)
    }

    pub(crate) fn properties_path(&self) -> String {
        self.config.api_version.properties(OBJECT_TYPE)
    }

    pub(crate) fn groups_path(&self) -> String {
        self.config.api_version.property_groups(OBJECT_TYPE)
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
        policy: &dyn RetryPolicy,
    ) -> Result<HttpResponse, ConnectorError> {
        let http = if path.ends_with("/search") {
            &self.search_http
        } else {
            &self.http
        };
        let mut url = self.url(path);
        for (i, (key, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(key);
            url.push('=');
            url.push_str(&encode_component(value));
        }
        let token = &self.config.token;
        let build = || {
            let mut request = http
                .reqwest()
                .request(method.clone(), &url)
                .bearer_auth(token.expose());
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            request
        };
        match &self.search_window {
            Some(window) if path.ends_with("/search") => {
                window.run(http.execute(build, policy)).await
            }
            _ => http.execute(build, policy).await,
        }
    }

    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<T, ConnectorError> {
        let response = self
            .send(Method::GET, path, query, None, &HubspotRetryPolicy)
            .await?;
        response.json(SERVICE, what)
    }

    pub(crate) async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        what: &str,
    ) -> Result<T, ConnectorError> {
        let response = self
            .send(
                Method::POST,
                path,
                &[],
                Some(to_body(body)?),
                &HubspotRetryPolicy,
            )
            .await?;
        response.json(SERVICE, what)
    }

    /// One page of `GET .../objects/companies` (path per API version) (at most 100). A long property list
    /// is fetched through a batch read instead of the query string (no 414).
    pub async fn list_companies(
        &self,
        properties: &[String],
        after: Option<&str>,
        limit: u32,
    ) -> Result<ListPage, ConnectorError> {
        let joined = properties.join(",");
        let long = joined.len() > MAX_QUERY_PROPERTIES_BYTES;
        let mut query = vec![("limit", limit.clamp(1, LIST_LIMIT).to_string())];
        if let Some(after) = after {
            query.push(("after", after.to_owned()));
        }
        if !long && !joined.is_empty() {
            query.push(("properties", joined));
        }
        let page: Collection = self
            .get_json(&self.companies_path(), &query, "companies list")
            .await?;
        let after = page.next_after();
        let mut companies: Vec<CrmCompany> =
            page.results.into_iter().map(CrmCompany::from).collect();
        if long && !companies.is_empty() {
            let ids: Vec<String> = companies.iter().map(|c| c.id.clone()).collect();
            let read = self.read_companies_inner(&ids, properties).await?;
            let by_id: HashMap<String, CrmCompany> = read
                .companies
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect();
            // A company deleted between the two calls is left out, as a later list would.
            companies = ids.iter().filter_map(|id| by_id.get(id).cloned()).collect();
        }
        Ok(ListPage { companies, after })
    }

    /// `GET .../objects/companies/{id}`; a missing id is `NotFound`.
    pub async fn get_company(
        &self,
        id: &str,
        properties: &[String],
    ) -> Result<CrmCompany, ConnectorError> {
        let mut query = Vec::new();
        if !properties.is_empty() {
            query.push(("properties", properties.join(",")));
        }
        let path = format!("{}/{}", self.companies_path(), encode_component(id));
        let object: crate::wire::SimplePublicObject =
            self.get_json(&path, &query, "company").await?;
        Ok(object.into())
    }

    /// One page of `POST .../objects/companies/search`.
    pub async fn search_companies(
        &self,
        query: &SearchQuery,
    ) -> Result<SearchPage, ConnectorError> {
        check_filter_groups(&query.filter_groups)?;
        let mut body = json!({
            "filterGroups": query.filter_groups,
            "sorts": query.sorts.iter().map(|s| json!({
                "propertyName": s.property,
                "direction": if s.descending { "DESCENDING" } else { "ASCENDING" },
            })).collect::<Vec<_>>(),
            "properties": query.properties,
            "limit": query.limit.clamp(1, SEARCH_LIMIT),
        });
        if let Some(after) = &query.after {
            body["after"] = json!(after);
        }
        let page: Collection = self
            .post_json(
                &format!("{}/search", self.companies_path()),
                &body,
                "companies search",
            )
            .await?;
        let after = page.next_after();
        let total = page.total.unwrap_or(page.results.len() as u64);
        Ok(SearchPage {
            companies: page.results.into_iter().map(CrmCompany::from).collect(),
            total,
            after,
        })
    }

    async fn read_companies_inner(
        &self,
        ids: &[String],
        properties: &[String],
    ) -> Result<BatchRead, ConnectorError> {
        let mut out = BatchRead::default();
        let mut seen = BTreeSet::new();
        let unique: Vec<&String> = ids.iter().filter(|id| seen.insert(id.as_str())).collect();
        for chunk in unique.chunks(BATCH_LIMIT) {
            let body = json!({
                "properties": properties,
                "propertiesWithHistory": [],
                "inputs": chunk.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
            });
            let response: BatchResponse = self
                .post_json(
                    &format!("{}/batch/read", self.companies_path()),
                    &body,
                    "batch read response",
                )
                .await?;
            let found: BTreeSet<String> = response.results.iter().map(|o| o.id.clone()).collect();
            out.companies
                .extend(response.results.into_iter().map(CrmCompany::from));
            // Whatever wasn't returned is missing (HubSpot lists them in a 207's errors).
            out.missing.extend(
                chunk
                    .iter()
                    .filter(|id| !found.contains(id.as_str()))
                    .map(|id| (*id).clone()),
            );
            for error in &response.errors {
                if !matches!(error.category.as_deref(), Some("OBJECT_NOT_FOUND") | None) {
                    return Err(error_from_standard(error, 207));
                }
            }
        }
        Ok(out)
    }

    /// Writes `updates` in batches of at most 100 and returns one outcome per update, in
    /// input order. Each input carries `objectWriteTraceId` = its company id, so every
    /// entry of a 207's `errors` maps back to its record; records that failed
    /// transiently are sent again (up to 3 rounds); a batch rejected whole (400/404) is
    /// split in halves until each failing record has its own error. Nothing is dropped.
    pub async fn batch_update(
        &self,
        updates: &[CompanyUpdate],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        self.batch_update_at(&self.companies_path(), updates).await
    }

    /// [`batch_update`](Self::batch_update) for any object collection (`objects_path`
    /// from [`crate::api`]): contacts are written exactly as companies are.
    pub(crate) async fn batch_update_at(
        &self,
        objects_path: &str,
        updates: &[CompanyUpdate],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut seen = BTreeSet::new();
        if let Some(dup) = updates.iter().find(|u| !seen.insert(u.id.as_str())) {
            return Err(ConnectorError::Validation {
                service: SERVICE,
                property: None,
                value: Some(dup.id.clone()),
                message:
                    "the same record id appears twice in one update; merge its properties first"
                        .into(),
            });
        }
        let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; updates.len()];
        let all: Vec<usize> = (0..updates.len()).collect();
        let mut work: VecDeque<(Vec<usize>, u32)> = all
            .chunks(BATCH_LIMIT)
            .map(|c| (c.to_vec(), PARTIAL_RETRY_ROUNDS))
            .collect();
        let mut fatal: Option<ConnectorError> = None;
        while let Some((batch, rounds)) = work.pop_front() {
            if let Some(error) = &fatal {
                for i in batch {
                    outcomes[i] = Some(failed(&updates[i], error.clone()));
                }
                continue;
            }
            match self.update_batch(objects_path, updates, &batch).await {
                Ok(BatchResult {
                    written,
                    failed: failures,
                    retry,
                }) => {
                    for i in written {
                        outcomes[i] = Some(WriteOutcome::Written {
                            id: updates[i].id.clone(),
                        });
                    }
                    for (i, error) in failures {
                        outcomes[i] = Some(failed(&updates[i], error));
                    }
                    if !retry.is_empty() {
                        if rounds > 0 {
                            work.push_back((
                                retry.into_iter().map(|(i, _)| i).collect(),
                                rounds - 1,
                            ));
                        } else {
                            for (i, error) in retry {
                                outcomes[i] = Some(failed(&updates[i], error));
                            }
                        }
                    }
                }
                Err(error) if error.stops_service() => {
                    for &i in &batch {
                        outcomes[i] = Some(failed(&updates[i], error.clone()));
                    }
                    fatal = Some(error);
                }
                Err(
                    error @ (ConnectorError::Validation { .. }
                    | ConnectorError::PortalRule { .. }
                    | ConnectorError::NotFound { .. }),
                ) if batch.len() > 1 => {
                    // Rejected whole: find which records are at fault by halves.
                    tracing::debug!(size = batch.len(), error = %error, "batch rejected whole; splitting");
                    let (left, right) = batch.split_at(batch.len() / 2);
                    work.push_front((right.to_vec(), rounds));
                    work.push_front((left.to_vec(), rounds));
                }
                Err(error) => {
                    for &i in &batch {
                        outcomes[i] = Some(failed(&updates[i], error.clone()));
                    }
                }
            }
        }
        Ok(outcomes
            .into_iter()
            .zip(updates)
            .map(|(o, u)| {
                o.unwrap_or_else(|| {
                    failed(
                        u,
                        ConnectorError::Unexpected {
                            service: SERVICE,
                            status: 0,
                            message: "no outcome was recorded for this record".into(),
                        },
                    )
                })
            })
            .collect())
    }

    /// Sends one batch (≤ 100 inputs) and sorts its records by outcome.
    async fn update_batch(
        &self,
        objects_path: &str,
        updates: &[CompanyUpdate],
        batch: &[usize],
    ) -> Result<BatchResult, ConnectorError> {
        let inputs: Vec<serde_json::Value> = batch
            .iter()
            .map(|&i| {
                let u = &updates[i];
                json!({"id": u.id, "objectWriteTraceId": u.id, "properties": u.properties})
            })
            .collect();
        let body = json!({ "inputs": inputs });
        let response = self
            .send(
                Method::POST,
                &format!("{objects_path}/batch/update"),
                &[],
                Some(to_body(&body)?),
                &HubspotRetryPolicy,
            )
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) if batch.len() == 1 => return Err(with_value(e, &updates[batch[0]])),
            Err(e) => return Err(e),
        };
        let parsed: BatchResponse = response.json(SERVICE, "batch update response")?;
        let index: HashMap<&str, usize> =
            batch.iter().map(|&i| (updates[i].id.as_str(), i)).collect();
        let mut result = BatchResult::default();
        let mut accounted = BTreeSet::new();
        for object in &parsed.results {
            let key = object
                .object_write_trace_id
                .as_deref()
                .unwrap_or(&object.id);
            if let Some(&i) = index.get(key).or_else(|| index.get(object.id.as_str()))
                && accounted.insert(i)
            {
                result.written.push(i);
            }
        }
        for entry in &parsed.errors {
            let mut keys = entry.context_strings("objectWriteTraceId");
            if keys.is_empty() {
                keys = entry.context_strings("ids");
            }
            let status = entry
                .status
                .as_deref()
                .and_then(|s| s.parse::<u16>().ok())
                .unwrap_or(match entry.category.as_deref() {
                    Some("OBJECT_NOT_FOUND") => 404,
                    Some("RATE_LIMITS") => 429,
                    _ => 400,
                });
            for key in keys {
                let Some(&i) = index.get(key.as_str()) else {
                    continue;
                };
                if !accounted.insert(i) {
                    continue;
                }
                let error = with_value(error_from_standard(entry, status), &updates[i]);
                if entry_is_transient(entry) {
                    result.retry.push((i, error));
                } else {
                    result.failed.push((i, error));
                }
            }
        }
        // Records the answer didn't mention are sent again, never assumed written.
        for &i in batch {
            if !accounted.contains(&i) {
                result.retry.push((
                    i,
                    ConnectorError::Malformed {
                        service: SERVICE,
                        path: "batch update response".into(),
                        message: format!(
                            "neither `results` nor `errors` mention record {}",
                            updates[i].id
                        ),
                    },
                ));
            }
        }
        Ok(result)
    }

    /// `GET .../properties/companies`.
    pub async fn list_properties(&self) -> Result<Vec<PropertyDef>, ConnectorError> {
        let list: Results<Property> = self
            .get_json(&self.properties_path(), &[], "properties list")
            .await?;
        Ok(list.results.into_iter().map(PropertyDef::from).collect())
    }

    /// `GET .../properties/companies/{name}`; `None` when it doesn't exist.
    pub async fn get_property(&self, name: &str) -> Result<Option<PropertyDef>, ConnectorError> {
        let path = format!("{}/{}", self.properties_path(), encode_component(name));
        match self.get_json::<Property>(&path, &[], "property").await {
            Ok(p) => Ok(Some(p.into())),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST .../properties/companies`; `Ok(false)` when it exists already (409).
    pub async fn create_property(&self, def: &PropertyDef) -> Result<bool, ConnectorError> {
        let body = to_body(&PropertyCreate::from_def(def))?;
        let response = self
            .send(
                Method::POST,
                &self.properties_path(),
                &[],
                Some(body),
                &CONFLICT,
            )
            .await
            .map_err(|e| name_property(e, &def.name))?;
        Ok(response.status != 409)
    }

    /// Replaces an enumeration's options (`PATCH .../{name}`).
    pub async fn set_property_options(
        &self,
        name: &str,
        options: &[firmo_connect::crm::PropertyOption],
    ) -> Result<PropertyDef, ConnectorError> {
        let path = format!("{}/{}", self.properties_path(), encode_component(name));
        let body = to_body(&json!({ "options": options_wire(options) }))?;
        let response = self
            .send(Method::PATCH, &path, &[], Some(body), &HubspotRetryPolicy)
            .await
            .map_err(|e| name_property(e, name))?;
        Ok(response.json::<Property>(SERVICE, "property")?.into())
    }

    /// `GET .../properties/companies/groups`.
    pub async fn list_groups(&self) -> Result<Vec<PropertyGroup>, ConnectorError> {
        let list: Results<Group> = self
            .get_json(&self.groups_path(), &[], "property groups list")
            .await?;
        Ok(list.results.into_iter().map(PropertyGroup::from).collect())
    }

    /// `GET .../properties/companies/groups/{name}`; `None` when it doesn't exist.
    pub async fn get_group(&self, name: &str) -> Result<Option<PropertyGroup>, ConnectorError> {
        let path = format!("{}/{}", self.groups_path(), encode_component(name));
        match self.get_json::<Group>(&path, &[], "property group").await {
            Ok(g) => Ok(Some(g.into())),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST .../properties/companies/groups`; `Ok(false)` when it exists (409).
    pub async fn create_group(&self, group: &PropertyGroup) -> Result<bool, ConnectorError> {
        let body = to_body(&Group {
            name: group.name.clone(),
            label: group.label.clone(),
            display_order: group.display_order,
        })?;
        let response = self
            .send(
                Method::POST,
                &self.groups_path(),
                &[],
                Some(body),
                &CONFLICT,
            )
            .await?;
        Ok(response.status != 409)
    }

    /// The account's key, `hubspot:<portal id>`: what the portal says about itself, so
    /// the key is the same through `127.0.0.1`, `localhost` or a proxy and after a token
    /// rotation (cursors and the write journal are filed under it). The id comes from
    /// `GET /account-info/{version}/details`; where that is refused or absent (403: a
    /// token without the `oauth` scope; 404: a proxy that doesn't pass it), from the
    /// token's own info (`POST /oauth/v2/private-apps/get/access-token-info`, its
    /// `hubId`). Only when neither answers is the key `hubspot:<host>:<fingerprint>` (a
    /// 64-bit FNV-1a of the token), which a URL spelling or a rotation changes: the
    /// journal then recognises firmo's earlier values by their value. Fetched once per
    /// client. A refused token (401) is an error.
    pub async fn account_key(&self) -> Result<String, ConnectorError> {
        self.account_key
            .get_or_try_init(|| async {
                if let Some(id) = self.portal_id().await? {
                    return Ok(format!("hubspot:{id}"));
                }
                let host = self
                    .config
                    .base_url
                    .split_once("://")
                    .map_or(self.config.base_url.as_str(), |(_, rest)| rest);
                let print = fnv1a(self.config.token.expose().as_bytes());
                Ok(format!("hubspot:{host}:{print:016x}"))
            })
            .await
            .cloned()
    }

    /// The portal's id from the account details, else from the token's info; `None` when
    /// neither endpoint will say (403/404; 400 for a token the info endpoint doesn't
    /// describe, such as an OAuth token).
    async fn portal_id(&self) -> Result<Option<u64>, ConnectorError> {
        const NOT_HERE: Accept = Accept(&[403, 404]);
        const NOT_DESCRIBED: Accept = Accept(&[400, 403, 404]);
        let response = self
            .send(
                Method::GET,
                &self.config.api_version.account_details(),
                &[],
                None,
                &NOT_HERE,
            )
            .await?;
        if response.is_success() {
            let details: AccountDetails = response.json(SERVICE, "account details")?;
            return Ok(Some(details.portal_id));
        }
        let body = to_body(&json!({ "tokenKey": self.config.token.expose() }))?;
        let info = self
            .send(
                Method::POST,
                TOKEN_INFO_PATH,
                &[],
                Some(body),
                &NOT_DESCRIBED,
            )
            .await?;
        if !info.is_success() {
            return Ok(None);
        }
        let info: TokenInfo = info.json(SERVICE, "access token info")?;
        Ok(info.hub_id)
    }

    /// Creates the group unless it exists.
    pub async fn ensure_group(
        &self,
        group: &PropertyGroup,
    ) -> Result<EnsureOutcome, ConnectorError> {
        if self.get_group(&group.name).await?.is_some() {
            return Ok(EnsureOutcome::Unchanged);
        }
        Ok(if self.create_group(group).await? {
            EnsureOutcome::Created
        } else {
            EnsureOutcome::Unchanged
        })
    }

    /// Creates the property unless it exists; compares an existing one (see
    /// [`Crm::ensure_property`]).
    pub async fn ensure_property(
        &self,
        wanted: &PropertyDef,
    ) -> Result<EnsureOutcome, ConnectorError> {
        if let Some(existing) = self.get_property(&wanted.name).await? {
            return compare_and_extend(self, wanted, existing).await;
        }
        if self.create_property(wanted).await? {
            return Ok(EnsureOutcome::Created);
        }
        // Created by someone else between our read and our create (409).
        let existing =
            self.get_property(&wanted.name)
                .await?
                .ok_or_else(|| ConnectorError::Unexpected {
                    service: SERVICE,
                    status: 409,
                    message: format!(
                        "property `{}` conflicted on create but can't be read",
                        wanted.name
                    ),
                })?;
        compare_and_extend(self, wanted, existing).await
    }

    /// The pull (see [`Crm::pull`]).
    pub async fn pull(
        &self,
        request: &PullRequest,
        cursor: Option<&PullCursor>,
    ) -> Result<PullPage, ConnectorError> {
        crate::pull::pull(self, request, cursor).await
    }
}

pub(crate) async fn compare_and_extend(
    client: &HubspotClient,
    wanted: &PropertyDef,
    existing: PropertyDef,
) -> Result<EnsureOutcome, ConnectorError> {
    let shape = |p: &PropertyDef| format!("{}/{}", p.property_type, p.field_type);
    if existing.property_type != wanted.property_type || existing.field_type != wanted.field_type {
        return Ok(EnsureOutcome::Mismatch {
            expected: shape(wanted),
            found: shape(&existing),
        });
    }
    let have: BTreeSet<&str> = existing.options.iter().map(|o| o.value.as_str()).collect();
    let missing: Vec<_> = wanted
        .options
        .iter()
        .filter(|o| !have.contains(o.value.as_str()))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(EnsureOutcome::Unchanged);
    }
    if existing.crm_defined {
        // HubSpot's own option lists (e.g. `industry`) aren't firmo's to extend.
        return Ok(EnsureOutcome::Mismatch {
            expected: format!(
                "{} with options {}",
                shape(wanted),
                missing
                    .iter()
                    .map(|o| o.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            found: format!("{} without them (HubSpot-defined)", shape(&existing)),
        });
    }
    let added: Vec<String> = missing.iter().map(|o| o.value.clone()).collect();
    let mut options = existing.options;
    options.extend(missing);
    client.set_property_options(&wanted.name, &options).await?;
    Ok(EnsureOutcome::OptionsAdded(added))
}

#[derive(Debug, Default)]
struct BatchResult {
    written: Vec<usize>,
    failed: Vec<(usize, ConnectorError)>,
    retry: Vec<(usize, ConnectorError)>,
}

fn failed(update: &CompanyUpdate, error: ConnectorError) -> WriteOutcome {
    WriteOutcome::Failed {
        id: update.id.clone(),
        error,
    }
}

/// Fills a validation error's value from the record's input (HubSpot names the
/// property; we know what we sent).
fn with_value(error: ConnectorError, update: &CompanyUpdate) -> ConnectorError {
    match error {
        ConnectorError::Validation {
            service,
            property: Some(property),
            value: None,
            message,
        } => {
            let value = update.properties.get(&property).cloned();
            ConnectorError::Validation {
                service,
                property: Some(property),
                value,
                message,
            }
        }
        other => other,
    }
}

fn name_property(error: ConnectorError, name: &str) -> ConnectorError {
    match error {
        ConnectorError::Validation {
            service,
            property: None,
            value,
            message,
        } => ConnectorError::Validation {
            service,
            property: Some(name.to_owned()),
            value,
            message,
        },
        other => other,
    }
}

pub(crate) fn to_body(body: &impl Serialize) -> Result<Vec<u8>, ConnectorError> {
    serde_json::to_vec(body).map_err(|e| ConnectorError::Malformed {
        service: SERVICE,
        path: "request body".into(),
        message: e.to_string(),
    })
}

/// HubSpot's search limits (its 2024 expansion): 5 filterGroups, 10 filters each, 25 in
/// all. Checked before sending so the error names the segment, not a 400.
pub(crate) fn check_filter_groups(groups: &[FilterGroup]) -> Result<(), ConnectorError> {
    let invalid = |message: String| ConnectorError::Validation {
        service: SERVICE,
        property: None,
        value: None,
        message,
    };
    if groups.len() > 5 {
        return Err(invalid(format!(
            "{} filter groups; HubSpot's search takes at most 5",
            groups.len()
        )));
    }
    let total: usize = groups.iter().map(|g| g.filters.len()).sum();
    if total > 25 {
        return Err(invalid(format!(
            "{total} filters; HubSpot's search takes at most 25"
        )));
    }
    for group in groups {
        if group.filters.len() > 10 {
            return Err(invalid(format!(
                "a filter group with {} filters; HubSpot takes at most 10 per group",
                group.filters.len()
            )));
        }
        for filter in &group.filters {
            filter.check().map_err(invalid)?;
        }
    }
    Ok(())
}

#[async_trait]
impl Crm for HubspotClient {
    fn name(&self) -> &'static str {
        crate::NAME
    }

    fn encode_value(
        &self,
        property: &PropertyDef,
        value: &firmo_core::Value,
    ) -> Result<String, firmo_connect::crm::ValueError> {
        crate::values::format_for(property, value)
    }

    fn same_value(&self, property: &PropertyDef, a: &str, b: &str) -> bool {
        crate::values::same_value(&property.property_type, a, b)
    }

    async fn account_key(&self) -> Result<String, ConnectorError> {
        HubspotClient::account_key(self).await
    }

    async fn pull(
        &self,
        request: &PullRequest,
        cursor: Option<&PullCursor>,
    ) -> Result<PullPage, ConnectorError> {
        HubspotClient::pull(self, request, cursor).await
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, ConnectorError> {
        self.search_companies(query).await
    }

    async fn read_companies(
        &self,
        ids: &[String],
        properties: &[String],
    ) -> Result<BatchRead, ConnectorError> {
        self.read_companies_inner(ids, properties).await
    }

    async fn update_companies(
        &self,
        updates: &[CompanyUpdate],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        self.batch_update(updates).await
    }

    async fn list_properties(&self) -> Result<Vec<PropertyDef>, ConnectorError> {
        HubspotClient::list_properties(self).await
    }

    async fn list_groups(&self) -> Result<Vec<PropertyGroup>, ConnectorError> {
        HubspotClient::list_groups(self).await
    }

    async fn ensure_group(&self, group: &PropertyGroup) -> Result<EnsureOutcome, ConnectorError> {
        HubspotClient::ensure_group(self, group).await
    }

    async fn ensure_property(
        &self,
        property: &PropertyDef,
    ) -> Result<EnsureOutcome, ConnectorError> {
        HubspotClient::ensure_property(self, property).await
    }

    async fn ensure_properties(
        &self,
        group: &PropertyGroup,
        wanted: &[PropertyDef],
    ) -> Result<firmo_connect::crm::EnsuredProperties, ConnectorError> {
        HubspotClient::ensure_properties(self, group, wanted).await
    }

    async fn access_facts(&self) -> Result<AccessFacts, ConnectorError> {
        HubspotClient::access_facts(self).await
    }

    async fn property_capacity(&self) -> Result<Option<PropertyCapacity>, ConnectorError> {
        HubspotClient::property_capacity(self).await
    }
}

#[cfg(test)]
mod account_key_tests {
    use std::time::Duration;

    use firmo_connect::Secret;
    use firmo_sandbox::{SandboxConfig, SandboxHandle};

    use super::*;

    fn client(base_url: &str, token: &str) -> HubspotClient {
        let mut config = HubspotConfig::new(Secret::new(token)).with_base_url(base_url);
        config.base_backoff = Duration::from_millis(10);
        config.max_backoff = Duration::from_millis(50);
        HubspotClient::new(config).unwrap()
    }

    async fn sandbox() -> SandboxHandle {
        let config = SandboxConfig {
            companies: 1,
            portal_id: 777,
            ..SandboxConfig::default()
        };
        firmo_sandbox::start(config, ([127, 0, 0, 1], 0).into())
            .await
            .unwrap()
    }

    /// Finding 2: the key is what the portal says, not how it's reached or with what.
    #[tokio::test]
    async fn the_key_survives_another_url_spelling_and_a_rotated_token_without_account_info() {
        let sb = sandbox().await;
        let first = client(&sb.base_url(), sb.token())
            .account_key()
            .await
            .unwrap();
        assert_eq!(first, "hubspot:777");

        sb.state().refuse_account_info(403);
        sb.state().rotate_token("rotated-token").unwrap();
        let localhost = format!("http://localhost:{}", sb.addr().port());
        let again = client(&localhost, "rotated-token")
            .account_key()
            .await
            .unwrap();
        assert_eq!(again, first);
        assert_eq!(sb.stats().requests["oauth.token_info"], 1);
    }

    /// Where nothing names the portal, the key still never carries the token.
    #[tokio::test]
    async fn with_neither_endpoint_the_key_is_a_fingerprint() {
        let sb = sandbox().await;
        sb.state().refuse_account_info(404);
        sb.state().refuse_token_info(400);
        let key = client(&sb.base_url(), sb.token())
            .account_key()
            .await
            .unwrap();
        let host = sb.base_url().replace("http://", "");
        assert!(key.starts_with(&format!("hubspot:{host}:")), "{key}");
        assert!(!key.contains(sb.token()), "{key}");
        // A token the sandbox refuses is an error, not a key.
        let err = client(&sb.base_url(), "wrong")
            .account_key()
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Auth { .. }), "{err:?}");
    }
}
