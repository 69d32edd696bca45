//! `firmo report`: the last runs (counts, credits), and the newest run's coverage per
//! field and source and its quality findings; `--html` writes the same as a page.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Context as _;
use firmo_core::Field;
use firmo_store::{Outcome, OutcomeCounts, RunRecord, Store};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{GlobalArgs, ReportArgs};
use crate::context::open_store_read_only;
use crate::output::{print, print_json};
use crate::{CmdResult, Failure};

// The page lives beside this file (`report_html.rs`) and sees the report's types.
#[path = "report_html.rs"]
mod html;

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// The portal (`runs.portal`) this report is limited to by `--portal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) portal: Option<String>,
    pub(crate) runs: Vec<RunRecord>,
    pub(crate) latest: Option<Latest>,
    /// The real (not dry) runs among `runs`, oldest first: what the page's charts draw.
    pub(crate) trend: Vec<TrendPoint>,
    /// The newest real run's accounts, problems first (at most [`ACCOUNT_ROWS`]).
    pub(crate) accounts: Vec<AccountRow>,
    /// How many accounts that run had (more than `accounts` holds when capped).
    pub(crate) accounts_total: usize,
    /// Accuracy, agreement and corrections per field and source, when measured (filled
    /// by the quality measurements; the page renders it when present).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) quality: Option<serde_json::Value>,
}

/// The newest non-dry run, in detail.
#[derive(Debug, Serialize)]
pub(crate) struct Latest {
    pub(crate) run_id: i64,
    pub(crate) kind: String,
    pub(crate) records: u64,
    /// field → share of records with a value, in catalogue order.
    pub(crate) coverage: Vec<(String, f64)>,
    /// source → share of winning values (sync runs).
    pub(crate) sources: BTreeMap<String, f64>,
    /// rule code → (rule, count).
    pub(crate) findings: BTreeMap<String, (String, String, u64)>,
    /// A few enriched records as the CRM got them.
    pub(crate) examples: Vec<serde_json::Value>,
    /// Why writes failed (a portal rule names itself and HubSpot's words) → count.
    pub(crate) failed: BTreeMap<String, u64>,
    /// Why accounts were skipped → count.
    pub(crate) skipped: BTreeMap<String, u64>,
    /// Which rules rejected accounts → count.
    pub(crate) rejected: BTreeMap<String, u64>,
}

/// One real run, as the trend charts draw it.
#[derive(Debug, Serialize)]
pub(crate) struct TrendPoint {
    pub(crate) run_id: i64,
    pub(crate) started_at: String,
    pub(crate) outcomes: OutcomeCounts,
    /// provider → credits spent.
    pub(crate) credits: BTreeMap<String, f64>,
    /// field → share of the run's merged records with a value; empty when the run's
    /// snapshots were pruned and its summary has no coverage either.
    pub(crate) coverage: BTreeMap<String, f64>,
    /// Findings by severity (`flag`, `reject`, …) → how many.
    pub(crate) findings: BTreeMap<String, u64>,
}

/// One account of the newest real run.
#[derive(Debug, Serialize)]
pub(crate) struct AccountRow {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) domain: Option<String>,
    pub(crate) outcome: Outcome,
    /// Why it was skipped, rejected or failed.
    pub(crate) reason: Option<String>,
    /// field → the providers whose values won it.
    pub(crate) won: BTreeMap<String, Vec<String>>,
    /// CRM properties changed.
    pub(crate) changes: usize,
    /// Rule codes of its findings.
    pub(crate) findings: Vec<String>,
}

/// The page and `--json` list at most this many accounts: enough for any team's review,
/// and a 100,000-account run still writes a page a browser opens.
pub(crate) const ACCOUNT_ROWS: usize = 2_000;

