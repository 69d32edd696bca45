use crate::field::Field;
use crate::finding::Finding;
use crate::rules::{RecordView, Rule, RuleMeta, ValidationContext, declare_rule, show};

declare_rule! {
    /// ## What it checks
    /// That a record with a `funding_stage` also has a `last_funding_date`.
    ///
    /// ## Why it matters
    /// Without the date, the stage can be years old and the `post_funding` signal can't be
    /// computed, so "Series B" alone is weak evidence for any play.
    ///
    /// ## Example
    /// `{"funding_stage": "series_b"}` with no `last_funding_date`.
    ///
    /// ## Fix
    /// Make sure the source that supplies the stage also supplies the date (Crunchbase
    /// does), or give both fields the same source list.
    pub struct FundingStageWithoutDate;
    code = "FQ022",
    name = "funding-stage-without-date",
    severity = Flag,
    status = Stable,
    scope = Record,
    summary = "A funding stage is set but the funding date is not.",
}

impl Rule for FundingStageWithoutDate {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_record(&self, record: &RecordView<'_>, _: &ValidationContext, out: &mut Vec<Finding>) {
        if let Some(stage) = record.value(Field::FundingStage)
            && record.value(Field::LastFundingDate).is_none()
        {
            let message = format!(
                "funding_stage {} is set but last_funding_date is missing",
                show(stage)
            );
            out.push(Self::META.finding(Some(Field::FundingStage), message));
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
            values[Field::FundingStage as usize] = Some(Value::Text("series_b".into()));
        }
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        FundingStageWithoutDate.check_record(&RecordView::of_values(&values), &ctx, &mut out);
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn flags_a_stage_alone_only() {
        assert_eq!(
            check(false, true),
            ["funding_stage \"series_b\" is set but last_funding_date is missing"]
        );
        assert!(check(true, true).is_empty());
        assert!(check(true, false).is_empty());
        assert!(check(false, false).is_empty());
    }
}
