//! What every scenario needs: a sandbox CRM with provider emulators in this process, a
//! scratch directory for the state file and inputs, the built `firmo` binary run as a
//! child process, and readers for what it prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use firmo_sandbox::emulators::{ClayStats, EmulatorSettings};
use firmo_sandbox::{Company, Faults, SandboxConfig, SandboxHandle, SandboxState, Stats};
use serde_json::Value;
use tempfile::TempDir;

/// The bearer token the test sandboxes accept (not the default, so the token really travels
/// from `HUBSPOT_ACCESS_TOKEN` to the CRM).
pub(crate) const TOKEN: &str = "e2e-token";

/// Providers that answer one HTTP request per lookup step. Clay is counted by webhook rows
/// instead: each run also registers its callback with the emulator's table.
const HTTP_PROVIDERS: [&str; 3] = ["clearbit", "builtwith", "crunchbase"];

/// How long one `firmo` command may take before the test gives up on it.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// A sandbox CRM and the provider emulators, served from this test's runtime.
pub(crate) struct Sandbox {
    handle: SandboxHandle,
    clay: ClayStats,
}

impl Sandbox {
    /// `companies` demo companies (seed 0), no faults, no rate limits.
    pub(crate) async fn start(companies: usize) -> Sandbox {
        Sandbox::start_with(companies, Sandbox::emulators()).await
    }

    /// The emulators the scenarios use: no per-minute limits (the providers' limits are
    /// the emulators' own tests' business; here they would only add retries the request
    /// counts must not see).
    pub(crate) fn emulators() -> EmulatorSettings {
        EmulatorSettings {
            clearbit_rate_per_minute: 1_000_000,
            crunchbase_rate_per_minute: 1_000_000,
            ..EmulatorSettings::default()
        }
    }

    /// A sandbox with these emulator settings.
    pub(crate) async fn start_with(companies: usize, emulators: EmulatorSettings) -> Sandbox {
        let clay = emulators.clay_stats.clone();
        let config = SandboxConfig {
            token: TOKEN.into(),
            companies,
            emulators,
            ..SandboxConfig::default()
        };
        let handle = firmo_sandbox::start(config, "127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("the sandbox starts");
        Sandbox { handle, clay }
    }

    pub(crate) fn url(&self) -> String {
        self.handle.base_url()
    }

    /// The same sandbox spelt `http://localhost:PORT`: another URL for one portal, as a
    /// proxy or a config edit gives (localhost is 127.0.0.1 here).
    pub(crate) fn localhost_url(&self) -> String {
        format!("http://localhost:{}", self.handle.addr().port())
    }

    /// The sandbox's state: its fault injection (`storm`, `refuse_account_info`,
    /// `take_down`, `answer_wrong_shape`, `rotate_token`) and what it saw.
    pub(crate) fn state(&self) -> &SandboxState {
        self.handle.state()
    }

    pub(crate) fn stats(&self) -> Stats {
        self.handle.stats()
    }

    /// Requests the sandbox counted for an endpoint kind (`companies.batch_update`, `clearbit`…).
    pub(crate) fn requests(&self, kind: &str) -> u64 {
        self.stats().requests.get(kind).copied().unwrap_or(0)
    }

    /// What the providers were asked: HTTP requests per emulator, and Clay rows pushed.
    pub(crate) fn provider_requests(&self) -> BTreeMap<&'static str, u64> {
        let stats = self.stats();
        let mut out: BTreeMap<&'static str, u64> = HTTP_PROVIDERS
            .iter()
            .map(|p| (*p, stats.requests.get(*p).copied().unwrap_or(0)))
            .collect();
        out.insert("clay", self.clay.counts().rows_received);
        out
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        self.handle.set_faults(faults);
    }

    pub(crate) fn companies(&self) -> Vec<Company> {
        self.handle.companies()
    }

    pub(crate) fn company(&self, id: &str) -> Company {
        self.handle
            .company(id)
            .unwrap_or_else(|| panic!("the sandbox has no company {id}"))
    }

    /// Whether the portal has a company property of this name.
    pub(crate) fn has_property(&self, name: &str) -> bool {
        self.handle.state().property(name).is_some()
    }

    /// Sets properties through the HubSpot API, as a person editing the record would.
    pub(crate) async fn edit_company(&self, id: &str, properties: Value) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let response = reqwest::Client::new()
            .patch(format!("{}/crm/v3/objects/companies/{id}", self.url()))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({ "properties": properties }))
            .send()
            .await
            .expect("the sandbox answers");
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "PATCH company {id}: {status} {body}");
    }
    /// Creates a company through the HubSpot API, as a person would; returns its id.
    pub(crate) async fn create_company(&self, properties: Value) -> String {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let response = reqwest::Client::new()
            .post(format!("{}/crm/v3/objects/companies", self.url()))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({ "properties": properties }))
            .send()
            .await
            .expect("the sandbox answers");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        assert!(status.is_success(), "POST company: {status} {body}");
        body["id"]
            .as_str()
            .expect("the new company's id")
            .to_owned()
    }
}

