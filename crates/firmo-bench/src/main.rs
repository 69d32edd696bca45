//! `firmo-bench`: the sync engine's benchmark (issue 5, item 5).
//!
//! Two scenarios, each in its own process so each peak RSS is its own:
//!
//! 1. **limited**: a full sync of `--companies` (10,000) sandbox companies under
//!    HubSpot's burst limit (`--rate-limit`, 100/10s), enforced by the sandbox and
//!    respected by the client. Prints CRM calls per 100 accounts (the sandbox's own
//!    counters, and the run summary's), wall time against the rate-limit bound, 429s,
//!    peak RSS and the run's outcomes.
//! 2. **lifted**: `--big-companies` (100,000) with no limits, for throughput and memory.
//! 3. **waterfall** (issue 11, only with `--only waterfall`): `--waterfall-companies`
//!    (2,000) under the emulators' default provider limits, twice: the waterfall, then
//!    every provider asked (`[waterfall] enabled = false`); wall time, credits and each
//!    provider's requests per account against their bounds.
//!
//! ```text
//! cargo run --release -p firmo-bench                  # both, full size
//! cargo run --release -p firmo-bench -- --quick       # 1,000 at 20/1s and 5,000 lifted
//! cargo run --release -p firmo-bench -- --only lifted --sandbox-process
//! cargo run --release -p firmo-bench -- --only limited --companies 300 --provider-limits
//! cargo run --release -p firmo-bench -- --only waterfall --sandbox-process
//! ```
//!
//! The engine is built as `firmo sync --sandbox` builds it: the default config (but for
//! the credit budget, lifted so every account is enriched), every provider pointed at
//! the sandbox's emulators, Clay answering through the callback receiver.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

/// The `firmo` binary's allocator, so the bench measures what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use firmo_sandbox::RateLimit;

mod figures;
mod fleet;
mod mem;
mod remote;
mod report;
mod scenario;
mod waterfall;

use scenario::Scenario;

#[derive(Debug, Parser)]
#[allow(clippy::struct_excessive_bools)] // independent command-line switches
#[command(
    name = "firmo-bench",
    about = "Benchmarks a full firmo sync against the sandbox."
)]
struct Args {
    /// Companies in the rate-limited scenario.
    #[arg(long, default_value_t = 10_000)]
    companies: usize,
    /// The CRM burst limit of the rate-limited scenario (HubSpot Free/Starter: 100/10s).
    #[arg(long, value_name = "N/INTERVAL", default_value = "100/10s")]
    rate_limit: RateLimit,
    /// Companies in the scenario without limits.
    #[arg(long, default_value_t = 100_000)]
    big_companies: usize,
    /// Companies in the waterfall scenario (run twice: waterfall, then ask-everyone).
    #[arg(long, default_value_t = 2_000)]
    waterfall_companies: usize,
    /// The run's credit budget (the default config's 5,000 would defer most lookups).
    #[arg(long, default_value_t = 1e12)]
    budget: f64,
    /// A firmo.toml to run with instead of the defaults (the budget above applies
    /// unless it has a `[budget]` table).
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// A run under a minute: 1,000 companies at 20/1s, then 10,000 without limits.
    #[arg(long)]
    quick: bool,
    /// Run only this scenario, in this process.
    #[arg(long, value_enum)]
    only: Option<Which>,
    /// Keep the emulators' providers' own per-minute limits (Clearbit 600, Crunchbase
    /// 200) and pace firmo's clients to them; the report adds each provider's bound.
    #[arg(long)]
    provider_limits: bool,
    /// Run the sandbox in a child process, so the reported peak RSS is the engine's
    /// alone (the sandbox's is reported apart).
    #[arg(long)]
    sandbox_process: bool,
    /// Internal: serve a sandbox for `--sandbox-process` (see `remote.rs`).
    #[arg(long, hide = true)]
    serve_sandbox: bool,
    /// Internal: the served sandbox has no rate limit.
    #[arg(long, hide = true)]
    no_rate_limit: bool,
    /// `--only fleet`: portals, each its own sandbox (see `fleet.rs`).
    #[arg(long, default_value_t = 4)]
    fleet_portals: usize,
    /// `--only fleet`: companies per portal.
    #[arg(long, default_value_t = 2_000)]
    fleet_companies: usize,
    /// `--only fleet`: the `firmo` binary the workers run (default: beside this one).
    #[arg(long, value_name = "PATH")]
    firmo: Option<std::path::PathBuf>,
    /// `--only fleet`: the PostgreSQL server (default: FIRMO_TEST_POSTGRES).
    #[arg(long, value_name = "URL")]
    state: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Limited,
    Lifted,
    /// Many portals: one process against 1, 2 and 4 fleet workers (needs PostgreSQL).
    Fleet,
    /// Issue 11: the waterfall against asking every provider, under the emulators'
    /// default provider limits (not part of the default set: it takes minutes).
    Waterfall,
}

