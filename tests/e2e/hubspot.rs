//! HubSpot as it is in December 2026: a portal's own validation rule refusing firmo's
//! write is named, with HubSpot's words, in the sync summary (text and `--json`) and in
//! `firmo report`, on the default dated API version; the legacy `v3` paths, where HubSpot
//! does not apply such rules to API writes, write the same companies; and an environment
//! variable set but empty counts as unset.

use std::collections::BTreeMap;
use std::time::Duration;

use firmo_sandbox::{PortalRule, SandboxConfig, SandboxHandle};
use serde_json::Value;

use crate::support::{Output, Sandbox, TOKEN, Workspace, command, firmo, prop};

/// A sandbox of `companies` demo companies (seed 0) with the e2e token and emulators and
/// the portal's `rules`.
async fn portal(companies: usize, rules: Vec<PortalRule>) -> SandboxHandle {
    let config = SandboxConfig {
        token: TOKEN.into(),
        companies,
        emulators: Sandbox::emulators(),
        portal_rules: rules,
        ..SandboxConfig::default()
    };
    firmo_sandbox::start(config, "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the sandbox starts")
}

/// `firmo [--json] sync` against `sandbox` (the default API version, 2026-09) with the
/// client pacing lifted.
async fn sync(ws: &Workspace, sandbox: &SandboxHandle, json: bool) -> Output {
    sync_with(ws, sandbox, json, &ws.fast_config()).await
}

/// [`sync`] with this config file.
async fn sync_with(
    ws: &Workspace,
    sandbox: &SandboxHandle,
    json: bool,
    config: &std::path::Path,
) -> Output {
    let config = config.display().to_string();
    let state = ws.state().display().to_string();
    let url = sandbox.base_url();
    let mut args = vec!["--config", &config, "--state", &state];
    if json {
        args.push("--json");
    }
    args.extend(["sync", "--crm", "hubspot", "--sandbox-url", &url]);
    firmo(ws, &args).await
}

/// The funding stage firmo writes most often on a portal without rules, and how many
/// companies get it: the trigger the rule of the next portal is set on.
async fn most_written_stage(companies: usize) -> (String, usize) {
    let ws = Workspace::new();
    let open = portal(companies, Vec::new()).await;
    sync(&ws, &open, true).await.expect_code(0);
    let mut stages: BTreeMap<String, usize> = BTreeMap::new();
    for c in open.companies() {
        if let Some(stage) = prop(&c, "firmo_funding_stage") {
            *stages.entry(stage.to_owned()).or_default() += 1;
        }
    }
    open.shutdown().await.expect("the sandbox stops");
    stages
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .expect("some company gets a funding stage")
}

