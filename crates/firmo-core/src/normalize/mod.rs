//! Normalizers: provider values in, canonical values out.
//!
//! Each provider spells the same fact its own way (`$10M-$50M`, `series_b`,
//! `c_00051_00100`, `0.12` or `12%`). The adapters call these functions so that every
//! value entering a [`ProviderRecord`](crate::ProviderRecord) is already canonical, and
//! the merge and quality rules compare like with like.
//!
//! | Field | Function | Canonical form |
//! |---|---|---|
//! | company domain | [`domain()`] | lowercase host, `xn--` labels, no `www.` |
//! | industry | [`industry`] | trimmed, inner whitespace collapsed |
//! | revenue_range | [`revenue_range`], [`revenue_from_usd`] | a [`REVENUE_BUCKETS`] value |
//! | funding_stage | [`funding_stage`] | a [`FUNDING_STAGES`] value |
//! | tech_stack | [`tech_name`], [`tech_stack`], [`is_cloud_provider`] | vendor product names, deduplicated, sorted |
//! | last_funding_date | [`date()`], [`date_from_millis`] | a UTC calendar [`Date`] |
//! | employee_growth_6mo | [`percent()`], [`percent_str`] | percent units, two decimals |
//! | headcount | [`headcount()`] | a whole number |
//! | contact job_title | [`job_title`] | trimmed, whitespace collapsed, at most 200 characters |
//! | contact linkedin_url | [`linkedin_profile_url`] | `https://www.linkedin.com/in/<slug>`, a person's profile |
//! | contact seniority | [`seniority()`] | a [`SENIORITIES`](crate::contact::SENIORITIES) value |
//! | contact role_start_date | [`date()`] | a UTC calendar [`Date`] |
//!
//! Each function's docs say what it accepts and why it decides as it does (why `www.`
//! is dropped, why bands become midpoints, why a bare percentage needs a scale).
//!
//! **Percentages**: the canonical unit is percent (12.5 = +12.5 %). A bare number is
//! ambiguous, so the caller (the adapter, who knows its provider) names the
//! [`PercentScale`]; a string with `%` is always percent.
//!
//! Every function is total: any input, however malformed (megabyte strings, control
//! characters, NaN, `i64::MIN`), gives a value or a [`NormalizeError`], never a panic;
//! the proptest at the bottom of this file holds that. Normalizers only read values;
//! limits a value must respect to be written (industry length, headcount range, dates
//! in the future) are quality rules, not here.
//!
//! ```
//! use firmo_core::normalize;
//! assert_eq!(normalize::domain("https://WWW.Acme.com:443/about").unwrap(), "acme.com");
//! assert_eq!(normalize::revenue_range("10M–50M").unwrap(), "10m_50m");
//! assert_eq!(normalize::funding_stage("Series B").unwrap(), "series_b");
//! assert_eq!(normalize::headcount("51-250").unwrap(), 151);
//! assert_eq!(normalize::tech_stack(["react", "aws_ec2", "ReactJS"]), ["Amazon EC2", "React"]);
//! ```

mod contact;
mod date;
mod domain;
mod funding;
mod headcount;
mod number;
mod percent;
mod punycode;
mod revenue;
mod tech;

pub use contact::{job_title, linkedin_profile_url, seniority};
pub use date::{date, date_from_millis};
pub use domain::domain;
pub use funding::funding_stage;
pub use headcount::headcount;
pub use percent::{PercentScale, percent, percent_str};
pub use revenue::{revenue_from_usd, revenue_range};
pub use tech::{is_cloud_provider, tech_name, tech_stack};

#[cfg(doc)]
use crate::{
    field::{FUNDING_STAGES, REVENUE_BUCKETS},
    value::Date,
};

