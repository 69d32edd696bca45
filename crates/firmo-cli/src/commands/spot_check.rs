//! `firmo spot-check sample` writes a stratified, seeded sample of one field's merged
//! values for a person to check; `firmo spot-check import` stores their verdicts, which
//! `firmo report` turns into accuracy per field and source.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, anyhow};
use firmo_core::{Field, Source};
use firmo_engine::quality::{SampleRow, display_value, sample};
use firmo_store::{RunId, RunRecord, SpotCheck, SpotVerdict, Store};

use crate::cli::{GlobalArgs, SpotCheckCommand, SpotSampleArgs};
use crate::context::{lock_for_run, open_store, open_store_read_only};
use crate::csv_safe::neutralize;
use crate::output::{print, print_json};
use crate::{CmdResult, Failure};

/// The sheet's columns, in order. `verdict` and `corrected_value` are the reviewer's.
const COLUMNS: [&str; 13] = [
    "run",
    "segment",
    "account_id",
    "account_name",
    "domain",
    "field",
    "value",
    "source",
    "other_sources",
    "website",
    "linkedin",
    "verdict",
    "corrected_value",
];

/// Columns an import can't do without.
const REQUIRED: [&str; 6] = ["run", "account_id", "field", "value", "source", "verdict"];

/// How many recent runs a sample without `--segment` looks through for segments.
const RECENT_RUNS: usize = 50;

pub(crate) fn run(global: &GlobalArgs, command: &SpotCheckCommand) -> CmdResult {
    match command {
        SpotCheckCommand::Sample(args) => run_sample(global, args),
        SpotCheckCommand::Import { file } => run_import(global, file),
    }
}

fn no_state(global: &GlobalArgs) -> Failure {
    Failure::Usage(anyhow!(
        "no state file at {}: run `firmo sync` first (or pass --state)",
        crate::context::state_label(global)
    ))
}

fn segment_of(run: &RunRecord) -> Option<&str> {
    run.config.get("segment").and_then(|s| s.as_str())
}

/// The runs to sample from, newest first: the newest real sync of `segment`, or without
/// one the newest real run of each segment (and of no segment) among the recent runs.
fn runs_to_sample(store: &Store, segment: Option<&str>) -> Result<Vec<i64>, Failure> {
    let runs = store.list_runs(RECENT_RUNS)?;
    let real = runs.iter().filter(|r| !r.dry_run);
    let mut picked = Vec::new();
    let mut segments = BTreeSet::new();
    for run in real {
        match segment {
            Some(name) if segment_of(run) == Some(name) => {
                picked.push(run.id.0);
                break;
            }
            Some(_) => {}
            None => {
                if segments.insert(segment_of(run).map(str::to_owned)) {
                    picked.push(run.id.0);
                }
            }
        }
    }
    if picked.is_empty() {
        return Err(Failure::Usage(match segment {
            Some(name) => anyhow!(
                "no run of segment `{name}` in the last {RECENT_RUNS} runs: \
                 run `firmo sync --segment {name}` first"
            ),
            None => anyhow!("no run to sample from: run `firmo sync` first"),
        }));
    }
    Ok(picked)
}

fn parse_field(name: &str) -> Result<Field, Failure> {
    Field::from_name(name).ok_or_else(|| {
        Failure::Usage(anyhow!(
            "unknown field `{name}`; known fields: {}",
            Field::ALL.map(Field::name).join(", ")
        ))
    })
}

fn run_sample(global: &GlobalArgs, args: &SpotSampleArgs) -> CmdResult {
    let field = parse_field(&args.field)?;
    if args.n == 0 {
        return Err(Failure::Usage(anyhow!("--n must be at least 1")));
    }
    if !crate::context::state_exists(global) {
        return Err(no_state(global));
    }
    let store = open_store_read_only(global)?;
    let runs = runs_to_sample(&store, args.segment.as_deref())?;
    let rows = sample(&store, &runs, field, args.n, args.seed)?;
    write_sheet(&args.output, &rows)?;
    let mut per_source: BTreeMap<&str, u64> = BTreeMap::new();
    for row in &rows {
        *per_source.entry(row.source.name()).or_default() += 1;
    }
    if global.json {
        print_json(&serde_json::json!({
            "output": args.output,
            "field": field.name(),
            "rows": rows.len(),
            "runs": runs,
            "per_source": per_source,
        }))?;
    } else if !global.quiet {
        let mut text = format!(
            "wrote {} {} values to check to {} (runs {}; seed {})\n",
            rows.len(),
            field.name(),
            args.output.display(),
            runs.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            args.seed
        );
        for (source, n) in &per_source {
            let _ = writeln!(text, "  {source:<12} {n}");
        }
        let _ = writeln!(
            text,
            "fill `verdict` (correct, wrong or unsure), then: firmo spot-check import {}",
            args.output.display()
        );
        print(&text)?;
    }
    Ok(())
}

