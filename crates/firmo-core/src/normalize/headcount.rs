//! Headcounts: an exact count, a size band, or a provider's band code, to one number.
//! The decisions, and why, are in the docs of the public function below.

use super::{NormalizeError, number};

const WHAT: &str = "headcount";
/// Above this an `f64` no longer holds every whole number, and no company is that big.
const MAX_COUNT: f64 = 9e15;

/// The headcount a provider's count, band or band code stands for.
///
/// Accepted: `1200`, `1,200`, `1.2k`, `1200 employees`, ranges (`51-250`, `51 – 250`,
/// `1,001-5,000`, `51 to 250`), open bands (`10001+`, `10,001+`, `10k+`), Crunchbase's
/// `num_employees_enum` (`c_00051_00100`, `c_10001_max`) and LinkedIn's "Self-employed".
///
/// Decisions:
/// - **A band becomes its arithmetic midpoint, rounded half up** (`51-250` → 151,
///   `c_00051_00100` → 76). The field is a number, so a band must become one; the
///   midpoint is the estimate with the smallest worst-case error, and it keeps a band
///   comparable with a source's exact count (a geometric midpoint would skew low for
///   the wide upper bands: 1,001-5,000 → 2,237 rather than 3,001). The merge records
///   the disagreement with an exact count anyway.
/// - **An open band becomes its lower bound** (`10001+` → 10001): the only figure the
///   source actually stands behind.
/// - A fractional count (`1.5`, `1.2345k`) is rejected: people come whole, and such a
///   value means a unit was misread. Zero is accepted here; whether it may be written
///   is a quality rule's call.
pub fn headcount(input: &str) -> Result<i64, NormalizeError> {
    let err = |reason: &str| NormalizeError::new(WHAT, input, reason);
    if input.trim().len() > 100 {
        return Err(err("it is too long to be a headcount"));
    }
    let mut s = input.trim().to_lowercase();
    for word in ["employees", "employee", "people", "staff", "fte"] {
        if let Some(rest) = s.strip_suffix(word) {
            s = rest.trim_end().to_owned();
            break;
        }
    }
    for hedge in [
        "~",
        "about ",
        "approx. ",
        "approximately ",
        "ca. ",
        "circa ",
    ] {
        if let Some(rest) = s.strip_prefix(hedge) {
            // An estimate is still the provider's figure.
            s = rest.trim_start().to_owned();
            break;
        }
    }
    if s.is_empty() {
        return Err(err("it is empty"));
    }
    if matches!(
        s.as_str(),
        "self-employed" | "self employed" | "myself only"
    ) {
        return Ok(1);
    }
    if let Some(code) = s.strip_prefix("c_") {
        return crunchbase_band(code).ok_or_else(|| err("it is not a Crunchbase band code"));
    }
    let compact: String = s
        .replace(" to ", "-")
        .replace(['–', '—', '‒', '−'], "-")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if compact.starts_with('-') {
        return Err(err("it is negative"));
    }
    let count = |s: &str| count(s).map_err(err);
    if let Some(low) = compact.strip_suffix('+') {
        return count(low);
    }
    match compact.split_once('-') {
        Some((low, high)) => midpoint(count(low)?, count(high)?)
            .ok_or_else(|| err("its lower end is above its upper end")),
        None => count(&compact),
    }
}

/// A whole, non-negative count with an optional `k`/`m` suffix.
fn count(s: &str) -> Result<i64, &'static str> {
    let (value, _) = number::amount(s).ok_or("it is not a number of employees")?;
    if value.fract() != 0.0 {
        return Err("it is not a whole number of employees");
    }
    if value > MAX_COUNT {
        return Err("it is too large to be a headcount");
    }
    Ok(value as i64)
}

/// Arithmetic midpoint of `low..=high`, rounded half up; `None` if `low > high`.
fn midpoint(low: i64, high: i64) -> Option<i64> {
    // Both are at most MAX_COUNT, so the sum cannot overflow.
    (low <= high).then(|| (low + high + 1) / 2)
}

/// `00051_00100` → 76, `10001_max` → 10001.
fn crunchbase_band(code: &str) -> Option<i64> {
    let (low, high) = code.split_once('_')?;
    let parse = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())?
    };
    let low = parse(low)?;
    if high == "max" {
        return Some(low);
    }
    midpoint(low, parse(high)?)
}

#[cfg(test)]
mod tests {
    use super::headcount;

    fn ok(input: &str) -> i64 {
        headcount(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    #[test]
    fn reads_exact_counts() {
        for (input, expected) in [
            ("1200", 1200),
            ("1,200", 1200),
            (" 1,200 ", 1200),
            ("1.2k", 1200),
            ("1.25K", 1250),
            ("12k", 12_000),
            ("2.3m", 2_300_000),
            ("1200 employees", 1200),
            ("1 employee", 1),
            ("180", 180),
            ("0", 0),
            ("1,234,567", 1_234_567),
            ("Self-employed", 1),
            ("~200", 200),
            ("about 1,200 employees", 1200),
            ("approx. 50", 50),
        ] {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn bands_become_midpoints_and_open_bands_lower_bounds() {
        for (input, expected) in [
            ("51-250", 151),
            ("51 - 250", 151),
            ("51–250", 151),
            ("51 to 250", 151),
            ("1-10", 6),
            ("2-10", 6),
            ("11-50", 31),
            ("201-500", 351),
            ("501-1,000", 751),
            ("1,001-5,000", 3001),
            ("5,001-10,000", 7501),
            ("1k-5k", 3000),
            ("10001+", 10_001),
            ("10,001+", 10_001),
            ("10k+", 10_000),
            ("10001 +", 10_001),
            ("5-5", 5),
            ("51-250 employees", 151),
        ] {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn reads_crunchbase_band_codes() {
        for (input, expected) in [
            ("c_00001_00010", 6),
            ("c_00011_00050", 31),
            ("c_00051_00100", 76),
            ("c_00101_00250", 176),
            ("c_00251_00500", 376),
            ("c_00501_01000", 751),
            ("c_01001_05000", 3001),
            ("c_05001_10000", 7501),
            ("c_10001_max", 10_001),
            ("C_00051_00100", 76),
        ] {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_headcount() {
        for (input, reason) in [
            ("", "empty"),
            ("employees", "empty"),
            ("-5", "negative"),
            ("−5", "negative"),
            ("1.5", "whole"),
            ("1.2345k", "whole"),
            ("250-51", "lower end is above"),
            ("many", "not a number"),
            ("N/A", "not a number"),
            ("1,20", "not a number"),
            ("51-", "not a number"),
            ("1-2-3", "not a number"),
            ("c_00051", "band code"),
            ("c_abc_def", "band code"),
            ("c_00100_00051", "band code"),
            ("c_", "band code"),
            ("1e6", "not a number"),
            ("NaN", "not a number"),
            ("99999999999999999999", "too large"),
            ("10000000000000000m", "too large"),
        ] {
            let err = headcount(input).expect_err(input);
            assert!(err.reason.contains(reason), "{input:?}: {err}");
        }
        assert!(
            headcount(&"9".repeat(1 << 20))
                .unwrap_err()
                .reason
                .contains("too long")
        );
        assert!(headcount(&"1-".repeat(1 << 19)).is_err());
    }
}
