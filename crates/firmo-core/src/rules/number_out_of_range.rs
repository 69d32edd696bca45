use crate::field::{Field, FieldKind};
use crate::finding::Finding;
use crate::rules::{Rule, RuleMeta, ValidationContext, declare_rule, fmt_f64};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// That a number lies within its field's catalogue range: `headcount` 1 to 5,000,000,
    /// `last_funding_amount` 0 to 10^12 USD, `employee_growth_6mo` -100 to 1000 (%),
    /// `recent_job_postings` 0 to 100,000. Not-a-number and infinities are out of range.
    /// A whole number too large for 64 bits is out of range, not of the wrong type.
    ///
    /// ## Why it matters
    /// Values outside these ranges are parsing accidents (a revenue figure in the headcount,
    /// cents instead of dollars, a ratio of 0.12 read as 12 %) that would mislead every
    /// segment and score built on them.
    ///
    /// ## Example
    /// `{"headcount": 0}`, `{"headcount": -5}`, `{"employee_growth_6mo": 1250.0}`.
    ///
    /// ## Fix
    /// Check the provider's unit (the percent normalizer documents 0.12 vs 12), or drop the
    /// value.
    pub struct NumberOutOfRange;
    code = "FQ004",
    name = "number-out-of-range",
    severity = Reject,
    status = Stable,
    scope = Field,
    summary = "A number is outside its field's range.",
}

impl NumberOutOfRange {
    /// The finding for `field` holding `shown` (the number as written).
    pub fn finding(field: Field, shown: &str) -> Finding {
        let range = match field.kind() {
            FieldKind::Integer { min, max } => format!("{min} and {max}"),
            FieldKind::Decimal { min, max } => format!("{min} and {max}"),
            _ => String::from("its limits"),
        };
        Self::META.finding(
            Some(field),
            format!("{field} {shown} is out of range: it must be between {range}"),
        )
    }
}

impl Rule for NumberOutOfRange {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_field(
        &self,
        field: Field,
        value: &Value,
        _: &ValidationContext,
        out: &mut Vec<Finding>,
    ) {
        match (field.kind(), value) {
            (FieldKind::Integer { min, max }, Value::Integer(n)) if !(min..=max).contains(n) => {
                out.push(Self::finding(field, &n.to_string()));
            }
            (FieldKind::Decimal { min, max }, Value::Decimal(x)) if !(min..=max).contains(x) => {
                out.push(Self::finding(field, &fmt_f64(*x)));
            }
            (FieldKind::Decimal { min, max }, Value::Integer(n))
                if !(min..=max).contains(&(*n as f64)) =>
            {
                out.push(Self::finding(field, &n.to_string()));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Date;

    #[test]
    fn checks_both_ends_and_non_finite() {
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        for n in [0, 1, 5_000_000, 5_000_001, i64::MIN] {
            NumberOutOfRange.check_field(Field::Headcount, &Value::Integer(n), &ctx, &mut out);
        }
        for x in [-100.0, 1000.0, -100.5, f64::NAN, f64::INFINITY] {
            NumberOutOfRange.check_field(
                Field::EmployeeGrowth6mo,
                &Value::Decimal(x),
                &ctx,
                &mut out,
            );
        }
        let messages: Vec<_> = out.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "headcount 0 is out of range: it must be between 1 and 5000000",
                "headcount 5000001 is out of range: it must be between 1 and 5000000",
                "headcount -9223372036854775808 is out of range: it must be between 1 and 5000000",
                "employee_growth_6mo -100.5 is out of range: it must be between -100 and 1000",
                "employee_growth_6mo NaN is out of range: it must be between -100 and 1000",
                "employee_growth_6mo inf is out of range: it must be between -100 and 1000",
            ]
        );
    }
}