fn write_sheet(path: &Path, rows: &[SampleRow]) -> Result<(), Failure> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("creating {}", path.display()))
        .map_err(Failure::Usage)?;
    let mut out = csv::Writer::from_writer(file);
    let context = || format!("writing {}", path.display());
    out.write_record(COLUMNS).with_context(context)?;
    for row in rows {
        let others = row
            .others
            .iter()
            .map(|(s, v)| format!("{s}={}", display_value(v)))
            .collect::<Vec<_>>()
            .join(" | ");
        let website = row
            .domain
            .as_ref()
            .map(|d| format!("https://{d}"))
            .unwrap_or_default();
        let cells = [
            row.run_id.to_string(),
            row.segment.clone().unwrap_or_default(),
            row.account_id.clone(),
            row.name.clone().unwrap_or_default(),
            row.domain.clone().unwrap_or_default(),
            row.field.name().to_owned(),
            display_value(&row.value),
            row.source.name().to_owned(),
            others,
            website,
            linkedin_link(row),
            String::new(),
            String::new(),
        ];
        // Provider text goes to a spreadsheet: no cell may run as a formula there.
        out.write_record(cells.iter().map(|c| neutralize(c).into_owned()))
            .with_context(context)?;
    }
    out.flush().with_context(context)?;
    Ok(())
}

/// A LinkedIn company search for the account: firmo's sources don't carry the page's
/// address, and a search by name (else domain) finds it in one click.
fn linkedin_link(row: &SampleRow) -> String {
    let Some(query) = row.name.as_deref().or(row.domain.as_deref()) else {
        return String::new();
    };
    let mut encoded = String::new();
    for byte in query.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    format!("https://www.linkedin.com/search/results/companies/?keywords={encoded}")
}

/// A problem with one line of the sheet.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LineError {
    pub line: u64,
    pub message: String,
}

/// What a sheet holds: the verdicts to store and the lines that can't be.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub checks: Vec<SpotCheck>,
    /// Rows the reviewer has not judged yet (empty verdict).
    pub open: u64,
    pub errors: Vec<LineError>,
}

/// `cell` as the sample wrote it, without the `'` that kept a spreadsheet from running it.
fn unneutralize(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if neutralize(rest).starts_with('\'') => rest,
        _ => cell,
    }
}

