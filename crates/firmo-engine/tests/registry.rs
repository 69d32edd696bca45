//! Adding a provider is its factory plus one registration: a fake provider registered in
//! one place enriches a whole sync against the sandbox CRM.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use firmo_connect::crm::Crm;
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret};
use firmo_core::{Field, ProviderRecord, Source, Value};
use firmo_engine::config::Config;
use firmo_engine::enrich::Enricher;
use firmo_engine::fetch::Arrivals;
use firmo_engine::providers::{ProviderEnv, ProviderFactory, Registry, build_all};
use firmo_engine::state::StoreHandle;
use firmo_engine::sync::{NoProgress, SyncOptions, sync};
use firmo_hubspot::{HubspotClient, HubspotConfig};
use firmo_store::Store;

static LOOKUPS: AtomicU64 = AtomicU64::new(0);

/// Knows every company: 1,234 employees, in its own industry.
struct Fake;

#[async_trait]
impl Provider for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn sources(&self) -> &'static [Source] {
        &[Source::Clay]
    }
    fn cost_per_lookup(&self) -> f64 {
        0.5
    }
    async fn lookup(&self, _domain: &str) -> Result<LookupOutcome, ConnectorError> {
        LOOKUPS.fetch_add(1, Ordering::SeqCst);
        let mut r = ProviderRecord::new(Source::Clay, firmo_core::UnixMillis(1_767_225_600_000));
        r.fields.insert(Field::Headcount, Value::Integer(1234));
        Ok(LookupOutcome::Found(vec![r]))
    }
}

struct FakeFactory;

impl ProviderFactory for FakeFactory {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn check(&self, settings: &toml::Table) -> Result<(), (String, String)> {
        match settings.keys().next() {
            Some(k) => Err((format!(".{k}"), "the fake takes no settings".into())),
            None => Ok(()),
        }
    }
    fn build(
        &self,
        _settings: &toml::Table,
        _env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConnectorError> {
        Ok(Arc::new(Fake))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_registered_in_one_place_enriches_a_whole_sync() {
    let registry = Registry::builtin().with(&FakeFactory);
    let config = Config::from_toml_with(
        "[sources.clay]\nenabled = false\n[sources.clearbit]\nenabled = false\n\
         [sources.builtwith]\nenabled = false\n[sources.crunchbase]\nenabled = false\n\
         [sources.fake]\nenabled = true\n",
        "test.toml",
        &registry,
    )
    .unwrap();
    assert!(
        Config::from_toml("[sources.fake]\nenabled = true\n", "f").is_err(),
        "without the registration the name is unknown"
    );

    let sandbox = firmo_sandbox::start(
        firmo_sandbox::SandboxConfig {
            companies: 30,
            ..firmo_sandbox::SandboxConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let hubspot =
        HubspotConfig::new(Secret::new(sandbox.token())).with_base_url(sandbox.base_url());
    let crm: Arc<dyn Crm> = Arc::new(HubspotClient::new(hubspot).unwrap());
    let (providers, unavailable) = build_all(&config, &registry, &ProviderEnv::default());
    assert!(unavailable.is_empty(), "{unavailable:?}");
    assert_eq!(
        providers.iter().map(|p| p.name).collect::<Vec<_>>(),
        ["fake"]
    );
    let enricher = Enricher::new(
        config.core.clone(),
        &config.waterfall,
        providers,
        StoreHandle::spawn(Store::open_in_memory().unwrap()),
        firmo_engine::system_clock(),
        Arc::new(Arrivals::default()),
    );
    let summary = sync(
        &config,
        Arc::clone(&crm),
        &enricher,
        &SyncOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap();
    let with_domain = summary.scanned
        - summary.skipped.get("no domain").copied().unwrap_or(0)
        - summary.skipped.get("invalid domain").copied().unwrap_or(0);
    assert!(summary.outcomes.written > 0, "{summary:?}");
    assert_eq!(summary.outcomes.written, with_domain);
    assert_eq!(
        summary.providers["fake"].lookups,
        LOOKUPS.load(Ordering::SeqCst)
    );
    assert!((summary.credits - 0.5 * with_domain as f64).abs() < 1e-9);

    let page = crm
        .pull(
            &firmo_connect::crm::PullRequest {
                properties: vec!["firmo_headcount".to_owned()],
                segment: Vec::new(),
                modified_since: None,
                page_size: Some(100),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.companies.len(), 30);
    let written: Vec<_> = page
        .companies
        .iter()
        .filter(|c| c.property("firmo_headcount").is_some())
        .collect();
    assert_eq!(written.len() as u64, with_domain);
    for c in written {
        assert_eq!(c.property("firmo_headcount"), Some("1234"));
    }
    sandbox.shutdown().await.unwrap();
}
