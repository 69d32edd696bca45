//! Monthly budgets across runs: the ledger survives restarts, a run warns past the share,
//! at the limit lookups are deferred, and they resume when the period resets.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use firmo_connect::crm::Crm;
use firmo_core::{Date, UnixMillis};
use firmo_engine::config::Config;
use firmo_engine::enrich::Enricher;
use firmo_engine::fetch::Arrivals;
use firmo_engine::providers::{ProviderEnv, Registry, build_all};
use firmo_engine::report::RunSummary;
use firmo_engine::state::StoreHandle;
use firmo_engine::sync::{NoProgress, SyncOptions, sync};
use firmo_store::Store;

mod support;

use support::{Known, KnownFactory, only, sandbox_crm};

/// Knows every company; one credit a lookup.
static PAID: Known = Known {
    name: "paid",
    cost: 1.0,
    headcount: 42,
    lookups: AtomicU64::new(0),
};

fn config(extra: &str, registry: &Registry) -> Config {
    Config::from_toml_with(&only("paid", extra), "test.toml", registry).unwrap()
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
        let before = PAID.lookups();
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
        (summary, PAID.lookups() - before)
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
    static FACTORY: KnownFactory = KnownFactory(&PAID);
    let registry = Registry::builtin().with(&FACTORY);
    let (sandbox, crm) = sandbox_crm(30).await;
    let dir = tempfile::tempdir().unwrap();
    let world = World {
        crm,
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
