//! `firmo sync`: the whole pipeline against a CRM, as streaming stages over bounded
//! channels (pull runs ahead of enrichment, writes trail behind it), so memory stays flat
//! however many companies the CRM holds. Every account the run touches ends in exactly one
//! outcome: written, unchanged, skipped (why), rejected (which rule), failed (which error).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use firmo_connect::ConnectorError;
use firmo_connect::crm::{
    CompanyUpdate, Crm, CrmCompany, EnsureOutcome, Filter, FilterGroup, FilterOperator,
    PropertyDef, PropertyType, PullCursor, PullRequest, WriteOutcome, format_timestamp,
};
use firmo_core::coverage::Coverage;
use firmo_core::{Field, Severity, UnixMillis};
use firmo_store::{
    AccountOutcome, JournalEntry, MergedSnapshot, Outcome, RunId, RunOutcome, RunStart, StoreError,
};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::config::{Config, FilterConfig, OverwritePolicy};
use crate::diff::{Desired, Diff, PropertySkip, diff};
use crate::enrich::{Account, EnrichError, Enriched, Enricher, LookupState, RunState, lock};
use crate::events;
use crate::properties::{self, ENRICHED_AT, SOURCES, format_for};
use crate::report::{AccountPlan, PropertyReport, RunSummary, Tally};

/// Runtime knobs of one sync (pipeline semantics live in the config file).
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    pub dry_run: bool,
    /// Stop after this many accounts.
    pub limit: Option<usize>,
    /// A `[segments.NAME]` of the config.
    pub segment: Option<String>,
    /// Ignore the incremental cursor: pull every company.
    pub full: bool,
}

/// Progress callbacks (the CLI draws a bar; tests and `--json` ignore them).
pub trait Progress: Send + Sync {
    fn phase(&self, _name: &str) {}
    fn pulled(&self, _total: u64) {}
    fn processed(&self, _total: u64) {}
}

/// No progress output.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Why a sync stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Crm(#[from] ConnectorError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown segment `{name}`; the config defines: {known}")]
    UnknownSegment { name: String, known: String },
}

impl From<EnrichError> for SyncError {
    fn from(e: EnrichError) -> SyncError {
        match e {
            EnrichError::Store(s) => SyncError::Store(s),
        }
    }
}

const CRM_NAME: &str = "hubspot";
const CURSOR_MODIFIED: &str = "companies.modified_since";
const CURSOR_FULL_SWEEP: &str = "companies.last_full_sweep";
/// Runs whose merged snapshots are kept for reports.
const KEEP_SNAPSHOT_RUNS: usize = 10;
/// HubSpot batch inputs are capped at 100.
const WRITE_BATCH: usize = 100;

/// One write waiting for its batch.
struct WriteJob {
    account_id: String,
    domain: Option<String>,
    changes: BTreeMap<String, String>,
    detail: serde_json::Value,
}

