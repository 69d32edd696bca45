//! `firmo import clay FILE.csv`: a Clay table's CSV export into records.
//!
//! The header row is matched with the loose column names of [`crate::parse`] (a `domain`
//! or `website` column is required; others are optional, unknown ones ignored). A bad
//! line (no domain, a broken CSV record) is reported with its line number and skipped;
//! the import goes on.

use std::io::Read;

use firmo_core::{ProviderRecord, UnixMillis};
use serde_json::{Map, Value as Json};

use crate::parse::{is_domain_column, parse_row};

/// What an import read: the rows it could file, and the lines it could not.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClayImport {
    /// `(domain, records)` per good line, in file order (an empty list: Clay had nothing).
    pub rows: Vec<(String, Vec<ProviderRecord>)>,
    /// One entry per skipped line.
    pub errors: Vec<RowError>,
}

/// A line that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

/// Why a file could not be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the CSV header can't be read: {0}")]
    Header(#[source] csv::Error),
    #[error(
        "no domain column: the export needs a `domain` or `website` column (columns found: {found})"
    )]
    NoDomainColumn { found: String },
}

/// Reads a Clay CSV export. `fetched_at` is recorded as the fetch time of every record.
pub fn import_csv(reader: impl Read, fetched_at: UnixMillis) -> Result<ClayImport, ImportError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = csv.headers().map_err(ImportError::Header)?.clone();
    if !headers.iter().any(is_domain_column) {
        let found: Vec<&str> = headers.iter().collect();
        return Err(ImportError::NoDomainColumn {
            found: found.join(", "),
        });
    }
    let mut import = ClayImport::default();
    for result in csv.records() {
        let record = match result {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                import.errors.push(RowError {
                    line,
                    message: format!("unreadable CSV record: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let row: Map<String, Json> = headers
            .iter()
            .zip(record.iter())
            .map(|(name, cell)| {
                let value = if cell.is_empty() {
                    Json::Null
                } else {
                    Json::String(cell.to_owned())
                };
                (name.to_owned(), value)
            })
            .collect();
        match parse_row(&row, fetched_at) {
            Ok(row) => import.rows.push((row.domain, row.records)),
            Err(e) => import.errors.push(RowError {
                line,
                message: e.to_string(),
            }),
        }
    }
    Ok(import)
}
