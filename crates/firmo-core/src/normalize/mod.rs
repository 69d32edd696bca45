//! Normalizers: provider values in, canonical values out.
//!
//! Each provider spells the same fact its own way ("$10M-$50M", `series_b`,
//! `c_00051_00100`, 0.12 or "12%"). The adapters call these functions so that every
//! value entering a [`crate::ProviderRecord`] is already canonical, and merge and quality
//! rules compare like with like. Every function is total: any input, however malformed
//! (1 MB strings, control characters, NaN, `i64::MIN`), gives a value or a
//! [`NormalizeError`], never a panic (the proptest at the bottom of this file holds that).
//!
//! The decisions, and why, are documented on each submodule.

mod date;
mod domain;
mod funding;
mod headcount;
mod percent;
mod punycode;
mod revenue;
mod tech;

pub use date::{date, date_from_millis};
pub use domain::domain;
pub use funding::funding_stage;
pub use headcount::headcount;
pub use percent::{PercentScale, percent, percent_str};
pub use revenue::{revenue_from_usd, revenue_range};
pub use tech::{is_cloud_provider, tech_name, tech_stack};

/// Collapses inner whitespace runs to one space, trims, and drops control characters.
pub fn industry(input: &str) -> Result<String, NormalizeError> {
    let cleaned = collapse_whitespace(input);
    if cleaned.is_empty() {
        return Err(NormalizeError::new("industry", input, "it is empty"));
    }
    Ok(cleaned)
}

/// A provider value that could not be read as the canonical form of a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {what} {input:?}: {reason}")]
pub struct NormalizeError {
    /// What was being normalized, e.g. `"domain"`.
    pub what: &'static str,
    /// The offending input, cut to about 60 characters.
    pub input: String,
    /// Why it was rejected, in words a person understands.
    pub reason: String,
}

impl NormalizeError {
    pub(crate) fn new(what: &'static str, input: &str, reason: impl Into<String>) -> Self {
        NormalizeError {
            what,
            input: truncate(input, INPUT_SHOWN),
            reason: reason.into(),
        }
    }
}

/// How many characters of a bad input an error quotes.
const INPUT_SHOWN: usize = 60;

/// `s` cut to at most `max` characters (on a char boundary), with `…` when cut.
fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// Trims, drops control characters and collapses every whitespace run to one space.
pub(crate) fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = true;
        } else if c.is_control() {
            // Control characters (NUL, escape…) are noise from scraped sources, not text.
        } else {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        }
    }
    out
}