#[tokio::test]
async fn a_portal_rule_that_refuses_a_write_is_named_in_the_summary_and_the_report() {
    const COMPANIES: usize = 40;
    let (stage, expected) = most_written_stage(COMPANIES).await;
    // An admin's rule: a company at this funding stage must have its state filled (the
    // demo companies have none), enforced on API writes from 2026-09.
    let rule = PortalRule::ConditionallyRequired {
        property: "state".into(),
        when_property: "firmo_funding_stage".into(),
        equals: stage.clone(),
    };
    let sandbox = portal(COMPANIES, vec![rule]).await;
    let ws = Workspace::new();
    // HubSpot's own words for this rule, as the portal answers them.
    let message =
        "state is required because of a conditional property rule based on [firmo_funding_stage]";
    let named =
        format!("rejected by a portal rule MISSING_CONDITIONAL_REQUIRED_PROPERTY: {message}");

    let out = sync(&ws, &sandbox, true).await;
    out.expect_code(1);
    let summary = out.summary();
    let failed: BTreeMap<String, u64> =
        serde_json::from_value(summary["failed"].clone()).expect("failed is a reason map");
    assert_eq!(
        failed.get(&named).copied(),
        Some(expected as u64),
        "every write at stage {stage} is refused by the rule, named: {failed:#?}"
    );
    assert_eq!(
        summary["outcomes"]["failed"].as_u64(),
        Some(expected as u64),
        "and nothing else failed"
    );
    for c in sandbox.companies() {
        if prop(&c, "firmo_industry").is_some() {
            assert_ne!(
                prop(&c, "firmo_funding_stage"),
                Some(stage.as_str()),
                "a refused write left nothing behind"
            );
        }
    }

    // The next run meets the same rule; its table names it the same way.
    let text = sync(&ws, &sandbox, false).await;
    text.expect_code(1);
    let failed_line = text
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("failed"))
        .unwrap_or_else(|| panic!("no failed line in\n{}", text.stdout));
    assert!(
        failed_line.contains(&named) && failed_line.contains(&expected.to_string()),
        "{failed_line}"
    );

    let state = ws.state().display().to_string();
    let report = firmo(&ws, &["--state", &state, "report"]).await;
    report.expect_code(0);
    assert!(
        report.stdout.contains(&named),
        "firmo report names the rule:\n{}",
        report.stdout
    );
    let report = firmo(&ws, &["--state", &state, "--json", "report"]).await;
    report.expect_code(0);
    let json = report.json();
    let latest_failed = json
        .pointer("/latest/failed")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("no latest.failed in {json:#}"));
    assert_eq!(
        latest_failed.get(&named).and_then(Value::as_u64),
        Some(expected as u64),
        "{json:#}"
    );
    sandbox.shutdown().await.expect("the sandbox stops");
}

#[tokio::test]
async fn the_legacy_v3_paths_write_what_a_portal_rule_would_refuse() {
    const COMPANIES: usize = 40;
    let (stage, expected) = most_written_stage(COMPANIES).await;
    let rule = PortalRule::ConditionallyRequired {
        property: "state".into(),
        when_property: "firmo_funding_stage".into(),
        equals: stage.clone(),
    };
    let sandbox = portal(COMPANIES, vec![rule]).await;
    let ws = Workspace::new();
    // Portal rules bind API writes from the dated version 2026-09 on; the numbered paths
    // keep their old behaviour until they lose support.
    let legacy = ws.write(
        "v3.toml",
        "[crm]\nrequests_per_10s = 10000\nsearch_per_second = 100\napi_version = \"v3\"\n",
    );
    let out = sync_with(&ws, &sandbox, true, &legacy).await;
    out.expect_code(0);
    let summary = out.summary();
    assert_eq!(summary["outcomes"]["failed"], 0, "{summary:#}");
    let at_stage = sandbox
        .companies()
        .iter()
        .filter(|c| prop(c, "firmo_funding_stage") == Some(stage.as_str()))
        .count();
    assert_eq!(at_stage, expected, "every write at stage {stage} landed");
    sandbox.shutdown().await.expect("the sandbox stops");
}

#[tokio::test]
async fn empty_environment_variables_count_as_unset() {
    let ws = Workspace::new();
    // Each of these set but empty would be a value to clap: `--sandbox` would conflict
    // with an empty sandbox URL, the state would be an empty path, the config a file
    // named "".
    let mut cmd = command(
        &ws,
        &["--json", "sync", "--sandbox", "--sandbox-companies", "3"],
    );
    for var in [
        "FIRMO_SANDBOX_URL",
        "FIRMO_STATE",
        "FIRMO_CONFIG",
        "FIRMO_LOG",
        "HUBSPOT_API_BASE",
    ] {
        cmd.env(var, "");
    }
    let child = cmd.spawn().expect("the firmo binary starts");
    let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("firmo finishes")
        .expect("firmo's output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let json: Value = serde_json::from_str(&stdout).expect("--json output");
    assert_eq!(json["summary"]["scanned"], 3, "{json:#}");
    assert!(
        ws.path(".firmo/state.db").is_file(),
        "an empty FIRMO_STATE is the default state file"
    );
}
