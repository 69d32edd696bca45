//! Monthly budgets across runs: the ledger survives restarts, a run warns past the share,
//! at the limit lookups are deferred, and they resume when the period resets.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use async_trait::async_trait;
use firmo_connect::crm::Crm;
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret};
use firmo_core::{Date, Field, ProviderRecord, Source, UnixMillis, Value};
use firmo_engine::config::Config;
use firmo_engine::enrich::Enricher;
use firmo_engine::fetch::Arrivals;
use firmo_engine::providers::{ProviderEnv, ProviderFactory, Registry, build_all};
use firmo_engine::report::RunSummary;
use firmo_engine::state::StoreHandle;
use firmo_engine::sync::{NoProgress, SyncOptions, sync};
use firmo_hubspot::{HubspotClient, HubspotConfig};
use firmo_store::Store;

static LOOKUPS: AtomicU64 = AtomicU64::new(0);

/// Knows every company; one credit a lookup.
struct Paid;

#[async_trait]
impl Provider for Paid {
    fn name(&self) -> &'static str {
        "paid"
    }
    fn sources(&self) -> &'static [Source] {
        &[Source::Clay]
    }
    fn cost_per_lookup(&self) -> f64 {
        1.0
    }
    async fn lookup(&self, _domain: &str) -> Result<LookupOutcome, ConnectorError> {
        LOOKUPS.fetch_add(1, Ordering::SeqCst);
        let mut r = ProviderRecord::new(Source::Clay, UnixMillis(1_767_225_600_000));
        r.fields.insert(Field::Headcount, Value::Integer(42));
        Ok(LookupOutcome::Found(vec![r]))
    }
}

struct PaidFactory;

impl ProviderFactory for PaidFactory {
    fn name(&self) -> &'static str {
        "paid"
    }
    fn check(&self, _settings: &toml::Table) -> Result<(), (String, String)> {
        Ok(())
    }
    fn build(
        &self,
        _settings: &toml::Table,
        _env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConnectorError> {
        Ok(Arc::new(Paid))
    }
}

fn config(extra: &str, registry: &Registry) -> Config {
    let text = format!(
        "[sources.clay]\nenabled = false\n[sources.clearbit]\nenabled = false\n\
         [sources.builtwith]\nenabled = false\n[sources.crunchbase]\nenabled = false\n\
         [sources.paid]\nenabled = true\n{extra}"
    );
    Config::from_toml_with(&text, "test.toml", registry).unwrap()
}

fn day(y: i32, m: u8, d: u8) -> i64 {
    Date::new(y, m, d).unwrap().midnight_utc_millis() + 12 * 3_600_000
}

struct World {
    registry: Registry,
    crm: Arc<dyn Crm>,
    state: std::path::PathBuf,
    now: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
    _sandbox: firmo_sandbox::SandboxHandle,
}

impl World {
    /// One run, as a fresh process would make it: the state file opened anew.
    async fn run(&self, config: &Config, at: i64) -> (RunSummary, u64) {
        self.now.store(at, Ordering::SeqCst);
        let before = LOOKUPS.load(Ordering::SeqCst);
        let (providers, _) = build_all(config, &self.registry, &ProviderEnv::default());
        let now = Arc::clone(&self.now);
        let enricher = Enricher::new(
            config.core.clone(),
            &config.waterfall,
            providers,
            StoreHandle::spawn(Store::open(&self.state).unwrap()),
            Arc::new(move || UnixMillis(now.load(Ordering::SeqCst))),
            Arc::new(Arrivals::default()),
        );
        let options = SyncOptions {
            full: true,
            ..SyncOptions::default()
        };
        let summary = sync(
            config,
            Arc::clone(&self.crm),
            &enricher,
            &options,
            &NoProgress,
        )
        .await
        .unwrap();
        (summary, LOOKUPS.load(Ordering::SeqCst) - before)
    }
}

fn deferred_monthly(summary: &RunSummary) -> u64 {
    summary
        .skipped
        .iter()
        .filter(|(reason, _)| reason.contains("monthly budget"))
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monthly_budget_warns_defers_at_its_limit_and_resumes_next_period() {
    let registry = Registry::builtin().with(&PaidFactory);
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
    let dir = tempfile::tempdir().unwrap();
    let world = World {
        crm: Arc::new(HubspotClient::new(hubspot).unwrap()),
        state: dir.path().join("state.db"),
        now: Arc::new(AtomicI64::new(0)),
        registry,
        _dir: dir,
        _sandbox: sandbox,
    };

    // December 10th, no limit: every domain is bought once.
    let unlimited = config("", &world.registry);
    let (first, domains) = world.run(&unlimited, day(2026, 12, 10)).await;
    assert!(domains > 10, "{first:?}");
    assert!(first.monthly.is_none(), "no limit, no monthly standing");

    // The same day with a limit 20 % above that: nothing to buy, past the 80 % warning.
    let limit = (domains as f64 * 1.2).floor();
    let limited = config(
        &format!("[budget]\nmonthly_credits = {limit}\nwarn_at = 0.8\n"),
        &world.registry,
    );
    let (warned, bought) = world.run(&limited, day(2026, 12, 10)).await;
    assert_eq!(bought, 0);
    let month = warned.monthly.as_ref().expect("the month's standing");
    assert_eq!(month.period_start, "2026-12-01");
    assert!((month.spent - domains as f64).abs() < 1e-9, "{month:?}");
    assert_eq!(month.warnings.len(), 1, "{month:?}");
    assert!(month.exhausted.is_empty());

    // December 20th: the answers are stale, the month has 20 % left. It buys that, and
    // defers the rest until the period resets.
    let (spent_out, bought) = world.run(&limited, day(2026, 12, 20)).await;
    let left = limit - domains as f64;
    assert!(
        (bought as f64 - left).abs() < 1e-9,
        "bought {bought}, {left} were left"
    );
    assert_eq!(
        deferred_monthly(&spent_out),
        domains - bought,
        "{spent_out:?}"
    );
    let month = spent_out.monthly.as_ref().unwrap();
    assert_eq!(month.exhausted, ["all providers"]);
    assert_eq!(month.left, Some(0.0));

    // A restart on Christmas: the ledger is in the state file, nothing is bought.
    let (held, bought) = world.run(&limited, day(2026, 12, 25)).await;
    assert_eq!(bought, 0);
    assert!(deferred_monthly(&held) > 0);

    // January 2nd: a new period, the deferred lookups are made.
    let (resumed, bought) = world.run(&limited, day(2027, 1, 2)).await;
    assert!(bought > 0, "{resumed:?}");
    assert_eq!(deferred_monthly(&resumed), 0, "{resumed:?}");
    assert_eq!(resumed.monthly.as_ref().unwrap().period_start, "2027-01-01");
}