pub(crate) fn run(global: &GlobalArgs, args: &ReportArgs) -> CmdResult {
    if let Some(path) = &args.sources_md {
        return super::sources_md::run(global, path, args.portal.as_deref());
    }
    if !crate::context::state_exists(global) {
        return Err(Failure::Usage(anyhow::anyhow!(
            "no state file at {}: run `firmo sync` first (or pass --state)",
            crate::context::state_label(global)
        )));
    }
    let store = open_store_read_only(global)?;
    if let Some(id) = &args.account {
        return super::account::run(&store, id, global.json);
    }
    let portal = args
        .portal
        .as_deref()
        .map(|asked| portal_key(global, &store, asked))
        .transpose()?;
    let mut report = build(&store, args.runs, portal.as_deref())?;
    let quality = measure_newest(&store, &report)?;
    report.quality = quality.as_ref().map(serde_json::to_value).transpose()?;
    if let Some(path) = &args.html {
        std::fs::write(path, html::page(&report))
            .with_context(|| format!("writing the HTML report to {}", path.display()))?;
    }
    if global.json {
        print_json(&report)?;
    } else {
        let mut text = table(&report);
        if let Some(quality) = &quality {
            let _ = write!(text, "\n{}", firmo_engine::quality::render_text(quality));
        }
        if let Some(path) = &args.html {
            let _ = writeln!(text, "\nwrote {}", path.display());
        }
        print(&text)?;
    }
    Ok(())
}

/// Accuracy, agreement and corrections of the newest non-dry run, as of today.
fn measure_newest(
    store: &Store,
    report: &Report,
) -> anyhow::Result<Option<firmo_engine::quality::QualityReport>> {
    let Some(run) = report.runs.iter().find(|r| !r.dry_run) else {
        return Ok(None);
    };
    let now = firmo_engine::system_clock()();
    let today = now
        .date()
        .ok_or_else(|| anyhow::anyhow!("the system clock ({} ms) is not a date", now.0))?;
    Ok(Some(firmo_engine::quality::measure(
        store, run.id.0, today,
    )?))
}

/// The `runs.portal` key an operator means by `--portal NAME`: the key itself
/// (`hubspot:123`), a fleet portal's name (PostgreSQL states), or the key's last part (the
/// HubSpot portal id, `123`) when one portal's key ends with it. Anything else is a usage
/// error listing the portals the state has runs on.
pub(crate) fn portal_key(
    global: &GlobalArgs,
    store: &Store,
    asked: &str,
) -> Result<String, Failure> {
    let known = store.run_portals()?;
    if known.iter().any(|k| k == asked) {
        return Ok(asked.to_owned());
    }
    let location = global.state.to_str().unwrap_or_default();
    let fleet = if firmo_store::is_postgres_url(location) {
        fleet_portals(location)?
    } else {
        Vec::new()
    };
    let state = firmo_store::display_location(&global.state);
    if let Some((name, key)) = fleet.iter().find(|(name, _)| name == asked) {
        return match key {
            Some(key) if known.contains(key) => Ok(key.clone()),
            _ => Err(Failure::Usage(anyhow::anyhow!(
                "fleet portal `{name}` has no runs in {state} yet (`firmo fleet status` shows its jobs)"
            ))),
        };
    }
    let suffix = format!(":{asked}");
    let by_id: Vec<&String> = known.iter().filter(|k| k.ends_with(&suffix)).collect();
    match by_id[..] {
        [key] => return Ok(key.clone()),
        [_, _, ..] => {
            let keys: Vec<&str> = by_id.iter().map(|k| k.as_str()).collect();
            return Err(Failure::Usage(anyhow::anyhow!(
                "portal `{asked}` in {state} could be {}: name one by its whole key",
                keys.join(" or ")
            )));
        }
        [] => {}
    }
    let listed: Vec<String> = known
        .iter()
        .map(
            |key| match fleet.iter().find(|(_, k)| k.as_ref() == Some(key)) {
                Some((name, _)) => format!("{name} ({key})"),
                None => key.clone(),
            },
        )
        .collect();
    Err(Failure::Usage(if listed.is_empty() {
        anyhow::anyhow!("no portal `{asked}` in {state}: it has no runs on any portal yet")
    } else {
        anyhow::anyhow!(
            "no portal `{asked}` in {state}; the portals with runs: {}",
            listed.join(", ")
        )
    }))
}

/// The fleet's (name, account key) pairs, read without migrating anything. `report` is a
/// synchronous command on the CLI's multi-threaded runtime, so it blocks in place.
fn fleet_portals(location: &str) -> Result<Vec<(String, Option<String>)>, Failure> {
    let read = firmo_fleet::registered_portals(location);
    let portals = match tokio::runtime::Handle::try_current() {
        Ok(handle) => tokio::task::block_in_place(|| handle.block_on(read)),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting a runtime to read the fleet's portals")?
            .block_on(read),
    };
    portals.map_err(super::fleet::failure)
}