/// A provider value that could not be read as the canonical form of a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {what} {input:?}: {reason}")]
pub struct NormalizeError {
    /// What was being normalized, e.g. `"domain"`.
    pub what: &'static str,
    /// The offending input, cut to 60 characters (then `…`).
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

/// An industry name as a provider gives it, tidied: trimmed, inner whitespace (tabs,
/// newlines, non-breaking spaces) collapsed to one space, control and zero-width
/// characters dropped. The wording is the provider's: industries have no shared
/// vocabulary worth forcing (Clearbit's "Internet Software & Services" vs a CRM's
/// "Software"), and the length limit is a quality rule.
pub fn industry(input: &str) -> Result<String, NormalizeError> {
    let cleaned = collapse_whitespace(input);
    if cleaned.is_empty() {
        return Err(NormalizeError::new("industry", input, "it is empty"));
    }
    Ok(cleaned)
}

/// Trims, drops control and zero-width characters, and collapses every whitespace run
/// to one space.
pub(crate) fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(1024));
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = true;
        } else if c.is_control() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}') {
            // Noise from scraped and copy-pasted sources, not text.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn industry_is_tidied_not_rewritten() {
        assert_eq!(
            industry("Internet Software & Services").unwrap(),
            "Internet Software & Services"
        );
        assert_eq!(
            industry("  Computer\tSoftware \n").unwrap(),
            "Computer Software"
        );
        assert_eq!(industry("Bio\u{A0}\u{A0}tech").unwrap(), "Bio tech");
        assert_eq!(industry("\u{FEFF}SaaS\u{200B}").unwrap(), "SaaS");
        assert_eq!(industry("Fin\u{0}tech\u{7}").unwrap(), "Fintech");
        assert_eq!(
            industry("Énergie renouvelable").unwrap(),
            "Énergie renouvelable"
        );
        for bad in ["", "   ", "\t\n", "\u{0}\u{1}", "\u{200B}"] {
            let err = industry(bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("not a valid industry {:?}: it is empty", err.input)
            );
        }
        let long = "x".repeat(1 << 20);
        assert_eq!(
            industry(&long).unwrap().len(),
            1 << 20,
            "length is a quality rule"
        );
    }

    #[test]
    fn errors_quote_a_truncated_input() {
        let err = NormalizeError::new("domain", &"é".repeat(100), "too long");
        assert_eq!(err.input.chars().count(), 61);
        assert!(err.input.ends_with('…'));
        let err = NormalizeError::new("domain", "short", "bad");
        assert_eq!(err.to_string(), "not a valid domain \"short\": bad");
        assert_eq!(truncate("", 60), "");
        assert_eq!(truncate(&"a".repeat(60), 60), "a".repeat(60));
    }
}

