//! Issue 10: firmo against faults and bad input, one test per finding (overlapping runs,
//! a portal reached another way, kill -9, wrong-shape answers, formula cells, budgets,
//! bad config, unsolicited callbacks, 429 storms) and the error-reporting items.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use firmo_core::UnixMillis;
use firmo_store::{LockHolder, LookupStatus, RunLock, RunOutcome, Store};
use serde_json::Value;

use crate::support::{
    Output, Sandbox, TOKEN, Workspace, command, count, firmo, firmo_env, prop, reasons, sync,
    sync_args, wait_until, with_domain,
};

/// Runs firmo as `nobody` (uid 65534): root ignores file modes, so only an unprivileged
/// user meets a state file and directory it may not write.
async fn firmo_as_nobody(ws: &Workspace, args: &[&str]) -> Output {
    let mut cmd = command(ws, args);
    cmd.uid(65_534).gid(65_534);
    let out = cmd
        .spawn()
        .expect("firmo starts as nobody")
        .wait_with_output()
        .await
        .expect("firmo ends");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn holder() -> LockHolder {
    LockHolder::this_process("firmo sync (the e2e holder)", UnixMillis(0))
}

/// Finding 1: a second run on one state file exits 1 naming the holder and the file, and
/// pays for nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_a_locked_state_exits_1_naming_the_holder() {
    let sb = Sandbox::start(10).await;
    let ws = Workspace::new();
    let _held = RunLock::acquire(&ws.state(), &holder()).unwrap();
    let out = sync(&ws, &sb, &[]).await;
    out.expect_code(1);
    let state = ws.state().display().to_string();
    assert!(
        out.stderr.contains(&state) && out.stderr.contains("the e2e holder"),
        "the error names the state file and the holder:\n{}",
        out.stderr
    );
    assert!(
        sb.provider_requests().values().all(|n| *n == 0),
        "a refused run paid for lookups: {:?}",
        sb.provider_requests()
    );
}

/// Read-only commands never wait for, or take, the run lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_command_works_while_a_run_holds_the_lock() {
    let sb = Sandbox::start(10).await;
    let ws = Workspace::new();
    sync(&ws, &sb, &[]).await.expect_code(0);
    let _held = RunLock::acquire(&ws.state(), &holder()).unwrap();
    let state = ws.state().display().to_string();
    let out = firmo(&ws, &["--state", &state, "--json", "report"]).await;
    out.expect_code(0);
}

/// Finding 13: `report` and `sync --dry-run` work on a state file and directory the user
/// may not write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_and_dry_run_work_on_a_read_only_state() {
    let sb = Sandbox::start(10).await;
    let ws = Workspace::new();
    sync(&ws, &sb, &[]).await.expect_code(0);
    let state = ws.state();
    let dir = state.parent().unwrap().to_path_buf();
    let config = ws.fast_config();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let before = std::fs::read(&state).unwrap();

    let state_arg = state.display().to_string();
    let report = firmo_as_nobody(&ws, &["--state", &state_arg, "--json", "report"]).await;
    let args = sync_args(&ws, &sb, Some(&config), &["--dry-run"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let dry_run = firmo_as_nobody(&ws, &args).await;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();

    report.expect_code(0);
    dry_run.expect_code(0);
    assert_eq!(
        std::fs::read(&state).unwrap(),
        before,
        "the state file changed"
    );
}

/// Finding 12: a run killed halfway shows the credits it spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_reports_the_credits_it_spent() {
    let sb = Sandbox::start(400).await;
    let ws = Workspace::new();
    let config = ws.fast_config();
    let args = sync_args(&ws, &sb, Some(&config), &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = command(&ws, &args).spawn().expect("firmo starts");
    // Killed once some paid answers are in the state file (read beside the run, as WAL
    // allows): lookups batch several domains a request, so request counts alone say
    // nothing about what is stored.
    let state = ws.state();
    wait_until("paid answers stored", Duration::from_mins(1), || {
        sb.provider_requests().values().sum::<u64>() >= 20
            && Store::open_read_only(&state)
                .ok()
                .and_then(|s| s.cache_summary().ok())
                .is_some_and(|c| c.iter().map(|c| c.credits).sum::<f64>() >= 10.0)
    })
    .await;
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("firmo ends");

    let store = Store::open_read_only(ws.state()).unwrap();
    let run = store.list_runs(1).unwrap().remove(0);
    assert_eq!(run.outcome, RunOutcome::Interrupted);
    assert!(run.credits > 0.0, "the interrupted run shows 0 credits");
    let cached: f64 = store
        .cache_summary()
        .unwrap()
        .iter()
        .map(|c| c.credits)
        .sum();
    assert!(
        (cached - run.credits).abs() < 1e-9,
        "the run's ledger ({}) and the cache ({cached}) disagree",
        run.credits
    );
}

/// Finding 6: formula cells from the input are neutralised in `enrich`'s output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_output_neutralises_formula_cells() {
    let sb = Sandbox::start(5).await;
    let ws = Workspace::new();
    let company = sb
        .companies()
        .into_iter()
        .find(|c| crate::support::prop(c, "domain").is_some())
        .unwrap();
    let domain = crate::support::prop(&company, "domain").unwrap().to_owned();
    let input = ws.write(
        "accounts.csv",
        &format!("account_id,account_name,domain\n1,\"=HYPERLINK(\"\"http://x\"\")\",{domain}\n"),
    );
    let output = ws.path("enriched.csv");
    let (input_arg, output_arg) = (input.display().to_string(), output.display().to_string());
    let state = ws.state().display().to_string();
    let url = sb.url();
    firmo(
        &ws,
        &[
            "--state",
            &state,
            "enrich",
            "--sandbox-url",
            &url,
            "--input",
            &input_arg,
            "--output",
            &output_arg,
        ],
    )
    .await
    .expect_code(0);
    let text = std::fs::read_to_string(&output).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let name = headers.iter().position(|h| h == "account_name").unwrap();
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[name], "'=HYPERLINK(\"http://x\")", "{text}");
    for cell in &row {
        assert!(
            !cell.starts_with(['=', '+', '@']),
            "a formula cell reached the output: {cell:?}"
        );
    }
}

