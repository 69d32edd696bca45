//! Values in the formats HubSpot accepts: every value is a string; numbers plain decimal
//! (no exponent, no separators), dates `YYYY-MM-DD` (midnight UTC), datetimes ISO 8601
//! with milliseconds, booleans `true`/`false`, multi-selects `;`-joined option values.
//!
//! A value that can't be written to a property of the given type is an error here,
//! before any request, rather than a 400 from HubSpot.

use firmo_connect::crm::{PropertyDef, PropertyType, format_timestamp};
use firmo_core::{Date, UnixMillis, Value};

/// Why a value can't be written to a property.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property `{property}` ({property_type}): {problem}")]
pub struct ValueError {
    pub property: String,
    pub property_type: String,
    pub problem: String,
}

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
/// options, for enumerations).
pub fn format_for(property: &PropertyDef, value: &Value) -> Result<String, ValueError> {
    let fail = |problem: String| ValueError {
        property: property.name.clone(),
        property_type: format!("{}/{}", property.property_type, property.field_type),
        problem,
    };
    let check_option = |v: &str| -> Result<(), ValueError> {
        if property.options.iter().any(|o| o.value == v) {
            Ok(())
        } else {
            Err(fail(format!(
                "{v:?} is not one of its options ({})",
                property
                    .options
                    .iter()
                    .map(|o| o.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    match (&property.property_type, value) {
        (PropertyType::Number | PropertyType::String, Value::Integer(n)) => Ok(integer(*n)),
        (PropertyType::Number, Value::Decimal(n)) => {
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
        (PropertyType::String, Value::Decimal(n)) => {
            number(*n).ok_or_else(|| fail(format!("{n} is not a finite number")))
        }
        (t, v) => Err(fail(format!(
            "a {} value can't be written to a {t} property",
            kind(v)
        ))),
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
    }
}
