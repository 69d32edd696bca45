use crate::field::Field;
use crate::finding::Finding;
use crate::rules::{RecordView, Rule, RuleMeta, ValidationContext, declare_rule};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// That the `revenue_range` bucket is plausible for the `headcount`, by this table
    /// (about $1,000 to $20M of revenue per employee; outside it, one of the two values is
    /// almost surely wrong):
    ///
    /// | bucket | flag if headcount below | flag if headcount above |
    /// |---|---|---|
    /// | `0_1m` | - | 1,000 |
    /// | `1m_10m` | - | 10,000 |
    /// | `10m_50m` | - | 50,000 |
    /// | `50m_100m` | - | 100,000 |
    /// | `100m_250m` | 5 | 250,000 |
    /// | `250m_500m` | 13 | - |
    /// | `500m_1b` | 25 | - |
    /// | `1b_10b` | 50 | - |
    /// | `10b_plus` | 500 | - |
    ///
    /// ## Why it matters
    /// Revenue and headcount together place an account in a tier. A $1B+ company with 12
    /// people is a subsidiary matched to its parent's revenue (or the reverse), and routing
    /// it to enterprise sales wastes a rep's week.
    ///
    /// ## Example
    /// `{"revenue_range": "1b_10b", "headcount": 12}`, `{"revenue_range": "0_1m", "headcount": 4200}`.
    ///
    /// ## Fix
    /// Check that both providers matched the same company (domain), then correct the wrong
    /// value by hand.
    pub struct RevenueImplausible;
    code = "FQ023",
    name = "revenue-implausible-for-headcount",
    severity = Flag,
    status = Preview,
    scope = Record,
    summary = "The revenue bucket is implausible for the headcount.",
}

/// Per revenue bucket: (bucket, smallest plausible headcount, largest plausible headcount).
pub const REVENUE_HEADCOUNT_TABLE: &[(&str, i64, i64)] = &[
    ("0_1m", 1, 1_000),
    ("1m_10m", 1, 10_000),
    ("10m_50m", 1, 50_000),
    ("50m_100m", 1, 100_000),
    ("100m_250m", 5, 250_000),
    ("250m_500m", 13, i64::MAX),
    ("500m_1b", 25, i64::MAX),
    ("1b_10b", 50, i64::MAX),
    ("10b_plus", 500, i64::MAX),
];

impl Rule for RevenueImplausible {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_record(&self, record: &RecordView<'_>, _: &ValidationContext, out: &mut Vec<Finding>) {
        let (Some(Value::Text(bucket)), Some(Value::Integer(headcount))) = (
            record.value(Field::RevenueRange),
            record.value(Field::Headcount),
        ) else {
            return;
        };
        let Some(&(_, min, max)) = REVENUE_HEADCOUNT_TABLE.iter().find(|(b, _, _)| b == bucket)
        else {
            return; // not a bucket: not-an-option rejects it
        };
        let expected = if *headcount < min {
            format!("at least {min} people")
        } else if *headcount > max {
            format!("at most {max} people")
        } else {
            return;
        };
        let message = format!(
            "revenue_range {bucket} is implausible for a headcount of {headcount}: expected {expected}"
        );
        out.push(Self::META.finding(Some(Field::RevenueRange), message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::REVENUE_BUCKETS;
    use crate::value::Date;

    fn check(bucket: &str, headcount: i64) -> Vec<String> {
        let mut values: [Option<Value>; 9] = Default::default();
        values[Field::RevenueRange as usize] = Some(Value::Text(bucket.into()));
        values[Field::Headcount as usize] = Some(Value::Integer(headcount));
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        RevenueImplausible.check_record(&RecordView::of_values(&values), &ctx, &mut out);
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn table_covers_every_bucket_in_order() {
        let buckets: Vec<&str> = REVENUE_HEADCOUNT_TABLE.iter().map(|r| r.0).collect();
        let catalogue: Vec<&str> = REVENUE_BUCKETS.iter().map(|o| o.value).collect();
        assert_eq!(buckets, catalogue);
    }

    #[test]
    fn flags_both_directions_at_the_edges() {
        assert!(check("1b_10b", 50).is_empty());
        assert_eq!(
            check("1b_10b", 49),
            [
                "revenue_range 1b_10b is implausible for a headcount of 49: expected at least 50 people"
            ]
        );
        assert!(check("0_1m", 1000).is_empty());
        assert_eq!(
            check("0_1m", 1001),
            [
                "revenue_range 0_1m is implausible for a headcount of 1001: expected at most 1000 people"
            ]
        );
        assert!(check("lots", 1).is_empty());
    }
}