/// Reads a reviewed sheet. `accounts` says which accounts each run has: a row naming
/// another is an error. A file that is not CSV text, or lacks a required column, fails
/// whole; a bad row is reported by its line and the others still count.
pub(crate) fn parse_sheet(
    bytes: &[u8],
    accounts: &mut dyn FnMut(i64) -> Result<Option<BTreeSet<String>>, Failure>,
    now: firmo_core::UnixMillis,
) -> Result<Parsed, Failure> {
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        return Err(Failure::Usage(anyhow!(
            "not a CSV text file (binary data at byte {at}); pass the sheet \
             `firmo spot-check sample` wrote"
        )));
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        // Lines before the bad byte, plus the one it is on.
        let line = bytes[..e.valid_up_to()].split(|b| *b == b'\n').count();
        return Err(Failure::Usage(anyhow!(
            "line {line}: not UTF-8 text (byte {}); save the sheet as CSV UTF-8",
            e.valid_up_to()
        )));
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| Failure::Usage(anyhow!("line 1: {e}")))?
        .clone();
    let index: HashMap<&str, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim(), i))
        .collect();
    if let Some(missing) = REQUIRED.iter().find(|c| !index.contains_key(*c)) {
        return Err(Failure::Usage(anyhow!(
            "line 1: missing column `{missing}`; a sheet needs {}",
            REQUIRED.join(", ")
        )));
    }
    let mut known: HashMap<i64, Option<BTreeSet<String>>> = HashMap::new();
    let mut parsed = Parsed::default();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                parsed.errors.push(LineError {
                    line,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let cell = |name: &str| {
            index
                .get(name)
                .and_then(|i| record.get(*i))
                .map_or("", |c| unneutralize(c.trim()))
        };
        let mut fail = |message: String| parsed.errors.push(LineError { line, message });
        let verdict_text = cell("verdict").to_ascii_lowercase();
        if verdict_text.is_empty() {
            parsed.open += 1;
            continue;
        }
        let Some(verdict) = SpotVerdict::parse(&verdict_text) else {
            fail(format!(
                "unknown verdict `{}`: use correct, wrong or unsure (or leave it empty)",
                cell("verdict")
            ));
            continue;
        };
        let Ok(run_id) = cell("run").parse::<i64>() else {
            fail(format!("run `{}` is not a run number", cell("run")));
            continue;
        };
        let Some(field) = Field::from_name(cell("field")) else {
            fail(format!("unknown field `{}`", cell("field")));
            continue;
        };
        let Some(source) = Source::from_name(cell("source")) else {
            fail(format!("unknown source `{}`", cell("source")));
            continue;
        };
        let account_id = cell("account_id");
        let ids = match known.get(&run_id) {
            Some(ids) => ids,
            None => {
                let ids = accounts(run_id)?;
                known.entry(run_id).or_insert(ids)
            }
        };
        let Some(ids) = ids else {
            fail(format!("unknown run {run_id}"));
            continue;
        };
        if !ids.contains(account_id) {
            fail(format!("unknown account `{account_id}` in run {run_id}"));
            continue;
        }
        let corrected = cell("corrected_value");
        parsed.checks.push(SpotCheck {
            run_id: RunId(run_id),
            account_id: account_id.to_owned(),
            field: field.name().to_owned(),
            source: source.name().to_owned(),
            value: cell("value").to_owned(),
            verdict,
            corrected_value: (!corrected.is_empty()).then(|| corrected.to_owned()),
            checked_at: now,
        });
    }
    Ok(parsed)
}

