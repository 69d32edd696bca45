//! The README's claims that a test can check, against README.md as it is written: its two
//! ways to try firmo (the main job with the sandbox inside the process, and a standalone
//! `firmo sandbox` that later commands point at), the summary it shows, every command and
//! flag it names, and the walk-through for a real HubSpot portal, run step by step against
//! a sandbox.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{Sandbox, TOKEN, Workspace, command, count, firmo, outcomes_total};

/// README.md as the tests find it in the repository.
fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The words of a command line shown in the README (`firmo …`, or the `cargo run … --`
/// form of it), without a trailing `# comment`; `None` for any other text.
fn firmo_words(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    let rest = line
        .strip_prefix("firmo ")
        .or_else(|| line.strip_prefix("cargo run --release -p firmo-cli -- "))?;
    let rest = rest.split(" #").next().unwrap_or_default();
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Every `firmo` command the README shows: indented code lines and inline code.
fn readme_commands(text: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for line in text.lines() {
        if line.starts_with("    ") {
            commands.extend(firmo_words(line));
        }
        // Inline code: the odd-numbered pieces between backticks.
        for (i, piece) in line.split('`').enumerate() {
            if i % 2 == 1 {
                commands.extend(firmo_words(piece));
            }
        }
    }
    commands
}

/// The subcommand path of a command's words (`properties ensure`, `sync`), and the long
/// flags it uses.
fn path_and_flags(words: &[String]) -> (Vec<String>, Vec<String>) {
    let mut path = Vec::new();
    if let Some(first) = words.first().filter(|w| !w.starts_with('-')) {
        path.push(first.clone());
        if matches!(
            first.as_str(),
            "properties" | "import" | "spot-check" | "fleet"
        ) && let Some(second) = words.get(1).filter(|w| !w.starts_with('-'))
        {
            path.push(second.clone());
        }
    }
    let flags = words
        .iter()
        .map(|w| w.trim_matches(|c| c == '[' || c == ']'))
        .filter(|w| w.starts_with("--"))
        .map(|w| w.split('=').next().unwrap_or_default().to_owned())
        .collect();
    (path, flags)
}

/// The section of the README under `heading`, up to the next `## ` heading.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?}"));
    let rest = &text[start + heading.len()..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_and_flag_the_readme_shows_exists() {
    let text = readme();
    let mut checked = std::collections::BTreeSet::new();
    for words in readme_commands(&text) {
        let (path, flags) = path_and_flags(&words);
        if !checked.insert((path.clone(), flags.clone())) {
            continue;
        }
        let ws = Workspace::new();
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = firmo(&ws, &args).await;
        help.expect_code(0);
        for flag in &flags {
            assert!(
                help.stdout.contains(&format!("{flag} "))
                    || help.stdout.contains(&format!("{flag}\n")),
                "the README shows `firmo {}` but `firmo {} --help` has no {flag}:\n{}",
                words.join(" "),
                path.join(" "),
                help.stdout
            );
        }
    }
    // The commands the README is about are among those checked.
    let about: [&[&str]; 5] = [
        &["sync"],
        &["doctor"],
        &["properties", "ensure"],
        &["sandbox"],
        &["report"],
    ];
    for path in about {
        assert!(
            checked.iter().any(|(p, _)| p == path),
            "the README shows no `firmo {}`",
            path.join(" ")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_portal_walkthrough_works_step_by_step() {
    let text = readme();
    let walkthrough = section(&text, "## Against a real HubSpot portal");

    // The scopes the README tells a new user to give the key are the ones firmo checks.
    let scopes: std::collections::BTreeSet<&str> = walkthrough
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|s| s.starts_with("crm."))
        .collect();
    let needed: std::collections::BTreeSet<&str> =
        firmo_hubspot::setup::REQUIRED_SCOPES.into_iter().collect();
    assert_eq!(scopes, needed, "the README's scope table");
    assert!(
        walkthrough.contains("service key"),
        "it starts from a service key"
    );

    // Its commands, in order, each run as shown against a sandbox portal.
    let steps: Vec<Vec<String>> = walkthrough
        .lines()
        .filter(|l| l.starts_with("    "))
        .filter_map(firmo_words)
        .collect();
    let shown: Vec<String> = steps.iter().map(|s| s.join(" ")).collect();
    assert_eq!(
        shown,
        [
            "doctor --crm hubspot",
            "sync --crm hubspot --dry-run --limit 100",
            "sync --crm hubspot"
        ],
        "the walk-through's steps"
    );
    let sb = Sandbox::start(20).await;
    let ws = Workspace::new();
    let config = ws.fast_config().display().to_string();
    let state = ws.state().display().to_string();
    let url = sb.url();
    let mut outputs = Vec::new();
    for step in &steps {
        let mut args: Vec<&str> = vec!["--config", &config, "--state", &state];
        args.extend(step.iter().map(String::as_str));
        args.extend(["--sandbox-url", &url]);
        let out = firmo(&ws, &args).await;
        out.expect_code(0);
        outputs.push(out);
        if step.iter().any(|w| w == "--dry-run") {
            assert!(
                !sb.has_property("firmo_headcount"),
                "the dry run created a property"
            );
            assert_eq!(
                sb.requests("companies.batch_update"),
                0,
                "the dry run wrote"
            );
        }
    }
    assert!(
        outputs[0].stdout.contains("checks ok"),
        "doctor:\n{}",
        outputs[0].stdout
    );
    assert!(
        outputs[1].stdout.contains("dry run"),
        "dry run:\n{}",
        outputs[1].stdout
    );
    assert!(sb.has_property("firmo_headcount"), "the first sync sets up");
    assert!(
        sb.companies()
            .iter()
            .any(|c| crate::support::prop(c, "firmo_headcount").is_some()),
        "the first sync writes"
    );
}

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
    // The README's example summary starts with the line this run prints: run 1 of a fresh
    // state, the sandbox portal known by its id.
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(
        first.contains("hubspot portal hubspot:") && readme().contains(first),
        "the README's example does not start with {first:?}"
    );
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