/// No input makes a normalizer panic, and what comes out is canonical: normalizing it
/// again gives it back.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::field::{FUNDING_STAGES, REVENUE_BUCKETS};

    /// Strings that look like what providers send, plus arbitrary Unicode.
    fn provider_string() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ -~]{0,40}",
            "[0-9$,.kKmMbB +%\\-–]{0,20}",
            "(https?://)?(www\\.)?[a-zA-Zü0-9-]{1,12}(\\.[a-zA-Z0-9-]{1,8}){0,3}(:[0-9]{1,5})?(/[a-z]{0,5})?\\.?",
            "[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,4})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?)?)?",
            "(c_[0-9]{5}_([0-9]{5}|max))|([0-9,]{1,7}(-[0-9,]{1,7}|\\+)?)",
            "((Series|series|SERIES)[ _-]?[A-Za-z0-9]{0,3}( Round)?)|([a-z_]{1,20})",
            "[A-Za-z_ .#+-]{0,20}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn domain_output_is_canonical(s in provider_string()) {
            if let Ok(d) = domain(&s) {
                prop_assert_eq!(domain(&d), Ok(d.clone()));
                prop_assert!(d.len() <= 253);
                prop_assert!(d.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'));
                prop_assert!(d.split('.').all(|l| !l.is_empty() && l.len() <= 63));
                prop_assert!(!d.starts_with("www.") || d.matches('.').count() == 1);
            }
        }

        #[test]
        fn industry_output_is_canonical(s in provider_string()) {
            if let Ok(i) = industry(&s) {
                prop_assert_eq!(industry(&i), Ok(i.clone()));
                prop_assert_eq!(i.trim(), i.as_str());
                prop_assert!(!i.contains("  "));
            }
        }

        #[test]
        fn revenue_is_a_catalogue_bucket(s in provider_string(), amount in any::<i64>()) {
            if let Ok(bucket) = revenue_range(&s) {
                prop_assert!(REVENUE_BUCKETS.iter().any(|o| o.value == bucket));
                prop_assert_eq!(revenue_range(bucket), Ok(bucket));
            }
            match revenue_from_usd(amount) {
                Some(bucket) => {
                    prop_assert!(amount >= 0);
                    prop_assert_eq!(revenue_range(&amount.to_string()), Ok(bucket));
                }
                None => prop_assert!(amount < 0),
            }
        }

        #[test]
        fn funding_stage_is_a_catalogue_value(s in provider_string()) {
            if let Ok(stage) = funding_stage(&s) {
                prop_assert!(FUNDING_STAGES.iter().any(|o| o.value == stage));
                prop_assert_eq!(funding_stage(stage), Ok(stage));
            }
        }

        #[test]
        fn tech_names_and_stacks_are_canonical(names in prop::collection::vec(provider_string(), 0..8)) {
            for name in &names {
                if let Some(canonical) = tech_name(name) {
                    prop_assert_eq!(tech_name(&canonical), Some(canonical.clone()));
                    prop_assert!(!canonical.is_empty());
                    let _ = is_cloud_provider(&canonical);
                }
            }
            let stack = tech_stack(&names);
            let lower: Vec<String> = stack.iter().map(|t| t.to_lowercase()).collect();
            prop_assert!(lower.windows(2).all(|w| w[0] < w[1]), "sorted and deduplicated: {:?}", stack);
            prop_assert_eq!(tech_stack(&stack), stack.clone());
            prop_assert!(stack.len() <= names.len());
        }

        #[test]
        fn dates_are_total(s in provider_string(), ms in any::<i64>()) {
            if let Ok(d) = date(&s) {
                prop_assert_eq!(date(&d.to_string()), Ok(d));
            }
            // As text, four and eight digits may read as a year or YYYYMMDD instead.
            let text = ms.to_string();
            if let Ok(d) = date_from_millis(ms)
                && text.len() != 4
                && text.len() != 8
            {
                prop_assert_eq!(date(&text), Ok(d));
            }
        }

        #[test]
        fn percents_are_finite_and_rounded(s in provider_string(), x in any::<f64>()) {
            for scale in [PercentScale::Fraction, PercentScale::Percent] {
                for p in [percent(x, scale), percent_str(&s, scale)].into_iter().flatten() {
                    prop_assert!(p.is_finite());
                    prop_assert_eq!(percent(p, PercentScale::Percent), Ok(p));
                }
            }
            if !x.is_finite() {
                prop_assert!(percent(x, PercentScale::Percent).is_err());
            }
        }

        #[test]
        fn headcounts_are_whole_and_non_negative(s in provider_string()) {
            if let Ok(n) = headcount(&s) {
                prop_assert!(n >= 0);
                prop_assert_eq!(headcount(&n.to_string()), Ok(n));
            }
        }
    }

    #[test]
    fn hostile_inputs_never_panic() {
        let megabyte = "x".repeat(1 << 20);
        let mut inputs: Vec<String> = vec![
            String::new(),
            megabyte.clone(),
            "9".repeat(1 << 20),
            "é".repeat(1 << 18),
            "\u{0}".repeat(1000),
            "\u{10FFFF}".repeat(1000),
            "-".repeat(10_000),
            ".".repeat(10_000),
            format!("{megabyte}.com"),
            format!("https://{megabyte}"),
            "1".repeat(400) + "%",
            "c_".repeat(1000),
            "Series ".repeat(1000),
        ];
        inputs.extend(
            [
                "\u{202E}acme.com",
                "acme.com\u{0}",
                "🦀.rs",
                "+",
                "$",
                "%",
                "—",
            ]
            .map(String::from),
        );
        for s in &inputs {
            let _ = domain(s);
            let _ = industry(s);
            let _ = revenue_range(s);
            let _ = funding_stage(s);
            let _ = tech_name(s);
            let _ = is_cloud_provider(s);
            let _ = date(s);
            let _ = percent_str(s, PercentScale::Fraction);
            let _ = headcount(s);
        }
        let _ = tech_stack(&inputs);
        for n in [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX] {
            let _ = revenue_from_usd(n);
            let _ = date_from_millis(n);
        }
        for x in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            -0.0,
        ] {
            let _ = percent(x, PercentScale::Fraction);
            let _ = percent(x, PercentScale::Percent);
        }
    }
}
