//! Runs the merge + quality rules over a fixture directory and prints a short table: per
//! case, what was merged, how many rejects and flags, which signals fired, and whether
//! the outcome matches the case's expectation.
//!
//! `cargo run -p firmo-core --example fixtures -- tests/fixtures/rules`
//!
//! A stand-in for the main job until the sync engine exists; exits 1 on any mismatch.
#![allow(
    clippy::disallowed_methods,
    reason = "an example program reads the files it is given"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value as Json;

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("tests/fixtures/rules"), PathBuf::from);
    match run(&dir) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn count(findings: &Json, severity: &str) -> usize {
    findings.as_array().map_or(0, |f| {
        f.iter().filter(|f| f["severity"] == severity).count()
    })
}

fn run(dir: &Path) -> Result<bool, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let w = |out: &mut std::io::StdoutLock<'_>, line: String| {
        writeln!(out, "{line}").map_err(|e| e.to_string())
    };
    w(
        &mut out,
        format!(
            "{:<36} {:<6} {:>6} {:>7} {:>5}  {:<28} {}",
            "case", "form", "fields", "rejects", "flags", "signals", "result"
        ),
    )?;
    let (mut matched, mut total, mut rejects, mut flags) = (0, 0, 0, 0);
    for path in &paths {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let case: Json =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let actual = firmo_core::fixture::run_fixture(&case);
        let ok = firmo_core::fixture::check_fixture(&case).is_ok();
        let form = if case.get("record").is_some() {
            "record"
        } else if case.get("field").is_some() {
            "field"
        } else {
            "merge"
        };
        let fields = actual["merged"]
            .as_object()
            .map_or_else(|| "-".to_owned(), |m| m.len().to_string());
        let signals: Vec<&str> = actual["signals"]
            .as_object()
            .map(|s| {
                s.iter()
                    .filter(|(_, v)| **v == Json::Bool(true))
                    .map(|(k, _)| k.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let (r, f) = (
            count(&actual["findings"], "reject"),
            count(&actual["findings"], "flag"),
        );
        let name = case["name"].as_str().unwrap_or("?");
        let result = if actual.get("config_error").is_some() {
            "config error (expected)"
        } else {
            ""
        };
        let verdict = if ok { "ok" } else { "MISMATCH" };
        w(
            &mut out,
            format!(
                "{name:<36} {form:<6} {fields:>6} {r:>7} {f:>5}  {:<28} {verdict} {result}",
                signals.join(",")
            ),
        )?;
        total += 1;
        matched += usize::from(ok);
        rejects += r;
        flags += f;
    }
    w(
        &mut out,
        format!(
            "\n{total} cases, {matched} match their expectations; {rejects} rejects and {flags} flags in all (rules {})",
            firmo_core::RULES_VERSION
        ),
    )?;
    Ok(matched == total && total > 0)
}
