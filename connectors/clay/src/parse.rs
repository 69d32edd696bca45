//! One Clay row → the records it carries: Clay's own firmographics ([`Source::Clay`]) and
//! the LinkedIn data Clay enriched it with ([`Source::LinkedIn`]).
//!
//! A row reaches firmo two ways: as the JSON object Clay's "HTTP API" column POSTs to the
//! callback receiver (typed values: numbers, arrays), or as a line of a table's CSV
//! export (every value a string). Both go through [`parse_row`].
//!
//! # Columns
//!
//! Clay columns are named by whoever builds the table, so firmo matches names loosely:
//! case, spaces, `_`, `-`, `.`, `(` `)` and `%` are ignored (`Employee Count`,
//! `employee_count` and `EMPLOYEE-COUNT` are one column). For each field the first
//! listed name present in the row wins; unknown columns are ignored.
//!
//! | field | source | column names (any of) |
//! |---|---|---|
//! | domain (required) | | `domain`, `company domain`, `website`, `company website`, `website url`, `url`, `primary domain` |
//! | account id | | `account id`, `record id`, `crm id`, `hubspot id`, `company id` |
//! | industry | Clay | `industry`, `company industry` |
//! | headcount | Clay | `employee count`, `employees`, `headcount`, `number of employees`, `company size`, `size` |
//! | tech_stack | Clay | `technologies`, `tech stack`, `tech`, `technologies used`, `builtwith technologies` |
//! | funding_stage | Clay | `funding stage`, `last funding type`, `last funding round`, `latest funding stage`, `latest funding round`, `last funding round type` |
//! | last_funding_date | Clay | `last funding date`, `last funding at`, `latest funding date`, `last funding announced on`, `last funded on` |
//! | last_funding_amount | Clay | `last funding amount usd`, `last funding amount`, `latest funding amount`, `last funding amount raised`, `money raised` |
//! | headcount | LinkedIn | `linkedin employee count`, `linkedin headcount`, `linkedin employees` |
//! | employee_growth_6mo | LinkedIn | `employee growth 6mo pct`, `employee growth 6mo`, `employee growth 6 months`, `headcount growth 6mo`, `headcount growth 6 months`, `six month employee growth`, `linkedin employee growth 6mo`, `linkedin headcount growth 6mo` |
//! | recent_job_postings | LinkedIn | `job postings count`, `job postings`, `recent job postings`, `open jobs`, `open jobs count`, `linkedin job postings`; when none is present, `open engineering roles`, `engineering job openings`, `open engineering jobs` |
//! | exec changes | LinkedIn | `recent executive changes`, `executive changes`, `exec changes`, `leadership changes`, `recent exec changes` |
//!
//! # Values
//!
//! - Numbers may be JSON numbers or strings (`"1,250"`, `"51-200"`: the headcount
//!   normalizer reads counts and bands).
//! - **Employee growth is in percent points**: `12.5` and `"12.5%"` both mean +12.5 %, as
//!   Clay's LinkedIn growth columns show it. A fraction (`0.125`) would be read as
//!   0.125 %; write `"12.5%"` in the column template if in doubt.
//! - Funding amounts: a number of USD, or a string like `"$12.5M"`, `"3,000,000"`,
//!   `"1.2B"`.
//! - Lists (technologies, executive changes): a JSON array, or in a CSV cell a JSON
//!   array text, or names separated by `;` (else `,`). An executive change is
//!   `{"title", "start_date"}` (also `date`, `started_on`), or in text
//!   `VP Engineering (2024-09-01)` / `CTO: 2024-07-15`, entries separated by `;`.
//! - Empty strings and `null` are "no value". A value that can't be normalized is dropped
//!   with a warning naming the column; the rest of the row is kept. Only a missing or
//!   unusable domain rejects the row (there is nothing to file the values under).

use std::collections::HashMap;

