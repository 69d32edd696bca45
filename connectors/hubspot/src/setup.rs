//! Property setup in the fewest calls, the capacity pre-check, and the facts `firmo
//! doctor` shows.
//!
//! A first setup is four calls: list the properties, read the custom-property limits,
//! create the group (a 409 means it exists), create the missing properties in one
//! `POST .../properties/companies/batch/create` (at most 100 inputs) whose answer is the
//! read-back check and the created definitions, so the caller needs no second list. A
//! later setup with nothing missing is the list alone. Limits (HubSpot's documented
//! caps: 5,000 options per property, 3,000 characters per option; custom properties
//! per object by tier, read from `/crm/limits/{version}/custom-properties`) are checked
//! before the first write, so a refusal creates nothing.

use std::collections::{BTreeMap, BTreeSet};

use firmo_connect::ConnectorError;
use firmo_connect::crm::{
    AccessFacts, EnsureOutcome, EnsuredProperties, PropertyCapacity, PropertyDef, PropertyGroup,
    RateLimitFacts,
};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::json;

use crate::api::TOKEN_INFO_PATH;
use crate::client::{Accept, HubspotClient, SERVICE, compare_and_extend, to_body};
use crate::retry::{HubspotRetryPolicy, error_from_standard};
use crate::wire::{AccountDetails, PropertyBatch, PropertyCreate, PropertyLimits, TokenInfo};

/// Most options a dropdown, radio or checkbox property may have.
pub const MAX_OPTIONS: usize = 5000;
/// Longest option (label or value), in characters.
pub const MAX_OPTION_CHARS: usize = 3000;
/// The company object's type id in HubSpot's limits answer.
const COMPANY_TYPE_ID: &str = "0-2";
/// Scopes firmo's calls need: read and write companies and their property definitions.
pub const REQUIRED_SCOPES: [&str; 4] = [
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
];
/// Statuses that mean "this account or token can't answer that here", not "refused".
const NOT_HERE: Accept = Accept(&[400, 403, 404]);

fn capacity_error(message: String) -> ConnectorError {
    ConnectorError::Capacity {
        service: SERVICE,
        message,
    }
}

