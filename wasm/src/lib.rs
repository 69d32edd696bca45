//! firmo-wasm: firmo-core's merge and quality rules for JavaScript, through wasm-bindgen.
//!
//! Thin glue, by design: every verdict comes from `firmo_core` (the same functions the
//! sync engine and `firmo validate` call), so the browser and the engine cannot disagree.
//! This crate only converts values across the boundary, reads the clock for "today"
//! (core has none), and turns bad input into a thrown JS `Error` with a message.
//!
//! ```js
//! import init, { validateField, Validator } from 'firmo-wasm';
//! await init();                                  // browsers; Node: initSync, see README
//! validateField('headcount', 0);                 // [{ code: 'FQ004', severity: 'reject', … }]
//! const v = new Validator({ today: '2026-11-26' });
//! v.validateJson('{"headcount": 120}');          // 0 rejects; v.findings() has the details
//! ```
//!
//! Data crosses the boundary in firmo's JSON shapes (snake_case keys, as the CLI and the
//! fixtures print them); the exported names are camelCase. The TypeScript types are
//! generated from the catalogue by `build.rs`.

mod fast;
mod input;
mod js;
mod text;

use firmo_core::config::CoreConfig;
use firmo_core::validate::{validate_field_json, validate_json_record_with};
use firmo_core::{Date, Field, Finding, RULES_VERSION, Severity, ValidationContext};
use serde::Deserialize as _;
use serde_json::Value as Json;
use wasm_bindgen::prelude::*;

use crate::js::{error, to_js, to_json};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!(concat!(env!("OUT_DIR"), "/firmo.d.ts"));

// Typed returns: each is a plain JS value whose TypeScript type is declared above.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "Finding[]")]
    #[derive(Debug, Clone)]
    pub type Findings;
    #[wasm_bindgen(typescript_type = "FieldCatalog")]
    #[derive(Debug, Clone)]
    pub type FieldCatalog;
    #[wasm_bindgen(typescript_type = "MergePreview")]
    #[derive(Debug, Clone)]
    pub type MergePreview;
    #[wasm_bindgen(typescript_type = "object")]
    #[derive(Debug, Clone)]
    pub type JsonSchema;
    #[wasm_bindgen(typescript_type = "ValidatorOptions")]
    #[derive(Debug, Clone)]
    pub type ValidatorOptions;
    #[wasm_bindgen(typescript_type = "PlainRecord | string")]
    #[derive(Debug, Clone)]
    pub type RecordInput;
    #[wasm_bindgen(typescript_type = "string")]
    #[derive(Debug, Clone)]
    pub type JsonText;
    #[wasm_bindgen(typescript_type = "ProviderRecord[] | string")]
    #[derive(Debug, Clone)]
    pub type ProviderRecordsInput;
    #[wasm_bindgen(typescript_type = "ContactFinding[]")]
    #[derive(Debug, Clone)]
    pub type ContactFindings;
    #[wasm_bindgen(typescript_type = "ContactEvaluation")]
    #[derive(Debug, Clone)]
    pub type ContactEvaluation;
    #[wasm_bindgen(typescript_type = "PlainContact | string")]
    #[derive(Debug, Clone)]
    pub type ContactInput;
    #[wasm_bindgen(typescript_type = "FieldValue | null | undefined")]
    #[derive(Debug, Clone)]
    pub type FieldValueInput;
}

/// Installs the panic hook, so a bug shows its message in the console instead of a bare
/// `unreachable` trap.
#[wasm_bindgen(start, skip_typescript)]
fn start() {
    #[cfg(feature = "console_error_panic_hook")]
    console_error_panic_hook::set_once();
}

/// The version of the rules (changes when a rule is added, removed or changes what it
/// accepts): compare it with the sync engine's to know both judge alike.
#[wasm_bindgen(js_name = rulesVersion)]
pub fn rules_version() -> String {
    RULES_VERSION.to_owned()
}

/// Fields (names, labels, types, limits, allowed values, CRM property names), signals
/// and rules: everything needed to build a form.
#[wasm_bindgen(js_name = fieldCatalog)]
pub fn field_catalog() -> Result<FieldCatalog, JsError> {
    Ok(to_js(&firmo_core::catalog_json())?.unchecked_into())
}

