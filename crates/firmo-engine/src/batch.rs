//! Enrichment of accounts that come from a file rather than a CRM (`firmo enrich`): the
//! same pages, claims, budget and run record as a sync, with no CRM to compare with.

use std::collections::BTreeMap;

use firmo_core::UnixMillis;
use firmo_store::{AccountOutcome, MergedSnapshot, RunOutcome, RunStart};
use futures_util::StreamExt as _;

use crate::config::Config;
use crate::diff::Diff;
use crate::enrich::{Account, Enriched, Enricher};
use crate::report::verdict_reason;
use crate::run::{PageRecord, ProviderStats, RunRecord, RunState};
use crate::state::StateError;
use crate::verdict::{self, SkipReason, Verdict};

/// Why a batch stopped.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    State(#[from] StateError),
    /// The caller could not take a row (e.g. the output file failed).
    #[error("{0}")]
    Output(String),
}

/// What a batch did.
#[derive(Debug, Clone)]
pub struct BatchSummary {
    pub run_id: i64,
    pub accounts: u64,
    pub providers: BTreeMap<String, ProviderStats>,
    pub credits: f64,
    /// Accounts not looked up because the run's credit budget was spent.
    pub deferred: u64,
    /// The run's credit budget (`[budget] max_credits_per_run`).
    pub budget: f64,
}

/// Accounts per page, as for a sync.
const PAGE: usize = 100;
/// Pages enriched at once; results come back in input order.
const PAGES_IN_FLIGHT: usize = 6;

/// An account's verdict when the result goes to a file: data to write is `Written`.
pub fn offline_verdict(e: &Enriched) -> Verdict {
    match verdict::decide(e, &Diff::default(), &[]) {
        Verdict::Unchanged => Verdict::Written,
        other => other,
    }
}

/// Enriches `accounts` page by page, in order, handing each account and its verdict to
/// `each`; the run is recorded like a sync (`kind` names it in `firmo report`).
pub async fn enrich_accounts<F>(
    config: &Config,
    enricher: &Enricher,
    kind: &str,
    run_config: serde_json::Value,
    accounts: Vec<Account>,
    mut each: F,
) -> Result<BatchSummary, BatchError>
where
    F: FnMut(&Enriched, &Verdict) -> Result<(), String>,
{
    let started = (enricher.clock)();
    let record = RunRecord::start(
        &enricher.store,
        RunStart::new(kind, started).config(run_config),
    )
    .await?;
    let run = run_state(config, enricher, &record, started).await?;
    let total = accounts.len() as u64;
    let chunks = pages_of(accounts);
    let pages = futures_util::stream::iter(chunks)
        .map(|page| enricher.enrich_page(page, &run))
        .buffered(PAGES_IN_FLIGHT);
    let mut pages = std::pin::pin!(pages);
    let mut failed = false;
    let mut deferred = 0;
    while let Some(page) = pages.next().await {
        let mut record_page = PageRecord::default();
        for e in page? {
            let verdict = offline_verdict(&e);
            each(&e, &verdict).map_err(BatchError::Output)?;
            failed |= matches!(verdict, Verdict::Rejected(_) | Verdict::Failed(_));
            deferred += u64::from(verdict == Verdict::Skipped(SkipReason::OverBudget));
            record_page.outcomes.push(outcome_of(&e, &verdict));
            record_page.snapshots.push(snapshot_of(&e));
        }
        record.page(record_page).await?;
    }
    let providers = run.stats();
    let credits = providers.values().map(|p| p.credits).sum();
    let outcome = if failed {
        RunOutcome::Partial
    } else {
        RunOutcome::Ok
    };
    let run_id = record.id.0;
    let summary =
        serde_json::json!({ "accounts": total, "credits": credits, "deferred": deferred });
    record.finish((enricher.clock)(), outcome, summary).await?;
    Ok(BatchSummary {
        run_id,
        accounts: total,
        providers,
        credits,
        deferred,
        budget: config.budget.max_credits_per_run,
    })
}

/// The run's state: its budget, and the month's, since monthly limits hold for file runs
/// too (they spend the same credits).
async fn run_state(
    config: &Config,
    enricher: &Enricher,
    record: &RunRecord,
    started: UnixMillis,
) -> Result<RunState, StateError> {
    let run = RunState::new(
        &enricher.providers,
        config.budget.max_credits_per_run,
        std::sync::Arc::clone(&enricher.clock),
        config.push_wait(),
        false,
    )
    .recording(record);
    let month = crate::budget::month_for_run(&enricher.store, &config.monthly, started).await?;
    Ok(match month {
        Some(month) => run.within_month(&month, &config.monthly),
        None => run,
    })
}

/// `accounts` in pages of [`PAGE`], in order.
fn pages_of(mut accounts: Vec<Account>) -> Vec<Vec<Account>> {
    let mut pages = Vec::new();
    while !accounts.is_empty() {
        let tail = accounts.split_off(accounts.len().min(PAGE));
        pages.push(std::mem::replace(&mut accounts, tail));
    }
    pages
}

/// How the account's outcome is recorded (no CRM, so no detail to show).
fn outcome_of(e: &Enriched, verdict: &Verdict) -> AccountOutcome {
    AccountOutcome {
        account_id: e.account.id.clone(),
        domain: e.domain.as_ref().ok().cloned(),
        outcome: verdict.outcome(),
        reason: verdict_reason(verdict, false),
        detail: None,
    }
}

/// The account's merged record and findings, for `firmo report`.
fn snapshot_of(e: &Enriched) -> MergedSnapshot {
    MergedSnapshot {
        account_id: e.account.id.clone(),
        merged: e.evaluation.merged.to_plain_json(),
        findings: serde_json::to_value(&e.evaluation.findings).unwrap_or_default(),
    }
}
