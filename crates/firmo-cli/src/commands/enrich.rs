//! `firmo enrich --input accounts.csv --output enriched.csv`: the same plan, fetch, merge
//! and quality rules as `sync`, on a CSV export instead of the CRM.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Context as _, anyhow};
use firmo_core::{Field, Severity, Signal};
use firmo_engine::batch::enrich_accounts;
use firmo_engine::crms::CrmFactory;
use firmo_engine::enrich::{Account, Enriched};
use firmo_engine::properties::field_property;
use firmo_engine::report::csv_status;
use firmo_engine::verdict::Verdict;

use crate::cli::{EnrichArgs, GlobalArgs};
use crate::context::{self, load_config, open_store};
use crate::csv_safe;
use crate::output::{print, print_json};
use crate::{CmdResult, Failure};

const REQUIRED: [&str; 3] = ["account_id", "account_name", "domain"];

/// A row that could not be read.
#[derive(Debug, serde::Serialize)]
struct RowError {
    line: u64,
    message: String,
}

pub(crate) async fn run(global: &GlobalArgs, args: &EnrichArgs) -> CmdResult {
    let config = load_config(global)?;
    let (accounts, row_errors) = read_accounts(&args.input).map_err(Failure::Usage)?;
    let store = open_store(global)?;
    let t = context::target(&config, &args.target, store, Some("firmo enrich")).await?;
    let mut writer = csv::Writer::from_path(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))
        .map_err(Failure::Usage)?;
    writer
        .write_record(header())
        .context("writing the CSV header")?;
    let rows = accounts.len();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let run_config = serde_json::json!({
        "input": args.input.display().to_string(),
        "output": args.output.display().to_string(),
        "row_errors": row_errors.len(),
    });
    let result = enrich_accounts(
        &config,
        &t.enricher,
        "enrich",
        run_config,
        accounts,
        |e, verdict| {
            let (row, group) = to_row(args.target.crm.0, e, verdict);
            *counts.entry(group).or_default() += 1;
            let written = if args.raw {
                writer.write_record(&row)
            } else {
                writer.write_record(
                    row.iter()
                        .map(|cell| csv_safe::neutralize(cell).into_owned()),
                )
            };
            written.map_err(|e| format!("writing a CSV row: {e}"))
        },
    )
    .await;
    t.finish().await;
    let summary = result.map_err(|e| Failure::Run(e.into()))?;
    writer.flush().context("writing the output CSV")?;

    if global.json {
        print_json(&serde_json::json!({
            "output": args.output.display().to_string(),
            "rows": rows,
            "counts": counts,
            "providers": summary.providers,
            "credits": summary.credits,
            "deferred": summary.deferred,
            "budget": { "max_credits_per_run": summary.budget },
            "row_errors": row_errors,
        }))?;
    } else if !global.quiet {
        let mut text = format!("wrote {rows} rows to {}\n", args.output.display());
        for (status, n) in &counts {
            let _ = writeln!(text, "  {status:<24}{n:>7}");
        }
        let _ = writeln!(text, "credits spent: {:.1}", summary.credits);
        if summary.deferred > 0 {
            // Deferral is the budget doing its job, not a failure: the exit code stays 0
            // and a later run looks these rows up.
            let _ = writeln!(
                text,
                "deferred: {} rows not looked up, over the run's credit budget of {} \
                 ([budget] max_credits_per_run); run again to look them up",
                summary.deferred, summary.budget
            );
        }
        for e in &row_errors {
            let _ = writeln!(
                text,
                "{}: line {}: {}",
                args.input.display(),
                e.line,
                e.message
            );
        }
        print(&text)?;
    }
    if row_errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::SomeFailed)
    }
}

fn header() -> Vec<String> {
    let mut h: Vec<String> = REQUIRED.iter().map(|s| (*s).to_owned()).collect();
    h.extend(Field::ALL.iter().map(|f| f.property_name()));
    h.extend(Signal::ALL.iter().map(|s| s.property_name()));
    h.extend(["firmo_sources", "firmo_status", "firmo_findings"].map(str::to_owned));
    h
}