/// The JSON Schema (draft 2020-12) of a plain record, generated from the catalogue.
#[wasm_bindgen(js_name = recordSchema)]
pub fn record_schema() -> Result<JsonSchema, JsError> {
    Ok(to_js(&firmo_core::record_schema())?.unchecked_into())
}

/// A company domain in canonical form (`"https://WWW.Example.com/about"` →
/// `"example.com"`). Throws an `Error` saying why when there is no domain to be had.
#[wasm_bindgen(js_name = normalizeDomain)]
pub fn normalize_domain(input: &str) -> Result<String, JsError> {
    firmo_core::normalize::domain(input).map_err(|e| error(e.to_string()))
}

/// Findings for one field's value, today being the current UTC date. `value` is the
/// field's JSON value (a number for `headcount`); `null`/`undefined` mean "no value".
/// An unknown field name is a finding (`unknown-field`), a value of the wrong type too.
#[wasm_bindgen(js_name = validateField)]
pub fn validate_field(field: &str, value: &FieldValueInput) -> Result<Findings, JsError> {
    Validator::now().validate_field(field, value)
}

/// `validateField` for text as typed in a form or stored by HubSpot: blank is "no
/// value", numbers are read as JSON numbers, lists split on `;`.
#[wasm_bindgen(js_name = validateFieldText)]
pub fn validate_field_text(field: &str, text: &str) -> Result<Findings, JsError> {
    Validator::now().validate_field_text(field, text)
}

/// Findings for a whole plain record (an object, or its JSON text), today being the
/// current UTC date. Throws on malformed JSON text.
#[wasm_bindgen(js_name = validateRecord)]
pub fn validate_record(record: &RecordInput) -> Result<Findings, JsError> {
    Validator::now().validate_record(record)
}

/// Findings for one contact field's JSON value (`job_title`, `linkedin_url`,
/// `seniority`, `role_start_date`), today being the current UTC date; the same rules and
/// codes as company fields.
#[wasm_bindgen(js_name = validateContactField)]
pub fn validate_contact_field(
    field: &str,
    value: &FieldValueInput,
) -> Result<ContactFindings, JsError> {
    Validator::now().validate_contact_field(field, value)
}

/// A whole contact (an object, or its JSON text): its findings, the executive-engineering
/// role its title names, and the executive change it is (title and start date) when it
/// is one. Throws on malformed JSON text.
#[wasm_bindgen(js_name = validateContact)]
pub fn validate_contact(contact: &ContactInput) -> Result<ContactEvaluation, JsError> {
    Validator::now().validate_contact(contact)
}

/// Merges one company's provider records with the default configuration: the merged
/// record with each field's winning source and disagreements, its findings, the derived
/// signals, and what was wrong with the input.
#[wasm_bindgen(js_name = mergePreview)]
pub fn merge_preview(records: &ProviderRecordsInput) -> Result<MergePreview, JsError> {
    Validator::now().merge_preview(records)
}

/// Runs shared fixture cases (`tests/fixtures/rules/*.json`: one case object, or an array
/// of them) through `firmo_core::fixture::run_fixture` and returns the outcomes as JSON
/// text (one outcome, or an array), each in the shape of its case's `expect`. Parity
/// tests compare them with the native answers; JSON text keeps 64-bit numbers exact.
#[wasm_bindgen(js_name = runFixture)]
pub fn run_fixture(cases: &str) -> Result<String, JsError> {
    let cases: Json = serde_json::from_str(cases).map_err(|e| not_json("fixture", &e))?;
    let outcome = match &cases {
        Json::Array(items) => {
            Json::Array(items.iter().map(firmo_core::fixture::run_fixture).collect())
        }
        case => firmo_core::fixture::run_fixture(case),
    };
    serde_json::to_string(&outcome).map_err(|e| error(format!("serializing: {e}")))
}

/// A validator with fixed options: "today" and the core configuration (the same
/// `[merge]`, `[signals]` and `[quality]` tables as `firmo.toml`). Reuse one for many
/// records; `validateJson` is the fast path.
#[wasm_bindgen]
pub struct Validator {
    config: CoreConfig,
    ctx: ValidationContext,
    /// The findings of the last `validateJson` call, converted only when asked for.
    last: Vec<Finding>,
    /// Reused decoding state of `validateJson`.
    fast: fast::FastRecord,
    /// Reused input buffer the record text is written into.
    input: input::Input,
}

