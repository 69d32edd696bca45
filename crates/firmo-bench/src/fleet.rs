//! The fleet benchmark (issue 15): `--fleet-portals` portals × `--fleet-companies`
//! companies, each portal its own sandbox under HubSpot's burst limit, all seeded alike so
//! every portal shares its domains with the others (an agency's clients in one market).
//!
//! Runs, each on fresh sandboxes (so the emulators' credit counters are the run's own):
//! - **one process, a state per portal**: `firmo sync` per portal, one after the other,
//!   each with its own SQLite file (today's way: nothing shared);
//! - **one process, one state**: the same, all on one SQLite file (the cache shared);
//! - **fleet, 1, 2 and 4 workers**: `firmo fleet add` per portal, `fleet schedule`, then
//!   that many `firmo worker --exit-when-idle` processes on a PostgreSQL state.
//!
//! Wall time is from the first process started to the last ended; credits are what the
//! emulators billed. Needs the `firmo` binary (`--firmo`, default: beside this one) and a
//! PostgreSQL server (`--state`, default `FIRMO_TEST_POSTGRES`, as `scripts/pg.sh` sets):
//!
//! ```text
//! cargo build --release -p firmo-cli -p firmo-bench
//! scripts/pg.sh target/release/firmo-bench --only fleet --fleet-portals 3
//! ```

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use firmo_sandbox::emulators::{EmulatorSettings, RequestLog};
use firmo_sandbox::{RateLimit, SandboxConfig, SandboxHandle};

/// What one run measured.
struct Measured {
    name: String,
    wall: Duration,
    credits: f64,
    max_in_window: u32,
    rate_limited: u64,
}

pub(crate) struct FleetBench {
    pub(crate) portals: usize,
    pub(crate) companies: usize,
    pub(crate) rate_limit: RateLimit,
    pub(crate) firmo: Option<PathBuf>,
    pub(crate) state: Option<String>,
}

struct Portals {
    handles: Vec<SandboxHandle>,
    logs: Vec<RequestLog>,
}

async fn start_portals(bench: &FleetBench) -> anyhow::Result<Portals> {
    let mut handles = Vec::new();
    let mut logs = Vec::new();
    for i in 0..bench.portals {
        let emulators = EmulatorSettings {
            clearbit_rate_per_minute: 1_000_000,
            crunchbase_rate_per_minute: 1_000_000,
            ..EmulatorSettings::default()
        };
        logs.push(emulators.requests.clone());
        let config = SandboxConfig {
            token: format!("bench-token-{i}"),
            companies: bench.companies,
            portal_id: 5000 + i as u64,
            rate_limit: Some(bench.rate_limit),
            emulators,
            ..SandboxConfig::default()
        };
        let handle = firmo_sandbox::start(config, "127.0.0.1:0".parse()?)
            .await
            .context("starting a portal's sandbox")?;
        handles.push(handle);
    }
    Ok(Portals { handles, logs })
}

impl Portals {
    fn measure(&self, name: String, wall: Duration) -> Measured {
        let credits = self
            .logs
            .iter()
            .map(|log| {
                ["clearbit", "builtwith", "crunchbase"]
                    .iter()
                    .map(|p| log.credits(p))
                    .sum::<f64>()
            })
            .sum();
        let stats: Vec<_> = self.handles.iter().map(SandboxHandle::stats).collect();
        Measured {
            name,
            wall,
            credits,
            max_in_window: stats.iter().map(|s| s.max_in_window).max().unwrap_or(0),
            rate_limited: stats.iter().map(|s| s.total_429).sum(),
        }
    }

    async fn shutdown(self) {
        for h in self.handles {
            let _ = h.shutdown().await;
        }
    }
}

fn token_var(i: usize) -> String {
    format!("FIRMO_BENCH_TOKEN_{i}")
}

/// `firmo ARGS…` with every portal's token in the environment, output kept for errors.
fn firmo(bin: &Path, dir: &Path, portals: usize, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .env_remove("FIRMO_STATE")
        .env_remove("FIRMO_CONFIG");
    for i in 0..portals {
        cmd.env(token_var(i), format!("bench-token-{i}"));
    }
    cmd
}

