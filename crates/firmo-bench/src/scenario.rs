//! One measured run: a sandbox seeded with N companies, the engine built as `firmo sync
//! --sandbox` builds it, one full sync, and everything measured around it.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use firmo_clay::receiver::ClayReceiver;
use firmo_clay::receiver::ReceiverConfig;
use firmo_connect::Secret;
use firmo_connect::crm::Crm;
use firmo_connect::http::HttpStats;
use firmo_engine::clay::{register_receiver, start_receiver};
use firmo_engine::config::Config;
use firmo_engine::enrich::Enricher;
use firmo_engine::fetch::Arrivals;
use firmo_engine::providers::{Endpoint, ProviderEnv, build_all, clay_config};
use firmo_engine::report::RunSummary;
use firmo_engine::state::StoreHandle;
use firmo_engine::sync::{Progress, SyncOptions, sync};
use firmo_engine::system_clock;
use firmo_hubspot::{HubspotClient, HubspotConfig};
use firmo_sandbox::emulators::EmulatorSettings;
use firmo_sandbox::{RateLimit, SandboxConfig, Stats};
use firmo_store::Store;

use crate::mem::{self, Rss};
use crate::remote::{SandboxLink, SandboxProcess};

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) companies: usize,
    /// The sandbox's burst limit, which the client is also told to respect; `None`: no
    /// limit on either side.
    pub(crate) rate_limit: Option<RateLimit>,
    /// The run's credit budget (`[budget] max_credits_per_run`).
    pub(crate) budget: f64,
    /// Run the sandbox in a child process, so this process's RSS is the engine's alone.
    pub(crate) sandbox_process: bool,
    /// firmo.toml text to run with instead of the defaults (`--config`).
    pub(crate) config_text: String,
    /// The emulators keep their providers' own per-minute limits (Clearbit 600,
    /// Crunchbase 200) and firmo's clients pace to the same rates.
    pub(crate) provider_limits: bool,
}

/// The per-minute limits the emulators enforce by default, which the clients are told
/// under `provider_limits` (provider name, requests per minute).
pub(crate) const EMULATOR_LIMITS: [(&str, u32); 2] = [("clearbit", 600), ("crunchbase", 200)];

/// What one run measured.
#[derive(Debug)]
pub(crate) struct Measured {
    pub(crate) scenario: Scenario,
    /// RSS before the sandbox existed.
    pub(crate) rss_start: Option<Rss>,
    /// RSS with the sandbox started and seeded, before the engine was built.
    pub(crate) rss_seeded: Option<Rss>,
    /// RSS at the end (its peak is the scenario's peak: one scenario per process).
    pub(crate) rss_end: Option<Rss>,
    /// The sandbox child's RSS at the end (`--sandbox-process`).
    pub(crate) sandbox_rss: Option<Rss>,
    pub(crate) seed_time: Duration,
    /// `sync()` from call to return, property setup included.
    pub(crate) wall: Duration,
    pub(crate) summary: RunSummary,
    /// The sandbox's own counters: the truth HubSpot-side.
    pub(crate) stats: Stats,
    /// The HubSpot client's counters: retries, 429s, time spent pacing.
    pub(crate) client: HttpStats,
    pub(crate) timeline: Timeline,
}

/// When each page entered and left the enrich stage (from the engine's progress
/// callbacks), to tell time spent enriching from time spent waiting for pages.
#[derive(Debug, Default)]
pub(crate) struct Timeline {
    pub(crate) started: Option<Instant>,
    /// Page arrived at the enrich stage (`Progress::pulled`).
    pub(crate) pulled: Vec<Instant>,
    /// Page enriched, diffed and handed to the writer (`Progress::processed`).
    pub(crate) processed: Vec<Instant>,
}

impl Timeline {
    /// Total time pages spent in the enrich stage, and total time it sat waiting for the
    /// next page (from the previous page's end, or from the start for the first).
    pub(crate) fn split(&self) -> (Duration, Duration) {
        let mut busy = Duration::ZERO;
        let mut idle = Duration::ZERO;
        let mut last_end = self.started;
        for (pulled, processed) in self.pulled.iter().zip(&self.processed) {
            busy += processed.saturating_duration_since(*pulled);
            if let Some(end) = last_end {
                idle += pulled.saturating_duration_since(end);
            }
            last_end = Some(*processed);
        }
        (busy, idle)
    }
}

impl Timeline {
    /// Each page's time in the enrich stage, in page order.
    pub(crate) fn page_times(&self) -> Vec<Duration> {
        self.pulled
            .iter()
            .zip(&self.processed)
            .map(|(pulled, processed)| processed.saturating_duration_since(*pulled))
            .collect()
    }
}