#[wasm_bindgen]
impl Validator {
    /// `options`: `{ today?: "YYYY-MM-DD", config?: CoreConfig }`. Throws an `Error`
    /// naming the problem for a bad date or config (unknown keys included).
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<ValidatorOptions>) -> Result<Validator, JsError> {
        let options = match options {
            Some(options) => to_json(&options, "options")?,
            None => Json::Null,
        };
        Validator::from_options(&options).map_err(error)
    }

    /// "Today" as `YYYY-MM-DD`.
    #[wasm_bindgen(getter)]
    pub fn today(&self) -> String {
        self.ctx.today.to_string()
    }

    /// Sets "today" (`YYYY-MM-DD`), e.g. when a long-lived validator passes midnight.
    #[wasm_bindgen(setter)]
    pub fn set_today(&mut self, today: &str) -> Result<(), JsError> {
        self.ctx.today = parse_today(today).map_err(error)?;
        Ok(())
    }

    /// Validates a record given as JSON text and returns how many findings are rejects
    /// (0: the record may be written). The findings themselves: `findings()`.
    /// Throws on malformed JSON. The fast path: use it for many records.
    #[wasm_bindgen(js_name = validateJson)]
    pub fn validate_json(&mut self, json: &JsonText) -> Result<u32, JsError> {
        self.last.clear();
        let Some(text) = self.input.string(json) else {
            return Err(error(
                "record: expected JSON text (a string); pass objects to validateObject",
            ));
        };
        validate_text(text, &self.ctx, &mut self.fast, &mut self.last)?;
        Ok(rejects(&self.last))
    }

    /// `validateJson` for a record given as a JS object (or JSON text).
    #[wasm_bindgen(js_name = validateObject)]
    pub fn validate_object(&mut self, record: &RecordInput) -> Result<u32, JsError> {
        self.run_record(record)?;
        Ok(rejects(&self.last))
    }

    /// The findings of the last `validateJson` or `validateObject` call.
    pub fn findings(&self) -> Result<Findings, JsError> {
        Ok(to_js(&self.last)?.unchecked_into())
    }

    /// Findings for a whole plain record (an object, or its JSON text).
    #[wasm_bindgen(js_name = validateRecord)]
    pub fn validate_record(&mut self, record: &RecordInput) -> Result<Findings, JsError> {
        self.run_record(record)?;
        Ok(to_js(&self.last)?.unchecked_into())
    }

    /// Findings for one field's JSON value.
    #[wasm_bindgen(js_name = validateField)]
    pub fn validate_field(
        &self,
        field: &str,
        value: &FieldValueInput,
    ) -> Result<Findings, JsError> {
        let value = to_json(value, field)?;
        Ok(to_js(&validate_field_json(field, &value, self.ctx.today))?.unchecked_into())
    }

    /// Findings for one field's value as typed in a form (see the free function).
    #[wasm_bindgen(js_name = validateFieldText)]
    pub fn validate_field_text(&self, field: &str, text: &str) -> Result<Findings, JsError> {
        let findings = match Field::from_name(field) {
            Some(f) => validate_field_json(field, &text::field_json(f, text), self.ctx.today),
            // Unknown names get core's finding (with its "did you mean" hint).
            None => validate_field_json(field, &Json::Null, self.ctx.today),
        };
        Ok(to_js(&findings)?.unchecked_into())
    }

    /// Findings for one contact field's JSON value (see the free function).
    #[wasm_bindgen(js_name = validateContactField)]
    pub fn validate_contact_field(
        &self,
        field: &str,
        value: &FieldValueInput,
    ) -> Result<ContactFindings, JsError> {
        let value = to_json(value, field)?;
        let findings = firmo_core::validate_contact_field_json(field, &value, self.ctx.today);
        Ok(to_js(&findings)?.unchecked_into())
    }

    /// A whole contact's evaluation (see the free function).
    #[wasm_bindgen(js_name = validateContact)]
    pub fn validate_contact(
        &mut self,
        contact: &ContactInput,
    ) -> Result<ContactEvaluation, JsError> {
        let contact = match self.input.text(contact) {
            Some(text) => serde_json::from_str(text).map_err(|e| not_json("contact", &e))?,
            None => to_json(contact, "contact")?,
        };
        let evaluation = firmo_core::evaluate_contact_json(&contact, self.ctx.today);
        Ok(to_js(&evaluation)?.unchecked_into())
    }

    /// Merges one company's provider records (an array, or its JSON text) under this
    /// validator's configuration.
    #[wasm_bindgen(js_name = mergePreview)]
    pub fn merge_preview(
        &mut self,
        records: &ProviderRecordsInput,
    ) -> Result<MergePreview, JsError> {
        let records = match self.input.text(records) {
            Some(text) => serde_json::from_str(text).map_err(|e| not_json("records", &e))?,
            None => to_json(records, "records")?,
        };
        let preview = firmo_core::merge_preview(&records, &self.config, self.ctx.today);
        Ok(to_js(&preview)?.unchecked_into())
    }
}

