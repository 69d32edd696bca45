//! The sandbox a scenario syncs against: in this process (the default, as `firmo sync
//! --sandbox` runs it), or in a child process (`--sandbox-process`) so that this
//! process's resident memory is the engine's alone and the sandbox's is measured apart.
//!
//! The child is this binary run with `--serve-sandbox`: it prints one JSON line with its
//! URL and token, serves until its stdin closes, then prints one JSON line with its
//! request counters and its own RSS, and exits.

use std::process::Stdio;

use anyhow::{Context as _, anyhow, bail};
use firmo_sandbox::{RateLimit, SandboxHandle, Stats};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use crate::mem::{self, Bytes, Rss};
use crate::scenario::sandbox_config;

/// The child's first line.
#[derive(Debug, Serialize, Deserialize)]
struct Ready {
    base_url: String,
    token: String,
}

/// The child's last line.
#[derive(Debug, Serialize, Deserialize)]
struct Finished {
    stats: Stats,
    rss_bytes: Option<u64>,
    peak_rss_bytes: Option<u64>,
}

pub(crate) enum SandboxLink {
    InProcess(SandboxHandle),
    Process(Box<SandboxProcess>),
}

impl SandboxLink {
    pub(crate) fn base_url(&self) -> String {
        match self {
            SandboxLink::InProcess(h) => h.base_url(),
            SandboxLink::Process(p) => p.ready.base_url.clone(),
        }
    }

    pub(crate) fn token(&self) -> String {
        match self {
            SandboxLink::InProcess(h) => h.token().to_owned(),
            SandboxLink::Process(p) => p.ready.token.clone(),
        }
    }

    /// Stops the sandbox; its counters, and its own RSS when it ran apart.
    pub(crate) async fn finish(self) -> anyhow::Result<(Stats, Option<Rss>)> {
        match self {
            SandboxLink::InProcess(handle) => {
                let stats = handle.stats();
                handle
                    .shutdown()
                    .await
                    .context("shutting the sandbox down")?;
                Ok((stats, None))
            }
            SandboxLink::Process(process) => process.finish().await,
        }
    }
}

pub(crate) struct SandboxProcess {
    child: Child,
    stdout: BufReader<ChildStdout>,
    ready: Ready,
}

impl SandboxProcess {
    pub(crate) async fn spawn(
        companies: usize,
        rate_limit: Option<RateLimit>,
        provider_limits: bool,
    ) -> anyhow::Result<SandboxProcess> {
        let exe = std::env::current_exe().context("finding this binary to run the sandbox")?;
        let mut command = Command::new(exe);
        command
            .arg("--serve-sandbox")
            .arg("--companies")
            .arg(companies.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(limit) = rate_limit {
            command.arg("--rate-limit").arg(format!(
                "{}/{}ms",
                limit.max_requests,
                limit.interval.as_millis()
            ));
        } else {
            command.arg("--no-rate-limit");
        }
        if provider_limits {
            command.arg("--provider-limits");
        }
        let mut child = command.spawn().context("spawning the sandbox child")?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("the sandbox child has no stdout"))?;
        let mut stdout = BufReader::new(stdout);
        let ready: Ready = read_line(&mut stdout, "its address").await?;
        Ok(SandboxProcess {
            child,
            stdout,
            ready,
        })
    }

    async fn finish(mut self) -> anyhow::Result<(Stats, Option<Rss>)> {
        // Closing stdin is the child's signal to report and stop.
        drop(self.child.stdin.take());
        let finished: Finished = read_line(&mut self.stdout, "its counters").await?;
        let status = self
            .child
            .wait()
            .await
            .context("waiting for the sandbox child")?;
        if !status.success() {
            bail!("the sandbox child exited with {status}");
        }
        let rss = match (finished.rss_bytes, finished.peak_rss_bytes) {
            (Some(current), Some(peak)) => Some(Rss {
                current: Bytes(current),
                peak: Bytes(peak),
            }),
            _ => None,
        };
        Ok((finished.stats, rss))
    }
}

async fn read_line<T: serde::de::DeserializeOwned>(
    stdout: &mut BufReader<ChildStdout>,
    what: &str,
) -> anyhow::Result<T> {
    let mut line = String::new();
    let n = stdout
        .read_line(&mut line)
        .await
        .with_context(|| format!("reading {what} from the sandbox child"))?;
    if n == 0 {
        bail!("the sandbox child exited before sending {what}");
    }
    serde_json::from_str(&line)
        .with_context(|| format!("the sandbox child's line with {what} is not valid JSON"))
}

/// The child's side: serve a sandbox until stdin closes.
pub(crate) async fn serve(
    companies: usize,
    rate_limit: Option<RateLimit>,
    provider_limits: bool,
) -> anyhow::Result<()> {
    let handle = firmo_sandbox::start(
        sandbox_config(companies, rate_limit, provider_limits),
        "127.0.0.1:0".parse().expect("a valid socket address"),
    )
    .await
    .context("starting the sandbox")?;
    let mut out = tokio::io::stdout();
    let ready = Ready {
        base_url: handle.base_url(),
        token: handle.token().to_owned(),
    };
    out.write_all(format!("{}\n", serde_json::to_string(&ready)?).as_bytes())
        .await?;
    out.flush().await?;
    // Serve until the parent closes our stdin (or dies).
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    let stats = handle.stats();
    let rss = mem::own();
    handle.shutdown().await.context("stopping the sandbox")?;
    let finished = Finished {
        stats,
        rss_bytes: rss.map(|r| r.current.0),
        peak_rss_bytes: rss.map(|r| r.peak.0),
    };
    out.write_all(format!("{}\n", serde_json::to_string(&finished)?).as_bytes())
        .await?;
    out.flush().await?;
    Ok(())
}
