//! The `firmo-sandbox` binary as a user starts it: its flags and environment.

mod common;

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

/// Starts the binary on a free local port with `env` set; returns it and its base URL
/// (the first line it prints is the contract).
async fn start(args: &[&str], env: &[(&str, &str)]) -> (tokio::process::Child, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_firmo-sandbox"));
    cmd.args(["--addr", "127.0.0.1:0", "--companies", "2"])
        .args(args)
        .env_remove("FIRMO_SANDBOX_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the sandbox binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .expect("its first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, url)
}

async fn status_with(url: &str, token: &str) -> u16 {
    common::client()
        .get(format!("{url}/crm/v3/properties/companies"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the sandbox answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_blank_token_variable_is_unset_and_a_set_one_is_the_token() {
    let (mut blank, url) = start(&[], &[("FIRMO_SANDBOX_TOKEN", "  ")]).await;
    assert_eq!(
        status_with(&url, "sandbox-token").await,
        200,
        "the default token"
    );
    assert_eq!(status_with(&url, "  ").await, 401);
    blank.kill().await.expect("the sandbox stops");

    let (mut set, url) = start(&[], &[("FIRMO_SANDBOX_TOKEN", "from-env")]).await;
    assert_eq!(status_with(&url, "from-env").await, 200);
    assert_eq!(status_with(&url, "sandbox-token").await, 401);
    set.kill().await.expect("the sandbox stops");
}

#[tokio::test]
async fn the_help_documents_every_limit_billing_and_latency_flag() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_firmo-sandbox"))
        .arg("--help")
        .output()
        .await
        .expect("--help runs");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--rate-limit",
        "--search-per-second",
        "--daily-limit",
        "--latency",
        "--clearbit-credits",
        "--clearbit-rate-per-minute",
        "--clearbit-pending-after",
        "--builtwith-credits",
        "--crunchbase-rate-per-minute",
        "--clay-callback-delay",
        "--clay-callback-retries",
        "--clay-retry-backoff",
        "--error-rate",
        "--drop-rate",
        "--burst-429",
        "--search-lag",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}
