//! The validator: runs every rule of [`crate::rules::RULES`] on a record or a field and
//! returns the findings in a fixed order: by field in catalogue order (record-level
//! findings without a field last), then by rule code.
//!
//! Native callers validate a [`MergedRecord`]; the CLI's `firmo validate FILE` and the
//! WASM module's `validateRecord` / `validateField` hand in JSON, where a value of the
//! wrong JSON type or an unknown key becomes a finding, never an error or a panic.

use crate::field::{Field, FieldKind};
use crate::finding::Finding;
use crate::merge::MergedRecord;
use crate::rules::{
    NumberOutOfRange, RECORD_RULES, RecordView, UnknownField, ValidationContext, WrongType,
    field_rules_for,
};
use crate::value::{Date, TypeMismatch, Value, describe_json};

/// Validates a merged record.
pub fn validate_record(record: &MergedRecord, ctx: &ValidationContext) -> Vec<Finding> {
    let mut out = Vec::new();
    validate_record_into(record, ctx, &mut out);
    out
}

/// [`validate_record`], appending to `out` (kept allocated between records). Findings
/// already in `out` take part in the final ordering, so pass it empty.
pub fn validate_record_into(
    record: &MergedRecord,
    ctx: &ValidationContext,
    out: &mut Vec<Finding>,
) {
    validate_view(&RecordView::of_merged(record), ctx, out);
    sort(out);
}

/// Validates one field's value (as the user types it in a CRM form).
pub fn validate_value(field: Field, value: &Value, ctx: &ValidationContext) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in field_rules_for(field.kind()) {
        rule.check_field(field, value, ctx, &mut out);
    }
    out
}

/// Validates a plain JSON record (`{"headcount": 120, "industry": "Software"}`) with the
/// default tolerances. `null` means "no value".
pub fn validate_json_record(json: &serde_json::Value, today: Date) -> Vec<Finding> {
    validate_json_record_with(json, &ValidationContext::new(today))
}

/// [`validate_json_record`] with explicit tolerances.
pub fn validate_json_record_with(
    json: &serde_json::Value,
    ctx: &ValidationContext,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(object) = json.as_object() else {
        out.push(WrongType::not_an_object(json));
        return out;
    };
    let mut values: [Option<Value>; Field::ALL.len()] = Default::default();
    let mut unknown: Vec<&str> = Vec::new();
    for (key, item) in object {
        // Record keys are exact: the schema and the CRM know `headcount`, not `Headcount`.
        let Some(field) = Field::ALL.into_iter().find(|f| f.name() == key) else {
            unknown.push(key);
            continue;
        };
        match parse_field_json(field, item) {
            Ok(value) => values[field as usize] = value,
            Err(finding) => out.push(finding),
        }
    }
    validate_view(&RecordView::of_values(&values), ctx, &mut out);
    // serde_json's map order depends on a cargo feature; don't let it leak into output.
    unknown.sort_unstable();
    out.extend(unknown.into_iter().map(UnknownField::finding));
    sort(&mut out);
    out
}

/// Validates one field's JSON value, the field given by name (case and surrounding blanks
/// ignored). An unknown name is a finding.
pub fn validate_field_json(
    field_name: &str,
    json: &serde_json::Value,
    today: Date,
) -> Vec<Finding> {
    let Some(field) = Field::from_name(field_name) else {
        return vec![UnknownField::finding(field_name)];
    };
    match parse_field_json(field, json) {
        Ok(Some(value)) => validate_value(field, &value, &ValidationContext::new(today)),
        Ok(None) => Vec::new(),
        Err(finding) => vec![finding],
    }
}

/// Reads a JSON value as `field`'s type, as the JSON Schema does: `null` is no value, a
/// whole number written as a float (`120.0`) is an integer, and a whole number beyond 64
/// bits is out of range (not the wrong type). Anything else that does not fit is a
/// wrong-type finding.
pub fn parse_field_json(field: Field, json: &serde_json::Value) -> Result<Option<Value>, Finding> {
    if json.is_null() {
        return Ok(None);
    }
    if let FieldKind::Integer { .. } = field.kind() {
        return parse_integer(field, json).map(Some);
    }
    Value::from_json(field, json).map_err(|m| WrongType::mismatch(&m))
}