/// Finding 5: an export with a domain but no enrichment column is refused (exit 2) with
/// the recognised columns, and nothing is cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clay_import_without_enrichment_columns_is_refused() {
    let ws = Workspace::new();
    let file = ws.write(
        "clay.csv",
        "domain,account_id,notes\nacme.example,1,x\nbeta.example,2,y\n",
    );
    let (file_arg, state) = (file.display().to_string(), ws.state().display().to_string());
    let out = firmo(&ws, &["--state", &state, "import", "clay", &file_arg]).await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("no enrichment column")
            && out.stderr.contains("employee count")
            && out.stderr.contains(&file_arg),
        "{}",
        out.stderr
    );
    if ws.state().exists() {
        let store = Store::open_read_only(ws.state()).unwrap();
        assert_eq!(store.get_lookup("clay", "acme.example").unwrap(), None);
    }
}

/// Finding 8: providers that refuse their credentials stop the run's exit code at 1,
/// naming them, while the provider that works still enriches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_provider_credentials_exit_1_naming_them() {
    let emulators = firmo_sandbox::emulators::EmulatorSettings {
        clearbit_key: "another-clearbit-key".into(),
        builtwith_key: "another-builtwith-key".into(),
        crunchbase_key: "another-crunchbase-key".into(),
        ..Sandbox::emulators()
    };
    let sb = Sandbox::start_with(10, emulators).await;
    let ws = Workspace::new();
    let out = sync(&ws, &sb, &[]).await;
    out.expect_code(1);
    for name in ["clearbit", "builtwith", "crunchbase"] {
        assert!(
            out.stderr.contains(name),
            "{name} not named:\n{}",
            out.stderr
        );
    }
    assert!(
        !out.stderr.contains("clay,") && !out.stderr.ends_with("clay\n"),
        "{}",
        out.stderr
    );
}

/// The headcount firmo wrote and the source it names for it, per company.
fn headcounts(sb: &Sandbox) -> BTreeMap<String, (Option<String>, Option<String>)> {
    sb.companies()
        .into_iter()
        .map(|c| {
            let source = prop(&c, "firmo_sources").and_then(|s| {
                s.split(';')
                    .find_map(|e| e.strip_prefix("headcount=").map(str::to_owned))
            });
            (
                c.id.clone(),
                (prop(&c, "firmo_headcount").map(str::to_owned), source),
            )
        })
        .collect()
}

