//! Number reading shared by the revenue and headcount normalizers: digits with optional
//! thousands separators and a magnitude suffix (`12,500,000`, `12.5M`, `1.2k`, `3 billion`).

/// Parses an unsigned decimal: `12`, `12.5`, `.5`, `12,500,000`, `1,200.5`. Commas are
/// thousands separators and must group by three (`1,20` is rejected: it is a decimal
/// comma or a typo, and either way guessing would be wrong). `None` for anything else,
/// including values too large for a finite `f64`.
pub(crate) fn decimal(s: &str) -> Option<f64> {
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    if let Some(frac) = frac
        && (frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if int.is_empty() && frac.is_none() {
        return None;
    }
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or("");
    let grouped = int.contains(',');
    if !first.bytes().all(|b| b.is_ascii_digit())
        || (grouped && !(1..=3).contains(&first.len()))
        || (int.is_empty() && grouped)
    {
        return None;
    }
    if !groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let digits: String = s.chars().filter(|&c| c != ',').collect();
    digits.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// An amount with an optional magnitude suffix, in lowercase and without spaces:
/// `12.5m`, `3billion`, `1.2k`, `500`. Returns the value and whether a suffix was given
/// (so `10-50m` can give `10` the unit of `50m`).
pub(crate) fn amount(s: &str) -> Option<(f64, bool)> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let value = decimal(number)?;
    // `5 mil.`: an abbreviation's dot is not part of the unit.
    let multiplier = match suffix.strip_suffix('.').unwrap_or(suffix) {
        "" => return Some((value, false)),
        "k" | "thousand" => 1e3,
        "m" | "mm" | "mn" | "mil" | "million" | "millions" => 1e6,
        "b" | "bn" | "billion" | "billions" => 1e9,
        "t" | "tn" | "trillion" | "trillions" => 1e12,
        _ => return None,
    };
    Some((value * multiplier, true)).filter(|(v, _)| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::{amount, decimal};

    #[test]
    fn reads_plain_and_grouped_decimals() {
        assert_eq!(decimal("12"), Some(12.0));
        assert_eq!(decimal("12.5"), Some(12.5));
        assert_eq!(decimal(".5"), Some(0.5));
        assert_eq!(decimal("12,500,000"), Some(12_500_000.0));
        assert_eq!(decimal("1,200.75"), Some(1200.75));
        assert_eq!(decimal("007"), Some(7.0));
        for bad in [
            "",
            ".",
            "1.",
            "1,20",
            "1,2345",
            ",123",
            "1.2.3",
            "12,500.5,0",
            "1e5",
            "-1",
            "+1",
            "inf",
            "NaN",
            "1 000",
            "１２",
            "1,000,00",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
        assert_eq!(decimal(&"9".repeat(400)), None, "overflows f64");
        let long = decimal(&format!("0.{}", "1".repeat(100_000))).unwrap();
        assert!((long - 1.0 / 9.0).abs() < 1e-12);
    }

    #[test]
    fn reads_magnitude_suffixes() {
        assert_eq!(amount("12.5m"), Some((12_500_000.0, true)));
        assert_eq!(amount("3billion"), Some((3e9, true)));
        assert_eq!(amount("1.2k"), Some((1200.0, true)));
        assert_eq!(amount("10mm"), Some((1e7, true)));
        assert_eq!(amount("2bn"), Some((2e9, true)));
        assert_eq!(amount("500"), Some((500.0, false)));
        assert_eq!(amount("5mil."), Some((5e6, true)));
        assert_eq!(amount("5."), None);
        assert_eq!(amount("5x"), None);
        assert_eq!(amount("m"), None);
        assert_eq!(amount("k5"), None);
        assert_eq!(amount(""), None);
        assert_eq!(
            amount(&format!("{}t", "9".repeat(300))),
            None,
            "overflows once scaled"
        );
    }
}
