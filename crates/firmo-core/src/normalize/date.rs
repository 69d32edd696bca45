//! Dates.
use super::NormalizeError;
use crate::value::{Date, UnixMillis};

/// Parses a provider date (first version: `YYYY-MM-DD` only).
pub fn date(input: &str) -> Result<Date, NormalizeError> {
    Date::parse_iso(input.trim())
        .ok_or_else(|| NormalizeError::new("date", input, "expected YYYY-MM-DD"))
}

/// Epoch milliseconds to a UTC date.
pub fn date_from_millis(ms: i64) -> Result<Date, NormalizeError> {
    UnixMillis(ms)
        .date()
        .ok_or_else(|| NormalizeError::new("date", &ms.to_string(), "out of range"))
}