/// A sync with Clay down: headcounts come from Clearbit (firmo writes them, and fills the
/// empty `numberofemployees`). Returns the companies whose `numberofemployees` was empty.
async fn degraded_sync(sb: &Sandbox, ws: &Workspace) -> Vec<String> {
    let empty: Vec<String> = with_domain(&sb.companies())
        .into_iter()
        .filter(|c| prop(c, "numberofemployees").is_none())
        .map(|c| c.id.clone())
        .collect();
    sb.state().take_down("clay");
    let out = sync(ws, sb, &[]).await;
    assert!(matches!(out.code, Some(0 | 1)), "{out:?}");
    let summary = out.summary();
    assert!(count(&summary, "/outcomes/written") > 0, "{summary:#}");
    sb.state().bring_up("clay");
    empty
}

/// After a full run with Clay back: every headcount Clay answers is Clay's, in
/// `firmo_headcount` and in the built-in firmo filled, and nothing was kept as a human
/// edit. Returns how many companies' headcount moved from Clearbit's value to Clay's.
fn assert_clay_took_over(
    sb: &Sandbox,
    before: &BTreeMap<String, (Option<String>, Option<String>)>,
    filled: &[String],
    summary: &Value,
) -> usize {
    assert_eq!(
        reasons(summary, "skipped", "human"),
        0,
        "firmo's own values were kept as human edits: {summary:#}"
    );
    let after = headcounts(sb);
    let mut moved = 0;
    for (id, (value, source)) in &after {
        let (old_value, old_source) = &before[id];
        // Where Clay's headcount differs from Clearbit's, the value firmo wrote moved.
        if old_source.as_deref() == Some("clearbit")
            && source.as_deref() == Some("clay")
            && value != old_value
        {
            moved += 1;
        }
        if filled.contains(id) && source.is_some() {
            let c = sb.company(id);
            assert_eq!(
                prop(&c, "numberofemployees"),
                value.as_deref(),
                "{id}: numberofemployees kept the value firmo wrote in the degraded run"
            );
        }
    }
    moved
}

/// Finding 7: a built-in firmo filled "where empty" in a degraded run is firmo's to update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_built_in_filled_in_a_degraded_run_follows_the_full_run() {
    let sb = Sandbox::start(30).await;
    let ws = Workspace::new();
    let filled = degraded_sync(&sb, &ws).await;
    let before = headcounts(&sb);
    let out = sync(&ws, &sb, &["--full"]).await;
    out.expect_code(0);
    let moved = assert_clay_took_over(&sb, &before, &filled, &out.summary());
    assert!(
        moved > 0,
        "no headcount moved from Clearbit to Clay: {before:?}"
    );
}

/// Finding 2: the same portal through `localhost`, with a rotated token and account-info
/// refused (403), is the same portal: firmo's earlier values are still firmo's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_url_and_a_rotated_token_keep_the_portal_and_its_journal() {
    let sb = Sandbox::start(30).await;
    let ws = Workspace::new();
    let filled = degraded_sync(&sb, &ws).await;
    let before = headcounts(&sb);
    let first_portal = Store::open_read_only(ws.state())
        .unwrap()
        .list_runs(1)
        .unwrap()[0]
        .portal
        .clone();

    sb.state().refuse_account_info(403);
    sb.state().rotate_token("e2e-rotated-token").unwrap();
    let config = ws.fast_config();
    let mut args = sync_args(&ws, &sb, Some(&config), &["--full"]);
    let url = args.iter().position(|a| *a == sb.url()).unwrap();
    args[url] = sb.localhost_url();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = firmo_env(&ws, &args, &[("HUBSPOT_ACCESS_TOKEN", "e2e-rotated-token")]).await;
    out.expect_code(0);
    let summary = out.summary();
    assert_eq!(
        summary["portal"].as_str(),
        first_portal.as_deref(),
        "{summary:#}"
    );
    assert!(
        sb.requests("account_info.details") >= 2,
        "account-info was not asked"
    );
    let moved = assert_clay_took_over(&sb, &before, &filled, &summary);
    assert!(
        moved > 0,
        "no headcount moved from Clearbit to Clay: {before:?}"
    );
    assert_ne!(TOKEN, "e2e-rotated-token");
}

/// `accounts.csv` of the sandbox's companies that have a domain; returns its path.
fn accounts_csv(ws: &Workspace, sb: &Sandbox) -> std::path::PathBuf {
    let mut text = String::from("account_id,account_name,domain\n");
    for c in with_domain(&sb.companies()) {
        let _ = writeln!(
            text,
            "{},{},{}",
            c.id,
            prop(c, "name").unwrap_or("x").replace(',', " "),
            prop(c, "domain").unwrap()
        );
    }
    ws.write("accounts.csv", &text)
}