/// A company's property value, `None` when unset or empty.
pub(crate) fn prop<'a>(company: &'a Company, name: &str) -> Option<&'a str> {
    company
        .properties
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// The `firmo_*` properties a company holds.
pub(crate) fn firmo_props(company: &Company) -> BTreeMap<&str, &str> {
    company
        .properties
        .iter()
        .filter(|(k, v)| k.starts_with("firmo_") && !v.is_empty())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// A scratch directory: the state file, configs and CSVs of one test.
pub(crate) struct Workspace {
    dir: TempDir,
}

impl Workspace {
    pub(crate) fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The state file most tests use.
    pub(crate) fn state(&self) -> PathBuf {
        self.path("state.db")
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("writing a test file");
        path
    }

    /// A config that lifts firmo's client-side CRM pacing (100 requests per 10 s, spread
    /// evenly): against a local sandbox it only makes the tests slow.
    pub(crate) fn fast_config(&self) -> PathBuf {
        self.write(
            "fast.toml",
            "[crm]\nrequests_per_10s = 10000\nsearch_per_second = 100\n",
        )
    }
}

/// How a `firmo` command ended.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    /// Stdout as JSON (`--json`).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The run summary `firmo sync --json` prints.
    pub(crate) fn summary(&self) -> Value {
        let json = self.json();
        assert!(
            json["summary"].is_object(),
            "no summary in {json:#}\nstderr:\n{}",
            self.stderr
        );
        json["summary"].clone()
    }

    /// Panics, showing what the command said, unless it exited with `code`.
    pub(crate) fn expect_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code,
            Some(code),
            "firmo exited with {:?}, expected {code}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The `firmo` command, isolated from the developer's environment and working directory.
pub(crate) fn command(ws: &Workspace, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_firmo"));
    cmd.args(args)
        .current_dir(ws.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for var in [
        "FIRMO_CONFIG",
        "FIRMO_STATE",
        "FIRMO_SANDBOX_URL",
        "FIRMO_SANDBOX_TOKEN",
        "FIRMO_LOG",
        "HUBSPOT_API_BASE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HUBSPOT_ACCESS_TOKEN", TOKEN);
    cmd
}

/// Runs `firmo args…` to its end (or panics after [`RUN_TIMEOUT`]).
pub(crate) async fn firmo(ws: &Workspace, args: &[&str]) -> Output {
    firmo_env(ws, args, &[]).await
}

/// [`firmo`] with these environment variables set (a rotated `HUBSPOT_ACCESS_TOKEN`).
pub(crate) async fn firmo_env(ws: &Workspace, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(ws, args);
    cmd.envs(env.iter().copied());
    let child = cmd.spawn().expect("the firmo binary starts");
    match tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(out)) => Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Ok(Err(e)) => panic!("waiting for firmo {args:?}: {e}"),
        // Dropping the future drops the child, which kills it.
        Err(tokio::time::error::Elapsed { .. }) => {
            panic!("firmo {args:?} still running after {RUN_TIMEOUT:?}")
        }
    }
}

/// The arguments of `firmo sync --json` against `sb`, with `config` and the workspace's
/// state file, plus `extra`.
pub(crate) fn sync_args(
    ws: &Workspace,
    sb: &Sandbox,
    config: Option<&Path>,
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    if let Some(config) = config {
        args.extend(["--config".into(), config.display().to_string()]);
    }
    args.extend([
        "--state".into(),
        ws.state().display().to_string(),
        "--json".into(),
        "sync".into(),
        "--crm".into(),
        "hubspot".into(),
        "--sandbox-url".into(),
        sb.url(),
    ]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// `firmo sync --json` with the fast config; returns the command's output.
pub(crate) async fn sync(ws: &Workspace, sb: &Sandbox, extra: &[&str]) -> Output {
    let config = ws.fast_config();
    let args = sync_args(ws, sb, Some(&config), extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    firmo(ws, &args).await
}

/// A counter of the summary (`/outcomes/written`, `/scanned`…).
pub(crate) fn count(summary: &Value, pointer: &str) -> u64 {
    summary
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("summary has no count at {pointer}: {summary:#}"))
}

/// Credits in the summary (`/credits`, `/planned_credits`).
pub(crate) fn credits(summary: &Value, pointer: &str) -> f64 {
    summary
        .pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("summary has no credits at {pointer}: {summary:#}"))
}

/// Whether an amount of credits is nothing (sums of nothing may print as `-0.0`).
pub(crate) fn is_zero(credits: f64) -> bool {
    credits.abs() < 1e-9
}

/// Every outcome counter of a summary, summed: one per account the run pulled.
pub(crate) fn outcomes_total(summary: &Value) -> u64 {
    ["written", "unchanged", "skipped", "rejected", "failed"]
        .iter()
        .map(|k| count(summary, &format!("/outcomes/{k}")))
        .sum()
}

/// Sum of a reason map (`skipped`, `failed`, `rejected`) whose key contains `needle`.
pub(crate) fn reasons(summary: &Value, map: &str, needle: &str) -> u64 {
    summary[map]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.contains(needle))
        .map(|(_, v)| v.as_u64().unwrap_or(0))
        .sum()
}

/// Polls `done` every few milliseconds until it holds, or panics naming `what` after
/// `within`.
pub(crate) async fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The companies that have a domain.
pub(crate) fn with_domain(companies: &[Company]) -> Vec<&Company> {
    companies
        .iter()
        .filter(|c| prop(c, "domain").is_some())
        .collect()
}