/// The report over the newest `runs` runs of `store`, or of its `portal` only.
pub(crate) fn build(store: &Store, runs: usize, portal: Option<&str>) -> anyhow::Result<Report> {
    let runs = match portal {
        Some(portal) => store.list_runs_on(portal, runs)?,
        None => store.list_runs(runs)?,
    };
    let newest = runs.iter().find(|r| !r.dry_run);
    let latest = newest.map(|run| latest(store, run)).transpose()?;
    let (accounts, accounts_total) = match newest {
        Some(run) => accounts(store, run)?,
        None => (Vec::new(), 0),
    };
    let trend = runs
        .iter()
        .rev()
        .filter(|r| !r.dry_run)
        .map(|r| trend_point(store, r))
        .collect::<anyhow::Result<_>>()?;
    Ok(Report {
        portal: portal.map(str::to_owned),
        runs,
        latest,
        trend,
        accounts,
        accounts_total,
        quality: None,
    })
}

/// A summary's `key` object (group → count), or nothing when the run recorded none.
fn summary_counts(run: &RunRecord, key: &str) -> BTreeMap<String, u64> {
    run.summary
        .as_ref()
        .and_then(|s| s.get(key))
        .and_then(|f| serde_json::from_value(f.clone()).ok())
        .unwrap_or_default()
}

fn latest(store: &Store, run: &RunRecord) -> anyhow::Result<Latest> {
    let mut records = 0u64;
    let mut filled: BTreeMap<String, u64> = BTreeMap::new();
    let mut findings: BTreeMap<String, (String, String, u64)> = BTreeMap::new();
    let mut examples = Vec::new();
    store.for_each_merged(run.id, |snapshot| {
        records += 1;
        if let Some(object) = snapshot.merged.as_object() {
            for key in object.keys() {
                *filled.entry(key.clone()).or_default() += 1;
            }
            if examples.len() < 5 && object.len() >= 5 {
                examples.push(serde_json::json!({ "account_id": snapshot.account_id, "fields": snapshot.merged }));
            }
        }
        for f in snapshot.findings.as_array().into_iter().flatten() {
            let code = f["code"].as_str().unwrap_or("?").to_owned();
            let entry = findings.entry(code).or_insert_with(|| {
                (
                    f["rule"].as_str().unwrap_or_default().to_owned(),
                    f["severity"].as_str().unwrap_or_default().to_owned(),
                    0,
                )
            });
            entry.2 += 1;
        }
    })?;
    let coverage = Field::ALL
        .iter()
        .map(|f| {
            let n = filled.get(f.name()).copied().unwrap_or(0);
            (f.name().to_owned(), share(n, records))
        })
        .collect();
    let sources = run
        .summary
        .as_ref()
        .and_then(|s| s.pointer("/coverage/sources"))
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default();
    Ok(Latest {
        run_id: run.id.0,
        kind: run.kind.clone(),
        records,
        coverage,
        sources,
        findings,
        examples,
        failed: summary_counts(run, "failed"),
        skipped: summary_counts(run, "skipped"),
        rejected: summary_counts(run, "rejected"),
    })
}

fn share(n: u64, of: u64) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

fn trend_point(store: &Store, run: &RunRecord) -> anyhow::Result<TrendPoint> {
    let mut records = 0u64;
    let mut filled: BTreeMap<String, u64> = BTreeMap::new();
    let mut findings: BTreeMap<String, u64> = BTreeMap::new();
    // The run ledger keeps counts and credits but no coverage: the merged snapshots have it.
    store.for_each_merged(run.id, |snapshot| {
        records += 1;
        for key in snapshot
            .merged
            .as_object()
            .into_iter()
            .flat_map(|o| o.keys())
        {
            *filled.entry(key.clone()).or_default() += 1;
        }
        for f in snapshot.findings.as_array().into_iter().flatten() {
            let severity = f["severity"].as_str().unwrap_or("unknown").to_owned();
            *findings.entry(severity).or_default() += 1;
        }
    })?;
    let coverage = if records > 0 {
        Field::ALL
            .iter()
            .map(|f| {
                let n = filled.get(f.name()).copied().unwrap_or(0);
                (f.name().to_owned(), share(n, records))
            })
            .collect()
    } else {
        // Pruned snapshots: the summary's figure (share of the accounts scanned) is
        // the best left.
        run.summary
            .as_ref()
            .and_then(|s| s.pointer("/coverage/fields"))
            .and_then(|f| serde_json::from_value(f.clone()).ok())
            .unwrap_or_default()
    };
    let credits = store
        .credits_for_run(run.id)?
        .into_iter()
        .map(|p| (p.provider, p.credits + 0.0))
        .collect();
    Ok(TrendPoint {
        run_id: run.id.0,
        started_at: firmo_connect::crm::format_timestamp(run.started_at),
        outcomes: run.counts,
        credits,
        coverage,
        findings,
    })
}