/// `firmo enrich` of `input` into `enriched.csv`, with `config`; `json` adds `--json`.
async fn enrich(ws: &Workspace, sb: &Sandbox, config: &std::path::Path, json: bool) -> Output {
    let input = ws.path("accounts.csv").display().to_string();
    let output = ws.path("enriched.csv").display().to_string();
    let (config, state, url) = (
        config.display().to_string(),
        ws.state().display().to_string(),
        sb.url(),
    );
    let mut args = vec!["--config", &config, "--state", &state];
    if json {
        args.push("--json");
    }
    args.extend([
        "enrich",
        "--sandbox-url",
        &url,
        "--input",
        &input,
        "--output",
        &output,
    ]);
    firmo(ws, &args).await
}

/// Finding 9: rows past the credit budget say "deferred: over budget", the summary counts
/// them and names the budget, and the exit code is 0 (the budget did its job; README).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_past_the_budget_defers_rows_and_says_so() {
    let sb = Sandbox::start(40).await;
    let ws = Workspace::new();
    accounts_csv(&ws, &sb);
    let config = ws.write("budget.toml", "[budget]\nmax_credits_per_run = 3\n");
    let out = enrich(&ws, &sb, &config, true).await;
    out.expect_code(0);
    let json = out.json();
    let text = std::fs::read_to_string(ws.path("enriched.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let status = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "firmo_status")
        .unwrap();
    let statuses: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[status].to_owned())
        .collect();
    let deferred = statuses
        .iter()
        .filter(|s| *s == "deferred: over budget")
        .count() as u64;
    assert!(
        deferred * 2 > statuses.len() as u64,
        "a budget of 3 credits deferred only {deferred} of {} rows: {statuses:?}",
        statuses.len()
    );
    assert_eq!(json["deferred"].as_u64(), Some(deferred), "{json:#}");
    assert_eq!(
        json["counts"]["deferred: over budget"].as_u64(),
        Some(deferred)
    );
    assert_eq!(json["budget"]["max_credits_per_run"].as_f64(), Some(3.0));
    assert!(json["credits"].as_f64().unwrap() <= 3.0 + 1e-9, "{json:#}");

    // The table says it in words, naming the budget's key.
    let ws = Workspace::new();
    accounts_csv(&ws, &sb);
    let config = ws.write("budget.toml", "[budget]\nmax_credits_per_run = 3\n");
    let out = enrich(&ws, &sb, &config, false).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("over the run's credit budget of 3")
            && out.stdout.contains("max_credits_per_run"),
        "{}",
        out.stdout
    );
}

/// Finding 4: a provider answering 200 with a body of the wrong shape is not cached as a
/// found company; the next run asks again and gets the real answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_shape_answer_is_not_cached_as_found_and_is_asked_again() {
    let sb = Sandbox::start(20).await;
    let ws = Workspace::new();
    sb.state().answer_wrong_shape("clearbit");
    // Clearbit is asked about every domain (no waterfall), so each answer is a wrong one.
    let config = ws.write(
        "ask-everyone.toml",
        "[crm]\nrequests_per_10s = 10000\nsearch_per_second = 100\n[waterfall]\nenabled = false\n",
    );
    let args = sync_args(&ws, &sb, Some(&config), &[]);
    let out = firmo(&ws, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(matches!(out.code, Some(0 | 1)), "{out:?}");
    let first = out.summary();
    let asked = first["providers"]["clearbit"]["lookups"].as_u64().unwrap();
    assert!(asked > 0, "{first:#}");
    assert_eq!(
        first["providers"]["clearbit"]["found"].as_u64(),
        Some(0),
        "{first:#}"
    );
    let domains: Vec<String> = with_domain(&sb.companies())
        .iter()
        .map(|c| firmo_core::normalize::domain(prop(c, "domain").unwrap()).unwrap())
        .collect();
    let status = |state: &std::path::Path, domain: &str| {
        Store::open_read_only(state)
            .unwrap()
            .get_lookup("clearbit", domain)
            .unwrap()
            .map(|entry| entry.status)
    };
    let refused: Vec<&String> = domains
        .iter()
        .filter(|d| status(&ws.state(), d) == Some(LookupStatus::Error))
        .collect();
    assert!(
        refused.len() * 2 > domains.len(),
        "only {} of {} wrong-shape answers were stored as errors",
        refused.len(),
        domains.len()
    );
    for d in &domains {
        assert_ne!(status(&ws.state(), d), Some(LookupStatus::Hit), "{d}");
    }

    sb.state().clear_injections();
    let again = sync_args(&ws, &sb, Some(&config), &["--full"]);
    let out = firmo(&ws, &again.iter().map(String::as_str).collect::<Vec<_>>()).await;
    out.expect_code(0);
    let second = out.summary();
    assert!(
        second["providers"]["clearbit"]["lookups"].as_u64().unwrap() >= refused.len() as u64,
        "{second:#}"
    );
    for d in refused {
        assert_eq!(
            status(&ws.state(), d),
            Some(LookupStatus::Hit),
            "{d}: asked again, Clearbit knows it"
        );
    }
}

