//! `firmo import clay FILE.csv`: a Clay table's CSV export into records.
//!
//! The header row is matched with the loose column names of [`crate::parse`] (a `domain`
//! or `website` column is required, and at least one enrichment column; the others are
//! optional, unknown ones ignored). A bad
//! line (no domain, a broken CSV record) is reported with its line number and skipped;
//! the import goes on.

use std::io::Read;

use firmo_core::{ProviderRecord, UnixMillis};
use serde_json::{Map, Value as Json};

use crate::parse::{ENRICHMENT_COLUMNS, is_domain_column, is_enrichment_column, parse_row};

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
    /// Importing such a file would cache an empty "Clay found nothing" for every domain
    /// and keep Clay and LinkedIn from being asked for a refresh window.
    #[error(
        "no enrichment column: the export has none of the columns firmo reads \
         (columns found: {found}); recognised columns: {recognised}"
    )]
    NoEnrichmentColumn { found: String, recognised: String },
}

/// Reads a Clay CSV export. `fetched_at` is recorded as the fetch time of every record.
pub fn import_csv(reader: impl Read, fetched_at: UnixMillis) -> Result<ClayImport, ImportError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = csv.headers().map_err(ImportError::Header)?.clone();
    if !headers.iter().any(is_domain_column) {
        return Err(ImportError::NoDomainColumn {
            found: header_list(&headers),
        });
    }
    let enriches = headers.iter().any(is_enrichment_column);
    let mut import = ClayImport::default();
    for result in csv.records() {
        // Refused at the first line it would import (a header-only file stores nothing).
        if !enriches {
            return Err(ImportError::NoEnrichmentColumn {
                found: header_list(&headers),
                recognised: ENRICHMENT_COLUMNS
                    .iter()
                    .map(|aliases| aliases.join(" / "))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
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

/// The header's column names for messages: at most 20, each cut to 60 characters (a
/// binary file's "header" can be 50 KB of garbage).
fn header_list(headers: &csv::StringRecord) -> String {
    if headers.is_empty() {
        return "(none)".to_owned();
    }
    let mut names: Vec<String> = headers
        .iter()
        .take(20)
        .map(|h| {
            let mut name: String = h.chars().take(60).collect();
            if h.chars().count() > 60 {
                name.push('…');
            }
            name
        })
        .collect();
    if headers.len() > 20 {
        names.push(format!("and {} more", headers.len() - 20));
    }
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: UnixMillis = UnixMillis(1_760_000_000_000);

    /// Finding 5: an export with a domain but nothing to enrich with used to store an
    /// empty hit for every row.
    #[test]
    fn an_export_without_enrichment_columns_is_refused_listing_the_recognised_ones() {
        let csv = "domain,account_id,notes\nacme.com,1,hello\nbeta.io,2,\n";
        let err = import_csv(csv.as_bytes(), AT).unwrap_err();
        assert!(
            matches!(err, ImportError::NoEnrichmentColumn { .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("(columns found: domain, account_id, notes)"),
            "{msg}"
        );
        assert!(msg.contains("employee count"), "{msg}");
        assert!(msg.contains("industry / company industry"), "{msg}");
    }

    #[test]
    fn one_enrichment_column_is_enough() {
        let csv = "Website,Employee Count\nacme.com,120\n";
        let import = import_csv(csv.as_bytes(), AT).unwrap();
        assert_eq!(import.rows.len(), 1);
        assert_eq!(import.rows[0].0, "acme.com");
        assert_eq!(import.rows[0].1.len(), 1);
    }

    #[test]
    fn a_binary_header_is_not_echoed_in_full() {
        let mut garbage: Vec<u8> = (0..50_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        garbage.extend(b",x\n1,2\n");
        let err = import_csv(garbage.as_slice(), AT).unwrap_err();
        let msg = err.to_string();
        assert!(msg.len() < 400, "{} bytes: {msg:.200}", msg.len());
    }
}