use firmo_core::normalize::{self, PercentScale};
use firmo_core::{Date, ExecChange, Field, ProviderRecord, Source, UnixMillis, Value};
use serde_json::{Map, Value as Json};

/// A row that can't be filed: why, in words naming the column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RowError(pub String);

/// A parsed row: the company's domain, the CRM account id when the row carries one, and
/// the records (an empty list: Clay found nothing for the company).
#[derive(Debug, Clone, PartialEq)]
pub struct ClayRow {
    pub domain: String,
    pub account_id: Option<String>,
    pub records: Vec<ProviderRecord>,
}

const DOMAIN: &[&str] = &[
    "domain",
    "company domain",
    "website",
    "company website",
    "website url",
    "url",
    "primary domain",
];
const ACCOUNT_ID: &[&str] = &[
    "account id",
    "record id",
    "crm id",
    "hubspot id",
    "company id",
];
const INDUSTRY: &[&str] = &["industry", "company industry"];
const HEADCOUNT: &[&str] = &[
    "employee count",
    "employees",
    "headcount",
    "number of employees",
    "company size",
    "size",
];
const TECH: &[&str] = &[
    "technologies",
    "tech stack",
    "tech",
    "technologies used",
    "builtwith technologies",
];
const STAGE: &[&str] = &[
    "funding stage",
    "last funding type",
    "last funding round",
    "latest funding stage",
    "latest funding round",
    "last funding round type",
];
const FUNDING_DATE: &[&str] = &[
    "last funding date",
    "last funding at",
    "latest funding date",
    "last funding announced on",
    "last funded on",
];
const FUNDING_AMOUNT: &[&str] = &[
    "last funding amount usd",
    "last funding amount",
    "latest funding amount",
    "last funding amount raised",
    "money raised",
];
const LINKEDIN_HEADCOUNT: &[&str] = &[
    "linkedin employee count",
    "linkedin headcount",
    "linkedin employees",
];
const GROWTH: &[&str] = &[
    "employee growth 6mo pct",
    "employee growth 6mo",
    "employee growth 6 months",
    "headcount growth 6mo",
    "headcount growth 6 months",
    "six month employee growth",
    "linkedin employee growth 6mo",
    "linkedin headcount growth 6mo",
];
const JOB_POSTINGS: &[&str] = &[
    "job postings count",
    "job postings",
    "recent job postings",
    "open jobs",
    "open jobs count",
    "linkedin job postings",
];
const ENGINEERING_ROLES: &[&str] = &[
    "open engineering roles",
    "engineering job openings",
    "open engineering jobs",
];
const EXEC_CHANGES: &[&str] = &[
    "recent executive changes",
    "executive changes",
    "exec changes",
    "leadership changes",
    "recent exec changes",
];

/// Every column name firmo reads, for "which columns were recognised" reports.
pub const KNOWN_COLUMNS: &[&[&str]] = &[
    DOMAIN,
    ACCOUNT_ID,
    INDUSTRY,
    HEADCOUNT,
    TECH,
    STAGE,
    FUNDING_DATE,
    FUNDING_AMOUNT,
    LINKEDIN_HEADCOUNT,
    GROWTH,
    JOB_POSTINGS,
    ENGINEERING_ROLES,
    EXEC_CHANGES,
];

/// The columns that carry enrichment (every known column but the domain and account
/// id), one list per field: a table without any of them has nothing to import.
pub const ENRICHMENT_COLUMNS: &[&[&str]] = &[
    INDUSTRY,
    HEADCOUNT,
    TECH,
    STAGE,
    FUNDING_DATE,
    FUNDING_AMOUNT,
    LINKEDIN_HEADCOUNT,
    GROWTH,
    JOB_POSTINGS,
    ENGINEERING_ROLES,
    EXEC_CHANGES,
];

