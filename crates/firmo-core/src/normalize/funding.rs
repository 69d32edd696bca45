//! Funding stages: Crunchbase's `investment_type` vocabulary and the human spellings other
//! providers and CRMs use, to one canonical stage. The decisions, and why, are in the docs of the public function below.

use super::NormalizeError;
use crate::field::FUNDING_STAGES;

const WHAT: &str = "funding stage";

/// Slugs (after prefix/suffix stripping) for each canonical stage, beyond the stage's
/// own value and label.
const ALIASES: &[(&str, &[&str])] = &[
    ("pre_seed", &["preseed", "pre_seed", "pre_seed_stage"]),
    ("angel", &["angel", "angel_investment", "business_angel"]),
    ("seed", &["seed", "seed_stage", "accelerator_seed"]),
    (
        "series_unknown",
        &[
            "venture",
            "venture_round",
            "venture_capital",
            "vc",
            "series_unknown",
            "unknown_series",
            "early_stage_vc",
            "later_stage_vc",
        ],
    ),
    (
        "private_equity",
        &["private_equity", "pe", "growth_equity", "buyout", "lbo"],
    ),
    (
        "corporate_round",
        &[
            "corporate",
            "corporate_round",
            "corporate_venture",
            "strategic",
        ],
    ),
    (
        "convertible_note",
        &[
            "convertible_note",
            "convertible",
            "safe",
            "convertible_debt",
        ],
    ),
    ("debt", &["debt", "debt_financing", "venture_debt", "loan"]),
    ("grant", &["grant", "non_equity_assistance", "non_dilutive"]),
    (
        "public",
        &[
            "ipo",
            "public",
            "initial_public_offering",
            "post_ipo_equity",
            "post_ipo_debt",
            "post_ipo_secondary",
            "post_ipo",
            "public_post_ipo",
            "spac",
            "direct_listing",
        ],
    ),
    (
        "undisclosed",
        &[
            "undisclosed",
            "equity_crowdfunding",
            "product_crowdfunding",
            "crowdfunding",
            "initial_coin_offering",
            "ico",
            "secondary_market",
        ],
    ),
    ("series_e_plus", &["series_e_plus", "series_e_or_later"]),
];

/// The canonical funding stage (a value of [`FUNDING_STAGES`]) for a provider's round
/// type or a person's spelling of it.
///
/// Input is compared as a slug (lowercase, every run of other characters one `_`), with a
/// trailing `round`/`funding`/`financing` and a leading `venture` dropped, so `Series A`,
/// `series-a`, `SERIES_A`, `Series A Round` and `Venture - Series A` are one stage.
///
/// Decisions:
/// - `series_e` … `series_j` (and later letters) → `series_e_plus`: a CRM segments on
///   "late stage", not on the letter; extensions (`Series A-1`, `Series B2`,
///   `Series C extension`) → their letter.
/// - `ipo` and every `post_ipo_*` round (equity, debt, secondary) → `public`: once listed,
///   the company's stage is "public", whatever the instrument of its latest round.
/// - `debt_financing` (and `venture_debt`, `debt`) → `debt`; a SAFE → `convertible_note`
///   (both are notes that convert later).
/// - `non_equity_assistance` (accelerator support, prizes) → `grant`: non-dilutive help.
/// - `equity_crowdfunding`, `product_crowdfunding`, `initial_coin_offering` and
///   `secondary_market` → `undisclosed`: a round happened, but it says nothing about
///   where the company stands on the venture ladder, which is what this field answers.
///   Rejecting them instead would turn valid Crunchbase data into errors.
/// - `venture`, `series_unknown`, `venture_series_unknown` → `series_unknown`.
/// - Anything else is rejected (it names no stage firmo can stand behind).
pub fn funding_stage(input: &str) -> Result<&'static str, NormalizeError> {
    let err = |reason: &str| NormalizeError::new(WHAT, input, reason);
    if input.trim().is_empty() {
        return Err(err("it is empty"));
    }
    // A longer input is no stage name; don't slug a megabyte to find that out.
    if input.len() > 100 {
        return Err(err("it is too long to be a stage name"));
    }
    let full = slug(input);
    if let Some(option) = FUNDING_STAGES
        .iter()
        .find(|o| o.value == full || slug(o.label) == full)
    {
        return Ok(option.value);
    }
    let core = strip_affixes(&full);
    if let Some(stage) = series(core) {
        return Ok(stage);
    }
    ALIASES
        .iter()
        .find(|(_, aliases)| aliases.contains(&full.as_str()) || aliases.contains(&core))
        .map(|(stage, _)| *stage)
        .ok_or_else(|| err("it names no known funding stage"))
}