/// Where an outcome sorts in the accounts list: what needs a person first.
fn attention(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Failed => 0,
        Outcome::Rejected => 1,
        Outcome::Skipped => 2,
        Outcome::Written => 3,
        Outcome::Unchanged => 4,
    }
}

fn accounts(store: &Store, run: &RunRecord) -> anyhow::Result<(Vec<AccountRow>, usize)> {
    let mut outcomes = store.outcomes(run.id)?;
    let total = outcomes.len();
    // Stable: within an outcome, by account id as stored.
    outcomes.sort_by_key(|o| attention(o.outcome));
    let rows = outcomes
        .into_iter()
        .take(ACCOUNT_ROWS)
        .map(|o| {
            let detail = o.detail.unwrap_or(Value::Null);
            let won = detail["waterfall"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(field, steps)| {
                    let winners: Vec<String> = steps
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|s| s["had_value"].as_bool() == Some(true))
                        .filter_map(|s| s["provider"].as_str().map(str::to_owned))
                        .collect();
                    (!winners.is_empty()).then(|| (field.clone(), winners))
                })
                .collect();
            let mut findings: Vec<String> = detail["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["code"].as_str().map(str::to_owned))
                .collect();
            findings.sort();
            findings.dedup();
            AccountRow {
                id: o.account_id,
                name: detail["name"].as_str().map(str::to_owned),
                domain: o.domain,
                outcome: o.outcome,
                reason: o.reason,
                won,
                changes: detail["changes"]
                    .as_object()
                    .map_or(0, serde_json::Map::len),
                findings,
            }
        })
        .collect();
    Ok((rows, total))
}

fn table(report: &Report) -> String {
    let mut out = String::new();
    if let Some(portal) = &report.portal {
        let _ = writeln!(out, "portal {portal}\n");
    }
    let _ = writeln!(
        out,
        "{:>5}  {:<7} {:<24} {:<11} {:>7} {:>9} {:>7} {:>8} {:>7} {:>8}",
        "run",
        "kind",
        "started",
        "outcome",
        "written",
        "unchanged",
        "skipped",
        "rejected",
        "failed",
        "credits"
    );
    for r in &report.runs {
        let c = &r.counts;
        let _ = writeln!(
            out,
            "{:>5}  {:<7} {:<24} {:<11} {:>7} {:>9} {:>7} {:>8} {:>7} {:>8.1}",
            r.id.0,
            if r.dry_run {
                format!("{}*", r.kind)
            } else {
                r.kind.clone()
            },
            firmo_connect::crm::format_timestamp(r.started_at),
            r.outcome.to_string(),
            c.written,
            c.unchanged,
            c.skipped,
            c.rejected,
            c.failed,
            r.credits + 0.0 // never print -0.0
        );
    }
    if report.runs.iter().any(|r| r.dry_run) {
        let _ = writeln!(out, "(* dry run: counts are what it would have done)");
    }
    if let Some(l) = &report.latest {
        let _ = writeln!(
            out,
            "\nrun {} ({}): {} records",
            l.run_id, l.kind, l.records
        );
        let _ = writeln!(out, "coverage per field");
        for (field, share) in &l.coverage {
            let _ = writeln!(
                out,
                "  {field:<22} {:>5.1} %  {}",
                share * 100.0,
                bar(*share, 30)
            );
        }
        if !l.sources.is_empty() {
            let _ = writeln!(out, "winning values per source");
            for (source, share) in &l.sources {
                let _ = writeln!(
                    out,
                    "  {source:<22} {:>5.1} %  {}",
                    share * 100.0,
                    bar(*share, 30)
                );
            }
        }
        if !l.findings.is_empty() {
            let _ = writeln!(out, "quality findings");
            for (code, (rule, severity, n)) in &l.findings {
                let _ = writeln!(out, "  {code:<6} {rule:<30} {severity:<7} {n:>6}");
            }
        }
        if !l.failed.is_empty() {
            let _ = writeln!(out, "failed writes");
            for (reason, n) in &l.failed {
                let _ = writeln!(out, "  {reason}  {n}");
            }
        }
        // Two show the shape; `--json` has all five.
        for e in l.examples.iter().take(2) {
            example(&mut out, e);
        }
    }
    accounts_table(&mut out, report);
    out
}

