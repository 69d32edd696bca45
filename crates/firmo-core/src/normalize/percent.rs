//! Percentages.
use super::NormalizeError;

/// What a bare number means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PercentScale {
    /// 0.12 = 12 %.
    Fraction,
    /// 12 = 12 %.
    Percent,
}

/// A number in percent units.
pub fn percent(value: f64, scale: PercentScale) -> Result<f64, NormalizeError> {
    if !value.is_finite() {
        return Err(NormalizeError::new(
            "percentage",
            &value.to_string(),
            "not a finite number",
        ));
    }
    Ok(match scale {
        PercentScale::Fraction => value * 100.0,
        PercentScale::Percent => value,
    })
}

/// A percentage string in percent units.
pub fn percent_str(input: &str, scale: PercentScale) -> Result<f64, NormalizeError> {
    let s = input.trim();
    match s.strip_suffix('%') {
        Some(n) => percent(
            n.trim()
                .parse()
                .map_err(|_| NormalizeError::new("percentage", input, "not a number"))?,
            PercentScale::Percent,
        ),
        None => percent(
            s.parse()
                .map_err(|_| NormalizeError::new("percentage", input, "not a number"))?,
            scale,
        ),
    }
}