/// Whether `name` (matched loosely) is a column that carries enrichment.
pub fn is_enrichment_column(name: &str) -> bool {
    let key = column_key(name);
    ENRICHMENT_COLUMNS
        .iter()
        .flat_map(|aliases| aliases.iter())
        .any(|alias| column_key(alias) == key)
}

/// A column name reduced to lowercase letters and digits.
pub fn column_key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether `name` is the domain column (a CSV export must have one).
pub fn is_domain_column(name: &str) -> bool {
    let key = column_key(name);
    DOMAIN.iter().any(|alias| column_key(alias) == key)
}

/// A row's columns, looked up by loose name.
struct Columns<'a> {
    by_key: HashMap<String, (&'a str, &'a Json)>,
}

impl<'a> Columns<'a> {
    fn new(row: &'a Map<String, Json>) -> Columns<'a> {
        let mut by_key: HashMap<String, (&'a str, &'a Json)> = HashMap::new();
        for (name, value) in row {
            // Two spellings of one column: the first non-empty one wins.
            let key = column_key(name);
            let empty = is_empty(value);
            match by_key.get(&key) {
                Some(&(_, existing)) if !is_empty(existing) || empty => {}
                _ => {
                    by_key.insert(key, (name.as_str(), value));
                }
            }
        }
        Columns { by_key }
    }

    /// The first present, non-empty column among `aliases`: (its name as sent, value).
    fn get(&self, aliases: &[&str]) -> Option<(&'a str, &'a Json)> {
        aliases
            .iter()
            .filter_map(|alias| self.by_key.get(&column_key(alias)).copied())
            .find(|(_, value)| !is_empty(value))
    }
}

fn is_empty(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::String(s) => s.trim().is_empty(),
        Json::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Reads one row. `fetched_at` is when Clay's data was obtained (callback arrival, or
/// the export's import time).
pub fn parse_row(row: &Map<String, Json>, fetched_at: UnixMillis) -> Result<ClayRow, RowError> {
    let columns = Columns::new(row);
    let Some((column, value)) = columns.get(DOMAIN) else {
        return Err(RowError(format!(
            "no domain: the row needs a `domain` (or `website`) column with a value; columns present: {}",
            column_list(row)
        )));
    };
    let Some(text) = scalar_text(value) else {
        return Err(RowError(format!(
            "column `{column}` holds {}, not a domain",
            describe(value)
        )));
    };
    let domain =
        normalize::domain(&text).map_err(|e| RowError(format!("column `{column}`: {e}")))?;
    let account_id = columns.get(ACCOUNT_ID).and_then(|(_, v)| scalar_text(v));

    let clay = ProviderRecord::new(Source::Clay, fetched_at)
        .with(Field::Industry, read(&columns, INDUSTRY, industry))
        .with(Field::Headcount, read(&columns, HEADCOUNT, headcount))
        .with(Field::TechStack, read(&columns, TECH, tech_stack))
        .with(Field::FundingStage, read(&columns, STAGE, funding_stage))
        .with(Field::LastFundingDate, read(&columns, FUNDING_DATE, date))
        .with(
            Field::LastFundingAmount,
            read(&columns, FUNDING_AMOUNT, amount_usd),
        );

    let postings =
        read(&columns, JOB_POSTINGS, count).or_else(|| read(&columns, ENGINEERING_ROLES, count));
    let mut linkedin = ProviderRecord::new(Source::LinkedIn, fetched_at)
        .with(
            Field::Headcount,
            read(&columns, LINKEDIN_HEADCOUNT, headcount),
        )
        .with(Field::EmployeeGrowth6mo, read(&columns, GROWTH, growth))
        .with(Field::RecentJobPostings, postings);
    if let Some((column, value)) = columns.get(EXEC_CHANGES) {
        linkedin.exec_changes = exec_changes(column, value);
    }

    let records = [clay, linkedin]
        .into_iter()
        .filter(|r| !r.fields.is_empty() || !r.exec_changes.is_empty())
        .collect();
    Ok(ClayRow {
        domain,
        account_id,
        records,
    })
}

/// Reads the first present column of `aliases` with `parse`; a failure is dropped with a
/// warning naming the column.
fn read(
    columns: &Columns<'_>,
    aliases: &[&str],
    parse: fn(&Json) -> Result<Value, String>,
) -> Option<Value> {
    let (column, value) = columns.get(aliases)?;
    parse(value)
        .map_err(|why| {
            tracing::warn!(
                provider = "clay",
                column,
                "dropped a value firmo can't read: {why}"
            );
        })
        .ok()
}

fn industry(value: &Json) -> Result<Value, String> {
    let Json::String(text) = value else {
        return Err(format!("expected text, got {}", describe(value)));
    };
    normalize::industry(text)
        .map(Value::Text)
        .map_err(|e| e.to_string())
}

fn headcount(value: &Json) -> Result<Value, String> {
    let text =
        scalar_text(value).ok_or_else(|| format!("expected a count, got {}", describe(value)))?;
    normalize::headcount(&text)
        .map(Value::Integer)
        .map_err(|e| e.to_string())
}

/// A plain non-negative count (job postings, open roles).
fn count(value: &Json) -> Result<Value, String> {
    let n = match value {
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Json::String(s) => s.trim().replace(',', "").parse::<i64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n >= 0 => Ok(Value::Integer(n)),
        _ => Err(format!("expected a whole count, got {}", describe(value))),
    }
}

fn tech_stack(value: &Json) -> Result<Value, String> {
    let names =
        list(value).ok_or_else(|| format!("expected a list of names, got {}", describe(value)))?;
    let names: Vec<String> = names.iter().filter_map(scalar_text).collect();
    let stack = normalize::tech_stack(names);
    if stack.is_empty() {
        Err("no technology names in the list".into())
    } else {
        Ok(Value::TextList(stack))
    }
}

fn funding_stage(value: &Json) -> Result<Value, String> {
    let text =
        scalar_text(value).ok_or_else(|| format!("expected a stage, got {}", describe(value)))?;
    normalize::funding_stage(&text)
        .map(|s| Value::Text(s.to_owned()))
        .map_err(|e| e.to_string())
}

fn date(value: &Json) -> Result<Value, String> {
    match value {
        Json::Number(n) => {
            let ms = n
                .as_i64()
                .ok_or_else(|| format!("{n} is not a timestamp"))?;
            normalize::date_from_millis(ms)
                .map(Value::Date)
                .map_err(|e| e.to_string())
        }
        Json::String(s) => normalize::date(s)
            .map(Value::Date)
            .map_err(|e| e.to_string()),
        other => Err(format!("expected a date, got {}", describe(other))),
    }
}

fn amount_usd(value: &Json) -> Result<Value, String> {
    let usd = match value {
        Json::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.round() as i64)
        }),
        Json::String(s) => usd_from_text(s),
        _ => None,
    };
    match usd {
        Some(usd) if usd >= 0 => Ok(Value::Integer(usd)),
        _ => Err(format!("expected a USD amount, got {}", describe(value))),
    }
}

