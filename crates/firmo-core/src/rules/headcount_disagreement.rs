use crate::field::Field;
use crate::finding::Finding;
use crate::rules::{RecordView, Rule, RuleMeta, ValidationContext, declare_rule};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// On a merged record, that no other source's headcount differs from the merged
    /// (winning) one by more than `quality.headcount_disagreement_pct` (default 25) percent
    /// of the merged value: |other - merged| / merged * 100 > 25 is flagged, exactly 25 is
    /// not. One finding per disagreeing source. Plain records (no provenance) are not
    /// checked.
    ///
    /// ## Why it matters
    /// Providers count differently (payroll vs LinkedIn profiles vs contractors); a large
    /// gap means one of them has the wrong company or stale data, and headcount drives
    /// territory and tier assignment.
    ///
    /// ## Example
    /// Clay says 120, LinkedIn says 480: "headcount 120 from clay vs 480 from linkedin:
    /// spot-check against LinkedIn".
    ///
    /// ## Fix
    /// Look the company up on LinkedIn; if the winner is wrong, change the precedence for
    /// `headcount` or correct the CRM record by hand (firmo won't overwrite it).
    pub struct HeadcountDisagreement;
    code = "FQ020",
    name = "headcount-sources-disagree",
    severity = Flag,
    status = Stable,
    scope = Record,
    summary = "Two sources' headcounts differ by more than the tolerance.",
}

impl Rule for HeadcountDisagreement {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_record(
        &self,
        record: &RecordView<'_>,
        ctx: &ValidationContext,
        out: &mut Vec<Finding>,
    ) {
        let Some(merged) = record.merged(Field::Headcount) else {
            return;
        };
        let Value::Integer(winner) = merged.value else {
            return;
        };
        if winner <= 0 {
            return; // out of range anyway; a percentage of it means nothing
        }
        let tolerance = ctx.quality.headcount_disagreement_pct;
        for alt in &merged.disagreements {
            let Value::Integer(other) = alt.value else {
                continue;
            };
            let diff = winner.abs_diff(other) as f64;
            if diff * 100.0 > tolerance * winner as f64 {
                let message = format!(
                    "headcount {winner} from {} vs {other} from {}: spot-check against LinkedIn",
                    merged.source, alt.source
                );
                out.push(Self::META.finding(Some(Field::Headcount), message));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MergeConfig;
    use crate::merge::merge;
    use crate::record::ProviderRecord;
    use crate::source::Source;
    use crate::value::{Date, UnixMillis};

    fn findings(clay: i64, others: &[(Source, i64)]) -> Vec<String> {
        let mut records = vec![
            ProviderRecord::new(Source::Clay, UnixMillis(0))
                .with(Field::Headcount, Some(Value::Integer(clay))),
        ];
        for (s, n) in others {
            records.push(
                ProviderRecord::new(*s, UnixMillis(0))
                    .with(Field::Headcount, Some(Value::Integer(*n))),
            );
        }
        let merged = merge(&records, &MergeConfig::default());
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        HeadcountDisagreement.check_record(&RecordView::of_merged(&merged), &ctx, &mut out);
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn flags_beyond_the_tolerance_only() {
        assert!(findings(100, &[(Source::LinkedIn, 125), (Source::Clearbit, 75)]).is_empty());
        assert_eq!(
            findings(100, &[(Source::Clearbit, 126), (Source::LinkedIn, 74)]),
            [
                "headcount 100 from clay vs 126 from clearbit: spot-check against LinkedIn",
                "headcount 100 from clay vs 74 from linkedin: spot-check against LinkedIn"
            ]
        );
        assert_eq!(findings(1, &[(Source::LinkedIn, i64::MAX)]).len(), 1);
    }
}