/// Finding 10: each config number out of its range stops the run before any call, exit 2,
/// naming the file and the key (and `--json` says so on stdout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_config_number_exits_2_naming_file_and_key() {
    let sb = Sandbox::start(5).await;
    let cases = [
        (
            "[sources.clearbit]\ncost_per_lookup = -1.0\n",
            "sources.clearbit.cost_per_lookup",
        ),
        (
            "[sources.crunchbase]\nrequests_per_minute = 0\n",
            "sources.crunchbase.requests_per_minute",
        ),
        (
            "[quality]\nheadcount_disagreement_pct = -5.0\n",
            "quality.headcount_disagreement_pct",
        ),
        (
            "[clay]\ncallback_addr = \"localhost\"\n",
            "clay.callback_addr",
        ),
        (
            "[sources.clay]\npending_retry_minutes = 0\n",
            "sources.clay.pending_retry_minutes",
        ),
        (
            "[budget]\nmax_credits_per_run = -10.0\n",
            "budget.max_credits_per_run",
        ),
        ("[crm]\nrequests_per_10s = 0\n", "crm.requests_per_10s"),
    ];
    for (text, key) in cases {
        let ws = Workspace::new();
        let config = ws.write("firmo.toml", text);
        let args = sync_args(&ws, &sb, Some(&config), &[]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = firmo(&ws, &args).await;
        out.expect_code(2);
        let file = config.display().to_string();
        assert!(
            out.stderr.contains(&format!("{file}: {key}: ")),
            "{key} not named with its file:\n{}",
            out.stderr
        );
        let json = out.json();
        assert_eq!(json["error"]["exit_code"], 2, "{json:#}");
        assert!(
            json["error"]["message"].as_str().unwrap().contains(key),
            "{json:#}"
        );
    }
    assert_eq!(
        sb.stats().total_requests,
        0,
        "a refused config reached the sandbox"
    );
}

/// Finding 14: a 429 storm as long as the window the 429s state (HubSpot's 10 s, here a
/// short one) outlasts firmo's quick retries; the run pauses for the window and finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_as_long_as_the_window_is_survived() {
    let sb = Sandbox::start(30).await;
    let ws = Workspace::new();
    // Retry-After 0.2 s against a 2.5 s storm: seven quick retries end inside it.
    sb.state()
        .storm(3, Duration::from_millis(2_500), Duration::from_millis(200));
    let out = sync(&ws, &sb, &[]).await;
    out.expect_code(0);
    let summary = out.summary();
    let stats = sb.stats();
    assert!(
        stats
            .rate_limited
            .get("TEN_SECONDLY_ROLLING")
            .copied()
            .unwrap_or(0)
            > 0,
        "the storm never hit: {stats:?}"
    );
    assert_eq!(count(&summary, "/outcomes/failed"), 0, "{summary:#}");
    let written = count(&summary, "/outcomes/written");
    assert!(
        written * 10 >= with_domain(&sb.companies()).len() as u64 * 8,
        "{summary:#}"
    );
}