/// `"$12.5M"`, `"3,000,000"`, `"1.2B"`, `"USD 500k"` → whole dollars. firmo-core has
/// no money normalizer yet (revenue ranges have their own); this reads the forms Clay
/// columns show and belongs in `firmo_core::normalize` once one exists.
fn usd_from_text(text: &str) -> Option<i64> {
    let lower = text
        .trim()
        .to_ascii_lowercase()
        .replace([',', ' ', '$'], "");
    let number = lower
        .strip_prefix("usd")
        .or_else(|| lower.strip_suffix("usd"))
        .unwrap_or(&lower);
    let (digits, scale) = [
        ("billion", 1e9),
        ("million", 1e6),
        ("thousand", 1e3),
        ("bn", 1e9),
        ("b", 1e9),
        ("m", 1e6),
        ("k", 1e3),
    ]
    .iter()
    .find_map(|(suffix, scale)| number.strip_suffix(suffix).map(|d| (d, *scale)))
    .unwrap_or((number, 1.0));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let value = digits.parse::<f64>().ok()? * scale;
    (value.is_finite() && value < 1e15).then(|| value.round() as i64)
}

/// Growth in percent points (see the module docs).
fn growth(value: &Json) -> Result<Value, String> {
    let percent = match value {
        Json::Number(n) => {
            let n = n.as_f64().ok_or_else(|| format!("{n} is not a number"))?;
            normalize::percent(n, PercentScale::Percent)
        }
        Json::String(s) => normalize::percent_str(s, PercentScale::Percent),
        other => return Err(format!("expected a percentage, got {}", describe(other))),
    };
    percent.map(Value::Decimal).map_err(|e| e.to_string())
}

