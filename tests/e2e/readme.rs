//! The README's two ways to try firmo: the main-job command with the sandbox inside the
//! process, and a standalone `firmo sandbox` that later commands point at.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{TOKEN, Workspace, command, count, firmo, outcomes_total};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_job_runs_against_the_embedded_sandbox() {
    let ws = Workspace::new();
    let state = ws.state().display().to_string();
    let out = firmo(
        &ws,
        &[
            "--state",
            &state,
            "sync",
            "--crm",
            "hubspot",
            "--sandbox",
            "--sandbox-companies",
            "30",
        ],
    )
    .await;
    out.expect_code(0);
    // The summary people read: counts, and enriched values they can see.
    for needle in [
        "accounts",
        "written",
        "credits",
        "enriched, for example",
        "firmo_headcount",
        "firmo_industry",
    ] {
        assert!(
            out.stdout.contains(needle),
            "no {needle:?} in:\n{}",
            out.stdout
        );
    }

    let report = firmo(&ws, &["--state", &state, "report"]).await;
    report.expect_code(0);
    for needle in ["sync", "coverage", "headcount", "tech_stack"] {
        assert!(
            report.stdout.contains(needle),
            "no {needle:?} in:\n{}",
            report.stdout
        );
    }
    let json = firmo(&ws, &["--state", &state, "--json", "report"]).await;
    json.expect_code(0);
    let json = json.json();
    let run = &json["runs"][0]["summary"];
    assert_eq!(outcomes_total(run), 30);
    assert!(count(run, "/outcomes/written") > 20, "{run:#}");
    let examples = json["latest"]["examples"].as_array().unwrap();
    assert!(
        examples
            .iter()
            .any(|e| e["fields"]["headcount"].is_number()),
        "{examples:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_sandbox_serves_later_commands() {
    let ws = Workspace::new();
    let mut sandbox = command(
        &ws,
        &[
            "sandbox",
            "--addr",
            "127.0.0.1:0",
            "--token",
            TOKEN,
            "--companies",
            "15",
        ],
    )
    .spawn()
    .expect("firmo sandbox starts");
    let stdout = sandbox.stdout.take().expect("piped stdout");
    let first = tokio::time::timeout(
        Duration::from_secs(30),
        BufReader::new(stdout).lines().next_line(),
    )
    .await
    .expect("the sandbox says where it listens")
    .expect("stdout reads")
    .expect("a first line");
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

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
    out.expect_code(0);
    let summary = out.summary();
    assert_eq!(outcomes_total(&summary), 15);
    assert!(count(&summary, "/outcomes/written") > 10, "{summary:#}");
    // A wrong token is refused by the CRM: the run fails, saying why.
    let refused = command(
        &ws,
        &[
            "--config",
            &config,
            "--state",
            &ws.path("other.db").display().to_string(),
            "sync",
            "--crm",
            "hubspot",
            "--sandbox-url",
            &url,
        ],
    )
    .env("HUBSPOT_ACCESS_TOKEN", "not-the-token")
    .output()
    .await
    .expect("firmo runs");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !stderr.contains("not-the-token"),
        "the token leaked: {stderr}"
    );
    assert!(stderr.contains("credentials"), "{stderr}");
    sandbox.kill().await.expect("the sandbox stops");
}
