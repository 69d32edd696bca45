//! Revenue ranges: every provider's spelling to one canonical bucket.
//! The decisions, and why, are in the docs of the public function below.

use super::{NormalizeError, number};
use crate::field::REVENUE_BUCKETS;

const WHAT: &str = "revenue range";

/// Lower edge of each bucket of [`REVENUE_BUCKETS`], in USD; the next one is its upper
/// edge (the last bucket is open). A test holds it to the catalogue.
const LOWER_EDGES: [f64; 9] = [0.0, 1e6, 1e7, 5e7, 1e8, 2.5e8, 5e8, 1e9, 1e10];

/// The canonical bucket of [`REVENUE_BUCKETS`] for a provider's revenue range or USD
/// figure.
///
/// The buckets are Clearbit's (`$0-$1M` … `$10B+`), the shape most vendors copy. Accepted:
/// the bucket values themselves (`10m_50m`), their labels and look-alikes (`$10M-$50M`,
/// `10M–50M`, `10m - 50m`, `$10 million to $50 million`, `10-50M`), open ranges (`$10B+`,
/// `over $1B`, `<$1M`, `under 1M`), and plain USD figures (`12500000`, `$12,500,000`,
/// `$12.5M`, `1.2 billion`).
///
/// Decisions:
/// - **A range inside one bucket gets that bucket** (`$1M-$5M` → `1m_10m`). A range
///   that straddles buckets (another vendor's `$5M-$25M`) gets the bucket holding its
///   arithmetic midpoint, the same rule as headcount ranges, so one company's bucket
///   doesn't depend on which edge we favour.
/// - **An open range (`$1B+`) gets the bucket of its lower bound**: the company is known to
///   be at least that big, and the lowest bucket it could be in is the conservative
///   claim. So `$1B+` → `1b_10b`, `$10B+` → `10b_plus`. An upper bound alone (`<$1M`) is
///   the range from zero to it.
/// - **Bucket edges belong to the bucket above** (`$50M` exactly → `50m_100m`), as the
///   labels read: `$10M-$50M` then `$50M-$100M`.
/// - Only US dollars: a `€` or `£` sign is rejected rather than converted, since core has
///   no exchange rates.
pub fn revenue_range(input: &str) -> Result<&'static str, NormalizeError> {
    let err = |reason: &str| NormalizeError::new(WHAT, input, reason);
    if input.trim().len() > 200 {
        return Err(err("it is too long to be a revenue range"));
    }
    let lower = input.trim().to_lowercase();
    if lower.is_empty() {
        return Err(err("it is empty"));
    }
    if let Some(option) = REVENUE_BUCKETS.iter().find(|o| o.value == lower) {
        return Ok(option.value);
    }
    if lower.contains(['€', '£', '¥']) || lower.contains("eur") || lower.contains("gbp") {
        return Err(err("it is not in US dollars"));
    }
    // Words that mean "-" become one, then spaces and currency marks go.
    let compact: String = lower
        .replace(" to ", "-")
        .replace(['–', '—', '‒', '−'], "-")
        .replace("us$", "")
        .replace("usd", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '$')
        .collect();
    let amount = |s: &str| {
        number::amount(s).ok_or_else(|| err("it has no amount a person would read as USD"))
    };

    for prefix in ["<=", "<", "under", "lessthan", "below", "upto"] {
        if let Some(rest) = compact.strip_prefix(prefix) {
            let (upper, _) = amount(rest)?;
            return Ok(range_bucket(0.0, upper));
        }
    }
    for prefix in [">=", ">", "over", "morethan", "above"] {
        if let Some(rest) = compact.strip_prefix(prefix) {
            return Ok(bucket(amount(rest)?.0));
        }
    }
    if let Some(rest) = compact.strip_suffix('+') {
        return Ok(bucket(amount(rest)?.0));
    }
    if compact.starts_with('-') {
        return Err(err("it is negative"));
    }
    match compact.split_once('-') {
        Some((low, high)) => {
            let (high, high_has_unit) = amount(high)?;
            let (mut low, low_has_unit) = amount(low)?;
            if !low_has_unit && high_has_unit && low > 0.0 {
                // `10-50M`: the unit written once applies to both ends.
                low *= unit_of(high);
            }
            if low > high {
                return Err(err("its lower end is above its upper end"));
            }
            Ok(range_bucket(low, high))
        }
        None => Ok(bucket(amount(&compact)?.0)),
    }
}

/// The bucket a USD figure falls in; `None` for a negative figure.
pub fn revenue_from_usd(amount: i64) -> Option<&'static str> {
    // Every edge is exactly representable, and so is every i64 near one of them.
    (amount >= 0).then(|| bucket(amount as f64))
}

/// The power of 1000 `high` was written in, to lend it to an unsuffixed lower end.
fn unit_of(high: f64) -> f64 {
    [1e12, 1e9, 1e6, 1e3]
        .into_iter()
        .find(|&u| high >= u)
        .unwrap_or(1.0)
}

fn bucket_index(usd: f64) -> usize {
    LOWER_EDGES
        .iter()
        .rposition(|&edge| usd >= edge)
        .unwrap_or(0)
}

fn bucket(usd: f64) -> &'static str {
    REVENUE_BUCKETS[bucket_index(usd)].value
}

