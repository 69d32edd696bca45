//! `firmo budget`: the budget period's spend per provider (the store's credit ledger),
//! the monthly limits and what is left of them, and the most the next run may spend.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use firmo_engine::budget::{MonthToDate, MonthlyStatus};
use firmo_engine::report::render_month;
use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::context::{load_config, open_store_read_only};
use crate::output::{print, print_json};
use crate::{CmdResult, Failure};

#[derive(Debug, Serialize)]
struct BudgetReport {
    /// Every provider's spend this period, limits or not.
    spent: BTreeMap<String, f64>,
    month: MonthlyStatus,
    /// The per-run cap (`[budget] max_credits_per_run`).
    run_cap: f64,
    /// The most the next run may spend: the run cap, or what the month has left if less.
    next_run_at_most: f64,
}

pub(crate) fn run(global: &GlobalArgs) -> CmdResult {
    let config = load_config(global)?;
    if !crate::context::state_exists(global) {
        return Err(Failure::Usage(anyhow::anyhow!(
            "no state file at {}: nothing spent yet (or pass --state)",
            crate::context::state_label(global)
        )));
    }
    let store = open_store_read_only(global)?;
    let now = firmo_engine::system_clock()();
    let limits = &config.monthly;
    let month = MonthToDate::of(&store, limits.reset_day, now)?;
    let run_cap = config.budget.max_credits_per_run;
    let report = BudgetReport {
        spent: month.spent.clone(),
        next_run_at_most: month.left_total(limits).map_or(run_cap, |l| l.min(run_cap)),
        month: month.status(limits, &BTreeMap::new()),
        run_cap,
    };
    if global.json {
        print_json(&report)?;
        return Ok(());
    }
    let mut out = String::new();
    render_month(&mut out, &report.month);
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<12} {:>10}", "provider", "this period");
    for (provider, credits) in &report.spent {
        let _ = writeln!(out, "{provider:<12} {credits:>10.1}");
    }
    if report.spent.is_empty() {
        let _ = writeln!(out, "(nothing spent since {})", report.month.period_start);
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "next run      at most {:.0} credits (run cap {:.0}{}); `firmo sync --dry-run` prices it",
        report.next_run_at_most,
        report.run_cap,
        if limits.total.is_some() {
            ", or what the month has left"
        } else {
            ""
        }
    );
    if !limits.is_set() {
        let _ = writeln!(
            out,
            "no monthly limit set: add `monthly_credits` under [budget] (or a [sources.X] table)"
        );
    }
    print(&out)?;
    Ok(())
}