/// Finding 11: a row posted to the run's Clay callback with the right secret, for a domain
/// firmo pushed nobody, is refused (422) and never reaches the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsolicited_authenticated_clay_row_is_refused_and_not_stored() {
    let emulators = firmo_sandbox::emulators::EmulatorSettings {
        // Clay answers late, so the run is still waiting when the forged row comes.
        clay_callback_delay: Duration::from_secs(2),
        ..Sandbox::emulators()
    };
    let sb = Sandbox::start_with(10, emulators).await;
    let ws = Workspace::new();
    let config = ws.fast_config();
    let args = sync_args(&ws, &sb, Some(&config), &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = command(&ws, &args).spawn().expect("firmo starts");
    wait_until(
        "the run to push its first Clay row",
        Duration::from_secs(30),
        || sb.state().clay_registration().is_some() && sb.provider_requests()["clay"] > 0,
    )
    .await;
    let registration = sb.state().clay_registration().unwrap();
    let header = registration["callback_secret_header"].as_str().unwrap();
    let secret = registration["callback_secret"].as_str().unwrap();
    let url = registration["callback_url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .post(url)
        .header(header, secret)
        .json(&serde_json::json!({"domain": "nobody-asked.example", "employee count": 120}))
        .send()
        .await
        .expect("the receiver answers");
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["unsolicited"],
        serde_json::json!(["nobody-asked.example"])
    );

    let out = child.wait_with_output().await.expect("firmo ends");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open_read_only(ws.state()).unwrap();
    assert!(
        store
            .get_lookup("clay", "nobody-asked.example")
            .unwrap()
            .is_none()
    );
    let clay_hits = store
        .cache_summary()
        .unwrap()
        .iter()
        .filter(|c| c.provider == "clay" && c.status == LookupStatus::Hit)
        .map(|c| c.keys)
        .sum::<u64>();
    assert!(
        clay_hits > 0,
        "the rows firmo asked for were not stored either"
    );
}

/// A port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Also: a run that fails with `--json` still prints one JSON document on stdout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_prints_a_json_error() {
    let ws = Workspace::new();
    let url = format!("http://127.0.0.1:{}", closed_port());
    let state = ws.state().display().to_string();
    let config = ws.fast_config().display().to_string();
    let out = firmo(
        &ws,
        &[
            "--config",
            &config,
            "--state",
            &state,
            "--json",
            "sync",
            "--crm",
            "hubspot",
            "--sandbox-url",
            &url,
        ],
    )
    .await;
    out.expect_code(1);
    let json = out.json();
    assert_eq!(json["error"]["kind"], "run", "{json:#}");
    assert_eq!(json["error"]["exit_code"], 1);
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        !message.is_empty() && out.stderr.contains(message),
        "{json:#}\n{}",
        out.stderr
    );
}

/// Also: an error whose cause is printed by its wrapper too is said once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_chain_does_not_repeat_itself() {
    let ws = Workspace::new();
    let state = ws.write("state.db", &"this is not SQLite. ".repeat(400));
    let state = state.display().to_string();
    let out = firmo(&ws, &["--state", &state, "report"]).await;
    assert!(matches!(out.code, Some(1 | 2)), "{out:?}");
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    assert_eq!(line.matches("not a database").count(), 1, "{}", out.stderr);
    assert!(line.contains(&state), "{line}");
}

/// Also: a binary file given as CSV is described, not echoed back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_csv_is_described_not_echoed() {
    let sb = Sandbox::start(1).await;
    let ws = Workspace::new();
    // A zipped workbook's opening, then 50 KB that the CSV reader takes as one header
    // field: text with NUL bytes, no comma or line end.
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend((0..50_000u32).map(|i| {
        if i % 97 == 0 {
            0
        } else {
            b'a' + (i % 26) as u8
        }
    }));
    let input = ws.path("accounts.csv");
    std::fs::write(&input, &bytes).unwrap();
    let (input, output, state, url) = (
        input.display().to_string(),
        ws.path("out.csv").display().to_string(),
        ws.state().display().to_string(),
        sb.url(),
    );
    let out = firmo(
        &ws,
        &[
            "--state",
            &state,
            "enrich",
            "--sandbox-url",
            &url,
            "--input",
            &input,
            "--output",
            &output,
        ],
    )
    .await;
    out.expect_code(2);
    assert!(
        out.stderr.len() < 1_000,
        "{} bytes of error",
        out.stderr.len()
    );
    assert!(
        out.stderr.contains(&input) && out.stderr.contains("binary"),
        "{}",
        out.stderr
    );
}

/// Also: a 207 entry that refuses a record (no property named) is not called a
/// validation error of firmo's value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_is_labelled_by_what_it_is() {
    let sb = Sandbox::start(10).await;
    let ws = Workspace::new();
    let victim = with_domain(&sb.companies())[0].id.clone();
    sb.set_faults(firmo_sandbox::Faults {
        fail_ids: [victim.clone()].into(),
        ..firmo_sandbox::Faults::default()
    });
    let out = sync(&ws, &sb, &[]).await;
    out.expect_code(1);
    let summary = out.summary();
    assert_eq!(count(&summary, "/outcomes/failed"), 1, "{summary:#}");
    assert_eq!(
        summary["failed"],
        serde_json::json!({"record refused by the CRM": 1}),
        "{summary:#}"
    );
}