fn run_import(global: &GlobalArgs, file: &Path) -> CmdResult {
    let bytes = std::fs::read(file)
        .with_context(|| format!("reading {}", file.display()))
        .map_err(Failure::Usage)?;
    if !crate::context::state_exists(global) {
        return Err(no_state(global));
    }
    let mut store = open_store(global)?;
    let _lock = lock_for_run(&store, "firmo spot-check import")?;
    let now = firmo_engine::system_clock()();
    let parsed = {
        let store = &store;
        let mut accounts = |run_id: i64| -> Result<Option<BTreeSet<String>>, Failure> {
            if store.get_run(RunId(run_id))?.is_none() {
                return Ok(None);
            }
            Ok(Some(
                store
                    .outcomes(RunId(run_id))?
                    .into_iter()
                    .map(|o| o.account_id)
                    .collect(),
            ))
        };
        parse_sheet(&bytes, &mut accounts, now).map_err(|e| match e {
            Failure::Usage(e) => Failure::Usage(anyhow!("{}: {e}", file.display())),
            other => other,
        })?
    };
    store.record_spot_checks(&parsed.checks)?;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &parsed.checks {
        *counts.entry(c.verdict.as_str()).or_default() += 1;
    }
    if global.json {
        print_json(&serde_json::json!({
            "imported": parsed.checks.len(),
            "verdicts": counts,
            "open": parsed.open,
            "errors": parsed.errors.iter()
                .map(|e| serde_json::json!({"line": e.line, "message": e.message}))
                .collect::<Vec<_>>(),
        }))?;
    } else {
        let mut text = format!(
            "imported {} verdicts from {}",
            parsed.checks.len(),
            file.display()
        );
        for (verdict, n) in &counts {
            let _ = write!(text, " · {verdict} {n}");
        }
        text.push('\n');
        if parsed.open > 0 {
            let _ = writeln!(text, "{} rows have no verdict yet", parsed.open);
        }
        for e in &parsed.errors {
            let _ = writeln!(text, "  {}: line {}: {}", file.display(), e.line, e.message);
        }
        print(&text)?;
    }
    if parsed.errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::SomeFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firmo_core::UnixMillis;

    #[allow(
        clippy::unnecessary_wraps,
        reason = "the shape parse_sheet's callback has"
    )]
    fn accounts(run: i64) -> Result<Option<BTreeSet<String>>, Failure> {
        Ok((run == 3).then(|| ["10".to_owned(), "11".to_owned()].into()))
    }

    fn parse(text: &str) -> Result<Parsed, Failure> {
        parse_sheet(text.as_bytes(), &mut accounts, UnixMillis(5))
    }

    fn usage(result: Result<Parsed, Failure>) -> String {
        match result {
            Err(Failure::Usage(e)) => e.to_string(),
            Err(Failure::Run(e)) => panic!("expected a usage error, got {e}"),
            Err(Failure::SomeFailed) => panic!("expected a usage error, got SomeFailed"),
            Ok(p) => panic!("expected a usage error, got {p:?}"),
        }
    }

    const HEAD: &str = "run,account_id,field,value,source,verdict,corrected_value\n";

    #[test]
    fn verdicts_are_read_and_bad_rows_named_by_line() {
        let text = format!(
            "{HEAD}3,10,headcount,120,clay,Correct,\n\
             3,11,headcount,'-5x,clearbit,wrong,95\n\
             3,12,headcount,7,clay,correct,\n\
             3,10,headcount,7,clay,maybe,\n\
             4,10,headcount,7,clay,correct,\n\
             3,11,headcount,7,clay,,\n\
             x,11,headcount,7,clay,unsure,\n"
        );
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed.checks.len(), 2);
        assert_eq!(parsed.checks[0].verdict, SpotVerdict::Correct);
        assert_eq!(parsed.checks[0].checked_at, UnixMillis(5));
        assert_eq!(
            parsed.checks[1].value, "-5x",
            "the sheet's formula guard comes off"
        );
        assert_eq!(parsed.checks[1].corrected_value.as_deref(), Some("95"));
        assert_eq!(parsed.open, 1);
        let errors: Vec<(u64, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(
            errors,
            vec![
                (4, "unknown account `12` in run 3"),
                (
                    5,
                    "unknown verdict `maybe`: use correct, wrong or unsure (or leave it empty)"
                ),
                (6, "unknown run 4"),
                (8, "run `x` is not a run number"),
            ]
        );
    }

    #[test]
    fn a_missing_column_fails_the_whole_file() {
        let err = usage(parse(
            "run,account_id,field,value,source\n3,10,headcount,1,clay\n",
        ));
        assert_eq!(
            err,
            "line 1: missing column `verdict`; a sheet needs run, account_id, field, value, \
             source, verdict"
        );
    }

    #[test]
    fn binary_input_is_refused_before_parsing() {
        let err = usage(parse_sheet(
            b"PK\x03\x04\0\0zip",
            &mut accounts,
            UnixMillis(0),
        ));
        assert!(
            err.starts_with("not a CSV text file (binary data at byte 4)"),
            "{err}"
        );
        let latin1 = b"run,account_id\n3,caf\xe9\n";
        let err = usage(parse_sheet(latin1, &mut accounts, UnixMillis(0)));
        assert!(err.starts_with("line 2: not UTF-8 text"), "{err}");
    }

    #[test]
    fn unknown_fields_and_sources_are_row_errors() {
        let text = format!("{HEAD}3,10,colour,red,clay,correct,\n3,10,headcount,1,acme,wrong,\n");
        let parsed = parse(&text).unwrap();
        assert!(parsed.checks.is_empty());
        assert_eq!(parsed.errors[0].message, "unknown field `colour`");
        assert_eq!(parsed.errors[1].message, "unknown source `acme`");
    }

    #[test]
    fn linkedin_links_search_by_name_encoded() {
        let row = SampleRow {
            run_id: 1,
            segment: None,
            account_id: "1".into(),
            name: Some("Acme & Sons".into()),
            domain: Some("acme.com".into()),
            field: Field::Headcount,
            value: firmo_core::Value::Integer(3),
            source: Source::Clay,
            others: Vec::new(),
        };
        assert_eq!(
            linkedin_link(&row),
            "https://www.linkedin.com/search/results/companies/?keywords=Acme%20%26%20Sons"
        );
    }
}
