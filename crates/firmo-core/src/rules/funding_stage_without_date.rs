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
