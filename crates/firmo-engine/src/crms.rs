//! The CRM registry: one entry per CRM connector crate, in a static, greppable list, as
//! [`crate::providers`] is for providers. `--crm NAME` picks an entry; adding a CRM is its
//! crate plus one line in [`CRMS`].

use std::sync::Arc;

use firmo_connect::contacts::ContactCrm;
use firmo_connect::crm::{Crm, PropertyDef, ValueError};
use firmo_connect::{ConnectorError, Secret};
use firmo_core::Value;

use crate::config::Config;

/// Where a CRM is reached instead of its own service (the sandbox's), and the token it
/// takes there.
#[derive(Debug, Clone)]
pub struct CrmEndpoint {
    pub url: String,
    pub token: Secret,
}

/// One CRM client, as the company and the contact stages each use it.
#[derive(Clone)]
pub struct CrmClient {
    pub crm: Arc<dyn Crm>,
    pub contacts: Arc<dyn ContactCrm>,
}

/// Why a CRM client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CrmBuildError {
    /// No token where the config says to find one (bad usage, not a failed run).
    #[error("{0}")]
    NoToken(String),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
}

/// Builds one kind of CRM client from the config's `[crm]` settings.
pub trait CrmFactory: Sync {
    /// Its name on the command line (`--crm`), in the state and in the fleet.
    fn name(&self) -> &'static str;
    /// A canonical value as this CRM's property holds it: what a sync writes, and how
    /// `firmo enrich` formats a CSV cell for it. The connector's own encoder, which its
    /// client's [`Crm::encode_value`] is too.
    fn encode_value(&self, property: &PropertyDef, value: &Value) -> Result<String, ValueError>;
    /// The client: at `endpoint` when given, else at the CRM's own service with the
    /// token from the environment `[crm] token_env` names.
    fn build(
        &self,
        config: &Config,
        endpoint: Option<CrmEndpoint>,
    ) -> Result<CrmClient, CrmBuildError>;
}

/// Every CRM firmo ships; the first is the default.
pub const CRMS: &[&dyn CrmFactory] = &[&Hubspot];

/// The default CRM's name (`--crm` left out).
pub const DEFAULT: &str = firmo_hubspot::NAME;

/// A `--crm` name that no registry entry has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown CRM {name:?}; known: {}", known.join(", "))]
pub struct UnknownCrm {
    pub name: String,
    pub known: Vec<&'static str>,
}

/// Every registered CRM's name, in registry order.
pub fn names() -> Vec<&'static str> {
    CRMS.iter().map(|c| c.name()).collect()
}

/// The registry entry called `name`.
pub fn find(name: &str) -> Result<&'static dyn CrmFactory, UnknownCrm> {
    CRMS.iter()
        .copied()
        .find(|c| c.name() == name)
        .ok_or_else(|| UnknownCrm {
            name: name.to_owned(),
            known: names(),
        })
}

/// Where the real HubSpot API is unless the environment points elsewhere (a proxy, a
/// recorded portal).
const HUBSPOT_BASE_ENV: &str = "HUBSPOT_API_BASE";

struct Hubspot;
impl CrmFactory for Hubspot {
    fn name(&self) -> &'static str {
        firmo_hubspot::NAME
    }

    fn encode_value(&self, property: &PropertyDef, value: &Value) -> Result<String, ValueError> {
        firmo_hubspot::values::format_for(property, value)
    }

    fn build(
        &self,
        config: &Config,
        endpoint: Option<CrmEndpoint>,
    ) -> Result<CrmClient, CrmBuildError> {
        let (base_url, token) = match endpoint {
            Some(endpoint) => (endpoint.url, endpoint.token),
            None => {
                let base = firmo_connect::env_var(HUBSPOT_BASE_ENV)
                    .unwrap_or_else(|| firmo_hubspot::config::DEFAULT_BASE_URL.to_owned());
                let token = Secret::from_env(&config.crm.token_env).ok_or_else(|| {
                    CrmBuildError::NoToken(format!(
                        "no HubSpot access token: set {} to a HubSpot service key (or a private-app or OAuth access token); run `firmo doctor` to check it, or try --sandbox",
                        config.crm.token_env
                    ))
                })?;
                (base, token)
            }
        };
        let mut settings = firmo_hubspot::HubspotConfig::new(token)
            .with_base_url(base_url.trim_end_matches('/'))
            .with_api_version(config.crm.api_version);
        settings.requests_per_interval = config.crm.requests_per_10s;
        settings.search_per_second = config.crm.search_per_second;
        let client = Arc::new(firmo_hubspot::HubspotClient::new(settings)?);
        Ok(CrmClient {
            crm: client.clone(),
            contacts: client,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let error = find("salesforce").err().expect("not registered");
        assert_eq!(
            error.to_string(),
            format!("unknown CRM \"salesforce\"; known: {}", names().join(", "))
        );
        assert!(error.known.contains(&"hubspot"));
        assert_eq!(
            find(DEFAULT).map(super::CrmFactory::name).ok(),
            Some(DEFAULT)
        );
    }

    #[test]
    fn a_client_built_at_an_endpoint_is_that_crm() {
        let config = Config::from_toml("", "(defaults)").expect("the defaults parse");
        let endpoint = CrmEndpoint {
            url: "http://127.0.0.1:9/".into(),
            token: Secret::new("t"),
        };
        let client = find(DEFAULT)
            .expect("the default is registered")
            .build(&config, Some(endpoint))
            .expect("building needs no network");
        assert_eq!(client.crm.name(), DEFAULT);
    }
}
