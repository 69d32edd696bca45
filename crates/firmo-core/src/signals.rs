//! Derived signals: booleans computed from merged fields under [`SignalConfig`]
//! thresholds. "Today" is an argument; a missing input makes a signal `false`.
//!
//! - `post_funding`: `last_funding_date` is today or at most `post_funding_days` before
//!   it (a future date is not "post" anything).
//! - `hiring_surge`: `employee_growth_6mo` >= `hiring_growth_pct`, or
//!   `recent_job_postings` >= `hiring_job_postings`.
//! - `cloud_native`: the tech stack names AWS, Google Cloud or Azure (see [`CLOUD_NAMES`]).
//! - `exec_change`: an executive change whose title is a VP of Engineering or a CTO
//!   started today or at most `exec_change_days` before it.

use serde::{Deserialize, Serialize};

use crate::config::SignalConfig;
use crate::field::{Field, Signal};
use crate::merge::{MergedRecord, cmp_ignore_case};
use crate::record::ExecChange;
use crate::title::{EngineeringExec, engineering_exec};
use crate::value::{Date, Value};

/// The value of every signal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one bool per catalogue signal, as written to the CRM"
)]
pub struct Signals {
    pub post_funding: bool,
    pub hiring_surge: bool,
    pub cloud_native: bool,
    pub exec_change: bool,
}

impl Signals {
    pub fn get(self, signal: Signal) -> bool {
        match signal {
            Signal::PostFunding => self.post_funding,
            Signal::HiringSurge => self.hiring_surge,
            Signal::CloudNative => self.cloud_native,
            Signal::ExecChange => self.exec_change,
        }
    }
}

/// Tech-stack names (compared ignoring case) that make a company cloud native.
pub const CLOUD_NAMES: &[&str] = &[
    "aws",
    "amazon web services",
    "amazon aws",
    "gcp",
    "google cloud",
    "google cloud platform",
    "azure",
    "microsoft azure",
];

/// Computes every signal of `record`.
pub fn compute_signals(
    record: &MergedRecord,
    exec_changes: &[ExecChange],
    today: Date,
    cfg: &SignalConfig,
) -> Signals {
    compute_signals_from(record, exec_changes, today, cfg)
}

/// [`compute_signals`] over any iterator of executive changes, so a caller that filters
/// them (by source) needn't collect them first.
pub fn compute_signals_from<'a>(
    record: &MergedRecord,
    exec_changes: impl IntoIterator<Item = &'a ExecChange>,
    today: Date,
    cfg: &SignalConfig,
) -> Signals {
    let within = |date: Date, days: u32| (0..=i64::from(days)).contains(&date.days_until(today));
    let post_funding = matches!(
        record.value(Field::LastFundingDate),
        Some(Value::Date(d)) if within(*d, cfg.post_funding_days)
    );
    let growth = match record.value(Field::EmployeeGrowth6mo) {
        Some(Value::Decimal(x)) => *x >= cfg.hiring_growth_pct,
        Some(Value::Integer(n)) => *n as f64 >= cfg.hiring_growth_pct,
        _ => false,
    };
    let postings = matches!(
        record.value(Field::RecentJobPostings),
        Some(Value::Integer(n)) if *n >= cfg.hiring_job_postings
    );
    let cloud_native = match record.value(Field::TechStack) {
        Some(Value::TextList(items)) => items.iter().any(|item| {
            let item = item.trim();
            CLOUD_NAMES
                .iter()
                .any(|name| cmp_ignore_case(name, item).is_eq())
        }),
        _ => false,
    };
    let exec_change = exec_changes
        .into_iter()
        .any(|c| within(c.date, cfg.exec_change_days) && is_engineering_leader(&c.title));
    Signals {
        post_funding,
        hiring_surge: growth || postings,
        cloud_native,
        exec_change,
    }
}

