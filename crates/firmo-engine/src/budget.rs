//! Monthly budgets: what the current period (a calendar month in UTC, or one starting on
//! a configured day) has spent, per provider and in all, read from the store's credit
//! ledger (every real run's charges, recorded as each answer is stored); what a run may
//! still spend; and the warning once a configured share is gone.
//!
//! A run's charges count in the period the run started in: a run that straddles the reset
//! spends the old period's money.

use std::collections::BTreeMap;

use firmo_core::{Date, UnixMillis};
use serde::Serialize;

use crate::state::{StateError, StoreHandle};

/// The `[budget]` month settings, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyLimits {
    /// Credits all providers may spend in a period.
    pub total: Option<f64>,
    /// Credits each provider may spend in a period.
    pub providers: BTreeMap<String, f64>,
    /// Share of a limit (0..=1) past which the summary warns.
    pub warn_share: f64,
    /// Day of the month (1..=28) a period starts on, at 00:00 UTC.
    pub reset_day: u8,
    /// Money per credit, to say what was spent in money too.
    pub price: Option<Price>,
}

/// Money per credit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Price {
    pub per_credit: f64,
    pub currency: String,
}

impl MonthlyLimits {
    pub fn is_set(&self) -> bool {
        self.total.is_some() || !self.providers.is_empty()
    }
}

/// The budget period `now` falls in: [start, end).
pub fn period(now: UnixMillis, reset_day: u8) -> (Date, Date) {
    let today = now
        .date()
        .unwrap_or_else(|| Date::new(1970, 1, 1).expect("a valid date"));
    let this_month = |y: i32, m: u8| Date::new(y, m, reset_day).expect("reset day ≤ 28");
    let (y, m) = (today.year(), today.month());
    let start = if today.day() >= reset_day {
        this_month(y, m)
    } else if m == 1 {
        this_month(y - 1, 12)
    } else {
        this_month(y, m - 1)
    };
    let end = if start.month() == 12 {
        this_month(start.year() + 1, 1)
    } else {
        this_month(start.year(), start.month() + 1)
    };
    (start, end)
}

/// What the current period has spent before this run.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthToDate {
    pub start: Date,
    pub end: Date,
    pub spent: BTreeMap<String, f64>,
}

impl MonthToDate {
    pub async fn read(
        store: &StoreHandle,
        limits: &MonthlyLimits,
        now: UnixMillis,
    ) -> Result<MonthToDate, StateError> {
        let reset_day = limits.reset_day;
        store
            .call(move |s| MonthToDate::of(s, reset_day, now))
            .await
    }

    /// The period's spend as `store`'s credit ledger has it.
    pub fn of(
        store: &firmo_store::Store,
        reset_day: u8,
        now: UnixMillis,
    ) -> Result<MonthToDate, firmo_store::StoreError> {
        let (start, end) = period(now, reset_day);
        let since = UnixMillis(start.midnight_utc_millis());
        let rows = store.credits_since(since)?;
        Ok(MonthToDate {
            start,
            end,
            spent: rows.into_iter().map(|r| (r.provider, r.credits)).collect(),
        })
    }

    pub fn total(&self) -> f64 {
        self.spent.values().sum()
    }

    /// Credits `provider` may still spend this period (`None`: no limit of its own).
    pub fn left_for(&self, limits: &MonthlyLimits, provider: &str) -> Option<f64> {
        let limit = limits.providers.get(provider)?;
        Some((limit - self.spent.get(provider).copied().unwrap_or(0.0)).max(0.0))
    }

    /// Credits all providers may still spend this period (`None`: no overall limit).
    pub fn left_total(&self, limits: &MonthlyLimits) -> Option<f64> {
        limits.total.map(|limit| (limit - self.total()).max(0.0))
    }

    /// The period's standing once `this_run` (provider → credits) is spent too.
    pub fn status(
        &self,
        limits: &MonthlyLimits,
        this_run: &BTreeMap<String, f64>,
    ) -> MonthlyStatus {
        let spent_now = |p: &str| {
            self.spent.get(p).copied().unwrap_or(0.0) + this_run.get(p).copied().unwrap_or(0.0)
        };
        let spent: f64 = self.total() + this_run.values().sum::<f64>();
        let mut warnings = Vec::new();
        let mut exhausted = Vec::new();
        let mut judge = |what: String, spent: f64, limit: f64| {
            if spent + 1e-9 >= limit {
                exhausted.push(what);
            } else if spent >= limit * limits.warn_share {
                warnings.push(format!(
                    "{what}: {spent:.0} of {limit:.0} credits spent ({:.0} %)",
                    spent / limit * 100.0
                ));
            }
        };
        if let Some(limit) = limits.total {
            judge("all providers".to_owned(), spent, limit);
        }
        let providers = limits
            .providers
            .iter()
            .map(|(p, &limit)| {
                let s = spent_now(p);
                judge(p.clone(), s, limit);
                (
                    p.clone(),
                    ProviderMonth {
                        limit,
                        spent: s,
                        left: (limit - s).max(0.0),
                    },
                )
            })
            .collect();
        MonthlyStatus {
            period_start: self.start.to_string(),
            resets_on: self.end.to_string(),
            limit: limits.total,
            spent,
            left: limits.total.map(|l| (l - spent).max(0.0)),
            money_spent: limits.price.as_ref().map(|p| Money {
                amount: spent * p.per_credit,
                currency: p.currency.clone(),
            }),
            warn_at: limits.warn_share,
            warnings,
            exhausted,
            providers,
        }
    }
}