struct Recorder(Mutex<Timeline>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Progress for Recorder {
    fn pulled(&self, _total: u64) {
        lock(&self.0).pulled.push(Instant::now());
    }
    fn processed(&self, _total: u64) {
        lock(&self.0).processed.push(Instant::now());
    }
}

/// The sandbox settings of a scenario: the demo data, the CRM's limit, and provider
/// emulators without their real per-minute limits (as `firmo sync --sandbox` runs them)
/// unless `provider_limits` keeps them.
pub(crate) fn sandbox_config(
    companies: usize,
    rate_limit: Option<RateLimit>,
    provider_limits: bool,
) -> SandboxConfig {
    let emulators = if provider_limits {
        EmulatorSettings::default()
    } else {
        EmulatorSettings {
            clearbit_rate_per_minute: 1_000_000,
            crunchbase_rate_per_minute: 1_000_000,
            ..EmulatorSettings::default()
        }
    };
    SandboxConfig {
        companies,
        rate_limit,
        emulators,
        ..SandboxConfig::default()
    }
}

/// The sandbox of a scenario.
fn scenario_sandbox(scenario: &Scenario) -> SandboxConfig {
    sandbox_config(
        scenario.companies,
        scenario.rate_limit,
        scenario.provider_limits,
    )
}

pub(crate) async fn run(scenario: Scenario) -> anyhow::Result<Measured> {
    let rss_start = mem::own();
    let seeding = Instant::now();
    let sandbox = if scenario.sandbox_process {
        SandboxLink::Process(Box::new(
            SandboxProcess::spawn(
                scenario.companies,
                scenario.rate_limit,
                scenario.provider_limits,
            )
            .await
            .context("starting the sandbox child process")?,
        ))
    } else {
        SandboxLink::InProcess(
            firmo_sandbox::start(
                scenario_sandbox(&scenario),
                "127.0.0.1:0".parse().expect("a valid socket address"),
            )
            .await
            .context("starting the in-process sandbox")?,
        )
    };
    let seed_time = seeding.elapsed();
    let rss_seeded = mem::own();
    let base_url = sandbox.base_url();

    let dir = tempfile::tempdir().context("creating a temporary state directory")?;
    let store = StoreHandle::spawn(
        Store::open(dir.path().join("state.db")).context("opening the state file")?,
    );
    let config = Config::from_toml(&bench_config(&scenario), "(firmo-bench)")
        .map_err(|e| anyhow!("the bench's config: {e}"))?;

    // The client is told the same limit the sandbox enforces, as a user sets
    // `[crm] requests_per_10s` to their HubSpot tier.
    let mut hubspot = HubspotConfig::new(Secret::new(sandbox.token())).with_base_url(&base_url);
    match scenario.rate_limit {
        Some(limit) => {
            hubspot.requests_per_interval = limit.max_requests;
            hubspot.interval = limit.interval;
            // 1 % slack, as the default 100 ms is of HubSpot's 10 s.
            hubspot.headroom = limit.interval / 100;
            hubspot.search_per_second = config.crm.search_per_second;
        }
        None => {
            // 0 = no client-side pacing.
            hubspot.requests_per_interval = 0;
            hubspot.search_per_second = 0;
        }
    }
    let client = Arc::new(HubspotClient::new(hubspot).context("building the HubSpot client")?);
    let crm: Arc<dyn Crm> = client.clone();

    let env = ProviderEnv {
        endpoints: firmo_sandbox::endpoints::endpoints(&base_url)
            .providers
            .into_iter()
            .map(|e| {
                let endpoint = Endpoint {
                    url: e.url,
                    key: e.key.map(Secret::new),
                    callback_setup: e.callback_setup,
                };
                (e.provider.to_owned(), endpoint)
            })
            .collect(),
        people: None,
        unpaced: true,
    };
    let (mut providers, unavailable) =
        build_all(&config, &firmo_engine::providers::Registry::builtin(), &env);
    if let Some((name, error)) = unavailable.first() {
        return Err(anyhow!("provider {name} did not start: {error}"));
    }
    let clock = system_clock();
    let arrivals = Arc::new(Arrivals::default());
    let clay_setup = env
        .endpoint(firmo_clay::NAME)
        .and_then(|e| e.callback_setup.as_deref());
    let receiver = match clay_setup {
        Some(setup) if providers.iter().any(|p| p.name == firmo_clay::NAME) => {
            Some(start_clay_receiver(&config, setup, store.clone(), arrivals.clone()).await?)
        }
        _ => None,
    };
    match receiver {
        None => providers.retain(|p| p.name != firmo_clay::NAME),
        Some(_) => {
            for p in providers.iter_mut().filter(|p| p.name == firmo_clay::NAME) {
                p.pushed = true;
            }
        }
    }
    let enricher = Enricher::new(
        config.core.clone(),
        &config.waterfall,
        providers,
        store,
        clock,
        arrivals,
    );

    let recorder = Recorder(Mutex::new(Timeline::default()));
    let started = Instant::now();
    lock(&recorder.0).started = Some(started);
    let summary = sync(&config, crm, &enricher, &SyncOptions::default(), &recorder)
        .await
        .context("the sync")?;
    let wall = started.elapsed();
    let client_stats = client.stats();
    if let Some(receiver) = receiver {
        receiver.stop().await;
    }
    let rss_end = mem::own();
    let (stats, sandbox_rss) = sandbox.finish().await?;
    Ok(Measured {
        scenario,
        rss_start,
        rss_seeded,
        rss_end,
        sandbox_rss,
        seed_time,
        wall,
        summary,
        stats,
        client: client_stats,
        timeline: recorder
            .0
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    })
}

/// The defaults of an empty firmo.toml (or `--config`), but for the budget, unless the
/// file sets one: a full sync enriches every account, where the default 5,000 credits
/// would defer most of them.
fn bench_config(scenario: &Scenario) -> String {
    let mut text = scenario.config_text.clone();
    if scenario.provider_limits {
        for (name, rate) in EMULATOR_LIMITS {
            let _ = write!(text, "\n[sources.{name}]\nrequests_per_minute = {rate}\n");
        }
    }
    let sets_budget = text.lines().any(|l| l.trim() == "[budget]");
    if !sets_budget {
        let _ = write!(
            text,
            "
[budget]
max_credits_per_run = {:.1}
",
            scenario.budget
        );
    }
    text
}

/// Clay's callback receiver, registered at the sandbox's Clay table (`setup`), as the
/// CLI does.
async fn start_clay_receiver(
    config: &Config,
    setup: &str,
    store: StoreHandle,
    arrivals: Arc<Arrivals>,
) -> anyhow::Result<ClayReceiver> {
    let clay = clay_config(config).unwrap_or_default();
    let secret = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let mut receiver_config = ReceiverConfig::new(Secret::new(secret.clone()));
    receiver_config.header.clone_from(&clay.callback_header);
    let header = receiver_config.header.clone();
    let receiver = start_receiver(
        "127.0.0.1:0".parse().expect("a valid socket address"),
        receiver_config,
        store,
        arrivals,
        system_clock(),
        firmo_clay::NAME,
    )
    .await
    .context("starting the Clay callback receiver")?;
    register_receiver(setup, "Clay table", &receiver.url(), &header, &secret)
        .await
        .map_err(|e| anyhow!("registering the Clay receiver with the sandbox: {e}"))?;
    Ok(receiver)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_lifted_unless_the_config_sets_one() {
        let mut scenario = Scenario {
            name: "t",
            companies: 1,
            rate_limit: None,
            budget: 1e12,
            sandbox_process: false,
            config_text: String::new(),
            provider_limits: false,
        };
        let config = Config::from_toml(&bench_config(&scenario), "t").unwrap();
        assert!((config.budget.max_credits_per_run - 1e12).abs() < 1.0);
        scenario.config_text = "[budget]\nmax_credits_per_run = 7.0\n".to_owned();
        let config = Config::from_toml(&bench_config(&scenario), "t").unwrap();
        assert!((config.budget.max_credits_per_run - 7.0).abs() < f64::EPSILON);
    }

    #[test]
    fn provider_limits_pace_the_clients_to_the_emulators() {
        let scenario = Scenario {
            name: "t",
            companies: 1,
            rate_limit: None,
            budget: 1.0,
            sandbox_process: false,
            config_text: String::new(),
            provider_limits: true,
        };
        let config = Config::from_toml(&bench_config(&scenario), "t").unwrap();
        for (name, rate) in EMULATOR_LIMITS {
            let settings = &config.source(name).unwrap().settings;
            assert_eq!(
                settings["requests_per_minute"].as_integer(),
                Some(i64::from(rate))
            );
        }
        assert_eq!(
            scenario_sandbox(&scenario)
                .emulators
                .crunchbase_rate_per_minute,
            200
        );
    }

    #[test]
    fn timeline_splits_busy_and_idle_time() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let timeline = Timeline {
            started: Some(t0),
            pulled: vec![at(100), at(400)],
            processed: vec![at(300), at(450)],
        };
        let (busy, idle) = timeline.split();
        assert_eq!(busy, Duration::from_millis(250));
        assert_eq!(idle, Duration::from_millis(200));
    }
}