/// The option caps, for a property about to be created or extended to `options`.
fn check_options(def: &PropertyDef, count: usize) -> Result<(), ConnectorError> {
    if count > MAX_OPTIONS {
        return Err(capacity_error(format!(
            "property `{}` would have {count} options; HubSpot allows at most {MAX_OPTIONS}",
            def.name
        )));
    }
    if let Some(o) = def.options.iter().find(|o| {
        o.value.chars().count() > MAX_OPTION_CHARS || o.label.chars().count() > MAX_OPTION_CHARS
    }) {
        return Err(capacity_error(format!(
            "property `{}`: option {:?}… is longer than HubSpot's {MAX_OPTION_CHARS} characters",
            def.name,
            o.value.chars().take(40).collect::<String>()
        )));
    }
    Ok(())
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// HubSpot's `X-HubSpot-RateLimit-*` headers (ordinary endpoints carry them).
fn rate_limit_facts(headers: &HeaderMap) -> RateLimitFacts {
    RateLimitFacts {
        max_per_interval: header_u64(headers, "x-hubspot-ratelimit-max"),
        interval_ms: header_u64(headers, "x-hubspot-ratelimit-interval-milliseconds"),
        remaining_in_interval: header_u64(headers, "x-hubspot-ratelimit-remaining"),
        daily: header_u64(headers, "x-hubspot-ratelimit-daily"),
        daily_remaining: header_u64(headers, "x-hubspot-ratelimit-daily-remaining"),
    }
}

/// A property as the CRM holds it once `outcome` happened to `have`: extended options
/// are appended as they were sent (HubSpot keeps the order it is given).
fn after(mut have: PropertyDef, wanted: &PropertyDef, outcome: &EnsureOutcome) -> PropertyDef {
    if let EnsureOutcome::OptionsAdded(added) = outcome {
        have.options.extend(
            wanted
                .options
                .iter()
                .filter(|o| added.contains(&o.value))
                .cloned(),
        );
    }
    have
}

/// Setup's running state: what is known live, each outcome, and the calls made.
#[derive(Default)]
struct Progress {
    live: BTreeMap<String, PropertyDef>,
    outcomes: BTreeMap<String, EnsureOutcome>,
    calls: u64,
}

impl Progress {
    /// Compares `have` with `wanted` (extending its options when they are missing) and
    /// records the outcome and the resulting definition.
    async fn settle(
        &mut self,
        client: &HubspotClient,
        wanted: &PropertyDef,
        have: PropertyDef,
    ) -> Result<(), ConnectorError> {
        let outcome = compare_and_extend(client, wanted, have.clone()).await?;
        if matches!(outcome, EnsureOutcome::OptionsAdded(_)) {
            self.calls += 1;
        }
        self.live
            .insert(have.name.clone(), after(have, wanted, &outcome));
        self.outcomes.insert(wanted.name.clone(), outcome);
        Ok(())
    }
}

impl HubspotClient {
    /// See [`firmo_connect::crm::Crm::ensure_properties`].
    pub async fn ensure_properties(
        &self,
        group: &PropertyGroup,
        wanted: &[PropertyDef],
    ) -> Result<EnsuredProperties, ConnectorError> {
        let mut seen = BTreeSet::new();
        if let Some(dup) = wanted.iter().find(|p| !seen.insert(p.name.as_str())) {
            return Err(ConnectorError::Validation {
                service: SERVICE,
                property: Some(dup.name.clone()),
                value: None,
                message: "the same property is asked for twice".into(),
            });
        }
        let mut progress = Progress {
            live: self
                .list_properties()
                .await?
                .into_iter()
                .map(|p| (p.name.clone(), p))
                .collect(),
            calls: 1,
            ..Progress::default()
        };
        let missing = self.plan_creates(wanted, &progress.live).await?;
        progress.calls += u64::from(!missing.is_empty());
        if !missing.is_empty() {
            // 201, or 409 when the group exists: either way it's there now.
            self.create_group(group).await?;
            progress.calls += 1;
            for chunk in missing.chunks(crate::BATCH_LIMIT) {
                self.batch_create_properties(chunk, &mut progress).await?;
            }
        }
        let mut outcomes = Vec::with_capacity(wanted.len());
        for def in wanted {
            if !progress.outcomes.contains_key(&def.name) {
                let Some(have) = progress.live.get(&def.name).cloned() else {
                    return Err(ConnectorError::Malformed {
                        service: SERVICE,
                        path: "batch create response".into(),
                        message: format!("property `{}` is neither created nor failed", def.name),
                    });
                };
                progress.settle(self, def, have).await?;
            }
            if let Some(outcome) = progress.outcomes.remove(&def.name) {
                outcomes.push((def.name.clone(), outcome));
            }
        }
        Ok(EnsuredProperties {
            outcomes,
            live: progress.live.into_values().collect(),
            calls: progress.calls,
        })
    }

    /// The wanted properties that don't exist yet, after every limit is checked (option
    /// caps for all of them, and, when some are missing, the portal's capacity: one call).
    async fn plan_creates<'w>(
        &self,
        wanted: &'w [PropertyDef],
        existing: &BTreeMap<String, PropertyDef>,
    ) -> Result<Vec<&'w PropertyDef>, ConnectorError> {
        let mut missing = Vec::new();
        for def in wanted {
            let options = match existing.get(&def.name) {
                Some(have) => {
                    let values: BTreeSet<&str> =
                        have.options.iter().map(|o| o.value.as_str()).collect();
                    have.options.len()
                        + def
                            .options
                            .iter()
                            .filter(|o| !values.contains(o.value.as_str()))
                            .count()
                }
                None => {
                    missing.push(def);
                    def.options.len()
                }
            };
            check_options(def, options)?;
        }
        if !missing.is_empty()
            && let Some(capacity) = self.property_capacity().await?
            && capacity.left() < missing.len() as u64
        {
            return Err(capacity_error(format!(
                "{} custom company properties are needed ({}) but the account has {} of its {} left; delete unused custom properties or raise the tier, then run setup again",
                missing.len(),
                missing
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                capacity.left(),
                capacity.limit
            )));
        }
        Ok(missing)
    }

    /// One batch create; each created property's answer is compared with what was
    /// asked (the read-back check) and becomes its live definition. One that someone
    /// else created meanwhile (409) is read and compared like an existing one; any other
    /// failure is an error.
    async fn batch_create_properties(
        &self,
        defs: &[&PropertyDef],
        progress: &mut Progress,
    ) -> Result<(), ConnectorError> {
        let inputs: Vec<PropertyCreate<'_>> =
            defs.iter().map(|d| PropertyCreate::from_def(d)).collect();
        let path = format!("{}/batch/create", self.properties_path());
        let response = self
            .send(
                Method::POST,
                &path,
                &[],
                Some(to_body(&json!({ "inputs": inputs }))?),
                &HubspotRetryPolicy,
            )
            .await?;
        progress.calls += 1;
        let batch: PropertyBatch = response.json(SERVICE, "batch property create response")?;
        let by_name: BTreeMap<&str, &PropertyDef> =
            defs.iter().map(|d| (d.name.as_str(), *d)).collect();
        for created in batch.results {
            let created = PropertyDef::from(created);
            let Some(wanted) = by_name.get(created.name.as_str()) else {
                continue;
            };
            let outcome = if created.property_type == wanted.property_type
                && created.field_type == wanted.field_type
            {
                EnsureOutcome::Created
            } else {
                EnsureOutcome::Mismatch {
                    expected: format!("{}/{}", wanted.property_type, wanted.field_type),
                    found: format!("{}/{}", created.property_type, created.field_type),
                }
            };
            progress.outcomes.insert(created.name.clone(), outcome);
            progress.live.insert(created.name.clone(), created);
        }
        for error in &batch.errors {
            let names = error.context_strings("name");
            if error.category.as_deref() == Some("CONFLICT") {
                for name in names {
                    let Some(wanted) = by_name.get(name.as_str()) else {
                        continue;
                    };
                    progress.calls += 1;
                    if let Some(have) = self.get_property(&name).await? {
                        progress.settle(self, wanted, have).await?;
                    }
                }
                continue;
            }
            let mut err = error_from_standard(error, 207);
            if let ConnectorError::Validation { property, .. } = &mut err
                && property.is_none()
            {
                *property = names.into_iter().next();
            }
            return Err(err);
        }
        Ok(())
    }

    /// Custom company properties left, from HubSpot's limits tracking; `None` where the
    /// token may not read it.
    pub async fn property_capacity(&self) -> Result<Option<PropertyCapacity>, ConnectorError> {
        let path = self.config().api_version.custom_property_limits();
        let response = self.send(Method::GET, &path, &[], None, &NOT_HERE).await?;
        if !response.is_success() {
            tracing::debug!(
                status = response.status,
                "custom-property limits not readable"
            );
            return Ok(None);
        }
        let limits: PropertyLimits = response.json(SERVICE, "custom-property limits")?;
        if let Some(company) = limits
            .by_object_type
            .iter()
            .find(|o| o.object_type_id == COMPANY_TYPE_ID)
        {
            return Ok(Some(PropertyCapacity {
                limit: company.limit,
                used: company.usage,
            }));
        }
        Ok(limits
            .overall_limit
            .zip(limits.overall_usage)
            .map(|(limit, used)| PropertyCapacity { limit, used }))
    }

    /// See [`firmo_connect::crm::Crm::access_facts`]: the account details (portal id and
    /// the rate-limit headers), then the token's own scopes where HubSpot lets it read
    /// them (private-app tokens; a 400/403/404 there leaves them unknown).
    pub async fn access_facts(&self) -> Result<AccessFacts, ConnectorError> {
        let path = self.config().api_version.account_details();
        let response = self.send(Method::GET, &path, &[], None, &NOT_HERE).await?;
        let rate_limit = rate_limit_facts(&response.headers);
        let mut account_id = None;
        if response.is_success() {
            let details: AccountDetails = response.json(SERVICE, "account details")?;
            account_id = Some(details.portal_id.to_string());
        }
        let body = to_body(&json!({ "tokenKey": self.config().token.expose() }))?;
        let info = self
            .send(Method::POST, TOKEN_INFO_PATH, &[], Some(body), &NOT_HERE)
            .await?;
        let scopes = if info.is_success() {
            let info: TokenInfo = info.json(SERVICE, "access token info")?;
            if account_id.is_none() {
                account_id = info.hub_id.map(|id| id.to_string());
            }
            Some(info.scopes)
        } else {
            None
        };
        let missing_scopes = scopes.as_ref().map_or_else(Vec::new, |have| {
            REQUIRED_SCOPES
                .iter()
                .filter(|s| !have.iter().any(|h| h == *s))
                .map(|s| (*s).to_owned())
                .collect()
        });
        Ok(AccessFacts {
            account_id,
            scopes,
            missing_scopes,
            rate_limit,
        })
    }
}
