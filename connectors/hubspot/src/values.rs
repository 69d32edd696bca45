//! Values in the formats HubSpot accepts: every value is a string; numbers plain decimal
//! (no exponent, no separators), dates `YYYY-MM-DD` (midnight UTC), datetimes ISO 8601
//! with milliseconds, booleans `true`/`false`, multi-selects `;`-joined option values.
//!
//! A value that can't be written to a property of the given type is an error here,
//! before any request, rather than a 400 from HubSpot.

use firmo_connect::crm::{PropertyDef, PropertyType, format_timestamp, parse_timestamp};
use firmo_core::{Date, UnixMillis, Value};

/// Why a value can't be written to a property (the CRM trait's one preflight error).
pub use firmo_connect::crm::ValueError;

/// HubSpot's limit on a text property's value (knowledge.hubspot.com, "Property field
/// types": single-line and multi-line text take up to 65,536 characters).
pub const TEXT_MAX_CHARS: usize = 65_536;

/// An integer.
pub fn integer(n: i64) -> String {
    n.to_string()
}

/// A decimal number, shortest round-trip form without an exponent (`1250000`, `12.5`);
/// `None` for NaN or infinity.
pub fn number(n: f64) -> Option<String> {
    if !n.is_finite() {
        return None;
    }
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        // Whole numbers without a trailing `.0`.
        return Some(format!("{}", n as i64));
    }
    // Rust's `Display` for f64 is the shortest round-trip decimal and never uses an
    // exponent.
    Some(format!("{n}"))
}

/// A date as HubSpot reads it back: `YYYY-MM-DD` (midnight UTC).
pub fn date(d: Date) -> String {
    d.to_string()
}

/// A date as epoch milliseconds at 00:00:00 UTC, the other form HubSpot accepts.
pub fn date_millis(d: Date) -> String {
    d.midnight_utc_millis().to_string()
}

/// A datetime: `2024-05-01T12:30:00.123Z`.
pub fn datetime(at: UnixMillis) -> String {
    format_timestamp(at)
}