/// How many accounts the terminal lists (problems first): the page and `--json` have them
/// all, `--account ID` one in detail.
const TEXT_ACCOUNTS: usize = 20;

/// `text` cut to `width` characters, so one long name can't break the columns.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// One enriched record as aligned `field  value` lines.
fn example(out: &mut String, e: &Value) {
    let _ = writeln!(
        out,
        "\nexample: account {}",
        e["account_id"].as_str().unwrap_or("?")
    );
    for (field, value) in e["fields"].as_object().into_iter().flatten() {
        let shown = match value {
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        let _ = writeln!(out, "  {field:<22} {}", fit(&shown, 70));
    }
}

fn accounts_table(out: &mut String, report: &Report) {
    if report.accounts.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\naccounts ({} in run {}, problems first)",
        report.accounts_total,
        report.latest.as_ref().map_or(0, |l| l.run_id)
    );
    let _ = writeln!(
        out,
        "  {:<14} {:<24} {:<24} {:<9} {:>6}  why / sources",
        "id", "name", "domain", "outcome", "fields"
    );
    for a in report.accounts.iter().take(TEXT_ACCOUNTS) {
        let why = a.reason.clone().unwrap_or_else(|| {
            let mut by_source: BTreeMap<&str, usize> = BTreeMap::new();
            for source in a.won.values().flatten() {
                *by_source.entry(source).or_default() += 1;
            }
            by_source
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        });
        let _ = writeln!(
            out,
            "  {:<14} {:<24} {:<24} {:<9} {:>6}  {}",
            fit(&a.id, 14),
            fit(a.name.as_deref().unwrap_or("-"), 24),
            fit(a.domain.as_deref().unwrap_or("-"), 24),
            a.outcome.as_str(),
            a.won.len(),
            fit(&why, 60)
        );
    }
    let more = report.accounts_total.saturating_sub(TEXT_ACCOUNTS);
    if more > 0 {
        let _ = writeln!(
            out,
            "  … {more} more: `firmo report --html PATH` lists them all, `--account ID` shows one"
        );
    }
}

fn bar(share: f64, width: usize) -> String {
    let n = (share.clamp(0.0, 1.0) * width as f64).round() as usize;
    format!("{}{}", "█".repeat(n), "·".repeat(width - n))
}

#[cfg(test)]
mod tests {
    use firmo_store::{AccountOutcome, MergedSnapshot, RunOutcome, RunStart, UnixMillis};
    use serde_json::json;

    use super::*;

    fn outcome(id: &str, outcome: Outcome, reason: Option<&str>, detail: Value) -> AccountOutcome {
        AccountOutcome {
            account_id: id.to_owned(),
            domain: Some(format!("{id}.test")),
            outcome,
            reason: reason.map(str::to_owned),
            detail: Some(detail),
        }
    }

    fn merged(id: &str, fields: Value, findings: Value) -> MergedSnapshot {
        MergedSnapshot {
            account_id: id.to_owned(),
            merged: fields,
            findings,
        }
    }

    /// Two runs: the first's snapshots pruned (its summary still says its coverage), the
    /// second with three accounts.
    fn store() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let first = store
            .start_run(&RunStart::new("sync", UnixMillis(1_000)))
            .unwrap();
        store.add_credits(first, "clay", 4.0, 4).unwrap();
        store
            .record_merged(
                first,
                &[merged("a", json!({"industry": "Software"}), json!([]))],
            )
            .unwrap();
        let summary = json!({"coverage": {"fields": {"industry": 0.5}}});
        store
            .finish_run(first, UnixMillis(2_000), RunOutcome::Ok, &summary)
            .unwrap();
        store.prune_merged(0).unwrap();