/// Each provider's credits per domain, from the cache: every domain charged once at most
/// means all charged domains of a provider carry the same amount.
fn assert_charged_once(state: &std::path::Path, domains: &[String]) {
    assert_providers_charged_once(
        state,
        domains,
        &["clearbit", "builtwith", "crunchbase", "clay"],
    );
}

/// Like [`assert_charged_once`], for some providers only.
fn assert_providers_charged_once(state: &std::path::Path, domains: &[String], providers: &[&str]) {
    let store = Store::open_read_only(state).unwrap();
    for &provider in providers {
        let charged: Vec<f64> = domains
            .iter()
            .filter_map(|d| store.get_lookup(provider, d).unwrap())
            .map(|e| e.credits)
            .filter(|c| *c > 1e-9)
            .collect();
        let least = charged.iter().copied().fold(f64::INFINITY, f64::min);
        let most = charged.iter().copied().fold(0.0, f64::max);
        assert!(
            charged.is_empty() || most - least < 1e-9,
            "{provider}: some domain was paid for twice (credits per domain {least} to {most})"
        );
    }
}

/// Finding 3: a run killed right after pushing Clay rows (their callbacks then meet a dead
/// receiver) and with Crunchbase lookups in flight: the next run pushes exactly those rows
/// again at once rather than waiting out the pending window, finishes every account, and
/// pays nothing else twice. Clay has no way to hand back a row whose callback failed other
/// than the row itself (its HTTP API column does not retry a refused call), so each
/// re-push is a second Clay row: billed, and counted as `repushed` in the summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_clay_pushes_is_finished_promptly_and_pays_again_only_for_lost_rows() {
    let emulators = firmo_sandbox::emulators::EmulatorSettings {
        // Callbacks come three seconds after each push: the kill lands before them.
        clay_callback_delay: Duration::from_secs(3),
        ..Sandbox::emulators()
    };
    let sb = Sandbox::start_with(40, emulators).await;
    let ws = Workspace::new();
    let domains: Vec<String> = with_domain(&sb.companies())
        .iter()
        .filter_map(|c| firmo_core::normalize::domain(prop(c, "domain").unwrap()).ok())
        .collect::<std::collections::BTreeSet<String>>()
        .into_iter()
        .collect();
    let config = ws.fast_config();
    let (config_arg, state_arg, url) = (
        config.display().to_string(),
        ws.state().display().to_string(),
        sb.url(),
    );
    let args = [
        "--config",
        &config_arg,
        "--state",
        &state_arg,
        "properties",
        "ensure",
        "--sandbox-url",
        &url,
    ];
    firmo(&ws, &args).await.expect_code(0);

    // Slow answers keep Crunchbase lookups in flight at the kill.
    sb.set_faults(firmo_sandbox::Faults {
        latency: Duration::from_millis(200),
        ..firmo_sandbox::Faults::default()
    });
    let args = sync_args(&ws, &sb, Some(&config), &[]);
    let mut child = command(&ws, &args.iter().map(String::as_str).collect::<Vec<_>>())
        .spawn()
        .expect("firmo starts");
    // Killed once some pushes are stored as pending: their rows are still on their way.
    let state = ws.state();
    wait_until("Clay rows pushed", Duration::from_secs(30), || {
        state.exists()
            && Store::open_read_only(&state).is_ok_and(|store| {
                domains.iter().any(|d| {
                    store
                        .get_lookup("clay", d)
                        .ok()
                        .flatten()
                        .is_some_and(|e| e.status == LookupStatus::Pending)
                })
            })
    })
    .await;
    child.kill().await.expect("SIGKILL");
    let pushed_before = sb.provider_requests()["clay"];
    let store = Store::open_read_only(ws.state()).unwrap();
    let pending: Vec<&String> = domains
        .iter()
        .filter(|d| {
            store
                .get_lookup("clay", d)
                .unwrap()
                .is_some_and(|e| e.status == LookupStatus::Pending)
        })
        .collect();
    drop(store);
    assert!(
        !pending.is_empty(),
        "no Clay push was pending at the kill: kill it earlier"
    );

    sb.set_faults(firmo_sandbox::Faults::default());
    let out = sync(&ws, &sb, &[]).await;
    out.expect_code(0);
    let summary = out.summary();
    assert_eq!(
        reasons(&summary, "skipped", "waiting"),
        0,
        "the restart waited on pushes the killed run made: {summary:#}"
    );
    assert_eq!(
        summary["providers"]["clay"]["repushed"].as_u64(),
        Some(pending.len() as u64),
        "the interrupted pushes were not each asked again once: {summary:#}"
    );
    assert!(
        sb.provider_requests()["clay"] - pushed_before >= pending.len() as u64,
        "the pending pushes were not asked again"
    );
    let store = Store::open_read_only(ws.state()).unwrap();
    for d in &pending {
        let entry = store.get_lookup("clay", d).unwrap();
        let status = entry.as_ref().map(|e| e.status);
        assert!(
            matches!(status, Some(LookupStatus::Hit | LookupStatus::Miss)),
            "{d}: {status:?} after the restart"
        );
    }
    // Every other Clay row was pushed once: one row's credits, as the re-pushed ones were
    // before their second push.
    let once: Vec<String> = domains
        .iter()
        .filter(|d| !pending.contains(d))
        .cloned()
        .collect();
    let per_row = store
        .get_lookup("clay", &once[0])
        .unwrap()
        .map_or(0.0, |e| e.credits);
    for d in &pending {
        let credits = store
            .get_lookup("clay", d)
            .unwrap()
            .map_or(0.0, |e| e.credits);
        assert!(
            (credits - 2.0 * per_row).abs() < 1e-9,
            "{d}: a re-pushed row should carry two rows' credits ({per_row} each), has {credits}"
        );
    }
    drop(store);
    assert_charged_once(&ws.state(), &once);
    assert_providers_charged_once(
        &ws.state(),
        &domains,
        &["clearbit", "builtwith", "crunchbase"],
    );
}

