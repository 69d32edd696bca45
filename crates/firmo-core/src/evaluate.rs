//! The one composition of merge → validate → signals. The sync engine, `mergePreview`
//! (WASM), the CLI and the shared fixture runner all call [`evaluate`], so the fixtures
//! test exactly what a sync writes.
//!
//! Steps, for one company's normalized provider records:
//! 1. [`merge`](crate::merge::merge) under `config.merge`;
//! 2. [`validate_record`](crate::validate::validate_record) with `today` and
//!    `config.quality`;
//! 3. [`compute_signals`](crate::signals::compute_signals) under `config.signals`, with
//!    the executive changes of the LinkedIn records only (the only source that reports
//!    them; anything else claiming one is not trusted);
//! 4. only the *known* signals are kept: a signal whose inputs are absent is left out,
//!    not `false`, because "no funding data" must never read as "not recently funded".
//!    `exec_change` is known when any LinkedIn record is present (an answer with no
//!    changes is a real "no").
//!
//! ```
//! use firmo_core::{CoreConfig, Date, Field, ProviderRecord, Source, UnixMillis, Value, evaluate};
//!
//! let crunchbase = ProviderRecord::new(Source::Crunchbase, UnixMillis(0))
//!     .with(Field::LastFundingDate, Some(Value::Date(Date::new(2026, 10, 1).unwrap())))
//!     .with(Field::FundingStage, Some(Value::Text("series_a".into())));
//! let today = Date::new(2026, 11, 26).unwrap();
//! let evaluation = evaluate(&[crunchbase], &CoreConfig::default(), today);
//! assert!(evaluation.findings.is_empty());
//! // Funding data is there, so `post_funding` is known; nothing else is.
//! assert_eq!(evaluation.signals.into_iter().collect::<Vec<_>>(), [("post_funding", true)]);
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::CoreConfig;
use crate::field::{Field, Signal};
use crate::finding::Finding;
use crate::merge::{MergedRecord, merge_into};
use crate::record::ProviderRecord;
use crate::rules::ValidationContext;
use crate::signals::{Signals, compute_signals_from};
use crate::source::Source;
use crate::validate::validate_record_into;
use crate::value::Date;

/// What [`evaluate`] decides about one company.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// Each field's merged value and where it came from.
    pub merged: MergedRecord,
    /// Every rule's verdict on `merged`, in the validator's order.
    pub findings: Vec<Finding>,
    /// The signals whose inputs are known, by catalogue name (`post_funding`, ...).
    pub signals: BTreeMap<&'static str, bool>,
}

/// Merges, validates and derives the known signals of one company's provider records.
pub fn evaluate(records: &[ProviderRecord], config: &CoreConfig, today: Date) -> Evaluation {
    let mut out = Evaluation::default();
    evaluate_into(records, config, today, &mut out);
    out
}

/// [`evaluate`] into an existing [`Evaluation`], reusing its buffers (the merged record's
/// strings and lists, the findings vector): the result is exactly what [`evaluate`]
/// returns, whatever `out` held before. For loops over many companies.
pub fn evaluate_into(
    records: &[ProviderRecord],
    config: &CoreConfig,
    today: Date,
    out: &mut Evaluation,
) {
    merge_into(records, &config.merge, &mut out.merged);
    let ctx = ValidationContext {
        today,
        quality: config.quality.clone(),
    };
    out.findings.clear();
    validate_record_into(&out.merged, &ctx, &mut out.findings);
    let linkedin = records.iter().filter(|r| r.source == Source::LinkedIn);
    let has_linkedin = linkedin.clone().next().is_some();
    let changes = linkedin.flat_map(|r| r.exec_changes.iter());
    let signals = compute_signals_from(&out.merged, changes, today, &config.signals);
    known_signals_into(&out.merged, signals, has_linkedin, &mut out.signals);
}

/// The signals of `signals` whose inputs exist in `merged` (see the module docs);
/// `has_linkedin`: whether any LinkedIn record was present, which makes `exec_change`
/// known.
pub fn known_signals(
    merged: &MergedRecord,
    signals: Signals,
    has_linkedin: bool,
) -> BTreeMap<&'static str, bool> {
    let mut out = BTreeMap::new();
    known_signals_into(merged, signals, has_linkedin, &mut out);
    out
}

