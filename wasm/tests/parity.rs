//! Parity: the shared fixture set (`tests/fixtures/rules/*.json`, workspace root) run in
//! headless Chromium must give exactly the answers recorded from the native build, case
//! by case, both through firmo-core compiled to wasm32 and through the exported API.
//!
//! From the workspace root (wasm/test.sh does this):
//!
//! ```sh
//! CHROMEDRIVER=/usr/bin/chromedriver \
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!   cargo test -p firmo-wasm --target wasm32-unknown-unknown --test parity
//! ```
#![cfg(target_arch = "wasm32")]

use firmo_core::fixture::check_fixture;
use firmo_wasm::{Validator, validate_field};
use serde_json::{Value as Json, json};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));

/// Every case of every fixture file (a file holds one case or an array of them).
fn cases() -> Vec<(String, Json)> {
    let mut all = Vec::new();
    for (file, text) in FIXTURE_FILES {
        let parsed: Json = serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let items = match parsed {
            Json::Array(items) => items,
            case => vec![case],
        };
        for (i, case) in items.into_iter().enumerate() {
            let name = case
                .get("name")
                .and_then(Json::as_str)
                .map_or(i.to_string(), str::to_owned);
            all.push((format!("{file}#{name}"), case));
        }
    }
    assert!(
        !all.is_empty(),
        "no fixture cases found: is tests/fixtures/rules/ empty?"
    );
    all
}

/// A JS value (built by the module) back as JSON, to compare with `expect`.
fn from_js(value: &JsValue) -> Json {
    let text: String = js_sys::JSON::stringify(value).expect("stringify").into();
    serde_json::from_str(&text).expect("the module returns JSON values")
}

fn to_js(value: &Json) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).expect("parse")
}

fn error_message(err: wasm_bindgen::JsError) -> String {
    let value = JsValue::from(err);
    let error: &js_sys::Error = value.dyn_ref().expect("thrown values are Errors");
    String::from(error.message())
}