/// Finding 2, where nothing names the portal (account details and token info refused):
/// the key then follows the URL, and the journal recognises firmo's values written under
/// the earlier key by their value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unidentified_portal_reached_another_way_keeps_its_journal() {
    let sb = Sandbox::start(30).await;
    let ws = Workspace::new();
    sb.state().refuse_account_info(403);
    sb.state().refuse_token_info(400);
    let filled = degraded_sync(&sb, &ws).await;
    let before = headcounts(&sb);
    let config = ws.fast_config();
    let mut args = sync_args(&ws, &sb, Some(&config), &["--full"]);
    let url = args.iter().position(|a| *a == sb.url()).unwrap();
    args[url] = sb.localhost_url();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = firmo(&ws, &args).await;
    out.expect_code(0);
    let summary = out.summary();
    assert!(
        summary["portal"].as_str().unwrap().contains("localhost"),
        "the key is not the fallback: {summary:#}"
    );
    let moved = assert_clay_took_over(&sb, &before, &filled, &summary);
    assert!(
        moved > 0,
        "no headcount moved from Clearbit to Clay: {before:?}"
    );
}

/// Finding 2: a kept human edit is counted in the summary, per property, in `--json` and
/// in the table, not only logged at debug level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_human_edits_are_counted_in_the_summary() {
    let sb = Sandbox::start(10).await;
    let ws = Workspace::new();
    degraded_sync(&sb, &ws).await;
    let edited: Vec<String> = headcounts(&sb)
        .into_iter()
        .filter(|(_, (value, _))| value.is_some())
        .map(|(id, _)| id)
        .take(2)
        .collect();
    for id in &edited {
        sb.edit_company(id, serde_json::json!({"firmo_headcount": "4242"}))
            .await;
    }
    let out = sync(&ws, &sb, &["--full"]).await;
    out.expect_code(0);
    let summary = out.summary();
    assert_eq!(
        summary["human_edits_kept"]["firmo_headcount"].as_u64(),
        Some(edited.len() as u64),
        "{summary:#}"
    );
    for id in &edited {
        assert_eq!(prop(&sb.company(id), "firmo_headcount"), Some("4242"));
    }
    let config = ws.fast_config().display().to_string();
    let (state, url) = (ws.state().display().to_string(), sb.url());
    let table = firmo(
        &ws,
        &[
            "--config",
            &config,
            "--state",
            &state,
            "sync",
            "--crm",
            "hubspot",
            "--sandbox-url",
            &url,
            "--full",
        ],
    )
    .await;
    table.expect_code(0);
    assert!(
        table.stdout.contains("human edits kept") && table.stdout.contains("firmo_headcount"),
        "{}",
        table.stdout
    );
}