        let second = store
            .start_run(&RunStart::new("sync", UnixMillis(3_000)))
            .unwrap();
        store.add_credits(second, "clay", 1.5, 1).unwrap();
        store.add_credits(second, "clearbit", 2.0, 2).unwrap();
        let waterfall = json!({"waterfall": {
            "industry": [{"provider": "clay", "had_value": false}, {"provider": "clearbit", "had_value": true}],
            "tech_stack": [{"provider": "builtwith", "had_value": true}, {"provider": "clay", "had_value": true}],
            "headcount": [{"provider": "clay", "had_value": false}]},
            "name": "Acme", "changes": {"firmo_industry": "Software", "firmo_tech_stack": "AWS"},
            "findings": [{"code": "FQ010"}]});
        store
            .record_outcomes(
                second,
                &[
                    outcome("a", Outcome::Written, None, waterfall),
                    outcome(
                        "b",
                        Outcome::Skipped,
                        Some("no domain"),
                        json!({"name": "Bee"}),
                    ),
                    outcome("c", Outcome::Failed, Some("timeout"), json!({})),
                ],
            )
            .unwrap();
        store
            .record_merged(
                second,
                &[
                    merged(
                        "a",
                        json!({"industry": "Software", "tech_stack": ["AWS"]}),
                        json!([{"code": "FQ010", "severity": "flag"}]),
                    ),
                    merged("b", json!({}), json!([])),
                    merged(
                        "c",
                        json!({"industry": "Retail"}),
                        json!([{"code": "FQ004", "severity": "reject"}]),
                    ),
                ],
            )
            .unwrap();
        let summary = json!({"skipped": {"no domain": 1}, "failed": {"timeout": 1}});
        store
            .finish_run(second, UnixMillis(4_000), RunOutcome::Partial, &summary)
            .unwrap();
        store
    }

    fn assert_close(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-12, "{got} != {want}");
    }

    #[test]
    fn the_trend_has_each_runs_coverage_credits_and_findings_oldest_first() {
        let report = build(&store(), 10, None).unwrap();
        let [old, new] = &report.trend[..] else {
            panic!("{:?}", report.trend)
        };
        assert!(old.run_id < new.run_id);
        // Pruned: the summary's figure stands in.
        assert_eq!(old.coverage, BTreeMap::from([("industry".to_owned(), 0.5)]));
        assert_eq!(old.credits, BTreeMap::from([("clay".to_owned(), 4.0)]));
        // Kept: counted from the snapshots, every catalogue field present.
        assert_close(new.coverage["industry"], 2.0 / 3.0);
        assert_close(new.coverage["tech_stack"], 1.0 / 3.0);
        assert_close(new.coverage["headcount"], 0.0);
        assert_eq!(new.coverage.len(), Field::ALL.len());
        assert_close(new.credits["clearbit"], 2.0);
        assert_eq!(
            new.findings,
            BTreeMap::from([("flag".to_owned(), 1), ("reject".to_owned(), 1)])
        );
        assert_eq!((new.outcomes.written, new.outcomes.failed), (1, 1));
        let latest = report.latest.as_ref().unwrap();
        assert_eq!(latest.skipped["no domain"], 1);
        assert_eq!(latest.failed["timeout"], 1);
    }

    #[test]
    fn accounts_come_problems_first_with_the_sources_that_won() {
        let report = build(&store(), 10, None).unwrap();
        let order: Vec<&str> = report.accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(order, ["c", "b", "a"]);
        assert_eq!(report.accounts_total, 3);
        let a = &report.accounts[2];
        assert_eq!(a.name.as_deref(), Some("Acme"));
        assert_eq!(a.won["industry"], ["clearbit"]);
        assert_eq!(a.won["tech_stack"], ["builtwith", "clay"]);
        assert!(!a.won.contains_key("headcount"), "no value, no winner");
        assert_eq!(
            (a.changes, a.findings.as_slice()),
            (2, &["FQ010".to_owned()][..])
        );
        assert_eq!(report.accounts[0].reason.as_deref(), Some("timeout"));
        assert!(report.quality.is_none());
    }

    fn global() -> GlobalArgs {
        GlobalArgs {
            config: None,
            state: "portals.db".into(),
            json: false,
            verbose: 0,
            quiet: false,
        }
    }

    /// Portal 1's run, then a newer run of portal 2 with its own accounts.
    fn two_portals() -> Store {
        let mut store = store();
        let one = store
            .start_run(&RunStart::new("sync", UnixMillis(5_000)).on("hubspot", "hubspot:1"))
            .unwrap();
        store
            .record_outcomes(one, &[outcome("p1", Outcome::Written, None, json!({}))])
            .unwrap();
        store.add_credits(one, "clay", 3.0, 3).unwrap();
        let two = store
            .start_run(&RunStart::new("sync", UnixMillis(6_000)).on("hubspot", "hubspot:2"))
            .unwrap();
        store
            .record_outcomes(two, &[outcome("p2", Outcome::Written, None, json!({}))])
            .unwrap();
        store
    }

    #[test]
    fn a_portal_report_holds_only_that_portals_runs_and_accounts() {
        let store = two_portals();
        let all = build(&store, 10, None).unwrap();
        assert_eq!(all.runs.len(), 4);
        assert_eq!(
            all.accounts[0].id, "p2",
            "every portal's: the newest run's accounts"
        );

        let one = build(&store, 10, Some("hubspot:1")).unwrap();
        let portals: Vec<Option<&str>> = one.runs.iter().map(|r| r.portal.as_deref()).collect();
        assert_eq!(portals, [Some("hubspot:1")]);
        let ids: Vec<&str> = one.accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            ids,
            ["p1"],
            "its newest run's accounts, not a newer portal's"
        );
        assert_eq!(one.trend.len(), 1);
        assert_close(one.trend[0].credits["clay"], 3.0);
        let json = serde_json::to_value(&one).unwrap();
        assert_eq!(json["portal"], "hubspot:1");
        assert!(serde_json::to_value(&all).unwrap().get("portal").is_none());
        assert!(table(&one).starts_with("portal hubspot:1\n"));
    }

    #[test]
    fn a_portal_is_named_by_its_key_or_its_id_and_an_unknown_one_lists_the_known() {
        let portals = two_portals();
        let key = |asked: &str| portal_key(&global(), &portals, asked);
        assert_eq!(key("hubspot:2").unwrap(), "hubspot:2");
        assert_eq!(key("1").unwrap(), "hubspot:1", "the HubSpot portal id");
        for unknown in ["3", "hubspot", ""] {
            let Err(Failure::Usage(e)) = key(unknown) else {
                panic!("{unknown:?} is not a portal");
            };
            assert_eq!(
                e.to_string(),
                format!(
                    "no portal `{unknown}` in portals.db; the portals with runs: hubspot:1, \
                     hubspot:2"
                )
            );
        }
        let mut twins = two_portals();
        twins
            .start_run(&RunStart::new("sync", UnixMillis(7_000)).on("other", "other:2"))
            .unwrap();
        let Err(Failure::Usage(e)) = portal_key(&global(), &twins, "2") else {
            panic!("two portals' ids are 2");
        };
        assert_eq!(
            e.to_string(),
            "portal `2` in portals.db could be hubspot:2 or other:2: name one by its whole key"
        );
        let Err(Failure::Usage(e)) = portal_key(&global(), &store(), "1") else {
            panic!("a state without portal runs knows no portal");
        };
        assert!(
            e.to_string().ends_with("it has no runs on any portal yet"),
            "{e}"
        );
    }

    #[test]
    fn the_terminal_lists_accounts_as_aligned_text() {
        let text = table(&build(&store(), 10, None).unwrap());
        let rows: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("accounts ("))
            .skip(1)
            .collect();
        assert!(rows[0].trim_start().starts_with("id"), "{text}");
        // Every column starts where the header's does.
        let outcome_at = rows[0].find("outcome").unwrap();
        for row in &rows[1..] {
            let word = &row[outcome_at..].split(' ').next().unwrap();
            assert!(["failed", "skipped", "written"].contains(word), "{row}");
        }
        assert!(rows[1].contains("timeout") && rows[3].contains("builtwith 1, clay 1, clearbit 1"));
        assert!(!text.contains('{'), "no JSON in the text report:\n{text}");
    }
}
