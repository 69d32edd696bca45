//! Bad configs and bad files: exit code 2 (or 1 for rule violations) and a message that
//! names the file and what in it is wrong, before anything is sent anywhere.

use crate::support::{Sandbox, Workspace, firmo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_is_refused_naming_the_file_and_the_key() {
    let sb = Sandbox::start(5).await;
    let ws = Workspace::new();
    let url = sb.url();
    let state = ws.state().display().to_string();
    let cases = [
        (
            "unknown-key.toml",
            "[crm]\nrequests_per_10 = 100\n",
            "requests_per_10",
        ),
        (
            "unknown-source.toml",
            "[sources.zoominfo]\nenabled = true\n",
            "sources.zoominfo",
        ),
        (
            "unknown-source-key.toml",
            "[sources.clearbit]\napi_key_envv = \"CLEARBIT_KEY\"\n",
            "sources.clearbit.api_key_envv",
        ),
        (
            "bad-operator.toml",
            "[segments.us]\nfilters = [{ property = \"country\", operator = \"LIKE\", value = \"US\" }]\n",
            "segments.us.filters[0].operator",
        ),
    ];
    for (file, text, key) in cases {
        let path = ws.write(file, text);
        let path_arg = path.display().to_string();
        let out = firmo(
            &ws,
            &[
                "--config",
                &path_arg,
                "--state",
                &state,
                "sync",
                "--crm",
                "hubspot",
                "--sandbox-url",
                &url,
            ],
        )
        .await;
        out.expect_code(2);
        assert!(
            out.stderr.contains(&path_arg) && out.stderr.contains(key),
            "{file}: the error should name {path_arg} and {key}:\n{}",
            out.stderr
        );
        if key.ends_with("operator") {
            assert!(out.stderr.contains("LIKE"), "{}", out.stderr);
        }
    }
    // Bad usage too: a segment the config doesn't define, and a CRM the registry doesn't
    // hold (answered with the ones it does).
    let usage: [(&[&str], &[&str]); 2] = [
        (
            &["--crm", "hubspot", "--segment", "enterprise"],
            &["enterprise"],
        ),
        (&["--crm", "salesforce"], &["salesforce", "hubspot"]),
    ];
    for (extra, named) in usage {
        let mut args = vec!["--state", &state, "sync", "--sandbox-url", &url];
        args.extend_from_slice(extra);
        let out = firmo(&ws, &args).await;
        out.expect_code(2);
        for name in named {
            assert!(out.stderr.contains(name), "{extra:?}: {}", out.stderr);
        }
    }
    assert_eq!(
        sb.stats().total_requests,
        0,
        "a refused config still reached the sandbox: {:?}",
        sb.stats().requests
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_names_the_rule_a_bad_value_breaks() {
    let ws = Workspace::new();
    let bad = ws.write(
        "records.json",
        r#"[{"industry": "Software Development", "headcount": 120},
            {"industry": "Retail", "headcount": -5}]"#,
    );
    let bad_arg = bad.display().to_string();
    let out = firmo(&ws, &["validate", &bad_arg]).await;
    out.expect_code(1);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("headcount") && l.contains("reject"))
        .unwrap_or_else(|| panic!("no rejected headcount in:\n{}", out.stdout));
    assert!(
        line.contains(&bad_arg) && line.contains("record 2"),
        "{line}"
    );
    let code = line
        .split_whitespace()
        .find(|w| w.starts_with("FQ") && w.len() == 5 && w[2..].chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no rule code in {line}"));

    let json = firmo(&ws, &["--json", "validate", &bad_arg]).await;
    json.expect_code(1);
    let json = json.json();
    assert_eq!(json["rejects"], 1);
    let findings = json["results"][1]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == code && f["field"] == "headcount" && f["severity"] == "reject"),
        "{json:#}"
    );
    assert_eq!(json["results"][0]["findings"], serde_json::json!([]));

    let good = ws.write("good.json", r#"{"industry": "Retail", "headcount": 40}"#);
    firmo(&ws, &["validate", &good.display().to_string()])
        .await
        .expect_code(0);
    let broken = ws.write("broken.json", "{ not json");
    let broken_arg = broken.display().to_string();
    let out = firmo(&ws, &["validate", &broken_arg]).await;
    out.expect_code(2);
    assert!(out.stderr.contains(&broken_arg), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_without_a_state_file_says_what_to_do() {
    let ws = Workspace::new();
    let state = ws.path("nowhere.db").display().to_string();
    let out = firmo(&ws, &["--state", &state, "report"]).await;
    out.expect_code(2);
    assert!(
        out.stderr.contains(&state) && out.stderr.contains("firmo sync"),
        "{}",
        out.stderr
    );
}
