//! Canonical field values, calendar dates and timestamps. Core has no clock: "now" and
//! "today" are always passed in by the caller.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::field::{Field, FieldKind};

/// A calendar date (proleptic Gregorian), serialized as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// A date, if `year-month-day` exists (years 1..=9999).
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    pub const fn year(self) -> i32 {
        self.year
    }
    pub const fn month(self) -> u8 {
        self.month
    }
    pub const fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01, if it lies in years 1..=9999.
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(i32::try_from(year).ok()?, month, day)
    }

    /// Whole days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        later.days_since_epoch() - self.days_since_epoch()
    }

    /// Midnight UTC of this date, in milliseconds since the epoch (HubSpot's `date`).
    pub fn midnight_utc_millis(self) -> i64 {
        self.days_since_epoch() * MILLIS_PER_DAY
    }

    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse_iso(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        Date::new(
            i32::try_from(num(0..4)?).ok()?,
            u8::try_from(num(5..7)?).ok()?,
            u8::try_from(num(8..10)?).ok()?,
        )
    }
}

const MILLIS_PER_DAY: i64 = 86_400_000;

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Date::parse_iso(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a YYYY-MM-DD date")))
    }
}

/// A point in time as milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// The UTC calendar date this instant falls on.
    pub fn date(self) -> Option<Date> {
        Date::from_days_since_epoch(self.0.div_euclid(MILLIS_PER_DAY))
    }
}

/// A canonical field value. JSON form is the natural one: a string, a number, an array
/// of strings, or a `YYYY-MM-DD` string for dates; which one a field takes is decided by
/// its [`FieldKind`], so parse JSON with [`Value::from_json`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Free text and enumeration values (the option's internal value).
    Text(String),
    Integer(i64),
    Decimal(f64),
    TextList(Vec<String>),
    Date(Date),
}

/// Why a JSON value does not fit a field's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: expected {expected}, got {got}")]
pub struct TypeMismatch {
    pub field: Field,
    pub expected: &'static str,
    pub got: String,
}

impl Value {
    /// Reads a JSON value as the type `field` takes. No normalization happens here
    /// (that is the normalizers' job); only the JSON type is checked. `null` is `Ok(None)`.
    pub fn from_json(
        field: Field,
        json: &serde_json::Value,
    ) -> Result<Option<Value>, TypeMismatch> {
        use serde_json::Value as J;
        let mismatch = |expected: &'static str| TypeMismatch {
            field,
            expected,
            got: describe_json(json),
        };
        if json.is_null() {
            return Ok(None);
        }
        let value = match field.kind() {
            FieldKind::Text { .. } | FieldKind::Enum { .. } => match json {
                J::String(s) => Value::Text(s.clone()),
                _ => return Err(mismatch("a string")),
            },
            FieldKind::Integer { .. } => match json.as_i64() {
                Some(n) => Value::Integer(n),
                None => return Err(mismatch("a whole number")),
            },
            FieldKind::Decimal { .. } => match json.as_f64() {
                Some(n) if json.is_number() => Value::Decimal(n),
                _ => return Err(mismatch("a number")),
            },
            FieldKind::TextList { .. } => match json {
                J::Array(items) => {
                    let mut names = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            J::String(s) => names.push(s.clone()),
                            _ => return Err(mismatch("an array of strings")),
                        }
                    }
                    Value::TextList(names)
                }
                _ => return Err(mismatch("an array of strings")),
            },
            FieldKind::Date { .. } => match json {
                J::String(s) => match Date::parse_iso(s) {
                    Some(d) => Value::Date(d),
                    None => return Err(mismatch("a YYYY-MM-DD date")),
                },
                _ => return Err(mismatch("a YYYY-MM-DD date")),
            },
        };
        Ok(Some(value))
    }

    /// The natural JSON form of this value.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Integer(n) => serde_json::Value::from(*n),
            Value::Decimal(n) => serde_json::Number::from_f64(*n)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::TextList(items) => serde_json::Value::from(items.clone()),
            Value::Date(d) => serde_json::Value::String(d.to_string()),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(s) => serializer.serialize_str(s),
            Value::Integer(n) => serializer.serialize_i64(*n),
            Value::Decimal(n) => serializer.serialize_f64(*n),
            Value::TextList(items) => items.serialize(serializer),
            Value::Date(d) => d.serialize(serializer),
        }
    }
}

/// A short description of a JSON value for error messages (type, and the value if short).
pub fn describe_json(json: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match json {
        J::Null => "null".to_owned(),
        J::Bool(b) => format!("boolean {b}"),
        J::Number(n) => format!("number {n}"),
        J::String(s) if s.chars().count() <= 40 => format!("string {s:?}"),
        J::String(s) => format!("a string of {} characters", s.chars().count()),
        J::Array(a) => format!("an array of {} items", a.len()),
        J::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_day_round_trips_over_four_centuries() {
        let start = Date::new(1900, 1, 1).unwrap().days_since_epoch();
        for days in (start..start + 146_097).step_by(7) {
            let date = Date::from_days_since_epoch(days).unwrap();
            assert_eq!(date.days_since_epoch(), days);
        }
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(
            Date::new(2024, 3, 1).unwrap().midnight_utc_millis(),
            1_709_251_200_000
        );
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(2024, 13, 1).is_none());
        assert!(Date::parse_iso("2024-1-01").is_none());
        assert!(Date::parse_iso("2024-01-0x").is_none());
        assert!(Date::parse_iso("+024-01-01").is_none());
        assert_eq!(
            Date::parse_iso("2024-01-31").unwrap().to_string(),
            "2024-01-31"
        );
    }

    #[test]
    fn unix_millis_date_handles_negative_instants() {
        assert_eq!(UnixMillis(-1).date().unwrap().to_string(), "1969-12-31");
        assert_eq!(
            UnixMillis(1_709_251_200_000).date().unwrap().to_string(),
            "2024-03-01"
        );
        assert!(UnixMillis(i64::MAX).date().is_none());
    }

    #[test]
    fn from_json_checks_the_field_type() {
        assert_eq!(
            Value::from_json(Field::Headcount, &serde_json::json!(120)).unwrap(),
            Some(Value::Integer(120))
        );
        assert_eq!(
            Value::from_json(Field::Headcount, &serde_json::json!(null)).unwrap(),
            None
        );
        let err = Value::from_json(Field::Headcount, &serde_json::json!("120")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "headcount: expected a whole number, got string \"120\""
        );
        assert!(Value::from_json(Field::Headcount, &serde_json::json!(1.5)).is_err());
        assert!(Value::from_json(Field::TechStack, &serde_json::json!(["AWS", 3])).is_err());
        assert_eq!(
            Value::from_json(Field::LastFundingDate, &serde_json::json!("2024-02-29")).unwrap(),
            Some(Value::Date(Date::new(2024, 2, 29).unwrap()))
        );
        assert!(
            Value::from_json(Field::LastFundingDate, &serde_json::json!("2023-02-29")).is_err()
        );
        assert_eq!(
            Value::from_json(Field::EmployeeGrowth6mo, &serde_json::json!(12)).unwrap(),
            Some(Value::Decimal(12.0))
        );
    }
}
