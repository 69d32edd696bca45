//! What the engine's sync tests share: a provider that knows every company (registered
//! through the registry like a real one) and a sandbox CRM to sync against.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use firmo_connect::crm::Crm;
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret};
use firmo_core::{Field, ProviderRecord, Source, UnixMillis, Value};
use firmo_engine::providers::{ProviderEnv, ProviderFactory};
use firmo_hubspot::{HubspotClient, HubspotConfig};

/// A provider that knows every company: the headcount given, as a Clay record.
pub(crate) struct Known {
    pub(crate) name: &'static str,
    pub(crate) cost: f64,
    pub(crate) headcount: i64,
    /// Lookups made, across every run of the test.
    pub(crate) lookups: AtomicU64,
}

impl Known {
    pub(crate) fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Provider for &'static Known {
    fn name(&self) -> &'static str {
        self.name
    }
    fn sources(&self) -> &'static [Source] {
        &[Source::Clay]
    }
    fn cost_per_lookup(&self) -> f64 {
        self.cost
    }
    async fn lookup(&self, _domain: &str) -> Result<LookupOutcome, ConnectorError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let mut r = ProviderRecord::new(Source::Clay, UnixMillis(1_767_225_600_000));
        r.fields
            .insert(Field::Headcount, Value::Integer(self.headcount));
        Ok(LookupOutcome::Found(vec![r]))
    }
}

/// Registers a [`Known`] provider under its name; it takes no settings.
pub(crate) struct KnownFactory(pub(crate) &'static Known);

impl ProviderFactory for KnownFactory {
    fn name(&self) -> &'static str {
        self.0.name
    }
    fn check(&self, settings: &toml::Table) -> Result<(), (String, String)> {
        match settings.keys().next() {
            Some(k) => Err((
                format!(".{k}"),
                format!("{} takes no settings", self.0.name),
            )),
            None => Ok(()),
        }
    }
    fn build(
        &self,
        _settings: &toml::Table,
        _env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConnectorError> {
        Ok(Arc::new(self.0))
    }
}

/// A config with the built-in providers off and `provider` on, plus `extra` TOML.
pub(crate) fn only(provider: &str, extra: &str) -> String {
    format!(
        "[sources.clay]\nenabled = false\n[sources.clearbit]\nenabled = false\n\
         [sources.builtwith]\nenabled = false\n[sources.crunchbase]\nenabled = false\n\
         [sources.{provider}]\nenabled = true\n{extra}"
    )
}

/// A sandbox CRM with `companies` demo companies, and a HubSpot client for it.
pub(crate) async fn sandbox_crm(companies: usize) -> (firmo_sandbox::SandboxHandle, Arc<dyn Crm>) {
    let sandbox = firmo_sandbox::start(
        firmo_sandbox::SandboxConfig {
            companies,
            ..firmo_sandbox::SandboxConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let hubspot =
        HubspotConfig::new(Secret::new(sandbox.token())).with_base_url(sandbox.base_url());
    let crm: Arc<dyn Crm> = Arc::new(HubspotClient::new(hubspot).unwrap());
    (sandbox, crm)
}