/// Whether a job title names a CTO or a VP of Engineering: "CTO", "Co-founder & CTO",
/// "Chief Technology Officer", "VP Engineering", "VP, Engineering", "VP of Eng",
/// "SVP Engineering", "Vice President of Engineering" (see [`engineering_exec`]; someone
/// else's or a past role, "Assistant to the CTO", "Former CTO", is not one).
pub fn is_engineering_leader(title: &str) -> bool {
    engineering_exec(title).is_some_and(EngineeringExec::counts_for_exec_change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MergeConfig;
    use crate::merge::merge;
    use crate::record::ProviderRecord;
    use crate::source::Source;
    use crate::value::UnixMillis;

    fn today() -> Date {
        Date::new(2026, 11, 26).unwrap()
    }

    fn record(fields: &[(Field, Value)]) -> MergedRecord {
        let mut clay = ProviderRecord::new(Source::Clay, UnixMillis(0));
        let mut linkedin = ProviderRecord::new(Source::LinkedIn, UnixMillis(0));
        let mut crunchbase = ProviderRecord::new(Source::Crunchbase, UnixMillis(0));
        for (field, value) in fields {
            for r in [&mut clay, &mut linkedin, &mut crunchbase] {
                r.fields.insert(*field, value.clone());
            }
        }
        merge(&[clay, linkedin, crunchbase], &MergeConfig::default())
    }

    #[test]
    fn post_funding_window_is_inclusive_and_excludes_the_future() {
        let cfg = SignalConfig::default();
        let on = |days: i64| {
            let date = Date::from_days_since_epoch(today().days_since_epoch() - days).unwrap();
            let r = record(&[(Field::LastFundingDate, Value::Date(date))]);
            compute_signals(&r, &[], today(), &cfg).post_funding
        };
        assert!(on(0) && on(180));
        assert!(!on(181) && !on(-1));
    }

    #[test]
    fn hiring_surge_from_growth_or_postings() {
        let cfg = SignalConfig::default();
        let surge = |fields: &[(Field, Value)]| {
            compute_signals(&record(fields), &[], today(), &cfg).hiring_surge
        };
        assert!(surge(&[(Field::EmployeeGrowth6mo, Value::Decimal(20.0))]));
        assert!(!surge(&[(Field::EmployeeGrowth6mo, Value::Decimal(19.99))]));
        assert!(surge(&[(Field::RecentJobPostings, Value::Integer(50))]));
        assert!(!surge(&[(Field::RecentJobPostings, Value::Integer(49))]));
        assert!(!surge(&[]));
    }

    #[test]
    fn cloud_native_ignores_case() {
        let cfg = SignalConfig::default();
        let cloud = |items: &[&str]| {
            let list = Value::TextList(items.iter().map(|s| (*s).to_owned()).collect());
            compute_signals(&record(&[(Field::TechStack, list)]), &[], today(), &cfg).cloud_native
        };
        assert!(cloud(&["React", "Google Cloud"]));
        assert!(cloud(&["aws"]));
        assert!(!cloud(&["AWS Amplify Console Fan Site", "Azurewave"]));
    }

    #[test]
    fn exec_titles() {
        for t in [
            "CTO",
            "Co-founder & CTO",
            "Chief Technology Officer",
            "VP Engineering",
            "VP, Engineering",
            "vp of eng",
            "SVP Engineering",
            "Vice President of Engineering",
        ] {
            assert!(is_engineering_leader(t), "{t}");
        }
        for t in [
            "Director",
            "VP Sales",
            "Engineering Manager",
            "Chief Executive Officer",
            "Vice Engineering",
        ] {
            assert!(!is_engineering_leader(t), "{t}");
        }
        let cfg = SignalConfig::default();
        let change = |title: &str, days: i64| ExecChange {
            title: title.to_owned(),
            date: Date::from_days_since_epoch(today().days_since_epoch() - days).unwrap(),
        };
        let r = record(&[]);
        assert!(compute_signals(&r, &[change("CTO", 90)], today(), &cfg).exec_change);
        assert!(!compute_signals(&r, &[change("CTO", 91)], today(), &cfg).exec_change);
        assert!(!compute_signals(&r, &[change("VP Sales", 1)], today(), &cfg).exec_change);
    }
}