/// A `low..=high` range's bucket: the one it fits in (an upper end on the next edge
/// still fits), else the one holding its midpoint.
fn range_bucket(low: f64, high: f64) -> &'static str {
    let i = bucket_index(low);
    let fits = LOWER_EDGES.get(i + 1).is_none_or(|&next| high <= next);
    if fits {
        REVENUE_BUCKETS[i].value
    } else {
        bucket(low / 2.0 + high / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> &'static str {
        revenue_range(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    #[test]
    fn edges_match_the_catalogue() {
        assert_eq!(LOWER_EDGES.len(), REVENUE_BUCKETS.len());
        // Each label (`$10M-$50M`) reads back as its own bucket: the edges agree with it.
        for option in REVENUE_BUCKETS {
            assert_eq!(ok(option.label), option.value, "label {}", option.label);
            assert_eq!(ok(option.value), option.value);
            assert_eq!(ok(&option.value.to_uppercase()), option.value);
        }
    }

    #[test]
    fn reads_provider_ranges() {
        for (input, expected) in [
            ("$10M-$50M", "10m_50m"),
            ("10M–50M", "10m_50m"),
            ("10m - 50m", "10m_50m"),
            ("$10 million to $50 million", "10m_50m"),
            ("10-50M", "10m_50m"),
            ("USD 10M - 50M", "10m_50m"),
            ("US$10M-US$50M", "10m_50m"),
            ("$1M-$10M", "1m_10m"),
            ("$0-$1M", "0_1m"),
            ("$500M-$1B", "500m_1b"),
            ("$1B-$10B", "1b_10b"),
            ("$100M - $250M", "100m_250m"),
            ("1-10 million", "1m_10m"),
            ("$5 mil. - $10 mil.", "1m_10m"),
            ("$50 - $100 Million", "50m_100m"),
            ("$500K-$1M", "0_1m"),
            ("$10M - $50M USD", "10m_50m"),
            // Inside one bucket.
            ("$1M-$5M", "1m_10m"),
            ("$25M-$50M", "10m_50m"),
            ("$5M—$10M", "1m_10m"),
            // Straddling: the midpoint's bucket.
            ("$5M-$25M", "10m_50m"),
            ("$1M-$5B", "1b_10b"),
            ("$0-$10M", "1m_10m"),
            ("$50M-$50M", "50m_100m"),
        ] {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn reads_open_ranges_by_their_bound() {
        for (input, expected) in [
            ("$10B+", "10b_plus"),
            ("$1B+", "1b_10b"),
            ("10b +", "10b_plus"),
            ("over $10B", "10b_plus"),
            ("More than $1B", "1b_10b"),
            (">$500M", "500m_1b"),
            ("<$1M", "0_1m"),
            ("Under $1M", "0_1m"),
            ("less than 1 million", "0_1m"),
            ("< $10M", "1m_10m"),
        ] {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn reads_plain_figures() {
        for (input, expected) in [
            ("10000000", "10m_50m"),
            ("$12,500,000", "10m_50m"),
            ("12500000.00", "10m_50m"),
            ("$12.5M", "10m_50m"),
            ("1.2 billion", "1b_10b"),
            ("999999", "0_1m"),
            ("0", "0_1m"),
            ("50000000", "50m_100m"),
            ("49999999", "10m_50m"),
            ("$300k", "0_1m"),
            ("2 trillion", "10b_plus"),
        ] {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_usd_revenue() {
        for (input, reason) in [
            ("", "empty"),
            ("   ", "empty"),
            ("unknown", "no amount"),
            ("N/A", "no amount"),
            ("-5M", "negative"),
            ("$50M-$10M", "lower end is above"),
            ("€10M-€50M", "US dollars"),
            ("10-50 EUR", "US dollars"),
            ("$10M-", "no amount"),
            ("$10M-$50M-$100M", "no amount"),
            ("10 apples", "no amount"),
            ("1,0M", "no amount"),
            ("1e9", "no amount"),
            ("NaN", "no amount"),
            ("inf", "no amount"),
        ] {
            let err = revenue_range(input).expect_err(input);
            assert!(err.reason.contains(reason), "{input:?}: {err}");
        }
        assert!(
            revenue_range(&"9".repeat(1 << 20))
                .unwrap_err()
                .reason
                .contains("too long")
        );
        assert_eq!(
            revenue_range(&format!("${}", "9".repeat(150))),
            Ok("10b_plus")
        );
        assert!(revenue_range(&"-".repeat(1 << 20)).is_err());
    }

    #[test]
    fn buckets_usd_figures() {
        assert_eq!(revenue_from_usd(0), Some("0_1m"));
        assert_eq!(revenue_from_usd(999_999), Some("0_1m"));
        assert_eq!(revenue_from_usd(1_000_000), Some("1m_10m"));
        assert_eq!(revenue_from_usd(12_500_000), Some("10m_50m"));
        assert_eq!(revenue_from_usd(249_999_999), Some("100m_250m"));
        assert_eq!(revenue_from_usd(999_999_999), Some("500m_1b"));
        assert_eq!(revenue_from_usd(9_999_999_999), Some("1b_10b"));
        assert_eq!(revenue_from_usd(10_000_000_000), Some("10b_plus"));
        assert_eq!(revenue_from_usd(i64::MAX), Some("10b_plus"));
        assert_eq!(revenue_from_usd(-1), None);
        assert_eq!(revenue_from_usd(i64::MIN), None);
    }
}