/// One output row, with values formatted exactly as the CRM path writes them to `crm`
/// (`--crm`), and the status group it counts under.
fn to_row(crm: &dyn CrmFactory, e: &Enriched, verdict: &Verdict) -> (Vec<String>, String) {
    let mut row = vec![
        e.account.id.clone(),
        e.account.name.clone().unwrap_or_default(),
        e.account.domain.clone().unwrap_or_default(),
    ];
    let evaluation = &e.evaluation;
    let rejected = |field: Field| {
        evaluation
            .findings
            .iter()
            .any(|f| f.severity == Severity::Reject && f.field == Some(field))
    };
    for field in Field::ALL {
        let cell = match evaluation.merged.get(field) {
            Some(m) if !rejected(field) => crm
                .encode_value(&field_property(field), &m.value)
                .unwrap_or_default(),
            _ => String::new(),
        };
        row.push(cell);
    }
    for signal in Signal::ALL {
        row.push(
            evaluation
                .signals
                .get(signal.name())
                .map(ToString::to_string)
                .unwrap_or_default(),
        );
    }
    row.push(
        evaluation
            .merged
            .fields
            .iter()
            .map(|(f, m)| format!("{}={}", f.name(), m.source.name()))
            .collect::<Vec<_>>()
            .join(";"),
    );
    let (status, group) = csv_status(verdict);
    row.push(status);
    row.push(
        evaluation
            .findings
            .iter()
            .map(|f| f.code.as_str())
            .collect::<Vec<_>>()
            .join(";"),
    );
    (row, group)
}

/// Bytes read to tell a text file from a binary one.
const SNIFF: usize = 8 * 1024;

/// Refuses a file that isn't text (a NUL byte among its first bytes: a spreadsheet saved
/// as `.xlsx`, an archive), describing it rather than quoting it; rewinds otherwise.
fn refuse_binary(file: &mut std::fs::File, path: &std::path::Path) -> anyhow::Result<()> {
    use std::io::{Read as _, Seek as _};
    let mut head = Vec::with_capacity(SNIFF);
    file.by_ref()
        .take(SNIFF as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {}", path.display()))?;
    if let Some(at) = head.iter().position(|b| *b == 0) {
        let kind = match head.get(..4) {
            Some([b'P', b'K', 3, 4]) => " (a ZIP archive: an .xlsx workbook? save it as CSV)",
            _ => "",
        };
        return Err(anyhow!(
            "{} is not a CSV text file: byte {at} is NUL, so it holds binary data{kind}",
            path.display()
        ));
    }
    file.rewind()
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(())
}

/// The header's columns for an error message: the first few, each cut short.
fn shown_columns(headers: &csv::StringRecord) -> String {
    const COLUMNS: usize = 12;
    const CHARS: usize = 40;
    let mut shown: Vec<String> = headers
        .iter()
        .take(COLUMNS)
        .map(|h| {
            if h.chars().count() > CHARS {
                format!("{}…", h.chars().take(CHARS).collect::<String>())
            } else {
                h.to_owned()
            }
        })
        .collect();
    if headers.len() > COLUMNS {
        shown.push(format!("and {} more", headers.len() - COLUMNS));
    }
    shown.join(", ")
}

/// Reads the accounts; rows that can't be read are returned as errors with their line.
fn read_accounts(path: &std::path::Path) -> anyhow::Result<(Vec<Account>, Vec<RowError>)> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    refuse_binary(&mut file, path)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers = reader
        .headers()
        .with_context(|| format!("{}: reading the header row", path.display()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let mut idx = [0usize; 3];
    for (i, name) in REQUIRED.iter().enumerate() {
        idx[i] = column(name).ok_or_else(|| {
            anyhow!(
                "{}: the header has no `{name}` column (it has: {}); expected account_id, account_name, domain",
                path.display(),
                shown_columns(&headers)
            )
        })?;
    }
    let mut accounts = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in reader.records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                errors.push(RowError {
                    line,
                    message: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = row.position().map_or(0, csv::Position::line);
        if row.len() != headers.len() {
            errors.push(RowError {
                line,
                message: format!("{} fields, the header has {}", row.len(), headers.len()),
            });
            continue;
        }
        let id = row.get(idx[0]).unwrap_or_default().to_owned();
        if id.is_empty() {
            errors.push(RowError {
                line,
                message: "empty account_id".into(),
            });
            continue;
        }
        if !seen.insert(id.clone()) {
            errors.push(RowError {
                line,
                message: format!("account_id {id} appears twice; the later row is ignored"),
            });
            continue;
        }
        let name = row.get(idx[1]).filter(|s| !s.is_empty()).map(str::to_owned);
        let domain = row.get(idx[2]).filter(|s| !s.is_empty()).map(str::to_owned);
        accounts.push(Account {
            id,
            name,
            domain,
            properties: BTreeMap::new(),
            refresh_factor: 1.0,
        });
    }
    Ok((accounts, errors))
}
