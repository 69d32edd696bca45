//! The JSON Schema (draft 2020-12) of a plain merged record, generated from the field
//! catalogue, published by `firmo schema`. It states the same limits the field rules
//! check by hand ([`crate::rules`]); `tests/schema_agreement.rs` proves, on every fixture
//! and on generated records, that a record is schema-valid exactly when the rules find no
//! reject and no unknown key, with one documented exception: "not after today"
//! (`date-in-future`), which a static schema cannot state.
//!
//! Choices that keep the two in step:
//! - `null` is allowed for every field (it means "no value", as in the validator).
//! - "Blank" is spelled out as a character class of Unicode White_Space ([`WHITESPACE`]),
//!   so no regex engine's idea of `\s` is involved.
//! - Dates: a year from 1900 by pattern, and `format: date` (RFC 3339 full-date: a real
//!   calendar day). Validators only check `format` when asked to (2020-12 makes it an
//!   annotation by default), so consumers should enable format assertion.
//! - Lists have no `uniqueItems`: repeats are a flag (`duplicate-items`), not a reject.

use std::fmt::Write;

use serde_json::{Value as Json, json};

use crate::field::{FIELDS, FieldKind, FieldSpec, SIGNALS};
use crate::rules::RULES;

/// The schema's `$id`.
pub const SCHEMA_ID: &str = "https://firmo.invalid/schema/record.json";

/// Every Unicode White_Space character ([`char::is_whitespace`]), which "blank" means.
pub const WHITESPACE: &[char] = &[
    '\u{9}', '\u{a}', '\u{b}', '\u{c}', '\u{d}', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}',
    '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}',
    '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
];

/// A regex matching strings with at least one non-whitespace character.
pub fn not_blank_pattern() -> String {
    let mut class = String::from("[^");
    for c in WHITESPACE {
        // `\uXXXX` escapes mean the same in ECMA-262 and Rust regex syntax.
        let _ = write!(class, "\\u{:04X}", u32::from(*c));
    }
    class.push(']');
    class
}

/// Years 1900..=9999, then `-MM-DD`; `format: date` checks the day exists.
pub const DATE_PATTERN: &str = "^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$";

fn field_schema(spec: &FieldSpec) -> Json {
    let mut schema = match spec.kind {
        FieldKind::Text { max_len } => json!({
            "type": ["string", "null"],
            "minLength": 1,
            "maxLength": max_len,
            "pattern": not_blank_pattern(),
        }),
        FieldKind::Integer { min, max } => json!({
            "type": ["integer", "null"], "minimum": min, "maximum": max,
        }),
        FieldKind::Decimal { min, max } => json!({
            "type": ["number", "null"], "minimum": min, "maximum": max,
        }),
        FieldKind::Enum { options } => {
            let mut values: Vec<Json> = options.iter().map(|o| json!(o.value)).collect();
            values.push(Json::Null);
            json!({ "type": ["string", "null"], "enum": values })
        }
        FieldKind::TextList {
            max_items,
            max_item_len,
        } => json!({
            "type": ["array", "null"],
            "maxItems": max_items,
            "items": {
                "type": "string",
                "minLength": 1,
                "maxLength": max_item_len,
                "pattern": not_blank_pattern(),
            },
        }),
        FieldKind::Date { min_year } => {
            debug_assert_eq!(min_year, 1900, "DATE_PATTERN encodes the first year");
            json!({ "type": ["string", "null"], "format": "date", "pattern": DATE_PATTERN })
        }
    };
    schema["title"] = json!(spec.label);
    schema["description"] = json!(spec.description);
    schema
}

/// The JSON Schema of a plain merged record (`{"headcount": 120, ...}`).
pub fn record_schema() -> Json {
    let properties: serde_json::Map<String, Json> = FIELDS
        .iter()
        .map(|spec| (spec.name.to_owned(), field_schema(spec)))
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "firmo merged company record",
        "description": "Firmographic fields firmo writes to a CRM company. Generated from firmo-core's field catalogue; \
                        `last_funding_date` must also not be after today, which a schema cannot state.",
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    })
}

/// The catalogue as JSON, for the WASM module's `fieldCatalog()` and `firmo rules`:
/// fields (with their kinds, limits and merge defaults), signals and rules.
pub fn catalog_json() -> Json {
    let rules: Vec<Json> = RULES
        .iter()
        .map(|r| {
            let mut meta = serde_json::to_value(r.meta()).unwrap_or(Json::Null);
            meta["explanation"] = json!(r.meta().explanation);
            meta
        })
        .collect();
    json!({
        "rules_version": crate::rules::RULES_VERSION,
        "fields": FIELDS.iter().map(|s| {
            let mut f = serde_json::to_value(s).unwrap_or(Json::Null);
            f["property"] = json!(s.field.property_name());
            f
        }).collect::<Vec<_>>(),
        "signals": SIGNALS.iter().map(|s| {
            let mut j = serde_json::to_value(s).unwrap_or(Json::Null);
            j["property"] = json!(s.signal.property_name());
            j
        }).collect::<Vec<_>>(),
        "rules": rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_list_is_exactly_unicode_white_space() {
        let all: Vec<char> = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect();
        assert_eq!(all, WHITESPACE);
    }

    #[test]
    fn schema_reads_the_catalogue() {
        let schema = record_schema();
        assert_eq!(schema["properties"]["headcount"]["maximum"], 5_000_000);
        assert_eq!(schema["properties"]["tech_stack"]["maxItems"], 500);
        assert_eq!(schema["properties"]["industry"]["maxLength"], 100);
        assert_eq!(schema["properties"]["funding_stage"]["enum"][3], "series_a");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["properties"].as_object().unwrap().len(), 9);
    }

    #[test]
    fn catalog_lists_fields_signals_and_rules() {
        let catalog = catalog_json();
        assert_eq!(catalog["fields"][1]["name"], "headcount");
        assert_eq!(catalog["fields"][1]["property"], "firmo_headcount");
        assert_eq!(catalog["fields"][1]["kind"]["type"], "integer");
        assert_eq!(catalog["signals"][0]["property"], "firmo_post_funding");
        assert_eq!(catalog["rules"][0]["code"], "FQ001");
        assert!(
            catalog["rules"][0]["explanation"]
                .as_str()
                .unwrap()
                .contains("## Fix")
        );
    }
}