#[wasm_bindgen_test]
fn every_case_gives_the_native_answer_in_core_compiled_to_wasm() {
    let failures: Vec<String> = cases()
        .iter()
        .filter_map(|(name, case)| check_fixture(case).err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The exported API, fed the way JS feeds it (JSON text, and JS objects), agrees with each
/// case's recorded `expect`. JS numbers are doubles, so answers that went through JS
/// objects are compared as JS sees them (`12.0` is `12`), and a case whose input holds an
/// integer a double cannot represent exactly is only fed as text (JS cannot write it).
#[wasm_bindgen_test]
fn every_case_gives_the_native_answer_through_the_exported_api() {
    let mut failures = Vec::new();
    let (mut checked, mut text_only) = (0, 0);
    for (name, case) in cases() {
        let Some(expect) = case.get("expect") else {
            continue;
        };
        let options = json!({
            "today": case["today"].clone(),
            "config": case.get("config").cloned().unwrap_or(Json::Null),
        });
        let make = || Validator::new(Some(to_js(&options).unchecked_into()));
        let mut validator = match make() {
            Ok(v) => v,
            Err(err) => {
                // A config the core refuses: the module throws the core's message.
                let message = error_message(err);
                let expected = expect
                    .get("config_error")
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                if format!("options.config: {expected}") != message {
                    failures.push(format!("{name}: constructor threw {message:?}"));
                }
                checked += 1;
                continue;
            }
        };
        let input = ["record", "contact", "value", "records"]
            .iter()
            .find_map(|k| case.get(*k))
            .unwrap_or(&Json::Null);
        let safe = js_safe(input);
        text_only += usize::from(!safe);
        let text = || JsValue::from_str(&input.to_string());
        let mut answers: Vec<(&str, Json)> = Vec::new();
        if case.get("record").is_some() {
            let from_text = validator.validate_record(&text().unchecked_into()).unwrap();
            answers.push((
                "validateRecord(text)",
                json!({ "findings": from_js(&from_text) }),
            ));
            let mut fast = make().unwrap();
            let rejects = fast.validate_json(text().unchecked_ref()).unwrap();
            let findings = from_js(&fast.findings().unwrap());
            let counted = findings.as_array().map_or(0, |f| {
                f.iter().filter(|f| f["severity"] == "reject").count()
            });
            if rejects as usize != counted {
                failures.push(format!(
                    "{name}: validateJson counted {rejects} rejects in {findings}"
                ));
            }
            answers.push(("validateJson", json!({ "findings": findings })));
            if safe {
                let from_object = validator
                    .validate_record(&to_js(input).unchecked_into())
                    .unwrap();
                answers.push((
                    "validateRecord(object)",
                    json!({ "findings": from_js(&from_object) }),
                ));
            }
        } else if let Some(contact) = case.get("contact") {
            let from_text = validator
                .validate_contact(&text().unchecked_into())
                .unwrap();
            answers.push((
                "validateContact(text)",
                contact_outcome(&from_js(&from_text)),
            ));
            if safe {
                let from_object = validator
                    .validate_contact(&to_js(contact).unchecked_into())
                    .unwrap();
                answers.push((
                    "validateContact(object)",
                    contact_outcome(&from_js(&from_object)),
                ));
            }
        } else if let Some(field) = case.get("contact_field") {
            if safe {
                let field = field.as_str().unwrap_or_default();
                let findings = validator
                    .validate_contact_field(field, to_js(input).unchecked_ref())
                    .unwrap();
                answers.push((
                    "validateContactField",
                    json!({ "findings": from_js(&findings) }),
                ));
            }
        } else if let Some(field) = case.get("field") {
            if safe {
                let field = field.as_str().unwrap_or_default();
                let findings = validator
                    .validate_field(field, to_js(input).unchecked_ref())
                    .unwrap();
                answers.push(("validateField", json!({ "findings": from_js(&findings) })));
            }
        } else {
            let preview = validator.merge_preview(&text().unchecked_into()).unwrap();
            answers.push(("mergePreview(text)", compact_preview(&from_js(&preview))));
            if safe {
                let preview = validator
                    .merge_preview(&to_js(input).unchecked_into())
                    .unwrap();
                answers.push(("mergePreview(object)", compact_preview(&from_js(&preview))));
            }
        }
        checked += 1;
        for (path, actual) in answers {
            if as_js_sees_it(&actual) != as_js_sees_it(expect) {
                failures.push(format!(
                    "{name} via {path}:\n  expected {expect}\n  actual   {actual}"
                ));
            }
        }
    }
    assert!(checked > 0);
    assert!(
        text_only < checked / 4,
        "{text_only} of {checked} cases could only be fed as text"
    );
    assert!(
        failures.is_empty(),
        "{} answers differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Whether every number in `json` survives a trip through a JS double unchanged.
fn js_safe(json: &Json) -> bool {
    match json {
        Json::Number(n) => n
            .as_f64()
            .is_some_and(|x| x.fract() != 0.0 || x.abs() <= 9_007_199_254_740_991.0),
        Json::Array(items) => items.iter().all(js_safe),
        Json::Object(map) => map.values().all(js_safe),
        _ => true,
    }
}

/// `json` with every number as a double, the only number JS has.
fn as_js_sees_it(json: &Json) -> Json {
    match json {
        Json::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number),
        Json::Array(items) => Json::Array(items.iter().map(as_js_sees_it).collect()),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), as_js_sees_it(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `validateContact`'s answer in the fixtures' form (an absent role or change left out).
fn contact_outcome(evaluation: &Json) -> Json {
    let mut out = serde_json::Map::new();
    out.insert("findings".into(), evaluation["findings"].clone());
    for key in ["exec_role", "exec_change"] {
        if !evaluation[key].is_null() {
            out.insert(key.into(), evaluation[key].clone());
        }
    }
    Json::Object(out)
}

/// `mergePreview`'s answer in the fixtures' compact form (see `firmo_core::fixture`).
fn compact_preview(preview: &Json) -> Json {
    let mut merged = serde_json::Map::new();
    if let Some(fields) = preview["merged"]["fields"].as_object() {
        for (name, field) in fields {
            let mut view = serde_json::Map::new();
            view.insert("value".into(), field["value"].clone());
            view.insert("source".into(), field["source"].clone());
            if field["contributors"]
                .as_array()
                .is_some_and(|c| c.len() > 1)
            {
                view.insert("contributors".into(), field["contributors"].clone());
            }
            if let Some(d) = field.get("disagreements") {
                view.insert("disagreements".into(), d.clone());
            }
            merged.insert(name.clone(), Json::Object(view));
        }
    }
    let mut out = serde_json::Map::new();
    out.insert("merged".into(), Json::Object(merged));
    out.insert("findings".into(), preview["findings"].clone());
    out.insert("signals".into(), preview["signals"].clone());
    if preview["input_errors"]
        .as_array()
        .is_some_and(|e| !e.is_empty())
    {
        out.insert("input_errors".into(), preview["input_errors"].clone());
    }
    Json::Object(out)
}

#[wasm_bindgen_test]
fn bad_input_throws_errors_with_messages_instead_of_trapping() {
    let nan = JsValue::from_f64(f64::NAN);
    let err = validate_field("headcount", nan.unchecked_ref()).unwrap_err();
    assert_eq!(error_message(err), "headcount: NaN is not a finite number");

    let cyclic = js_sys::Object::new();
    js_sys::Reflect::set(&cyclic, &"self".into(), &cyclic).unwrap();
    let err = firmo_wasm::validate_record(cyclic.unchecked_ref()).unwrap_err();
    assert!(error_message(err).contains("nested more than 64 levels"));

    let err = firmo_wasm::validate_record(JsValue::from_str("{\"headcount\":").unchecked_ref())
        .unwrap_err();
    assert!(error_message(err).starts_with("record is not valid JSON: EOF"));

    let options = to_js(&json!({ "today": "2026-02-30" }));
    let err = Validator::new(Some(options.unchecked_into()))
        .err()
        .unwrap();
    assert_eq!(
        error_message(err),
        "options.today: \"2026-02-30\" is not a YYYY-MM-DD date"
    );
}

#[wasm_bindgen_test]
fn the_browser_is_chromium() {
    // The parity claim is about a real browser's wasm engine, not Node's.
    let ua = js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| js_sys::Reflect::get(&n, &"userAgent".into()))
        .ok()
        .and_then(|ua| ua.as_string())
        .unwrap_or_default();
    assert!(ua.contains("Chrome"), "user agent {ua:?}");
}