/// Runs the pipeline.
pub async fn sync(
    config: &Config,
    crm: Arc<dyn Crm>,
    enricher: &Enricher,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<RunSummary, SyncError> {
    let started = (enricher.clock)();
    let segment = match &options.segment {
        None => Vec::new(),
        Some(name) => {
            let seg = config
                .segments
                .get(name)
                .ok_or_else(|| SyncError::UnknownSegment {
                    name: name.clone(),
                    known: if config.segments.is_empty() {
                        "(none)".to_owned()
                    } else {
                        config
                            .segments
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                })?;
            vec![FilterGroup::all(seg.filters.iter().map(to_filter))]
        }
    };

    progress.phase("checking CRM properties");
    let mut crm_calls = 0u64;
    let portal = crm.account_key().await?;
    crm_calls += 1;
    let (live, property_report) =
        prepare_properties(crm.as_ref(), options.dry_run, &mut crm_calls).await?;

    let store = Arc::clone(&enricher.store);
    let run_id = lock(&store).start_run(
        &RunStart::new("sync", started)
            .on(CRM_NAME, portal.clone())
            .dry_run(options.dry_run)
            .config(serde_json::json!({
                "segment": options.segment,
                "full": options.full,
                "limit": options.limit,
                "budget": config.budget.max_credits_per_run,
            })),
    )?;

    // Incremental unless asked otherwise or a refresh window has passed since the last
    // full sweep (answers go stale whether or not the CRM record changed).
    let shortest_refresh = config
        .sources
        .iter()
        .filter(|(_, s)| s.enabled)
        .map(|(_, s)| s.refresh.days())
        .min()
        .unwrap_or(7);
    let (cursor, last_sweep) = {
        let s = lock(&store);
        (
            s.get_cursor(CRM_NAME, &portal, CURSOR_MODIFIED)?,
            s.get_cursor(CRM_NAME, &portal, CURSOR_FULL_SWEEP)?,
        )
    };
    let sweep_due = last_sweep
        .and_then(|v| v.parse::<i64>().ok())
        .is_none_or(|at| started.0 - at >= i64::from(shortest_refresh) * 86_400_000);
    let modified_since = match (
        options.full || sweep_due,
        cursor.and_then(|c| c.parse::<i64>().ok()),
    ) {
        (false, Some(ms)) => Some(UnixMillis(ms)),
        _ => None,
    };
    let mode = if modified_since.is_some() {
        "incremental"
    } else {
        "full"
    };

    let request = PullRequest {
        properties: pull_properties(config),
        segment,
        modified_since,
        page_size: Some(100),
    };

    // Stage 1: pull, running ahead of enrichment by at most two pages.
    progress.phase("syncing");
    let (page_tx, mut page_rx) = mpsc::channel::<Result<Vec<CrmCompany>, ConnectorError>>(2);
    let pull_crm = Arc::clone(&crm);
    let limit = options.limit;
    let puller = tokio::spawn(async move {
        let mut cursor: Option<PullCursor> = None;
        let mut pulled = 0usize;
        let mut calls = 0u64;
        let mut high_water: Option<UnixMillis> = None;
        loop {
            let page = pull_crm.pull(&request, cursor.as_ref()).await;
            calls += 1;
            match page {
                Err(e) => {
                    let _ = page_tx.send(Err(e)).await;
                    return (calls, high_water, false);
                }
                Ok(mut page) => {
                    if let Some(max) = limit {
                        page.companies.truncate(max.saturating_sub(pulled));
                    }
                    pulled += page.companies.len();
                    high_water = high_water.max(page.high_water);
                    let done = page.next.is_none() || limit.is_some_and(|max| pulled >= max);
                    if page_tx.send(Ok(page.companies)).await.is_err() {
                        return (calls, high_water, false);
                    }
                    if done {
                        return (calls, high_water, true);
                    }
                    cursor = page.next;
                }
            }
        }
    });

    // Stage 3: writes, batched to the CRM's limit, trailing enrichment.
    let (write_tx, write_rx) = mpsc::channel::<WriteJob>(WRITE_BATCH * 2);
    let writer = (!options.dry_run).then(|| {
        tokio::spawn(write_stage(
            Arc::clone(&crm),
            Arc::clone(&store),
            run_id,
            portal.clone(),
            write_rx,
            Arc::clone(&enricher.clock),
        ))
    });

    // Stage 2: enrich, merge, validate, diff.
    let mut run = RunState::new(config, &enricher.providers, options.dry_run);
    run.clay_deadline = Some(crate::enrich::clay_deadline(Duration::from_secs(
        config.clay.callback_wait_seconds,
    )));
    let mut tally = Tally::default();
    let mut coverage = Coverage::default();
    let mut plans = Vec::new();
    let mut scanned = 0u64;
    let mut pull_error = None;
    while let Some(page) = page_rx.recv().await {
        let companies = match page {
            Ok(c) => c,
            Err(e) => {
                pull_error = Some(e);
                break;
            }
        };
        scanned += companies.len() as u64;
        progress.pulled(scanned);
        let accounts: Vec<Account> = companies
            .into_iter()
            .map(|c| to_account(config, c))
            .collect();
        let ids: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
        let journal = lock(&store).last_writes(CRM_NAME, &portal, &ids)?;
        let enriched = enricher.enrich(accounts, &run).await?;

        let now = (enricher.clock)();
        let mut outcomes = Vec::new();
        let mut snapshots = Vec::new();
        let mut adopted = Vec::new();
        for e in enriched {
            coverage.add_validated(&e.merged, &e.findings);
            snapshots.push(MergedSnapshot {
                account_id: e.account.id.clone(),
                merged: e.merged.to_plain_json(),
                findings: serde_json::to_value(&e.findings).unwrap_or_default(),
            });
            let ours: BTreeMap<String, String> = journal
                .iter()
                .filter(|((id, _), _)| *id == e.account.id)
                .map(|((_, p), j)| (p.clone(), j.value.clone()))
                .collect();
            let (desired, preflight) = desired_properties(config, &e, &live);
            let mut d = diff(&desired, &e.account.properties, &ours, &live);
            if !d.changes.is_empty() {
                d.changes
                    .insert(ENRICHED_AT.to_owned(), format_timestamp(now));
            }
            for (property, value) in std::mem::take(&mut d.adopt) {
                adopted.push(JournalEntry {
                    crm: CRM_NAME.to_owned(),
                    portal: portal.clone(),
                    record_id: e.account.id.clone(),
                    property,
                    value,
                    written_at: now,
                });
            }
            for skip in &d.skipped {
                if let PropertySkip::HumanEdited { property, .. } = skip {
                    events::human_edit_kept(&e.account.id, property);
                }
            }
            tally.absorb_findings(&e.findings, &preflight);
            for f in e.rejected() {
                events::record_rejected(&e.account.id, &f.code, &f.message);
            }
            if options.dry_run {
                plans.push(AccountPlan::new(&e, &d));
            }
            let domain = e.domain.as_ref().ok().cloned();
            let detail = detail_json(&e, &d, &preflight);
            if d.changes.is_empty() || options.dry_run {
                let (outcome, reason) = if d.changes.is_empty() {
                    classify_unwritten(&e, &d, &preflight)
                } else {
                    (Outcome::Written, Some("dry run: would write".to_owned()))
                };
                tally.count(outcome, reason.as_deref());
                if outcome == Outcome::Written {
                    tally.sample(&e, &d);
                }
                outcomes.push(AccountOutcome {
                    account_id: e.account.id.clone(),
                    domain,
                    outcome,
                    reason,
                    detail: Some(detail),
                });
            } else {
                tally.sample(&e, &d);
                let job = WriteJob {
                    account_id: e.account.id.clone(),
                    domain,
                    changes: d.changes,
                    detail,
                };
                if write_tx.send(job).await.is_err() {
                    break;
                }
            }
        }
        {
            let mut s = lock(&store);
            s.write(|w| {
                w.record_outcomes(run_id, &outcomes)?;
                w.record_merged(run_id, &snapshots)?;
                if !options.dry_run && !adopted.is_empty() {
                    w.record_writes(run_id, &adopted)?;
                }
                Ok(())
            })?;
        }
        progress.processed(scanned);
    }
    drop(write_tx);
    drop(page_rx);

    let write_result = match writer {
        Some(handle) => match handle.await {
            Ok(result) => Some(result),
            Err(join) => {
                tracing::error!(error = %join, "write stage ended abnormally");
                None
            }
        },
        None => None,
    };
    let (pull_calls, high_water, pull_complete) = puller.await.unwrap_or((0, None, false));
    crm_calls += pull_calls;
    if let Some(result) = &write_result {
        match result {
            Ok(w) => {
                crm_calls += w.calls;
                tally.count_n(Outcome::Written, None, w.written);
                for (reason, n) in &w.failed {
                    tally.count_n(Outcome::Failed, Some(reason), *n);
                }
            }
            Err(e) => tracing::error!(error = %e, "recording writes failed"),
        }
    }

    let finished = (enricher.clock)();
    // Accounts that failed, or wait on a provider or the budget, were pulled but not
    // finished: the cursor must not move past them, or plain syncs would never pull them
    // again until the next full sweep.
    let unfinished = tally.outcomes.failed > 0
        || tally
            .skipped
            .keys()
            .any(|reason| reason.starts_with("waiting") || reason.starts_with("over budget"));
    let complete = pull_error.is_none()
        && pull_complete
        && !unfinished
        && matches!(write_result, None | Some(Ok(_)));
    if complete && !options.dry_run && options.limit.is_none() && options.segment.is_none() {
        // Only a complete, unfiltered pass moves the cursors: a partial one would skip
        // what it didn't reach.
        let mut s = lock(&store);
        if let Some(hw) = high_water.or(modified_since) {
            s.set_cursor(
                CRM_NAME,
                &portal,
                CURSOR_MODIFIED,
                &hw.0.to_string(),
                finished,
            )?;
        }
        if mode == "full" {
            s.set_cursor(
                CRM_NAME,
                &portal,
                CURSOR_FULL_SWEEP,
                &started.0.to_string(),
                finished,
            )?;
        }
    }
    let providers = lock(&run.stats).clone();
    {
        let mut s = lock(&store);
        s.write(|w| {
            for (name, stats) in &providers {
                if stats.lookups > 0 || stats.credits > 0.0 {
                    w.add_credits(run_id, name, stats.credits, stats.lookups)?;
                }
            }
            Ok(())
        })?;
    }
    let outcome = if pull_error.is_some() || matches!(write_result, Some(Err(_))) {
        RunOutcome::Failed
    } else if tally.outcomes.rejected + tally.outcomes.failed > 0 {
        RunOutcome::Partial
    } else {
        RunOutcome::Ok
    };
    let estimated_crm_calls = if options.dry_run {
        // Accounts waiting on lookups will most likely have something to write.
        let would_fetch = tally.skipped.get("dry run").copied().unwrap_or(0);
        let writes = (tally.outcomes.written + would_fetch).div_ceil(WRITE_BATCH as u64);
        let creates = property_report
            .iter()
            .filter(|p| p.status == "would create")
            .count() as u64;
        // Creating properties also creates the group and re-reads the definitions.
        let setup = if creates > 0 { creates + 2 } else { 0 };
        Some(crm_calls + writes + setup)
    } else {
        None
    };
    let summary = RunSummary {
        run_id: run_id.0,
        dry_run: options.dry_run,
        crm: CRM_NAME.to_owned(),
        portal: portal.clone(),
        mode: mode.to_owned(),
        started_at: format_timestamp(started),
        finished_at: format_timestamp(finished),
        duration_ms: finished.0.saturating_sub(started.0),
        scanned,
        crm_calls,
        estimated_crm_calls,
        credits: providers.values().map(|p| p.credits).sum(),
        planned_credits: lock(&run.budget).planned,
        budget: config.budget.max_credits_per_run,
        providers,
        outcomes: tally.outcomes,
        skipped: tally.skipped,
        rejected: tally.rejected,
        failed: tally.failed,
        findings: tally.findings,
        coverage: coverage.summary(),
        properties: property_report,
        samples: tally.samples,
        plan: plans,
        outcome: outcome.to_string(),
        error: pull_error
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| match &write_result {
                Some(Err(e)) => Some(e.to_string()),
                _ => None,
            }),
    };
    lock(&store).finish_run(
        run_id,
        finished,
        outcome,
        &serde_json::to_value(&summary).unwrap_or_default(),
    )?;
    // Snapshots are the store's bulk (one document per account per run): keep the
    // recent runs `firmo report` reads.
    if let Err(e) = lock(&store).prune_merged(KEEP_SNAPSHOT_RUNS) {
        tracing::warn!(error = %e, "could not prune old merged snapshots");
    }
    if let Some(e) = pull_error {
        // The summary is recorded; the caller still learns the run failed.
        tracing::error!(error = %e, "pull failed; run recorded as failed");
    }
    Ok(summary)
}

/// `firmo properties ensure`: creates what is missing of firmo's group and properties,
/// checks the rest, and reports each.
pub async fn ensure_properties(crm: &dyn Crm) -> Result<Vec<PropertyReport>, ConnectorError> {
    let mut calls = 0;
    prepare_properties(crm, false, &mut calls)
        .await
        .map(|(_, report)| report)
}

/// Creates what is missing of firmo's property group and properties (unless dry), and
/// returns the live definitions firmo may write to, plus a report of what it found.
async fn prepare_properties(
    crm: &dyn Crm,
    dry_run: bool,
    calls: &mut u64,
) -> Result<(BTreeMap<String, PropertyDef>, Vec<PropertyReport>), ConnectorError> {
    let mut live = properties::index(crm.list_properties().await?);
    *calls += 1;
    let mut report = Vec::new();
    let wanted = properties::desired_properties();
    let missing: Vec<&PropertyDef> = wanted
        .iter()
        .filter(|w| !live.contains_key(&w.name))
        .collect();
    if !missing.is_empty() && !dry_run {
        crm.ensure_group(&properties::group()).await?;
        *calls += 1;
    }
    for want in &wanted {
        let status = match live.get(&want.name) {
            Some(have) if have.property_type != want.property_type => {
                format!(
                    "mismatch: wants {}, CRM has {}",
                    want.property_type, have.property_type
                )
            }
            Some(_) => "exists".to_owned(),
            None if dry_run => "would create".to_owned(),
            None => {
                *calls += 1;
                match crm.ensure_property(want).await? {
                    EnsureOutcome::Created => "created".to_owned(),
                    EnsureOutcome::Unchanged => "exists".to_owned(),
                    EnsureOutcome::OptionsAdded(o) => format!("options added: {}", o.join(", ")),
                    EnsureOutcome::Mismatch { expected, found } => {
                        format!("mismatch: wants {expected}, CRM has {found}")
                    }
                }
            }
        };
        report.push(PropertyReport {
            name: want.name.clone(),
            status,
        });
    }
    if !missing.is_empty() && !dry_run {
        live = properties::index(crm.list_properties().await?);
        *calls += 1;
    }
    // A property of the wrong type is never written (reported, not clobbered).
    for r in &report {
        if r.status.starts_with("mismatch") {
            live.remove(&r.name);
        }
    }
    Ok((live, report))
}

/// The properties a sync reads: firmo's own, the mapped built-ins, and what tiers filter on.
fn pull_properties(config: &Config) -> Vec<String> {
    let mut props: Vec<String> = vec!["domain".into(), "name".into()];
    props.extend(properties::desired_properties().into_iter().map(|d| d.name));
    props.extend(config.mapping.iter().map(|(_, m)| m.property.clone()));
    for (_, tier) in &config.tiers {
        props.extend(tier.filters.iter().map(|f| f.property.clone()));
    }
    props.sort();
    props.dedup();
    props
}

fn to_filter(f: &FilterConfig) -> Filter {
    let operator = match f.operator.as_str() {
        "NEQ" => FilterOperator::Neq,
        "GT" => FilterOperator::Gt,
        "GTE" => FilterOperator::Gte,
        "LT" => FilterOperator::Lt,
        "LTE" => FilterOperator::Lte,
        "BETWEEN" => FilterOperator::Between,
        "IN" => FilterOperator::In,
        "NOT_IN" => FilterOperator::NotIn,
        "HAS_PROPERTY" => FilterOperator::HasProperty,
        "NOT_HAS_PROPERTY" => FilterOperator::NotHasProperty,
        "CONTAINS_TOKEN" => FilterOperator::ContainsToken,
        _ => FilterOperator::Eq,
    };
    Filter {
        property_name: f.property.clone(),
        operator,
        value: f.value.clone(),
        high_value: f.high_value.clone(),
        values: f.values.clone(),
    }
}

/// Whether an account's properties satisfy a tier filter (evaluated locally, so tiers cost
/// no CRM calls).
pub fn filter_matches(f: &FilterConfig, props: &BTreeMap<String, Option<String>>) -> bool {
    let value = props
        .get(&f.property)
        .and_then(|v| v.as_deref())
        .filter(|v| !v.is_empty());
    let num = |s: &str| s.trim().parse::<f64>().ok();
    let cmp = |want: &Option<String>, ord: &dyn Fn(std::cmp::Ordering) -> bool| match (value, want)
    {
        (Some(v), Some(w)) => match (num(v), num(w)) {
            (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(ord),
            _ => ord(v.cmp(w.as_str())),
        },
        _ => false,
    };
    match f.operator.as_str() {
        "EQ" => value.is_some_and(|v| {
            f.value
                .as_deref()
                .is_some_and(|w| v.eq_ignore_ascii_case(w))
        }),
        "NEQ" => !value.is_some_and(|v| {
            f.value
                .as_deref()
                .is_some_and(|w| v.eq_ignore_ascii_case(w))
        }),
        "GT" => cmp(&f.value, &|o| o.is_gt()),
        "GTE" => cmp(&f.value, &|o| o.is_ge()),
        "LT" => cmp(&f.value, &|o| o.is_lt()),
        "LTE" => cmp(&f.value, &|o| o.is_le()),
        "BETWEEN" => cmp(&f.value, &|o| o.is_ge()) && cmp(&f.high_value, &|o| o.is_le()),
        "IN" => value.is_some_and(|v| f.values.iter().any(|w| v.eq_ignore_ascii_case(w))),
        "NOT_IN" => !value.is_some_and(|v| f.values.iter().any(|w| v.eq_ignore_ascii_case(w))),
        "HAS_PROPERTY" => value.is_some(),
        "NOT_HAS_PROPERTY" => value.is_none(),
        "CONTAINS_TOKEN" => value.is_some_and(|v| {
            f.value.as_deref().is_some_and(|w| {
                v.split(|c: char| !c.is_alphanumeric())
                    .any(|t| t.eq_ignore_ascii_case(w.trim_matches('*')))
            })
        }),
        _ => false,
    }
}

fn to_account(config: &Config, company: CrmCompany) -> Account {
    let refresh_factor = config
        .tiers
        .iter()
        .find(|(_, tier)| {
            tier.filters
                .iter()
                .all(|f| filter_matches(f, &company.properties))
        })
        .map_or(1.0, |(_, tier)| tier.refresh_factor);
    Account {
        name: company.property("name").map(str::to_owned),
        domain: company.property("domain").map(str::to_owned),
        id: company.id,
        properties: company.properties,
        refresh_factor,
    }
}

/// A value that failed the pre-write check against the live property definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreflightRejection {
    /// A mapped built-in property (a note), not one of firmo's own (a rejection).
    pub mapped: bool,
    pub property: String,
    pub value: String,
    pub reason: String,
}

/// What firmo wants the CRM to hold for this account, after the quality rules (rejected
/// fields are left out) and the pre-write check against the live definitions.
pub fn desired_properties(
    config: &Config,
    e: &Enriched,
    live: &BTreeMap<String, PropertyDef>,
) -> (Vec<Desired>, Vec<PreflightRejection>) {
    let mut desired = Vec::new();
    let mut rejected = Vec::new();
    if e.domain.is_err() {
        return (desired, rejected);
    }
    let blocked = |field: Field| {
        e.findings
            .iter()
            .any(|f| f.severity == Severity::Reject && f.field == Some(field))
    };
    let mut push = |property: String, value: &firmo_core::Value, policy: OverwritePolicy| {
        let Some(def) = live.get(&property) else {
            desired.push(Desired {
                property,
                value: String::new(),
                policy,
            });
            return;
        };
        match format_for(def, value) {
            Ok(text) => desired.push(Desired {
                property,
                value: text,
                policy,
            }),
            Err(err) => rejected.push(PreflightRejection {
                // A firmo property's value is the record's; a built-in mapping is a
                // best-effort copy, so its failure doesn't reject the account.
                mapped: !properties::is_firmo_property(&err.property),
                property: err.property,
                value: err.value,
                reason: err.reason,
            }),
        }
    };
    for (field, merged) in &e.merged.fields {
        if blocked(*field) {
            continue;
        }
        push(field.property_name(), &merged.value, OverwritePolicy::Owned);
        for (_, mapping) in config.mapping.iter().filter(|(f, _)| f == field) {
            if let Some(v) = properties::mapped_value(*field, &mapping.property, &merged.value) {
                push(mapping.property.clone(), &v, mapping.overwrite);
            }
        }
    }
    // Drop placeholders for properties the CRM lacks: `diff` reports them as missing.
    desired.retain(|d| !d.value.is_empty() || !live.contains_key(&d.property));
    for (name, value) in &e.signals {
        let property = format!("{}{name}", firmo_core::field::PROPERTY_PREFIX);
        if live.get(&property).is_some_and(|d| {
            matches!(
                d.property_type,
                PropertyType::Bool | PropertyType::Enumeration
            )
        }) {
            desired.push(Desired {
                property,
                value: value.to_string(),
                policy: OverwritePolicy::Owned,
            });
        }
    }
    if !e.merged.fields.is_empty() && live.contains_key(SOURCES) {
        let sources = e
            .merged
            .fields
            .iter()
            .map(|(f, m)| format!("{}={}", f.name(), m.source.name()))
            .collect::<Vec<_>>()
            .join(";");
        desired.push(Desired {
            property: SOURCES.to_owned(),
            value: sources,
            policy: OverwritePolicy::Owned,
        });
    }
    (desired, rejected)
}

/// The outcome of an account with nothing to write, and why.
fn classify_unwritten(
    e: &Enriched,
    d: &Diff,
    preflight: &[PreflightRejection],
) -> (Outcome, Option<String>) {
    if let Err(why) = &e.domain {
        return (Outcome::Skipped, Some(why.clone()));
    }
    let rejects: Vec<&str> = e.rejected().map(|f| f.code.as_str()).collect();
    let own_preflight: Vec<&PreflightRejection> = preflight.iter().filter(|p| !p.mapped).collect();
    if !rejects.is_empty() || !own_preflight.is_empty() {
        let mut codes: Vec<String> = rejects.iter().map(|c| (*c).to_owned()).collect();
        codes.extend(
            own_preflight
                .iter()
                .map(|p| format!("preflight:{}", p.property)),
        );
        codes.dedup();
        return (Outcome::Rejected, Some(codes.join(",")));
    }
    let planned: Vec<&str> = e
        .lookups
        .iter()
        .filter(|(_, s)| **s == LookupState::WouldFetch)
        .map(|(p, _)| p.as_str())
        .collect();
    if !planned.is_empty() {
        return (
            Outcome::Skipped,
            Some(format!("dry run: would look up {}", planned.join(", "))),
        );
    }
    if e.merged.fields.is_empty() {
        let waiting: Vec<&str> = e
            .lookups
            .iter()
            .filter(|(_, s)| **s == LookupState::Pending)
            .map(|(p, _)| p.as_str())
            .collect();
        if !waiting.is_empty() {
            return (
                Outcome::Skipped,
                Some(format!("waiting for {}", waiting.join(", "))),
            );
        }
        if e.lookups.values().any(|s| *s == LookupState::Deferred) {
            return (
                Outcome::Skipped,
                Some("over budget: deferred to the next run".to_owned()),
            );
        }
        if e.lookups
            .values()
            .all(|s| matches!(s, LookupState::Failed(_) | LookupState::Off))
            && !e.lookups.is_empty()
        {
            return (
                Outcome::Skipped,
                Some("every provider failed or is off".to_owned()),
            );
        }
        return (
            Outcome::Skipped,
            Some("no provider has data for this domain".to_owned()),
        );
    }
    if d.skipped
        .iter()
        .any(|s| matches!(s, PropertySkip::HumanEdited { .. }))
    {
        return (
            Outcome::Skipped,
            Some("human-edited values kept".to_owned()),
        );
    }
    if d.skipped
        .iter()
        .any(|s| matches!(s, PropertySkip::MissingProperty { .. }))
    {
        return (
            Outcome::Skipped,
            Some("CRM lacks firmo's properties: run `firmo properties ensure`".to_owned()),
        );
    }
    (Outcome::Unchanged, None)
}

fn detail_json(e: &Enriched, d: &Diff, preflight: &[PreflightRejection]) -> serde_json::Value {
    serde_json::json!({
        "name": e.account.name,
        "changes": d.changes,
        "kept": d.skipped,
        "findings": e.findings,
        "preflight": preflight,
        "lookups": e.lookups,
    })
}

struct WriteReport {
    calls: u64,
    written: u64,
    failed: BTreeMap<String, u64>,
}

async fn write_stage(
    crm: Arc<dyn Crm>,
    store: Arc<std::sync::Mutex<firmo_store::Store>>,
    run_id: RunId,
    portal: String,
    mut jobs: mpsc::Receiver<WriteJob>,
    clock: crate::enrich::Clock,
) -> Result<WriteReport, SyncError> {
    let mut report = WriteReport {
        calls: 0,
        written: 0,
        failed: BTreeMap::new(),
    };
    let mut batch: Vec<WriteJob> = Vec::with_capacity(WRITE_BATCH);
    loop {
        let job = jobs.recv().await;
        let closed = job.is_none();
        if let Some(job) = job {
            batch.push(job);
        }
        if batch.len() >= WRITE_BATCH || (closed && !batch.is_empty()) {
            let jobs_now = std::mem::take(&mut batch);
            flush(
                crm.as_ref(),
                &store,
                run_id,
                &portal,
                jobs_now,
                &clock,
                &mut report,
            )
            .await?;
        }
        if closed {
            return Ok(report);
        }
    }
}

async fn flush(
    crm: &dyn Crm,
    store: &std::sync::Mutex<firmo_store::Store>,
    run_id: RunId,
    portal: &str,
    jobs: Vec<WriteJob>,
    clock: &crate::enrich::Clock,
    report: &mut WriteReport,
) -> Result<(), SyncError> {
    let updates: Vec<CompanyUpdate> = jobs
        .iter()
        .map(|j| CompanyUpdate {
            id: j.account_id.clone(),
            properties: j.changes.clone(),
        })
        .collect();
    report.calls += updates.len().div_ceil(WRITE_BATCH) as u64;
    let outcomes: Vec<WriteOutcome> = match crm.update_companies(&updates).await {
        Ok(o) => o,
        Err(error) => updates
            .iter()
            .map(|u| WriteOutcome::Failed {
                id: u.id.clone(),
                error: error.clone(),
            })
            .collect(),
    };
    let by_id: HashMap<&str, &WriteOutcome> = outcomes.iter().map(|o| (o.id(), o)).collect();
    let now = clock();
    let mut journal = Vec::new();
    let mut account_outcomes = Vec::new();
    for job in &jobs {
        let (outcome, reason) = match by_id.get(job.account_id.as_str()) {
            Some(WriteOutcome::Written { .. }) => {
                for (property, value) in &job.changes {
                    journal.push(JournalEntry {
                        crm: CRM_NAME.to_owned(),
                        portal: portal.to_owned(),
                        record_id: job.account_id.clone(),
                        property: property.clone(),
                        value: value.clone(),
                        written_at: now,
                    });
                }
                report.written += 1;
                (Outcome::Written, None)
            }
            Some(WriteOutcome::Failed { error, .. }) => {
                events::write_failed(&job.account_id, error);
                *report.failed.entry(error_kind(error)).or_default() += 1;
                (Outcome::Failed, Some(error.to_string()))
            }
            None => {
                let why = "the CRM returned no outcome for this record".to_owned();
                *report.failed.entry("no outcome".to_owned()).or_default() += 1;
                (Outcome::Failed, Some(why))
            }
        };
        account_outcomes.push(AccountOutcome {
            account_id: job.account_id.clone(),
            domain: job.domain.clone(),
            outcome,
            reason,
            detail: Some(job.detail.clone()),
        });
    }
    lock(store).write(|w| {
        w.record_writes(run_id, &journal)?;
        w.record_outcomes(run_id, &account_outcomes)
    })?;
    Ok(())
}

fn error_kind(e: &ConnectorError) -> String {
    match e {
        ConnectorError::Validation {
            property: Some(p), ..
        } => format!("validation: {p}"),
        ConnectorError::Validation { .. } => "validation".to_owned(),
        ConnectorError::Auth { .. } => "auth".to_owned(),
        ConnectorError::NotFound { .. } => "record not found".to_owned(),
        ConnectorError::RateLimited { .. } => "rate limited".to_owned(),
        ConnectorError::QuotaExhausted { .. } => "quota exhausted".to_owned(),
        ConnectorError::Server { .. } => "server error".to_owned(),
        ConnectorError::Timeout { .. } => "timeout".to_owned(),
        ConnectorError::Transport { .. } => "transport".to_owned(),
        ConnectorError::Malformed { .. } | ConnectorError::TooLarge { .. } => {
            "bad response".to_owned()
        }
        ConnectorError::Unexpected { status, .. } => format!("HTTP {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
            .collect()
    }

    fn filter(
        property: &str,
        operator: &str,
        value: Option<&str>,
        values: &[&str],
    ) -> FilterConfig {
        FilterConfig {
            property: property.into(),
            operator: operator.into(),
            value: value.map(str::to_owned),
            high_value: None,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    #[test]
    fn tier_filters_evaluate_like_hubspot_search() {
        let p = props(&[
            ("lifecyclestage", "opportunity"),
            ("numberofemployees", "250"),
            ("name", "Acme Cloud Inc"),
        ]);
        assert!(filter_matches(
            &filter("lifecyclestage", "EQ", Some("Opportunity"), &[]),
            &p
        ));
        assert!(filter_matches(
            &filter("lifecyclestage", "IN", None, &["customer", "opportunity"]),
            &p
        ));
        assert!(!filter_matches(
            &filter("lifecyclestage", "NOT_IN", None, &["opportunity"]),
            &p
        ));
        assert!(
            filter_matches(&filter("numberofemployees", "GT", Some("99"), &[]), &p),
            "numeric, not lexical"
        );
        assert!(!filter_matches(
            &filter("numberofemployees", "LT", Some("99"), &[]),
            &p
        ));
        assert!(filter_matches(
            &filter("name", "CONTAINS_TOKEN", Some("cloud"), &[]),
            &p
        ));
        assert!(filter_matches(
            &filter("country", "NOT_HAS_PROPERTY", None, &[]),
            &p
        ));
        assert!(!filter_matches(
            &filter("country", "EQ", Some("US"), &[]),
            &p
        ));
    }
}
