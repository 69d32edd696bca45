//! `firmo doctor` against sandboxes set up as a healthy portal and as each problem a new
//! user meets: a wrong token, a token without a scope, a portal with no room for firmo's
//! properties, a provider without its key.

use firmo_sandbox::{DEFAULT_PORTAL_ID, DEFAULT_SCOPES, RateLimit, SandboxConfig, SandboxHandle};
use serde_json::Value;
use std::time::Duration;

use crate::support::{Output, TOKEN, Workspace, command};

/// A portal on a paid tier: HubSpot announces 190 requests per 10 s in its headers.
const PAID_TIER: RateLimit = RateLimit {
    max_requests: 190,
    interval: Duration::from_secs(10),
};

/// A sandbox with `change` applied to the e2e defaults (this test's token, few companies,
/// the paid tier's rate limit).
async fn sandbox(change: impl FnOnce(&mut SandboxConfig)) -> SandboxHandle {
    let mut config = SandboxConfig {
        token: TOKEN.into(),
        companies: 5,
        rate_limit: Some(PAID_TIER),
        ..SandboxConfig::default()
    };
    change(&mut config);
    firmo_sandbox::start(config, "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the sandbox starts")
}

/// `firmo --state … [--json] doctor` plus `extra`, with `env` set (a `None` value
/// removes the variable). The state file is the workspace's unless `globals` names one.
async fn doctor(
    ws: &Workspace,
    json: bool,
    extra: &[&str],
    env: &[(&str, Option<&str>)],
) -> Output {
    doctor_with_state(ws, &ws.state().display().to_string(), json, extra, env).await
}

async fn doctor_with_state(
    ws: &Workspace,
    state: &str,
    json: bool,
    extra: &[&str],
    env: &[(&str, Option<&str>)],
) -> Output {
    let mut args = vec!["--state", state];
    if json {
        args.push("--json");
    }
    args.push("doctor");
    args.extend_from_slice(extra);
    let mut cmd = command(ws, &args);
    for (var, value) in env {
        match value {
            Some(v) => cmd.env(var, v),
            None => cmd.env_remove(var),
        };
    }
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("firmo doctor ends within 90 s")
        .expect("the firmo binary runs");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The check named `name` in `--json` output.
fn check<'a>(checks: &'a Value, name: &str) -> &'a Value {
    checks
        .as_array()
        .expect("doctor --json prints an array")
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {checks:#}"))
}

fn status<'a>(checks: &'a Value, name: &str) -> &'a str {
    check(checks, name)["status"].as_str().unwrap_or_default()
}

