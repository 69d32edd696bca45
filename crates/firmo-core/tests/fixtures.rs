//! Runs every case of the shared fixture set (`tests/fixtures/rules/*.json` at the
//! workspace root) and compares each outcome with its `expect`, exactly.
#![allow(clippy::disallowed_methods, reason = "tests read the fixture files")]

use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/rules")
}

fn cases() -> Vec<(String, serde_json::Value)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .expect("fixture directory exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), json)
        })
        .collect()
}

#[test]
fn every_fixture_matches_its_expectation() {
    let cases = cases();
    assert!(cases.len() >= 45, "only {} fixture cases", cases.len());
    let mut failures = Vec::new();
    for (file, case) in &cases {
        assert_eq!(
            case["name"]
                .as_str()
                .map(|n| format!("{n}.json"))
                .as_deref(),
            Some(file.as_str()),
            "a case's name is its file name"
        );
        if let Err(diff) = firmo_core::fixture::check_fixture(case) {
            failures.push(diff);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_runner_reports_a_mismatch() {
    let case = serde_json::json!({
        "name": "x", "today": "2026-01-01", "record": {"headcount": 0},
        "expect": {"findings": []}
    });
    let err = firmo_core::fixture::check_fixture(&case).unwrap_err();
    assert!(err.contains("FQ004"), "{err}");
    let broken = serde_json::json!({"name": "x", "today": "soon", "record": {}});
    assert!(firmo_core::fixture::run_fixture(&broken)["fixture_error"].is_string());
}
