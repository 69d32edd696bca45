use crate::field::Field;
use crate::finding::Finding;
use crate::rules::{RecordView, Rule, RuleMeta, ValidationContext, declare_rule, show};

declare_rule! {
    /// ## What it checks
    /// That a record with a `last_funding_date` also has a `funding_stage`.
    ///
    /// ## Why it matters
    /// The two describe the same round: a date alone usually means the stage came from a
    /// source that lost precedence or failed to normalize, and a "recently funded"
    /// segment without the stage can't tell a seed round from a Series D.
    ///
    /// ## Example
    /// `{"last_funding_date": "2024-05-02"}` with no `funding_stage`.
    ///
    /// ## Fix
    /// Check that the stage normalizer knows the provider's round type (unknown rounds map
    /// to `series_unknown` or `undisclosed`).
    pub struct FundingDateWithoutStage;
    code = "FQ021",
    name = "funding-date-without-stage",
    severity = Flag,
    status = Stable,
    scope = Record,
    summary = "A funding date is set but the funding stage is not.",
}

impl Rule for FundingDateWithoutStage {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_record(&self, record: &RecordView<'_>, _: &ValidationContext, out: &mut Vec<Finding>) {
        if let Some(date) = record.value(Field::LastFundingDate)
            && record.value(Field::FundingStage).is_none()
        {
            let message = format!(
                "last_funding_date {} is set but funding_stage is missing",
                show(date)
            );
            out.push(Self::META.finding(Some(Field::LastFundingDate), message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Date, Value};

    fn check(date: bool, stage: bool) -> Vec<String> {
        let mut values: [Option<Value>; 9] = Default::default();
        if date {
            values[Field::LastFundingDate as usize] =
                Some(Value::Date(Date::new(2024, 5, 2).unwrap()));
        }
        if stage {
            values[Field::FundingStage as usize] = Some(Value::Text("seed".into()));
        }
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        FundingDateWithoutStage.check_record(&RecordView::of_values(&values), &ctx, &mut out);
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn flags_a_date_alone_only() {
        assert_eq!(
            check(true, false),
            ["last_funding_date 2024-05-02 is set but funding_stage is missing"]
        );
        assert!(check(true, true).is_empty());
        assert!(check(false, true).is_empty());
        assert!(check(false, false).is_empty());
    }
}