fn text<'a>(checks: &'a Value, name: &str, field: &str) -> &'a str {
    check(checks, name)[field].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_is_ok_against_the_sandbox() {
    let sb = sandbox(|_| {}).await;
    let ws = Workspace::new();
    let url = sb.base_url();
    let out = doctor(&ws, true, &["--sandbox-url", &url], &[]).await;
    out.expect_code(0);
    let checks = out.json();
    let all = checks.as_array().unwrap();
    for c in all {
        assert_eq!(c["status"], "ok", "{c:#}\nstderr:\n{}", out.stderr);
        assert!(c["fix"].is_null(), "{c:#}");
    }
    let names: Vec<&str> = all.iter().filter_map(|c| c["check"].as_str()).collect();
    // The config's source order (the waterfall's), not the alphabet's.
    assert_eq!(
        names,
        [
            "token",
            "scopes",
            "rate_limit",
            "property_capacity",
            "provider.clay",
            "provider.clearbit",
            "provider.builtwith",
            "provider.crunchbase",
            "state_file",
        ]
    );
    assert!(
        text(&checks, "token", "detail").contains(&DEFAULT_PORTAL_ID.to_string()),
        "{checks:#}"
    );
    let rate = text(&checks, "rate_limit", "detail");
    assert!(
        rate.contains("190") && rate.contains("Professional"),
        "{rate}"
    );
    let room = text(&checks, "property_capacity", "detail");
    assert!(room.contains("of 1000"), "{room}");
    // Doctor looks and touches nothing: four reads of the CRM (account details, token
    // info, property list, limits), no property created, no state file made.
    let crm_calls: std::collections::BTreeMap<String, u64> = sb
        .stats()
        .requests
        .into_iter()
        .filter(|(kind, _)| {
            [
                "account_info",
                "oauth",
                "properties",
                "property_groups",
                "limits",
                "companies",
            ]
            .iter()
            .any(|p| kind.starts_with(p))
        })
        .collect();
    let expected: std::collections::BTreeMap<String, u64> = [
        ("account_info.details", 1),
        ("limits.get", 1),
        ("oauth.token_info", 1),
        ("properties.list", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(crm_calls, expected);
    assert!(sb.state().property("firmo_industry").is_none());
    assert!(!ws.state().exists(), "doctor created the state file");

    // The screen: one line per check, and the verdict.
    let screen = doctor(&ws, false, &["--sandbox-url", &url], &[]).await;
    screen.expect_code(0);
    let lines: Vec<&str> = screen
        .stdout
        .lines()
        .filter(|l| l.starts_with("  "))
        .collect();
    assert_eq!(lines.len(), names.len(), "{}", screen.stdout);
    assert!(
        lines.iter().all(|l| l.contains(" ok ")),
        "{}",
        screen.stdout
    );
    assert!(
        screen
            .stdout
            .contains(&format!("all {} checks ok", names.len())),
        "{}",
        screen.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_sandbox_passes_too() {
    // `--sandbox` announces no rate limit and has its own token: still every check ok.
    let ws = Workspace::new();
    let out = doctor(
        &ws,
        true,
        &["--sandbox", "--sandbox-companies", "5"],
        &[("HUBSPOT_ACCESS_TOKEN", None)],
    )
    .await;
    out.expect_code(0);
    let checks = out.json();
    assert!(
        checks
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "ok"),
        "{checks:#}"
    );
    assert!(text(&checks, "rate_limit", "detail").contains("announced none"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_named_without_being_shown() {
    let sb = sandbox(|_| {}).await;
    let ws = Workspace::new();
    let wrong = "pat-na1-0000-wrong-token-e2e";
    let out = doctor(
        &ws,
        true,
        &["--sandbox-url", &sb.base_url()],
        &[("HUBSPOT_ACCESS_TOKEN", Some(wrong))],
    )
    .await;
    out.expect_code(1);
    let checks = out.json();
    assert_eq!(status(&checks, "token"), "fail", "{checks:#}");
    assert!(
        text(&checks, "token", "detail").contains("refused"),
        "{checks:#}"
    );
    let fix = text(&checks, "token", "fix");
    assert!(
        fix.contains("HUBSPOT_ACCESS_TOKEN") && fix.contains("service key"),
        "{fix}"
    );
    // What depends on the token says it wasn't checked, rather than repeating the 401.
    for name in ["scopes", "rate_limit", "property_capacity"] {
        assert_eq!(status(&checks, name), "warn", "{checks:#}");
        assert!(text(&checks, name, "detail").contains("not checked"));
    }
    assert_eq!(status(&checks, "state_file"), "ok");
    assert!(
        !out.stdout.contains(wrong) && !out.stderr.contains(wrong),
        "the token leaked:\n{}\n{}",
        out.stdout,
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scope_is_named() {
    let sb = sandbox(|c| {
        c.token_scopes = DEFAULT_SCOPES
            .iter()
            .filter(|s| **s != "crm.schemas.companies.write")
            .map(|s| (*s).to_owned())
            .collect();
    })
    .await;
    let ws = Workspace::new();
    let out = doctor(&ws, true, &["--sandbox-url", &sb.base_url()], &[]).await;
    out.expect_code(1);
    let checks = out.json();
    assert_eq!(status(&checks, "token"), "ok", "{checks:#}");
    assert_eq!(status(&checks, "scopes"), "fail", "{checks:#}");
    let detail = text(&checks, "scopes", "detail");
    assert!(detail.contains("crm.schemas.companies.write"), "{detail}");
    assert!(!detail.contains("crm.objects.companies.read"), "{detail}");
    assert!(text(&checks, "scopes", "fix").contains("service key"));
    let open: Vec<&Value> = checks
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "ok")
        .collect();
    assert_eq!(open.len(), 1, "only the scope is wrong: {open:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_property_capacity_is_named_and_nothing_is_created() {
    // Room for two custom properties: firmo needs more than a dozen.
    let sb = sandbox(|c| c.custom_property_limit = 2).await;
    let ws = Workspace::new();
    let url = sb.base_url();
    let out = doctor(&ws, true, &["--sandbox-url", &url], &[]).await;
    out.expect_code(1);
    let checks = out.json();
    assert_eq!(status(&checks, "property_capacity"), "fail", "{checks:#}");
    let detail = text(&checks, "property_capacity", "detail");
    assert!(
        detail.contains("of 2 custom company properties left")
            && detail.contains("firmo_headcount"),
        "{detail}"
    );
    assert!(text(&checks, "property_capacity", "fix").contains("delete at least"));
    assert!(sb.state().property("firmo_headcount").is_none());

    // On the screen the failing line says what to do.
    let screen = doctor(&ws, false, &["--sandbox-url", &url], &[]).await;
    screen.expect_code(1);
    let line = screen
        .stdout
        .lines()
        .find(|l| l.contains("property_capacity"))
        .unwrap_or_else(|| panic!("no capacity line in:\n{}", screen.stdout));
    assert!(
        line.contains("fail") && line.contains("delete at least"),
        "{line}"
    );
    assert!(
        screen.stdout.contains("1 of 9 checks need attention"),
        "{}",
        screen.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_without_its_key_is_named() {
    // HubSpot at the sandbox's address (as through a proxy), providers as in production:
    // keys from the environment. Doctor calls no provider, so nothing leaves the machine.
    let sb = sandbox(|_| {}).await;
    let ws = Workspace::new();
    let config = ws.write("firmo.toml", "[sources.clay]\nenabled = false\n");
    let config = config.display().to_string();
    let builtwith_key = "bw-e2e-key-0001";
    let out = doctor(
        &ws,
        true,
        &["--config", &config],
        &[
            ("HUBSPOT_API_BASE", Some(&sb.base_url())),
            ("CLEARBIT_API_KEY", None),
            ("BUILTWITH_API_KEY", Some(builtwith_key)),
            ("CRUNCHBASE_API_KEY", Some("cb-e2e-key-0001")),
        ],
    )
    .await;
    out.expect_code(1);
    let checks = out.json();
    assert_eq!(status(&checks, "token"), "ok", "{checks:#}");
    assert_eq!(status(&checks, "provider.clearbit"), "fail", "{checks:#}");
    assert!(
        text(&checks, "provider.clearbit", "detail").contains("CLEARBIT_API_KEY"),
        "{checks:#}"
    );
    assert_eq!(status(&checks, "provider.builtwith"), "ok");
    assert_eq!(status(&checks, "provider.crunchbase"), "ok");
    assert!(
        checks
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["check"] != "provider.clay"),
        "a disabled provider is not checked: {checks:#}"
    );
    assert!(!out.stdout.contains(builtwith_key) && !out.stderr.contains(builtwith_key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_at_all_says_how_to_make_a_service_key() {
    let ws = Workspace::new();
    let out = doctor(&ws, true, &[], &[("HUBSPOT_ACCESS_TOKEN", Some(""))]).await;
    out.expect_code(1);
    let checks = out.json();
    assert_eq!(status(&checks, "token"), "fail", "{checks:#}");
    let fix = text(&checks, "token", "fix");
    assert!(
        fix.starts_with("create a service key") && fix.contains("crm.schemas.companies.write"),
        "{fix}"
    );
    assert_eq!(status(&checks, "state_file"), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_that_cannot_be_written_is_named() {
    let sb = sandbox(|_| {}).await;
    let ws = Workspace::new();
    // A path under a plain file: no user, root included, can create it.
    let blocker = ws.write("blocker", "not a directory");
    let state = blocker.join("state.db").display().to_string();
    let out = doctor_with_state(&ws, &state, true, &["--sandbox-url", &sb.base_url()], &[]).await;
    out.expect_code(1);
    let checks = out.json();
    assert_eq!(status(&checks, "state_file"), "fail", "{checks:#}");
    assert!(
        text(&checks, "state_file", "detail").contains(&state),
        "{checks:#}"
    );
}

/// The PostgreSQL server `scripts/pg.sh` names in `FIRMO_TEST_POSTGRES`, or `None`, said on
/// stderr; under `CI=true` a missing server fails instead (as the store's own tests do).
fn postgres_server(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var("FIRMO_TEST_POSTGRES")
        && !url.is_empty()
    {
        return Some(url);
    }
    let why = format!(
        "FIRMO_TEST_POSTGRES is unset: {test} was NOT RUN (scripts/pg.sh cargo test -p firmo-cli --test e2e doctor runs it)"
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}; under CI=true that is a failure, not a skip"
    );
    // Straight to the process's stderr: the harness captures `eprintln!` of passing tests.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("WARNING: {why}\n").as_bytes(),
    );
    None
}

/// `url` with the session's `search_path` set to `schema`.
fn in_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_state_is_checked_by_its_url() {
    let Some(server) = postgres_server("a_postgres_state_is_checked_by_its_url") else {
        return;
    };
    let ws = Workspace::new();
    let embedded = ["--sandbox", "--sandbox-companies", "3"];
    let state_check = |out: &Output| check(&out.json(), "state_file").clone();

    // A schema that does not exist: the first run could not create its tables.
    let absent = in_schema(
        &server,
        &format!("firmo_doctor_absent_{}", std::process::id()),
    );
    let out = doctor_with_state(&ws, &absent, true, &embedded, &[]).await;
    out.expect_code(1);
    let state = state_check(&out);
    assert_eq!(state["status"], "fail", "{state:#}");
    assert!(
        state["detail"]
            .as_str()
            .unwrap()
            .contains("no schema to keep the state in"),
        "{state:#}"
    );

    // A schema full of someone else's tables is not taken over.
    let foreign = in_schema(&server, "information_schema");
    let out = doctor_with_state(&ws, &foreign, true, &embedded, &[]).await;
    out.expect_code(1);
    let state = state_check(&out);
    assert_eq!(state["status"], "fail", "{state:#}");
    assert!(
        state["detail"]
            .as_str()
            .unwrap()
            .contains("not a firmo state"),
        "{state:#}"
    );

    // A state a sync made: readable, current and writable by this user. The write probe
    // is rolled back, so doctor answers the same the second time.
    let sync = crate::support::firmo(
        &ws,
        &["--state", &server, "--json", "sync"]
            .iter()
            .copied()
            .chain(embedded)
            .collect::<Vec<_>>(),
    )
    .await;
    sync.expect_code(0);
    for _ in 0..2 {
        let out = doctor_with_state(&ws, &server, true, &embedded, &[]).await;
        out.expect_code(0);
        let state = state_check(&out);
        assert_eq!(state["status"], "ok", "{state:#}");
        assert!(
            state["detail"].as_str().unwrap().contains("takes writes"),
            "{state:#}"
        );
    }
}