/// A boolean.
pub fn boolean(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Multi-select (checkbox) option values joined with `;`, deduplicated in order. A
/// value containing `;` can't be an option value and is an error.
pub fn multi_select<S: AsRef<str>>(values: &[S]) -> Result<String, String> {
    let mut out: Vec<&str> = Vec::with_capacity(values.len());
    for v in values {
        let v = v.as_ref().trim();
        if v.contains(';') {
            return Err(format!(
                "{v:?} contains `;`, HubSpot's multi-select separator"
            ));
        }
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out.join(";"))
}

/// A canonical firmo value formatted for `property`, checked against its type (and its
/// options, for enumerations; its length, for text).
pub fn format_for(property: &PropertyDef, value: &Value) -> Result<String, ValueError> {
    let text = encode(property, value)?;
    if matches!(
        property.property_type,
        PropertyType::String | PropertyType::PhoneNumber
    ) && text.chars().count() > TEXT_MAX_CHARS
    {
        return Err(value_error(
            property,
            &text,
            format!("longer than HubSpot's {TEXT_MAX_CHARS} character limit"),
        ));
    }
    Ok(text)
}

/// The error for `shown` (the value as it would have been sent) written to `property`.
fn value_error(property: &PropertyDef, shown: &str, problem: String) -> ValueError {
    ValueError {
        property: property.name.clone(),
        property_type: format!("{}/{}", property.property_type, property.field_type),
        // A rejected value can be a whole pasted page: its start names it well enough.
        value: shown.chars().take(40).collect(),
        problem,
    }
}

/// The value's own text, for an error about a value that has no HubSpot form.
fn plain(value: &Value) -> String {
    match value {
        Value::Text(s) => s.clone(),
        Value::Integer(n) => n.to_string(),
        Value::Decimal(n) => n.to_string(),
        Value::TextList(items) => items.join(";"),
        Value::Date(d) => d.to_string(),
    }
}

fn encode(property: &PropertyDef, value: &Value) -> Result<String, ValueError> {
    let fail = |problem: String| value_error(property, &plain(value), problem);
    let check_option = |v: &str| -> Result<(), ValueError> {
        if property.options.iter().any(|o| o.value == v) {
            return Ok(());
        }
        // A long option list (HubSpot's `industry` has 150) would drown the message.
        let shown: Vec<&str> = property
            .options
            .iter()
            .take(8)
            .map(|o| o.value.as_str())
            .collect();
        let more = if property.options.len() > 8 {
            ", …"
        } else {
            ""
        };
        Err(fail(format!(
            "{v:?} is not one of its options ({}{more})",
            shown.join(", ")
        )))
    };
    match (&property.property_type, value) {
        (PropertyType::Number | PropertyType::String, Value::Integer(n)) => Ok(integer(*n)),
        (PropertyType::Number | PropertyType::String, Value::Decimal(n)) => {
            number(*n).ok_or_else(|| fail(format!("{n} is not a finite number")))
        }
        (PropertyType::Date | PropertyType::String, Value::Date(d)) => Ok(date(*d)),
        (PropertyType::DateTime, Value::Date(d)) => {
            Ok(datetime(UnixMillis(d.midnight_utc_millis())))
        }
        (PropertyType::Bool, Value::Text(t)) => match t.as_str() {
            "true" | "false" => Ok(t.clone()),
            other => Err(fail(format!("{other:?} is not true or false"))),
        },
        (PropertyType::Enumeration, Value::TextList(items))
            if property.field_type == "checkbox" =>
        {
            for item in items {
                check_option(item)?;
            }
            multi_select(items).map_err(fail)
        }
        (PropertyType::Enumeration, Value::Text(t)) => {
            if property.field_type == "checkbox" {
                for item in t.split(';') {
                    check_option(item)?;
                }
            } else {
                check_option(t)?;
            }
            Ok(t.clone())
        }
        (PropertyType::String | PropertyType::PhoneNumber, Value::Text(t)) => Ok(t.clone()),
        (PropertyType::String, Value::TextList(items)) => multi_select(items).map_err(fail),
        (t, v) => Err(fail(format!(
            "a {} value can't be written to a {t} property",
            kind(v)
        ))),
    }
}

/// Whether two strings HubSpot holds for a property of `property_type` are the same
/// value: a number may be read back as `120.0` that was written as `120`, a date as
/// epoch milliseconds, and the order of a `;`-joined list is noise.
pub fn same_value(property_type: &PropertyType, a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        return true;
    }
    match property_type {
        PropertyType::Number => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()).max(1.0),
            _ => false,
        },
        PropertyType::Date | PropertyType::DateTime => {
            match (parse_timestamp(a), parse_timestamp(b)) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            }
        }
        PropertyType::String | PropertyType::Enumeration if a.contains(';') || b.contains(';') => {
            let mut x: Vec<&str> = a.split(';').map(str::trim).collect();
            let mut y: Vec<&str> = b.split(';').map(str::trim).collect();
            x.sort_unstable();
            y.sort_unstable();
            x == y
        }
        _ => false,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Text(_) => "text",
        Value::Integer(_) => "integer",
        Value::Decimal(_) => "decimal",
        Value::TextList(_) => "list",
        Value::Date(_) => "date",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firmo_connect::crm::PropertyOption;

    fn def(t: PropertyType, field_type: &str, options: &[&str]) -> PropertyDef {
        PropertyDef {
            name: "p".into(),
            label: "P".into(),
            property_type: t,
            field_type: field_type.into(),
            group_name: "firmo".into(),
            options: options
                .iter()
                .map(|o| PropertyOption {
                    label: (*o).into(),
                    value: (*o).into(),
                })
                .collect(),
            description: String::new(),
            crm_defined: false,
        }
    }

    #[test]
    fn numbers_are_plain_decimal_strings() {
        assert_eq!(number(1_250_000.0).as_deref(), Some("1250000"));
        assert_eq!(number(12.5).as_deref(), Some("12.5"));
        assert_eq!(number(-0.25).as_deref(), Some("-0.25"));
        assert_eq!(number(1e21).as_deref(), Some("1000000000000000000000"));
        assert_eq!(number(f64::NAN), None);
        assert_eq!(integer(-42), "-42");
    }

    #[test]
    fn dates_are_midnight_utc() {
        let d = Date::new(2024, 3, 15).unwrap();
        assert_eq!(date(d), "2024-03-15");
        assert_eq!(date_millis(d), "1710460800000");
        assert_eq!(
            datetime(UnixMillis(1_710_460_800_000)),
            "2024-03-15T00:00:00.000Z"
        );
        assert_eq!(boolean(true), "true");
    }

    #[test]
    fn multi_selects_join_with_semicolons() {
        assert_eq!(
            multi_select(&["aws", "react", "aws", " "]).unwrap(),
            "aws;react"
        );
        assert!(multi_select(&["a;b"]).is_err());
    }

    #[test]
    fn format_for_checks_type_and_options() {
        let stage = def(PropertyType::Enumeration, "select", &["seed", "series_a"]);
        assert_eq!(
            format_for(&stage, &Value::Text("seed".into())).unwrap(),
            "seed"
        );
        let err = format_for(&stage, &Value::Text("series_z".into())).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"series_z\" is not one of its options"),
            "{err}"
        );
        let tech = def(PropertyType::Enumeration, "checkbox", &["aws", "gcp"]);
        assert_eq!(
            format_for(&tech, &Value::TextList(vec!["gcp".into(), "aws".into()])).unwrap(),
            "gcp;aws"
        );
        let n = def(PropertyType::Number, "number", &[]);
        assert_eq!(format_for(&n, &Value::Decimal(3.0)).unwrap(), "3");
        assert!(format_for(&n, &Value::Text("3".into())).is_err());
        let d = def(PropertyType::Date, "date", &[]);
        assert_eq!(
            format_for(&d, &Value::Date(Date::new(2023, 1, 2).unwrap())).unwrap(),
            "2023-01-02"
        );
        assert!(format_for(&d, &Value::Text("2024-05-02T10:00:00Z".into())).is_err());
        assert!(format_for(&n, &Value::Decimal(f64::NAN)).is_err());
        assert_eq!(format_for(&n, &Value::Decimal(12.5)).unwrap(), "12.5");
        let list = def(PropertyType::String, "textarea", &[]);
        assert_eq!(
            format_for(&list, &Value::TextList(vec!["AWS".into(), "React".into()])).unwrap(),
            "AWS;React"
        );
    }

    #[test]
    fn errors_name_the_property_and_a_short_value() {
        let many: Vec<String> = (0..20).map(|i| format!("o{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let e = def(PropertyType::Enumeration, "select", &refs);
        let err = format_for(&e, &Value::Text("nope".into())).unwrap_err();
        assert_eq!(err.property, "p");
        assert_eq!(err.value, "nope");
        assert!(err.problem.ends_with("o7, …)"), "{err}");
        assert!(!err.problem.contains("o8"), "{err}");

        let text = def(PropertyType::String, "text", &[]);
        let long = "x".repeat(TEXT_MAX_CHARS + 1);
        let err = format_for(&text, &Value::Text(long)).unwrap_err();
        assert!(err.problem.contains("65536 character limit"), "{err}");
        assert_eq!(err.value.chars().count(), 40);
        assert!(format_for(&text, &Value::Text("x".repeat(TEXT_MAX_CHARS))).is_ok());
    }

    #[test]
    fn read_back_forms_compare_equal() {
        assert!(same_value(&PropertyType::Number, "120", "120.0"));
        assert!(!same_value(&PropertyType::Number, "120", "121"));
        assert!(same_value(&PropertyType::String, "React;AWS", "AWS;React"));
        assert!(!same_value(&PropertyType::String, "React;AWS", "AWS"));
        assert!(same_value(
            &PropertyType::Date,
            "2024-05-02",
            "1714608000000"
        ));
        assert!(!same_value(&PropertyType::Date, "2024-05-02", "2024-05-03"));
        assert!(!same_value(&PropertyType::String, "a", "b"));
        assert!(same_value(&PropertyType::String, " a ", "a"));
    }
}