async fn check(mut cmd: tokio::process::Command, what: &str) -> anyhow::Result<()> {
    let out = cmd
        .output()
        .await
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

async fn fresh_schema(base: &str, name: &str) -> anyhow::Result<String> {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .context("connecting to the benchmark's PostgreSQL")?;
    tokio::spawn(conn);
    let schema = format!("bench_{name}_{}", std::process::id());
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .context("creating the run's schema")?;
    Ok(format!("{base}?options=-csearch_path%3D{schema}"))
}

/// Each run's figures on stderr as it ends: a long benchmark cut short keeps them.
fn progress(results: &[Measured]) {
    if let Some(m) = results.last() {
        let _ = writeln!(
            std::io::stderr(),
            "{}: {:.1} s, {:.0} credits",
            m.name,
            m.wall.as_secs_f64(),
            m.credits
        );
    }
}

pub(crate) async fn run(bench: &FleetBench) -> anyhow::Result<String> {
    let bin = match &bench.firmo {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("firmo"),
    };
    if !bin.exists() {
        bail!(
            "no firmo binary at {} (build it: cargo build --release -p firmo-cli, or pass --firmo)",
            bin.display()
        );
    }
    let base = bench
        .state
        .clone()
        .or_else(|| firmo_sandbox::env_var("FIRMO_TEST_POSTGRES"))
        .context("no PostgreSQL: pass --state postgres://… or run under scripts/pg.sh")?;
    let dir = tempfile::tempdir()?;
    // Clay answers through callbacks to each process: left out so every run buys the
    // same lookups from the same three HTTP providers.
    let config = dir.path().join("portal.toml");
    std::fs::write(
        &config,
        "[crm]\nrequests_per_10s = 100\n[sources.clay]\nenabled = false\n[budget]\nmax_credits_per_run = 1e12\n",
    )?;
    let config = config.display().to_string();
    let n = bench.portals;
    let mut results = Vec::new();

    for shared in [false, true] {
        let portals = start_portals(bench).await?;
        let start = Instant::now();
        for (i, h) in portals.handles.iter().enumerate() {
            let state = if shared {
                "shared.db".to_owned()
            } else {
                format!("portal-{i}.db")
            };
            let mut cmd = firmo(
                &bin,
                dir.path(),
                n,
                &[
                    "--config",
                    &config,
                    "--state",
                    &state,
                    "sync",
                    "--crm",
                    "hubspot",
                    "--sandbox-url",
                    &h.base_url(),
                ],
            );
            cmd.env("HUBSPOT_ACCESS_TOKEN", format!("bench-token-{i}"));
            check(cmd, "firmo sync").await?;
        }
        let name = if shared {
            "1 process, one SQLite state"
        } else {
            "1 process, a SQLite state per portal"
        };
        results.push(portals.measure(name.to_owned(), start.elapsed()));
        progress(&results);
        portals.shutdown().await;
    }

    for workers in [1usize, 2, 4] {
        let portals = start_portals(bench).await?;
        let state = fresh_schema(&base, &format!("w{workers}")).await?;
        for (i, h) in portals.handles.iter().enumerate() {
            let (name, var, url) = (format!("portal-{i}"), token_var(i), h.base_url());
            let cmd = firmo(
                &bin,
                dir.path(),
                n,
                &[
                    "--config",
                    &config,
                    "--state",
                    &state,
                    "fleet",
                    "add",
                    &name,
                    "--crm",
                    "hubspot",
                    "--token-env",
                    &var,
                    "--sandbox-url",
                    &url,
                ],
            );
            check(cmd, "firmo fleet add").await?;
        }
        check(
            firmo(
                &bin,
                dir.path(),
                n,
                &["--state", &state, "fleet", "schedule"],
            ),
            "firmo fleet schedule",
        )
        .await?;
        let start = Instant::now();
        let children: Vec<_> = (0..workers)
            .map(|_| {
                firmo(
                    &bin,
                    dir.path(),
                    n,
                    &[
                        "--state",
                        &state,
                        "worker",
                        "--exit-when-idle",
                        "--poll",
                        "1",
                    ],
                )
                .spawn()
            })
            .collect::<Result<_, _>>()?;
        for child in children {
            let out = child.wait_with_output().await?;
            if !out.status.success() {
                bail!(
                    "a worker exited with {}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        let label = format!(
            "fleet, {workers} worker{}",
            if workers == 1 { "" } else { "s" }
        );
        results.push(portals.measure(label, start.elapsed()));
        progress(&results);
        portals.shutdown().await;
    }

    let mut text = format!(
        "fleet: {n} portals × {} companies, each portal's sandbox at {}/{} ms, domains shared by every portal\n\n",
        bench.companies,
        bench.rate_limit.max_requests,
        bench.rate_limit.interval.as_millis()
    );
    let _ = writeln!(
        text,
        "{:<38} {:>9} {:>10} {:>14} {:>5}",
        "run", "wall (s)", "credits", "max in window", "429s"
    );
    for m in &results {
        let _ = writeln!(
            text,
            "{:<38} {:>9.1} {:>10.0} {:>14} {:>5}",
            m.name,
            m.wall.as_secs_f64(),
            m.credits,
            m.max_in_window,
            m.rate_limited
        );
    }
    Ok(text)
}