impl Validator {
    /// Validates a record given as JSON text or as a JS object; findings in `self.last`.
    fn run_record(&mut self, record: &JsValue) -> Result<(), JsError> {
        self.last.clear(); // a throw below must not leave the previous record's findings
        if let Some(text) = self.input.text(record) {
            return validate_text(text, &self.ctx, &mut self.fast, &mut self.last);
        }
        // Something JSON would not carry as it is: the exact conversion names it.
        let record = to_json(record, "record")?;
        self.last = validate_json_record_with(&record, &self.ctx);
        Ok(())
    }

    /// Default options, today being the current UTC date.
    fn now() -> Validator {
        Validator::with(CoreConfig::default(), today_utc())
    }

    fn with(config: CoreConfig, today: Date) -> Validator {
        let ctx = ValidationContext {
            today,
            quality: config.quality.clone(),
        };
        Validator {
            config,
            ctx,
            last: Vec::new(),
            fast: fast::FastRecord::default(),
            input: input::Input::new(),
        }
    }

    /// Options from their JSON form; errors name the key at fault.
    fn from_options(options: &Json) -> Result<Validator, String> {
        let empty = serde_json::Map::new();
        let map = match options {
            Json::Null => &empty,
            Json::Object(map) => map,
            other => {
                return Err(format!(
                    "options: expected an object, got {}",
                    firmo_core::value::describe_json(other)
                ));
            }
        };
        if let Some(key) = map
            .keys()
            .find(|k| !["today", "config"].contains(&k.as_str()))
        {
            return Err(format!(
                "options.{key}: unknown option (known: today, config)"
            ));
        }
        let today = match map.get("today") {
            None | Some(Json::Null) => today_utc(),
            Some(Json::String(s)) => parse_today(s).map_err(|e| format!("options.{e}"))?,
            Some(other) => {
                return Err(format!(
                    "options.today: expected a YYYY-MM-DD string, got {}",
                    firmo_core::value::describe_json(other)
                ));
            }
        };
        let config = match map.get("config") {
            None | Some(Json::Null) => CoreConfig::default(),
            // The same serde type the CLI reads firmo.toml into, so the same checks.
            Some(config) => {
                CoreConfig::deserialize(config).map_err(|e| format!("options.config: {e}"))?
            }
        };
        Ok(Validator::with(config, today))
    }
}

/// Validates JSON text: the fast path when it takes the record, else core's own decoding.
fn validate_text(
    text: &str,
    ctx: &ValidationContext,
    fast: &mut fast::FastRecord,
    out: &mut Vec<Finding>,
) -> Result<(), JsError> {
    if !fast.validate(text, ctx, out) {
        let record: Json = serde_json::from_str(text).map_err(|e| not_json("record", &e))?;
        *out = validate_json_record_with(&record, ctx);
    }
    Ok(())
}

fn rejects(findings: &[Finding]) -> u32 {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Reject)
        .count() as u32
}

fn parse_today(s: &str) -> Result<Date, String> {
    Date::parse_iso(s).ok_or_else(|| format!("today: {s:?} is not a YYYY-MM-DD date"))
}

/// The current date in UTC, from the JS clock.
fn today_utc() -> Date {
    let now = js_sys::Date::new_0();
    // JS dates are within ±273,790 years of 1970: always a representable year here, but a
    // wrong clock must not trap, so fall back to the epoch.
    Date::new(
        now.get_utc_full_year() as i32,
        now.get_utc_month() as u8 + 1,
        now.get_utc_date() as u8,
    )
    .unwrap_or_else(|| Date::new(1970, 1, 1).expect("the epoch is a date"))
}

fn not_json(what: &str, e: &serde_json::Error) -> JsError {
    error(format!("{what} is not valid JSON: {e}"))
}