/// Lowercase ASCII letters and digits; every other run becomes one `_`, none at the ends.
fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Drops words that qualify a round without changing its stage.
fn strip_affixes(slug: &str) -> &str {
    let mut s = slug;
    for prefix in ["venture_capital", "venture", "vc"] {
        if let Some(rest) = s.strip_prefix(prefix)
            && (rest.is_empty() || rest.starts_with('_'))
        {
            s = rest.trim_start_matches('_');
            break;
        }
    }
    for suffix in ["round", "funding", "financing", "investment"] {
        if let Some(rest) = s.strip_suffix(suffix)
            && (rest.is_empty() || rest.ends_with('_'))
        {
            // Keep `debt_financing` whole; it is an alias as written.
            if !ALIASES.iter().any(|(_, a)| a.contains(&s)) {
                s = rest.trim_end_matches('_');
            }
            break;
        }
    }
    s
}

/// `series_a`, `series_b2`, `series_c_extension`, `series_a_1`, `series_e`…`series_z`.
fn series(slug: &str) -> Option<&'static str> {
    let rest = slug
        .strip_prefix("series_")
        .or_else(|| slug.strip_prefix("series"))?;
    let mut chars = rest.chars();
    let letter = chars.next()?;
    let tail = chars.as_str().trim_start_matches('_');
    let extension = tail.is_empty()
        || tail.bytes().all(|b| b.is_ascii_digit())
        || matches!(tail, "extension" | "ext" | "plus" | "prime" | "bridge");
    if !extension {
        return None;
    }
    match letter {
        'a' => Some("series_a"),
        'b' => Some("series_b"),
        'c' => Some("series_c"),
        'd' => Some("series_d"),
        'e'..='z' => Some("series_e_plus"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> &'static str {
        funding_stage(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    #[test]
    fn maps_every_crunchbase_investment_type() {
        for (input, expected) in [
            ("pre_seed", "pre_seed"),
            ("seed", "seed"),
            ("angel", "angel"),
            ("series_a", "series_a"),
            ("series_b", "series_b"),
            ("series_c", "series_c"),
            ("series_d", "series_d"),
            ("series_e", "series_e_plus"),
            ("series_f", "series_e_plus"),
            ("series_g", "series_e_plus"),
            ("series_h", "series_e_plus"),
            ("series_i", "series_e_plus"),
            ("series_j", "series_e_plus"),
            ("series_unknown", "series_unknown"),
            ("private_equity", "private_equity"),
            ("debt_financing", "debt"),
            ("convertible_note", "convertible_note"),
            ("grant", "grant"),
            ("corporate_round", "corporate_round"),
            ("post_ipo_equity", "public"),
            ("post_ipo_debt", "public"),
            ("post_ipo_secondary", "public"),
            ("undisclosed", "undisclosed"),
            ("equity_crowdfunding", "undisclosed"),
            ("product_crowdfunding", "undisclosed"),
            ("initial_coin_offering", "undisclosed"),
            ("non_equity_assistance", "grant"),
            ("secondary_market", "undisclosed"),
        ] {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn maps_human_spellings() {
        for (input, expected) in [
            ("Series A", "series_a"),
            ("series-b", "series_b"),
            ("SERIES C", "series_c"),
            ("Series A Round", "series_a"),
            ("Series A-1", "series_a"),
            ("Series B2", "series_b"),
            ("Series C extension", "series_c"),
            ("SeriesD", "series_d"),
            ("Series E", "series_e_plus"),
            ("Series E or later", "series_e_plus"),
            ("Seed round", "seed"),
            ("Seed Round", "seed"),
            ("Pre-Seed", "pre_seed"),
            ("Pre-seed", "pre_seed"),
            ("preseed", "pre_seed"),
            ("Angel Round", "angel"),
            ("IPO", "public"),
            ("Public (post-IPO)", "public"),
            ("Post-IPO Equity", "public"),
            ("Venture - Series Unknown", "series_unknown"),
            ("Venture, series unknown", "series_unknown"),
            ("Venture Round", "series_unknown"),
            ("Venture", "series_unknown"),
            ("Venture - Series A", "series_a"),
            ("Private Equity Round", "private_equity"),
            ("Debt Financing", "debt"),
            ("Venture Debt", "debt"),
            ("Corporate Round", "corporate_round"),
            ("Convertible Note", "convertible_note"),
            ("SAFE", "convertible_note"),
            ("Grant", "grant"),
            ("  seed  ", "seed"),
            ("Equity Crowdfunding", "undisclosed"),
            ("ICO", "undisclosed"),
            ("series_e_plus", "series_e_plus"),
        ] {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn every_canonical_value_and_label_maps_to_itself() {
        for option in FUNDING_STAGES {
            assert_eq!(ok(option.value), option.value);
            assert_eq!(ok(option.label), option.value, "label {}", option.label);
        }
    }

    #[test]
    fn rejects_what_names_no_stage() {
        for input in [
            "",
            "   ",
            "-",
            "round",
            "funding",
            "series",
            "series 1",
            "Series AA",
            "Series Alpha",
            "seedling",
            "acquired",
            "bankrupt",
            "series_a; drop table",
            "vcx",
            "venturex",
            "シリーズA",
        ] {
            let err = funding_stage(input).expect_err(input);
            assert_eq!(err.what, "funding stage");
        }
        assert!(funding_stage(&"series_a ".repeat(100_000)).is_err());
    }
}
