//! Adding a provider is its factory plus one registration: a fake provider registered in
//! one place enriches a whole sync against the sandbox CRM.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use firmo_engine::config::Config;
use firmo_engine::enrich::Enricher;
use firmo_engine::fetch::Arrivals;
use firmo_engine::providers::{ProviderEnv, Registry, build_all};
use firmo_engine::state::StoreHandle;
use firmo_engine::sync::{NoProgress, SyncOptions, sync};
use firmo_store::Store;

mod support;

use support::{Known, KnownFactory, only, sandbox_crm};

/// Knows every company: 1,234 employees.
static FAKE: Known = Known {
    name: "fake",
    cost: 0.5,
    headcount: 1234,
    lookups: AtomicU64::new(0),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_registered_in_one_place_enriches_a_whole_sync() {
    static FACTORY: KnownFactory = KnownFactory(&FAKE);
    let registry = Registry::builtin().with(&FACTORY);
    let config = Config::from_toml_with(&only("fake", ""), "test.toml", &registry).unwrap();
    assert!(
        Config::from_toml("[sources.fake]\nenabled = true\n", "f").is_err(),
        "without the registration the name is unknown"
    );

    let (sandbox, crm) = sandbox_crm(30).await;
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
    assert_eq!(summary.providers["fake"].lookups, FAKE.lookups());
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
