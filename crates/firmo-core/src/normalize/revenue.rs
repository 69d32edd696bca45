//! Revenue ranges.
use super::NormalizeError;
use crate::field::REVENUE_BUCKETS;

/// A revenue range, canonical (first version: canonical values only).
pub fn revenue_range(input: &str) -> Result<&'static str, NormalizeError> {
    let s = input.trim().to_ascii_lowercase();
    REVENUE_BUCKETS
        .iter()
        .find(|o| o.value == s)
        .map(|o| o.value)
        .ok_or_else(|| NormalizeError::new("revenue range", input, "unknown range"))
}

/// A USD figure to its bucket.
pub fn revenue_from_usd(amount: i64) -> Option<&'static str> {
    const BOUNDS: [i64; 8] = [
        1_000_000,
        10_000_000,
        50_000_000,
        100_000_000,
        250_000_000,
        500_000_000,
        1_000_000_000,
        10_000_000_000,
    ];
    if amount < 0 {
        return None;
    }
    let i = BOUNDS.iter().take_while(|b| amount >= **b).count();
    Some(REVENUE_BUCKETS[i].value)
}
