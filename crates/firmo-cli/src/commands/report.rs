//! `firmo report`: the last runs (counts, credits), and the newest run's coverage per
//! field and source and its quality findings; `--html` writes the same as a page.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Context as _;
use firmo_core::Field;
use firmo_store::RunRecord;
use serde::Serialize;

use crate::cli::{GlobalArgs, ReportArgs};
use crate::context::open_store_read_only;
use crate::output::{print, print_json};
use crate::{CmdResult, Failure};

#[derive(Debug, Serialize)]
struct Report {
    runs: Vec<RunRecord>,
    latest: Option<Latest>,
}

/// The newest non-dry run, in detail.
#[derive(Debug, Serialize)]
struct Latest {
    run_id: i64,
    kind: String,
    records: u64,
    /// field → share of records with a value, in catalogue order.
    coverage: Vec<(String, f64)>,
    /// source → share of winning values (sync runs).
    sources: BTreeMap<String, f64>,
    /// rule code → (rule, count).
    findings: BTreeMap<String, (String, String, u64)>,
    /// A few enriched records as the CRM got them.
    examples: Vec<serde_json::Value>,
    /// Why writes failed (a portal rule names itself and HubSpot's words) → count.
    failed: BTreeMap<String, u64>,
}

pub(crate) fn run(global: &GlobalArgs, args: &ReportArgs) -> CmdResult {
    if let Some(path) = &args.sources_md {
        return super::sources_md::run(global, path);
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
    let runs = store.list_runs(args.runs)?;
    let latest = match runs.iter().find(|r| !r.dry_run) {
        None => None,
        Some(run) => {
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
                    (
                        f.name().to_owned(),
                        if records == 0 {
                            0.0
                        } else {
                            n as f64 / records as f64
                        },
                    )
                })
                .collect();
            let sources = run
                .summary
                .as_ref()
                .and_then(|s| s.pointer("/coverage/sources"))
                .and_then(|s| serde_json::from_value(s.clone()).ok())
                .unwrap_or_default();
            Some(Latest {
                run_id: run.id.0,
                kind: run.kind.clone(),
                records,
                coverage,
                sources,
                findings,
                examples,
                failed: run
                    .summary
                    .as_ref()
                    .and_then(|s| s.pointer("/failed"))
                    .and_then(|f| serde_json::from_value(f.clone()).ok())
                    .unwrap_or_default(),
            })
        }
    };
    let report = Report { runs, latest };
    if let Some(path) = &args.html {
        std::fs::write(path, html(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if global.json {
        print_json(&report)?;
    } else {
        let mut text = table(&report);
        if let Some(path) = &args.html {
            let _ = writeln!(text, "\nwrote {}", path.display());
        }
        print(&text)?;
    }
    Ok(())
}

fn table(report: &Report) -> String {
    let mut out = String::new();
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
        for e in &l.examples {
            let _ = writeln!(out, "example: {e}");
        }
    }
    out
}

fn bar(share: f64, width: usize) -> String {
    let n = (share.clamp(0.0, 1.0) * width as f64).round() as usize;
    format!("{}{}", "█".repeat(n), "·".repeat(width - n))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html(report: &Report) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "<h1>firmo report</h1>");
    if let Some(l) = &report.latest {
        let _ = writeln!(
            body,
            "<h2>Run {} ({}) · {} records</h2>",
            l.run_id,
            escape(&l.kind),
            l.records
        );
        let _ = writeln!(
            body,
            "<h3>Coverage per field</h3>{}",
            svg_bars(l.coverage.iter().map(|(k, v)| (k, v)))
        );
        if !l.sources.is_empty() {
            let _ = writeln!(
                body,
                "<h3>Winning values per source</h3>{}",
                svg_bars(l.sources.iter())
            );
        }
        if !l.findings.is_empty() {
            let _ = writeln!(
                body,
                "<h3>Quality findings</h3><table><tr><th>code</th><th>rule</th><th>severity</th><th>count</th></tr>"
            );
            for (code, (rule, severity, n)) in &l.findings {
                let _ = writeln!(
                    body,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{n}</td></tr>",
                    escape(code),
                    escape(rule),
                    escape(severity)
                );
            }
            let _ = writeln!(body, "</table>");
        }
    }
    let _ = writeln!(
        body,
        "<h3>Recent runs</h3><table><tr><th>run</th><th>kind</th><th>started</th><th>outcome</th><th>written</th><th>unchanged</th><th>skipped</th><th>rejected</th><th>failed</th><th>credits</th></tr>"
    );
    for r in &report.runs {
        let c = &r.counts;
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
            r.id.0,
            escape(&r.kind),
            if r.dry_run { " (dry)" } else { "" },
            firmo_connect::crm::format_timestamp(r.started_at),
            r.outcome,
            c.written,
            c.unchanged,
            c.skipped,
            c.rejected,
            c.failed,
            r.credits + 0.0 // never print -0.0
        );
    }
    let _ = writeln!(body, "</table>");
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>firmo report</title>\
<style>body{{font:14px system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse}}\
td,th{{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}}</style></head><body>{body}</body></html>\n"
    )
}

fn svg_bars<'a>(shares: impl ExactSizeIterator<Item = (&'a String, &'a f64)>) -> String {
    let row = 22;
    let height = shares.len() * row + 4;
    let mut svg = format!(
        "<svg width=\"560\" height=\"{height}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, (name, share)) in shares.enumerate() {
        let y = i * row;
        let w = (share.clamp(0.0, 1.0) * 300.0).round();
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"180\" y=\"{}\" width=\"{w}\" height=\"14\" fill=\"#3b82f6\"/><text x=\"{}\" y=\"{}\" font-size=\"12\">{:.1} %</text>",
            y + 14,
            escape(name),
            y + 3,
            190.0 + w,
            y + 14,
            share * 100.0
        );
    }
    svg.push_str("</svg>");
    svg
}