impl Which {
    fn flag(self) -> &'static str {
        match self {
            Which::Limited => "limited",
            Which::Lifted => "lifted",
            Which::Fleet => "fleet",
            Which::Waterfall => "waterfall",
        }
    }
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.quick {
        args.companies = 1_000;
        args.rate_limit = RateLimit {
            max_requests: 20,
            interval: Duration::from_secs(1),
        };
        args.big_companies = 5_000;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if args.serve_sandbox {
        let limit = (!args.no_rate_limit).then_some(args.rate_limit);
        runtime.block_on(remote::serve(args.companies, limit, args.provider_limits))
    } else if let Some(which) = args.only {
        runtime.block_on(run_one(&args, which))
    } else {
        drop(runtime);
        run_each_in_a_child(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Peak RSS is per process and only grows: one process per scenario keeps each figure
/// its own.
fn run_each_in_a_child(args: &Args) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding this binary")?;
    for which in [Which::Limited, Which::Lifted] {
        let mut command = std::process::Command::new(&exe);
        command
            .args(["--only", which.flag()])
            .args(["--companies", &args.companies.to_string()])
            .args([
                "--rate-limit",
                &format!(
                    "{}/{}ms",
                    args.rate_limit.max_requests,
                    args.rate_limit.interval.as_millis()
                ),
            ])
            .args(["--big-companies", &args.big_companies.to_string()])
            .args(["--budget", &args.budget.to_string()]);
        if args.sandbox_process {
            command.arg("--sandbox-process");
        }
        if args.provider_limits {
            command.arg("--provider-limits");
        }
        if let Some(config) = &args.config {
            command.arg("--config").arg(config);
        }
        let status = command
            .status()
            .with_context(|| format!("running the {} scenario", which.flag()))?;
        if !status.success() {
            bail!("the {} scenario failed ({status})", which.flag());
        }
    }
    Ok(())
}

async fn run_one(args: &Args, which: Which) -> anyhow::Result<()> {
    if which == Which::Fleet {
        let text = fleet::run(&fleet::FleetBench {
            portals: args.fleet_portals,
            companies: args.fleet_companies,
            rate_limit: args.rate_limit,
            firmo: args.firmo.clone(),
            state: args.state.clone(),
        })
        .await?;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
        return Ok(());
    }
    let config_text = match &args.config {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => String::new(),
    };
    let scenario = match which {
        Which::Waterfall => {
            let text = waterfall::run(waterfall::Args {
                companies: args.waterfall_companies,
                rate_limit: args.rate_limit,
                budget: args.budget,
                sandbox_process: args.sandbox_process,
                config_text,
            })
            .await?;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            return Ok(());
        }
        Which::Limited => Scenario {
            name: "limited",
            companies: args.companies,
            rate_limit: Some(args.rate_limit),
            budget: args.budget,
            sandbox_process: args.sandbox_process,
            config_text: config_text.clone(),
            provider_limits: args.provider_limits,
        },
        Which::Lifted | Which::Fleet => Scenario {
            name: "lifted",
            companies: args.big_companies,
            rate_limit: None,
            budget: args.budget,
            sandbox_process: args.sandbox_process,
            config_text,
            provider_limits: args.provider_limits,
        },
    };
    let measured = scenario::run(scenario).await?;
    let text = report::render(&measured);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
