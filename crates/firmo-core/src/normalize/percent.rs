//! Percentages (employee growth): one unit, percent, whatever the provider sends.
//! The decisions, and why, are in the docs of the public function below.

use super::{NormalizeError, number};

const WHAT: &str = "percentage";
/// Beyond this magnitude rounding to hundredths is no longer stable in an `f64` (rounding
/// twice could differ), and no real percentage comes near it.
const ROUNDING_LIMIT: f64 = 1e12;

/// What a bare number from a provider means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PercentScale {
    /// `0.12` is 12 %.
    Fraction,
    /// `12` is 12 %.
    Percent,
}

/// A provider's number in percent units, rounded to two decimals.
///
/// Decisions:
/// - **The canonical unit is percent**: `12.5` means +12.5 %, as the catalogue's
///   `employee_growth_6mo` says and as a person reads it in the CRM.
/// - **A bare number is ambiguous** (`0.12` is 12 % from one provider and 0.12 % from
///   another), so the caller, the adapter, which knows its provider, names the
///   [`PercentScale`]. Guessing from the magnitude would be wrong exactly when it
///   matters (a 0.5 % change vs a 50 % surge).
/// - **A string with `%` is always percent**, whatever scale the caller named.
/// - Values are **rounded to two decimals**: more precision than that is noise from
///   float arithmetic (`0.12 * 100 = 12.000000000000002`), and a stable value keeps CRM
///   writes idempotent. NaN and infinities are rejected; range limits are quality rules.
/// - In strings, one comma without a dot is a **decimal comma** (`12,5%` = 12.5 %, the
///   European spelling); with a dot, commas group thousands (`1,234.5%`).
pub fn percent(value: f64, scale: PercentScale) -> Result<f64, NormalizeError> {
    let err = |reason: &str| NormalizeError::new(WHAT, &value.to_string(), reason);
    if !value.is_finite() {
        return Err(err("it is not a finite number"));
    }
    let percent = match scale {
        PercentScale::Fraction => value * 100.0,
        PercentScale::Percent => value,
    };
    if !percent.is_finite() {
        return Err(err("it is too large"));
    }
    let rounded = if percent.abs() < ROUNDING_LIMIT {
        (percent * 100.0).round() / 100.0
    } else {
        percent
    };
    // `-0.0` and `0.0` are one value; keep one spelling of it.
    Ok(if rounded == 0.0 { 0.0 } else { rounded })
}

/// A percentage string in percent units: `12%`, `12 %`, `+12.5%`, `-3%`, `12,5%`, or a
/// bare number read in `scale`. The decisions are on [`percent()`].
pub fn percent_str(input: &str, scale: PercentScale) -> Result<f64, NormalizeError> {
    let err = |reason: &str| NormalizeError::new(WHAT, input, reason);
    let mut s = input.trim();
    if s.is_empty() {
        return Err(err("it is empty"));
    }
    if s.len() > 100 {
        return Err(err("it is too long to be a percentage"));
    }
    let mut scale = scale;
    if let Some(rest) = s.strip_suffix('%').or_else(|| s.strip_suffix("percent")) {
        s = rest.trim_end();
        scale = PercentScale::Percent;
    }
    let (negative, unsigned) = match s.chars().next() {
        Some('-' | '−') => (true, &s[s.chars().next().map_or(0, char::len_utf8)..]),
        Some('+') => (false, &s[1..]),
        _ => (false, s),
    };
    let decimal_comma = unsigned.matches(',').count() == 1 && !unsigned.contains('.');
    let value = if decimal_comma {
        number::decimal(&unsigned.replace(',', "."))
    } else {
        number::decimal(unsigned)
    }
    .ok_or_else(|| err("it is not a number"))?;
    percent(if negative { -value } else { value }, scale).map_err(|e| err(&e.reason))
}

#[cfg(test)]
mod tests {
    // Rounding to hundredths makes exact values the contract.
    #![allow(clippy::float_cmp)]
    use super::PercentScale::{Fraction, Percent};
    use super::*;

    #[test]
    fn scales_bare_numbers_as_told() {
        assert_eq!(percent(0.12, Fraction).unwrap(), 12.0);
        assert_eq!(percent(12.0, Percent).unwrap(), 12.0);
        assert_eq!(percent(0.125, Fraction).unwrap(), 12.5);
        assert_eq!(percent(-0.034, Fraction).unwrap(), -3.4);
        assert_eq!(percent(1.0 / 3.0, Fraction).unwrap(), 33.33);
        assert_eq!(percent(12.345_6, Percent).unwrap(), 12.35);
        assert_eq!(percent(2.5, Fraction).unwrap(), 250.0);
        assert_eq!(percent(0.0, Fraction).unwrap(), 0.0);
        assert!(
            percent(-0.001, Percent).unwrap().is_sign_positive(),
            "no -0.0"
        );
        assert_eq!(percent(1e300, Percent).unwrap(), 1e300);
    }

    #[test]
    fn rejects_non_finite_numbers() {
        for (value, scale) in [
            (f64::NAN, Percent),
            (f64::INFINITY, Fraction),
            (f64::NEG_INFINITY, Percent),
        ] {
            assert!(percent(value, scale).unwrap_err().reason.contains("finite"));
        }
        assert!(
            percent(f64::MAX, Fraction)
                .unwrap_err()
                .reason
                .contains("too large")
        );
    }

    #[test]
    fn reads_percentage_strings() {
        for (input, scale, expected) in [
            ("12%", Fraction, 12.0),
            ("12 %", Fraction, 12.0),
            ("+12.5%", Fraction, 12.5),
            ("-3%", Fraction, -3.0),
            ("−3%", Fraction, -3.0),
            ("12,5%", Fraction, 12.5),
            ("1,234.5%", Fraction, 1234.5),
            ("0.12", Fraction, 12.0),
            ("0.12", Percent, 0.12),
            ("12", Percent, 12.0),
            ("0,12", Fraction, 12.0),
            ("  7.25 % ", Percent, 7.25),
            ("15 percent", Fraction, 15.0),
            (".5%", Fraction, 0.5),
            ("0%", Fraction, 0.0),
            ("-0%", Fraction, 0.0),
        ] {
            assert_eq!(percent_str(input, scale).unwrap(), expected, "{input:?}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_percentage() {
        for input in [
            "",
            "%",
            "abc",
            "12%%",
            "1e5%",
            "NaN",
            "inf",
            "12.5.1%",
            "--3%",
            "+-3%",
            "1,2,3%",
            "12 34%",
            "twelve percent",
            "% 12",
            "١٢%",
        ] {
            let err = percent_str(input, Percent).expect_err(input);
            assert_eq!(err.what, "percentage", "{input:?}");
        }
        assert!(
            percent_str(&"9".repeat(400), Percent).is_err(),
            "overflows f64"
        );
        assert!(
            percent_str(&"1".repeat(1 << 20), Percent)
                .unwrap_err()
                .reason
                .contains("too long")
        );
        assert_eq!(
            percent_str(&format!("{}%", "9".repeat(99)), Fraction).unwrap(),
            1e99
        );
    }
}
