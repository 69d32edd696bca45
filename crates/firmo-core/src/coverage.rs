//! Coverage: how much of a run's records firmo could fill, and from where. The seed's own
//! data-quality figures (`firmo report`). An accumulator over merged records; two
//! accumulators (e.g. two runs, two threads) combine with [`Coverage::absorb`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::field::Field;
use crate::finding::{Finding, Severity};
use crate::merge::MergedRecord;
use crate::source::Source;

/// Counts over many merged records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Records seen.
    pub records: u64,
    /// Records with both an industry and a headcount (the minimum to route an account).
    pub with_industry_and_headcount: u64,
    /// Per field, records where it has a value.
    pub filled: BTreeMap<Field, u64>,
    /// Per source, fields whose value it won.
    pub won: BTreeMap<Source, u64>,
}

/// Coverage as shares (0.0..=1.0), for reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageSummary {
    pub records: u64,
    pub industry_and_headcount: f64,
    /// Every catalogue field, filled or not.
    pub fields: BTreeMap<Field, f64>,
    /// Share of all winning values each source supplied (every source listed).
    pub sources: BTreeMap<Source, f64>,
}

impl Coverage {
    /// Counts every merged field of `record`.
    pub fn add(&mut self, record: &MergedRecord) {
        self.add_filtered(record, |_| true);
    }

    /// Counts the fields of `record` that may be written: a field with a reject finding
    /// is not coverage, since it never reaches the CRM.
    pub fn add_validated(&mut self, record: &MergedRecord, findings: &[Finding]) {
        self.add_filtered(record, |field| {
            !findings
                .iter()
                .any(|f| f.field == Some(field) && f.severity == Severity::Reject)
        });
    }

    fn add_filtered(&mut self, record: &MergedRecord, keep: impl Fn(Field) -> bool) {
        self.records += 1;
        let mut industry = false;
        let mut headcount = false;
        for (field, merged) in &record.fields {
            if !keep(*field) {
                continue;
            }
            industry |= *field == Field::Industry;
            headcount |= *field == Field::Headcount;
            *self.filled.entry(*field).or_default() += 1;
            *self.won.entry(merged.source).or_default() += 1;
        }
        if industry && headcount {
            self.with_industry_and_headcount += 1;
        }
    }

    /// Adds another accumulator's counts to this one.
    pub fn absorb(&mut self, other: &Coverage) {
        self.records += other.records;
        self.with_industry_and_headcount += other.with_industry_and_headcount;
        for (field, n) in &other.filled {
            *self.filled.entry(*field).or_default() += n;
        }
        for (source, n) in &other.won {
            *self.won.entry(*source).or_default() += n;
        }
    }

    /// Share of records with both industry and headcount (0 when there are no records).
    pub fn industry_and_headcount_share(&self) -> f64 {
        ratio(self.with_industry_and_headcount, self.records)
    }

    /// Share of records where `field` has a value.
    pub fn field_share(&self, field: Field) -> f64 {
        ratio(self.filled.get(&field).copied().unwrap_or(0), self.records)
    }

    /// Share of all winning values that `source` supplied.
    pub fn source_share(&self, source: Source) -> f64 {
        let total = self.won.values().sum();
        ratio(self.won.get(&source).copied().unwrap_or(0), total)
    }

    pub fn summary(&self) -> CoverageSummary {
        CoverageSummary {
            records: self.records,
            industry_and_headcount: self.industry_and_headcount_share(),
            fields: Field::ALL
                .iter()
                .map(|f| (*f, self.field_share(*f)))
                .collect(),
            sources: Source::ALL
                .iter()
                .map(|s| (*s, self.source_share(*s)))
                .collect(),
        }
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MergeConfig;
    use crate::merge::merge;
    use crate::record::ProviderRecord;
    use crate::rules::ValidationContext;
    use crate::validate::validate_record;
    use crate::value::{Date, UnixMillis, Value};

    fn company(industry: Option<&str>, headcount: Option<i64>) -> MergedRecord {
        let clay = ProviderRecord::new(Source::Clay, UnixMillis(0))
            .with(Field::Headcount, headcount.map(Value::Integer));
        let clearbit = ProviderRecord::new(Source::Clearbit, UnixMillis(0))
            .with(Field::Industry, industry.map(|s| Value::Text(s.to_owned())));
        merge(&[clay, clearbit], &MergeConfig::default())
    }

    #[test]
    fn counts_and_shares() {
        let mut coverage = Coverage::default();
        coverage.add(&company(Some("Software"), Some(10)));
        coverage.add(&company(Some("Retail"), None));
        let mut other = Coverage::default();
        other.add(&company(None, None));
        other.add(&company(None, Some(3)));
        coverage.absorb(&other);
        assert_eq!(coverage.records, 4);
        assert!((coverage.industry_and_headcount_share() - 0.25).abs() < 1e-9);
        assert!((coverage.field_share(Field::Headcount) - 0.5).abs() < 1e-9);
        assert!((coverage.source_share(Source::Clay) - 0.5).abs() < 1e-9);
        assert!((coverage.source_share(Source::Clearbit) - 0.5).abs() < 1e-9);
        let summary = coverage.summary();
        assert_eq!(summary.fields.len(), 9);
        assert!(summary.sources[&Source::BuiltWith].abs() < 1e-9);
        assert!(Coverage::default().summary().industry_and_headcount.abs() < 1e-9);
    }

    #[test]
    fn rejected_fields_are_not_coverage() {
        let record = company(Some(""), Some(10));
        let findings = validate_record(
            &record,
            &ValidationContext::new(Date::new(2026, 1, 1).unwrap()),
        );
        let mut coverage = Coverage::default();
        coverage.add_validated(&record, &findings);
        assert_eq!(coverage.with_industry_and_headcount, 0);
        assert_eq!(coverage.filled.get(&Field::Industry), None);
        assert_eq!(coverage.filled[&Field::Headcount], 1);
    }
}