/// Executive changes from a JSON array of objects, or text entries (see module docs).
/// Entries without a readable title and date are skipped with a warning.
fn exec_changes(column: &str, value: &Json) -> Vec<ExecChange> {
    let Some(items) = list(value) else {
        tracing::warn!(
            provider = "clay",
            column,
            "dropped executive changes: expected a list, got {}",
            describe(value)
        );
        return Vec::new();
    };
    let mut changes = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(change) = exec_change(item) {
            changes.push(change);
        } else {
            tracing::warn!(
                provider = "clay",
                column,
                index = i,
                "dropped an executive change without a title and a date"
            );
        }
    }
    changes
}

fn exec_change(item: &Json) -> Option<ExecChange> {
    let (title, when) = match item {
        Json::Object(o) => {
            let title = o.get("title").and_then(Json::as_str)?;
            let when = ["start_date", "date", "started_on", "start"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Json::as_str))?;
            (title.to_owned(), when.to_owned())
        }
        // "VP Engineering (2024-09-01)" or "CTO: 2024-07-15".
        Json::String(s) => {
            let s = s.trim();
            if let Some(open) = s.rfind('(') {
                let when = s[open + 1..].trim_end_matches(')');
                (s[..open].to_owned(), when.to_owned())
            } else {
                let colon = s.rfind(':')?;
                (s[..colon].to_owned(), s[colon + 1..].to_owned())
            }
        }
        _ => return None,
    };
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let date: Date = normalize::date(&when).ok()?;
    (!title.is_empty()).then_some(ExecChange { title, date })
}

/// A list: a JSON array, a JSON array in a string, or `;`/`,`-separated text.
fn list(value: &Json) -> Option<Vec<Json>> {
    match value {
        Json::Array(items) => Some(items.clone()),
        Json::String(s) => {
            let s = s.trim();
            if s.starts_with('[') {
                return match serde_json::from_str::<Json>(s) {
                    Ok(Json::Array(items)) => Some(items),
                    _ => None,
                };
            }
            let separator = if s.contains(';') { ';' } else { ',' };
            Some(
                s.split(separator)
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| Json::String(p.to_owned()))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// A string, or a number as text; `None` for anything else.
fn scalar_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn describe(value: &Json) -> String {
    firmo_core::value::describe_json(value)
}

fn column_list(row: &Map<String, Json>) -> String {
    let mut names: Vec<&str> = row.keys().map(String::as_str).take(12).collect();
    if row.len() > 12 {
        names.push("…");
    }
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrichment_columns_match_loosely_and_exclude_the_keys() {
        assert!(is_enrichment_column("Employee Count"));
        assert!(is_enrichment_column("LINKEDIN-HEADCOUNT"));
        assert!(is_enrichment_column("employee_growth_6mo_pct"));
        assert!(!is_enrichment_column("domain"));
        assert!(!is_enrichment_column("Account ID"));
        assert!(!is_enrichment_column("notes"));
    }
}
