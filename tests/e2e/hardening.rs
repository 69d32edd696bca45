//! Issue 10, the store/HTTP/connector half: overlapping runs, read-only state, interrupted
//! runs' credits, formula cells, Clay imports with nothing to import. Tests that need the
//! engine or CLI to call the new APIs are `#[ignore]`d with what they wait for.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use firmo_core::UnixMillis;
use firmo_store::{LockHolder, RunLock, RunOutcome, Store};

use crate::support::{Output, Sandbox, Workspace, command, firmo, sync, sync_args, wait_until};

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
    wait_until("paid lookups", Duration::from_mins(1), || {
        sb.provider_requests().values().sum::<u64>() >= 20
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
