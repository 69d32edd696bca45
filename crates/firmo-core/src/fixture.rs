//! The shared fixture runner. `tests/fixtures/rules/*.json` (workspace root) holds cases
//! that the native tests run now and the WASM tests run through the same function, so the
//! two builds must agree case by case.
//!
//! A case is one of three forms, each with `name`, `today` (`YYYY-MM-DD`), an optional
//! `description`, and `expect`:
//! - merge: `records` (provider records as JSON) and optional `config` (a [`CoreConfig`]:
//!   `{"merge": {...}, "signals": {...}, "quality": {...}}`). Expect `merged` (per field
//!   `value` and `source`, plus `contributors` when more than one source had the field
//!   and `disagreements` when any), `findings`, `signals` (the known ones only, as a
//!   sync writes them: [`crate::evaluate`]), and `input_errors` when the
//!   records had problems. A config that does not validate gives `config_error` instead.
//! - record: `record`, a plain record; expect `findings` (from `validate_json_record`).
//! - field: `field` (a name) and `value`; expect `findings` (from `validate_field_json`).
//! - contact: `contact`, a plain contact (`{"job_title": ..., "linkedin_url": ...}`);
//!   expect `findings`, plus `exec_role` / `exec_change` when the title is an
//!   executive-engineering role (from [`evaluate_contact_json`]).
//! - contact field: `contact_field` (a name) and `value`; expect `findings` (from
//!   [`validate_contact_field_json`]).
//!
//! [`run_fixture`] computes what `expect` should be; [`check_fixture`] compares exactly.

use serde_json::{Map, Value as Json, json};

use crate::config::CoreConfig;
use crate::contact::{evaluate_contact_json, validate_contact_field_json};
use crate::merge::{MergedRecord, merge_preview};
use crate::validate::{validate_field_json, validate_json_record};
use crate::value::Date;

/// Runs one case and returns its actual outcome, in the shape of its `expect`. A case
/// that can't be run gives `{"fixture_error": why}`.
pub fn run_fixture(case: &Json) -> Json {
    match run(case) {
        Ok(outcome) => outcome,
        Err(why) => json!({ "fixture_error": why }),
    }
}

/// Runs one case and compares its outcome with its `expect`, exactly.
pub fn check_fixture(case: &Json) -> Result<(), String> {
    let actual = run_fixture(case);
    let expected = case.get("expect").cloned().unwrap_or(Json::Null);
    if actual == expected {
        return Ok(());
    }
    let name = case
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or("(unnamed)");
    let pretty = |j: &Json| serde_json::to_string_pretty(j).unwrap_or_default();
    Err(format!(
        "fixture {name}:\n--- expected\n{}\n--- actual\n{}",
        pretty(&expected),
        pretty(&actual)
    ))
}

fn run(case: &Json) -> Result<Json, String> {
    let today = case
        .get("today")
        .and_then(Json::as_str)
        .and_then(Date::parse_iso)
        .ok_or("`today` must be a YYYY-MM-DD date")?;
    if let Some(record) = case.get("record") {
        return Ok(json!({ "findings": validate_json_record(record, today) }));
    }
    if let Some(contact) = case.get("contact") {
        let evaluation = evaluate_contact_json(contact, today);
        let mut outcome = Map::new();
        outcome.insert("findings".into(), json!(evaluation.findings));
        if let Some(role) = evaluation.exec_role {
            outcome.insert("exec_role".into(), json!(role));
        }
        if let Some(change) = evaluation.exec_change {
            outcome.insert("exec_change".into(), json!(change));
        }
        return Ok(Json::Object(outcome));
    }
    if let Some(field) = case.get("contact_field") {
        let name = field
            .as_str()
            .ok_or("`contact_field` must be a field name")?;
        let value = case.get("value").unwrap_or(&Json::Null);
        return Ok(json!({ "findings": validate_contact_field_json(name, value, today) }));
    }
    if let Some(field) = case.get("field") {
        let name = field.as_str().ok_or("`field` must be a field name")?;
        let value = case.get("value").unwrap_or(&Json::Null);
        return Ok(json!({ "findings": validate_field_json(name, value, today) }));
    }
    let records = case
        .get("records")
        .ok_or("a case needs `records`, `record`, `field`, `contact` or `contact_field`")?;
    let config: CoreConfig = match case.get("config") {
        None => CoreConfig::default(),
        Some(config) => match serde_json::from_value(config.clone()) {
            Ok(config) => config,
            Err(e) => return Ok(json!({ "config_error": e.to_string() })),
        },
    };
    let preview = merge_preview(records, &config, today);
    let mut outcome = Map::new();
    outcome.insert("merged".into(), merged_view(&preview.merged));
    outcome.insert("findings".into(), json!(preview.findings));
    outcome.insert("signals".into(), json!(preview.signals));
    if !preview.input_errors.is_empty() {
        outcome.insert("input_errors".into(), json!(preview.input_errors));
    }
    Ok(Json::Object(outcome))
}

/// The fixtures' compact view of a merged record.
pub fn merged_view(record: &MergedRecord) -> Json {
    let mut fields = Map::new();
    for (field, merged) in &record.fields {
        let mut view = Map::new();
        view.insert("value".into(), merged.value.to_json());
        view.insert("source".into(), json!(merged.source));
        if merged.contributors.len() > 1 {
            view.insert("contributors".into(), json!(merged.contributors));
        }
        if !merged.disagreements.is_empty() {
            let alternatives: Vec<Json> = merged
                .disagreements
                .iter()
                .map(|a| json!({ "source": a.source, "value": a.value.to_json() }))
                .collect();
            view.insert("disagreements".into(), Json::Array(alternatives));
        }
        fields.insert(field.name().to_owned(), Json::Object(view));
    }
    Json::Object(fields)
}