fn known_signals_into(
    merged: &MergedRecord,
    signals: Signals,
    has_linkedin: bool,
    out: &mut BTreeMap<&'static str, bool>,
) {
    out.clear();
    let has = |field: Field| merged.get(field).is_some();
    for signal in Signal::ALL {
        let known = match signal {
            Signal::PostFunding => has(Field::LastFundingDate),
            Signal::HiringSurge => has(Field::EmployeeGrowth6mo) || has(Field::RecentJobPostings),
            Signal::CloudNative => has(Field::TechStack),
            Signal::ExecChange => has_linkedin,
        };
        if known {
            out.insert(signal.name(), signals.get(signal));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::merge;
    use crate::record::ExecChange;
    use crate::signals::compute_signals;
    use crate::validate::validate_record;
    use crate::value::{UnixMillis, Value};

    fn today() -> Date {
        Date::new(2026, 11, 26).unwrap()
    }

    fn cto(days_ago: i64) -> ExecChange {
        ExecChange {
            title: "CTO".into(),
            date: Date::from_days_since_epoch(today().days_since_epoch() - days_ago).unwrap(),
        }
    }

    #[test]
    fn no_data_means_no_signals_not_false_ones() {
        let clearbit = ProviderRecord::new(Source::Clearbit, UnixMillis(0))
            .with(Field::Industry, Some(Value::Text("Software".into())));
        let evaluation = evaluate(&[clearbit], &CoreConfig::default(), today());
        assert!(evaluation.signals.is_empty(), "{:?}", evaluation.signals);
        assert_eq!(evaluation.merged.fields.len(), 1);
    }

    #[test]
    fn each_signal_is_known_exactly_when_its_input_is() {
        let records = [
            ProviderRecord::new(Source::LinkedIn, UnixMillis(0))
                .with(Field::RecentJobPostings, Some(Value::Integer(80))),
            ProviderRecord::new(Source::BuiltWith, UnixMillis(0)).with(
                Field::TechStack,
                Some(Value::TextList(vec!["React".into()])),
            ),
        ];
        let evaluation = evaluate(&records, &CoreConfig::default(), today());
        let expected: BTreeMap<&str, bool> = [
            ("hiring_surge", true),
            ("cloud_native", false),
            ("exec_change", false),
        ]
        .into_iter()
        .collect();
        assert_eq!(evaluation.signals, expected);
    }

    #[test]
    fn exec_changes_count_only_from_linkedin() {
        let mut clay = ProviderRecord::new(Source::Clay, UnixMillis(0));
        clay.exec_changes.push(cto(3));
        let evaluation = evaluate(&[clay.clone()], &CoreConfig::default(), today());
        assert_eq!(evaluation.signals.get("exec_change"), None);

        let linkedin = ProviderRecord::new(Source::LinkedIn, UnixMillis(0));
        let evaluation = evaluate(&[clay, linkedin.clone()], &CoreConfig::default(), today());
        assert_eq!(evaluation.signals.get("exec_change"), Some(&false));

        let mut linkedin = linkedin;
        linkedin.exec_changes.push(cto(3));
        let evaluation = evaluate(&[linkedin], &CoreConfig::default(), today());
        assert_eq!(evaluation.signals.get("exec_change"), Some(&true));
    }

    #[test]
    fn it_is_the_steps_composed_under_the_config() {
        let mut config = CoreConfig::default();
        config.quality.headcount_disagreement_pct = 5.0;
        config.signals.hiring_growth_pct = 10.0;
        let records = [
            ProviderRecord::new(Source::Clay, UnixMillis(1))
                .with(Field::Headcount, Some(Value::Integer(100))),
            ProviderRecord::new(Source::LinkedIn, UnixMillis(2))
                .with(Field::Headcount, Some(Value::Integer(110)))
                .with(Field::EmployeeGrowth6mo, Some(Value::Decimal(12.0))),
        ];
        let evaluation = evaluate(&records, &config, today());
        let merged = merge(&records, &config.merge);
        let ctx = ValidationContext {
            today: today(),
            quality: config.quality.clone(),
        };
        assert_eq!(evaluation.merged, merged);
        assert_eq!(evaluation.findings, validate_record(&merged, &ctx));
        assert_eq!(evaluation.findings.len(), 1, "10 % apart, 5 % tolerated");
        let signals = compute_signals(&merged, &[], today(), &config.signals);
        assert_eq!(
            evaluation.signals,
            known_signals(&merged, signals, true),
            "growth 12 % over a 10 % threshold"
        );
        assert_eq!(evaluation.signals.get("hiring_surge"), Some(&true));
    }

    #[test]
    fn evaluate_into_a_used_evaluation_is_a_fresh_one() {
        let mut linkedin = ProviderRecord::new(Source::LinkedIn, UnixMillis(0))
            .with(Field::Headcount, Some(Value::Integer(0)));
        linkedin.exec_changes.push(cto(1));
        let crunchbase = ProviderRecord::new(Source::Crunchbase, UnixMillis(0))
            .with(Field::FundingStage, Some(Value::Text("seed".into())));
        let config = CoreConfig::default();
        let mut reused = evaluate(&[linkedin], &config, today());
        assert!(!reused.findings.is_empty() && !reused.signals.is_empty());
        evaluate_into(
            std::slice::from_ref(&crunchbase),
            &config,
            today(),
            &mut reused,
        );
        assert_eq!(reused, evaluate(&[crunchbase], &config, today()));
        assert!(reused.signals.is_empty());
    }
}