fn parse_integer(field: Field, json: &serde_json::Value) -> Result<Value, Finding> {
    let serde_json::Value::Number(n) = json else {
        return Err(mismatch(field, json));
    };
    if let Some(i) = n.as_i64() {
        return Ok(Value::Integer(i));
    }
    if n.is_u64() {
        return Err(NumberOutOfRange::finding(field, &n.to_string()));
    }
    match n.as_f64() {
        Some(x) if x.is_finite() && x.fract() == 0.0 => {
            // -2^63 is exact in f64; 2^63 is the first value past i64::MAX.
            if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&x) {
                Ok(Value::Integer(x as i64))
            } else {
                Err(NumberOutOfRange::finding(field, &n.to_string()))
            }
        }
        _ => Err(mismatch(field, json)),
    }
}

fn mismatch(field: Field, json: &serde_json::Value) -> Finding {
    WrongType::mismatch(&TypeMismatch {
        field,
        expected: WrongType::expected(field.kind()),
        got: describe_json(json),
    })
}

fn validate_view(view: &RecordView<'_>, ctx: &ValidationContext, out: &mut Vec<Finding>) {
    for field in Field::ALL {
        if let Some(value) = view.value(field) {
            for rule in field_rules_for(field.kind()) {
                rule.check_field(field, value, ctx, out);
            }
        }
    }
    for rule in RECORD_RULES {
        rule.check_record(view, ctx, out);
    }
}

fn sort(findings: &mut [Finding]) {
    // Stable: findings of one field and code keep the order their rule emitted them in.
    if findings.len() < 2 {
        return;
    }
    let position = |f: &Finding| f.field.map_or(usize::MAX, |f| f as usize);
    findings.sort_by(|a, b| {
        position(a)
            .cmp(&position(b))
            .then_with(|| a.code.cmp(&b.code))
    });
}

/// Whether any finding is a reject (the record, or field, must not be written).
pub fn has_reject(findings: &[Finding]) -> bool {
    findings
        .iter()
        .any(|f| f.severity == crate::finding::Severity::Reject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> Date {
        Date::new(2026, 11, 26).unwrap()
    }

    fn codes(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn a_good_record_has_no_findings() {
        let record = json!({
            "industry": "Software", "headcount": 120, "revenue_range": "10m_50m",
            "tech_stack": ["AWS", "React"], "funding_stage": "series_b",
            "last_funding_date": "2024-05-02", "last_funding_amount": 25_000_000,
            "employee_growth_6mo": 12.5, "recent_job_postings": 14
        });
        assert!(validate_json_record(&record, today()).is_empty());
    }

    #[test]
    fn findings_come_in_field_then_code_order() {
        let record = json!({
            "zeta": 1, "alpha": 2, "recent_job_postings": -1, "headcount": "many",
            "industry": "", "funding_stage": "seed"
        });
        let findings = validate_json_record(&record, today());
        assert_eq!(
            codes(&findings),
            ["FQ002", "FQ001", "FQ022", "FQ004", "FQ011", "FQ011"]
        );
        assert!(findings[4].message.contains("\"alpha\""));
        assert!(has_reject(&findings));
    }

    #[test]
    fn integers_follow_json_schema() {
        let check =
            |v: serde_json::Value| codes(&validate_field_json("headcount", &v, today())).join(",");
        assert_eq!(check(json!(120.0)), "");
        assert_eq!(check(json!(120.5)), "FQ001");
        assert_eq!(check(json!(1e300)), "FQ004");
        assert_eq!(check(json!(u64::MAX)), "FQ004");
        assert_eq!(check(json!(i64::MAX)), "FQ004");
        assert_eq!(check(json!(null)), "");
        assert_eq!(check(json!([1])), "FQ001");
        assert_eq!(
            validate_field_json("headcount", &json!(1e300), today())[0].message,
            "headcount 1e+300 is out of range: it must be between 1 and 5000000"
        );
    }

    #[test]
    fn field_names_are_looked_up_leniently_but_unknown_ones_are_findings() {
        assert!(validate_field_json(" Headcount ", &json!(5), today()).is_empty());
        assert_eq!(
            codes(&validate_field_json("employees", &json!(5), today())),
            ["FQ011"]
        );
    }

    #[test]
    fn non_objects_are_one_wrong_type_finding() {
        let findings = validate_json_record(&json!([1, 2, 3]), today());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].field, None);
        assert_eq!(
            findings[0].message,
            "a record must be a JSON object of field values, got an array of 3 items"
        );
    }
}
