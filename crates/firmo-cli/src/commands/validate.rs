//! `firmo validate FILE`: the quality rules over a JSON or CSV file of records, as a
//! linter would: every finding with its record and field, exit 1 when a value would be
//! rejected.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, anyhow};
use firmo_core::field::FieldKind;
use firmo_core::validate::validate_json_record;
use firmo_core::{Date, Field, Finding, Severity};
use serde::Serialize;

use crate::cli::{GlobalArgs, ValidateArgs};
use crate::output::{print, print_json};
use crate::{CmdResult, Failure};

#[derive(Debug, Serialize)]
struct RecordFindings {
    /// 1-based record number (CSV: the data row; JSON: the array index + 1).
    record: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    findings: Vec<Finding>,
}

pub(crate) fn run(global: &GlobalArgs, args: &ValidateArgs) -> CmdResult {
    let records = read_records(&args.file).map_err(Failure::Usage)?;
    let today = today();
    let results: Vec<RecordFindings> = records
        .into_iter()
        .enumerate()
        .map(|(i, (line, json))| RecordFindings {
            record: i + 1,
            line,
            findings: validate_json_record(&json, today),
        })
        .collect();
    let rejects = results
        .iter()
        .flat_map(|r| &r.findings)
        .filter(|f| f.severity == Severity::Reject)
        .count();
    let flags = results
        .iter()
        .flat_map(|r| &r.findings)
        .filter(|f| f.severity == Severity::Flag)
        .count();
    if global.json {
        print_json(
            &serde_json::json!({ "records": results.len(), "rejects": rejects, "flags": flags, "results": results }),
        )?;
    } else {
        let mut text = String::new();
        for r in &results {
            for f in &r.findings {
                let at = r
                    .line
                    .map_or_else(|| format!("record {}", r.record), |l| format!("line {l}"));
                let field = f.field.map_or("(record)", Field::name);
                let _ = writeln!(
                    text,
                    "{}:{at}: {} {} [{}] {field}: {}",
                    args.file.display(),
                    match f.severity {
                        Severity::Reject => "reject",
                        Severity::Flag => "flag  ",
                    },
                    f.code,
                    f.rule,
                    f.message
                );
            }
        }
        let _ = writeln!(
            text,
            "{} records: {rejects} rejected values, {flags} flags",
            results.len()
        );
        print(&text)?;
    }
    if rejects > 0 {
        Err(Failure::SomeFailed)
    } else {
        Ok(())
    }
}

fn today() -> Date {
    (firmo_engine::system_clock())()
        .date()
        .unwrap_or_else(|| Date::new(1970, 1, 1).expect("valid"))
}

/// Reads `(line, record)` pairs from a `.json` (object or array) or `.csv` file.
fn read_records(path: &Path) -> anyhow::Result<Vec<(Option<u64>, serde_json::Value)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !is_csv {
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: not valid JSON", path.display()))?;
        return Ok(match json {
            serde_json::Value::Array(items) => items.into_iter().map(|v| (None, v)).collect(),
            other => vec![(None, other)],
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .with_context(|| format!("{}: reading the header row", path.display()))?
        .clone();
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| anyhow!("{}: {e}", path.display()))?;
        let line = row.position().map(csv::Position::line);
        let mut object = serde_json::Map::new();
        for (name, cell) in headers.iter().zip(row.iter()) {
            let name = name.trim();
            let key = name
                .strip_prefix(firmo_core::field::PROPERTY_PREFIX)
                .unwrap_or(name);
            if cell.trim().is_empty() {
                continue;
            }
            object.insert(key.to_owned(), cell_to_json(Field::from_name(key), cell));
        }
        out.push((line, serde_json::Value::Object(object)));
    }
    Ok(out)
}

/// A CSV cell as the JSON the field takes; what doesn't parse stays a string so the rules
/// report it as the wrong type, naming the value.
pub(crate) fn cell_to_json(field: Option<Field>, cell: &str) -> serde_json::Value {
    let cell = cell.trim();
    let Some(field) = field else {
        return serde_json::Value::String(cell.to_owned());
    };
    match field.kind() {
        FieldKind::Integer { .. } => cell
            .parse::<i64>()
            .map(serde_json::Value::from)
            .or_else(|_| cell.parse::<f64>().map(serde_json::Value::from))
            .unwrap_or_else(|_| serde_json::Value::String(cell.to_owned())),
        FieldKind::Decimal { .. } => cell.parse::<f64>().map_or_else(
            |_| serde_json::Value::String(cell.to_owned()),
            serde_json::Value::from,
        ),
        FieldKind::TextList { .. } => serde_json::Value::Array(
            cell.split(';')
                .map(|s| serde_json::Value::String(s.trim().to_owned()))
                .collect(),
        ),
        _ => serde_json::Value::String(cell.to_owned()),
    }
}