/// The period's spend so far, when the config sets any monthly limit.
pub async fn month_for_run(
    store: &StoreHandle,
    limits: &MonthlyLimits,
    now: UnixMillis,
) -> Result<Option<MonthToDate>, StateError> {
    if !limits.is_set() {
        return Ok(None);
    }
    MonthToDate::read(store, limits, now).await.map(Some)
}

/// The period's standing after a run that spent what `stats` says, its warnings logged.
pub fn after_run(
    month: Option<MonthToDate>,
    limits: &MonthlyLimits,
    stats: &BTreeMap<String, crate::run::ProviderStats>,
) -> Option<MonthlyStatus> {
    let month = month?;
    let this_run = stats.iter().map(|(p, s)| (p.clone(), s.credits)).collect();
    let status = month.status(limits, &this_run);
    for warning in &status.warnings {
        tracing::warn!(%warning, "monthly budget");
    }
    for limit in &status.exhausted {
        tracing::warn!(%limit, resets_on = %status.resets_on, "monthly budget spent: lookups are deferred until it resets");
    }
    Some(status)
}

/// A period's standing, as the summary and `firmo budget` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyStatus {
    /// The period's first day (UTC).
    pub period_start: String,
    /// The first day of the next period.
    pub resets_on: String,
    /// The overall limit, if any.
    pub limit: Option<f64>,
    /// Credits spent in the period, this run included.
    pub spent: f64,
    pub left: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub money_spent: Option<Money>,
    /// The share at which a limit warns.
    pub warn_at: f64,
    /// Limits past their warning share: what, how much of it.
    pub warnings: Vec<String>,
    /// Limits spent: their lookups are deferred until the period resets.
    pub exhausted: Vec<String>,
    pub providers: BTreeMap<String, ProviderMonth>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderMonth {
    pub limit: f64,
    pub spent: f64,
    pub left: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Money {
    pub amount: f64,
    pub currency: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u8, d: u8) -> UnixMillis {
        UnixMillis(Date::new(y, m, d).unwrap().midnight_utc_millis() + 3_600_000)
    }

    #[test]
    fn periods_are_calendar_months_or_start_on_the_reset_day() {
        let d = |y, m, day| Date::new(y, m, day).unwrap();
        assert_eq!(period(at(2026, 12, 1), 1), (d(2026, 12, 1), d(2027, 1, 1)));
        assert_eq!(period(at(2026, 12, 31), 1), (d(2026, 12, 1), d(2027, 1, 1)));
        assert_eq!(
            period(at(2026, 12, 14), 15),
            (d(2026, 11, 15), d(2026, 12, 15))
        );
        assert_eq!(
            period(at(2026, 1, 3), 15),
            (d(2025, 12, 15), d(2026, 1, 15))
        );
        assert_eq!(
            period(at(2026, 12, 15), 15),
            (d(2026, 12, 15), d(2027, 1, 15))
        );
    }

    #[test]
    fn status_warns_past_the_share_and_marks_what_is_spent() {
        let limits = MonthlyLimits {
            total: Some(1000.0),
            providers: [("crunchbase".to_owned(), 100.0)].into(),
            warn_share: 0.8,
            reset_day: 1,
            price: Some(Price {
                per_credit: 0.05,
                currency: "USD".into(),
            }),
        };
        let mtd = MonthToDate {
            start: Date::new(2026, 12, 1).unwrap(),
            end: Date::new(2027, 1, 1).unwrap(),
            spent: [("clay".to_owned(), 700.0), ("crunchbase".to_owned(), 60.0)].into(),
        };
        let quiet = mtd.status(&limits, &BTreeMap::new());
        assert!(
            quiet.warnings.is_empty() && quiet.exhausted.is_empty(),
            "{quiet:?}"
        );
        let run = [("clay".to_owned(), 50.0), ("crunchbase".to_owned(), 40.0)].into();
        let status = mtd.status(&limits, &run);
        assert!((status.spent - 850.0).abs() < 1e-9);
        assert!((status.left.unwrap() - 150.0).abs() < 1e-9);
        assert_eq!(
            status.warnings,
            ["all providers: 850 of 1000 credits spent (85 %)"]
        );
        assert_eq!(status.exhausted, ["crunchbase"]);
        assert!((status.money_spent.unwrap().amount - 42.5).abs() < 1e-9);
        assert!((mtd.left_for(&limits, "crunchbase").unwrap() - 40.0).abs() < 1e-9);
        assert_eq!(mtd.left_for(&limits, "clay"), None);
        assert!((mtd.left_total(&limits).unwrap() - 240.0).abs() < 1e-9);
    }
}
