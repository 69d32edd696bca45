//! Headcounts.
use super::NormalizeError;

/// An employee count (first version: plain integers only).
pub fn headcount(input: &str) -> Result<i64, NormalizeError> {
    input
        .trim()
        .parse()
        .map_err(|_| NormalizeError::new("headcount", input, "not a number"))
}
